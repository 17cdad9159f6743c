//! Running discv4 on a UDP socket another protocol reads.
//!
//! The `discv5` crate (0.12) accepts pre-created sockets
//! (`ListenConfig::FromSockets { ipv4: Some(Arc<UdpSocket>), .. }`) and runs
//! its own receive loop on them; datagrams it cannot decode — discv4 packets
//! among them — come out of its event stream as
//! `Event::UnrecognizedFrame { src_address, packet }`. It has no way to be fed
//! datagrams read by someone else, so on a shared port discv5 must own the
//! reads and discv4 gets its packets from those events.
//!
//! [`SharedSocket`] is the discv4 side of that arrangement: a
//! [`UdpTransport`] that sends straight to the shared socket and receives
//! what the embedder forwards through the paired [`FrameSender`].

use crate::driver::UdpTransport;
use bytes::Bytes;
use std::{io, net::SocketAddr, sync::Arc};
use tokio::{net::UdpSocket, sync::mpsc};

/// A transport over a socket whose reads belong to someone else.
#[derive(Debug)]
pub struct SharedSocket {
    socket: Arc<UdpSocket>,
    inbound: tokio::sync::Mutex<mpsc::Receiver<(Bytes, SocketAddr)>>,
}

/// Forwards datagrams read by the socket's owner to a [`SharedSocket`].
#[derive(Debug, Clone)]
pub struct FrameSender {
    tx: mpsc::Sender<(Bytes, SocketAddr)>,
}

impl FrameSender {
    /// Hands a datagram from `src` to discv4. Returns false when its queue
    /// is full or the driver stopped (the datagram is dropped, as a full
    /// socket buffer would drop it).
    pub fn forward(&self, packet: impl Into<Bytes>, src: SocketAddr) -> bool {
        self.tx.try_send((packet.into(), src)).is_ok()
    }
}

impl SharedSocket {
    /// A transport sending on `socket`, receiving what the returned
    /// [`FrameSender`] forwards (at most `queue` datagrams waiting).
    pub fn new(socket: Arc<UdpSocket>, queue: usize) -> (Self, FrameSender) {
        let (tx, rx) = mpsc::channel(queue.max(1));
        (
            Self {
                socket,
                inbound: tokio::sync::Mutex::new(rx),
            },
            FrameSender { tx },
        )
    }
}

impl UdpTransport for SharedSocket {
    async fn send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        self.socket.send_to(buf, target).await
    }

    async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let mut rx = self.inbound.lock().await;
        let (data, from) = rx
            .recv()
            .await
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))?;
        let n = data.len().min(buf.len());
        buf[..n].copy_from_slice(&data[..n]);
        Ok((n, from))
    }
}
