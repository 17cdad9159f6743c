//! Stress scenarios over TCP loopback: a 50-node mesh, back-pressure against
//! an owner that stops polling, a seeded random walk of dials, aborts,
//! disconnects and dropped connections checked against each manager's own
//! events, and dropping a manager.
//!
//! Nodes are driven by [`drive`], which polls every node's listener and
//! manager from one task and hands what they yield to an [`Observer`]. A node
//! whose poll returned `Pending` has reported every change of its counters,
//! so that is where the observers compare counters with events.

use ethp2p_eth::message::{EthMessage, RawList};
use ethp2p_rlpx::{generate_secret_key, PeerId};
use ethp2p_session::{
    Direction, PeerMessage, PendingSessionError, SessionCounts, SessionEvent, SessionId,
    SessionsConfig,
};
use ethp2p_testing::tcp::*;
use ethp2p_wire::DisconnectReason;
use futures::{FutureExt, StreamExt};
use rand::{rngs::StdRng, Rng, SeedableRng};
use std::{
    collections::{BTreeMap, HashMap, HashSet},
    future::poll_fn,
    net::SocketAddr,
    task::{Context, Poll},
    time::{Duration, Instant},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::watch,
};

// ---------------------------------------------------------------------------
// Driving many nodes from one task

/// What polling a node yields.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // test-only, short-lived values
enum Polled {
    /// The listener accepted a connection from this address and handed it to
    /// the manager, which started this pending session.
    Accepted(SocketAddr, SessionId),
    /// The manager reported an event.
    Event(SessionEvent),
}

/// Polls `n`'s listener (handing new connections to its manager), then its manager.
fn poll_node(n: &mut Node, cx: &mut Context<'_>) -> Poll<Polled> {
    if let Poll::Ready(r) = n.listener.poll_accept(cx) {
        let (stream, addr) = r.expect("accept");
        let local = stream.local_addr().ok();
        let id = n
            .mgr
            .on_incoming(stream, addr, local)
            .expect("these tests set no pending-inbound limit");
        return Poll::Ready(Polled::Accepted(addr, id));
    }
    n.mgr.poll(cx).map(Polled::Event)
}

trait Observer {
    /// Node `i` yielded `p`; `nodes` may be used to act on it (dial, disconnect).
    fn on(&mut self, nodes: &mut [Node], i: usize, p: Polled);
    /// Node `i` has nothing more to report right now: every change of its
    /// counters so far has been reported.
    fn drained(&mut self, _nodes: &[Node], _i: usize) {}
    /// Whether driving can stop (asked only when every node is drained).
    fn done(&mut self, nodes: &[Node]) -> bool;
    /// State to print when `done` did not come in time.
    fn report(&self, _nodes: &[Node]) -> String {
        String::new()
    }
}

/// Drives every node until `obs.done`, failing after `limit`.
async fn drive(nodes: &mut [Node], obs: &mut impl Observer, limit: Duration, what: &str) {
    let r = tokio::time::timeout(
        limit,
        poll_fn(|cx| {
            let mut progressed = false;
            let mut exhausted = false;
            for i in 0..nodes.len() {
                let mut budget = 64;
                loop {
                    match poll_node(&mut nodes[i], cx) {
                        Poll::Ready(p) => {
                            obs.on(nodes, i, p);
                            progressed = true;
                            budget -= 1;
                            if budget == 0 {
                                exhausted = true;
                                break;
                            }
                        }
                        Poll::Pending => {
                            obs.drained(nodes, i);
                            break;
                        }
                    }
                }
            }
            if !exhausted && obs.done(nodes) {
                return Poll::Ready(());
            }
            // Observers may have queued work on nodes polled earlier in this
            // round (dialing ourselves is reported without any I/O): go round again.
            if progressed {
                cx.waker().wake_by_ref();
            }
            Poll::Pending
        }),
    )
    .await;
    if r.is_err() {
        panic!("{what}: not done within {limit:?}\n{}", obs.report(nodes));
    }
}

fn index_of(nodes: &[Node]) -> HashMap<PeerId, usize> {
    nodes.iter().enumerate().map(|(i, n)| (n.id, i)).collect()
}

async fn nodes(n: usize, opts: impl Fn() -> Opts) -> Vec<Node> {
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        v.push(Node::new(opts()).await);
    }
    v
}

/// Active sessions of `n` by direction, as its handles say.
fn handles_by_direction(n: &Node) -> (u32, u32) {
    let mut r = (0, 0);
    for (_, h) in n.mgr.active_sessions() {
        match h.direction() {
            Direction::Incoming => r.0 += 1,
            Direction::Outgoing => r.1 += 1,
        }
    }
    r
}

// ---------------------------------------------------------------------------
// 1. A full mesh of 50 managers

struct Mesh {
    idx: HashMap<PeerId, usize>,
    /// Outbound dials a node may have in flight at once.
    per_node: usize,
    next_target: Vec<usize>,
    in_flight: Vec<usize>,
    established: Vec<HashSet<PeerId>>,
}

impl Mesh {
    /// Node `i` dials the next nodes of higher index, up to its concurrency.
    fn top_up(&mut self, nodes: &mut [Node], i: usize) {
        while self.in_flight[i] < self.per_node && self.next_target[i] < nodes.len() {
            let j = self.next_target[i];
            self.next_target[i] += 1;
            let (addr, id) = (nodes[j].addr, nodes[j].id);
            nodes[i].mgr.dial_outbound(addr, id).expect("no limits");
            self.in_flight[i] += 1;
        }
    }
}

impl Observer for Mesh {
    fn on(&mut self, nodes: &mut [Node], i: usize, p: Polled) {
        match p {
            Polled::Accepted(..) => {}
            Polled::Event(SessionEvent::SessionEstablished { peer_id, info }) => {
                let j = self.idx[&peer_id];
                let want = if j > i {
                    Direction::Outgoing
                } else {
                    Direction::Incoming
                };
                assert_eq!(info.direction, want, "node {i} with node {j}");
                assert!(
                    self.established[i].insert(peer_id),
                    "node {i}: node {j} established twice"
                );
                if want == Direction::Outgoing {
                    self.in_flight[i] -= 1;
                    self.top_up(nodes, i);
                }
            }
            Polled::Event(ev) => panic!("node {i}: unexpected {ev:?}"),
        }
    }

    fn done(&mut self, nodes: &[Node]) -> bool {
        self.established.iter().all(|e| e.len() == nodes.len() - 1)
    }

    fn report(&self, nodes: &[Node]) -> String {
        let short: Vec<_> = (0..nodes.len())
            .filter(|&i| self.established[i].len() != nodes.len() - 1)
            .map(|i| (i, self.established[i].len(), nodes[i].mgr.counts()))
            .collect();
        format!("nodes short of sessions (index, established, counts): {short:?}")
    }
}

/// Every node's Disconnected events, by peer.
struct Teardown {
    closed: Vec<HashMap<PeerId, (DisconnectReason, bool)>>,
    expected: usize,
}

impl Observer for Teardown {
    fn on(&mut self, _nodes: &mut [Node], i: usize, p: Polled) {
        match p {
            Polled::Event(SessionEvent::Disconnected {
                peer_id,
                reason,
                by_us,
                ..
            }) => {
                let prev = self.closed[i].insert(peer_id, (reason, by_us));
                assert!(prev.is_none(), "node {i}: two Disconnected for {peer_id}");
            }
            other => panic!("node {i}: unexpected {other:?} during teardown"),
        }
    }

    fn done(&mut self, _nodes: &[Node]) -> bool {
        self.closed.iter().all(|c| c.len() == self.expected)
    }

    fn report(&self, nodes: &[Node]) -> String {
        let short: Vec<_> = (0..nodes.len())
            .filter(|&i| self.closed[i].len() != self.expected)
            .map(|i| (i, self.closed[i].len(), nodes[i].mgr.counts()))
            .collect();
        format!("nodes short of Disconnected (index, seen, counts): {short:?}")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mesh_of_50_managers() {
    const N: usize = 50;
    const PER_NODE: usize = 4;
    if !ethp2p_testing::fd_limit::ensure_open_files("mesh_of_50_managers", 8192) {
        return;
    }
    let mut nodes = nodes(N, Opts::default).await;
    let t0 = Instant::now();
    let mut mesh = Mesh {
        idx: index_of(&nodes),
        per_node: PER_NODE,
        next_target: (0..N).map(|i| i + 1).collect(),
        in_flight: vec![0; N],
        established: vec![HashSet::new(); N],
    };
    for i in 0..N {
        mesh.top_up(&mut nodes, i);
    }
    drive(&mut nodes, &mut mesh, Duration::from_secs(30), "mesh").await;
    let t_mesh = t0.elapsed();
    for (i, n) in nodes.iter().enumerate() {
        let c = n.mgr.counts();
        assert_eq!(
            c,
            SessionCounts {
                pending_inbound: 0,
                pending_outbound: 0,
                active_inbound: i as u32,
                active_outbound: (N - 1 - i) as u32,
            },
            "node {i}"
        );
        assert_eq!(c.active_inbound + c.active_outbound, N as u32 - 1);
        assert_eq!(n.mgr.num_pending(), 0, "node {i}");
        assert_eq!(
            handles_by_direction(n),
            (c.active_inbound, c.active_outbound),
            "node {i}"
        );
        let peers: HashSet<PeerId> = n.mgr.active_sessions().map(|(p, _)| *p).collect();
        assert_eq!(peers, mesh.established[i], "node {i}");
    }

    // Everyone hangs up at once: every session ends in exactly one
    // Disconnected on each side, whoever's Disconnect got there first.
    let t1 = Instant::now();
    for n in &nodes {
        n.mgr.disconnect_all(DisconnectReason::ClientQuitting);
    }
    let mut down = Teardown {
        closed: vec![HashMap::new(); N],
        expected: N - 1,
    };
    drive(&mut nodes, &mut down, Duration::from_secs(15), "teardown").await;
    let mut by_us = 0;
    for (i, n) in nodes.iter().enumerate() {
        assert_eq!(n.mgr.counts(), SessionCounts::default(), "node {i}");
        assert_eq!(n.mgr.num_pending(), 0);
        assert_eq!(n.mgr.active_sessions().count(), 0);
        let peers: HashSet<PeerId> = down.closed[i].keys().copied().collect();
        assert_eq!(peers, mesh.established[i], "node {i}");
        for (reason, us) in down.closed[i].values() {
            assert_eq!(*reason, DisconnectReason::ClientQuitting, "node {i}");
            by_us += *us as usize;
        }
    }
    println!(
        "mesh of {N}: {} sessions established in {t_mesh:?} (≤{PER_NODE} dials in flight per node), \
         torn down in {:?} ({by_us} of {} Disconnected by_us)",
        N * (N - 1) / 2,
        t1.elapsed(),
        N * (N - 1)
    );
}

// ---------------------------------------------------------------------------
// 2. Back-pressure against an owner that stops polling

/// Bytes of the one transaction in each broadcast.
const TX_BYTES: usize = 1000;

/// A `Transactions` broadcast of one ~1 KiB incompressible item whose first
/// 8 bytes are `seq`.
fn numbered_txs(seq: u64, rng: &mut StdRng) -> EthMessage {
    let mut item = vec![0xb9, (TX_BYTES >> 8) as u8, TX_BYTES as u8];
    let mut body = [0u8; TX_BYTES];
    rng.fill(&mut body[..]);
    body[..8].copy_from_slice(&seq.to_be_bytes());
    item.extend_from_slice(&body);
    EthMessage::Transactions(RawList::from_encoded_items([item]).unwrap())
}

fn seq_of(ev: SessionEvent, from: PeerId) -> u64 {
    match ev {
        SessionEvent::ValidMessage {
            peer_id,
            message: PeerMessage::Eth(EthMessage::Transactions(list)),
        } if peer_id == from => {
            assert_eq!(list.len(), 1);
            let item = list.iter().next().unwrap();
            assert_eq!(item.len(), TX_BYTES + 3);
            u64::from_be_bytes(item[3..11].try_into().unwrap())
        }
        other => panic!("expected a numbered broadcast, got {other:?}"),
    }
}

/// Establishes `a` → `b` (both in `nodes`), driving only those two.
async fn connect_pair(nodes: &mut [Node], a: usize, b: usize) {
    struct Pair(usize, usize, [bool; 2]);
    impl Observer for Pair {
        fn on(&mut self, _: &mut [Node], i: usize, p: Polled) {
            match p {
                Polled::Accepted(..) => {}
                Polled::Event(SessionEvent::SessionEstablished { .. }) if i == self.0 => {
                    self.2[0] = true
                }
                Polled::Event(SessionEvent::SessionEstablished { .. }) if i == self.1 => {
                    self.2[1] = true
                }
                Polled::Event(ev) => panic!("node {i}: unexpected {ev:?}"),
            }
        }
        fn done(&mut self, _: &[Node]) -> bool {
            self.2 == [true, true]
        }
    }
    let (addr, id) = (nodes[b].addr, nodes[b].id);
    nodes[a].mgr.dial_outbound(addr, id).unwrap();
    drive(nodes, &mut Pair(a, b, [false; 2]), T, "connect").await;
}

/// Consecutive turns of the runtime (1 ms apart) in which a session takes no
/// command before it counts as stalled.
const STALL_TURNS: u32 = 200;

/// Offers `msg(k)` for k = 0, 1, ... to `peer` until `max` are accepted or
/// the session has taken none for [`STALL_TURNS`] turns of the runtime.
/// Returns how many `send_message` accepted and how many calls it refused.
///
/// The turns are not a guess at how long something takes: a stall is the
/// absence of progress, and each turn gives the runtime (the I/O driver and
/// the session tasks) a full chance to make some.
async fn push_until_stalled(
    mgr: &ethp2p_session::SessionManager,
    peer: &PeerId,
    max: usize,
    mut msg: impl FnMut(usize) -> EthMessage,
) -> (usize, u64) {
    let t0 = Instant::now();
    let (mut accepted, mut refused, mut idle) = (0usize, 0u64, 0u32);
    let mut turn = tokio::time::interval(Duration::from_millis(1));
    turn.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut next = msg(0);
    while accepted < max && idle < STALL_TURNS {
        if mgr.send_message(peer, next.clone()).is_ok() {
            accepted += 1;
            idle = 0;
            if accepted < max {
                next = msg(accepted);
            }
            continue;
        }
        refused += 1;
        idle += 1;
        turn.tick().await;
        assert!(t0.elapsed() < T, "pushing did not settle within {T:?}");
    }
    (accepted, refused)
}

// Runs on the current-thread runtime on purpose: while the test task does
// not yield, no session task runs, so what B's manager has ready at once is
// exactly what its channel holds.
#[tokio::test]
async fn back_pressure_with_a_stalled_owner() {
    /// ~20 MB: several times what loopback socket buffers absorb (A's send
    /// buffer grows to `net.ipv4.tcp_wmem`'s maximum, 4 MiB by default).
    const N: usize = 20_000;
    const EVENT_BUFFER: usize = 4;
    /// A's session stops taking commands above this many queued bytes.
    const A_QUEUE: usize = 256 * 1024;
    let t0 = Instant::now();
    let mut rng = StdRng::seed_from_u64(2);
    let a = Node::new(Opts {
        config: SessionsConfig {
            max_queued_outgoing_bytes: A_QUEUE,
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let b = Node::new(Opts {
        config: SessionsConfig {
            session_event_buffer: EVENT_BUFFER,
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let mut pair = vec![a, b];
    connect_pair(&mut pair, 0, 1).await;
    let mut b = pair.pop().unwrap();
    let a = pair.pop().unwrap();
    let (aid, bid) = (a.id, b.id);
    let msgs: Vec<EthMessage> = (0..N as u64).map(|s| numbered_txs(s, &mut rng)).collect();

    // Phase 1: B's owner does not poll. A queues until its session stops
    // taking commands: B's session holds one message, B's manager channel is
    // full, B stops reading, the sockets fill, A's writes stop draining.
    let (mut accepted, refused) = push_until_stalled(&a.mgr, &bid, N, |k| msgs[k].clone()).await;
    let at_stall = accepted;
    let t_stall = t0.elapsed();
    assert!(
        at_stall < N,
        "A queued all {N} messages while B's owner was away: nothing pushed back"
    );
    assert!(refused > 0);

    // B's manager has exactly its channel's worth ready; the session task
    // (which holds the next one in its slot) cannot run until we yield.
    let mut received = 0u64;
    while let Some(Some(ev)) = b.mgr.next().now_or_never() {
        assert_eq!(seq_of(ev, aid), received, "out of order");
        received += 1;
    }
    assert_eq!(
        received, EVENT_BUFFER as u64,
        "B's manager should hold exactly its channel's worth"
    );

    // Phase 2: B's owner polls again. Everything A accepted arrives, in
    // order; A gets the rest through as B drains.
    let r = tokio::time::timeout(T, async {
        while (received as usize) < N {
            while accepted < N && a.mgr.send_message(&bid, msgs[accepted].clone()).is_ok() {
                accepted += 1;
            }
            let ev = b.next_event().await;
            assert_eq!(seq_of(ev, aid), received, "lost or reordered");
            received += 1;
        }
    })
    .await;
    assert!(
        r.is_ok(),
        "B received {received} of {accepted} accepted messages"
    );
    assert_eq!(accepted, N);
    assert_eq!(received as usize, accepted);
    assert!(b.mgr.next().now_or_never().is_none(), "more than was sent");
    println!(
        "back-pressure: A's session stopped taking commands after {at_stall} of {N} \
         (~{} KiB) in {t_stall:?}; {refused} send_message calls refused on the way; \
         all {N} received in order after {:?}",
        at_stall * (TX_BYTES + 6) / 1024,
        t0.elapsed()
    );
}

// ---------------------------------------------------------------------------
// 3. A seeded random walk of dials, aborts, disconnects and dropped connections

/// The seed fixes the sequence of operations; socket and task timing still
/// vary from run to run (`STRESS_SEED=<hex>` replays another sequence).
const SEED: u64 = 0x5e55_1095;
/// Steps of the walk (`STRESS_STEPS` overrides).
const STEPS: usize = 300;
const NODES: usize = 6;

/// A connection as a session sees it.
#[derive(Debug, Clone, Copy)]
struct Conn {
    dir: Direction,
    local: Option<SocketAddr>,
    remote: SocketAddr,
}

/// What a node's own events (and the test's own calls) say about it.
#[derive(Debug, Default)]
struct Book {
    /// `dial_outbound` calls that started a pending session.
    dials: u32,
    /// Their terminal events.
    out_done: u32,
    /// Dials of our own id (refused up front, no pending session).
    self_dials: u32,
    self_done: u32,
    /// Inbound connections handed to the manager.
    accepted: u32,
    /// Their terminal events.
    in_done: u32,
    active: HashMap<PeerId, Conn>,
    established: u32,
    closed: u32,
    /// Raw connections the test opened to this node, not yet accepted.
    raw: HashSet<SocketAddr>,
    /// Peers we asked to disconnect whose close event has not come.
    closing: HashSet<PeerId>,
    /// Recent ids returned by `dial_outbound` (for `abort_pending`).
    dial_ids: Vec<SessionId>,
    /// Every pending session started, by id, and its direction.
    started: HashMap<SessionId, Direction>,
    /// Ids of sessions that became active.
    became_active: HashSet<SessionId>,
}

impl Book {
    fn pending(&self) -> (u32, u32) {
        (self.accepted - self.in_done, self.dials - self.out_done)
    }

    fn active_by_direction(&self) -> (u32, u32) {
        let mut r = (0, 0);
        for c in self.active.values() {
            match c.dir {
                Direction::Incoming => r.0 += 1,
                Direction::Outgoing => r.1 += 1,
            }
        }
        r
    }
}

struct World {
    seed: u64,
    step: usize,
    ids: Vec<PeerId>,
    idx: HashMap<PeerId, usize>,
    books: Vec<Book>,
    events: u64,
    /// For a partial drive: stop once `events` reaches this.
    stop_at: Option<u64>,
    checks: u64,
    kinds: BTreeMap<&'static str, u64>,
}

impl World {
    fn ctx(&self, i: usize) -> String {
        format!("seed {:#x}, step {}, node {i}", self.seed, self.step)
    }

    fn apply(&mut self, i: usize, ev: SessionEvent) {
        let me = self.ids[i];
        let ctx = self.ctx(i);
        let b = &mut self.books[i];
        let kind = match ev {
            SessionEvent::SessionEstablished { peer_id, info } => {
                assert_eq!(info.remote_id, peer_id, "{ctx}");
                assert_eq!(
                    b.started.get(&info.session_id),
                    Some(&info.direction),
                    "{ctx}: established {:?} was not started in that direction",
                    info.session_id
                );
                assert!(
                    b.became_active.insert(info.session_id),
                    "{ctx}: {:?} established twice",
                    info.session_id
                );
                match info.direction {
                    Direction::Incoming => b.in_done += 1,
                    Direction::Outgoing => b.out_done += 1,
                }
                let conn = Conn {
                    dir: info.direction,
                    local: info.local_addr,
                    remote: info.remote_addr,
                };
                let prev = b.active.insert(peer_id, conn);
                assert!(prev.is_none(), "{ctx}: second session with {peer_id}");
                b.established += 1;
                "established"
            }
            SessionEvent::AlreadyConnected {
                peer_id, direction, ..
            } => {
                match direction {
                    Direction::Incoming => b.in_done += 1,
                    Direction::Outgoing => b.out_done += 1,
                }
                assert!(
                    b.active.contains_key(&peer_id),
                    "{ctx}: AlreadyConnected to {peer_id}, which has no session"
                );
                "already_connected"
            }
            SessionEvent::IncomingPendingSessionClosed { error, .. } => {
                b.in_done += 1;
                match error {
                    PendingSessionError::Aborted => "incoming_pending_aborted",
                    _ => "incoming_pending_closed",
                }
            }
            SessionEvent::OutgoingPendingSessionClosed { peer_id, error, .. } if peer_id == me => {
                assert!(
                    matches!(error, PendingSessionError::ConnectedToSelf),
                    "{ctx}: {error:?}"
                );
                b.self_done += 1;
                "self_dial_refused"
            }
            SessionEvent::OutgoingPendingSessionClosed { error, .. } => {
                b.out_done += 1;
                match error {
                    PendingSessionError::Aborted => "outgoing_pending_aborted",
                    _ => "outgoing_pending_closed",
                }
            }
            SessionEvent::OutgoingConnectionError { .. } => {
                b.out_done += 1;
                "connection_error"
            }
            SessionEvent::Disconnected { peer_id, .. }
            | SessionEvent::SessionClosedOnConnectionError { peer_id, .. } => {
                assert!(
                    b.active.remove(&peer_id).is_some(),
                    "{ctx}: close of {peer_id}, which has no session"
                );
                b.closing.remove(&peer_id);
                b.closed += 1;
                "closed"
            }
            other => panic!("{ctx}: unexpected {other:?}"),
        };
        assert!(
            b.in_done <= b.accepted,
            "{ctx}: more inbound ends than starts"
        );
        assert!(
            b.out_done <= b.dials,
            "{ctx}: more outbound ends than starts"
        );
        assert!(
            b.self_done <= b.self_dials,
            "{ctx}: more self-dial refusals than self-dials"
        );
        *self.kinds.entry(kind).or_default() += 1;
    }

    /// Node `i`'s counters against its own events.
    fn check(&mut self, n: &Node, i: usize) {
        let ctx = self.ctx(i);
        let b = &self.books[i];
        let (pin, pout) = b.pending();
        let (ain, aout) = b.active_by_direction();
        let want = SessionCounts {
            pending_inbound: pin,
            pending_outbound: pout,
            active_inbound: ain,
            active_outbound: aout,
        };
        let c = n.mgr.counts();
        assert_eq!(c, want, "{ctx}: counts() vs events");
        assert_eq!(
            n.mgr.num_pending(),
            (pin + pout) as usize,
            "{ctx}: num_pending()"
        );
        assert_eq!(
            handles_by_direction(n),
            (c.active_inbound, c.active_outbound),
            "{ctx}: active_sessions() by direction"
        );
        assert_eq!(b.established - b.closed, b.active.len() as u32, "{ctx}");
        for (peer, h) in n.mgr.active_sessions() {
            let conn = b.active.get(peer);
            assert!(
                conn.is_some(),
                "{ctx}: a session with {peer} never reported"
            );
            let conn = conn.unwrap();
            assert_eq!(h.direction(), conn.dir, "{ctx}");
            assert_eq!(h.peer_info().remote_addr, conn.remote, "{ctx}");
        }
        self.checks += 1;
    }

    /// Everything the steps started has ended or settled: no pending session
    /// on any node, every raw connection taken, every disconnect asked for
    /// reported, and each session's other end is the same connection on the
    /// peer. (A dial aborted while its TCP connect was in flight may still
    /// reach its target's listener later; that is a new pending session for
    /// the next step.)
    fn quiescent(&self) -> bool {
        for (i, b) in self.books.iter().enumerate() {
            if b.pending() != (0, 0)
                || b.self_dials != b.self_done
                || !b.raw.is_empty()
                || !b.closing.is_empty()
            {
                return false;
            }
            for (peer, c) in &b.active {
                let j = self.idx[peer];
                let Some(o) = self.books[j].active.get(&self.ids[i]) else {
                    return false;
                };
                if c.dir == o.dir || c.local != Some(o.remote) || o.local != Some(c.remote) {
                    return false;
                }
            }
        }
        true
    }
}

impl Observer for World {
    fn on(&mut self, _nodes: &mut [Node], i: usize, p: Polled) {
        self.events += 1;
        match p {
            Polled::Accepted(addr, sid) => {
                self.books[i].accepted += 1;
                assert!(
                    self.books[i]
                        .started
                        .insert(sid, Direction::Incoming)
                        .is_none(),
                    "{}: session id {sid:?} reused",
                    self.ctx(i)
                );
                self.books[i].raw.remove(&addr);
                *self.kinds.entry("accepted").or_default() += 1;
            }
            Polled::Event(ev) => self.apply(i, ev),
        }
    }

    fn drained(&mut self, nodes: &[Node], i: usize) {
        self.check(&nodes[i], i);
    }

    fn done(&mut self, _nodes: &[Node]) -> bool {
        self.stop_at.is_some_and(|s| self.events >= s) || self.quiescent()
    }

    fn report(&self, nodes: &[Node]) -> String {
        let mut s = format!("seed {:#x}, step {}\n", self.seed, self.step);
        for (i, b) in self.books.iter().enumerate() {
            s += &format!(
                "node {i}: counts {:?}, pending {:?}, self {}/{}, raw {:?}, closing {}, active {:?}\n",
                nodes[i].mgr.counts(),
                b.pending(),
                b.self_done,
                b.self_dials,
                b.raw,
                b.closing.len(),
                b.active
                    .iter()
                    .map(|(p, c)| (self.idx[p], c.dir, c.local, c.remote))
                    .collect::<Vec<_>>()
            );
        }
        s
    }
}

const REASONS: [DisconnectReason; 6] = [
    DisconnectReason::DisconnectRequested,
    DisconnectReason::ClientQuitting,
    DisconnectReason::TooManyPeers,
    DisconnectReason::UselessPeer,
    DisconnectReason::SubprotocolSpecific,
    DisconnectReason::TcpSubsystemError,
];

fn dial(nodes: &mut [Node], w: &mut World, i: usize, addr: SocketAddr, id: PeerId) {
    let sid = nodes[i].mgr.dial_outbound(addr, id).expect("no limits");
    let b = &mut w.books[i];
    assert!(
        b.started.insert(sid, Direction::Outgoing).is_none(),
        "session id {sid:?} reused"
    );
    if id == nodes[i].id {
        b.self_dials += 1;
    } else {
        b.dials += 1;
    }
    b.dial_ids.push(sid);
    if b.dial_ids.len() > 16 {
        b.dial_ids.remove(0);
    }
}

/// Drives until `k` more events (or quiescence).
async fn partial_drive(nodes: &mut [Node], w: &mut World, k: u64) {
    if k == 0 {
        return;
    }
    w.stop_at = Some(w.events + k);
    drive(nodes, w, T, "partial drive").await;
    w.stop_at = None;
}

/// An address nothing listens on.
async fn dead_addr() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap()
}

/// Opens a raw connection to node `j` and records it.
async fn raw_connect(nodes: &[Node], w: &mut World, j: usize) -> TcpStream {
    let s = TcpStream::connect(nodes[j].addr).await.unwrap();
    w.books[j].raw.insert(s.local_addr().unwrap());
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn randomized_dials_accepts_aborts_disconnects() {
    let seed = std::env::var("STRESS_SEED")
        .ok()
        .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
        .unwrap_or(SEED);
    let steps = std::env::var("STRESS_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(STEPS);
    println!("randomized_dials_accepts_aborts_disconnects: seed {seed:#x} (set STRESS_SEED=<hex> to replay another)");
    let t0 = Instant::now();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut nodes = nodes(NODES, Opts::default).await;
    let ids: Vec<PeerId> = nodes.iter().map(|n| n.id).collect();
    let mut w = World {
        seed,
        step: 0,
        idx: index_of(&nodes),
        ids,
        books: (0..NODES).map(|_| Book::default()).collect(),
        events: 0,
        stop_at: None,
        checks: 0,
        kinds: BTreeMap::new(),
    };
    let mut ops = BTreeMap::<&'static str, u64>::new();
    let mut half_handshakes = Vec::new();
    for step in 0..steps {
        w.step = step;
        for _ in 0..rng.random_range(1..=4) {
            let i = rng.random_range(0..NODES);
            let j = rng.random_range(0..NODES);
            let roll = rng.random_range(0..100);
            let op = match roll {
                // Any pair: self, duplicates of pending or active sessions.
                0..26 => {
                    let (addr, id) = (nodes[j].addr, nodes[j].id);
                    dial(&mut nodes, &mut w, i, addr, id);
                    "dial"
                }
                // Both ways at once: the duplicate race.
                26..33 => {
                    let j = (i + 1 + rng.random_range(0..NODES - 1)) % NODES;
                    let (addr, id) = (nodes[j].addr, nodes[j].id);
                    dial(&mut nodes, &mut w, i, addr, id);
                    let (addr, id) = (nodes[i].addr, nodes[i].id);
                    dial(&mut nodes, &mut w, j, addr, id);
                    "cross_dial"
                }
                33..36 => {
                    let addr = dead_addr().await;
                    let id = nodes[j].id;
                    dial(&mut nodes, &mut w, i, addr, id);
                    "dial_dead_address"
                }
                // j's id at k's address: the ECIES handshake fails at k.
                36..40 => {
                    let k = (j + 1 + rng.random_range(0..NODES - 1)) % NODES;
                    let (addr, id) = (nodes[k].addr, nodes[j].id);
                    dial(&mut nodes, &mut w, i, addr, id);
                    "dial_wrong_identity"
                }
                // Dial, let up to a few events happen, abort the dial.
                40..52 => {
                    let j = (i + 1 + rng.random_range(0..NODES - 1)) % NODES;
                    let (addr, id) = (nodes[j].addr, nodes[j].id);
                    dial(&mut nodes, &mut w, i, addr, id);
                    let sid = *w.books[i].dial_ids.last().unwrap();
                    let k = rng.random_range(0..4);
                    partial_drive(&mut nodes, &mut w, k).await;
                    if nodes[i].mgr.abort_pending(sid) {
                        "dial_then_abort"
                    } else {
                        "dial_then_abort(too late)"
                    }
                }
                52..56 => {
                    let ids = &w.books[i].dial_ids;
                    if ids.is_empty() {
                        "abort_pending(none)"
                    } else {
                        let sid = ids[rng.random_range(0..ids.len())];
                        if nodes[i].mgr.abort_pending(sid) {
                            "abort_pending"
                        } else {
                            "abort_pending(not pending)"
                        }
                    }
                }
                // Others dial i; once up to a few events happened, i aborts
                // everything pending (inbound ones mid-handshake included).
                56..60 => {
                    for _ in 0..rng.random_range(1..=2) {
                        let k = (i + 1 + rng.random_range(0..NODES - 1)) % NODES;
                        let (addr, id) = (nodes[i].addr, nodes[i].id);
                        dial(&mut nodes, &mut w, k, addr, id);
                    }
                    let k = rng.random_range(0..6);
                    partial_drive(&mut nodes, &mut w, k).await;
                    let n = nodes[i].mgr.num_pending();
                    nodes[i].mgr.disconnect_all_pending();
                    if n > 0 {
                        "disconnect_all_pending"
                    } else {
                        "disconnect_all_pending(none)"
                    }
                }
                60..70 => {
                    // Sorted: the seed picks the same peer whatever the map's order.
                    let mut peers: Vec<PeerId> =
                        nodes[i].mgr.active_sessions().map(|(p, _)| *p).collect();
                    peers.sort();
                    if peers.is_empty() {
                        "disconnect(none)"
                    } else {
                        let p = peers[rng.random_range(0..peers.len())];
                        let reason = REASONS[rng.random_range(0..REASONS.len())];
                        assert!(nodes[i].mgr.disconnect(&p, reason));
                        w.books[i].closing.insert(p);
                        "disconnect"
                    }
                }
                70..72 => {
                    let peers: Vec<PeerId> =
                        nodes[i].mgr.active_sessions().map(|(p, _)| *p).collect();
                    w.books[i].closing.extend(peers);
                    nodes[i]
                        .mgr
                        .disconnect_all(REASONS[rng.random_range(0..REASONS.len())]);
                    "disconnect_all"
                }
                // A connection dropped before or in the middle of the auth message.
                72..81 => {
                    let mut s = raw_connect(&nodes, &mut w, j).await;
                    if rng.random_bool(0.5) {
                        let mut junk = vec![0u8; rng.random_range(1..600)];
                        rng.fill(&mut junk[..]);
                        let _ = s.write_all(&junk).await;
                        "raw_partial_auth_drop"
                    } else {
                        "raw_connect_drop"
                    }
                }
                // ECIES completes, then the connection drops before Hello.
                81..87 => {
                    let s = raw_connect(&nodes, &mut w, j).await;
                    let id = nodes[j].id;
                    half_handshakes.push(tokio::spawn(async move {
                        let key = generate_secret_key();
                        let _ = ethp2p_rlpx::connect(s, &key, id, T).await;
                    }));
                    "ecies_then_drop"
                }
                // Let a few events happen before the next operation.
                _ => {
                    let k = rng.random_range(1..6);
                    partial_drive(&mut nodes, &mut w, k).await;
                    "partial_drive"
                }
            };
            *ops.entry(op).or_default() += 1;
        }
        drive(&mut nodes, &mut w, T, "step").await;
        for (n, node) in nodes.iter().enumerate() {
            w.check(node, n);
        }
        for h in half_handshakes.drain(..) {
            tokio::time::timeout(T, h)
                .await
                .expect("half handshake task hangs")
                .unwrap();
        }
    }

    // Everybody hangs up; every count returns to zero.
    w.step = steps;
    for (i, n) in nodes.iter_mut().enumerate() {
        w.books[i]
            .closing
            .extend(n.mgr.active_sessions().map(|(p, _)| *p));
        n.mgr.disconnect_all(DisconnectReason::ClientQuitting);
        n.mgr.disconnect_all_pending();
    }
    struct Empty<'a>(&'a mut World);
    impl Observer for Empty<'_> {
        fn on(&mut self, nodes: &mut [Node], i: usize, p: Polled) {
            self.0.on(nodes, i, p)
        }
        fn drained(&mut self, nodes: &[Node], i: usize) {
            self.0.drained(nodes, i)
        }
        fn done(&mut self, _: &[Node]) -> bool {
            self.0.quiescent() && self.0.books.iter().all(|b| b.active.is_empty())
        }
        fn report(&self, nodes: &[Node]) -> String {
            self.0.report(nodes)
        }
    }
    drive(&mut nodes, &mut Empty(&mut w), T, "final teardown").await;
    for (i, n) in nodes.iter().enumerate() {
        assert_eq!(n.mgr.counts(), SessionCounts::default(), "{}", w.ctx(i));
        assert_eq!(n.mgr.num_pending(), 0, "{}", w.ctx(i));
        assert_eq!(n.mgr.active_sessions().count(), 0, "{}", w.ctx(i));
    }
    println!(
        "seed {seed:#x}: {steps} steps over {NODES} nodes in {:?}; {} events, {} counter checks\n  operations: {ops:?}\n  events: {:?}",
        t0.elapsed(),
        w.events,
        w.checks,
        w.kinds
    );
    assert!(w.kinds.get("established").copied().unwrap_or(0) > 0);
    assert!(w.kinds.get("already_connected").copied().unwrap_or(0) > 0);
    assert!(w.kinds.get("closed").copied().unwrap_or(0) > 0);
}

// ---------------------------------------------------------------------------
// 4. Dropping a manager

async fn live_tasks_reach(live: &mut watch::Receiver<usize>, n: usize, what: &str) {
    let reached = tokio::time::timeout(T, live.wait_for(|v| *v == n))
        .await
        .is_ok();
    assert!(
        reached,
        "{what}: {} tasks still running after {T:?}, expected {n}",
        *live.borrow()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manager_drop_ends_every_task() {
    let t0 = Instant::now();
    let (spawner, mut live) = counting_spawner();
    let x = Node::with_spawner(Opts::default(), Some(spawner)).await;
    let mut nodes = vec![x];
    nodes.extend(self::nodes(3, Opts::default).await);
    // x dials peers 1 and 2; peer 3 dials x.
    for j in [1, 2] {
        let (addr, id) = (nodes[j].addr, nodes[j].id);
        nodes[0].mgr.dial_outbound(addr, id).unwrap();
    }
    let (addr, id) = (nodes[0].addr, nodes[0].id);
    nodes[3].mgr.dial_outbound(addr, id).unwrap();
    // Two pending sessions that never finish by themselves (within their
    // 20 s timeout): x dials a listener that never answers, and a raw
    // connection to x never sends its auth.
    let hole = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hole_id = ethp2p_rlpx::key::peer_id_from_secret_key(&generate_secret_key());
    nodes[0]
        .mgr
        .dial_outbound(hole.local_addr().unwrap(), hole_id)
        .unwrap();
    let mut lurker = TcpStream::connect(nodes[0].addr).await.unwrap();

    struct Setup(Vec<usize>);
    impl Observer for Setup {
        fn on(&mut self, _: &mut [Node], i: usize, p: Polled) {
            match p {
                Polled::Accepted(..) => {}
                Polled::Event(SessionEvent::SessionEstablished { .. }) => self.0[i] += 1,
                Polled::Event(ev) => panic!("node {i}: unexpected {ev:?}"),
            }
        }
        fn done(&mut self, nodes: &[Node]) -> bool {
            self.0 == [3, 1, 1, 1]
                && nodes[0].mgr.counts()
                    == SessionCounts {
                        pending_inbound: 1,
                        pending_outbound: 1,
                        active_inbound: 1,
                        active_outbound: 2,
                    }
        }
        fn report(&self, nodes: &[Node]) -> String {
            format!("established {:?}, x {:?}", self.0, nodes[0].mgr.counts())
        }
    }
    drive(&mut nodes, &mut Setup(vec![0; 4]), T, "setup").await;
    // x runs 3 active and 2 pending sessions; the pending tasks of the
    // established sessions have ended.
    live_tasks_reach(&mut live, 5, "before the drop").await;
    let x_id = nodes[0].id;

    drop(nodes.remove(0));
    struct Gone(PeerId, Vec<bool>);
    impl Observer for Gone {
        fn on(&mut self, _: &mut [Node], i: usize, p: Polled) {
            match p {
                Polled::Event(
                    SessionEvent::Disconnected {
                        peer_id,
                        reason: DisconnectReason::ClientQuitting,
                        by_us: false,
                        ..
                    }
                    | SessionEvent::SessionClosedOnConnectionError { peer_id, .. },
                ) if peer_id == self.0 => {
                    assert!(!self.1[i], "peer {i}: second close");
                    self.1[i] = true;
                }
                other => panic!("peer {i}: unexpected {other:?}"),
            }
        }
        fn done(&mut self, _: &[Node]) -> bool {
            self.1.iter().all(|&b| b)
        }
    }
    let mut gone = Gone(x_id, vec![false; 3]);
    let (_, _) = tokio::join!(
        drive(&mut nodes, &mut gone, T, "peers see x leave"),
        live_tasks_reach(&mut live, 0, "after the drop"),
    );
    for (i, n) in nodes.iter().enumerate() {
        assert_eq!(n.mgr.counts(), SessionCounts::default(), "peer {i}");
        assert_eq!(n.mgr.active_sessions().count(), 0);
    }
    // The pending sessions' sockets are closed too.
    let mut buf = [0u8; 64];
    let r = tokio::time::timeout(T, lurker.read(&mut buf))
        .await
        .expect("x's pending inbound socket is still open");
    assert!(matches!(r, Ok(0) | Err(_)), "{r:?}");
    let (mut s, _) = tokio::time::timeout(T, hole.accept())
        .await
        .unwrap()
        .unwrap();
    let mut auth = Vec::new();
    let r = tokio::time::timeout(T, s.read_to_end(&mut auth))
        .await
        .expect("x's pending outbound socket is still open");
    assert!(r.is_ok() || auth.is_empty(), "{r:?}");
    println!(
        "manager drop: 5 tasks ended, 3 peers saw the session end, in {:?}",
        t0.elapsed()
    );
}

/// Dropping the manager while a session's writes are stuck (the peer stopped
/// reading, so the session has stopped taking commands): the session must
/// still end promptly, not linger until `write_stall_timeout` (or for as
/// long as a slowly reading peer keeps making progress) holding its socket
/// and queued bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manager_drop_ends_a_session_stuck_on_writes() {
    let t0 = Instant::now();
    let mut rng = StdRng::seed_from_u64(4);
    let (spawner, mut live) = counting_spawner();
    let x = Node::with_spawner(
        Opts {
            config: SessionsConfig {
                max_queued_outgoing_bytes: 64 * 1024,
                ..Default::default()
            },
            ..Default::default()
        },
        Some(spawner),
    )
    .await;
    let sink = Node::new(Opts {
        config: SessionsConfig {
            session_event_buffer: 1,
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let mut nodes = vec![x, sink];
    connect_pair(&mut nodes, 0, 1).await;
    let (x_id, sink_id) = (nodes[0].id, nodes[1].id);
    live_tasks_reach(&mut live, 1, "established").await;
    // The sink's owner stops polling; x broadcasts until its session stops
    // taking commands.
    const MAX: usize = 100_000;
    let (accepted, refused) = push_until_stalled(&nodes[0].mgr, &sink_id, MAX, |k| {
        numbered_txs(k as u64, &mut rng)
    })
    .await;
    assert!(
        accepted < MAX && refused > 0,
        "x's session never stopped taking commands"
    );
    let t_drop = Instant::now();
    drop(nodes.remove(0));
    live_tasks_reach(&mut live, 0, "after dropping x, with its writes stuck").await;
    let t_ended = t_drop.elapsed();
    // The sink's owner comes back: it reads what reached it, then sees the
    // session end.
    struct Sink(PeerId, u64, bool);
    impl Observer for Sink {
        fn on(&mut self, _: &mut [Node], _: usize, p: Polled) {
            match p {
                Polled::Event(ev @ SessionEvent::ValidMessage { .. }) => {
                    assert_eq!(seq_of(ev, self.0), self.1, "out of order");
                    self.1 += 1;
                }
                Polled::Event(
                    SessionEvent::Disconnected { peer_id, .. }
                    | SessionEvent::SessionClosedOnConnectionError { peer_id, .. },
                ) if peer_id == self.0 => self.2 = true,
                other => panic!("sink: unexpected {other:?}"),
            }
        }
        fn done(&mut self, _: &[Node]) -> bool {
            self.2
        }
    }
    let mut sink = Sink(x_id, 0, false);
    drive(&mut nodes, &mut sink, T, "sink sees x leave").await;
    assert!(sink.1 <= accepted as u64);
    assert_eq!(nodes[0].mgr.counts(), SessionCounts::default());
    println!(
        "stuck writer: x's session stalled after {accepted} broadcasts; its task ended {t_ended:?} \
         after the drop; the sink then read {} and saw the end ({:?} in all)",
        sink.1,
        t0.elapsed()
    );
}
