//! Discovery metrics: the series, their descriptions, and a sampler that
//! copies discv4's and discv5's running totals into them.
//!
//! Events counted where they happen (candidates offered, fork-id checks,
//! discv5 lookups and sessions, discv4 frames forwarded from the shared
//! socket) use the functions below; totals the engines keep (discv4 packets
//! by type, lookups, table size, bonded nodes; discv5 table and bytes) are
//! sampled every [`SAMPLE_INTERVAL`] by [`spawn_sampler`].

use metrics::{counter, describe_counter, describe_gauge, gauge};
use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

/// How often the engines' totals are copied into the metrics.
pub(crate) const SAMPLE_INTERVAL: Duration = Duration::from_secs(2);

/// Bytes of discv4 datagrams discv5 read and handed over or dropped (subtracted from
/// discv5's own received-bytes total, which counts every datagram).
static DISCV4_FORWARDED_BYTES: AtomicU64 = AtomicU64::new(0);

/// Describes the discovery series (called with the node's other `describe`).
pub(crate) fn describe() {
    describe_counter!(
        "ethp2p_discv4_packets_total",
        "discv4 packets by direction (in: decoded and signature-checked; out: sent) and type (ping, pong, findnode, neighbors, enrrequest, enrresponse)"
    );
    describe_counter!(
        "ethp2p_discv4_dropped_total",
        "discv4 datagrams dropped before decoding (rate limit, banned IP, duplicate, undecodable)"
    );
    describe_counter!(
        "ethp2p_discv5_bytes_total",
        "discv5 traffic in bytes by direction (the discv5 crate counts bytes, not packets)"
    );
    describe_counter!(
        "ethp2p_discv5_sessions_total",
        "discv5 sessions established"
    );
    describe_counter!(
        "ethp2p_discv4_frames_forwarded_total",
        "Datagrams on the shared UDP port that discv5 did not recognise, handed to discv4, by result (forwarded, dropped)"
    );
    describe_gauge!(
        "ethp2p_discovery_table_nodes",
        "Nodes in the discovery table, by protocol"
    );
    describe_gauge!(
        "ethp2p_discv4_bonded_nodes",
        "discv4 (node id, IP) pairs holding a fresh endpoint proof"
    );
    describe_counter!(
        "ethp2p_discovery_lookups_started_total",
        "Discovery lookups started, by protocol"
    );
    describe_counter!(
        "ethp2p_discovery_lookups_completed_total",
        "Discovery lookups completed, by protocol"
    );
    describe_counter!(
        "ethp2p_discovery_candidates_total",
        "Dial candidates offered to the peers manager, by source (discv4, discv5, dns)"
    );
    describe_counter!(
        "ethp2p_discovery_fork_checks_total",
        "Found nodes judged by their ENR's eth entry, by source and result (accepted, no_fork_id, refused, eth2_only, malformed, not_dialable, other_identity)"
    );
}

/// A candidate went to the peers manager.
pub(crate) fn candidate_offered(source: &'static str) {
    counter!("ethp2p_discovery_candidates_total", "source" => source).increment(1);
}

/// A found node was judged by its fork id.
pub(crate) fn fork_check(source: &'static str, result: &'static str) {
    counter!("ethp2p_discovery_fork_checks_total", "source" => source, "result" => result)
        .increment(1);
}

/// A lookup started.
pub(crate) fn lookup_started(protocol: &'static str) {
    counter!("ethp2p_discovery_lookups_started_total", "protocol" => protocol).increment(1);
}

/// A lookup completed.
pub(crate) fn lookup_completed(protocol: &'static str) {
    counter!("ethp2p_discovery_lookups_completed_total", "protocol" => protocol).increment(1);
}

/// A discv5 session was established.
pub(crate) fn discv5_session() {
    counter!("ethp2p_discv5_sessions_total").increment(1);
}

/// A discv4 datagram of `len` bytes went from discv5's reads to discv4.
pub(crate) fn discv4_frame_forwarded(len: usize) {
    DISCV4_FORWARDED_BYTES.fetch_add(len as u64, Ordering::Relaxed);
    counter!("ethp2p_discv4_frames_forwarded_total", "result" => "forwarded").increment(1);
}

/// A discv4 datagram of `len` bytes was dropped: discv4's queue was full.
pub(crate) fn discv4_frame_dropped(len: usize) {
    DISCV4_FORWARDED_BYTES.fetch_add(len as u64, Ordering::Relaxed);
    counter!("ethp2p_discv4_frames_forwarded_total", "result" => "dropped").increment(1);
}

/// Copies discv4's totals into the metrics.
pub(crate) fn record_discv4(s: &ethp2p_discv4::Discv4Stats) {
    for (dir, counts) in [("in", &s.packets_in), ("out", &s.packets_out)] {
        for (kind, n) in counts.by_name() {
            counter!("ethp2p_discv4_packets_total", "direction" => dir, "type" => kind).absolute(n);
        }
    }
    counter!("ethp2p_discv4_dropped_total").absolute(s.dropped_in);
    counter!("ethp2p_discovery_lookups_started_total", "protocol" => "discv4")
        .absolute(s.lookups_started);
    counter!("ethp2p_discovery_lookups_completed_total", "protocol" => "discv4")
        .absolute(s.lookups_finished);
    gauge!("ethp2p_discovery_table_nodes", "protocol" => "discv4").set(s.table_len as f64);
    gauge!("ethp2p_discv4_bonded_nodes").set(s.bonded as f64);
}

/// Copies discv5's totals into the metrics.
pub(crate) fn record_discv5(table_len: usize) {
    let m = discv5::Discv5::metrics();
    let forwarded = DISCV4_FORWARDED_BYTES.load(Ordering::Relaxed);
    counter!("ethp2p_discv5_bytes_total", "direction" => "in")
        .absolute((m.bytes_recv as u64).saturating_sub(forwarded));
    counter!("ethp2p_discv5_bytes_total", "direction" => "out").absolute(m.bytes_sent as u64);
    gauge!("ethp2p_discovery_table_nodes", "protocol" => "discv5").set(table_len as f64);
    // Shown at 0 before the first lookup (discv5 waits for a node to ask).
    counter!("ethp2p_discovery_lookups_started_total", "protocol" => "discv5").increment(0);
    counter!("ethp2p_discovery_lookups_completed_total", "protocol" => "discv5").increment(0);
}

/// Samples the engines every [`SAMPLE_INTERVAL`] until discv4 stops.
pub(crate) fn spawn_sampler(
    v4: ethp2p_discv4::Discv4Handle,
    v5: Option<std::sync::Arc<crate::discovery_v5::V5>>,
) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SAMPLE_INTERVAL);
        loop {
            tick.tick().await;
            let Ok(stats) = v4.stats().await else {
                return;
            };
            // discv5 first: once discv4's sample shows, both are there.
            if let Some(v5) = &v5 {
                record_discv5(v5.table_len());
            }
            record_discv4(&stats);
        }
    });
}
