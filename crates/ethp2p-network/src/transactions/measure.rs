//! A measurement the benchmark calls: how many announced hashes per second
//! go through announcement checks and the fetcher on one core, and how many
//! bytes each tracked hash costs.
//!
//! Workload: `peers` peers each announce one eth/68 message of
//! `hashes_per_peer` hashes (type 2, 200 bytes), all unknown. Timed:
//! [`check_announcement`] + [`TxFetcher::on_checked_announcement`] + the
//! per-peer seen cache, for every message; then, separately, the timer that
//! ends the 500 ms wait and schedules the first request of every peer.
//! Memory is the capacity of the fetcher's tables (and, separately, of the
//! seen caches) divided by the hashes tracked.

use std::time::Instant as WallClock;

use alloy_primitives::B256;
use bytes::Bytes;
use ethp2p_eth::{
    message::{NewPooledTransactionHashes, NewPooledTransactionHashes68},
    version::EthVersion,
};
use ethp2p_rlpx::PeerId;
use serde::Serialize;
use tokio::time::{Duration, Instant};

use super::{
    announce::{check_announcement, UnknownTypePolicy},
    decode::DecodeLimits,
    fetcher::{FetchAction, FetcherConfig, TxFetcher},
    known::{SeenByPeers, MAX_KNOWN_TXS},
};

/// The numbers [`measure_announcements`] reports (serialised as JSON by the
/// benchmark).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AnnounceMeasurement {
    /// Peers announcing.
    pub peers: usize,
    /// Hashes per announcement.
    pub hashes_per_peer: usize,
    /// Whether every peer announced the same hashes (else all distinct).
    pub overlapping: bool,
    /// Hashes tracked by the fetcher afterwards.
    pub tracked: usize,
    /// Announced hashes per second through checks, fetcher and seen cache.
    pub announced_hashes_per_sec: f64,
    /// Seconds spent on the announcements.
    pub announce_secs: f64,
    /// Seconds for the timer pass that queues everything and issues the
    /// first request of every peer.
    pub schedule_secs: f64,
    /// Requests issued by that pass.
    pub requests: usize,
    /// Fetcher bytes (table capacity) per tracked hash.
    pub fetcher_bytes_per_hash: f64,
    /// Seen-cache bytes (capacity) per tracked hash.
    pub seen_bytes_per_hash: f64,
}

/// Runs the workload once (see the module docs).
pub fn measure_announcements(
    peers: usize,
    hashes_per_peer: usize,
    overlapping: bool,
) -> AnnounceMeasurement {
    let peer_ids: Vec<PeerId> = (0..peers)
        .map(|i| PeerId::left_padding_from(&(i as u64 + 1).to_be_bytes()))
        .collect();
    let messages: Vec<NewPooledTransactionHashes> = (0..peers)
        .map(|p| {
            let base = if overlapping { 0 } else { p * hashes_per_peer };
            let hashes: Vec<B256> = (base..base + hashes_per_peer)
                .map(|i| alloy_primitives::keccak256((i as u64).to_be_bytes()))
                .collect();
            NewPooledTransactionHashes::Eth68(NewPooledTransactionHashes68 {
                types: Bytes::from(vec![2u8; hashes_per_peer]),
                sizes: vec![200; hashes_per_peer],
                hashes,
            })
        })
        .collect();
    let limits = DecodeLimits::default();
    let mut fetcher = TxFetcher::new(FetcherConfig {
        seed: 42,
        ..FetcherConfig::default()
    });
    let mut seen = SeenByPeers::new(MAX_KNOWN_TXS, 42);
    let t0 = Instant::now();

    let wall = WallClock::now();
    for (peer, message) in peer_ids.iter().zip(&messages) {
        let verdict = check_announcement(
            message,
            EthVersion::Eth68,
            UnknownTypePolicy::Relaxed,
            &limits,
        );
        for entry in &verdict.accepted {
            seen.mark(peer, &entry.hash);
        }
        fetcher.on_checked_announcement(*peer, &verdict, t0);
        while fetcher.poll_action().is_some() {}
    }
    let announce_secs = wall.elapsed().as_secs_f64();

    let wall = WallClock::now();
    fetcher.handle_timeout(t0 + Duration::from_millis(500));
    let mut requests = 0;
    while let Some(action) = fetcher.poll_action() {
        if matches!(action, FetchAction::Request { .. }) {
            requests += 1;
        }
    }
    let schedule_secs = wall.elapsed().as_secs_f64();

    let tracked = fetcher.len().max(1);
    AnnounceMeasurement {
        peers,
        hashes_per_peer,
        overlapping,
        tracked: fetcher.len(),
        announced_hashes_per_sec: (peers * hashes_per_peer) as f64 / announce_secs,
        announce_secs,
        schedule_secs,
        requests,
        fetcher_bytes_per_hash: fetcher.memory_bytes() as f64 / tracked as f64,
        seen_bytes_per_hash: seen.memory_bytes() as f64 / tracked as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Prints the measurement as JSON:
    /// `cargo test -p ethp2p-network --release measure -- --ignored --nocapture`.
    #[test]
    #[ignore = "measurement, run on demand"]
    fn print_announcement_measurement() {
        for overlapping in [false, true] {
            let m = measure_announcements(50, 4096, overlapping);
            println!("{}", serde_json::to_string(&m).unwrap_or_default());
        }
    }

    #[test]
    fn small_run_tracks_every_hash_and_asks_every_peer() {
        let m = measure_announcements(4, 300, false);
        assert_eq!(m.tracked, 1200);
        assert_eq!(m.requests, 4);
        assert!(m.fetcher_bytes_per_hash > 64.0, "at least a slot per hash");
        let m = measure_announcements(4, 300, true);
        assert_eq!(m.tracked, 300);
        // 300 queued hashes, 256 per request: two peers share them.
        assert_eq!(m.requests, 2);
    }
}
