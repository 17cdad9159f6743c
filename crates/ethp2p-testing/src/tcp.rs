//! Loopback-TCP test nodes: a session manager fed by a real listener, and
//! helpers to drive several of them until an event arrives.

use ethp2p_eth::{chain::ChainSpec, version::EthVersion};
use ethp2p_rlpx::{generate_secret_key, PeerId, SecretKey};
use ethp2p_session::{SessionEvent, SessionManager, SessionManagerParams, SessionsConfig};
use ethp2p_wire::Protocol;
use futures::StreamExt;
use std::{net::SocketAddr, time::Duration};
use tokio::net::TcpListener;

/// Upper bound of every wait in these tests.
pub const T: Duration = Duration::from_secs(10);

/// A session manager with its loopback listener.
pub struct Node {
    /// The manager under test.
    pub mgr: SessionManager,
    /// Its listener on 127.0.0.1.
    pub listener: TcpListener,
    /// The listener's address.
    pub addr: SocketAddr,
    /// The manager's node id.
    pub id: PeerId,
    /// The manager's secret key.
    pub key: SecretKey,
    /// Inbound connections the manager refused (pending limit).
    pub refused_inbound: usize,
    /// Events seen while waiting for something else.
    pub backlog: std::collections::VecDeque<SessionEvent>,
}

/// How to build a [`Node`].
pub struct Opts {
    /// Session settings.
    pub config: SessionsConfig,
    /// eth versions to advertise.
    pub versions: Vec<EthVersion>,
    /// Extra sub-protocols.
    pub extra: Vec<Protocol>,
    /// The chain.
    pub chain: ChainSpec,
}

impl Default for Opts {
    fn default() -> Self {
        Self {
            config: SessionsConfig::default(),
            versions: EthVersion::DEFAULT_ADVERTISED.to_vec(),
            extra: vec![],
            chain: ChainSpec::mainnet(),
        }
    }
}

pub use ethp2p_session::Spawner;

impl Node {
    /// A node with `opts`, listening on a free loopback port.
    pub async fn new(opts: Opts) -> Self {
        Self::with_spawner(opts, None).await
    }

    /// Like [`Node::new`], with the manager's tasks run by `spawner`
    /// (`None`: `tokio::spawn`).
    pub async fn with_spawner(opts: Opts, spawner: Option<Spawner>) -> Self {
        let key = generate_secret_key();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let head = opts.chain.genesis_head();
        let mgr = SessionManager::new(SessionManagerParams {
            secret_key: key,
            config: opts.config,
            status: opts.chain.status(&head),
            client_id: "ethp2p-test".into(),
            listen_port: addr.port(),
            fork_filter: opts.chain.fork_filter(head),
            eth_versions: opts.versions,
            extra_protocols: opts.extra,
            spawner,
            dialer: None,
            rng_seed: None,
        });
        let id = mgr.local_id();
        Self {
            mgr,
            listener,
            addr,
            id,
            key,
            refused_inbound: 0,
            backlog: Default::default(),
        }
    }

    /// A node with default options.
    pub async fn default() -> Self {
        Self::new(Opts::default()).await
    }

    /// Next event, accepting inbound connections meanwhile. Cancel-safe.
    pub async fn next_event(&mut self) -> SessionEvent {
        loop {
            tokio::select! {
                r = self.listener.accept() => {
                    let (s, a) = r.unwrap();
                    let local = s.local_addr().ok();
                    if self.mgr.on_incoming(s, a, local).is_err() {
                        self.refused_inbound += 1;
                    }
                }
                ev = self.mgr.next() => return ev.unwrap(),
            }
        }
    }

    /// Dials `other`.
    pub fn dial(&mut self, other: &Node) {
        self.mgr.dial_outbound(other.addr, other.id).unwrap();
    }
}

/// Drives `nodes` until node `which` has an event for which `want` is true,
/// and returns it. Other events wait in each node's backlog, offered first
/// next time.
pub async fn wait_event(
    nodes: &mut [&mut Node],
    which: usize,
    want: impl Fn(&SessionEvent) -> bool,
) -> SessionEvent {
    if let Some(pos) = nodes[which].backlog.iter().position(&want) {
        if let Some(ev) = nodes[which].backlog.remove(pos) {
            return ev;
        }
    }
    tokio::time::timeout(T, async {
        loop {
            let (i, ev) = next_any(nodes).await;
            if i == which && want(&ev) {
                return ev;
            }
            nodes[i].backlog.push_back(ev);
        }
    })
    .await
    .expect("event did not arrive in time")
}

/// `wait_for!(nodes, which, Pattern => value)`: waits for an event matching the pattern.
#[macro_export]
macro_rules! wait_for {
    ($nodes:expr, $which:expr, $pat:pat => $body:expr) => {{
        #[allow(unused_variables)]
        let ev = $crate::tcp::wait_event($nodes, $which, |e| matches!(e, $pat)).await;
        match ev {
            $pat => $body,
            _ => unreachable!(),
        }
    }};
}

/// The next event of any node.
pub async fn next_any(nodes: &mut [&mut Node]) -> (usize, SessionEvent) {
    let futs = nodes
        .iter_mut()
        .enumerate()
        .map(|(i, n)| Box::pin(async move { (i, n.next_event().await) }));
    futures::future::select_all(futs).await.0
}

/// The peer of a `SessionEstablished` event.
pub fn established(ev: SessionEvent) -> Option<PeerId> {
    match ev {
        SessionEvent::SessionEstablished { peer_id, .. } => Some(peer_id),
        _ => None,
    }
}

/// A GetBlockHeaders request (its id is assigned by the session).
pub fn headers_request() -> ethp2p_eth::message::EthMessage {
    use ethp2p_eth::message::{BlockHashOrNumber, EthMessage, GetBlockHeaders, RequestPair};
    EthMessage::GetBlockHeaders(RequestPair {
        request_id: 0,
        message: GetBlockHeaders {
            start: BlockHashOrNumber::Number(1),
            limit: 2,
            skip: 0,
            reverse: false,
        },
    })
}

/// A spawner that counts the manager's live tasks: +1 on spawn, -1 when the
/// task ends or is dropped.
pub fn counting_spawner() -> (Spawner, tokio::sync::watch::Receiver<usize>) {
    use std::sync::Arc;
    use tokio::sync::watch;
    struct Live(Arc<watch::Sender<usize>>);
    impl Drop for Live {
        fn drop(&mut self) {
            self.0.send_modify(|n| *n -= 1);
        }
    }
    let (tx, rx) = watch::channel(0usize);
    let tx = Arc::new(tx);
    let spawner: Spawner = Arc::new(move |fut| {
        tx.send_modify(|n| *n += 1);
        let live = Live(tx.clone());
        tokio::spawn(async move {
            let _live = live;
            fut.await;
        });
    });
    (spawner, rx)
}
