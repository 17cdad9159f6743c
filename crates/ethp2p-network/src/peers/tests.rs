//! Every rule of the peers manager, driven on synthetic time.

use super::*;
use alloy_primitives::B256;
use ethp2p_eth::forkid::{ForkActivation, ForkHash, Head};
use std::io;

const SEC: Duration = Duration::from_secs(1);
const MIN: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

fn pid(n: u8) -> PeerId {
    PeerId::with_last_byte(n)
}

fn addr(n: u8) -> SocketAddr {
    SocketAddr::from(([203, 0, 113, n], 30303))
}

fn record(n: u8) -> NodeRecord {
    NodeRecord::new(pid(n), addr(n))
}

fn found(n: u8, fork_id: Option<ForkId>) -> CandidateEvent {
    CandidateEvent::NodeFound {
        record: record(n),
        fork_id,
    }
}

fn drain(pm: &mut PeersManager) -> Vec<PeerAction> {
    std::iter::from_fn(|| pm.poll_action()).collect()
}

fn dials(actions: &[PeerAction]) -> Vec<PeerId> {
    actions
        .iter()
        .filter_map(|a| match a {
            PeerAction::Dial { peer_id, .. } => Some(*peer_id),
            _ => None,
        })
        .collect()
}

fn disconnects(actions: &[PeerAction]) -> Vec<(PeerId, DisconnectReason)> {
    actions
        .iter()
        .filter_map(|a| match a {
            PeerAction::Disconnect { peer_id, reason } => Some((*peer_id, *reason)),
            _ => None,
        })
        .collect()
}

/// No rotation unless a test asks for it, so ticks only refill.
fn config() -> PeersConfig {
    PeersConfig {
        rotation: None,
        ..PeersConfig::default()
    }
}

/// A start time with room before it for "connected an hour ago".
fn start() -> Instant {
    Instant::now() + 2 * HOUR
}

fn manager(config: PeersConfig) -> (PeersManager, Instant) {
    let now = start();
    (PeersManager::new(config, now, 7), now)
}

/// Adds `n` as a peer of `kind` and brings it to an established session in
/// `direction`.
fn connect(pm: &mut PeersManager, n: u8, kind: PeerKind, direction: Direction, now: Instant) {
    pm.add_peer(pid(n), addr(n), kind, now).unwrap();
    match direction {
        Direction::Outbound => pm.connect(pid(n), addr(n), now).unwrap(),
        Direction::Inbound => pm.on_inbound_attempt(addr(n).ip(), now).unwrap(),
    }
    pm.on_session_established(pid(n), addr(n), direction, now);
}

fn fork_filter() -> ForkFilter {
    ForkFilter::new(
        B256::repeat_byte(0xaa),
        0,
        Head::default(),
        [ForkActivation::Block(10)],
    )
}

// ---- defaults --------------------------------------------------------------

#[test]
fn defaults_are_gethlike_slots_and_reth_timers() {
    let c = PeersConfig::default();
    assert_eq!(c.max_outbound + c.max_inbound, 50);
    assert_eq!(c.max_outbound, 16);
    assert_eq!(c.max_concurrent_dials, 30);
    assert_eq!(c.refill_interval, 5 * SEC);
    assert_eq!(c.ban_duration, 12 * HOUR);
    assert_eq!(c.lenient_ban_duration, 15 * SEC);
    assert_eq!(c.max_backoff_count, 5);
    let c = PeersConfig::default().with_max_peers(90);
    assert_eq!((c.max_outbound, c.max_inbound), (30, 60));
}

// ---- reputation ------------------------------------------------------------

#[test]
fn reputation_below_threshold_disconnects_and_bans_for_twelve_hours() {
    let (mut pm, t0) = manager(config());
    connect(&mut pm, 1, PeerKind::Basic, Direction::Outbound, t0);
    drain(&mut pm);
    for _ in 0..3 {
        pm.apply_reputation_change(pid(1), ReputationChangeKind::BadMessage, t0);
    }
    assert_eq!(pm.reputation(&pid(1)), Some(-49_152));
    assert!(drain(&mut pm).is_empty(), "not yet below -51,200");
    pm.apply_reputation_change(pid(1), ReputationChangeKind::BadMessage, t0);
    let actions = drain(&mut pm);
    assert_eq!(
        disconnects(&actions),
        vec![(pid(1), DisconnectReason::DisconnectRequested)]
    );
    assert!(actions.contains(&PeerAction::BanPeer {
        peer_id: pid(1),
        until: t0 + 12 * HOUR
    }));
    assert!(actions.contains(&PeerAction::PeerBanned(pid(1))));
    assert!(pm.is_peer_banned(&pid(1), t0 + 12 * HOUR - SEC));
    assert!(!pm.is_peer_banned(&pid(1), t0 + 12 * HOUR));
}

#[test]
fn bad_protocol_is_an_instant_ban() {
    let (mut pm, t0) = manager(config());
    connect(&mut pm, 1, PeerKind::Basic, Direction::Inbound, t0);
    drain(&mut pm);
    pm.apply_reputation_change(pid(1), ReputationChangeKind::BadProtocol, t0);
    assert!(pm.is_peer_banned(&pid(1), t0));
    assert_eq!(
        pm.peer(&pid(1)).unwrap().state,
        PeerState::Disconnecting(Direction::Inbound)
    );
}

#[test]
fn reputation_recovers_one_point_per_second_only_while_connected_and_negative() {
    let (mut pm, t0) = manager(config());
    connect(&mut pm, 1, PeerKind::Basic, Direction::Outbound, t0);
    pm.add_peer(pid(2), addr(2), PeerKind::Basic, t0).unwrap();
    connect(&mut pm, 3, PeerKind::Basic, Direction::Outbound, t0);
    pm.apply_reputation_change(pid(1), ReputationChangeKind::Timeout, t0);
    pm.apply_reputation_change(pid(2), ReputationChangeKind::Timeout, t0);
    pm.apply_reputation_change(pid(3), ReputationChangeKind::Other(10), t0);
    // Keep peer 2 from being dialed so it stays idle.
    pm.ban_ip(addr(2).ip(), t0);
    let mut now = t0;
    for _ in 0..20 {
        now = pm.poll_timeout();
        pm.handle_timeout(now);
    }
    assert_eq!(now - t0, 100 * SEC);
    assert_eq!(pm.reputation(&pid(1)), Some(-4096 + 100));
    assert_eq!(
        pm.reputation(&pid(2)),
        Some(-4096),
        "idle peers do not recover"
    );
    assert_eq!(
        pm.reputation(&pid(3)),
        Some(10),
        "positive reputation does not grow"
    );
    // Recovery stops at zero.
    pm.apply_reputation_change(pid(1), ReputationChangeKind::Other(4096 - 100 - 3), t0);
    pm.handle_timeout(now + 5 * SEC);
    assert_eq!(pm.reputation(&pid(1)), Some(0));
}

#[test]
fn rising_back_above_the_threshold_lifts_the_ban() {
    let (mut pm, t0) = manager(config());
    pm.add_peer(pid(1), addr(1), PeerKind::Basic, t0).unwrap();
    pm.apply_reputation_change(pid(1), ReputationChangeKind::Other(-60_000), t0);
    assert!(pm.is_peer_banned(&pid(1), t0));
    drain(&mut pm);
    pm.apply_reputation_change(pid(1), ReputationChangeKind::Other(10_000), t0);
    assert!(!pm.is_peer_banned(&pid(1), t0));
    assert_eq!(
        drain(&mut pm),
        vec![PeerAction::UnbanPeer { peer_id: pid(1) }]
    );
}

#[test]
fn trusted_and_static_peers_ignore_some_kinds_and_cap_the_rest() {
    let (mut pm, t0) = manager(config());
    connect(&mut pm, 1, PeerKind::Trusted, Direction::Outbound, t0);
    connect(&mut pm, 2, PeerKind::Static, Direction::Outbound, t0);
    connect(&mut pm, 3, PeerKind::Basic, Direction::Outbound, t0);
    for n in [1, 2, 3] {
        pm.apply_reputation_change(pid(n), ReputationChangeKind::Timeout, t0);
        pm.apply_reputation_change(pid(n), ReputationChangeKind::Dropped, t0);
        pm.apply_reputation_change(pid(n), ReputationChangeKind::BadAnnouncement, t0);
    }
    assert_eq!(pm.reputation(&pid(1)), Some(0));
    assert_eq!(pm.reputation(&pid(2)), Some(0));
    assert_eq!(pm.reputation(&pid(3)), Some(-9216));
    pm.apply_reputation_change(pid(1), ReputationChangeKind::BadProtocol, t0);
    pm.apply_reputation_change(pid(2), ReputationChangeKind::BadMessage, t0);
    assert_eq!(pm.reputation(&pid(1)), Some(-2048));
    assert_eq!(pm.reputation(&pid(2)), Some(-2048));
    assert!(!pm.is_peer_banned(&pid(1), t0));
}

// ---- bans ------------------------------------------------------------------

#[test]
fn lenient_peers_are_banned_for_fifteen_seconds_and_trusted_refuse_admin_bans() {
    let (mut pm, t0) = manager(config());
    pm.add_peer(pid(1), addr(1), PeerKind::Static, t0).unwrap();
    pm.add_peer(pid(2), addr(2), PeerKind::Trusted, t0).unwrap();
    pm.add_peer(pid(3), addr(3), PeerKind::Basic, t0).unwrap();
    pm.ban_peer(pid(1), t0).unwrap();
    pm.ban_peer(pid(3), t0).unwrap();
    assert_eq!(pm.ban_peer(pid(2), t0), Err(PeerCommandError::TrustedPeer));
    assert!(!pm.is_peer_banned(&pid(2), t0));
    assert!(pm.is_peer_banned(&pid(1), t0 + 14 * SEC));
    assert!(!pm.is_peer_banned(&pid(1), t0 + 15 * SEC));
    assert!(pm.is_peer_banned(&pid(3), t0 + 11 * HOUR));
    // A trusted peer can still be banned by its reputation, for 15 s.
    for _ in 0..26 {
        pm.apply_reputation_change(pid(2), ReputationChangeKind::BadProtocol, t0);
    }
    assert!(pm.is_peer_banned(&pid(2), t0 + 14 * SEC));
    assert!(!pm.is_peer_banned(&pid(2), t0 + 15 * SEC));
}

#[test]
fn expired_bans_are_lifted_at_the_tick() {
    let mut c = config();
    c.ban_duration = 7 * SEC;
    let (mut pm, t0) = manager(c);
    pm.ban_ip(addr(9).ip(), t0);
    pm.ban_peer(pid(9), t0).unwrap();
    assert_eq!(
        pm.on_inbound_attempt(addr(9).ip(), t0),
        Err(InboundRejected::IpBanned)
    );
    drain(&mut pm);
    pm.handle_timeout(t0 + 5 * SEC);
    assert!(drain(&mut pm).is_empty());
    pm.handle_timeout(t0 + 10 * SEC);
    let actions = drain(&mut pm);
    assert!(actions.contains(&PeerAction::UnbanIp { ip: addr(9).ip() }));
    assert!(actions.contains(&PeerAction::UnbanPeer { peer_id: pid(9) }));
    assert_eq!(pm.on_inbound_attempt(addr(9).ip(), t0 + 10 * SEC), Ok(()));
}

#[test]
fn ban_tables_are_bounded_and_drop_the_soonest_ending() {
    let mut c = config();
    c.max_bans = 2;
    let (mut pm, t0) = manager(c);
    pm.ban_ip(addr(1).ip(), t0);
    pm.ban_ip(addr(2).ip(), t0 + SEC);
    pm.ban_ip(addr(3).ip(), t0 + 2 * SEC);
    assert!(!pm.is_ip_banned(&addr(1).ip(), t0));
    assert!(pm.is_ip_banned(&addr(2).ip(), t0 + SEC));
    assert!(pm.is_ip_banned(&addr(3).ip(), t0 + 2 * SEC));
}

#[test]
fn a_banned_peer_that_completes_a_handshake_is_disconnected() {
    let (mut pm, t0) = manager(config());
    pm.ban_peer(pid(1), t0).unwrap();
    pm.on_inbound_attempt(addr(1).ip(), t0).unwrap();
    pm.on_session_established(pid(1), addr(1), Direction::Inbound, t0);
    assert_eq!(
        disconnects(&drain(&mut pm)),
        vec![(pid(1), DisconnectReason::DisconnectRequested)]
    );
    pm.on_session_closed(pid(1), None, t0);
    assert_eq!(pm.counts(), ConnectionCounts::default());
}

// ---- back-off --------------------------------------------------------------

fn backoff_left(pm: &PeersManager, n: u8, now: Instant) -> Duration {
    pm.peer(&pid(n))
        .and_then(|p| p.backoff_until)
        .map(|t| t - now)
        .unwrap_or_default()
}

#[test]
fn backoff_grows_with_the_severe_counter_by_class() {
    let (mut pm, t0) = manager(config());
    pm.add_peer(pid(1), addr(1), PeerKind::Basic, t0).unwrap();
    let fail = |pm: &mut PeersManager, f: SessionFailure| {
        pm.connect(pid(1), addr(1), t0).unwrap();
        pm.on_dial_failed(pid(1), Some(f), t0);
    };
    // Low does not count as severe.
    fail(
        &mut pm,
        SessionFailure::Disconnected(DisconnectReason::TooManyPeers),
    );
    assert_eq!(backoff_left(&pm, 1, t0), 30 * SEC);
    assert_eq!(pm.peer(&pid(1)).unwrap().severe_backoffs, 0);
    // Medium: counter 1 → 3 min + 3 min.
    fail(&mut pm, SessionFailure::Rlp);
    assert_eq!(backoff_left(&pm, 1, t0), 6 * MIN);
    // High: counter 2 → 15 min × 3.
    fail(
        &mut pm,
        SessionFailure::Io(io::ErrorKind::ConnectionRefused),
    );
    assert_eq!(backoff_left(&pm, 1, t0), 45 * MIN);
    // Low after severe failures is scaled too: 30 s × 3.
    fail(&mut pm, SessionFailure::Io(io::ErrorKind::ConnectionReset));
    assert_eq!(backoff_left(&pm, 1, t0), 90 * SEC);
    // High: counter 3 → capped at 1 h.
    fail(
        &mut pm,
        SessionFailure::Disconnected(DisconnectReason::ClientQuitting),
    );
    assert_eq!(backoff_left(&pm, 1, t0), HOUR);
}

#[test]
fn a_backed_off_peer_is_not_dialed_until_the_backoff_ends() {
    let mut c = config();
    c.max_concurrent_dials = 1;
    let (mut pm, t0) = manager(c);
    pm.on_candidate(found(1, None), t0);
    pm.handle_timeout(t0 + 5 * SEC);
    assert_eq!(dials(&drain(&mut pm)), vec![pid(1)]);
    pm.on_dial_failed(pid(1), Some(SessionFailure::Ecies), t0 + 5 * SEC);
    // The failure refills at once, but the only candidate is backed off 30 s.
    assert!(dials(&drain(&mut pm)).is_empty());
    pm.handle_timeout(t0 + 30 * SEC);
    assert!(dials(&drain(&mut pm)).is_empty());
    pm.handle_timeout(t0 + 35 * SEC);
    assert_eq!(dials(&drain(&mut pm)), vec![pid(1)]);
}

#[test]
fn a_basic_peer_is_removed_when_the_severe_counter_exceeds_five() {
    // No outbound slot: only the explicit dials below happen.
    let (mut pm, t0) = manager(PeersConfig {
        max_outbound: 0,
        ..config()
    });
    pm.add_peer(pid(1), addr(1), PeerKind::Basic, t0).unwrap();
    pm.add_peer(pid(2), addr(2), PeerKind::Static, t0).unwrap();
    drain(&mut pm);
    for i in 1..=6 {
        for n in [1, 2] {
            pm.connect(pid(n), addr(n), t0).unwrap();
            pm.on_dial_failed(pid(n), Some(SessionFailure::PendingTimeout), t0);
        }
        let removed = drain(&mut pm).contains(&PeerAction::PeerRemoved(pid(1)));
        assert_eq!(removed, i == 6, "failure {i}");
    }
    assert!(pm.peer(&pid(1)).is_none());
    assert_eq!(
        pm.peer(&pid(2)).unwrap().severe_backoffs,
        6,
        "static peers are kept"
    );
}

#[test]
fn graceful_close_resets_the_counter_and_backs_off_thirty_seconds() {
    let (mut pm, t0) = manager(config());
    pm.add_peer(pid(1), addr(1), PeerKind::Basic, t0).unwrap();
    for _ in 0..3 {
        pm.connect(pid(1), addr(1), t0).unwrap();
        pm.on_dial_failed(pid(1), Some(SessionFailure::Snap), t0);
    }
    assert_eq!(pm.peer(&pid(1)).unwrap().severe_backoffs, 3);
    pm.connect(pid(1), addr(1), t0).unwrap();
    pm.on_session_established(pid(1), addr(1), Direction::Outbound, t0);
    let t1 = t0 + MIN;
    pm.on_session_closed(pid(1), None, t1);
    let p = pm.peer(&pid(1)).unwrap();
    assert_eq!(p.severe_backoffs, 0);
    assert_eq!(p.backoff_until, Some(t1 + 30 * SEC));
}

#[test]
fn fatal_errors_remove_and_ban_but_keep_trusted_peers() {
    let (mut pm, t0) = manager(config());
    connect(&mut pm, 1, PeerKind::Basic, Direction::Outbound, t0);
    connect(&mut pm, 2, PeerKind::Trusted, Direction::Outbound, t0);
    connect(&mut pm, 3, PeerKind::Static, Direction::Outbound, t0);
    drain(&mut pm);
    let breach = Some(SessionFailure::Disconnected(
        DisconnectReason::ProtocolBreach,
    ));
    for n in [1, 2, 3] {
        pm.on_session_closed(pid(n), breach, t0);
    }
    let actions = drain(&mut pm);
    assert!(actions.contains(&PeerAction::PeerRemoved(pid(1))));
    assert!(actions.contains(&PeerAction::PeerRemoved(pid(3))));
    assert!(!actions.contains(&PeerAction::PeerRemoved(pid(2))));
    assert!(pm.peer(&pid(1)).is_none() && pm.peer(&pid(3)).is_none());
    assert_eq!(pm.peer(&pid(2)).unwrap().kind, PeerKind::Trusted);
    assert!(pm.is_peer_banned(&pid(1), t0 + 11 * HOUR));
    assert!(pm.is_peer_banned(&pid(2), t0 + 14 * SEC));
    assert!(!pm.is_peer_banned(&pid(2), t0 + 15 * SEC));
    assert!(
        !pm.is_peer_banned(&pid(3), t0 + 15 * SEC),
        "was static when banned"
    );
    assert_eq!(pm.counts(), ConnectionCounts::default());
}

#[test]
fn a_fatal_inbound_handshake_failure_bans_the_proven_id() {
    let (mut pm, t0) = manager(config());
    pm.on_inbound_attempt(addr(1).ip(), t0).unwrap();
    pm.on_inbound_pending_closed(Some(pid(1)), Some(SessionFailure::EciesAuth), t0);
    assert!(pm.is_peer_banned(&pid(1), t0));
    pm.on_inbound_attempt(addr(2).ip(), t0).unwrap();
    pm.on_inbound_pending_closed(Some(pid(2)), Some(SessionFailure::HandshakeNoResponse), t0);
    assert!(!pm.is_peer_banned(&pid(2), t0));
    assert_eq!(pm.counts().pending_inbound, 0);
}

#[test]
fn failures_without_a_class_cost_reputation_instead() {
    let (mut pm, t0) = manager(config());
    pm.add_peer(pid(1), addr(1), PeerKind::Basic, t0).unwrap();
    pm.connect(pid(1), addr(1), t0).unwrap();
    pm.on_dial_failed(pid(1), Some(SessionFailure::Other), t0);
    assert_eq!(pm.reputation(&pid(1)), Some(-25_600));
    assert_eq!(pm.peer(&pid(1)).unwrap().backoff_until, None);
    connect(&mut pm, 2, PeerKind::Basic, Direction::Inbound, t0);
    pm.on_session_closed(pid(2), Some(SessionFailure::Other), t0);
    assert_eq!(pm.reputation(&pid(2)), Some(-4096));
    // A classified failure costs no reputation.
    connect(&mut pm, 3, PeerKind::Basic, Direction::Inbound, t0);
    pm.on_session_closed(pid(3), Some(SessionFailure::Rlp), t0);
    assert_eq!(pm.reputation(&pid(3)), Some(0));
}

// ---- slots and dialing -----------------------------------------------------

#[test]
fn slots_are_refilled_on_the_tick_within_the_dial_limit() {
    let mut c = config();
    c.max_concurrent_dials = 2;
    c.max_outbound = 10;
    let (mut pm, t0) = manager(c);
    for n in 1..=5 {
        pm.on_candidate(found(n, None), t0);
    }
    assert!(dials(&drain(&mut pm)).is_empty(), "nothing before the tick");
    assert_eq!(pm.poll_timeout(), t0 + 5 * SEC);
    pm.handle_timeout(t0 + 5 * SEC);
    assert_eq!(dials(&drain(&mut pm)), vec![pid(1), pid(2)]);
    assert_eq!(pm.counts().pending_outbound, 2);
    pm.handle_timeout(t0 + 10 * SEC);
    assert!(dials(&drain(&mut pm)).is_empty(), "both dial slots busy");
}

#[test]
fn every_close_refills_at_once() {
    let mut c = config();
    c.max_concurrent_dials = 1;
    c.max_outbound = 1;
    let (mut pm, t0) = manager(c);
    pm.on_candidate(found(1, None), t0);
    pm.on_candidate(found(2, None), t0);
    pm.handle_timeout(t0 + 5 * SEC);
    assert_eq!(dials(&drain(&mut pm)), vec![pid(1)]);
    pm.on_session_established(pid(1), addr(1), Direction::Outbound, t0 + 6 * SEC);
    pm.handle_timeout(t0 + 10 * SEC);
    assert!(
        dials(&drain(&mut pm)).is_empty(),
        "the outbound slot is taken"
    );
    pm.on_session_closed(pid(1), None, t0 + 11 * SEC);
    assert_eq!(
        dials(&drain(&mut pm)),
        vec![pid(2)],
        "refilled by the close"
    );
    pm.on_dial_failed(pid(2), Some(SessionFailure::Ecies), t0 + 12 * SEC);
    // Both candidates are backed off now: nothing to refill with.
    assert!(dials(&drain(&mut pm)).is_empty());
    assert_eq!(pm.counts(), ConnectionCounts::default());
}

#[test]
fn outbound_slots_bound_dials_but_trusted_peers_are_dialed_beyond_them() {
    let mut c = config();
    c.max_outbound = 2;
    let (mut pm, t0) = manager(c);
    for n in 1..=4 {
        pm.on_candidate(found(n, None), t0);
    }
    pm.handle_timeout(t0 + 5 * SEC);
    assert_eq!(dials(&drain(&mut pm)), vec![pid(1), pid(2)]);
    pm.on_session_established(pid(1), addr(1), Direction::Outbound, t0);
    pm.on_session_established(pid(2), addr(2), Direction::Outbound, t0);
    pm.add_peer(pid(9), addr(9), PeerKind::Trusted, t0).unwrap();
    pm.add_peer(pid(8), addr(8), PeerKind::Static, t0).unwrap();
    pm.handle_timeout(t0 + 10 * SEC);
    assert_eq!(
        dials(&drain(&mut pm)),
        vec![pid(9)],
        "only the trusted peer"
    );
}

#[test]
fn best_candidate_prefers_kind_then_reputation_then_fork_id() {
    let mut c = config();
    c.max_concurrent_dials = 1;
    let (mut pm, t0) = manager(c);
    pm.set_fork_filter(Some(fork_filter()));
    let ours = fork_filter().current();
    pm.on_candidate(found(1, None), t0);
    pm.on_candidate(found(2, Some(ours)), t0);
    pm.on_candidate(found(3, None), t0);
    pm.apply_reputation_change(pid(3), ReputationChangeKind::Other(5), t0);
    pm.add_peer(pid(4), addr(4), PeerKind::Static, t0).unwrap();
    pm.apply_reputation_change(pid(4), ReputationChangeKind::Other(-500), t0);
    pm.add_peer(pid(5), addr(5), PeerKind::Trusted, t0).unwrap();
    pm.apply_reputation_change(pid(5), ReputationChangeKind::Other(-900), t0);
    let mut order = Vec::new();
    let mut now = t0;
    for _ in 0..5 {
        now += 5 * SEC;
        pm.handle_timeout(now);
        let d = dials(&drain(&mut pm));
        assert_eq!(d.len(), 1);
        order.push(d[0]);
        // Keep each one connected so the next best is picked.
        pm.on_session_established(d[0], addr(0), Direction::Outbound, now);
    }
    assert_eq!(order, vec![pid(5), pid(4), pid(3), pid(2), pid(1)]);
}

#[test]
fn banned_and_backed_off_candidates_are_skipped() {
    let (mut pm, t0) = manager(config());
    pm.on_candidate(found(1, None), t0);
    pm.on_candidate(found(2, None), t0);
    pm.on_candidate(found(3, None), t0);
    pm.ban_peer(pid(1), t0).unwrap();
    pm.ban_ip(addr(2).ip(), t0);
    pm.connect(pid(3), addr(3), t0).unwrap();
    drain(&mut pm);
    pm.on_dial_failed(pid(3), Some(SessionFailure::Rlp), t0);
    let d = dials(&drain(&mut pm));
    assert!(d.is_empty(), "no dialable candidate: {d:?}");
    pm.on_candidate(found(4, None), t0);
    pm.handle_timeout(t0 + 5 * SEC);
    assert_eq!(dials(&drain(&mut pm)), vec![pid(4)]);
}

#[test]
fn remove_peer_disconnects_and_forgets_after_the_close() {
    let (mut pm, t0) = manager(config());
    connect(&mut pm, 1, PeerKind::Static, Direction::Outbound, t0);
    drain(&mut pm);
    pm.remove_peer(pid(1));
    assert_eq!(
        drain(&mut pm),
        vec![
            PeerAction::Disconnect {
                peer_id: pid(1),
                reason: DisconnectReason::DisconnectRequested
            },
            PeerAction::PeerRemoved(pid(1))
        ]
    );
    assert_eq!(pm.counts().outbound, 1, "counted until the session ends");
    pm.on_session_closed(pid(1), None, t0);
    assert!(pm.peer(&pid(1)).is_none());
    assert_eq!(pm.counts(), ConnectionCounts::default());
    assert_eq!(pm.peers_by_kind(PeerKind::Static).count(), 0);
}

#[test]
fn an_inbound_session_during_our_dial_frees_the_dial_slot() {
    let (mut pm, t0) = manager(config());
    pm.add_peer(pid(1), addr(1), PeerKind::Basic, t0).unwrap();
    pm.connect(pid(1), addr(1), t0).unwrap();
    pm.on_inbound_attempt(addr(1).ip(), t0).unwrap();
    pm.on_session_established(pid(1), addr(1), Direction::Inbound, t0);
    assert_eq!(pm.counts().pending_outbound, 0);
    // Our own dial then fails as already connected: the session is untouched.
    pm.on_dial_failed(
        pid(1),
        Some(SessionFailure::Disconnected(
            DisconnectReason::AlreadyConnected,
        )),
        t0,
    );
    let p = pm.peer(&pid(1)).unwrap();
    assert_eq!(p.state, PeerState::Connected(Direction::Inbound));
    assert_eq!(p.backoff_until, None);
    pm.on_session_closed(pid(1), None, t0);
    assert_eq!(pm.counts(), ConnectionCounts::default());
}

#[test]
fn an_outbound_session_beyond_the_slots_is_refused_unless_trusted() {
    let mut c = config();
    c.max_outbound = 1;
    let (mut pm, t0) = manager(c);
    connect(&mut pm, 1, PeerKind::Basic, Direction::Outbound, t0);
    connect(&mut pm, 2, PeerKind::Static, Direction::Outbound, t0);
    connect(&mut pm, 3, PeerKind::Trusted, Direction::Outbound, t0);
    assert_eq!(
        disconnects(&drain(&mut pm)),
        vec![(pid(2), DisconnectReason::TooManyPeers)]
    );
}

#[test]
fn ip_bans_last_twelve_hours() {
    let (mut pm, t0) = manager(config());
    pm.ban_ip(addr(1).ip(), t0);
    assert_eq!(
        drain(&mut pm),
        vec![PeerAction::BanIp {
            ip: addr(1).ip(),
            until: t0 + 12 * HOUR
        }]
    );
    assert!(pm.is_ip_banned(&addr(1).ip(), t0 + 12 * HOUR - SEC));
    assert!(!pm.is_ip_banned(&addr(1).ip(), t0 + 12 * HOUR));
    pm.unban_ip(addr(1).ip());
    assert!(!pm.is_ip_banned(&addr(1).ip(), t0));
}

#[test]
fn remove_peer_kind_demotes_to_basic() {
    let (mut pm, t0) = manager(config());
    pm.add_peer(pid(1), addr(1), PeerKind::Trusted, t0).unwrap();
    pm.remove_peer_kind(pid(1), PeerKind::Static, t0);
    assert_eq!(pm.peer(&pid(1)).unwrap().kind, PeerKind::Trusted);
    pm.remove_peer_kind(pid(1), PeerKind::Trusted, t0);
    assert_eq!(pm.peer(&pid(1)).unwrap().kind, PeerKind::Basic);
    assert!(pm.ban_peer(pid(1), t0).is_ok());
}

// ---- rotation --------------------------------------------------------------

fn rotation_config() -> PeersConfig {
    PeersConfig {
        max_outbound: 3,
        max_inbound: 3,
        rotation: Some(RotationConfig::default()),
        ..PeersConfig::default()
    }
}

/// Runs timers until the first rotation and returns its disconnects.
fn first_rotation(
    pm: &mut PeersManager,
    t0: Instant,
) -> (Duration, Vec<(PeerId, DisconnectReason)>) {
    loop {
        let now = pm.poll_timeout();
        pm.handle_timeout(now);
        let d = disconnects(&drain(pm));
        if !d.is_empty() || now - t0 > 8 * MIN {
            return (now - t0, d);
        }
    }
}

#[test]
fn rotation_evicts_one_basic_peer_connected_ten_minutes_when_full() {
    let (mut pm, t0) = manager(rotation_config());
    let first = pm.next_rotation().unwrap() - t0;
    assert!(first >= 3 * MIN && first <= 7 * MIN, "{first:?}");
    let old = t0 - 10 * MIN;
    connect(&mut pm, 1, PeerKind::Trusted, Direction::Outbound, old);
    connect(&mut pm, 2, PeerKind::Static, Direction::Outbound, old);
    connect(&mut pm, 3, PeerKind::Basic, Direction::Outbound, old);
    // Inbound pool not full; this basic peer is not eligible.
    connect(&mut pm, 4, PeerKind::Basic, Direction::Inbound, old);
    drain(&mut pm);
    let (at, d) = first_rotation(&mut pm, t0);
    assert_eq!(at, first);
    assert_eq!(d, vec![(pid(3), DisconnectReason::UselessPeer)]);
    // The next rotation is 3–7 minutes later.
    let gap = pm.next_rotation().unwrap() - t0 - at;
    assert!(gap >= 3 * MIN && gap <= 7 * MIN, "{gap:?}");
}

#[test]
fn rotation_spares_young_peers_and_pools_that_are_not_full() {
    let (mut pm, t0) = manager(rotation_config());
    // Full outbound pool, but connected at most 7 minutes at the rotation.
    for n in 1..=3 {
        connect(&mut pm, n, PeerKind::Basic, Direction::Outbound, t0);
    }
    let (_, d) = first_rotation(&mut pm, t0);
    assert!(d.is_empty(), "{d:?}");
    let (mut pm2, t0) = manager(rotation_config());
    // Old peers, but no pool is full.
    for n in 1..=2 {
        connect(&mut pm2, n, PeerKind::Basic, Direction::Outbound, t0 - HOUR);
    }
    let (_, d) = first_rotation(&mut pm2, t0);
    assert!(d.is_empty(), "{d:?}");
    // Full pool of old peers, all trusted or static: never rotated.
    let (mut pm3, t0) = manager(rotation_config());
    connect(
        &mut pm3,
        1,
        PeerKind::Trusted,
        Direction::Inbound,
        t0 - HOUR,
    );
    connect(&mut pm3, 2, PeerKind::Static, Direction::Inbound, t0 - HOUR);
    connect(&mut pm3, 3, PeerKind::Static, Direction::Inbound, t0 - HOUR);
    drain(&mut pm3);
    let (_, d) = first_rotation(&mut pm3, t0);
    assert!(d.is_empty(), "{d:?}");
}

#[test]
fn rotation_replays_from_the_seed() {
    let pick = |seed: u64| {
        let t0 = start();
        let mut pm = PeersManager::new(rotation_config(), t0, seed);
        for n in 1..=3 {
            connect(&mut pm, n, PeerKind::Basic, Direction::Inbound, t0 - HOUR);
        }
        drain(&mut pm);
        let (at, d) = first_rotation(&mut pm, t0);
        (at, d)
    };
    assert_eq!(pick(1), pick(1));
    let picks: std::collections::BTreeSet<_> = (0..16).map(|s| pick(s).1[0].0).collect();
    assert!(picks.len() > 1, "the evicted peer is random");
}

// ---- netrestrict -----------------------------------------------------------

#[test]
fn netrestrict_applies_to_inbound_add_peer_and_dials() {
    let mut c = config();
    c.ip_filter = "203.0.113.0/30".parse().unwrap();
    let (mut pm, t0) = manager(c);
    assert_eq!(
        pm.on_inbound_attempt(addr(9).ip(), t0),
        Err(InboundRejected::IpFiltered)
    );
    assert_eq!(pm.on_inbound_attempt(addr(1).ip(), t0), Ok(()));
    assert_eq!(
        pm.add_peer(pid(9), addr(9), PeerKind::Static, t0),
        Err(PeerCommandError::IpFiltered)
    );
    assert_eq!(
        pm.connect(pid(9), addr(9), t0),
        Err(PeerCommandError::IpFiltered)
    );
    pm.on_candidate(found(9, None), t0);
    pm.on_candidate(found(2, None), t0);
    pm.on_candidate(found(3, None), t0);
    assert!(pm.peer(&pid(9)).is_none());
    // A narrower list keeps known peers outside it from being dialed.
    pm.set_ip_filter("203.0.113.3/32".parse().unwrap());
    pm.handle_timeout(t0 + 5 * SEC);
    assert_eq!(dials(&drain(&mut pm)), vec![pid(3)]);
}

// ---- inbound admission -----------------------------------------------------

#[test]
fn inbound_admission_checks_in_order() {
    let mut c = config();
    c.ip_filter = "203.0.113.0/24".parse().unwrap();
    c.max_inbound = 1;
    c.max_pending_inbound = 1;
    let (mut pm, t0) = manager(c);
    let outside: IpAddr = "198.51.100.1".parse().unwrap();
    pm.ban_ip(outside, t0);
    pm.ban_ip(addr(5).ip(), t0);
    // Filter before ban.
    assert_eq!(
        pm.on_inbound_attempt(outside, t0),
        Err(InboundRejected::IpFiltered)
    );
    assert_eq!(pm.on_inbound_attempt(addr(1).ip(), t0), Ok(()));
    // Pending cap reached; the ban is reported before it.
    assert_eq!(
        pm.on_inbound_attempt(addr(2).ip(), t0),
        Err(InboundRejected::PendingLimit)
    );
    assert_eq!(
        pm.on_inbound_attempt(addr(5).ip(), t0),
        Err(InboundRejected::IpBanned)
    );
    pm.on_session_established(pid(1), addr(1), Direction::Inbound, t0);
    assert_eq!(pm.counts().pending_inbound, 0);
    assert_eq!(
        pm.on_inbound_attempt(addr(3).ip(), t0),
        Err(InboundRejected::NoInboundSlot)
    );
    // Fill the pending cap through the trusted exception, then take the exception away:
    // with the slot and the pending cap both full, the slot is reported.
    pm.add_peer(pid(7), addr(7), PeerKind::Trusted, t0).unwrap();
    assert_eq!(pm.on_inbound_attempt(addr(7).ip(), t0), Ok(()));
    assert_eq!(
        pm.on_inbound_attempt(addr(4).ip(), t0),
        Err(InboundRejected::PendingLimit)
    );
    pm.remove_peer_kind(pid(7), PeerKind::Trusted, t0);
    assert_eq!(
        pm.on_inbound_attempt(addr(4).ip(), t0),
        Err(InboundRejected::NoInboundSlot)
    );
}

#[test]
fn full_inbound_slots_still_admit_a_missing_trusted_peer() {
    let mut c = config();
    c.max_inbound = 1;
    let (mut pm, t0) = manager(c);
    connect(&mut pm, 1, PeerKind::Basic, Direction::Inbound, t0);
    assert_eq!(
        pm.on_inbound_attempt(addr(2).ip(), t0),
        Err(InboundRejected::NoInboundSlot)
    );
    pm.add_peer(pid(7), addr(7), PeerKind::Trusted, t0).unwrap();
    // It may be the trusted peer: admitted.
    assert_eq!(pm.on_inbound_attempt(addr(7).ip(), t0), Ok(()));
    pm.on_session_established(pid(7), addr(7), Direction::Inbound, t0);
    assert!(
        disconnects(&drain(&mut pm)).is_empty(),
        "the trusted peer stays"
    );
    // Every trusted peer connected: no more exception.
    assert_eq!(
        pm.on_inbound_attempt(addr(3).ip(), t0),
        Err(InboundRejected::NoInboundSlot)
    );
    // A basic peer let in while a trusted peer was missing is refused once known.
    pm.add_peer(pid(8), addr(8), PeerKind::Trusted, t0).unwrap();
    assert_eq!(pm.on_inbound_attempt(addr(3).ip(), t0), Ok(()));
    pm.on_session_established(pid(3), addr(3), Direction::Inbound, t0);
    assert_eq!(
        disconnects(&drain(&mut pm)),
        vec![(pid(3), DisconnectReason::TooManyPeers)]
    );
    pm.on_session_closed(pid(3), None, t0);
    assert_eq!(pm.counts().inbound, 2);
}

// ---- discovery candidates --------------------------------------------------

#[test]
fn candidates_with_a_failing_fork_id_are_dropped_and_removed() {
    let (mut pm, t0) = manager(config());
    pm.set_fork_filter(Some(fork_filter()));
    let ours = fork_filter().current();
    let other = ForkId {
        hash: ForkHash([1, 2, 3, 4]),
        next: 0,
    };
    pm.on_candidate(found(1, Some(other)), t0);
    assert!(pm.peer(&pid(1)).is_none());
    pm.on_candidate(found(2, None), t0);
    pm.on_candidate(found(3, Some(ours)), t0);
    assert_eq!(pm.peer(&pid(3)).unwrap().fork_id, Some(ours));
    drain(&mut pm);
    // A known candidate whose record now shows another chain is removed.
    pm.on_candidate(found(2, Some(other)), t0);
    assert!(pm.peer(&pid(2)).is_none());
    assert_eq!(drain(&mut pm), vec![PeerAction::PeerRemoved(pid(2))]);
    // Without a filter every fork id is accepted.
    pm.set_fork_filter(None);
    pm.on_candidate(found(1, Some(other)), t0);
    assert!(pm.peer(&pid(1)).is_some());
}

#[test]
fn the_candidate_table_is_bounded_and_evicts_the_worst() {
    let mut c = config();
    c.max_tracked_peers = 3;
    let (mut pm, t0) = manager(c);
    let fid = Some(fork_filter().current());
    pm.on_candidate(found(1, fid), t0);
    pm.on_candidate(found(2, fid), t0);
    pm.on_candidate(found(3, fid), t0);
    pm.apply_reputation_change(pid(2), ReputationChangeKind::Timeout, t0);
    drain(&mut pm);
    // Peer 2 is the worst: replaced by an equal newcomer.
    pm.on_candidate(found(4, fid), t0);
    assert_eq!(
        drain(&mut pm),
        vec![
            PeerAction::PeerRemoved(pid(2)),
            PeerAction::PeerAdded(pid(4))
        ]
    );
    // All remaining rank equal to a newcomer with a fork id and above one without.
    pm.on_candidate(found(5, fid), t0);
    pm.on_candidate(found(6, None), t0);
    assert!(drain(&mut pm).is_empty());
    assert_eq!(pm.num_known_peers(), 3);
    // Admin-added peers are always kept.
    pm.add_peer(pid(7), addr(7), PeerKind::Static, t0).unwrap();
    assert!(pm.peer(&pid(7)).is_some());
    assert_eq!(pm.num_known_peers(), 3);
}

#[test]
fn candidates_of_banned_ids_or_addresses_are_ignored() {
    let (mut pm, t0) = manager(config());
    pm.ban_peer(pid(1), t0).unwrap();
    pm.ban_ip(addr(2).ip(), t0);
    pm.on_candidate(found(1, None), t0);
    pm.on_candidate(found(2, None), t0);
    assert_eq!(pm.num_known_peers(), 0);
}

#[test]
fn candidates_are_drained_from_a_source_in_bounded_batches() {
    let (mut pm, t0) = manager(config());
    let mut source: VecDeque<CandidateEvent> = (1..=5).map(|n| found(n, None)).collect();
    assert_eq!(pm.drain_candidates(&mut source, 3, t0), 3);
    assert_eq!(pm.num_known_peers(), 3);
    assert_eq!(pm.drain_candidates(&mut source, 3, t0), 2);
    assert_eq!(pm.drain_candidates(&mut source, 3, t0), 0);
    assert_eq!(pm.num_known_peers(), 5);
}

#[test]
fn an_ip_ban_disconnects_non_trusted_peers_at_that_address() {
    let (mut pm, t0) = manager(config());
    connect(&mut pm, 1, PeerKind::Basic, Direction::Inbound, t0);
    pm.add_peer(pid(2), addr(1), PeerKind::Trusted, t0).unwrap();
    pm.connect(pid(2), addr(1), t0).unwrap();
    pm.on_session_established(pid(2), addr(1), Direction::Outbound, t0);
    connect(&mut pm, 3, PeerKind::Basic, Direction::Inbound, t0);
    drain(&mut pm);
    pm.ban_ip(addr(1).ip(), t0);
    assert_eq!(
        disconnects(&drain(&mut pm)),
        vec![(pid(1), DisconnectReason::DisconnectRequested)]
    );
}

#[test]
fn a_peer_removed_while_dialed_is_disconnected_when_the_dial_succeeds() {
    let (mut pm, t0) = manager(config());
    pm.add_peer(pid(1), addr(1), PeerKind::Basic, t0).unwrap();
    pm.connect(pid(1), addr(1), t0).unwrap();
    pm.remove_peer(pid(1));
    drain(&mut pm);
    pm.on_session_established(pid(1), addr(1), Direction::Outbound, t0);
    assert_eq!(
        disconnects(&drain(&mut pm)),
        vec![(pid(1), DisconnectReason::DisconnectRequested)]
    );
    pm.on_session_closed(pid(1), None, t0);
    assert!(pm.peer(&pid(1)).is_none());
    assert_eq!(pm.counts(), ConnectionCounts::default());
}

#[test]
fn trusted_only_mode_dials_admits_and_keeps_only_trusted_peers() {
    let mut c = config();
    c.trusted_only = true;
    let (mut pm, t0) = manager(c);
    pm.on_candidate(found(1, None), t0);
    pm.add_peer(pid(2), addr(2), PeerKind::Static, t0).unwrap();
    pm.add_peer(pid(3), addr(3), PeerKind::Trusted, t0).unwrap();
    pm.handle_timeout(t0 + 5 * SEC);
    assert_eq!(dials(&drain(&mut pm)), vec![pid(3)]);
    // Inbound: admitted while the trusted peer is missing, but a non-trusted
    // peer is disconnected once known.
    pm.on_inbound_attempt(addr(4).ip(), t0).unwrap();
    pm.on_session_established(pid(4), addr(4), Direction::Inbound, t0);
    assert_eq!(
        disconnects(&drain(&mut pm)),
        vec![(pid(4), DisconnectReason::UselessPeer)]
    );
    pm.on_session_established(pid(3), addr(3), Direction::Outbound, t0);
    assert!(disconnects(&drain(&mut pm)).is_empty());
    // Every trusted peer connected: inbound refused outright.
    assert_eq!(
        pm.on_inbound_attempt(addr(5).ip(), t0),
        Err(InboundRejected::NoInboundSlot)
    );
}

// ---- random driving: counters stay exact --------------------------------------

/// Checks the counters against the peer states and the limits.
fn assert_consistent(pm: &PeersManager, live: &BTreeMap<PeerId, Direction>, dialing: &[PeerId]) {
    let mut want = ConnectionCounts {
        pending_inbound: pm.counts.pending_inbound,
        ..ConnectionCounts::default()
    };
    for (id, p) in &pm.peers {
        match p.state {
            PeerState::PendingOutbound => {
                want.pending_outbound += 1;
                assert!(dialing.contains(id), "pending without a dial");
            }
            PeerState::Connected(d) | PeerState::Disconnecting(d) => {
                assert_eq!(live.get(id), Some(&d), "state without a session");
                match d {
                    Direction::Inbound => want.inbound += 1,
                    Direction::Outbound => want.outbound += 1,
                }
            }
            PeerState::Idle => assert!(!live.contains_key(id), "idle with a session"),
        }
    }
    assert_eq!(pm.counts, want);
    assert_eq!(
        live.len(),
        want.inbound + want.outbound,
        "sessions unknown to the manager"
    );
    assert!(pm.counts.pending_outbound <= pm.config.max_concurrent_dials);
    // Over the bound only with nothing left to evict.
    let idle_basic = pm
        .peers
        .values()
        .filter(|p| p.kind == PeerKind::Basic && p.state == PeerState::Idle)
        .count();
    assert!(
        pm.peers.len() <= pm.config.max_tracked_peers || idle_basic == 0,
        "{} known, {idle_basic} evictable",
        pm.peers.len()
    );
}

/// Random discovery, dials, inbound connections, closes, reputation changes,
/// bans and admin commands, answered as a session manager would; the
/// counters must match the sessions after every step.
#[test]
fn counters_stay_exact_under_random_events() {
    use rand::{rngs::StdRng, Rng, SeedableRng};
    for seed in 0..20u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let c = PeersConfig {
            max_outbound: 4,
            max_inbound: 4,
            max_concurrent_dials: 3,
            max_pending_inbound: 2,
            max_tracked_peers: 24,
            max_bans: 8,
            ..PeersConfig::default()
        };
        let (mut pm, mut now) = (PeersManager::new(c, start(), seed), start());
        // What the session manager holds.
        let mut live: BTreeMap<PeerId, Direction> = BTreeMap::new();
        let mut dialing: Vec<PeerId> = Vec::new();
        let mut pending_in: Vec<PeerId> = Vec::new();
        let mut closing: Vec<PeerId> = Vec::new();
        let (mut established, mut dials_seen) = (0, 0);
        for _ in 0..2000 {
            let n: u8 = rng.random_range(1..40);
            match rng.random_range(0..13u8) {
                0 | 1 => pm.on_candidate(found(n, None), now),
                2 => {
                    if pm.on_inbound_attempt(addr(n).ip(), now).is_ok() {
                        pending_in.push(pid(n));
                    }
                }
                3 if !pending_in.is_empty() => {
                    let id = pending_in.swap_remove(rng.random_range(0..pending_in.len()));
                    // Inbound from a peer already in session: the session
                    // manager refuses it as already connected.
                    if live.contains_key(&id) || dialing.contains(&id) {
                        pm.on_inbound_pending_closed(Some(id), None, now);
                    } else {
                        live.insert(id, Direction::Inbound);
                        established += 1;
                        pm.on_session_established(id, addr(n), Direction::Inbound, now);
                    }
                }
                4 if !pending_in.is_empty() => {
                    let id = pending_in.swap_remove(rng.random_range(0..pending_in.len()));
                    let f = [
                        None,
                        Some(SessionFailure::EciesAuth),
                        Some(SessionFailure::Ecies),
                    ][rng.random_range(0..3)];
                    pm.on_inbound_pending_closed(Some(id), f, now);
                }
                5 if !dialing.is_empty() => {
                    let id = dialing.swap_remove(rng.random_range(0..dialing.len()));
                    match live.entry(id) {
                        std::collections::btree_map::Entry::Occupied(_) => pm.on_dial_failed(
                            id,
                            Some(SessionFailure::Disconnected(
                                DisconnectReason::AlreadyConnected,
                            )),
                            now,
                        ),
                        std::collections::btree_map::Entry::Vacant(v) => {
                            v.insert(Direction::Outbound);
                            established += 1;
                            pm.on_session_established(id, addr(id[63]), Direction::Outbound, now);
                        }
                    }
                }
                6 if !dialing.is_empty() => {
                    let id = dialing.swap_remove(rng.random_range(0..dialing.len()));
                    let f = [
                        Some(SessionFailure::Io(io::ErrorKind::ConnectionRefused)),
                        Some(SessionFailure::Rlp),
                        Some(SessionFailure::Other),
                        Some(SessionFailure::NoSharedCapabilities),
                    ][rng.random_range(0..4)];
                    pm.on_dial_failed(id, f, now);
                }
                7 if !live.is_empty() || !closing.is_empty() => {
                    let id = if !closing.is_empty() {
                        closing.swap_remove(0)
                    } else {
                        *live.keys().nth(rng.random_range(0..live.len())).unwrap()
                    };
                    if live.remove(&id).is_some() {
                        let f = [
                            None,
                            Some(SessionFailure::Disconnected(DisconnectReason::TooManyPeers)),
                            Some(SessionFailure::Disconnected(
                                DisconnectReason::ProtocolBreach,
                            )),
                            Some(SessionFailure::Other),
                        ][rng.random_range(0..4)];
                        pm.on_session_closed(id, f, now);
                    }
                }
                8 => {
                    let kinds = [
                        ReputationChangeKind::BadMessage,
                        ReputationChangeKind::BadProtocol,
                        ReputationChangeKind::Timeout,
                        ReputationChangeKind::Other(20_000),
                    ];
                    pm.apply_reputation_change(pid(n), kinds[rng.random_range(0..4)], now);
                }
                9 => {
                    // Admin-added basic peers may exceed the bound until the
                    // next trim, so only lenient kinds are added here.
                    let kind = [PeerKind::Static, PeerKind::Trusted][rng.random_range(0..2)];
                    let _ = pm.add_peer(pid(n), addr(n), kind, now);
                }
                10 => match rng.random_range(0..5u8) {
                    0 => pm.remove_peer(pid(n)),
                    4 => pm.remove_peer_kind(pid(n), PeerKind::Static, now),
                    1 => {
                        let _ = pm.ban_peer(pid(n), now);
                    }
                    2 => pm.ban_ip(addr(n).ip(), now),
                    _ => pm.unban_peer(pid(n)),
                },
                _ => {
                    now += Duration::from_millis(rng.random_range(0..20_000));
                    if now >= pm.poll_timeout() {
                        pm.handle_timeout(now);
                    }
                }
            }
            while let Some(action) = pm.poll_action() {
                match action {
                    PeerAction::Dial { peer_id, .. } => {
                        assert!(!dialing.contains(&peer_id), "dialed twice");
                        dialing.push(peer_id);
                        dials_seen += 1;
                    }
                    PeerAction::Disconnect { peer_id, .. } => {
                        assert!(live.contains_key(&peer_id), "disconnect without a session");
                        closing.push(peer_id);
                    }
                    _ => {}
                }
            }
            assert_consistent(&pm, &live, &dialing);
        }
        // The run exercised the interesting paths.
        assert!(
            established > 50 && dials_seen > 50,
            "{established} {dials_seen}"
        );
    }
}
