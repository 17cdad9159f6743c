//! Session-manager nodes on a [`MemoryNetwork`], each driven by its own
//! task, all recording into one trace. On a paused clock with seeded keys,
//! a seeded manager RNG and a seeded walk, a run replays exactly: the same
//! seed gives the same trace, event for event and millisecond for
//! millisecond.

use crate::{attacker::headers_request, keys::secret_key, memnet::MemoryNetwork};
use ethp2p_eth::{chain::ChainSpec, version::EthVersion};
use ethp2p_rlpx::{key::peer_id_from_secret_key, PeerId};
use ethp2p_session::{
    PeerMessage, SessionEvent, SessionManager, SessionManagerParams, SessionsConfig,
};
use ethp2p_wire::DisconnectReason;
use futures::StreamExt;
use rand::{rngs::StdRng, Rng, SeedableRng};
use std::{
    collections::BTreeMap,
    net::{Ipv4Addr, SocketAddr},
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::{sync::mpsc, time::Instant};

/// What a test asks a node to do.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Command {
    /// Dial node `index`.
    Dial(usize),
    /// Disconnect node `index` with DisconnectRequested.
    Disconnect(usize),
    /// Send node `index` a GetBlockHeaders request and record the outcome.
    Request(usize),
}

/// One node of a simulation.
#[derive(Debug, Clone)]
pub struct SimNode {
    /// Its position in [`Sim::nodes`].
    pub index: usize,
    /// Its node id.
    pub id: PeerId,
    /// Its address on the memory network.
    pub addr: SocketAddr,
    commands: mpsc::UnboundedSender<Command>,
}

impl SimNode {
    /// Asks the node to do `cmd`.
    pub fn send(&self, cmd: Command) {
        let _ = self.commands.send(cmd);
    }
}

/// A network of session managers in one runtime.
#[derive(Debug)]
pub struct Sim {
    /// The memory network they share.
    pub net: MemoryNetwork,
    /// The nodes, by index.
    pub nodes: Vec<SimNode>,
    trace: Arc<Mutex<Vec<String>>>,
}

struct Shared {
    start: Instant,
    names: BTreeMap<PeerId, usize>,
    trace: Arc<Mutex<Vec<String>>>,
    targets: Vec<(SocketAddr, PeerId)>,
}

impl Shared {
    fn name(&self, id: &PeerId) -> String {
        match self.names.get(id) {
            Some(i) => format!("n{i}"),
            None => "stranger".into(),
        }
    }

    fn record(&self, who: usize, what: String) {
        let ms = self.start.elapsed().as_millis();
        if let Ok(mut t) = self.trace.lock() {
            t.push(format!("{ms:>9} n{who} {what}"));
        }
    }

    /// A one-line description of an event, free of anything that differs
    /// between runs (wall-clock instants, OS ports).
    fn describe(&self, ev: &SessionEvent) -> String {
        match ev {
            SessionEvent::SessionEstablished { peer_id, info } => format!(
                "established {} {} {}",
                self.name(peer_id),
                info.direction.as_str(),
                info.eth_version
            ),
            SessionEvent::AlreadyConnected {
                peer_id, direction, ..
            } => format!(
                "already-connected {} {}",
                self.name(peer_id),
                direction.as_str()
            ),
            SessionEvent::ValidMessage { peer_id, message } => {
                let what = match message {
                    PeerMessage::Eth(m) => m.id().name().to_string(),
                    PeerMessage::EthRequest { request, .. } => request.id().name().to_string(),
                    PeerMessage::Protocol { name, id, .. } => format!("{name}/{id}"),
                    _ => "other".into(),
                };
                format!("message {} {what}", self.name(peer_id))
            }
            SessionEvent::BadMessage { peer_id } => format!("bad {}", self.name(peer_id)),
            SessionEvent::InvalidMessage { peer_id, error } => {
                format!("invalid {} {error}", self.name(peer_id))
            }
            SessionEvent::ProtocolBreach { peer_id } => format!("breach {}", self.name(peer_id)),
            SessionEvent::IncomingPendingSessionClosed { error, .. } => {
                format!("incoming-failed {}", error.label())
            }
            SessionEvent::OutgoingPendingSessionClosed { peer_id, error, .. } => {
                format!("outgoing-failed {} {}", self.name(peer_id), error.label())
            }
            SessionEvent::OutgoingConnectionError { peer_id, error, .. } => {
                format!("connect-failed {} {}", self.name(peer_id), error.kind())
            }
            SessionEvent::Disconnected {
                peer_id,
                reason,
                by_us,
                ..
            } => format!("disconnected {} {reason} by_us={by_us}", self.name(peer_id)),
            SessionEvent::SessionClosedOnConnectionError { peer_id, error, .. } => {
                format!("closed {} {error}", self.name(peer_id))
            }
            other => format!("{other:?}"),
        }
    }
}

/// The address of node `index` on the memory network.
pub fn node_addr(index: usize) -> SocketAddr {
    let i = index as u32 + 1;
    SocketAddr::from((Ipv4Addr::from(0x0a00_0000 | i), 30303))
}

impl Sim {
    /// Starts `n` nodes (keys, manager RNGs all derived from `seed`), each in
    /// its own task. Call inside a runtime, on a paused clock for replays.
    pub fn start(n: usize, seed: u64, config: SessionsConfig) -> Self {
        let net = MemoryNetwork::default();
        let keys: Vec<_> = (0..n)
            .map(|i| secret_key(seed.wrapping_mul(1_000_003).wrapping_add(i as u64)))
            .collect();
        let ids: Vec<_> = keys.iter().map(peer_id_from_secret_key).collect();
        let trace = Arc::new(Mutex::new(Vec::new()));
        let shared = Arc::new(Shared {
            start: Instant::now(),
            names: ids.iter().enumerate().map(|(i, id)| (*id, i)).collect(),
            trace: trace.clone(),
            targets: (0..n).map(|i| (node_addr(i), ids[i])).collect(),
        });
        let chain = ChainSpec::mainnet();
        let head = chain.genesis_head();
        let mut nodes = Vec::with_capacity(n);
        for (index, key) in keys.into_iter().enumerate() {
            let addr = node_addr(index);
            let mgr = SessionManager::new(SessionManagerParams {
                secret_key: key,
                config: config.clone(),
                status: chain.status(&head),
                client_id: format!("sim/{index}"),
                listen_port: addr.port(),
                fork_filter: chain.fork_filter(head),
                eth_versions: EthVersion::DEFAULT_ADVERTISED.to_vec(),
                extra_protocols: vec![],
                spawner: None,
                dialer: Some(net.dialer(addr)),
                rng_seed: Some(seed ^ (index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)),
            });
            let (tx, rx) = mpsc::unbounded_channel();
            let listener = net.listen(addr);
            tokio::spawn(drive(index, mgr, listener, rx, shared.clone()));
            nodes.push(SimNode {
                index,
                id: ids[index],
                addr,
                commands: tx,
            });
        }
        Self { net, nodes, trace }
    }

    /// The trace so far.
    pub fn trace(&self) -> Vec<String> {
        self.trace.lock().map(|t| t.clone()).unwrap_or_default()
    }

    /// A random walk of `steps` actions drawn from `seed`, with random pauses
    /// (virtual time on a paused clock) between them.
    pub async fn random_walk(&self, steps: usize, seed: u64) {
        let mut rng = StdRng::seed_from_u64(seed);
        let n = self.nodes.len();
        for _ in 0..steps {
            let a = rng.random_range(0..n);
            let mut b = rng.random_range(0..n);
            if b == a {
                b = (b + 1) % n;
            }
            let cmd = match rng.random_range(0..10) {
                0..=3 => Command::Dial(b),
                4..=5 => Command::Disconnect(b),
                _ => Command::Request(b),
            };
            self.nodes[a].send(cmd);
            tokio::time::sleep(Duration::from_millis(rng.random_range(0..3_000))).await;
        }
        // Let everything in flight settle.
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
}

async fn drive(
    index: usize,
    mut mgr: SessionManager,
    mut listener: crate::memnet::MemoryListener,
    mut commands: mpsc::UnboundedReceiver<Command>,
    shared: Arc<Shared>,
) {
    loop {
        tokio::select! {
            biased;
            cmd = commands.recv() => match cmd {
                Some(Command::Dial(to)) => {
                    if let Some(&(addr, id)) = shared.targets.get(to) {
                        if mgr.session(&id).is_none() {
                            let _ = mgr.dial_outbound(addr, id);
                        }
                    }
                }
                Some(Command::Disconnect(to)) => {
                    if let Some(&(_, id)) = shared.targets.get(to) {
                        mgr.disconnect(&id, DisconnectReason::DisconnectRequested);
                    }
                }
                Some(Command::Request(to)) => {
                    if let Some(&(_, id)) = shared.targets.get(to) {
                        let rx = mgr.send_request(&id, headers_request(0));
                        let shared = shared.clone();
                        tokio::spawn(async move {
                            let outcome = match rx.await {
                                Ok(Ok(m)) => format!("ok {}", m.id().name()),
                                Ok(Err(e)) => format!("err {e}"),
                                Err(_) => "dropped".into(),
                            };
                            shared.record(index, format!("request n{to}: {outcome}"));
                        });
                    }
                }
                None => return,
            },
            accepted = listener.accept() => match accepted {
                Some(a) => {
                    if mgr.on_incoming(a.stream, a.remote_addr, Some(a.local_addr)).is_err() {
                        shared.record(index, "incoming refused".into());
                    }
                }
                None => return,
            },
            Some(ev) = mgr.next() => {
                shared.record(index, shared.describe(&ev));
                // Requests are answered by dropping the responder: the session
                // sends the empty answer of the right type.
                drop(ev);
            }
        }
    }
}
