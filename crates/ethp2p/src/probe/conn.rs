//! A devp2p connection under the probe's full control.
//!
//! The probe must send what a well-behaved peer never would (malformed
//! Hellos, ids outside every capability, a Ping of its own) and see
//! everything the remote sends back (Pongs, Disconnect reasons, a bare TCP
//! close). So it keeps the RLPx frame stream of `ethp2p-rlpx` itself and
//! frames messages the way the base protocol does (`rlp(id) || snappy(payload)`),
//! decoding each received frame with `ethp2p_wire::p2p::decode_frame_body`.
//! Capability negotiation is `ethp2p-wire`'s, messages are `ethp2p-eth`'s.
//!
//! Requests the remote sends us meanwhile are answered at once with the
//! empty (chain-less) response, so that no check fails because we left the
//! remote waiting; Pings are answered with Pongs.

use alloy_rlp::Encodable;
use bytes::{Bytes, BytesMut};
use ethp2p_eth::{
    message::EthMessage,
    snap::{chainless_response, SnapMessage, SnapVersion, SNAP},
    status::Status,
    version::EthVersion,
};
use ethp2p_rlpx::{NodeRecord, RlpxStream, SecretKey};
use ethp2p_wire::{
    p2p::decode_frame_body, Capability, DisconnectReason, HelloMessage, Protocol,
    SharedCapabilities, MAX_PAYLOAD_SIZE,
};
use futures::{future::poll_fn, StreamExt};
use std::time::Duration;
use tokio::{
    net::TcpStream,
    time::{timeout_at, Instant},
};

const HELLO: u64 = 0x00;
const DISCONNECT: u64 = 0x01;
const PING: u64 = 0x02;
const PONG: u64 = 0x03;

/// One frame from the remote, decoded as far as the base protocol goes.
#[derive(Debug)]
pub(super) enum Frame {
    /// A Hello (first frame), with its decoding result.
    Hello(Result<HelloMessage, alloy_rlp::Error>),
    /// A Disconnect with its reason.
    Disconnect(DisconnectReason),
    /// A Ping.
    Ping,
    /// A Pong.
    Pong,
    /// A message of a capability (or of none): absolute id, decompressed payload.
    Message {
        /// Absolute message id.
        id: u64,
        /// Decompressed payload.
        payload: Bytes,
    },
}

/// What ended a read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ReadEnd {
    /// Nothing arrived before the deadline.
    Timeout,
    /// The remote closed the connection (no Disconnect message).
    Closed,
    /// The transport failed (a MAC mismatch, a reset, an undecodable frame).
    Failed(String),
}

impl std::fmt::Display for ReadEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Timeout => write!(f, "nothing within the timeout"),
            Self::Closed => write!(f, "connection closed without a Disconnect message"),
            Self::Failed(e) => write!(f, "connection failed: {e}"),
        }
    }
}

/// A higher-level event: what a check waits for.
#[derive(Debug)]
pub(super) enum Event {
    /// An eth message (a request of the remote has been answered with the
    /// empty response by the time it is returned).
    Eth(EthMessage),
    /// A snap message (a request has been answered with the chain-less response).
    Snap(SnapMessage),
    /// A Pong.
    Pong,
    /// A Disconnect.
    Disconnect(DisconnectReason),
    /// A message this probe could not decode or place (logged at debug level).
    Other,
    /// The read ended.
    End(ReadEnd),
}

/// The protocols the probe offers: every eth version and both snap versions.
pub(super) fn probe_protocols() -> Vec<Protocol> {
    let mut p = ethp2p_eth::handshake::eth_protocols(&EthVersion::ALL);
    p.extend(ethp2p_eth::snap::snap_protocols(&SnapVersion::ALL));
    p
}

/// Our Hello for `key` with `protocols`.
pub(super) fn hello_for(key: &SecretKey, protocols: &[Protocol]) -> HelloMessage {
    HelloMessage {
        protocol_version: ethp2p_wire::P2P_VERSION,
        client_id: format!("ethp2p-probe/v{}", env!("CARGO_PKG_VERSION")),
        capabilities: protocols.iter().map(|p| p.cap.clone()).collect(),
        port: 0,
        id: ethp2p_rlpx::key::peer_id_from_secret_key(key),
    }
}

/// A connection after the RLPx handshake.
pub(super) struct Conn {
    rlpx: RlpxStream<TcpStream>,
    /// The time allowed for each read.
    pub read_timeout: Duration,
    /// The shared capabilities, once the Hellos are exchanged.
    pub shared: SharedCapabilities,
    /// The remote's Hello, once received.
    pub remote_hello: Option<HelloMessage>,
    /// The negotiated eth version, if eth is shared.
    pub eth: Option<(usize, EthVersion)>,
    /// The negotiated snap version, if snap is shared.
    pub snap: Option<(usize, SnapVersion)>,
    encoder: snap::raw::Encoder,
}

impl Conn {
    /// TCP connect and RLPx handshake, each under `timeout`.
    pub(super) async fn dial(
        target: &NodeRecord,
        key: &SecretKey,
        timeout: Duration,
    ) -> Result<Self, String> {
        let addr = target.tcp_addr();
        let stream = match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(format!("cannot connect to {addr}: {e}")),
            Err(_) => return Err(format!("connecting to {addr} timed out")),
        };
        let _ = stream.set_nodelay(true);
        let rlpx = ethp2p_rlpx::connect(stream, key, target.id, timeout)
            .await
            .map_err(|e| format!("RLPx handshake: {e}"))?;
        Ok(Self {
            rlpx,
            read_timeout: timeout,
            shared: SharedCapabilities::default(),
            remote_hello: None,
            eth: None,
            snap: None,
            encoder: snap::raw::Encoder::new(),
        })
    }

    async fn flush(&mut self) -> Result<(), String> {
        poll_fn(|cx| self.rlpx.poll_write_queued(cx))
            .await
            .map_err(|e| format!("write: {e}"))
    }

    fn frame(&mut self, parts: &[&[u8]]) -> Result<(), String> {
        self.rlpx
            .queue_frame(parts)
            .map_err(|e| format!("write: {e}"))
    }

    /// Sends `body` as the Hello (uncompressed), whatever it contains.
    pub(super) async fn send_hello_raw(&mut self, body: &[u8]) -> Result<(), String> {
        self.frame(&[&[alloy_rlp::EMPTY_STRING_CODE], body])?;
        self.flush().await
    }

    /// Sends `hello`, reads the remote's and negotiates the capabilities.
    pub(super) async fn hello(
        &mut self,
        hello: &HelloMessage,
        protocols: &[Protocol],
    ) -> Result<(), String> {
        let mut body = Vec::with_capacity(hello.length());
        hello.encode(&mut body);
        self.send_hello_raw(&body).await?;
        let deadline = Instant::now() + self.read_timeout;
        let theirs = match self.read_frame(deadline).await {
            Ok(Frame::Hello(Ok(h))) => h,
            Ok(Frame::Hello(Err(e))) => return Err(format!("invalid Hello: {e}")),
            Ok(Frame::Disconnect(r)) => return Err(format!("disconnected during Hello: {r}")),
            Ok(other) => return Err(format!("expected Hello, got {}", describe(&other))),
            Err(end) => return Err(format!("waiting for Hello: {end}")),
        };
        if theirs.protocol_version < ethp2p_wire::P2P_VERSION {
            return Err(format!(
                "p2p version {} (snappy needs 5)",
                theirs.protocol_version
            ));
        }
        self.shared = SharedCapabilities::negotiate(protocols, &theirs.capabilities)
            .ok_or("no shared capability")?;
        self.eth = self
            .shared
            .index_of(ethp2p_eth::handshake::ETH)
            .and_then(|i| {
                let v = self.shared.get(i)?.cap.version;
                Some((i, EthVersion::try_from(v).ok()?))
            });
        self.snap = self.shared.index_of(SNAP).and_then(|i| {
            let v = self.shared.get(i)?.cap.version;
            Some((i, SnapVersion::try_from(v).ok()?))
        });
        self.remote_hello = Some(theirs);
        Ok(())
    }

    /// The negotiated eth version.
    pub(super) fn eth_version(&self) -> Option<EthVersion> {
        self.eth.map(|(_, v)| v)
    }

    /// Offset of shared capability `index`.
    fn offset(&self, index: usize) -> u64 {
        self.shared
            .get(index)
            .map(|c| u64::from(c.offset))
            .unwrap_or(0)
    }

    /// The first absolute id beyond every shared capability.
    pub(super) fn first_unused_id(&self) -> u64 {
        self.shared
            .iter()
            .map(|c| u64::from(c.offset) + u64::from(c.messages))
            .max()
            .unwrap_or(u64::from(ethp2p_wire::RESERVED_MESSAGE_IDS))
    }

    /// Queues and flushes a message with absolute id `id` (snappy-compressed).
    pub(super) async fn send_raw(&mut self, id: u64, payload: &[u8]) -> Result<(), String> {
        let compressed = self
            .encoder
            .compress_vec(payload)
            .map_err(|e| format!("snappy: {e}"))?;
        let mut idb = Vec::with_capacity(9);
        id.encode(&mut idb);
        self.frame(&[&idb, &compressed])?;
        self.flush().await
    }

    /// Sends an eth message with relative id `id`.
    pub(super) async fn send_eth_raw(&mut self, id: u8, payload: &[u8]) -> Result<(), String> {
        let (index, _) = self.eth.ok_or("eth is not shared")?;
        let abs = self.offset(index) + u64::from(id);
        self.send_raw(abs, payload).await
    }

    /// Sends an eth message.
    pub(super) async fn send_eth(&mut self, m: &EthMessage) -> Result<(), String> {
        self.send_eth_raw(m.id().as_u8(), &m.encoded()).await
    }

    /// Sends a snap message with relative id `id`.
    pub(super) async fn send_snap_raw(&mut self, id: u8, payload: &[u8]) -> Result<(), String> {
        let (index, _) = self.snap.ok_or("snap is not shared")?;
        let abs = self.offset(index) + u64::from(id);
        self.send_raw(abs, payload).await
    }

    /// Sends a snap message.
    pub(super) async fn send_snap(&mut self, m: &SnapMessage) -> Result<(), String> {
        self.send_snap_raw(m.id().as_u8(), &m.encoded()).await
    }

    /// Sends a Ping.
    pub(super) async fn ping(&mut self) -> Result<(), String> {
        self.send_raw(PING, &[alloy_rlp::EMPTY_LIST_CODE]).await
    }

    /// Sends a Status (encoded in the format its `version` field selects).
    pub(super) async fn send_status(&mut self, status: &Status) -> Result<(), String> {
        let mut body = Vec::with_capacity(status.length());
        status.encode(&mut body);
        self.send_eth_raw(0x00, &body).await
    }

    /// Sends Disconnect and closes, best effort.
    pub(super) async fn close(mut self) {
        let payload = DisconnectReason::DisconnectRequested.encode_payload();
        if self.send_raw(DISCONNECT, &payload).await.is_ok() {
            let _ = tokio::time::timeout(
                Duration::from_millis(200),
                poll_fn(|cx| {
                    futures::Sink::<Bytes>::poll_close(std::pin::Pin::new(&mut self.rlpx), cx)
                }),
            )
            .await;
        }
    }

    /// Reads one frame before `deadline`.
    pub(super) async fn read_frame(&mut self, deadline: Instant) -> Result<Frame, ReadEnd> {
        let frame: BytesMut = match timeout_at(deadline, self.rlpx.next()).await {
            Err(_) => return Err(ReadEnd::Timeout),
            Ok(None) => return Err(ReadEnd::Closed),
            Ok(Some(Err(ethp2p_rlpx::RlpxError::Io(e))))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::UnexpectedEof
                        | std::io::ErrorKind::ConnectionReset
                        | std::io::ErrorKind::ConnectionAborted
                        | std::io::ErrorKind::BrokenPipe
                ) =>
            {
                return Err(ReadEnd::Closed)
            }
            Ok(Some(Err(e))) => return Err(ReadEnd::Failed(e.to_string())),
            Ok(Some(Ok(f))) => f,
        };
        let (id, payload) = decode_frame_body(&frame, MAX_PAYLOAD_SIZE)
            .map_err(|e| ReadEnd::Failed(e.to_string()))?;
        Ok(match id {
            HELLO => Frame::Hello(alloy_rlp::Decodable::decode(&mut &payload[..])),
            DISCONNECT => Frame::Disconnect(DisconnectReason::from_code(
                payload.first().copied().unwrap_or(0),
            )),
            PING => Frame::Ping,
            PONG => Frame::Pong,
            id => Frame::Message {
                id,
                payload: payload.freeze(),
            },
        })
    }

    /// Reads until the remote's Status arrives (answering what needs an answer).
    pub(super) async fn read_status(&mut self) -> Result<Status, String> {
        let (index, version) = self.eth.ok_or("eth is not shared")?;
        let status_id = self.offset(index);
        let deadline = Instant::now() + self.read_timeout;
        loop {
            match self.read_frame(deadline).await {
                Ok(Frame::Message { id, payload }) if id == status_id => {
                    return Status::decode(version, &payload)
                        .map_err(|e| format!("invalid Status: {e}"))
                }
                Ok(Frame::Ping) => self.send_raw(PONG, &[alloy_rlp::EMPTY_LIST_CODE]).await?,
                Ok(Frame::Disconnect(r)) => return Err(format!("disconnected before Status: {r}")),
                Ok(other) => return Err(format!("expected Status, got {}", describe(&other))),
                Err(end) => return Err(format!("waiting for Status: {end}")),
            }
        }
    }

    /// The next event before `deadline`: Pings are answered (and not
    /// returned), requests of the remote get the chain-less answer.
    pub(super) async fn next_event(&mut self, deadline: Instant) -> Event {
        loop {
            let frame = match self.read_frame(deadline).await {
                Ok(f) => f,
                Err(end) => return Event::End(end),
            };
            match frame {
                Frame::Ping => {
                    if let Err(e) = self.send_raw(PONG, &[alloy_rlp::EMPTY_LIST_CODE]).await {
                        return Event::End(ReadEnd::Failed(e));
                    }
                }
                Frame::Pong => return Event::Pong,
                Frame::Disconnect(r) => return Event::Disconnect(r),
                Frame::Hello(_) => return other(HELLO, "a second Hello"),
                Frame::Message { id, payload } => {
                    let Some((index, rel)) = self.shared.route(id) else {
                        return other(id, "an id outside every shared capability");
                    };
                    if Some(index) == self.eth.map(|e| e.0) {
                        let version = self.eth.map(|e| e.1).unwrap_or(EthVersion::Eth69);
                        match EthMessage::decode_bytes(version, rel, payload) {
                            Ok(m) => {
                                if let Some(answer) = m.empty_response() {
                                    if let Err(e) = self.send_eth(&answer).await {
                                        return Event::End(ReadEnd::Failed(e));
                                    }
                                }
                                return Event::Eth(m);
                            }
                            Err(e) => return other(id, format!("undecodable eth message: {e}")),
                        }
                    }
                    if Some(index) == self.snap.map(|s| s.0) {
                        let version = self.snap.map(|s| s.1).unwrap_or(SnapVersion::Snap1);
                        match SnapMessage::decode_bytes(version, rel, payload) {
                            Ok(m) => {
                                if let Some(answer) = chainless_response(&m) {
                                    if let Err(e) = self.send_snap(&answer).await {
                                        return Event::End(ReadEnd::Failed(e));
                                    }
                                }
                                return Event::Snap(m);
                            }
                            Err(e) => return other(id, format!("undecodable snap message: {e}")),
                        }
                    }
                    return other(id, "a message of an unknown capability");
                }
            }
        }
    }
}

/// Logs a message that could not be decoded or placed, and says so.
fn other(id: u64, why: impl std::fmt::Display) -> Event {
    tracing::debug!(id, %why, "ignoring a message");
    Event::Other
}

/// A short description of a frame for reports.
pub(super) fn describe(frame: &Frame) -> String {
    match frame {
        Frame::Hello(Ok(h)) => format!(
            "Hello ({}, caps {})",
            h.client_id,
            h.capabilities
                .iter()
                .map(Capability::to_string)
                .collect::<Vec<_>>()
                .join(",")
        ),
        Frame::Hello(Err(e)) => format!("an undecodable Hello ({e})"),
        Frame::Disconnect(r) => format!("Disconnect ({r})"),
        Frame::Ping => "Ping".into(),
        Frame::Pong => "Pong".into(),
        Frame::Message { id, payload } => format!("message {id:#04x} ({} bytes)", payload.len()),
    }
}
