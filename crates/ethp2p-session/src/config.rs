//! Session settings with documented defaults.

use ethp2p_wire::P2PConfig;
use std::time::Duration;

/// Limits on the number of sessions, per state and direction (`None` = unlimited).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionLimits {
    /// Inbound connections still authenticating.
    pub max_pending_inbound: Option<u32>,
    /// Outbound connections still authenticating.
    pub max_pending_outbound: Option<u32>,
    /// Established inbound sessions.
    pub max_established_inbound: Option<u32>,
    /// Established outbound sessions.
    pub max_established_outbound: Option<u32>,
}

/// Settings of the session manager and its sessions.
#[derive(Debug, Clone)]
pub struct SessionsConfig {
    /// Whole pending session (TCP connect + ECIES + Hello + Status). Default 20 s.
    pub pending_session_timeout: Duration,
    /// The eth Status exchange. Default 10 s.
    pub status_timeout: Duration,
    /// Request timeout a session starts with, and the upper bound of the
    /// adaptive timeout. Default 20 s.
    pub initial_request_timeout: Duration,
    /// Lower bound of the adaptive request timeout. Default 2 s.
    pub min_request_timeout: Duration,
    /// A request unanswered this long after it was sent is a protocol breach:
    /// the peer is disconnected. Default 120 s.
    pub protocol_breach_request_timeout: Duration,
    /// Commands queued from the owner to one session. Default 32.
    pub session_command_buffer: usize,
    /// Messages queued from all sessions to the manager. Default 260.
    pub session_event_buffer: usize,
    /// The high-water mark of bytes queued for writing to one peer: at or
    /// above it the session stops reading from the socket, taking commands
    /// and writing answers, until the peer reads. Default 4 MiB.
    pub max_queued_outgoing_bytes: usize,
    /// The window over which a peer with bytes queued must read at least
    /// `min_write_throughput` per second, else it is closed as stalled.
    /// Default 30 s.
    pub write_stall_timeout: Duration,
    /// The slowest a peer may read what we queue for it, in bytes per
    /// second, measured over `write_stall_timeout`. Default 2 KiB/s.
    pub min_write_throughput: u64,
    /// Requests from the remote awaiting the owner's answer before the session
    /// stops reading. Default 8.
    pub max_pending_remote_requests: usize,
    /// Our requests in flight to one peer; beyond it `send_request` fails
    /// with `ChannelFull`. Default 1,024 (geth tracks up to 10,000 per peer).
    pub max_inflight_requests: usize,
    /// Base protocol settings (ping interval and timeout, payload limit).
    pub p2p: P2PConfig,
    /// Session count limits.
    pub limits: SessionLimits,
}

impl Default for SessionsConfig {
    fn default() -> Self {
        Self {
            pending_session_timeout: Duration::from_secs(20),
            status_timeout: Duration::from_secs(10),
            initial_request_timeout: Duration::from_secs(20),
            min_request_timeout: Duration::from_secs(2),
            protocol_breach_request_timeout: Duration::from_secs(120),
            session_command_buffer: 32,
            session_event_buffer: 260,
            max_queued_outgoing_bytes: 4 * 1024 * 1024,
            write_stall_timeout: Duration::from_secs(30),
            min_write_throughput: 2 * 1024,
            max_pending_remote_requests: 8,
            max_inflight_requests: 1024,
            // eth messages are capped at 10 MiB, so frames and snappy
            // payloads beyond that are refused before they are buffered.
            p2p: P2PConfig {
                max_payload: ethp2p_eth::handshake::MAX_MESSAGE_SIZE,
                ..P2PConfig::default()
            },
            limits: SessionLimits::default(),
        }
    }
}

/// Sample weight of a new round-trip time in the request timeout average.
pub(crate) const SAMPLE_IMPACT: f64 = 0.1;
/// The timeout tends towards this many round-trip times.
pub(crate) const TIMEOUT_SCALING: f64 = 3.0;

/// The next request timeout after a response that took `rtt`: an EWMA towards
/// 3 × rtt, clamped to `[min, max]`.
pub(crate) fn next_request_timeout(
    current: Duration,
    rtt: Duration,
    min: Duration,
    max: Duration,
) -> Duration {
    let next = current.as_secs_f64() * (1.0 - SAMPLE_IMPACT)
        + rtt.as_secs_f64() * SAMPLE_IMPACT * TIMEOUT_SCALING;
    Duration::from_secs_f64(next).clamp(min, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_is_stable_at_three_rtt_and_clamped() {
        let (min, max) = (Duration::from_secs(2), Duration::from_secs(20));
        let rtt = Duration::from_secs(1);
        let t = next_request_timeout(Duration::from_secs(3), rtt, min, max);
        assert!((t.as_secs_f64() - 3.0).abs() < 1e-9);
        // Fast peer: converges down to the floor.
        let mut t = max;
        for _ in 0..200 {
            t = next_request_timeout(t, Duration::from_millis(10), min, max);
        }
        assert_eq!(t, min);
        // Slow peer: converges up to the ceiling.
        for _ in 0..200 {
            t = next_request_timeout(t, Duration::from_secs(30), min, max);
        }
        assert_eq!(t, max);
    }
}
