//! The tokio driver: one task that owns a [`Discv4`] engine and a UDP
//! transport, feeds it datagrams, commands and the time, sends what it
//! queues, and forwards its events to a bounded channel.
//!
//! [`spawn`] returns a cloneable [`Discv4Handle`] and the event receiver. The
//! task ends when every handle is dropped.

use crate::{
    core::{Discv4, Discv4Event, Discv4Stats, NodeFilter},
    enr::{Enr, SeqStore},
    lookup::LookupId,
    packet::MAX_PACKET_SIZE,
};
use ethp2p_eth::forkid::ForkId;
use ethp2p_rlpx::{NodeRecord, PeerId};
use std::{collections::HashMap, future::Future, io, net::IpAddr, net::SocketAddr, time::Duration};
use tokio::{
    sync::{mpsc, oneshot},
    task::JoinHandle,
    time::Instant,
};
use tracing::{debug, warn};

/// A datagram socket the driver can run on.
pub trait UdpTransport: Send + Sync + 'static {
    /// Sends one datagram to `target`.
    fn send_to(
        &self,
        buf: &[u8],
        target: SocketAddr,
    ) -> impl Future<Output = io::Result<usize>> + Send;

    /// Receives one datagram into `buf` (truncated to its length). Must be
    /// cancel-safe: the driver drops it when another branch wins.
    fn recv_from(
        &self,
        buf: &mut [u8],
    ) -> impl Future<Output = io::Result<(usize, SocketAddr)>> + Send;
}

impl UdpTransport for tokio::net::UdpSocket {
    fn send_to(
        &self,
        buf: &[u8],
        target: SocketAddr,
    ) -> impl Future<Output = io::Result<usize>> + Send {
        tokio::net::UdpSocket::send_to(self, buf, target)
    }

    fn recv_from(
        &self,
        buf: &mut [u8],
    ) -> impl Future<Output = io::Result<(usize, SocketAddr)>> + Send {
        tokio::net::UdpSocket::recv_from(self, buf)
    }
}

/// Why a handle call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Discv4Error {
    /// The driver task has ended.
    #[error("discv4 service stopped")]
    Stopped,
    /// Too many lookups are running.
    #[error("too many lookups in progress")]
    TooManyLookups,
    /// The local record could not be re-signed.
    #[error("local ENR update failed: {0}")]
    Enr(String),
}

/// Driver settings.
#[derive(Debug, Clone)]
pub struct DriverConfig {
    /// Capacity of the event channel; events are dropped (with a warning)
    /// while it is full.
    pub event_capacity: usize,
    /// Capacity of the command channel.
    pub command_capacity: usize,
}

impl Default for DriverConfig {
    fn default() -> Self {
        Self {
            event_capacity: 1024,
            command_capacity: 256,
        }
    }
}

enum Command {
    Lookup {
        target: PeerId,
        reply: oneshot::Sender<Result<Vec<NodeRecord>, Discv4Error>>,
    },
    AddBootnode(NodeRecord),
    AddNode(NodeRecord),
    BanNode(PeerId, Option<Duration>),
    BanIp(IpAddr, Option<Duration>),
    Table(oneshot::Sender<Vec<NodeRecord>>),
    LocalEnr(oneshot::Sender<Enr>),
    LocalRecord(oneshot::Sender<NodeRecord>),
    SetForkId(ForkId, oneshot::Sender<Result<(), Discv4Error>>),
    SetExternalIp(IpAddr, oneshot::Sender<Result<(), Discv4Error>>),
    SetNodeFilter(Box<dyn NodeFilter>),
    Stats(oneshot::Sender<Discv4Stats>),
    PredictedEndpoint(oneshot::Sender<Option<SocketAddr>>),
}

/// A cloneable handle to a running discv4 service.
#[derive(Debug, Clone)]
pub struct Discv4Handle {
    commands: mpsc::Sender<Command>,
}

impl Discv4Handle {
    async fn send(&self, c: Command) -> Result<(), Discv4Error> {
        self.commands
            .send(c)
            .await
            .map_err(|_| Discv4Error::Stopped)
    }

    /// Runs a lookup for `target`; the up to 16 closest nodes that answered.
    pub async fn lookup(&self, target: PeerId) -> Result<Vec<NodeRecord>, Discv4Error> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::Lookup { target, reply }).await?;
        rx.await.map_err(|_| Discv4Error::Stopped)?
    }

    /// Adds a bootnode (pinged now, and used as a lookup seed while the table
    /// is empty).
    pub async fn add_bootnode(&self, record: NodeRecord) -> Result<(), Discv4Error> {
        self.send(Command::AddBootnode(record)).await
    }

    /// Pings a node; it enters the table if it answers.
    pub async fn add_node(&self, record: NodeRecord) -> Result<(), Discv4Error> {
        self.send(Command::AddNode(record)).await
    }

    /// Bans a node id, for `duration` or for good.
    pub async fn ban_node(
        &self,
        id: PeerId,
        duration: Option<Duration>,
    ) -> Result<(), Discv4Error> {
        self.send(Command::BanNode(id, duration)).await
    }

    /// Bans an IP, for `duration` or for good.
    pub async fn ban_ip(&self, ip: IpAddr, duration: Option<Duration>) -> Result<(), Discv4Error> {
        self.send(Command::BanIp(ip, duration)).await
    }

    /// A snapshot of the table's entries.
    pub async fn table(&self) -> Result<Vec<NodeRecord>, Discv4Error> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Table(tx)).await?;
        rx.await.map_err(|_| Discv4Error::Stopped)
    }

    /// The current local ENR.
    pub async fn local_enr(&self) -> Result<Enr, Discv4Error> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::LocalEnr(tx)).await?;
        rx.await.map_err(|_| Discv4Error::Stopped)
    }

    /// The local `enode://` record.
    pub async fn local_record(&self) -> Result<NodeRecord, Discv4Error> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::LocalRecord(tx)).await?;
        rx.await.map_err(|_| Discv4Error::Stopped)
    }

    /// Sets the local ENR's fork id (re-signed and the new seq persisted when
    /// it changed). Call it whenever the chain head crosses a fork.
    pub async fn set_fork_id(&self, fork_id: ForkId) -> Result<(), Discv4Error> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::SetForkId(fork_id, tx)).await?;
        rx.await.map_err(|_| Discv4Error::Stopped)?
    }

    /// Replaces the filter deciding which nodes are reported (e.g. a
    /// [`crate::ForkIdFilter`] rebuilt for a new head).
    pub async fn set_node_filter(&self, filter: Box<dyn NodeFilter>) -> Result<(), Discv4Error> {
        self.send(Command::SetNodeFilter(filter)).await
    }

    /// Sets the announced IP (ENR `ip`/`ip6` and Ping `from`), e.g. once the
    /// external (NAT) address is known; re-signed and persisted like
    /// [`Self::set_fork_id`].
    pub async fn set_external_ip(&self, ip: IpAddr) -> Result<(), Discv4Error> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::SetExternalIp(ip, tx)).await?;
        rx.await.map_err(|_| Discv4Error::Stopped)?
    }
}

impl Discv4Handle {
    /// The engine's running totals (packets by type, lookups, table size,
    /// bonded nodes).
    pub async fn stats(&self) -> Result<Discv4Stats, Discv4Error> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Stats(tx)).await?;
        rx.await.map_err(|_| Discv4Error::Stopped)
    }

    /// The external endpoint predicted from Pongs, if a majority agrees
    /// (see [`crate::endpoint`]).
    pub async fn predicted_endpoint(&self) -> Result<Option<SocketAddr>, Discv4Error> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::PredictedEndpoint(tx)).await?;
        rx.await.map_err(|_| Discv4Error::Stopped)
    }
}

/// The time since the UNIX epoch by the system clock (what
/// [`Discv4::new`] needs next to `Instant::now()` outside simulations).
pub fn unix_time_now() -> Duration {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
}

/// Builds the engine from `params` on the current clocks and spawns its
/// driver (see [`spawn`]).
pub fn start<T: UdpTransport>(
    params: crate::core::Discv4Params,
    transport: T,
    seq_store: Option<Box<dyn SeqStore>>,
    config: DriverConfig,
) -> Result<(Discv4Handle, mpsc::Receiver<Discv4Event>, JoinHandle<()>), crate::enr::EnrError> {
    let engine = Discv4::new(params, Instant::now(), unix_time_now())?;
    Ok(spawn(engine, transport, seq_store, config))
}

fn persist_seq(
    engine: &Discv4,
    changed: Result<bool, crate::enr::EnrError>,
    seq_store: &mut Option<Box<dyn SeqStore>>,
) -> Result<(), Discv4Error> {
    match changed {
        Ok(true) => {
            if let Some(store) = seq_store.as_mut() {
                if let Err(e) = store.store(engine.local_enr().seq()) {
                    warn!(target: "discv4", error = %e, "could not persist ENR seq");
                }
            }
            Ok(())
        }
        Ok(false) => Ok(()),
        Err(e) => Err(Discv4Error::Enr(e.to_string())),
    }
}

/// Starts the driver task on the current tokio runtime.
///
/// `seq_store`, if given, receives the local ENR's seq whenever it changes.
pub fn spawn<T: UdpTransport>(
    engine: Discv4,
    transport: T,
    seq_store: Option<Box<dyn SeqStore>>,
    config: DriverConfig,
) -> (Discv4Handle, mpsc::Receiver<Discv4Event>, JoinHandle<()>) {
    let (cmd_tx, cmd_rx) = mpsc::channel(config.command_capacity.max(1));
    let (ev_tx, ev_rx) = mpsc::channel(config.event_capacity.max(1));
    let task = tokio::spawn(run(engine, transport, cmd_rx, ev_tx, seq_store));
    (Discv4Handle { commands: cmd_tx }, ev_rx, task)
}

async fn run<T: UdpTransport>(
    mut engine: Discv4,
    transport: T,
    mut commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<Discv4Event>,
    mut seq_store: Option<Box<dyn SeqStore>>,
) {
    // One byte more than the limit, so oversized datagrams are seen as such.
    let mut buf = vec![0u8; MAX_PACKET_SIZE + 1];
    let mut lookups: HashMap<LookupId, oneshot::Sender<Result<Vec<NodeRecord>, Discv4Error>>> =
        HashMap::new();
    let mut dropped_events: u64 = 0;
    // Set when the transport reports it will never deliver again (a
    // `SharedSocket` whose `FrameSender`s are gone): the task keeps serving
    // commands and timers without spinning on the dead receiver.
    let mut recv_closed = false;
    loop {
        while let Some((to, bytes)) = engine.poll_transmit() {
            if let Err(e) = transport.send_to(&bytes, to).await {
                debug!(target: "discv4", %to, error = %e, "send failed");
            }
        }
        while let Some(event) = engine.poll_event() {
            if let Discv4Event::LookupFinished { id, nodes, .. } = &event {
                if let Some(reply) = lookups.remove(id) {
                    let _ = reply.send(Ok(nodes.clone()));
                }
            }
            match events.try_send(event) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    dropped_events += 1;
                    if dropped_events.is_power_of_two() {
                        warn!(target: "discv4", dropped_events, "event channel full, events dropped");
                    }
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {}
            }
        }
        let deadline = engine.poll_timeout();
        tokio::select! {
            // Fixed branch order keeps simulations deterministic.
            biased;
            cmd = commands.recv() => {
                let Some(cmd) = cmd else { break };
                let now = Instant::now();
                match cmd {
                    Command::Lookup { target, reply } => match engine.lookup(now, target) {
                        Ok(id) => {
                            lookups.insert(id, reply);
                        }
                        Err(_) => {
                            let _ = reply.send(Err(Discv4Error::TooManyLookups));
                        }
                    },
                    Command::AddBootnode(r) => engine.add_bootnode(now, r),
                    Command::AddNode(r) => engine.add_node(now, r),
                    Command::BanNode(id, d) => engine.ban_node(now, id, d),
                    Command::BanIp(ip, d) => engine.ban_ip(now, ip, d),
                    Command::Table(tx) => {
                        let _ = tx.send(engine.table().records());
                    }
                    Command::LocalEnr(tx) => {
                        let _ = tx.send(engine.local_enr().clone());
                    }
                    Command::LocalRecord(tx) => {
                        let _ = tx.send(engine.local_record());
                    }
                    Command::SetForkId(fork_id, tx) => {
                        let changed = engine.set_fork_id(fork_id);
                        let _ = tx.send(persist_seq(&engine, changed, &mut seq_store));
                    }
                    Command::SetNodeFilter(filter) => engine.set_node_filter(filter),
                    Command::Stats(tx) => {
                        let _ = tx.send(engine.stats(now));
                    }
                    Command::PredictedEndpoint(tx) => {
                        let _ = tx.send(engine.predicted_endpoint());
                    }
                    Command::SetExternalIp(ip, tx) => {
                        let changed = engine.set_external_ip(ip);
                        let _ = tx.send(persist_seq(&engine, changed, &mut seq_store));
                    }
                }
            }
            received = transport.recv_from(&mut buf), if !recv_closed => match received {
                Ok((n, src)) => engine.handle_packet(Instant::now(), src, &buf[..n.min(buf.len())]),
                Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                    warn!(target: "discv4", "transport closed, no more datagrams will arrive");
                    recv_closed = true;
                }
                Err(e) => debug!(target: "discv4", error = %e, "receive failed"),
            },
            _ = sleep_until(deadline) => {}
        }
        engine.handle_timeout(Instant::now());
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
