//! Interop with ethereumjs: `interop/peer.mjs`, a peer on @ethereumjs/devp2p
//! 10.0.0 driven over JSON lines (see `interop/README.md`).
//!
//! Every test runs one `node interop/peer.mjs` process on a made-up chain
//! (network id 1337, a random genesis, no forks, so both sides announce the
//! fork id `[CRC32(genesis), 0]`) and checks both ends: what our stack returns
//! and what the ethereumjs peer reports on its stdout.
//!
//! The npm packages are installed on first use (`npm ci`, from the committed
//! lock file); Node.js >= 20 and npm must be on the PATH.

use alloy_primitives::{B256, U256};
use alloy_rlp::{Encodable, Header};
use ethp2p_eth::{
    exchange::status_exchange,
    forkid::{ForkActivation, ForkFilter, ForkHash, ForkId, Head},
    handshake::{eth_protocols, EthHandshakeError},
    message::{BlockHashOrNumber, EthMessage, GetBlockHeaders, RawList, RequestPair},
    status::{Status, StatusError},
    version::EthVersion,
};
use ethp2p_rlpx::{
    accept, connect, generate_secret_key, key::peer_id_from_secret_key, NodeRecord, SecretKey,
};
use ethp2p_wire::{
    handshake, Capability, DisconnectReason, HelloMessage, P2PConfig, P2PError, P2PHandshakeError,
    P2PStream, ProtocolMessage,
};
use futures::future::poll_fn;
use serde_json::{json, Value};
use std::{
    collections::VecDeque,
    task::{Context, Poll},
    time::Duration,
};
use tokio::{
    net::{TcpListener, TcpStream},
    time::{timeout, Instant},
};

/// Network id of the made-up chain (ethereumjs puts its chain id there).
const NETWORK_ID: u64 = 1337;
/// Our client id in Hello.
const CLIENT_ID: &str = "ethp2p-interop-test/v0";

// ------------------------------------------------------------------ setup ---

use ethp2p_testing::jspeer;
use jspeer::*;

fn random_hash() -> B256 {
    B256::from(rand::random::<[u8; 32]>())
}

fn hex0x(bytes: impl AsRef<[u8]>) -> String {
    format!("0x{}", hex::encode(bytes))
}

/// Our side of the made-up chain: the Status we offer and the fork filter.
fn local_chain(genesis: B256) -> (Status, ForkFilter) {
    let head = Head {
        number: 0,
        hash: genesis,
        ..Head::default()
    };
    let filter = ForkFilter::new(genesis, 0, head, Vec::<ForkActivation>::new());
    // No forks: the fork hash is the CRC32 of the genesis hash, nothing next,
    // which is what peer.mjs announces by default.
    assert_eq!(
        filter.current(),
        ForkId {
            hash: ForkHash::from_genesis(genesis),
            next: 0
        }
    );
    let mut status = Status {
        version: EthVersion::Eth68.as_u8(),
        network_id: NETWORK_ID,
        genesis,
        fork_id: filter.current(),
        total_difficulty: U256::from(1u64),
        ..Status::default()
    };
    status.set_head(0, genesis);
    (status, filter)
}

fn our_hello(key: &SecretKey, versions: &[EthVersion], port: u16) -> HelloMessage {
    HelloMessage {
        protocol_version: 5,
        client_id: CLIENT_ID.into(),
        capabilities: eth_protocols(versions).into_iter().map(|p| p.cap).collect(),
        port,
        id: peer_id_from_secret_key(key),
    }
}

/// peer.mjs arguments for the made-up chain.
fn peer_args(mode: &str, network_id: u64, genesis: B256, eth_versions: &str) -> Vec<String> {
    vec![
        "--mode".into(),
        mode.into(),
        "--network-id".into(),
        network_id.to_string(),
        "--genesis".into(),
        hex0x(genesis),
        "--eth-versions".into(),
        eth_versions.into(),
    ]
}

// ---------------------------------------------------------- the JS peer ---

/// Waiting on the JS peer while driving our own session.
trait Driving {
    /// Like `expect`, while driving our session (answering Pings, sending
    /// keepalive Pings, flushing); eth messages it receives meanwhile are
    /// queued in its inbox.
    async fn expect_driving(
        &mut self,
        ours: &mut Ours,
        name: &str,
        pred: impl Fn(&Value) -> bool,
    ) -> Value;
}

impl Driving for JsPeer {
    async fn expect_driving(
        &mut self,
        ours: &mut Ours,
        name: &str,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + STEP;
        loop {
            if let Some(e) = self.take(name, &pred) {
                return e;
            }
            if self.eof {
                self.fail(format!("the peer exited before reporting `{name}`"));
            }
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => {
                    self.fail(format!("timed out waiting for the peer's `{name}` event"))
                }
                event = self.read_event() => {
                    if let Some(e) = event {
                        self.pending.push_back(e);
                    }
                }
                next = ours.drive() => match next {
                    Some(Ok(msg)) => ours.inbox.push_back(msg),
                    Some(Err(e)) => self.fail(format!(
                        "our session failed while waiting for the peer's `{name}`: {e:?}"
                    )),
                    None => self.fail(format!(
                        "our connection closed while waiting for the peer's `{name}`"
                    )),
                },
            }
        }
    }
}

// ------------------------------------------------------------- our side ---

/// Our established eth session.
struct Ours {
    p2p: P2PStream<TcpStream>,
    /// The peer's Hello.
    hello: HelloMessage,
    /// The negotiated eth version.
    version: EthVersion,
    /// The peer's Status.
    remote: Status,
    /// Protocol messages received while waiting for something else.
    inbox: VecDeque<ProtocolMessage>,
}

impl Ours {
    /// Polls for the next protocol message and writes whatever the stream
    /// queued meanwhile (Pongs, keepalive Pings).
    fn poll_drive(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<ProtocolMessage, P2PError>>> {
        let next = self.p2p.poll_next_message(cx);
        if let Poll::Ready(Err(e)) = self.p2p.poll_flush(cx) {
            return Poll::Ready(Some(Err(e)));
        }
        next
    }

    async fn drive(&mut self) -> Option<Result<ProtocolMessage, P2PError>> {
        poll_fn(|cx| self.poll_drive(cx)).await
    }

    async fn send(&mut self, peer: &JsPeer, msg: &EthMessage) {
        if let Err(e) = msg.validate_for(self.version) {
            peer.fail(format!(
                "test bug: {msg:?} is not valid for {}: {e}",
                self.version
            ));
        }
        let payload = msg.encoded();
        let index = self.eth_index();
        if let Err(e) = self.p2p.send(index, msg.id().as_u8(), &payload) {
            peer.fail(format!("queueing {msg:?}: {e:?}"));
        }
        match timeout(STEP, poll_fn(|cx| self.p2p.poll_flush(cx))).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => peer.fail(format!("sending {msg:?}: {e:?}")),
            Err(_) => peer.fail(format!("sending {msg:?} timed out")),
        }
    }

    fn eth_index(&self) -> usize {
        self.p2p
            .shared_capabilities()
            .index_of("eth")
            .expect("eth is shared")
    }

    /// The next eth message, while collecting the peer's events.
    async fn recv(&mut self, peer: &mut JsPeer) -> EthMessage {
        let deadline = Instant::now() + STEP;
        let msg = loop {
            if let Some(m) = self.inbox.pop_front() {
                break m;
            }
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => {
                    peer.fail("timed out waiting for an eth message from the peer")
                }
                event = peer.read_event(), if !peer.eof => {
                    if let Some(e) = event {
                        peer.pending.push_back(e);
                    }
                }
                next = self.drive() => match next {
                    Some(Ok(m)) => break m,
                    Some(Err(e)) => peer.fail(format!("our session failed: {e:?}")),
                    None => peer.fail("our connection closed while waiting for an eth message"),
                },
            }
        };
        if msg.protocol != self.eth_index() {
            peer.fail(format!("message of protocol {} is not eth", msg.protocol));
        }
        EthMessage::decode(self.version, msg.id, &msg.payload).unwrap_or_else(|e| {
            peer.fail(format!(
                "cannot decode eth message {:#04x} ({}): {e}",
                msg.id,
                hex0x(&msg.payload)
            ))
        })
    }
}

/// What our Hello exchange returns.
type HelloResult = Result<(P2PStream<TcpStream>, HelloMessage), P2PHandshakeError>;

/// Dials the peer's `ready` enode and runs RLPx and Hello with our versions.
async fn dial_and_hello(
    peer: &mut JsPeer,
    key: &SecretKey,
    versions: &[EthVersion],
    config: P2PConfig,
) -> (String, HelloResult) {
    let ready = peer.expect("ready", |_| true).await;
    let enode = ready["enode"].as_str().unwrap_or_default().to_owned();
    let record: NodeRecord = enode
        .parse()
        .unwrap_or_else(|e| peer.fail(format!("bad enode {enode:?}: {e}")));
    let tcp = match timeout(STEP, TcpStream::connect(record.tcp_addr())).await {
        Ok(Ok(tcp)) => tcp,
        Ok(Err(e)) => peer.fail(format!("cannot connect to {enode}: {e}")),
        Err(_) => peer.fail(format!("connecting to {enode} timed out")),
    };
    tcp.set_nodelay(true).expect("TCP_NODELAY");
    let rlpx = connect(tcp, key, record.id, STEP)
        .await
        .unwrap_or_else(|e| peer.fail(format!("RLPx handshake with ethereumjs failed: {e:?}")));
    let hello = our_hello(key, versions, 0);
    let result = match timeout(
        STEP,
        handshake(rlpx, &hello, &eth_protocols(versions), config),
    )
    .await
    {
        Ok(r) => r,
        Err(_) => peer.fail("Hello exchange timed out"),
    };
    let id = ready["id"].as_str().unwrap_or_default().to_owned();
    (id, result)
}

async fn exchange_status(
    peer: &JsPeer,
    p2p: &mut P2PStream<TcpStream>,
    status: &Status,
    filter: &ForkFilter,
) -> Result<(EthVersion, Status), EthHandshakeError> {
    match timeout(STEP + STEP, status_exchange(p2p, status, filter, STEP)).await {
        Ok(r) => r,
        Err(_) => peer.fail("status_exchange did not return"),
    }
}

/// What every successful establishment must show on both sides.
async fn check_established(
    peer: &mut JsPeer,
    ours: &mut Ours,
    their_id: &str,
    local: &Status,
    our_id: &str,
    our_port: u16,
) {
    let (their_hello, remote) = (&ours.hello, &ours.remote);
    // Our view of the peer.
    assert_eq!(hex::encode(their_hello.id), their_id, "Hello node id");
    assert_eq!(their_hello.protocol_version, 5);
    assert!(
        their_hello.client_id.starts_with("ethereumjs-devp2p/"),
        "client id {:?}",
        their_hello.client_id
    );
    assert_eq!(
        their_hello.capabilities,
        [
            Capability::new("eth", 68),
            Capability::new("eth", 67),
            Capability::new("eth", 66)
        ]
    );
    let shared: Vec<_> = ours
        .p2p
        .shared_capabilities()
        .iter()
        .map(|c| (c.cap.to_string(), c.offset, c.messages))
        .collect();
    assert_eq!(shared, [("eth/68".to_string(), 0x10, 17)]);
    assert_eq!(ours.version, EthVersion::Eth68);
    assert_eq!(remote.version, 68);
    assert_eq!(remote.network_id, NETWORK_ID);
    assert_eq!(remote.genesis, local.genesis);
    assert_eq!(remote.best_hash, local.genesis);
    assert_eq!(remote.total_difficulty, U256::ZERO);
    assert_eq!(remote.fork_id, local.fork_id);

    // The peer's view of us.
    let p = peer.expect_driving(ours, "peer", |_| true).await;
    assert_eq!(p["id"], our_id, "{p}");
    assert_eq!(p["clientId"], CLIENT_ID, "{p}");
    assert_eq!(p["protocolVersion"], 5, "{p}");
    assert_eq!(
        p["caps"],
        json!(["eth/69", "eth/68", "eth/67", "eth/66"]),
        "{p}"
    );
    assert_eq!(p["ethVersion"], 68, "{p}");
    assert_eq!(p["port"], our_port, "{p}");
    let s = peer.expect_driving(ours, "status", |_| true).await;
    assert_eq!(s["version"], 68, "{s}");
    assert_eq!(s["networkId"], NETWORK_ID, "{s}");
    assert_eq!(s["genesis"], hex0x(local.genesis), "{s}");
    assert_eq!(s["bestHash"], hex0x(local.genesis), "{s}");
    assert_eq!(s["td"], "1", "{s}");
    assert_eq!(s["forkId"], json!([hex0x(local.fork_id.hash.0), 0]), "{s}");
}

/// A made-up block header: `[parent, number, extra]`.
fn fake_header(parent: B256, number: u64) -> Vec<u8> {
    let extra: &[u8] = b"ethp2p-interop";
    let payload_length = parent.length() + number.length() + extra.length();
    let mut out = Vec::new();
    Header {
        list: true,
        payload_length,
    }
    .encode(&mut out);
    parent.encode(&mut out);
    number.encode(&mut out);
    extra.encode(&mut out);
    out
}

// ------------------------------------------------------------------ tests ---

/// We dial ethereumjs: RLPx, Hello, Status on eth/68; requests both ways
/// with their request ids; Pings both ways; our Disconnect(ClientQuitting).
#[tokio::test]
async fn we_dial_ethereumjs_and_speak_eth68() {
    let genesis = random_hash();
    let (status, filter) = local_chain(genesis);
    let key = generate_secret_key();
    let mut peer = JsPeer::spawn(peer_args("listen", NETWORK_ID, genesis, "68,67,66"));

    // A short keepalive interval, so that our own Pings happen during the test.
    let config = P2PConfig {
        ping_interval: Duration::from_millis(300),
        ping_timeout: Duration::from_secs(5),
        ..P2PConfig::default()
    };
    let (their_id, hello) =
        dial_and_hello(&mut peer, &key, &EthVersion::DEFAULT_ADVERTISED, config).await;
    let (mut p2p, their_hello) =
        hello.unwrap_or_else(|e| peer.fail(format!("Hello exchange failed: {e:?}")));
    let (version, remote) = exchange_status(&peer, &mut p2p, &status, &filter)
        .await
        .unwrap_or_else(|e| peer.fail(format!("Status exchange failed: {e:?}")));
    let mut ours = Ours {
        p2p,
        hello: their_hello,
        version,
        remote,
        inbox: VecDeque::new(),
    };
    let our_id = hex::encode(peer_id_from_secret_key(&key));
    check_established(&mut peer, &mut ours, &their_id, &status, &our_id, 0).await;
    let p = peer.take("peer", &|_| true);
    assert!(p.is_none(), "a second `peer` event: {p:?}");

    // Our GetBlockHeaders (a request id above 2^53, which a JS number cannot hold).
    let our_req: u64 = 0xdead_beef_0bad_cafe;
    let request = EthMessage::GetBlockHeaders(RequestPair::new(
        our_req,
        GetBlockHeaders {
            start: BlockHashOrNumber::Number(0),
            limit: 1,
            skip: 0,
            reverse: false,
        },
    ));
    ours.send(&peer, &request).await;
    let m = peer
        .expect_driving(&mut ours, "message", |m| m["code"] == 3)
        .await;
    assert_eq!(m["name"], "GetBlockHeaders", "{m}");
    assert_eq!(m["reqId"], our_req.to_string(), "{m}");
    assert_eq!(
        m["request"],
        json!({"start": 0, "max": 1, "skip": 0, "reverse": false}),
        "{m}"
    );
    assert_eq!(m["payload"], hex0x(request.encoded()), "{m}");

    // The peer answers it.
    let header = fake_header(genesis, 1);
    peer.cmd(
        json!({"cmd": "blockHeaders", "reqId": our_req.to_string(), "headers": [hex0x(&header)]}),
    )
    .await;
    match ours.recv(&mut peer).await {
        EthMessage::BlockHeaders(pair) => {
            assert_eq!(pair.request_id, our_req);
            let got: Vec<&[u8]> = pair.message.iter().collect();
            assert_eq!(got, [&header[..]]);
        }
        other => peer.fail(format!("expected BlockHeaders, got {other:?}")),
    }

    // The peer's GetBlockHeaders (by hash, request id u64::MAX); we answer empty.
    let their_req = u64::MAX;
    peer.cmd(json!({
        "cmd": "getBlockHeaders",
        "reqId": their_req.to_string(),
        "start": hex0x(genesis),
        "max": 2,
        "skip": 0,
        "reverse": false
    }))
    .await;
    match ours.recv(&mut peer).await {
        EthMessage::GetBlockHeaders(pair) => {
            assert_eq!(pair.request_id, their_req);
            assert_eq!(
                pair.message,
                GetBlockHeaders {
                    start: BlockHashOrNumber::Hash(genesis),
                    limit: 2,
                    skip: 0,
                    reverse: false
                }
            );
        }
        other => peer.fail(format!("expected GetBlockHeaders, got {other:?}")),
    }
    let answer = EthMessage::BlockHeaders(RequestPair::new(their_req, RawList::empty()));
    ours.send(&peer, &answer).await;
    let m = peer
        .expect_driving(&mut ours, "message", |m| m["code"] == 4)
        .await;
    assert_eq!(m["name"], "BlockHeaders", "{m}");
    assert_eq!(m["reqId"], their_req.to_string(), "{m}");
    assert_eq!(m["headers"], json!([]), "{m}");

    // The peer pings us: we answer.
    peer.cmd(json!({"cmd": "ping"})).await;
    peer.expect_driving(&mut ours, "pong", |_| true).await;

    // Our keepalive pings the peer. A second Ping is only ever sent after the
    // Pong to the first arrived (otherwise the stream fails with PingTimeout),
    // so two `ping` events prove that the peer answers ours.
    peer.expect_driving(&mut ours, "ping", |_| true).await;
    peer.expect_driving(&mut ours, "ping", |_| true).await;
    assert!(
        ours.inbox.is_empty(),
        "unexpected messages: {:?}",
        ours.inbox
    );

    // We leave.
    match timeout(STEP, ours.p2p.disconnect(DisconnectReason::ClientQuitting)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => peer.fail(format!("disconnect failed: {e:?}")),
        Err(_) => peer.fail("disconnect timed out"),
    }
    let d = peer.expect("disconnect", |_| true).await;
    assert_eq!(d["reason"], 8, "{d}");
    assert_eq!(d["reasonName"], "CLIENT_QUITTING", "{d}");
    assert_eq!(d["initiatedByUs"], false, "{d}");
    assert_eq!(d["helloDone"], true, "{d}");
    let errors = peer.errors();
    if !errors.is_empty() {
        peer.fail(format!("the peer reported errors: {errors:?}"));
    }
}

/// ethereumjs dials us, then disconnects with TooManyPeers.
#[tokio::test]
async fn ethereumjs_dials_us_and_leaves_with_too_many_peers() {
    let genesis = random_hash();
    let (status, filter) = local_chain(genesis);
    let key = generate_secret_key();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let enode = NodeRecord::new(peer_id_from_secret_key(&key), addr).to_string();
    let mut args = peer_args("dial", NETWORK_ID, genesis, "68,67,66");
    args.extend(["--remote".to_string(), enode]);
    let mut peer = JsPeer::spawn(args);
    let ready = peer.expect("ready", |_| true).await;
    let their_id = ready["id"].as_str().unwrap_or_default().to_owned();

    let tcp = match timeout(STEP, listener.accept()).await {
        Ok(Ok((tcp, _))) => tcp,
        Ok(Err(e)) => peer.fail(format!("accept failed: {e}")),
        Err(_) => peer.fail("ethereumjs did not dial us"),
    };
    tcp.set_nodelay(true).expect("TCP_NODELAY");
    let rlpx = accept(tcp, &key, STEP)
        .await
        .unwrap_or_else(|e| peer.fail(format!("RLPx handshake (we accept) failed: {e:?}")));
    assert_eq!(hex::encode(rlpx.remote_id()), their_id);
    let versions = EthVersion::DEFAULT_ADVERTISED;
    let hello = our_hello(&key, &versions, addr.port());
    let (mut p2p, their_hello) = match timeout(
        STEP,
        handshake(
            rlpx,
            &hello,
            &eth_protocols(&versions),
            P2PConfig::default(),
        ),
    )
    .await
    {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => peer.fail(format!("Hello exchange failed: {e:?}")),
        Err(_) => peer.fail("Hello exchange timed out"),
    };
    let (version, remote) = exchange_status(&peer, &mut p2p, &status, &filter)
        .await
        .unwrap_or_else(|e| peer.fail(format!("Status exchange failed: {e:?}")));
    let mut ours = Ours {
        p2p,
        hello: their_hello,
        version,
        remote,
        inbox: VecDeque::new(),
    };
    check_established(
        &mut peer,
        &mut ours,
        &their_id,
        &status,
        &hex::encode(peer_id_from_secret_key(&key)),
        addr.port(),
    )
    .await;

    // A round trip after our Status: the peer validated it and kept us.
    peer.cmd(json!({"cmd": "ping"})).await;
    peer.expect_driving(&mut ours, "pong", |_| true).await;

    peer.cmd(json!({"cmd": "disconnect", "reason": 4})).await;
    let next = match timeout(STEP, ours.drive()).await {
        Ok(next) => next,
        Err(_) => peer.fail("no Disconnect from the peer"),
    };
    match next {
        Some(Err(P2PError::Disconnected(reason))) => {
            assert_eq!(reason, DisconnectReason::TooManyPeers)
        }
        other => peer.fail(format!(
            "expected Disconnected(TooManyPeers), got {other:?}"
        )),
    }
    // A disconnected peer is dropped: closing our socket lets ethereumjs close
    // its own (it only half-closes it, 2 s after sending Disconnect).
    drop(ours);
    let d = peer.expect("disconnect", |_| true).await;
    assert_eq!(d["reason"], 4, "{d}");
    assert_eq!(d["initiatedByUs"], true, "{d}");
    assert_eq!(d["helloDone"], true, "{d}");
    let errors = peer.errors();
    if !errors.is_empty() {
        peer.fail(format!("the peer reported errors: {errors:?}"));
    }
}

/// Runs Hello and a Status exchange that must be rejected; returns our error
/// after checking that the peer saw our Status and reports Disconnect 0x10.
async fn rejected_status(
    peer_network_id: u64,
    peer_genesis: B256,
    our_genesis: B256,
) -> StatusError {
    let (status, filter) = local_chain(our_genesis);
    let key = generate_secret_key();
    let mut peer = JsPeer::spawn(peer_args(
        "listen",
        peer_network_id,
        peer_genesis,
        "68,67,66",
    ));
    let (_, hello) = dial_and_hello(
        &mut peer,
        &key,
        &EthVersion::DEFAULT_ADVERTISED,
        P2PConfig::default(),
    )
    .await;
    let (mut p2p, _) = hello.unwrap_or_else(|e| peer.fail(format!("Hello exchange failed: {e:?}")));
    let err = match exchange_status(&peer, &mut p2p, &status, &filter).await {
        Ok(ok) => peer.fail(format!("Status exchange succeeded: {ok:?}")),
        Err(e) => e,
    };
    // We tell the peer why as geth does: SubprotocolSpecific.
    assert_eq!(
        err.reason_sent(),
        Some(DisconnectReason::SubprotocolSpecific),
        "{err:?}"
    );
    let s = peer.expect("status", |_| true).await;
    assert_eq!(s["networkId"], NETWORK_ID, "{s}");
    assert_eq!(s["genesis"], hex0x(our_genesis), "{s}");
    let d = peer.expect("disconnect", |_| true).await;
    assert_eq!(d["reason"], 0x10, "{d}");
    assert_eq!(d["reasonName"], "SUBPROTOCOL_ERROR", "{d}");
    match err {
        EthHandshakeError::Rejected(e) => e,
        other => peer.fail(format!("expected a rejected Status, got {other:?}")),
    }
}

#[tokio::test]
async fn other_network_id_is_refused_with_subprotocol_error() {
    let genesis = random_hash();
    let err = rejected_status(NETWORK_ID + 1, genesis, genesis).await;
    assert_eq!(
        err,
        StatusError::NetworkIdMismatch {
            local: NETWORK_ID,
            remote: NETWORK_ID + 1
        }
    );
}

#[tokio::test]
async fn other_genesis_is_refused_with_subprotocol_error() {
    let ours = random_hash();
    let theirs = random_hash();
    let err = rejected_status(NETWORK_ID, theirs, ours).await;
    assert_eq!(
        err,
        StatusError::GenesisMismatch {
            local: ours,
            remote: theirs
        }
    );
}

/// The peer speaks only eth/66, we only eth/69: the Hello negotiation fails
/// and both sides call it UselessPeer.
#[tokio::test]
async fn no_shared_eth_version_is_useless_peer() {
    let genesis = random_hash();
    let key = generate_secret_key();
    let mut peer = JsPeer::spawn(peer_args("listen", NETWORK_ID, genesis, "66"));
    let (_, hello) =
        dial_and_hello(&mut peer, &key, &[EthVersion::Eth69], P2PConfig::default()).await;
    let err = match hello {
        Ok((_, h)) => peer.fail(format!("Hello exchange succeeded: {h:?}")),
        Err(e) => e,
    };
    assert!(
        matches!(err, P2PHandshakeError::NoSharedCapabilities),
        "{err:?}"
    );
    assert_eq!(err.reason_sent(), Some(DisconnectReason::UselessPeer));
    let d = peer.expect("disconnect", |_| true).await;
    assert_eq!(d["reason"], 3, "{d}");
    assert_eq!(d["reasonName"], "USELESS_PEER", "{d}");
    assert_eq!(d["helloDone"], false, "{d}");
    assert!(
        peer.take("peer", &|_| true).is_none(),
        "the peer reported a connection"
    );
}
