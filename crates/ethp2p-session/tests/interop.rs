//! The session manager against an independent client: @ethereumjs/devp2p
//! (interop/peer.mjs), over loopback, both directions.

use ethp2p_testing::jspeer::{self, genesis_status_eth68};

use alloy_primitives::B256;
use ethp2p_eth::{
    message::{BlockHashOrNumber, EthMessage, GetBlockHeaders, RawList, RequestPair},
    version::EthVersion,
};
use ethp2p_rlpx::{generate_secret_key, NodeRecord, PeerId};
use ethp2p_session::{
    PeerMessage, RequestError, SessionEvent, SessionManager, SessionManagerParams, SessionsConfig,
};
use ethp2p_wire::DisconnectReason;
use futures::StreamExt;
use jspeer::{JsPeer, STEP};
use serde_json::json;
use std::net::SocketAddr;
use tokio::{
    net::TcpListener,
    sync::{mpsc, oneshot},
};

const NETWORK_ID: u64 = 1337;

enum Cmd {
    Dial(SocketAddr, PeerId),
    Request(
        PeerId,
        EthMessage,
        oneshot::Sender<oneshot::Receiver<Result<EthMessage, RequestError>>>,
    ),
    Disconnect(PeerId, DisconnectReason),
}

/// Our node: a session manager driven by its own task.
struct Ours {
    id: PeerId,
    addr: SocketAddr,
    cmds: mpsc::UnboundedSender<Cmd>,
    events: mpsc::UnboundedReceiver<SessionEvent>,
}

impl Ours {
    async fn start(genesis: B256) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (status, filter) = genesis_status_eth68(genesis, NETWORK_ID);
        let mut mgr = SessionManager::new(SessionManagerParams {
            secret_key: generate_secret_key(),
            config: SessionsConfig::default(),
            status,
            client_id: "ethp2p-session-interop".into(),
            listen_port: addr.port(),
            fork_filter: filter,
            eth_versions: EthVersion::DEFAULT_ADVERTISED.to_vec(),
            extra_protocols: vec![],
            spawner: None,
            dialer: None,
            rng_seed: None,
        });
        let id = mgr.local_id();
        let (cmds, mut cmd_rx) = mpsc::unbounded_channel();
        let (ev_tx, events) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    r = listener.accept() => if let Ok((s, a)) = r { let _ = mgr.on_incoming(s, a, None); },
                    c = cmd_rx.recv() => match c {
                        None => break,
                        Some(Cmd::Dial(a, p)) => { let _ = mgr.dial_outbound(a, p); }
                        Some(Cmd::Request(p, m, back)) => { let _ = back.send(mgr.send_request(&p, m)); }
                        Some(Cmd::Disconnect(p, r)) => { mgr.disconnect(&p, r); }
                    },
                    ev = mgr.next() => match ev {
                        Some(ev) => if ev_tx.send(ev).is_err() { break },
                        None => break,
                    },
                }
            }
        });
        Self {
            id,
            addr,
            cmds,
            events,
        }
    }

    /// Waits (bounded) for the first event `pick` accepts; others are dropped.
    async fn expect<T>(
        &mut self,
        what: &str,
        mut pick: impl FnMut(SessionEvent) -> Option<T>,
    ) -> T {
        let deadline = tokio::time::Instant::now() + STEP;
        loop {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(ev)) => {
                    if let Some(t) = pick(ev) {
                        return t;
                    }
                }
                Ok(None) => panic!("manager stopped while waiting for {what}"),
                Err(_) => panic!("timed out waiting for {what}"),
            }
        }
    }

    async fn request(&self, peer: PeerId, msg: EthMessage) -> Result<EthMessage, RequestError> {
        let (tx, rx) = oneshot::channel();
        self.cmds.send(Cmd::Request(peer, msg, tx)).unwrap();
        let inner = rx.await.unwrap();
        tokio::time::timeout(STEP, inner)
            .await
            .expect("response in time")
            .unwrap()
    }
}

fn js_args(mode: &str, genesis: B256) -> Vec<String> {
    vec![
        "--mode".into(),
        mode.into(),
        "--network-id".into(),
        NETWORK_ID.to_string(),
        "--genesis".into(),
        format!("0x{}", hex::encode(genesis)),
        "--eth-versions".into(),
        "68,67,66".into(),
    ]
}

fn established(ev: SessionEvent) -> Option<(PeerId, EthVersion, String)> {
    match ev {
        SessionEvent::SessionEstablished { peer_id, info } => {
            Some((peer_id, info.eth_version, info.client_version.clone()))
        }
        _ => None,
    }
}

#[tokio::test]
async fn ethereumjs_dials_our_manager_and_requests_flow_both_ways() {
    let genesis = B256::from(rand::random::<[u8; 32]>());
    let mut ours = Ours::start(genesis).await;
    let mut args = js_args("dial", genesis);
    args.extend([
        "--remote".into(),
        NodeRecord::new(ours.id, ours.addr).to_string(),
    ]);
    let mut js = JsPeer::spawn(args);
    let (peer, version, client) = ours.expect("SessionEstablished", established).await;
    assert_eq!(version, EthVersion::Eth68, "highest version both speak");
    assert!(client.starts_with("ethereumjs-devp2p"), "{client}");
    js.expect("status", |v| v["networkId"] == NETWORK_ID).await;

    // Our request: the manager assigns request id 0, the peer echoes it back.
    let req = EthMessage::GetBlockHeaders(RequestPair {
        request_id: 12345,
        message: GetBlockHeaders {
            start: BlockHashOrNumber::Number(7),
            limit: 3,
            skip: 0,
            reverse: false,
        },
    });
    let request = {
        let ours = &ours;
        let fut = ours.request(peer, req);
        tokio::pin!(fut);
        let seen = tokio::select! {
            m = js.expect("message", |v| v["name"] == "GetBlockHeaders") => m,
            r = &mut fut => panic!("answered before the peer saw it: {r:?}"),
        };
        let req_id = seen["reqId"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| seen["reqId"].to_string());
        js.cmd(json!({"cmd": "blockHeaders", "reqId": req_id.parse::<u64>().unwrap(), "headers": ["0xc28080"]})).await;
        fut.await
    };
    match request {
        Ok(EthMessage::BlockHeaders(p)) => {
            assert_eq!(p.message.len(), 1);
            assert_eq!(p.message.iter().next().unwrap(), &[0xc2, 0x80, 0x80][..]);
        }
        other => panic!("{other:?}"),
    }

    // Their request: the owner drops the responder, the peer gets an empty
    // BlockHeaders with its own request id.
    js.cmd(json!({"cmd": "getBlockHeaders", "reqId": 777, "start": 1, "max": 5, "skip": 0, "reverse": false})).await;
    let (request, responder) = ours
        .expect("EthRequest", |ev| match ev {
            SessionEvent::ValidMessage {
                message: PeerMessage::EthRequest { request, responder },
                ..
            } => Some((request, responder)),
            _ => None,
        })
        .await;
    assert_eq!(request.request_id(), Some(777));
    drop(responder);
    let m = js.expect("message", |v| v["name"] == "BlockHeaders").await;
    assert_eq!(m["reqId"].to_string().trim_matches('"'), "777");

    // We leave with ClientQuitting; the peer reports reason 8.
    ours.cmds
        .send(Cmd::Disconnect(peer, DisconnectReason::ClientQuitting))
        .unwrap();
    let d = js.expect("disconnect", |_| true).await;
    assert_eq!(d["reason"], 8);
    ours.expect("Disconnected", |ev| match ev {
        SessionEvent::Disconnected {
            reason: DisconnectReason::ClientQuitting,
            by_us: true,
            ..
        } => Some(()),
        _ => None,
    })
    .await;
}

#[tokio::test]
async fn our_manager_dials_ethereumjs_which_leaves_with_too_many_peers() {
    let genesis = B256::from(rand::random::<[u8; 32]>());
    let mut ours = Ours::start(genesis).await;
    let mut js = JsPeer::spawn(js_args("listen", genesis));
    let ready = js.expect("ready", |_| true).await;
    let record: NodeRecord = ready["enode"].as_str().unwrap().parse().unwrap();
    ours.cmds
        .send(Cmd::Dial(record.tcp_addr(), record.id))
        .unwrap();
    let (peer, version, _) = ours.expect("SessionEstablished", established).await;
    assert_eq!((peer, version), (record.id, EthVersion::Eth68));
    js.expect("status", |v| v["networkId"] == NETWORK_ID).await;
    js.cmd(json!({"cmd": "disconnect", "reason": 4})).await;
    let (reason, by_us) = ours
        .expect("Disconnected", |ev| match ev {
            SessionEvent::Disconnected { reason, by_us, .. } => Some((reason, by_us)),
            _ => None,
        })
        .await;
    assert_eq!((reason, by_us), (DisconnectReason::TooManyPeers, false));
    let _ = RawList::empty();
}
