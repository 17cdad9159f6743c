use std::collections::BTreeSet;

use super::*;

fn peers(n: u8) -> Vec<PeerId> {
    (1..=n).map(PeerId::repeat_byte).collect()
}

fn h(i: u64) -> B256 {
    B256::left_padding_from(&i.to_be_bytes())
}

fn otx(i: u64, sender: u8, ty: u8, size: u32) -> OutgoingTx {
    OutgoingTx {
        meta: TxMeta {
            hash: h(i),
            ty,
            size,
        },
        sender: Address::repeat_byte(sender),
    }
}

fn propagator(key: u8) -> Propagator {
    Propagator::new(
        PeerId::repeat_byte(0xee),
        B256::repeat_byte(key),
        PropagateConfig::default(),
    )
}

fn full_receivers(plan: &[PeerPropagation], tx: usize) -> BTreeSet<PeerId> {
    plan.iter()
        .filter(|p| p.full.iter().flatten().any(|&t| t == tx))
        .map(|p| p.peer)
        .collect()
}

fn announce_receivers(plan: &[PeerPropagation], tx: usize) -> BTreeSet<PeerId> {
    plan.iter()
        .filter(|p| p.announce.iter().flatten().any(|&t| t == tx))
        .map(|p| p.peer)
        .collect()
}

#[test]
fn direct_count_is_the_ceiling_of_the_square_root() {
    let counts: Vec<usize> = [0, 1, 2, 4, 5, 9, 10, 50, 100]
        .iter()
        .map(|&n| Propagator::direct_count(n))
        .collect();
    assert_eq!(counts, vec![0, 1, 2, 2, 3, 3, 4, 8, 10]);
}

#[test]
fn bodies_to_sqrt_n_peers_hashes_to_the_rest() {
    let peers = peers(10);
    let mut seen = SeenByPeers::new(100, 1);
    let plan = propagator(1).plan(&[otx(1, 7, 2, 200)], &peers, &mut seen);
    let full = full_receivers(&plan, 0);
    let announced = announce_receivers(&plan, 0);
    assert_eq!(full.len(), 4);
    assert_eq!(announced.len(), 6);
    assert!(full.is_disjoint(&announced));
}

#[test]
fn a_sender_keeps_its_peers_and_the_key_changes_them() {
    let peers = peers(25);
    let p = propagator(1);
    let a = p.direct_peers(&peers, &Address::repeat_byte(7));
    // Same sender, another call and another transaction: same peers.
    let mut seen = SeenByPeers::new(100, 1);
    let plan = p.plan(&[otx(1, 7, 2, 100), otx(2, 7, 0, 100)], &peers, &mut seen);
    let expected: BTreeSet<PeerId> = a.iter().map(|&i| peers[i]).collect();
    assert_eq!(full_receivers(&plan, 0), expected);
    assert_eq!(full_receivers(&plan, 1), expected);
    // Other senders spread over other peers.
    let sets: BTreeSet<Vec<usize>> = (0..20u8)
        .map(|s| {
            let mut v = p.direct_peers(&peers, &Address::repeat_byte(s));
            v.sort_unstable();
            v
        })
        .collect();
    assert!(sets.len() > 10);
    // Another key, another choice for the same sender.
    let mut b = propagator(2).direct_peers(&peers, &Address::repeat_byte(7));
    let mut a = a;
    a.sort_unstable();
    b.sort_unstable();
    assert_ne!(a, b);
}

#[test]
fn blob_and_large_transactions_are_only_announced() {
    let peers = peers(4);
    let mut seen = SeenByPeers::new(100, 1);
    let txs = [
        otx(1, 1, BLOB_TX_TYPE, 1000),
        otx(2, 1, 2, 4097),
        otx(3, 1, 2, 4096),
    ];
    let plan = propagator(1).plan(&txs, &peers, &mut seen);
    assert!(full_receivers(&plan, 0).is_empty());
    assert_eq!(announce_receivers(&plan, 0).len(), 4);
    assert!(full_receivers(&plan, 1).is_empty());
    assert_eq!(announce_receivers(&plan, 1).len(), 4);
    assert_eq!(full_receivers(&plan, 2).len(), 2, "4 KiB exactly is sent");
}

#[test]
fn never_to_a_peer_known_to_have_it() {
    let peers = peers(4);
    let mut seen = SeenByPeers::new(100, 1);
    seen.mark(&peers[0], &h(1));
    let p = propagator(1);
    let plan = p.plan(&[otx(1, 1, 2, 100)], &peers, &mut seen);
    assert!(!full_receivers(&plan, 0).contains(&peers[0]));
    assert!(!announce_receivers(&plan, 0).contains(&peers[0]));
    assert_eq!(
        full_receivers(&plan, 0).len() + announce_receivers(&plan, 0).len(),
        3
    );
    // Planned means known: a second plan sends nothing.
    assert!(p.plan(&[otx(1, 1, 2, 100)], &peers, &mut seen).is_empty());
}

#[test]
fn messages_stay_within_100_kib() {
    let peers = peers(1);
    let mut seen = SeenByPeers::new(100_000, 1);
    let txs: Vec<_> = (0..60).map(|i| otx(i, 1, 2, 4000)).collect();
    let plan = propagator(1).plan(&txs, &peers, &mut seen);
    assert_eq!(plan.len(), 1);
    let batches = &plan[0].full;
    assert!(batches.len() >= 3);
    for batch in batches {
        let bytes: usize = batch.iter().map(|&t| txs[t].meta.size as usize + 3).sum();
        assert!(bytes <= 100 * 1024, "{bytes}");
    }
    assert_eq!(batches.iter().map(Vec::len).sum::<usize>(), 60);

    // Announcements: 32 bytes a hash, so 3,200 per message.
    let blobs: Vec<_> = (0..7000).map(|i| otx(i, 1, BLOB_TX_TYPE, 1000)).collect();
    let plan = propagator(1).plan(&blobs, &peers, &mut SeenByPeers::new(100_000, 2));
    let sizes: Vec<usize> = plan[0].announce.iter().map(Vec::len).collect();
    assert_eq!(sizes, vec![3200, 3200, 600]);
}
