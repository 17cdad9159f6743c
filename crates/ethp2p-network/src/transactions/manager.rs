//! [`TransactionsManager`]: the task that drives the sans-IO transaction
//! pieces over a running network.
//!
//! It is a thin driver: it reads the network's transaction-gossip stream
//! ([`NetworkManager::take_transaction_messages`](crate::NetworkManager::take_transaction_messages))
//! and its session events, and feeds them to
//!
//! - [`check_announcement`] (per the peer's negotiated eth version),
//! - the [`TxFetcher`] (whose `Request`s become `GetPooledTransactions`
//!   through [`NetworkHandle::send_request`], whose `Penalise` and `Drop`
//!   become reputation changes and disconnects),
//! - the [`FirstSeenTracker`] (records published on a broadcast channel),
//! - the [`Propagator`] (local submissions and relayed transactions: bodies
//!   to ⌈√n⌉ peers, hashes to the rest, never to a peer known to have them),
//!
//! and answers peers' `GetPooledTransactions` from the transactions it
//! propagated (a bounded cache; nothing else is pooled).
//!
//! A transaction submitted here ([`TransactionsHandle::submit_raw`]) is not
//! reported on the first-seen stream of this node: the stream is what the
//! network shows us.
//!
//! **Bounds.** Peer records: one per session. Fetcher, tracker and
//! known-transaction caches: their own documented caps. Answers in flight:
//! one `GetPooledTransactions` per peer (the fetcher's rule), so the internal
//! delivery channel holds at most one message per peer. Served cache:
//! [`TransactionsConfig::served_entries`] and
//! [`TransactionsConfig::served_bytes`]. `GetPooledTransactions` answers stop
//! at 2 MiB (geth `softResponseLimit`).

mod config;
mod served;

pub use config::{PeerFilter, TransactionsConfig};

use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};

use alloy_primitives::B256;
use alloy_rlp::Header;
use bytes::Bytes;
use ethp2p_eth::{
    message::{
        CellMask, EthMessage, NewPooledTransactionHashes, NewPooledTransactionHashes68,
        NewPooledTransactionHashes72, RawList, RequestPair,
    },
    version::EthVersion,
};
use ethp2p_rlpx::PeerId;
use ethp2p_session::{PeerInfo, PeerMessage, RequestError};
use ethp2p_wire::DisconnectReason;
use rand::{rngs::StdRng, RngCore, SeedableRng};
use tokio::{
    sync::{broadcast, mpsc, oneshot},
    time::Instant,
};
use tracing::{debug, trace};

use self::served::ServedCache;
use super::{
    announce::check_announcement,
    decode::{
        decode_broadcast_transactions, decode_pooled, decode_pooled_transactions, DecodedTx,
        TxDecodeError, BLOB_TX_TYPE,
    },
    fetcher::{FetchAction, FetcherStats, TxFetcher},
    known::SeenByPeers,
    propagate::{OutgoingTx, Propagator},
    stream::{FirstSeenRecord, FirstSeenTracker, Via},
    PenaltyKind,
};
use crate::{
    event::{IncomingMessage, NetworkEvent},
    handle::NetworkHandle,
    peers::{PeerKind, ReputationChangeKind},
};

/// Commands buffered from handles.
const COMMAND_BUFFER: usize = 64;
/// Where a `GetPooledTransactions` answer stops growing (geth `softResponseLimit`).
const MAX_ANSWER_BYTES: usize = 2 * 1024 * 1024;

/// Why a submitted transaction was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SubmitError {
    /// The bytes are not a transaction (EIP-2718 typed bytes, or a legacy
    /// RLP list; blob transactions in their network form, with sidecar).
    #[error("transaction does not decode: {0}")]
    Undecodable(#[source] TxDecodeError),
    /// The transaction is larger than the limit for its type.
    #[error("transaction of {size} bytes exceeds the limit of {max} bytes")]
    Oversized {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The signature does not recover a sender.
    #[error("invalid transaction signature")]
    InvalidSignature,
    /// No connected peer may receive it (none connected, or the propagation
    /// filter excludes them all).
    #[error("no peer to propagate to")]
    NoPeers,
    /// The transactions manager has stopped.
    #[error("the transactions manager has stopped")]
    ShutDown,
}

/// Counters of a running manager ([`TransactionsHandle::stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransactionsStats {
    /// Connected peers the manager knows of.
    pub peers: usize,
    /// Hashes accepted from announcements.
    pub announced: u64,
    /// Bodies received in `Transactions` broadcasts.
    pub broadcast: u64,
    /// Bodies received in answer to our requests.
    pub fetched: u64,
    /// Announced hashes or broadcast bodies a peer had already sent us
    /// (each peer link should carry a transaction once).
    pub repeated: u64,
    /// Announcements and broadcasts ignored in a peer's initial grace.
    pub skipped_initial: u64,
    /// `GetPooledTransactions` requests answered.
    pub served_requests: u64,
    /// Transactions sent in those answers.
    pub served_txs: u64,
    /// Transactions propagated (submitted here or relayed).
    pub propagated: u64,
    /// First-seen records published.
    pub records: u64,
    /// The fetcher's counters.
    pub fetcher: FetcherStats,
    /// Hashes the first-seen tracker holds.
    pub first_seen_held: usize,
    /// Transactions in the served cache.
    pub served_cached: usize,
    /// Raw bytes of those transactions.
    pub served_bytes: usize,
    /// Bytes held by the fetcher, tracker and known-transaction caches.
    pub memory_bytes: usize,
}

enum Command {
    Submit(Bytes, oneshot::Sender<Result<B256, SubmitError>>),
    Stats(oneshot::Sender<TransactionsStats>),
}

/// Drives a running [`TransactionsManager`]: cheap to clone.
#[derive(Clone)]
pub struct TransactionsHandle {
    tx: mpsc::Sender<Command>,
    records: Arc<broadcast::Receiver<FirstSeenRecord>>,
}

impl std::fmt::Debug for TransactionsHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransactionsHandle").finish_non_exhaustive()
    }
}

impl TransactionsHandle {
    /// A new subscription to first-seen records (from now on). A subscriber
    /// more than [`TransactionsConfig::record_buffer`] records behind misses
    /// the oldest (`RecvError::Lagged`). The channel closes when the manager
    /// stops.
    pub fn subscribe(&self) -> broadcast::Receiver<FirstSeenRecord> {
        self.records.resubscribe()
    }

    /// Decodes a raw transaction (EIP-2718 bytes as `eth_sendRawTransaction`
    /// takes them: `type ‖ payload`, or a legacy RLP list; blob transactions
    /// in their network form, with sidecar), hashes it and propagates it to
    /// the connected peers (bodies to ⌈√n⌉, hashes to the rest). Returns its
    /// hash.
    pub async fn submit_raw(&self, raw: impl Into<Bytes>) -> Result<B256, SubmitError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Command::Submit(raw.into(), tx))
            .await
            .map_err(|_| SubmitError::ShutDown)?;
        rx.await.map_err(|_| SubmitError::ShutDown)?
    }

    /// The manager's counters; `None` once it has stopped.
    pub async fn stats(&self) -> Option<TransactionsStats> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(Command::Stats(tx)).await.ok()?;
        rx.await.ok()
    }
}

struct Peer {
    version: EthVersion,
    client: Arc<str>,
    established: Instant,
    trusted: bool,
}

struct Delivery {
    peer: PeerId,
    result: Result<EthMessage, RequestError>,
}

/// The transactions task. Build it with [`new`](Self::new) before the
/// network runs (so it sees every session), take its
/// [`handle`](Self::handle), then `tokio::spawn(manager.run())`.
pub struct TransactionsManager {
    config: TransactionsConfig,
    network: NetworkHandle,
    messages: mpsc::Receiver<IncomingMessage>,
    events: broadcast::Receiver<NetworkEvent>,
    commands: mpsc::Receiver<Command>,
    handle: TransactionsHandle,
    records: broadcast::Sender<FirstSeenRecord>,
    deliveries_tx: mpsc::UnboundedSender<Delivery>,
    deliveries_rx: mpsc::UnboundedReceiver<Delivery>,
    peers: BTreeMap<PeerId, Peer>,
    fetcher: TxFetcher,
    tracker: FirstSeenTracker,
    seen: SeenByPeers,
    heard: SeenByPeers,
    propagator: Propagator,
    served: ServedCache,
    stats: TransactionsStats,
}

impl std::fmt::Debug for TransactionsManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransactionsManager")
            .field("peers", &self.peers.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl TransactionsManager {
    /// A manager over `network`, reading `messages` (the network's
    /// transaction-gossip stream).
    pub fn new(
        network: NetworkHandle,
        messages: mpsc::Receiver<IncomingMessage>,
        config: TransactionsConfig,
    ) -> Self {
        let mut rng = match config.seed {
            Some(s) => StdRng::seed_from_u64(s),
            None => StdRng::from_os_rng(),
        };
        let mut fetcher_cfg = config.fetcher.clone();
        fetcher_cfg.seed = rng.next_u64();
        let mut stream_cfg = config.stream;
        stream_cfg.seed = rng.next_u64();
        let now = Instant::now();
        let unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        let mut key = B256::ZERO;
        rng.fill_bytes(key.as_mut_slice());
        let (cmd_tx, commands) = mpsc::channel(COMMAND_BUFFER);
        let (records, records_rx) = broadcast::channel(config.record_buffer.max(1));
        let (deliveries_tx, deliveries_rx) = mpsc::unbounded_channel();
        Self {
            events: network.event_listener(),
            fetcher: TxFetcher::new(fetcher_cfg),
            tracker: FirstSeenTracker::new(stream_cfg, now, unix_ms),
            seen: SeenByPeers::new(config.known_per_peer, rng.next_u64()),
            heard: SeenByPeers::new(config.known_per_peer, rng.next_u64()),
            propagator: Propagator::new(network.local_id(), key, config.propagate),
            served: ServedCache::new(config.served_entries, config.served_bytes, rng.next_u64()),
            handle: TransactionsHandle {
                tx: cmd_tx,
                records: Arc::new(records_rx),
            },
            records,
            commands,
            deliveries_tx,
            deliveries_rx,
            peers: BTreeMap::new(),
            stats: TransactionsStats::default(),
            network,
            messages,
            config,
        }
    }

    /// A handle to submit transactions and subscribe to the first-seen stream.
    pub fn handle(&self) -> TransactionsHandle {
        self.handle.clone()
    }

    /// Runs until the network's transaction stream ends (the network stopped).
    pub async fn run(mut self) {
        self.resync().await;
        let mut commands_open = true;
        loop {
            self.drain().await;
            let deadline = match (self.fetcher.poll_timeout(), self.tracker.poll_timeout()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let timer = async move {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                ev = self.events.recv() => match ev {
                    Ok(ev) => self.on_event(ev).await,
                    Err(broadcast::error::RecvError::Lagged(_)) => self.resync().await,
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                cmd = self.commands.recv(), if commands_open => match cmd {
                    Some(cmd) => self.on_command(cmd).await,
                    None => commands_open = false,
                },
                Some(d) = self.deliveries_rx.recv() => self.on_delivery(d),
                msg = self.messages.recv() => match msg {
                    Some(msg) => self.on_message(msg).await,
                    None => break,
                },
                () = timer => {
                    let now = Instant::now();
                    self.fetcher.handle_timeout(now);
                    self.tracker.handle_timeout(now);
                }
            }
        }
        debug!("transactions manager stopped");
    }

    // ----- peers -----

    async fn add_peer(&mut self, info: &PeerInfo) {
        let trusted = if self.config.accept_from == PeerFilter::Trusted
            || self.config.propagate_to == PeerFilter::Trusted
        {
            matches!(
                self.network.peer(info.remote_id).await,
                Ok(Some(s)) if s.known.is_some_and(|k| k.kind == PeerKind::Trusted)
            )
        } else {
            false
        };
        self.peers.insert(
            info.remote_id,
            Peer {
                version: info.eth_version,
                client: Arc::from(info.client_version.as_str()),
                established: info.established,
                trusted,
            },
        );
    }

    fn remove_peer(&mut self, peer: &PeerId) {
        self.peers.remove(peer);
        self.fetcher.on_peer_gone(peer, Instant::now());
        self.seen.remove_peer(peer);
        self.heard.remove_peer(peer);
    }

    async fn on_event(&mut self, ev: NetworkEvent) {
        match ev {
            NetworkEvent::SessionEstablished { info, .. } => self.add_peer(&info).await,
            NetworkEvent::SessionClosed { peer_id, .. } => self.remove_peer(&peer_id),
            _ => {}
        }
    }

    /// Rebuilds the peer set from the network (at start, and after missing
    /// events).
    async fn resync(&mut self) {
        let Ok(list) = self.network.peers().await else {
            return;
        };
        let now: BTreeMap<PeerId, Arc<PeerInfo>> = list
            .into_iter()
            .map(|s| (s.info.remote_id, s.info))
            .collect();
        let gone: Vec<PeerId> = self
            .peers
            .keys()
            .filter(|id| !now.contains_key(*id))
            .copied()
            .collect();
        for id in gone {
            self.remove_peer(&id);
        }
        for (id, info) in now {
            if !self.peers.contains_key(&id) {
                self.add_peer(&info).await;
            }
        }
    }

    /// The peer's record, looked up from the network if its event has not
    /// arrived yet.
    async fn peer(&mut self, id: PeerId) -> Option<&Peer> {
        if !self.peers.contains_key(&id) {
            let info = self.network.peer(id).await.ok().flatten()?.info;
            self.add_peer(&info).await;
        }
        self.peers.get(&id)
    }

    fn passes(filter: PeerFilter, peer: &Peer) -> bool {
        match filter {
            PeerFilter::All => true,
            PeerFilter::Trusted => peer.trusted,
            PeerFilter::None => false,
        }
    }

    /// Whether gossip from `id` is taken in now; counts what its grace skips.
    async fn accepts(&mut self, id: PeerId, items: usize) -> Option<(Arc<str>, EthVersion)> {
        if !self.config.gossip {
            return None;
        }
        let filter = self.config.accept_from;
        let grace = self.config.initial_pool_grace;
        let peer = self.peer(id).await?;
        if !Self::passes(filter, peer) {
            return None;
        }
        let out = (peer.client.clone(), peer.version);
        if Instant::now() < peer.established + grace {
            self.stats.skipped_initial += items as u64;
            return None;
        }
        Some(out)
    }

    // ----- gossip in -----

    async fn on_message(&mut self, msg: IncomingMessage) {
        let peer = msg.peer_id;
        match msg.message {
            PeerMessage::Eth(EthMessage::NewPooledTransactionHashes(ann)) => {
                self.on_announcement(peer, ann).await
            }
            PeerMessage::Eth(EthMessage::Transactions(list)) => self.on_broadcast(peer, list).await,
            PeerMessage::EthRequest {
                request: EthMessage::GetPooledTransactions(req),
                responder,
            } => {
                if !self.config.gossip {
                    return; // dropping the responder answers empty
                }
                let mut bytes = 0;
                let mut items = Vec::new();
                for hash in &req.message {
                    if bytes >= MAX_ANSWER_BYTES {
                        break;
                    }
                    if let Some(tx) = self.served.get(hash) {
                        let enc = tx.network_encoding();
                        bytes += enc.len();
                        items.push(enc);
                        self.seen.mark(&peer, hash);
                    }
                }
                self.stats.served_requests += 1;
                self.stats.served_txs += items.len() as u64;
                let list = RawList::from_encoded_items(&items).unwrap_or_default();
                responder.respond(EthMessage::PooledTransactions(RequestPair {
                    request_id: req.request_id,
                    message: list,
                }));
            }
            other => trace!(?other, "not transaction gossip"),
        }
    }

    async fn on_announcement(&mut self, peer: PeerId, ann: NewPooledTransactionHashes) {
        let Some((client, version)) = self.accepts(peer, ann.len()).await else {
            return;
        };
        let now = Instant::now();
        let mut verdict = check_announcement(
            &ann,
            version,
            self.config.unknown_types,
            &self.config.decode_limits,
        );
        if let Some(bad) = &verdict.bad {
            debug!(peer = %ethp2p_rlpx::node_id(&peer), %bad, "bad announcement");
        }
        for a in &verdict.accepted {
            self.seen.mark(&peer, &a.hash);
            if !self.heard.mark(&peer, &a.hash) {
                self.stats.repeated += 1;
            }
        }
        self.stats.announced += verdict.accepted.len() as u64;
        verdict.accepted.retain(|a| !self.served.is_local(&a.hash));
        self.tracker
            .on_announcement(&peer, &client, &verdict.accepted, now);
        verdict
            .accepted
            .retain(|a| !self.tracker.is_done(&a.hash) && !self.served.contains(&a.hash));
        self.fetcher.on_checked_announcement(peer, &verdict, now);
    }

    async fn on_broadcast(&mut self, peer: PeerId, list: RawList) {
        let Some((client, _)) = self.accepts(peer, list.len()).await else {
            return;
        };
        let txs = match decode_broadcast_transactions(&list, &self.config.decode_limits) {
            Ok(txs) => txs,
            Err(e) => {
                debug!(peer = %ethp2p_rlpx::node_id(&peer), %e, "bad Transactions broadcast");
                self.penalise(peer, PenaltyKind::BadTransactions).await;
                return;
            }
        };
        let now = Instant::now();
        let metas: Vec<_> = txs.iter().map(DecodedTx::meta).collect();
        self.fetcher.on_broadcast(peer, &metas, now);
        self.stats.broadcast += txs.len() as u64;
        let mut relay = Vec::new();
        for tx in txs {
            if !self.heard.mark(&peer, &tx.hash()) {
                self.stats.repeated += 1;
            }
            if let Some(tx) = self.on_body(peer, &client, tx, Via::Broadcast, now) {
                relay.push(tx);
            }
        }
        self.relay(relay).await;
    }

    /// A body from `peer`: tracked, kept; returned if it is new here (to relay).
    fn on_body(
        &mut self,
        peer: PeerId,
        client: &Arc<str>,
        tx: DecodedTx,
        via: Via,
        now: Instant,
    ) -> Option<DecodedTx> {
        let hash = tx.hash();
        self.seen.mark(&peer, &hash);
        if self.served.is_local(&hash) {
            return None;
        }
        self.tracker.on_transaction(&peer, client, &tx, via, now);
        self.served.insert(tx.clone(), false).then_some(tx)
    }

    fn on_delivery(&mut self, d: Delivery) {
        let now = Instant::now();
        let txs = match d.result {
            Ok(EthMessage::PooledTransactions(p)) => {
                match decode_pooled_transactions(&p.message, &self.config.decode_limits) {
                    Ok(txs) => txs,
                    Err(e) => {
                        debug!(peer = %ethp2p_rlpx::node_id(&d.peer), %e, "bad PooledTransactions");
                        self.spawn_penalty(d.peer, PenaltyKind::BadTransactions);
                        Vec::new()
                    }
                }
            }
            Ok(_) | Err(_) => Vec::new(),
        };
        self.stats.fetched += txs.len() as u64;
        self.fetcher.on_delivery(d.peer, txs, now);
    }

    // ----- actions -----

    /// Applies the fetcher's actions and publishes released records.
    async fn drain(&mut self) {
        let mut relay = Vec::new();
        while let Some(action) = self.fetcher.poll_action() {
            match action {
                FetchAction::Request { peer, hashes } => {
                    let network = self.network.clone();
                    let back = self.deliveries_tx.clone();
                    tokio::spawn(async move {
                        let request = EthMessage::GetPooledTransactions(RequestPair {
                            request_id: 0,
                            message: hashes,
                        });
                        let result = match network.send_request(peer, request).await {
                            Ok(r) => r,
                            Err(_) => Err(RequestError::ConnectionClosed),
                        };
                        let _ = back.send(Delivery { peer, result });
                    });
                }
                FetchAction::Penalise { peer, kind } => self.penalise(peer, kind).await,
                FetchAction::Drop { peer, reason } => {
                    debug!(peer = %ethp2p_rlpx::node_id(&peer), %reason, "dropping peer");
                    self.penalise(peer, PenaltyKind::BadTransactions).await;
                    let _ = self
                        .network
                        .disconnect(peer, DisconnectReason::UselessPeer)
                        .await;
                }
                FetchAction::Deliver { peer, tx } => {
                    let client = self
                        .peers
                        .get(&peer)
                        .map(|p| p.client.clone())
                        .unwrap_or_else(|| Arc::from(""));
                    if let Some(tx) =
                        self.on_body(peer, &client, *tx, Via::Announcement, Instant::now())
                    {
                        relay.push(tx);
                    }
                }
            }
        }
        self.relay(relay).await;
        while let Some(record) = self.tracker.poll_record() {
            self.stats.records += 1;
            let _ = self.records.send(record);
        }
    }

    async fn penalise(&self, peer: PeerId, kind: PenaltyKind) {
        let _ = self
            .network
            .reputation_change(peer, reputation_kind(kind))
            .await;
    }

    fn spawn_penalty(&self, peer: PeerId, kind: PenaltyKind) {
        let network = self.network.clone();
        tokio::spawn(async move {
            let _ = network.reputation_change(peer, reputation_kind(kind)).await;
        });
    }

    // ----- gossip out -----

    async fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Submit(raw, reply) => {
                let r = self.submit(raw).await;
                let _ = reply.send(r);
            }
            Command::Stats(reply) => {
                let mut s = self.stats;
                s.peers = self.peers.len();
                s.fetcher = self.fetcher.stats();
                s.first_seen_held = self.tracker.len();
                s.served_cached = self.served.len();
                s.served_bytes = self.served.bytes();
                s.memory_bytes = self.fetcher.memory_bytes()
                    + self.tracker.memory_bytes()
                    + self.seen.memory_bytes()
                    + self.heard.memory_bytes();
                let _ = reply.send(s);
            }
        }
    }

    async fn submit(&mut self, raw: Bytes) -> Result<B256, SubmitError> {
        let limits = &self.config.decode_limits;
        let max = limits.max_tx_size.max(limits.max_blob_tx_size);
        if raw.len() > max {
            return Err(SubmitError::Oversized {
                size: raw.len(),
                max,
            });
        }
        let tx = decode_pooled(as_rlp_item(raw), limits).map_err(|e| match e {
            TxDecodeError::TooLarge { size, max, .. } => SubmitError::Oversized { size, max },
            e => SubmitError::Undecodable(e),
        })?;
        let out = OutgoingTx::from_tx(&tx).map_err(|_| SubmitError::InvalidSignature)?;
        let targets = self.targets();
        if targets.is_empty() {
            return Err(SubmitError::NoPeers);
        }
        let hash = tx.hash();
        self.served.insert(tx.clone(), true);
        self.propagate(&[out], &[tx], &targets).await;
        Ok(hash)
    }

    /// The peers propagation may reach, in id order.
    fn targets(&self) -> Vec<PeerId> {
        let filter = self.config.propagate_to;
        self.peers
            .iter()
            .filter(|(_, p)| Self::passes(filter, p))
            .map(|(id, _)| *id)
            .collect()
    }

    async fn relay(&mut self, txs: Vec<DecodedTx>) {
        if txs.is_empty() || !self.config.relay || !self.config.gossip {
            return;
        }
        let targets = self.targets();
        if targets.is_empty() {
            return;
        }
        let mut outs = Vec::with_capacity(txs.len());
        let mut kept = Vec::with_capacity(txs.len());
        for tx in txs {
            match OutgoingTx::from_tx(&tx) {
                Ok(o) => {
                    outs.push(o);
                    kept.push(tx);
                }
                Err(_) => trace!(hash = %tx.hash(), "not relayed: no sender"),
            }
        }
        self.propagate(&outs, &kept, &targets).await;
    }

    async fn propagate(&mut self, outs: &[OutgoingTx], txs: &[DecodedTx], targets: &[PeerId]) {
        let plan = self.propagator.plan(outs, targets, &mut self.seen);
        self.stats.propagated += txs.len() as u64;
        for p in plan {
            let version = self
                .peers
                .get(&p.peer)
                .map(|x| x.version)
                .unwrap_or(EthVersion::Eth68);
            for batch in &p.full {
                let items = batch.iter().map(|&i| txs[i].network_encoding());
                let Ok(list) = RawList::from_encoded_items(items) else {
                    continue;
                };
                let _ = self
                    .network
                    .send_message(p.peer, EthMessage::Transactions(list))
                    .await;
            }
            for batch in &p.announce {
                let msg = announcement(batch.iter().map(|&i| &txs[i]), version);
                let _ = self
                    .network
                    .send_message(p.peer, EthMessage::NewPooledTransactionHashes(msg))
                    .await;
            }
        }
    }
}

/// The announcement of `txs` in `version`'s shape.
fn announcement<'a>(
    txs: impl Iterator<Item = &'a DecodedTx>,
    version: EthVersion,
) -> NewPooledTransactionHashes {
    let mut types = Vec::new();
    let mut sizes = Vec::new();
    let mut hashes = Vec::new();
    for tx in txs {
        types.push(tx.tx_type());
        sizes.push(tx.size() as u64);
        hashes.push(tx.hash());
    }
    match version {
        EthVersion::Eth66 | EthVersion::Eth67 => NewPooledTransactionHashes::Eth66(hashes),
        EthVersion::Eth72 => {
            let blobs = types.contains(&BLOB_TX_TYPE);
            NewPooledTransactionHashes::Eth72(NewPooledTransactionHashes72 {
                types: types.into(),
                sizes,
                hashes,
                cell_mask: blobs.then_some(CellMask::ALL),
            })
        }
        _ => NewPooledTransactionHashes::Eth68(NewPooledTransactionHashes68 {
            types: types.into(),
            sizes,
            hashes,
        }),
    }
}

/// Raw EIP-2718 bytes as the RLP item the network carries: typed bytes
/// wrapped in a string header, a legacy list as it is.
fn as_rlp_item(raw: Bytes) -> Bytes {
    match raw.first() {
        Some(&b) if b < 0xc0 => {
            let mut out = Vec::with_capacity(raw.len() + 5);
            Header {
                list: false,
                payload_length: raw.len(),
            }
            .encode(&mut out);
            out.extend_from_slice(&raw);
            Bytes::from(out)
        }
        _ => raw,
    }
}

fn reputation_kind(kind: PenaltyKind) -> ReputationChangeKind {
    match kind {
        PenaltyKind::BadAnnouncement => ReputationChangeKind::BadAnnouncement,
        PenaltyKind::BadTransactions => ReputationChangeKind::BadTransactions,
        PenaltyKind::Timeout => ReputationChangeKind::Timeout,
    }
}

#[cfg(test)]
mod tests;
