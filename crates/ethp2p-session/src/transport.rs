//! What sessions run over: any `AsyncRead + AsyncWrite` stream, and a
//! [`Dialer`] that opens outbound ones (TCP by default).

use futures::future::BoxFuture;
use std::{io, net::SocketAddr};
use tokio::io::{AsyncRead, AsyncWrite};

/// A byte stream a session can run over: TCP, an in-memory duplex, a TLS or
/// simulated socket.
pub trait Transport: AsyncRead + AsyncWrite + Unpin + Send + 'static {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Transport for T {}

/// A type-erased [`Transport`]: sessions over different transports share one
/// manager.
pub type BoxedTransport = Box<dyn Transport>;

/// An outbound connection a [`Dialer`] opened.
pub struct DialedStream {
    /// The stream.
    pub stream: BoxedTransport,
    /// Our side of it, if the transport has addresses.
    pub local_addr: Option<SocketAddr>,
}

impl std::fmt::Debug for DialedStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DialedStream")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

/// Opens outbound connections for the session manager.
pub trait Dialer: Send + Sync + 'static {
    /// Connects to `addr`. The pending session's timeout bounds the call.
    fn dial(&self, addr: SocketAddr) -> BoxFuture<'static, io::Result<DialedStream>>;
}

/// Dials over TCP with `TCP_NODELAY` set (RLPx frames are small and latency
/// matters more than coalescing).
#[derive(Debug, Clone, Copy, Default)]
pub struct TcpDialer;

impl Dialer for TcpDialer {
    fn dial(&self, addr: SocketAddr) -> BoxFuture<'static, io::Result<DialedStream>> {
        Box::pin(async move {
            let stream = tokio::net::TcpStream::connect(addr).await?;
            let _ = stream.set_nodelay(true);
            let local_addr = stream.local_addr().ok();
            Ok(DialedStream {
                stream: Box::new(stream),
                local_addr,
            })
        })
    }
}
