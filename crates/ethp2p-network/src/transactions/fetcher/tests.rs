use alloy_consensus::{SignableTransaction, TxEip1559, TxLegacy};
use alloy_primitives::{Bytes as ABytes, Signature, TxKind, U256};

use super::*;
use crate::transactions::decode::PooledTx;

const MS: Duration = Duration::from_millis(1);

fn peer(i: u8) -> PeerId {
    PeerId::repeat_byte(i)
}

/// A transaction of type 0 or 2 whose input is `input_len` bytes (signature
/// arbitrary: the fetcher never verifies it).
fn tx(nonce: u64, input_len: usize, ty: u8) -> DecodedTx {
    let sig = Signature::new(U256::from(1), U256::from(2), false);
    let input = ABytes::from(vec![0xab; input_len]);
    let pooled = match ty {
        0 => PooledTx::Legacy(
            TxLegacy {
                chain_id: Some(1),
                nonce,
                gas_price: 1,
                gas_limit: 21_000,
                to: TxKind::Create,
                value: U256::ZERO,
                input,
            }
            .into_signed(sig),
        ),
        _ => PooledTx::Eip1559(
            TxEip1559 {
                chain_id: 1,
                nonce,
                gas_limit: 21_000,
                max_fee_per_gas: 2,
                max_priority_fee_per_gas: 1,
                to: TxKind::Create,
                value: U256::ZERO,
                access_list: Default::default(),
                input,
            }
            .into_signed(sig),
        ),
    };
    DecodedTx::from_pooled(pooled)
}

fn honest(tx: &DecodedTx) -> AnnouncedTx {
    let meta = tx.meta();
    AnnouncedTx {
        hash: meta.hash,
        meta: Some(AnnouncedMeta {
            ty: meta.ty,
            size: meta.size,
        }),
    }
}

fn announced(tx: &DecodedTx, ty: u8, size: u32) -> AnnouncedTx {
    AnnouncedTx {
        hash: tx.hash(),
        meta: Some(AnnouncedMeta { ty, size }),
    }
}

fn hash_only(hash: B256) -> AnnouncedTx {
    AnnouncedTx { hash, meta: None }
}

fn h(i: u64) -> B256 {
    B256::left_padding_from(&i.to_be_bytes())
}

fn drain(f: &mut TxFetcher) -> Vec<FetchAction> {
    std::iter::from_fn(|| f.poll_action()).collect()
}

fn requests(actions: &[FetchAction]) -> Vec<(PeerId, Vec<B256>)> {
    actions
        .iter()
        .filter_map(|a| match a {
            FetchAction::Request { peer, hashes } => Some((*peer, hashes.clone())),
            _ => None,
        })
        .collect()
}

fn fetcher() -> TxFetcher {
    TxFetcher::new(FetcherConfig::default())
}

#[test]
fn waits_500ms_before_requesting() {
    let mut f = fetcher();
    let t0 = Instant::now();
    f.on_announcement(peer(1), &[hash_only(h(1))], t0);
    assert!(drain(&mut f).is_empty());
    assert_eq!(f.poll_timeout(), Some(t0 + 500 * MS));
    f.handle_timeout(t0 + 499 * MS);
    assert!(drain(&mut f).is_empty());
    f.handle_timeout(t0 + 500 * MS);
    assert_eq!(requests(&drain(&mut f)), vec![(peer(1), vec![h(1)])]);
    // Now the request timer.
    assert_eq!(
        f.poll_timeout(),
        Some(t0 + 500 * MS + Duration::from_secs(5))
    );
}

#[test]
fn hashes_within_the_gather_slack_go_with_the_due_one() {
    let mut f = fetcher();
    let t0 = Instant::now();
    f.on_announcement(peer(1), &[hash_only(h(1))], t0);
    f.on_announcement(peer(1), &[hash_only(h(2))], t0 + 99 * MS);
    f.on_announcement(peer(1), &[hash_only(h(3))], t0 + 101 * MS);
    f.handle_timeout(t0 + 500 * MS);
    assert_eq!(requests(&drain(&mut f)), vec![(peer(1), vec![h(1), h(2)])]);
    assert_eq!(f.stats().waiting, 1);
}

#[test]
fn a_request_holds_at_most_256_hashes_and_one_is_in_flight_per_peer() {
    let mut f = fetcher();
    let t0 = Instant::now();
    let entries: Vec<_> = (0..300).map(|i| hash_only(h(i))).collect();
    f.on_announcement(peer(1), &entries, t0);
    f.handle_timeout(t0 + 500 * MS);
    let reqs = requests(&drain(&mut f));
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].1.len(), 256);
    // In announcement order.
    assert_eq!(reqs[0].1[..3], [h(0), h(1), h(2)]);
    // More announcements do not open a second request.
    f.on_announcement(peer(1), &[hash_only(h(1000))], t0 + 600 * MS);
    f.handle_timeout(t0 + 1100 * MS);
    assert!(requests(&drain(&mut f)).is_empty());
    // The answer frees the peer: the rest follows.
    f.on_delivery(peer(1), Vec::new(), t0 + 1200 * MS);
    let reqs = requests(&drain(&mut f));
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].1.len(), 45);
}

#[test]
fn a_request_stops_once_128_kib_are_announced() {
    let mut f = fetcher();
    let t0 = Instant::now();
    let entries: Vec<_> = (0..5)
        .map(|i| AnnouncedTx {
            hash: h(i),
            meta: Some(AnnouncedMeta {
                ty: 2,
                size: 50 * 1024,
            }),
        })
        .collect();
    f.on_announcement(peer(1), &entries, t0);
    f.handle_timeout(t0 + 500 * MS);
    // 50 + 50 + 50 KiB reaches 128 KiB: geth stops after the third.
    assert_eq!(
        requests(&drain(&mut f)),
        vec![(peer(1), vec![h(0), h(1), h(2)])]
    );
}

#[test]
fn a_timed_out_request_moves_to_the_next_announcer_and_penalises() {
    let mut f = fetcher();
    let t0 = Instant::now();
    f.on_announcement(peer(1), &[hash_only(h(1))], t0);
    f.on_announcement(peer(2), &[hash_only(h(1))], t0);
    f.handle_timeout(t0 + 500 * MS);
    let reqs = requests(&drain(&mut f));
    assert_eq!(reqs.len(), 1, "one request per hash");
    let first = reqs[0].0;
    let other = if first == peer(1) { peer(2) } else { peer(1) };
    let deadline = t0 + 500 * MS + Duration::from_secs(5);
    assert_eq!(f.poll_timeout(), Some(deadline));
    f.handle_timeout(deadline - MS);
    assert!(drain(&mut f).is_empty());
    f.handle_timeout(deadline);
    let actions = drain(&mut f);
    assert!(actions.contains(&FetchAction::Penalise {
        peer: first,
        kind: PenaltyKind::Timeout
    }));
    assert_eq!(requests(&actions), vec![(other, vec![h(1)])]);
    // The slow peer keeps its dangling request: a new hash only it announced
    // is not asked from it until it answers.
    f.on_announcement(first, &[hash_only(h(2))], deadline);
    f.handle_timeout(deadline + 500 * MS);
    assert!(requests(&drain(&mut f)).is_empty());
    f.on_delivery(first, Vec::new(), deadline + 600 * MS);
    assert_eq!(
        requests(&drain(&mut f)),
        vec![(first, vec![h(2)])],
        "answered: usable again"
    );
}

#[test]
fn retries_are_bounded() {
    let mut f = TxFetcher::new(FetcherConfig {
        max_attempts: 3,
        ..FetcherConfig::default()
    });
    let t0 = Instant::now();
    for p in 1..=4 {
        f.on_announcement(peer(p), &[hash_only(h(1))], t0);
    }
    let mut now = t0 + 500 * MS;
    f.handle_timeout(now);
    let mut asked = requests(&drain(&mut f)).len();
    for _ in 0..3 {
        now += Duration::from_secs(5);
        f.handle_timeout(now);
        asked += requests(&drain(&mut f)).len();
    }
    assert_eq!(asked, 3, "three attempts, the fourth announcer never asked");
    assert!(!f.contains(&h(1)));
    assert_eq!(f.stats().tracked, 0);
}

#[test]
fn delivered_type_mismatch_drops_every_lying_announcer() {
    let mut f = fetcher();
    let t0 = Instant::now();
    let t = tx(1, 10, 2);
    let size = t.meta().size;
    f.on_announcement(peer(1), &[announced(&t, 0, size)], t0);
    f.on_announcement(peer(2), &[honest(&t)], t0);
    f.handle_timeout(t0 + 500 * MS);
    let (asked, _) = requests(&drain(&mut f))[0].clone();
    f.on_delivery(asked, vec![t.clone()], t0 + 600 * MS);
    let actions = drain(&mut f);
    assert!(actions.contains(&FetchAction::Drop {
        peer: peer(1),
        reason: DropReason::TypeMismatch {
            hash: t.hash(),
            announced: 0,
            delivered: 2
        }
    }));
    assert!(!actions
        .iter()
        .any(|a| matches!(a, FetchAction::Drop { peer, .. } if *peer == peer_2())));
    assert!(actions.contains(&FetchAction::Deliver {
        peer: asked,
        tx: Box::new(t)
    }));
}

fn peer_2() -> PeerId {
    peer(2)
}

#[test]
fn delivered_size_off_by_more_than_8_bytes_drops() {
    let t = tx(1, 100, 2);
    let size = t.meta().size;
    for (announced_size, dropped) in [
        (size + 8, false),
        (size - 8, false),
        (size + 9, true),
        (size - 9, true),
    ] {
        let mut f = fetcher();
        let t0 = Instant::now();
        f.on_announcement(peer(1), &[announced(&t, 2, announced_size)], t0);
        f.handle_timeout(t0 + 500 * MS);
        drain(&mut f);
        f.on_delivery(peer(1), vec![t.clone()], t0 + 600 * MS);
        let actions = drain(&mut f);
        let drop = FetchAction::Drop {
            peer: peer(1),
            reason: DropReason::SizeMismatch {
                hash: t.hash(),
                announced: announced_size,
                delivered: size,
            },
        };
        assert_eq!(
            actions.contains(&drop),
            dropped,
            "{announced_size} vs {size}"
        );
    }
}

#[test]
fn a_dropped_peer_is_ignored_until_gone() {
    let mut f = fetcher();
    let t0 = Instant::now();
    let t = tx(1, 10, 2);
    f.on_announcement(peer(1), &[announced(&t, 1, t.meta().size)], t0);
    f.handle_timeout(t0 + 500 * MS);
    drain(&mut f);
    f.on_delivery(peer(1), vec![t], t0 + 600 * MS);
    assert!(drain(&mut f)
        .iter()
        .any(|a| matches!(a, FetchAction::Drop { .. })));
    f.on_announcement(peer(1), &[hash_only(h(9))], t0 + 700 * MS);
    assert!(!f.contains(&h(9)));
    f.on_peer_gone(&peer(1), t0 + 800 * MS);
    f.on_announcement(peer(1), &[hash_only(h(9))], t0 + 900 * MS);
    assert!(f.contains(&h(9)), "a new session starts clean");
}

#[test]
fn unrequested_transactions_are_penalised_but_delivered() {
    let mut f = fetcher();
    let t0 = Instant::now();
    let (a, b) = (tx(1, 10, 2), tx(2, 10, 2));
    f.on_announcement(peer(1), &[honest(&a)], t0);
    f.handle_timeout(t0 + 500 * MS);
    drain(&mut f);
    f.on_delivery(peer(1), vec![a.clone(), b.clone()], t0 + 600 * MS);
    let actions = drain(&mut f);
    assert!(actions.contains(&FetchAction::Penalise {
        peer: peer(1),
        kind: PenaltyKind::BadTransactions
    }));
    assert!(actions.contains(&FetchAction::Deliver {
        peer: peer(1),
        tx: Box::new(b)
    }));
    // A fully requested response earns nothing.
    f.on_announcement(peer(1), &[honest(&tx(3, 10, 2))], t0 + 700 * MS);
    f.handle_timeout(t0 + 1200 * MS);
    drain(&mut f);
    f.on_delivery(peer(1), vec![tx(3, 10, 2)], t0 + 1300 * MS);
    assert!(!drain(&mut f)
        .iter()
        .any(|a| matches!(a, FetchAction::Penalise { .. })));
    // A response with no request at all is unrequested too.
    f.on_delivery(peer(7), vec![tx(4, 10, 2)], t0 + 1400 * MS);
    assert!(drain(&mut f).contains(&FetchAction::Penalise {
        peer: peer(7),
        kind: PenaltyKind::BadTransactions
    }));
}

#[test]
fn missing_hashes_go_to_another_announcer_at_once() {
    let mut f = fetcher();
    let t0 = Instant::now();
    let (a, b) = (tx(1, 10, 2), tx(2, 10, 2));
    f.on_announcement(peer(1), &[honest(&a), honest(&b)], t0);
    f.handle_timeout(t0 + 500 * MS);
    assert_eq!(requests(&drain(&mut f)).len(), 1);
    f.on_announcement(peer(2), &[honest(&b)], t0 + 510 * MS);
    // peer 1 delivers only `a`.
    f.on_delivery(peer(1), vec![a], t0 + 600 * MS);
    assert_eq!(
        requests(&drain(&mut f)),
        vec![(peer(2), vec![b.hash()])],
        "b asked from peer 2 without a new wait"
    );
    // A hash nobody else announced is forgotten.
    let c = tx(3, 10, 2);
    f.on_announcement(peer(1), &[honest(&c)], t0 + 700 * MS);
    f.handle_timeout(t0 + 1200 * MS);
    drain(&mut f);
    f.on_delivery(peer(1), Vec::new(), t0 + 1300 * MS);
    assert!(!f.contains(&c.hash()));
}

#[test]
fn a_departed_peer_hands_its_request_to_the_other_announcers() {
    let mut f = fetcher();
    let t0 = Instant::now();
    f.on_announcement(peer(1), &[hash_only(h(1)), hash_only(h(2))], t0);
    f.handle_timeout(t0 + 500 * MS);
    assert_eq!(requests(&drain(&mut f))[0].0, peer(1));
    f.on_announcement(peer(2), &[hash_only(h(1))], t0 + 510 * MS);
    f.on_peer_gone(&peer(1), t0 + 600 * MS);
    assert_eq!(requests(&drain(&mut f)), vec![(peer(2), vec![h(1)])]);
    assert!(!f.contains(&h(2)), "only peer 1 had announced it");
    assert_eq!(f.stats().peers, 1);
}

#[test]
fn a_broadcast_ends_the_wait_and_checks_announcers() {
    let mut f = fetcher();
    let t0 = Instant::now();
    let (a, b) = (tx(1, 10, 2), tx(2, 10, 2));
    f.on_announcement(peer(1), &[honest(&a)], t0);
    f.on_announcement(peer(2), &[announced(&b, 2, b.meta().size + 100)], t0);
    f.on_broadcast(peer(3), &[a.meta(), b.meta()], t0 + 100 * MS);
    assert_eq!(
        drain(&mut f),
        vec![FetchAction::Drop {
            peer: peer(2),
            reason: DropReason::SizeMismatch {
                hash: b.hash(),
                announced: b.meta().size + 100,
                delivered: b.meta().size
            }
        }]
    );
    f.handle_timeout(t0 + 500 * MS);
    assert!(requests(&drain(&mut f)).is_empty());
    assert!(f.is_empty());
    assert_eq!(f.poll_timeout(), None);
}

#[test]
fn at_most_4096_hashes_are_tracked_per_peer() {
    let mut f = fetcher();
    let t0 = Instant::now();
    let entries: Vec<_> = (0..4100).map(|i| hash_only(h(i))).collect();
    f.on_announcement(peer(1), &entries, t0);
    assert_eq!(f.len(), 4096);
    assert_eq!(f.stats().overflowed, 4);
    assert!(!f.contains(&h(4099)));
    // Another peer still gets its own budget.
    f.on_announcement(peer(2), &entries[4000..], t0);
    assert_eq!(f.len(), 4100);
}

#[test]
fn the_global_bound_holds() {
    let mut f = TxFetcher::new(FetcherConfig {
        max_tracked: 10,
        ..FetcherConfig::default()
    });
    let t0 = Instant::now();
    let entries: Vec<_> = (0..20).map(|i| hash_only(h(i))).collect();
    f.on_announcement(peer(1), &entries, t0);
    assert_eq!(f.len(), 10);
    // Known hashes still gain announcers.
    f.on_announcement(peer(2), &entries, t0);
    assert_eq!(f.len(), 10);
    f.on_peer_gone(&peer(1), t0);
    assert_eq!(f.len(), 10, "peer 2 announced them too");
    f.on_peer_gone(&peer(2), t0);
    assert!(f.is_empty());
    assert_eq!(f.stats().peers, 0);
}

#[test]
fn bad_announcements_are_penalised() {
    let mut f = fetcher();
    let verdict = AnnouncementVerdict {
        accepted: vec![hash_only(h(1))],
        bad: Some(super::super::announce::BadAnnouncement::Duplicate(h(1))),
        ..AnnouncementVerdict::default()
    };
    f.on_checked_announcement(peer(1), &verdict, Instant::now());
    assert_eq!(
        drain(&mut f),
        vec![FetchAction::Penalise {
            peer: peer(1),
            kind: PenaltyKind::BadAnnouncement
        }]
    );
    assert!(f.contains(&h(1)));
}

#[test]
fn a_seed_fixes_the_choice_of_peer() {
    let run = |seed| {
        let mut f = TxFetcher::new(FetcherConfig {
            seed,
            ..FetcherConfig::default()
        });
        let t0 = Instant::now();
        for p in 1..=8 {
            f.on_announcement(peer(p), &[hash_only(h(1))], t0);
        }
        f.handle_timeout(t0 + 500 * MS);
        requests(&drain(&mut f))[0].0
    };
    assert_eq!(run(5), run(5));
    let chosen: std::collections::HashSet<_> = (0..32).map(run).collect();
    assert!(chosen.len() > 1, "different seeds spread the load");
}

#[test]
fn slots_are_reused_without_confusing_old_references() {
    let mut f = fetcher();
    let t0 = Instant::now();
    f.on_announcement(peer(1), &[hash_only(h(1))], t0);
    f.on_broadcast(
        peer(2),
        &[TxMeta {
            hash: h(1),
            ty: 2,
            size: 100,
        }],
        t0,
    );
    assert!(f.is_empty());
    // The freed slot is reused by a later hash; the stale wait entry of h(1)
    // must not make it due early.
    f.on_announcement(peer(1), &[hash_only(h(2))], t0 + 300 * MS);
    assert_eq!(f.poll_timeout(), Some(t0 + 800 * MS));
    f.handle_timeout(t0 + 500 * MS);
    assert!(requests(&drain(&mut f)).is_empty());
    f.handle_timeout(t0 + 800 * MS);
    assert_eq!(requests(&drain(&mut f)), vec![(peer(1), vec![h(2)])]);
}

/// Random event sequences (seeded) keep every internal invariant and bound.
#[test]
fn random_event_sequences_keep_the_invariants() {
    use rand::{rngs::StdRng, Rng, SeedableRng};
    for seed in 0..20u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut f = TxFetcher::new(FetcherConfig {
            max_tracked: 64,
            max_announced_per_peer: 24,
            max_request_hashes: 5,
            max_attempts: 2,
            seed,
            ..FetcherConfig::default()
        });
        let txs: Vec<DecodedTx> = (0..80).map(|i| tx(i, (i % 7) as usize, 2)).collect();
        let t0 = Instant::now();
        let mut now = t0;
        for _ in 0..400 {
            now += Duration::from_millis(rng.random_range(0..1500));
            let p = peer(rng.random_range(1..=6));
            match rng.random_range(0..10) {
                0..=3 => {
                    let entries: Vec<_> = (0..rng.random_range(1..12))
                        .map(|_| {
                            let t = &txs[rng.random_range(0..txs.len())];
                            if rng.random_bool(0.1) {
                                announced(t, 2, t.meta().size + 50)
                            } else {
                                honest(t)
                            }
                        })
                        .collect();
                    f.on_announcement(p, &entries, now);
                }
                4..=5 => {
                    let delivered: Vec<_> = (0..rng.random_range(0..6))
                        .map(|_| txs[rng.random_range(0..txs.len())].clone())
                        .collect();
                    f.on_delivery(p, delivered, now);
                }
                6 => {
                    let metas: Vec<_> = (0..3)
                        .map(|_| txs[rng.random_range(0..txs.len())].meta())
                        .collect();
                    f.on_broadcast(p, &metas, now);
                }
                7 => f.on_peer_gone(&p, now),
                _ => {
                    if let Some(deadline) = f.poll_timeout() {
                        assert!(deadline >= t0);
                        now = now.max(deadline);
                    }
                    f.handle_timeout(now);
                }
            }
            for action in drain(&mut f) {
                if let FetchAction::Request { hashes, .. } = action {
                    assert!(!hashes.is_empty() && hashes.len() <= 5);
                }
            }
            f.check_invariants();
        }
    }
}

/// The per-hash costs the module docs state.
#[test]
fn slot_and_announcement_sizes_are_as_documented() {
    assert_eq!(size_of::<Slot>(), 64);
    assert_eq!(size_of::<(u32, Ann)>(), 16);
}
