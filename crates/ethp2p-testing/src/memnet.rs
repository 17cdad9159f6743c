//! An in-memory network: listeners keyed by socket address and a dialer that
//! connects to them over `tokio::io::duplex` pipes.
//!
//! A pipe's buffer stands in for the kernel's socket buffers: once it is
//! full, the writer's `poll_write` is pending, exactly the TCP flow control a
//! peer that never reads exerts.

use ethp2p_session::{DialedStream, Dialer};
use futures::future::BoxFuture;
use std::{
    collections::BTreeMap,
    io,
    net::SocketAddr,
    sync::{Arc, Mutex},
};
use tokio::{io::DuplexStream, sync::mpsc};

/// Bytes each direction of a pipe buffers (a small socket buffer).
pub const DEFAULT_PIPE_BUFFER: usize = 64 * 1024;

/// A connection a [`MemoryListener`] accepted.
#[derive(Debug)]
pub struct Accepted {
    /// Our end of the pipe.
    pub stream: DuplexStream,
    /// The dialer's address.
    pub remote_addr: SocketAddr,
    /// The listener's address.
    pub local_addr: SocketAddr,
}

type Inboxes = Arc<Mutex<BTreeMap<SocketAddr, mpsc::UnboundedSender<Accepted>>>>;

/// The network: cloneable, shared by every node of one simulation.
#[derive(Debug, Clone)]
pub struct MemoryNetwork {
    listeners: Inboxes,
    pipe_buffer: usize,
}

impl Default for MemoryNetwork {
    fn default() -> Self {
        Self::new(DEFAULT_PIPE_BUFFER)
    }
}

impl MemoryNetwork {
    /// A network whose pipes buffer `pipe_buffer` bytes each way.
    pub fn new(pipe_buffer: usize) -> Self {
        Self {
            listeners: Default::default(),
            pipe_buffer,
        }
    }

    /// Listens at `addr` (replacing any earlier listener there).
    pub fn listen(&self, addr: SocketAddr) -> MemoryListener {
        let (tx, rx) = mpsc::unbounded_channel();
        if let Ok(mut l) = self.listeners.lock() {
            l.insert(addr, tx);
        }
        MemoryListener { addr, rx }
    }

    /// Connects from `from` to the listener at `to`; `ConnectionRefused` if
    /// none listens there.
    pub fn connect(&self, from: SocketAddr, to: SocketAddr) -> io::Result<DuplexStream> {
        let (ours, theirs) = tokio::io::duplex(self.pipe_buffer);
        let refused = || io::Error::from(io::ErrorKind::ConnectionRefused);
        let listeners = self.listeners.lock().map_err(|_| refused())?;
        let inbox = listeners.get(&to).ok_or_else(refused)?;
        inbox
            .send(Accepted {
                stream: theirs,
                remote_addr: from,
                local_addr: to,
            })
            .map_err(|_| refused())?;
        Ok(ours)
    }

    /// A [`Dialer`] for a node at `local_addr`.
    pub fn dialer(&self, local_addr: SocketAddr) -> Arc<dyn Dialer> {
        Arc::new(MemoryDialer {
            net: self.clone(),
            local_addr,
        })
    }
}

/// Accepts connections made to one address.
#[derive(Debug)]
pub struct MemoryListener {
    addr: SocketAddr,
    rx: mpsc::UnboundedReceiver<Accepted>,
}

impl MemoryListener {
    /// The address it listens at.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The next connection; `None` once the network is gone.
    pub async fn accept(&mut self) -> Option<Accepted> {
        self.rx.recv().await
    }

    /// Spawns a task handing every accepted connection to `sink`, until the
    /// network is gone or `sink` answers false (its owner stopped).
    pub fn spawn_forward<F, Fut>(mut self, mut sink: F)
    where
        F: FnMut(Accepted) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = bool> + Send,
    {
        tokio::spawn(async move {
            while let Some(a) = self.accept().await {
                if !sink(a).await {
                    return;
                }
            }
        });
    }
}

struct MemoryDialer {
    net: MemoryNetwork,
    local_addr: SocketAddr,
}

impl Dialer for MemoryDialer {
    fn dial(&self, addr: SocketAddr) -> BoxFuture<'static, io::Result<DialedStream>> {
        let result = self.net.connect(self.local_addr, addr);
        let local_addr = Some(self.local_addr);
        Box::pin(async move {
            Ok(DialedStream {
                stream: Box::new(result?),
                local_addr,
            })
        })
    }
}
