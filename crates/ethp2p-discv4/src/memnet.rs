//! An in-memory UDP network for simulations: sockets bound to made-up
//! addresses exchange datagrams through bounded queues, with UDP's semantics
//! (no connection, a full queue or an unbound address drops the datagram).

use crate::driver::UdpTransport;
use bytes::Bytes;
use std::{
    collections::HashMap,
    io,
    net::SocketAddr,
    sync::{Arc, Mutex},
};
use tokio::sync::mpsc;

type Inbox = mpsc::Sender<(Bytes, SocketAddr)>;

/// The network: a map from bound addresses to their socket's queue.
#[derive(Debug, Clone)]
pub struct MemNetwork {
    sockets: Arc<Mutex<HashMap<SocketAddr, Inbox>>>,
    queue: usize,
}

impl Default for MemNetwork {
    fn default() -> Self {
        Self::new(1024)
    }
}

impl MemNetwork {
    /// A network whose sockets queue up to `queue` datagrams each.
    pub fn new(queue: usize) -> Self {
        Self {
            sockets: Arc::default(),
            queue: queue.max(1),
        }
    }

    /// Binds a socket at `addr`.
    pub fn bind(&self, addr: SocketAddr) -> io::Result<MemSocket> {
        let mut sockets = self
            .sockets
            .lock()
            .map_err(|_| io::Error::other("network lock poisoned"))?;
        if sockets.contains_key(&addr) {
            return Err(io::ErrorKind::AddrInUse.into());
        }
        let (tx, rx) = mpsc::channel(self.queue);
        sockets.insert(addr, tx);
        Ok(MemSocket {
            addr,
            net: self.clone(),
            rx: tokio::sync::Mutex::new(rx),
        })
    }

    fn route(&self, from: SocketAddr, to: SocketAddr, data: &[u8]) {
        let inbox = self.sockets.lock().ok().and_then(|s| s.get(&to).cloned());
        if let Some(inbox) = inbox {
            // A full queue drops the datagram, as a real socket buffer would.
            let _ = inbox.try_send((Bytes::copy_from_slice(data), from));
        }
    }
}

/// A socket of a [`MemNetwork`]; unbound when dropped.
#[derive(Debug)]
pub struct MemSocket {
    addr: SocketAddr,
    net: MemNetwork,
    rx: tokio::sync::Mutex<mpsc::Receiver<(Bytes, SocketAddr)>>,
}

impl MemSocket {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for MemSocket {
    fn drop(&mut self) {
        if let Ok(mut s) = self.net.sockets.lock() {
            s.remove(&self.addr);
        }
    }
}

impl UdpTransport for MemSocket {
    async fn send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        self.net.route(self.addr, target, buf);
        Ok(buf.len())
    }

    async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let mut rx = self.rx.lock().await;
        let (data, from) = rx
            .recv()
            .await
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))?;
        let n = data.len().min(buf.len());
        buf[..n].copy_from_slice(&data[..n]);
        Ok((n, from))
    }
}
