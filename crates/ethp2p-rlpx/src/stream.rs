//! The tokio adapter: runs the handshake over any `AsyncRead + AsyncWrite`
//! under a timeout, then moves frames through the [`FrameCodec`].
//!
//! [`RlpxStream`] owns its read and write buffers so callers can queue a frame
//! from several slices without concatenating them first, and so idle
//! connections can give spare buffer memory back.

use crate::{
    codec::FrameCodec,
    error::{HandshakeError, RlpxError},
    handshake::{Initiator, Recipient},
    key::{peer_id_from_secret_key, PeerId},
    secrets::Secrets,
};
use bytes::{Bytes, BytesMut};
use futures::{Sink, Stream};
use secp256k1::SecretKey;
use std::{
    io,
    pin::Pin,
    task::{ready, Context, Poll},
    time::Duration,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_util::io::poll_read_buf;

/// How much the read buffer grows by when it is full, at first.
const READ_CHUNK: usize = 4 * 1024;
/// The most a single read asks for: busy streams double their read size up to this.
const MAX_READ_CHUNK: usize = 64 * 1024;
/// `poll_ready` flushes first once this much is queued for writing.
pub const WRITE_BACKPRESSURE: usize = 128 * 1024;
/// Spare capacity above which an empty buffer is released by [`RlpxStream::shrink_buffers`].
const SHRINK_ABOVE: usize = 64 * 1024;

/// An authenticated RLPx connection: a `Stream` of received frame bodies and a
/// `Sink` of frame bodies to send.
pub struct RlpxStream<Io> {
    io: Io,
    /// Boxed: the cipher and MAC states are about 5 KiB, and a stream moves
    /// through several futures between the handshake and its session task.
    codec: Box<FrameCodec>,
    rbuf: BytesMut,
    wbuf: BytesMut,
    remote_id: PeerId,
    eof: bool,
    written: u64,
    /// Spare room to offer the next read; grows while reads fill it.
    read_hint: usize,
}

impl<Io> std::fmt::Debug for RlpxStream<Io> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RlpxStream")
            .field("remote_id", &self.remote_id)
            .finish_non_exhaustive()
    }
}

impl<Io: AsyncRead + AsyncWrite + Unpin> RlpxStream<Io> {
    /// Wraps `io` after a completed handshake; `leftover` are bytes already
    /// read past the handshake message.
    pub fn new(io: Io, secrets: &Secrets, leftover: BytesMut) -> Self {
        Self {
            io,
            codec: Box::new(FrameCodec::new(secrets)),
            rbuf: leftover,
            wbuf: BytesMut::new(),
            remote_id: secrets.remote_id,
            eof: false,
            written: 0,
            read_hint: READ_CHUNK,
        }
    }

    /// The remote node's identity, proven by the handshake.
    pub fn remote_id(&self) -> PeerId {
        self.remote_id
    }

    /// The frame codec (e.g. to change the frame size limit).
    pub fn codec_mut(&mut self) -> &mut FrameCodec {
        &mut self.codec
    }

    /// The underlying transport.
    pub fn get_ref(&self) -> &Io {
        &self.io
    }

    /// The underlying transport, mutably (writing to it corrupts the stream).
    pub fn get_mut(&mut self) -> &mut Io {
        &mut self.io
    }

    /// Bytes written to the socket since the handshake, counting an ack left
    /// queued by [`accept_unflushed`] (progress of a slow reader).
    pub fn bytes_written(&self) -> u64 {
        self.written
    }

    /// Bytes queued but not yet written to the socket.
    pub fn pending_write_bytes(&self) -> usize {
        self.wbuf.len()
    }

    /// Current capacity of the read and write buffers (memory held).
    pub fn buffer_capacity(&self) -> usize {
        self.rbuf.capacity() + self.wbuf.capacity()
    }

    /// Queues one frame whose body is the concatenation of `parts`, without flushing.
    pub fn queue_frame(&mut self, parts: &[&[u8]]) -> Result<(), RlpxError> {
        Ok(self.codec.encode_parts(parts, &mut self.wbuf)?)
    }

    /// Releases every empty buffer, whatever its size (e.g. once a handshake is
    /// over and the connection may sit idle); the next read or write allocates again.
    pub fn release_buffers(&mut self) {
        if self.rbuf.is_empty() {
            self.rbuf = BytesMut::new();
            self.read_hint = READ_CHUNK;
        }
        if self.wbuf.is_empty() {
            self.wbuf = BytesMut::new();
        }
    }

    /// Releases buffer memory no longer needed (empty buffers with a large capacity).
    pub fn shrink_buffers(&mut self) {
        if self.rbuf.is_empty() && self.rbuf.capacity() > SHRINK_ABOVE {
            self.rbuf = BytesMut::new();
            self.read_hint = READ_CHUNK;
        }
        if self.wbuf.is_empty() && self.wbuf.capacity() > SHRINK_ABOVE {
            self.wbuf = BytesMut::new();
        }
    }

    /// Writes queued bytes until the buffer is empty (does not flush the transport).
    pub fn poll_write_queued(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.wbuf.is_empty() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.wbuf))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            let _ = self.wbuf.split_to(n);
            self.written += n as u64;
        }
        // Reuse the allocation from the start.
        self.wbuf.clear();
        Poll::Ready(Ok(()))
    }

    /// The next frame if it is already buffered (no I/O): e.g. the peer's
    /// Hello that arrived in the same read as the ack.
    pub fn try_buffered_frame(&mut self) -> Option<Result<BytesMut, RlpxError>> {
        self.codec
            .decode_frame(&mut self.rbuf)
            .map_err(RlpxError::from)
            .transpose()
    }

    /// Reads the next frame.
    pub fn poll_next_frame(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<BytesMut, RlpxError>>> {
        loop {
            match self.codec.decode_frame(&mut self.rbuf) {
                Ok(Some(frame)) => return Poll::Ready(Some(Ok(frame))),
                Ok(None) => {}
                Err(e) => return Poll::Ready(Some(Err(e.into()))),
            }
            if self.eof {
                if self.rbuf.is_empty() {
                    return Poll::Ready(None);
                }
                self.rbuf.clear();
                return Poll::Ready(Some(Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed mid-frame",
                )
                .into())));
            }
            if self.rbuf.capacity() - self.rbuf.len() < self.read_hint / 2 {
                self.rbuf.reserve(self.read_hint);
            }
            let spare = self.rbuf.capacity() - self.rbuf.len();
            let read = match poll_read_buf(Pin::new(&mut self.io), cx, &mut self.rbuf) {
                Poll::Ready(r) => r,
                Poll::Pending => {
                    // Nothing buffered and nothing arriving: an idle connection
                    // holds no read buffer (the next read allocates one of the
                    // size busy reads grew to). Frames already handed out keep
                    // their own share of the old allocation alive.
                    if self.rbuf.is_empty() {
                        self.rbuf = BytesMut::new();
                    }
                    return Poll::Pending;
                }
            };
            match read {
                Ok(0) => self.eof = true,
                // A read that filled the room offered: more is waiting, offer more next time.
                Ok(n) if n >= spare => self.read_hint = (self.read_hint * 2).min(MAX_READ_CHUNK),
                Ok(_) => {}
                Err(e) => return Poll::Ready(Some(Err(e.into()))),
            }
        }
    }
}

impl<Io: AsyncRead + AsyncWrite + Unpin> Stream for RlpxStream<Io> {
    type Item = Result<BytesMut, RlpxError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_next_frame(cx)
    }
}

impl<Io: AsyncRead + AsyncWrite + Unpin> Sink<Bytes> for RlpxStream<Io> {
    type Error = RlpxError;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let this = self.get_mut();
        if this.wbuf.len() >= WRITE_BACKPRESSURE {
            ready!(this.poll_write_queued(cx))?;
        }
        Poll::Ready(Ok(()))
    }

    fn start_send(self: Pin<&mut Self>, item: Bytes) -> Result<(), Self::Error> {
        self.get_mut().queue_frame(&[&item])
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let this = self.get_mut();
        ready!(this.poll_write_queued(cx))?;
        Poll::Ready(Ok(ready!(Pin::new(&mut this.io).poll_flush(cx))?))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let this = self.get_mut();
        ready!(this.poll_write_queued(cx))?;
        Poll::Ready(Ok(ready!(Pin::new(&mut this.io).poll_shutdown(cx))?))
    }
}

async fn read_more<Io: AsyncRead + Unpin>(
    io: &mut Io,
    buf: &mut BytesMut,
) -> Result<(), RlpxError> {
    buf.reserve(READ_CHUNK);
    if io.read_buf(buf).await? == 0 {
        return Err(HandshakeError::UnexpectedEof.into());
    }
    Ok(())
}

async fn with_timeout<T>(
    timeout: Duration,
    fut: impl std::future::Future<Output = Result<T, RlpxError>>,
) -> Result<T, RlpxError> {
    tokio::time::timeout(timeout, fut)
        .await
        .map_err(|_| RlpxError::Timeout)?
}

/// Runs the handshake as initiator towards `remote_id` and returns the framed stream.
pub async fn connect<Io: AsyncRead + AsyncWrite + Unpin>(
    io: Io,
    secret: &SecretKey,
    remote_id: PeerId,
    timeout: Duration,
) -> Result<RlpxStream<Io>, RlpxError> {
    connect_with_id(
        io,
        secret,
        peer_id_from_secret_key(secret),
        remote_id,
        timeout,
    )
    .await
}

/// Like [`connect`], with our own id given by a caller that derived it once
/// (see [`Initiator::with_id`]).
pub async fn connect_with_id<Io: AsyncRead + AsyncWrite + Unpin>(
    io: Io,
    secret: &SecretKey,
    local_id: PeerId,
    remote_id: PeerId,
    timeout: Duration,
) -> Result<RlpxStream<Io>, RlpxError> {
    let initiator = Initiator::with_id(secret, local_id, remote_id)?;
    connect_initiator(io, initiator, timeout).await
}

/// Like [`connect_with_id`], drawing the handshake's randomness (ephemeral
/// key, nonce, ECIES key, IV, padding) from `rng`: with a seeded RNG the
/// bytes on the wire are reproducible.
pub async fn connect_with_rng<Io: AsyncRead + AsyncWrite + Unpin>(
    io: Io,
    secret: &SecretKey,
    local_id: PeerId,
    remote_id: PeerId,
    timeout: Duration,
    rng: &mut (dyn rand::RngCore + Send),
) -> Result<RlpxStream<Io>, RlpxError> {
    let initiator = Initiator::with_rng(secret, local_id, remote_id, rng)?;
    connect_initiator(io, initiator, timeout).await
}

async fn connect_initiator<Io: AsyncRead + AsyncWrite + Unpin>(
    mut io: Io,
    initiator: Initiator,
    timeout: Duration,
) -> Result<RlpxStream<Io>, RlpxError> {
    with_timeout(timeout, async move {
        io.write_all(initiator.auth_message()).await?;
        io.flush().await?;
        let mut buf = BytesMut::new();
        loop {
            if let Some(secrets) = initiator.read_ack(&mut buf)? {
                return Ok(RlpxStream::new(io, &secrets, buf));
            }
            read_more(&mut io, &mut buf).await?;
        }
    })
    .await
}

/// Runs the handshake as recipient and returns the framed stream; the remote's
/// identity is [`RlpxStream::remote_id`].
pub async fn accept<Io: AsyncRead + AsyncWrite + Unpin>(
    io: Io,
    secret: &SecretKey,
    timeout: Duration,
) -> Result<RlpxStream<Io>, RlpxError> {
    let mut stream = accept_unflushed(io, secret, timeout).await?;
    with_timeout(timeout, async {
        futures::future::poll_fn(|cx| stream.poll_write_queued(cx)).await?;
        stream.io.flush().await?;
        Ok(())
    })
    .await?;
    Ok(stream)
}

/// Like [`accept`], but leaves the ack queued in the returned stream instead
/// of writing it: it goes out with the caller's first flush, in the same
/// write as the first frame (the Hello), one write system call less per
/// inbound connection. The initiator hears nothing until the caller flushes.
pub async fn accept_unflushed<Io: AsyncRead + AsyncWrite + Unpin>(
    io: Io,
    secret: &SecretKey,
    timeout: Duration,
) -> Result<RlpxStream<Io>, RlpxError> {
    accept_recipient(io, Recipient::new(secret), timeout).await
}

/// Like [`accept_unflushed`], drawing the ack's randomness from `rng`: with
/// a seeded RNG the bytes on the wire are reproducible.
pub async fn accept_unflushed_with_rng<Io: AsyncRead + AsyncWrite + Unpin>(
    io: Io,
    secret: &SecretKey,
    timeout: Duration,
    rng: &mut (dyn rand::RngCore + Send),
) -> Result<RlpxStream<Io>, RlpxError> {
    accept_recipient(io, Recipient::with_rng(secret, rng), timeout).await
}

async fn accept_recipient<Io: AsyncRead + AsyncWrite + Unpin>(
    mut io: Io,
    recipient: Recipient,
    timeout: Duration,
) -> Result<RlpxStream<Io>, RlpxError> {
    with_timeout(timeout, async move {
        let mut buf = BytesMut::new();
        loop {
            if let Some((ack, secrets)) = recipient.read_auth(&mut buf)? {
                let mut stream = RlpxStream::new(io, &secrets, buf);
                stream.wbuf.extend_from_slice(&ack);
                return Ok(stream);
            }
            read_more(&mut io, &mut buf).await?;
        }
    })
    .await
}
