//! The tokio driver: one task that walks the trees with [`DnsSync`], resolves
//! through a [`TxtResolver`] and sends every new node record through a bounded
//! channel.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;
use tracing::{debug, info};

use crate::resolver::TxtResolver;
use crate::sync::{DnsSync, LookupError, QueryId, SyncConfig, SyncEvent};
use crate::tree::LinkEntry;
use crate::DnsNode;

/// Settings of [`spawn`].
#[derive(Debug, Clone)]
pub struct DriverConfig {
    /// The sync core's rules and bounds.
    pub sync: SyncConfig,
    /// Capacity of the node channel; when it is full the task stops issuing
    /// queries until the receiver catches up.
    pub channel_capacity: usize,
    /// Seed of the walk order.
    pub seed: u64,
}

impl Default for DriverConfig {
    fn default() -> Self {
        Self {
            sync: SyncConfig::default(),
            channel_capacity: 256,
            seed: rand::random(),
        }
    }
}

/// Commands a [`DnsDiscoveryHandle`] can send; at most this many wait.
const COMMAND_CAPACITY: usize = 16;

/// Controls the task started by [`spawn`]; dropping it stops the task.
#[derive(Debug)]
#[must_use = "dropping the handle stops DNS discovery"]
pub struct DnsDiscoveryHandle {
    commands: mpsc::Sender<LinkEntry>,
    task: JoinHandle<()>,
}

impl DnsDiscoveryHandle {
    /// Adds a tree to sync. `false` if the task has ended or its command
    /// queue is full.
    pub fn add_tree(&self, url: LinkEntry) -> bool {
        self.commands.try_send(url).is_ok()
    }

    /// Whether the task has ended (the node receiver was dropped).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

impl Drop for DnsDiscoveryHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts syncing `trees`. New node records arrive on the returned receiver;
/// the task ends when the receiver or the handle is dropped.
pub fn spawn<R: TxtResolver>(
    resolver: R,
    trees: Vec<LinkEntry>,
    config: DriverConfig,
) -> (DnsDiscoveryHandle, mpsc::Receiver<DnsNode>) {
    let now = Instant::now();
    let mut sync = DnsSync::new(config.sync, config.seed, now);
    for url in trees {
        sync.add_tree(url, now);
    }
    let (tx, rx) = mpsc::channel(config.channel_capacity.max(1));
    let (commands, command_rx) = mpsc::channel(COMMAND_CAPACITY);
    let task = tokio::spawn(run(Arc::new(resolver), sync, tx, command_rx));
    (DnsDiscoveryHandle { commands, task }, rx)
}

async fn run(
    resolver: Arc<dyn TxtResolver>,
    mut sync: DnsSync,
    nodes: mpsc::Sender<DnsNode>,
    mut commands: mpsc::Receiver<LinkEntry>,
) {
    // Each lookup task ends by the query timeout, so this holds at most the
    // core's in-flight bound plus those just abandoned.
    let mut lookups: JoinSet<(QueryId, Result<Vec<String>, LookupError>)> = JoinSet::new();
    let mut commands_open = true;
    loop {
        let now = Instant::now();
        while let Some(query) = sync.poll_query(now) {
            let resolver = resolver.clone();
            let timeout = sync_query_timeout(&sync);
            lookups.spawn(async move {
                let answer = tokio::time::timeout(timeout, resolver.lookup_txt(&query.name))
                    .await
                    .unwrap_or(Err(LookupError::Timeout));
                (query.id, answer)
            });
        }
        while let Some(event) = sync.poll_event() {
            match event {
                SyncEvent::Node { tree, enr } => {
                    if nodes.send(DnsNode::new(tree, *enr)).await.is_err() {
                        return;
                    }
                }
                SyncEvent::TreeSynced { tree, seq, fetched } => {
                    info!(%tree, seq, fetched, "dnsdisc: tree synced");
                }
                other => debug!(event = ?other, "dnsdisc"),
            }
        }
        let deadline = sync.poll_timeout();
        tokio::select! {
            Some(joined) = lookups.join_next(), if !lookups.is_empty() => {
                // A panicked lookup task leaves its query to time out in the core.
                if let Ok((id, answer)) = joined {
                    sync.on_answer(id, answer, Instant::now());
                }
            }
            _ = sleep_until_opt(deadline) => sync.handle_timeout(Instant::now()),
            command = commands.recv(), if commands_open => match command {
                Some(url) => {
                    sync.add_tree(url, Instant::now());
                }
                None => commands_open = false,
            },
            _ = nodes.closed() => return,
        }
    }
}

fn sync_query_timeout(sync: &DnsSync) -> std::time::Duration {
    sync.config().query_timeout
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
