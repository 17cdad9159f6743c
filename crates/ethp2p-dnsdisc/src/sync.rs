//! The sans-IO tree sync: which names to resolve, and what their answers mean.
//!
//! [`DnsSync`] walks one or more trees (the configured ones and every tree
//! their link subtrees point to). It never touches a socket or a clock: the
//! caller asks it for the next name with [`DnsSync::poll_query`], resolves it
//! however it likes, hands the answer back with [`DnsSync::on_answer`], drains
//! [`DnsSync::poll_event`] and sleeps until [`DnsSync::poll_timeout`].
//!
//! Rules, each with a test in `sync/tests.rs`:
//! - the root must carry a valid signature under the tree's key, and its `seq`
//!   never goes backwards (an older root is refused, the known tree kept);
//! - the root is re-resolved every [`SyncConfig::recheck_interval`]; a new
//!   root restarts the walk, skipping subtrees already fetched in full;
//! - every entry must hash to the subdomain it was served at; links only in
//!   the link subtree, ENRs only in the ENR subtree;
//! - each hash is resolved at most once per walk (a second reference is a
//!   [`SyncError::Duplicate`]: trees are acyclic, so that is how a loop or a
//!   padded tree shows); depth, entries per tree and number of trees are
//!   bounded;
//! - queries go out at most [`SyncConfig::rate`] per second after a burst of
//!   [`SyncConfig::burst`], at most [`SyncConfig::max_in_flight`] at once, each
//!   abandoned after [`SyncConfig::query_timeout`]; failed entry lookups are
//!   retried [`SyncConfig::max_retries`] times after [`SyncConfig::retry_delay`],
//!   failed roots after [`SyncConfig::root_retry_delay`];
//! - the link subtree is walked before the ENR subtree; within one, the next
//!   entry is drawn at random (seeded RNG), as the spec recommends.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::time::Instant;
use tracing::{debug, trace};

use crate::tree::{self, Entry, EntryError, EntryHash, LinkEntry, RootEntry, MAX_RECORD_LEN};
use crate::Enr;

/// Most TXT records of one answer that are looked at; the rest are ignored.
pub const MAX_TXT_RECORDS: usize = 16;

/// Tunables of [`DnsSync`]. The defaults follow geth where it has a value.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// How often a tree's root is re-resolved (geth: 30 min).
    pub recheck_interval: Duration,
    /// How long one lookup may take before it counts as failed (geth: 5 s).
    pub query_timeout: Duration,
    /// Sustained queries per second (geth: 3).
    pub rate: u32,
    /// Queries that may go out at once after a quiet period (geth: 10).
    pub burst: u32,
    /// Lookups outstanding at once.
    pub max_in_flight: usize,
    /// Entries (branches and leaves) walked per tree and root; beyond it the
    /// walk stops with [`SyncError::TooManyEntries`]. Also bounds the per-tree
    /// hash sets.
    pub max_entries: usize,
    /// Branch levels below a subtree root; deeper entries are not fetched.
    pub max_depth: usize,
    /// Trees synced at once, the configured ones and those reached by links.
    pub max_trees: usize,
    /// Wait before retrying a failed entry lookup.
    pub retry_delay: Duration,
    /// Retries of a failed entry lookup before it is given up.
    pub max_retries: u32,
    /// Wait before retrying a failed or refused root.
    pub root_retry_delay: Duration,
    /// Events held before [`DnsSync::poll_query`] stops handing out queries
    /// (back-pressure on a slow consumer).
    pub max_pending_events: usize,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            recheck_interval: Duration::from_secs(30 * 60),
            query_timeout: Duration::from_secs(5),
            rate: 3,
            burst: 10,
            max_in_flight: 4,
            max_entries: 20_000,
            max_depth: 8,
            max_trees: 16,
            retry_delay: Duration::from_secs(10),
            max_retries: 2,
            root_retry_delay: Duration::from_secs(60),
            max_pending_events: 256,
        }
    }
}

/// Why a lookup produced no TXT records.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LookupError {
    /// The name does not exist or has no TXT records.
    #[error("no TXT records")]
    NotFound,
    /// No answer within the query timeout.
    #[error("timed out")]
    Timeout,
    /// Any other resolver failure.
    #[error("{0}")]
    Failed(String),
}

/// Which subtree an entry hangs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subtree {
    /// Under the root's `e=`: branches and ENRs.
    Enr,
    /// Under the root's `l=`: branches and links.
    Link,
}

/// A problem with one tree. None of these stops the other trees; most only
/// skip one entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The lookup failed (after its retries, for an entry).
    #[error("lookup of {name} failed: {error}")]
    Lookup {
        /// The name looked up.
        name: String,
        /// Why.
        error: LookupError,
    },
    /// The tree's domain holds no `enrtree-root:` record.
    #[error("{name} holds no enrtree root")]
    NoRoot {
        /// The domain.
        name: String,
    },
    /// A record was refused: malformed, too long, wrong hash, bad signature.
    #[error("record at {name}: {error}")]
    Entry {
        /// Where it was served.
        name: String,
        /// Which rule it broke.
        error: EntryError,
    },
    /// The root's `seq` is lower than one already accepted; it was ignored.
    #[error("root seq went backwards from {known} to {got}")]
    SeqWentBackwards {
        /// The highest seq accepted so far.
        known: u64,
        /// The refused root's seq.
        got: u64,
    },
    /// An entry of the wrong kind for where it sits (a root inside the tree,
    /// a link under `e=`, an ENR under `l=`).
    #[error("unexpected {found} entry at {name} in the {subtree:?} subtree")]
    UnexpectedEntry {
        /// Where it was served.
        name: String,
        /// `"root"`, `"link"` or `"enr"`.
        found: &'static str,
        /// The subtree it was found in.
        subtree: Subtree,
    },
    /// A hash referenced a second time in one walk (a loop or a padded tree);
    /// the repeat was skipped.
    #[error("hash {hash} referenced twice")]
    Duplicate {
        /// The repeated hash.
        hash: EntryHash,
    },
    /// A branch sits deeper than [`SyncConfig::max_depth`]; its children were skipped.
    #[error("branch at {name} is deeper than {max} levels")]
    TooDeep {
        /// The branch.
        name: String,
        /// The limit.
        max: usize,
    },
    /// The tree has more than [`SyncConfig::max_entries`] entries; the walk stopped growing.
    #[error("tree has more than {max} entries")]
    TooManyEntries {
        /// The limit.
        max: usize,
    },
    /// A link pointed to a new tree while [`SyncConfig::max_trees`] are synced.
    #[error("link to {domain} ignored: already syncing {max} trees")]
    TooManyTrees {
        /// The linked domain.
        domain: String,
        /// The limit.
        max: usize,
    },
}

/// What the sync found.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SyncEvent {
    /// A node record not seen before in this tree.
    Node {
        /// Domain of the tree it came from.
        tree: String,
        /// The record (signature verified).
        enr: Box<Enr>,
    },
    /// A root with a new seq or new subtree hashes was accepted.
    RootUpdated {
        /// The tree's domain.
        tree: String,
        /// Its seq.
        seq: u64,
    },
    /// Every entry reachable from the current root has been handled.
    TreeSynced {
        /// The tree's domain.
        tree: String,
        /// The root's seq.
        seq: u64,
        /// Entries fetched in this walk (carried-over subtrees not counted).
        fetched: usize,
    },
    /// A link subtree pointed to a tree not yet synced; it is now.
    LinkAdded {
        /// The tree holding the link.
        from: String,
        /// The linked tree.
        link: LinkEntry,
    },
    /// A problem with one tree.
    Error {
        /// The tree's domain.
        tree: String,
        /// What went wrong.
        error: SyncError,
    },
}

/// Names a lookup handed out by [`DnsSync::poll_query`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct QueryId(u64);

/// A TXT lookup to perform.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a query handed out must be answered or it blocks a slot until it times out"]
pub struct Query {
    /// Pass back to [`DnsSync::on_answer`].
    pub id: QueryId,
    /// The name whose TXT records are wanted, without a trailing dot.
    pub name: String,
}

#[derive(Debug, Clone, Copy)]
enum Target {
    Root,
    Entry {
        hash: EntryHash,
        subtree: Subtree,
        depth: usize,
        attempts: u32,
        generation: u64,
    },
}

#[derive(Debug)]
struct InFlight {
    tree: usize,
    target: Target,
    deadline: Instant,
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    hash: EntryHash,
    subtree: Subtree,
    depth: usize,
    attempts: u32,
    not_before: Instant,
}

/// What a walk knows about a hash it has referenced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Visit {
    /// Queued or in flight.
    Queued,
    /// A leaf (ENR or link) handled.
    Leaf,
    /// A branch whose children were queued.
    Branch,
    /// Given up (lookup or record refused).
    Failed,
}

#[derive(Debug)]
struct Tree {
    link: LinkEntry,
    /// Highest accepted seq.
    seq: Option<u64>,
    root: Option<RootEntry>,
    next_root_check: Instant,
    root_in_flight: bool,
    /// Bumped with every accepted root; answers of older walks are dropped.
    generation: u64,
    pending: Vec<Pending>,
    entries_in_flight: usize,
    /// Hashes referenced in the current walk (bounded by `max_entries`).
    visited: HashMap<EntryHash, Visit>,
    /// Hashes whose whole subtree was handled by an earlier walk (bounded by `max_entries`).
    done: HashSet<EntryHash>,
    fetched: usize,
    /// The walk lost an entry or hit a bound: its branches do not go to `done`.
    lossy: bool,
    synced: bool,
}

impl Tree {
    fn new(link: LinkEntry, now: Instant) -> Self {
        Self {
            link,
            seq: None,
            root: None,
            next_root_check: now,
            root_in_flight: false,
            generation: 0,
            pending: Vec::new(),
            entries_in_flight: 0,
            visited: HashMap::new(),
            done: HashSet::new(),
            fetched: 0,
            lossy: false,
            synced: false,
        }
    }

    fn name_of(&self, hash: &EntryHash) -> String {
        format!("{hash}.{}", self.link.domain)
    }
}

/// Token bucket: `burst` tokens, one more every `1 / rate`.
#[derive(Debug)]
struct RateLimit {
    tokens: u32,
    burst: u32,
    interval: Duration,
    last_refill: Instant,
}

impl RateLimit {
    fn new(rate: u32, burst: u32, now: Instant) -> Self {
        let burst = burst.max(1);
        Self {
            tokens: burst,
            burst,
            interval: Duration::from_secs(1) / rate.max(1),
            last_refill: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        if self.tokens >= self.burst {
            self.last_refill = now;
            return;
        }
        let elapsed = now.saturating_duration_since(self.last_refill);
        let new = (elapsed.as_nanos() / self.interval.as_nanos().max(1)) as u64;
        if new == 0 {
            return;
        }
        let tokens = u64::from(self.tokens).saturating_add(new);
        if tokens >= u64::from(self.burst) {
            self.tokens = self.burst;
            self.last_refill = now;
        } else {
            self.tokens = tokens as u32;
            // `new < burst`, so this fits.
            self.last_refill += self.interval * new as u32;
        }
    }

    /// When the next token arrives, if none is left.
    fn next_token(&self) -> Option<Instant> {
        (self.tokens == 0).then(|| self.last_refill + self.interval)
    }
}

/// The sans-IO DNS discovery client: every tree it syncs, its queries in
/// flight, its rate limit and its pending events. All state is bounded by
/// [`SyncConfig`]: trees by `max_trees`, hashes and queued entries per tree
/// by `max_entries`, queries in flight by `max_in_flight`, events by
/// `max_pending_events` (plus the few one answer can add).
#[derive(Debug)]
pub struct DnsSync {
    config: SyncConfig,
    rng: StdRng,
    trees: Vec<Tree>,
    in_flight: HashMap<QueryId, InFlight>,
    next_id: u64,
    rate: RateLimit,
    events: VecDeque<SyncEvent>,
    /// Tree to look at first next time (round robin).
    cursor: usize,
}

impl DnsSync {
    /// A client with no trees yet; `seed` drives the walk order.
    pub fn new(config: SyncConfig, seed: u64, now: Instant) -> Self {
        let rate = RateLimit::new(config.rate, config.burst, now);
        Self {
            config,
            rng: StdRng::seed_from_u64(seed),
            trees: Vec::new(),
            in_flight: HashMap::new(),
            next_id: 0,
            rate,
            events: VecDeque::new(),
            cursor: 0,
        }
    }

    /// Starts syncing the tree at `url`; its root is due at once. Returns
    /// `false` if that domain is already synced or `max_trees` are.
    pub fn add_tree(&mut self, url: LinkEntry, now: Instant) -> bool {
        if self.knows_domain(&url.domain) || self.trees.len() >= self.config.max_trees {
            return false;
        }
        debug!(tree = %url.domain, "dnsdisc: syncing tree");
        self.trees.push(Tree::new(url, now));
        true
    }

    /// The configuration in force.
    pub fn config(&self) -> &SyncConfig {
        &self.config
    }

    /// The domains being synced, configured and linked.
    pub fn trees(&self) -> impl Iterator<Item = &str> {
        self.trees.iter().map(|t| t.link.domain.as_str())
    }

    /// The highest root seq accepted for `domain`.
    pub fn seq(&self, domain: &str) -> Option<u64> {
        self.trees
            .iter()
            .find(|t| t.link.domain.eq_ignore_ascii_case(domain))
            .and_then(|t| t.seq)
    }

    /// Lookups handed out and not yet answered or timed out.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    fn knows_domain(&self, domain: &str) -> bool {
        self.trees
            .iter()
            .any(|t| t.link.domain.eq_ignore_ascii_case(domain))
    }

    fn push_error(&mut self, tree: usize, error: SyncError) {
        let domain = self.trees[tree].link.domain.clone();
        debug!(tree = %domain, %error, "dnsdisc");
        self.events.push_back(SyncEvent::Error {
            tree: domain,
            error,
        });
    }

    /// Abandons lookups past their deadline (they count as failed with
    /// [`LookupError::Timeout`]; a late answer is ignored).
    pub fn handle_timeout(&mut self, now: Instant) {
        let expired: Vec<QueryId> = self
            .in_flight
            .iter()
            .filter(|(_, q)| q.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            self.on_answer(id, Err(LookupError::Timeout), now);
        }
    }

    /// The next name to resolve, if the rate limit, the in-flight bound, the
    /// event back-pressure and the trees' schedules allow one now.
    pub fn poll_query(&mut self, now: Instant) -> Option<Query> {
        self.handle_timeout(now);
        if self.events.len() >= self.config.max_pending_events
            || self.in_flight.len() >= self.config.max_in_flight
        {
            return None;
        }
        self.rate.refill(now);
        if self.rate.tokens == 0 {
            return None;
        }
        let n = self.trees.len();
        for step in 0..n {
            let index = (self.cursor + step) % n;
            if let Some((target, name)) = self.next_target(index, now) {
                self.cursor = (index + 1) % n.max(1);
                self.rate.tokens -= 1;
                let id = QueryId(self.next_id);
                self.next_id += 1;
                self.in_flight.insert(
                    id,
                    InFlight {
                        tree: index,
                        target,
                        deadline: now + self.config.query_timeout,
                    },
                );
                trace!(%name, "dnsdisc: query");
                return Some(Query { id, name });
            }
        }
        None
    }

    fn next_target(&mut self, index: usize, now: Instant) -> Option<(Target, String)> {
        let tree = &mut self.trees[index];
        if !tree.root_in_flight && tree.next_root_check <= now {
            tree.root_in_flight = true;
            return Some((Target::Root, tree.link.domain.clone()));
        }
        // Link subtree first, then ENRs; a random ready entry within the subtree.
        let ready = |p: &Pending, s: Subtree| p.subtree == s && p.not_before <= now;
        let subtree = [Subtree::Link, Subtree::Enr]
            .into_iter()
            .find(|s| tree.pending.iter().any(|p| ready(p, *s)))?;
        let count = tree.pending.iter().filter(|p| ready(p, subtree)).count();
        let pick = self.rng.random_range(0..count);
        let position = tree
            .pending
            .iter()
            .enumerate()
            .filter(|(_, p)| ready(p, subtree))
            .nth(pick)
            .map(|(i, _)| i)?;
        let p = tree.pending.swap_remove(position);
        tree.entries_in_flight += 1;
        let name = tree.name_of(&p.hash);
        Some((
            Target::Entry {
                hash: p.hash,
                subtree: p.subtree,
                depth: p.depth,
                attempts: p.attempts,
                generation: tree.generation,
            },
            name,
        ))
    }

    /// When to call [`DnsSync::poll_query`] (or [`DnsSync::handle_timeout`])
    /// next: the earliest query deadline, or when the next piece of work and a
    /// rate-limit token are both available. `None` when there is nothing to
    /// wait for (only answers can change that).
    pub fn poll_timeout(&self) -> Option<Instant> {
        let deadline = self.in_flight.values().map(|q| q.deadline).min();
        let work = if self.in_flight.len() >= self.config.max_in_flight
            || self.events.len() >= self.config.max_pending_events
        {
            None
        } else {
            self.trees
                .iter()
                .flat_map(|t| {
                    let root = (!t.root_in_flight).then_some(t.next_root_check);
                    root.into_iter()
                        .chain(t.pending.iter().map(|p| p.not_before))
                })
                .min()
                .map(|at| match self.rate.next_token() {
                    Some(token) => at.max(token),
                    None => at,
                })
        };
        match (deadline, work) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<SyncEvent> {
        self.events.pop_front()
    }

    /// Hands back the answer to a query: the TXT records at the name (each one
    /// record's character-strings joined), or why there are none. Answers to
    /// unknown or timed-out queries are ignored.
    pub fn on_answer(
        &mut self,
        id: QueryId,
        answer: Result<Vec<String>, LookupError>,
        now: Instant,
    ) {
        let Some(query) = self.in_flight.remove(&id) else {
            trace!(?id, "dnsdisc: answer to an unknown or expired query");
            return;
        };
        match query.target {
            Target::Root => self.on_root(query.tree, answer, now),
            Target::Entry {
                hash,
                subtree,
                depth,
                attempts,
                generation,
            } => {
                let tree = &mut self.trees[query.tree];
                tree.entries_in_flight = tree.entries_in_flight.saturating_sub(1);
                if generation != tree.generation {
                    return;
                }
                let pending = Pending {
                    hash,
                    subtree,
                    depth,
                    attempts,
                    not_before: now,
                };
                self.on_entry(query.tree, pending, answer, now);
                self.check_synced(query.tree);
            }
        }
    }

    fn on_root(&mut self, index: usize, answer: Result<Vec<String>, LookupError>, now: Instant) {
        let retry_at = now + self.config.root_retry_delay;
        let tree = &mut self.trees[index];
        tree.root_in_flight = false;
        tree.next_root_check = retry_at;
        let domain = tree.link.domain.clone();
        let txts = match answer {
            Ok(txts) => txts,
            Err(error) => {
                return self.push_error(
                    index,
                    SyncError::Lookup {
                        name: domain,
                        error,
                    },
                );
            }
        };
        let Some(text) = txts
            .iter()
            .take(MAX_TXT_RECORDS)
            .find(|t| t.starts_with("enrtree-root:"))
        else {
            return self.push_error(index, SyncError::NoRoot { name: domain });
        };
        let root = match tree::parse_entry(text) {
            Ok(Entry::Root(root)) => root,
            // Only a root parses from a text with that prefix; refuse anything else.
            Ok(_) => return self.push_error(index, SyncError::NoRoot { name: domain }),
            Err(error) => {
                return self.push_error(
                    index,
                    SyncError::Entry {
                        name: domain,
                        error,
                    },
                )
            }
        };
        if let Err(error) = root.verify(&tree.link.public_key) {
            return self.push_error(
                index,
                SyncError::Entry {
                    name: domain,
                    error,
                },
            );
        }
        if let Some(known) = tree.seq {
            if root.seq < known {
                // The tree already held is fine: look again at the usual interval.
                tree.next_root_check = now + self.config.recheck_interval;
                return self.push_error(
                    index,
                    SyncError::SeqWentBackwards {
                        known,
                        got: root.seq,
                    },
                );
            }
        }
        tree.next_root_check = now + self.config.recheck_interval;
        let unchanged = tree
            .root
            .as_ref()
            .is_some_and(|old| old.enr_root == root.enr_root && old.link_root == root.link_root);
        tree.seq = Some(root.seq);
        if unchanged {
            trace!(tree = %domain, seq = root.seq, "dnsdisc: root unchanged");
            tree.root = Some(root);
            return;
        }
        self.start_walk(index, root, now);
    }

    /// A new root: keep what the last walk fully handled, walk from the new hashes.
    fn start_walk(&mut self, index: usize, root: RootEntry, now: Instant) {
        let max_entries = self.config.max_entries;
        let tree = &mut self.trees[index];
        // An unfinished walk's handled leaves stay skippable; its branches may be partial.
        let keep: Vec<EntryHash> = tree
            .visited
            .iter()
            .filter(|(_, v)| {
                **v == Visit::Leaf || (tree.synced && !tree.lossy && **v == Visit::Branch)
            })
            .map(|(h, _)| *h)
            .collect();
        if tree.done.len() + keep.len() > max_entries {
            tree.done.clear();
        }
        tree.done.extend(keep.into_iter().take(max_entries));
        tree.visited.clear();
        tree.pending.clear();
        tree.generation += 1;
        tree.fetched = 0;
        tree.lossy = false;
        tree.synced = false;
        let seq = root.seq;
        // Both subtrees empty share one hash (`enrtree-branch:`): fetch it once, quietly.
        let heads = if root.link_root == root.enr_root {
            vec![(root.enr_root, Subtree::Enr)]
        } else {
            vec![
                (root.link_root, Subtree::Link),
                (root.enr_root, Subtree::Enr),
            ]
        };
        tree.root = Some(root);
        let domain = tree.link.domain.clone();
        for (hash, subtree) in heads {
            self.enqueue(index, hash, subtree, 0, now);
        }
        self.events
            .push_back(SyncEvent::RootUpdated { tree: domain, seq });
        self.check_synced(index);
    }

    /// References `hash` from the current walk, unless already referenced or done.
    fn enqueue(
        &mut self,
        index: usize,
        hash: EntryHash,
        subtree: Subtree,
        depth: usize,
        now: Instant,
    ) {
        let max_entries = self.config.max_entries;
        let tree = &mut self.trees[index];
        if tree.visited.contains_key(&hash) {
            return self.push_error(index, SyncError::Duplicate { hash });
        }
        if tree.done.contains(&hash) {
            tree.visited.insert(hash, Visit::Leaf);
            return;
        }
        if tree.visited.len() >= max_entries {
            let first = !tree.lossy;
            tree.lossy = true;
            if first {
                self.push_error(index, SyncError::TooManyEntries { max: max_entries });
            }
            return;
        }
        tree.visited.insert(hash, Visit::Queued);
        tree.pending.push(Pending {
            hash,
            subtree,
            depth,
            attempts: 0,
            not_before: now,
        });
    }

    fn fail_entry(&mut self, index: usize, hash: EntryHash, error: SyncError) {
        let tree = &mut self.trees[index];
        tree.visited.insert(hash, Visit::Failed);
        tree.lossy = true;
        self.push_error(index, error);
    }

    fn on_entry(
        &mut self,
        index: usize,
        mut p: Pending,
        answer: Result<Vec<String>, LookupError>,
        now: Instant,
    ) {
        let name = self.trees[index].name_of(&p.hash);
        let txts = match answer {
            Ok(txts) => txts,
            Err(error) => {
                if p.attempts < self.config.max_retries {
                    p.attempts += 1;
                    p.not_before = now + self.config.retry_delay;
                    self.trees[index].pending.push(p);
                } else {
                    self.fail_entry(index, p.hash, SyncError::Lookup { name, error });
                }
                return;
            }
        };
        let records = || txts.iter().take(MAX_TXT_RECORDS);
        let Some(text) = records().find(|t| t.len() <= MAX_RECORD_LEN && p.hash.matches(t)) else {
            // Say why the most telling record was refused.
            let error = match records().find(|t| t.len() > MAX_RECORD_LEN) {
                Some(long) => EntryError::TooLong {
                    len: long.len(),
                    max: MAX_RECORD_LEN,
                },
                None => EntryError::HashMismatch,
            };
            return self.fail_entry(index, p.hash, SyncError::Entry { name, error });
        };
        let entry = match tree::parse_entry(text) {
            Ok(entry) => entry,
            Err(error) => return self.fail_entry(index, p.hash, SyncError::Entry { name, error }),
        };
        self.trees[index].fetched += 1;
        let unexpected = |found| SyncError::UnexpectedEntry {
            name: name.clone(),
            found,
            subtree: p.subtree,
        };
        match (entry, p.subtree) {
            (Entry::Branch(branch), _) => {
                if p.depth >= self.config.max_depth {
                    let max = self.config.max_depth;
                    return self.fail_entry(index, p.hash, SyncError::TooDeep { name, max });
                }
                self.trees[index].visited.insert(p.hash, Visit::Branch);
                for child in branch.children {
                    self.enqueue(index, child, p.subtree, p.depth + 1, now);
                }
            }
            (Entry::Enr(enr), Subtree::Enr) => {
                let tree = &mut self.trees[index];
                tree.visited.insert(p.hash, Visit::Leaf);
                self.events.push_back(SyncEvent::Node {
                    tree: tree.link.domain.clone(),
                    enr,
                });
            }
            (Entry::Link(link), Subtree::Link) => {
                self.trees[index].visited.insert(p.hash, Visit::Leaf);
                self.on_link(index, link, now);
            }
            (Entry::Root(_), _) => self.fail_entry(index, p.hash, unexpected("root")),
            (Entry::Link(_), Subtree::Enr) => self.fail_entry(index, p.hash, unexpected("link")),
            (Entry::Enr(_), Subtree::Link) => self.fail_entry(index, p.hash, unexpected("enr")),
        }
    }

    fn on_link(&mut self, index: usize, link: LinkEntry, now: Instant) {
        if self.knows_domain(&link.domain) {
            // Trees may link each other (the spec's federation); one sync each.
            trace!(domain = %link.domain, "dnsdisc: link to a known tree");
            return;
        }
        if self.trees.len() >= self.config.max_trees {
            let error = SyncError::TooManyTrees {
                domain: link.domain,
                max: self.config.max_trees,
            };
            return self.push_error(index, error);
        }
        let from = self.trees[index].link.domain.clone();
        self.trees.push(Tree::new(link.clone(), now));
        self.events.push_back(SyncEvent::LinkAdded { from, link });
    }

    fn check_synced(&mut self, index: usize) {
        let tree = &mut self.trees[index];
        if tree.synced
            || tree.root.is_none()
            || !tree.pending.is_empty()
            || tree.entries_in_flight > 0
        {
            return;
        }
        tree.synced = true;
        let seq = tree.seq.unwrap_or_default();
        debug!(tree = %tree.link.domain, seq, fetched = tree.fetched, "dnsdisc: tree synced");
        self.events.push_back(SyncEvent::TreeSynced {
            tree: tree.link.domain.clone(),
            seq,
            fetched: tree.fetched,
        });
    }
}

#[cfg(test)]
mod tests;
