//! [`P2PStream`]: an RLPx connection after the Hello exchange.
//!
//! Every message after Hello is `rlp(id) || snappy(payload)`. Ids 0x00-0x0f
//! belong to the base protocol (Hello, Disconnect, Ping, Pong); each shared
//! protocol owns the range negotiation assigned it. The stream answers Pings,
//! pings the remote once it has been silent for a ping interval and fails
//! with [`P2PError::PingTimeout`] if no Pong arrives in time, and hands
//! everything else up as a [`ProtocolMessage`] with the protocol's index and
//! relative id.
//!
//! Keepalive is driven by silence, not by the clock alone: any frame from
//! the peer proves it alive, so a Ping goes out only after `ping_interval`
//! with nothing received. A busy session never pings, and of two idle
//! ethp2p peers usually only one does per interval (the other sees its Ping).

use crate::{
    capability::{Protocol, SharedCapabilities},
    disconnect::DisconnectReason,
    error::{IdentityMismatch, P2PError, P2PHandshakeError},
    hello::HelloMessage,
    keepalive::{Keepalive, KeepaliveAction},
    snappy::Snappy,
    MAX_HELLO_SIZE, MAX_PAYLOAD_SIZE, P2P_VERSION,
};
use alloy_rlp::{Decodable, Encodable};
use bytes::BytesMut;
use ethp2p_rlpx::{PeerId, RlpxStream};
use futures::{Future, Stream, StreamExt};
use std::{
    pin::Pin,
    task::{ready, Context, Poll},
    time::Duration,
};
use tokio::{
    io::{AsyncRead, AsyncWrite},
    time::{Instant, Sleep},
};

const HELLO_ID: u64 = 0x00;
const DISCONNECT_ID: u64 = 0x01;
const PING_ID: u64 = 0x02;
const PONG_ID: u64 = 0x03;
/// RLP of the empty list: the Ping and Pong payload.
const EMPTY_LIST: [u8; 1] = [0xc0];
/// The snappy encoding of [`EMPTY_LIST`]: length 1, one literal byte. Pings
/// and Pongs are sent pre-compressed, so keepalive needs no encoder.
const EMPTY_LIST_SNAPPY: [u8; 3] = [0x01, 0x00, 0xc0];

/// Settings of the base protocol.
#[derive(Debug, Clone)]
pub struct P2PConfig {
    /// How long the peer may stay silent before we Ping it. Any frame
    /// received restarts the wait. Default 60 s (reth pings 60 s after the
    /// last Pong; geth pings every 15 s and drops a peer silent for 30 s,
    /// which our Pongs to its Pings prevent).
    pub ping_interval: Duration,
    /// How long we wait for a Pong before disconnecting with PingTimeout.
    pub ping_timeout: Duration,
    /// Limit on a message's decompressed size (EIP-706: 16 MiB).
    pub max_payload: usize,
    /// Limit on a received frame after the Hello; `None` derives it from
    /// `max_payload` (the largest snappy encoding of such a payload, plus its id).
    pub max_frame_size: Option<usize>,
    /// Time allowed for the Hello exchange.
    pub hello_timeout: Duration,
    /// `poll_ready` flushes before accepting more once this many bytes are queued.
    pub write_backpressure: usize,
    /// Time allowed to write a final Disconnect and close, wherever a session
    /// says goodbye (refused Hello, refused session, orderly disconnect).
    /// Default 2 s.
    pub goodbye_timeout: Duration,
}

impl Default for P2PConfig {
    fn default() -> Self {
        Self {
            ping_interval: Duration::from_secs(60),
            ping_timeout: Duration::from_secs(20),
            max_payload: MAX_PAYLOAD_SIZE,
            max_frame_size: None,
            hello_timeout: Duration::from_secs(10),
            write_backpressure: 256 * 1024,
            goodbye_timeout: Duration::from_secs(2),
        }
    }
}

impl P2PConfig {
    /// The frame size limit in force after Hello.
    pub fn frame_limit(&self) -> usize {
        self.max_frame_size
            .unwrap_or_else(|| snap::raw::max_compress_len(self.max_payload).saturating_add(9))
            .min(ethp2p_rlpx::MAX_FRAME_SIZE)
    }
}

/// A message of one of the shared protocols.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolMessage {
    /// Index of the protocol in the session's [`SharedCapabilities`].
    pub protocol: usize,
    /// Message id relative to the protocol's offset.
    pub id: u8,
    /// Decompressed payload.
    pub payload: BytesMut,
}

/// An authenticated devp2p session over RLPx.
pub struct P2PStream<Io> {
    inner: RlpxStream<Io>,
    shared: SharedCapabilities,
    remote_version: u64,
    snappy: Snappy,
    config: P2PConfig,
    /// The keepalive rule (sans-IO) and the timer armed at its deadline.
    keepalive: Keepalive,
    keepalive_timer: Pin<Box<Sleep>>,
    /// A Ping arrived and its Pong has not been queued yet (at most one is owed).
    pong_owed: bool,
    /// Where the last queued Pong ends in the outgoing byte stream: the next
    /// Pong is queued only once it is written, so a Ping flood queues one at a
    /// time, yet a busy send queue cannot starve it.
    pong_end: u64,
    disconnecting: bool,
    /// Our Hello is still queued (see [`handshake_unflushed`]): write it before reading.
    flush_before_read: bool,
}

impl<Io> std::fmt::Debug for P2PStream<Io> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("P2PStream")
            .field("shared", &self.shared)
            .finish_non_exhaustive()
    }
}

fn encode_id(id: u64) -> ([u8; 9], usize) {
    let mut buf = [0u8; 9];
    let mut out = &mut buf[..];
    id.encode(&mut out);
    (buf, id.length())
}

/// Splits a frame into its message id and payload.
fn split_id(frame: &mut BytesMut) -> Result<u64, P2PError> {
    if frame.is_empty() {
        return Err(P2PError::EmptyMessage);
    }
    let mut buf = &frame[..];
    let id = u64::decode(&mut buf).map_err(P2PError::InvalidMessageId)?;
    let used = frame.len() - buf.len();
    let _ = frame.split_to(used);
    Ok(id)
}

/// Decodes a Disconnect payload that may or may not be snappy-compressed
/// (clients differ; ethereumjs sends it raw).
fn decode_disconnect(
    snappy: Option<&mut Snappy>,
    payload: &[u8],
) -> Result<DisconnectReason, alloy_rlp::Error> {
    if let Some(s) = snappy {
        if let Ok(plain) = s.decompress(payload, 64) {
            if let Ok(r) = DisconnectReason::decode_payload(&plain) {
                return Ok(r);
            }
        }
    }
    DisconnectReason::decode_payload(payload)
}

/// Queues an uncompressed base-protocol message (Hello phase only).
fn queue_plain<Io: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut RlpxStream<Io>,
    id: u64,
    payload: &[u8],
) -> Result<(), P2PHandshakeError> {
    let (idb, n) = encode_id(id);
    Ok(stream.queue_frame(&[&idb[..n], payload])?)
}

async fn flush<Io: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut RlpxStream<Io>,
) -> Result<(), ethp2p_rlpx::RlpxError> {
    futures::future::poll_fn(|cx| stream.poll_write_queued(cx)).await?;
    Ok(())
}

/// Best effort: tell the remote why, uncompressed, then give up on the socket.
async fn refuse<Io: AsyncRead + AsyncWrite + Unpin>(
    mut stream: RlpxStream<Io>,
    reason: DisconnectReason,
    within: Duration,
) {
    if queue_plain(&mut stream, DISCONNECT_ID, &reason.encode_payload()).is_ok() {
        let _ = tokio::time::timeout(within, flush(&mut stream)).await;
    }
}

/// Exchanges Hello messages over a fresh RLPx connection: sends ours
/// (uncompressed), reads theirs (first frame capped at 2 KiB), checks the
/// version (≥ 5), that its node id is the RLPx identity, and negotiates the
/// shared capabilities. On a failure we caused, the remote is told why with a
/// Disconnect before the error returns.
pub async fn handshake<Io: AsyncRead + AsyncWrite + Unpin>(
    stream: RlpxStream<Io>,
    hello: &HelloMessage,
    protocols: &[Protocol],
    config: P2PConfig,
) -> Result<(P2PStream<Io>, HelloMessage), P2PHandshakeError> {
    exchange_hellos(stream, hello, protocols, config, false).await
}

/// Like [`handshake`], but when their Hello is already buffered (an ethp2p
/// recipient sends it with the ack), ours is left queued, to leave in one
/// write with the next message we send: one write system call less. Use it
/// when a message follows at once (as the eth Status does); the returned
/// stream also writes the queued Hello before its first read.
pub async fn handshake_unflushed<Io: AsyncRead + AsyncWrite + Unpin>(
    stream: RlpxStream<Io>,
    hello: &HelloMessage,
    protocols: &[Protocol],
    config: P2PConfig,
) -> Result<(P2PStream<Io>, HelloMessage), P2PHandshakeError> {
    exchange_hellos(stream, hello, protocols, config, true).await
}

async fn exchange_hellos<Io: AsyncRead + AsyncWrite + Unpin>(
    mut stream: RlpxStream<Io>,
    hello: &HelloMessage,
    protocols: &[Protocol],
    config: P2PConfig,
    may_defer: bool,
) -> Result<(P2PStream<Io>, HelloMessage), P2PHandshakeError> {
    let exchange = async {
        let mut body = Vec::with_capacity(hello.length());
        hello.encode(&mut body);
        queue_plain(&mut stream, HELLO_ID, &body)?;
        stream.codec_mut().set_max_frame_size(MAX_HELLO_SIZE);
        // A recipient sends its Hello with the ack, so the initiator often has
        // it already: then our Hello may stay queued.
        let buffered = if may_defer {
            stream.try_buffered_frame()
        } else {
            None
        };
        let (frame, queued) = match buffered {
            Some(frame) => (Some(frame), true),
            None => {
                flush(&mut stream).await?;
                (stream.next().await, false)
            }
        };
        stream.codec_mut().set_max_frame_size(config.frame_limit());
        match frame {
            None => Err(P2PHandshakeError::ConnectionClosed),
            Some(Err(e)) => Err(e.into()),
            Some(Ok(f)) => Ok((f, queued)),
        }
    };
    let (mut frame, hello_queued) = match tokio::time::timeout(config.hello_timeout, exchange).await
    {
        Ok(Ok(frame)) => frame,
        Ok(Err(e)) => {
            if let Some(reason) = e.reason_sent() {
                refuse(stream, reason, config.goodbye_timeout).await;
            }
            return Err(e);
        }
        Err(_) => return Err(P2PHandshakeError::Timeout),
    };
    let result = match split_id(&mut frame) {
        Ok(HELLO_ID) => {
            HelloMessage::decode(&mut &frame[..]).map_err(P2PHandshakeError::InvalidHello)
        }
        Ok(DISCONNECT_ID) => {
            let mut s = Snappy::default();
            let reason = decode_disconnect(Some(&mut s), &frame)
                .unwrap_or(DisconnectReason::DisconnectRequested);
            return Err(P2PHandshakeError::Disconnected(reason));
        }
        Ok(id) => Err(P2PHandshakeError::NonHelloMessage(id)),
        Err(_) => Err(P2PHandshakeError::InvalidHello(alloy_rlp::Error::Custom(
            "bad message id",
        ))),
    };
    let checked = result.and_then(|theirs| {
        if theirs.protocol_version < P2P_VERSION {
            return Err(P2PHandshakeError::IncompatibleVersion(
                theirs.protocol_version,
            ));
        }
        if theirs.id != stream.remote_id() {
            return Err(P2PHandshakeError::UnexpectedIdentity(Box::new(
                IdentityMismatch {
                    expected: stream.remote_id(),
                    got: theirs.id,
                },
            )));
        }
        let shared = SharedCapabilities::negotiate(protocols, &theirs.capabilities)
            .ok_or(P2PHandshakeError::NoSharedCapabilities)?;
        Ok((theirs, shared))
    });
    match checked {
        Ok((theirs, shared)) => {
            let mut p2p = P2PStream::new(stream, shared, theirs.protocol_version, config);
            p2p.flush_before_read = hello_queued;
            Ok((p2p, theirs))
        }
        Err(e) => {
            if let Some(reason) = e.reason_sent() {
                refuse(stream, reason, config.goodbye_timeout).await;
            }
            Err(e)
        }
    }
}

impl<Io: AsyncRead + AsyncWrite + Unpin> P2PStream<Io> {
    fn new(
        inner: RlpxStream<Io>,
        shared: SharedCapabilities,
        remote_version: u64,
        config: P2PConfig,
    ) -> Self {
        let now = Instant::now();
        let keepalive = Keepalive::new(now, config.ping_interval, config.ping_timeout);
        let keepalive_timer = Box::pin(tokio::time::sleep_until(keepalive.poll_timeout()));
        Self {
            inner,
            shared,
            remote_version,
            snappy: Snappy::default(),
            config,
            keepalive,
            keepalive_timer,
            pong_owed: false,
            pong_end: 0,
            disconnecting: false,
            flush_before_read: false,
        }
    }

    /// The capabilities both sides share, with their id ranges.
    pub fn shared_capabilities(&self) -> &SharedCapabilities {
        &self.shared
    }

    /// The remote's identity.
    pub fn remote_id(&self) -> PeerId {
        self.inner.remote_id()
    }

    /// The settings this stream runs with.
    pub fn config(&self) -> &P2PConfig {
        &self.config
    }

    /// The remote's base protocol version.
    pub fn remote_version(&self) -> u64 {
        self.remote_version
    }

    /// The transport.
    pub fn get_ref(&self) -> &Io {
        self.inner.get_ref()
    }

    /// Bytes written to the socket so far.
    pub fn bytes_written(&self) -> u64 {
        self.inner.bytes_written()
    }

    /// Bytes queued but not yet written.
    pub fn pending_write_bytes(&self) -> usize {
        self.inner.pending_write_bytes()
    }

    /// Memory held by buffers (read, write, compression scratch).
    pub fn buffer_capacity(&self) -> usize {
        self.inner.buffer_capacity() + self.snappy.capacity()
    }

    /// Releases every empty buffer (after the handshakes, before going idle).
    pub fn release_buffers(&mut self) {
        self.inner.release_buffers();
        self.snappy.release();
    }

    /// Releases buffer memory an idle session does not need.
    pub fn shrink_buffers(&mut self) {
        self.inner.shrink_buffers();
        self.snappy.shrink();
    }

    /// Whether a Disconnect has been queued.
    pub fn is_disconnecting(&self) -> bool {
        self.disconnecting
    }

    fn queue(&mut self, abs_id: u64, payload: &[u8]) -> Result<(), P2PError> {
        if payload.len() > self.config.max_payload {
            return Err(P2PError::MessageTooBig {
                size: payload.len(),
                max: self.config.max_payload,
            });
        }
        let (idb, n) = encode_id(abs_id);
        let compressed = self.snappy.compress(payload)?;
        Ok(self.inner.queue_frame(&[&idb[..n], compressed])?)
    }

    fn queue_precompressed(&mut self, abs_id: u64, compressed: &[u8]) -> Result<(), P2PError> {
        let (idb, n) = encode_id(abs_id);
        Ok(self.inner.queue_frame(&[&idb[..n], compressed])?)
    }

    /// Queues a message of shared protocol `protocol` with relative id `id`.
    /// Call [`poll_ready`](Self::poll_ready) first to respect back-pressure,
    /// and flush afterwards.
    pub fn send(&mut self, protocol: usize, id: u8, payload: &[u8]) -> Result<(), P2PError> {
        let cap = self
            .shared
            .get(protocol)
            .ok_or(P2PError::NotShared(protocol))?;
        if id >= cap.messages {
            return Err(P2PError::IdOutOfRange {
                id,
                messages: cap.messages,
            });
        }
        let abs = cap.offset as u64 + id as u64;
        self.queue(abs, payload)
    }

    /// Queues Disconnect(reason); further reads should stop and the stream be closed.
    pub fn start_disconnect(&mut self, reason: DisconnectReason) -> Result<(), P2PError> {
        self.disconnecting = true;
        self.queue(DISCONNECT_ID, &reason.encode_payload())
    }

    /// Sends Disconnect(reason), flushes and closes the transport.
    pub async fn disconnect(&mut self, reason: DisconnectReason) -> Result<(), P2PError> {
        self.start_disconnect(reason)?;
        futures::future::poll_fn(|cx| self.poll_close(cx)).await
    }

    /// Ready to accept another message: flushes first when too much is queued.
    pub fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), P2PError>> {
        if self.inner.pending_write_bytes() >= self.config.write_backpressure {
            ready!(self.inner.poll_write_queued(cx)).map_err(ethp2p_rlpx::RlpxError::from)?;
        }
        Poll::Ready(Ok(()))
    }

    /// Writes everything queued (including an owed Pong) and flushes the transport.
    pub fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), P2PError>> {
        self.queue_owed_pong()?;
        ready!(futures::Sink::<bytes::Bytes>::poll_flush(
            Pin::new(&mut self.inner),
            cx
        ))?;
        Poll::Ready(Ok(()))
    }

    /// Flushes and shuts the transport down.
    pub fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), P2PError>> {
        ready!(futures::Sink::<bytes::Bytes>::poll_close(
            Pin::new(&mut self.inner),
            cx
        ))?;
        Poll::Ready(Ok(()))
    }

    fn queue_owed_pong(&mut self) -> Result<(), P2PError> {
        // At most one Pong waits in the write buffer: a Ping flood cannot grow it.
        if self.pong_owed && self.inner.bytes_written() >= self.pong_end && !self.disconnecting {
            self.pong_owed = false;
            self.queue_precompressed(PONG_ID, &EMPTY_LIST_SNAPPY)?;
            self.pong_end = self.inner.bytes_written() + self.inner.pending_write_bytes() as u64;
        }
        Ok(())
    }

    /// Drives the keepalive timer. The timer is re-armed lazily: frames only
    /// move the rule's deadline, and a timer that fires early is re-armed at
    /// the new one.
    fn poll_keepalive(&mut self, cx: &mut Context<'_>) -> Result<(), P2PError> {
        while self.keepalive_timer.as_mut().poll(cx).is_ready() {
            match self.keepalive.handle_timeout(Instant::now()) {
                KeepaliveAction::TimedOut => return Err(P2PError::PingTimeout),
                KeepaliveAction::SendPing => {
                    self.queue_precompressed(PING_ID, &EMPTY_LIST_SNAPPY)?
                }
                KeepaliveAction::None => {}
            }
            let next = self.keepalive.poll_timeout();
            self.keepalive_timer.as_mut().reset(next);
        }
        Ok(())
    }

    fn check_ping_payload(&mut self, payload: &[u8]) -> Result<(), P2PError> {
        let plain = self
            .snappy
            .decompress(payload, 16)
            .map_err(|_| P2PError::InvalidPingPong)?;
        // An empty list is what the spec says; tolerate an empty payload too.
        if plain.is_empty() || plain[..] == EMPTY_LIST {
            Ok(())
        } else {
            Err(P2PError::InvalidPingPong)
        }
    }

    /// Reads the next protocol message, handling base-protocol messages inline.
    pub fn poll_next_message(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<ProtocolMessage, P2PError>>> {
        if let Err(e) = self.poll_keepalive(cx) {
            return Poll::Ready(Some(Err(e)));
        }
        if self.flush_before_read {
            // Never wait for the peer while it waits for our Hello.
            if let Err(e) = ready!(self.inner.poll_write_queued(cx)) {
                return Poll::Ready(Some(Err(ethp2p_rlpx::RlpxError::from(e).into())));
            }
            self.flush_before_read = false;
        }
        loop {
            let next = match self.inner.poll_next_frame(cx) {
                Poll::Ready(next) => next,
                Poll::Pending => {
                    // Nothing arriving: an idle stream keeps no chunk of
                    // decompressed messages.
                    self.snappy.release_chunk();
                    return Poll::Pending;
                }
            };
            let mut frame = match next {
                None => return Poll::Ready(None),
                Some(Err(e)) => return Poll::Ready(Some(Err(e.into()))),
                Some(Ok(f)) => f,
            };
            self.keepalive.on_frame(Instant::now());
            let result = (|| -> Result<Option<ProtocolMessage>, P2PError> {
                let id = split_id(&mut frame)?;
                match id {
                    HELLO_ID => Err(P2PError::HelloAfterHandshake),
                    DISCONNECT_ID => {
                        let reason = decode_disconnect(Some(&mut self.snappy), &frame)
                            .map_err(P2PError::InvalidDisconnect)?;
                        Err(P2PError::Disconnected(reason))
                    }
                    PING_ID => {
                        self.check_ping_payload(&frame)?;
                        self.pong_owed = true;
                        self.queue_owed_pong()?;
                        Ok(None)
                    }
                    PONG_ID => {
                        self.check_ping_payload(&frame)?;
                        if self.keepalive.awaiting_pong() {
                            self.keepalive.on_pong(Instant::now());
                            let next = self.keepalive.poll_timeout();
                            self.keepalive_timer.as_mut().reset(next);
                        }
                        Ok(None)
                    }
                    0x04..=0x0f => Err(P2PError::UnknownReservedId(id)),
                    _ => {
                        let (protocol, rel) = self
                            .shared
                            .route(id)
                            .ok_or(P2PError::UnknownMessageId(id))?;
                        let payload = self.snappy.decompress(&frame, self.config.max_payload)?;
                        Ok(Some(ProtocolMessage {
                            protocol,
                            id: rel,
                            payload,
                        }))
                    }
                }
            })();
            match result {
                Ok(Some(msg)) => return Poll::Ready(Some(Ok(msg))),
                Ok(None) => continue,
                Err(e) => return Poll::Ready(Some(Err(e))),
            }
        }
    }
}

impl<Io: AsyncRead + AsyncWrite + Unpin> Stream for P2PStream<Io> {
    type Item = Result<ProtocolMessage, P2PError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_next_message(cx)
    }
}

/// Decodes one raw frame body the way [`P2PStream`] does, for fuzzing and tests:
/// returns the absolute id and the decompressed payload (Hello uncompressed).
pub fn decode_frame_body(body: &[u8], max_payload: usize) -> Result<(u64, BytesMut), P2PError> {
    let mut frame = BytesMut::from(body);
    let id = split_id(&mut frame)?;
    if id == HELLO_ID {
        return Ok((id, frame));
    }
    let mut s = Snappy::default();
    if id == DISCONNECT_ID {
        let r = decode_disconnect(Some(&mut s), &frame).map_err(P2PError::InvalidDisconnect)?;
        return Ok((id, BytesMut::from(&[r.code()][..])));
    }
    Ok((id, s.decompress(&frame, max_payload)?))
}
