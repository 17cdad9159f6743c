use super::*;
use rand::{rngs::StdRng, RngCore, SeedableRng};
use std::time::Duration;

fn random_id(rng: &mut StdRng) -> PeerId {
    let mut b = [0u8; 64];
    rng.fill_bytes(&mut b);
    PeerId::from(b)
}

/// A random id whose log-distance to `local` puts it in `bucket`.
fn id_in_bucket(rng: &mut StdRng, table: &Table, bucket: usize) -> PeerId {
    loop {
        let id = random_id(rng);
        if table.bucket_index(&node_key(&id)) == bucket {
            return id;
        }
    }
}

fn rec(id: PeerId, ip: &str) -> NodeRecord {
    NodeRecord {
        id,
        address: ip.parse().unwrap(),
        tcp_port: 30303,
        udp_port: 30303,
    }
}

fn setup() -> (StdRng, Table, Instant) {
    let mut rng = StdRng::seed_from_u64(7);
    let local = random_id(&mut rng);
    (rng, Table::new(local), Instant::now())
}

#[test]
fn log_distance_basics() {
    let a = B256::ZERO;
    assert_eq!(log_distance(&a, &a), 0);
    let mut b = B256::ZERO;
    b[31] = 1;
    assert_eq!(log_distance(&a, &b), 1);
    b[0] = 0x80;
    assert_eq!(log_distance(&a, &b), 256);
    let mut c = B256::ZERO;
    c[1] = 0x10;
    assert_eq!(log_distance(&a, &c), 256 - 8 - 3);
}

#[test]
fn bucket_index_follows_geth_layout() {
    let (mut rng, t, _) = setup();
    for _ in 0..200 {
        let id = random_id(&mut rng);
        let d = log_distance(&t.local_key, &node_key(&id));
        let b = t.bucket_index(&node_key(&id));
        if d <= 239 {
            assert_eq!(b, 0);
        } else {
            assert_eq!(b, d - 240);
        }
        assert!(b < N_BUCKETS);
    }
}

#[test]
fn self_and_invalid_endpoints_refused() {
    let (mut rng, mut t, now) = setup();
    assert_eq!(t.add(rec(t.local_id, "1.2.3.4"), now), AddOutcome::IsSelf);
    let id = random_id(&mut rng);
    assert_eq!(t.add(rec(id, "0.0.0.0"), now), AddOutcome::InvalidEndpoint);
    assert_eq!(
        t.add(rec(id, "224.0.0.1"), now),
        AddOutcome::InvalidEndpoint
    );
    let mut r = rec(id, "1.2.3.4");
    r.udp_port = 0;
    assert_eq!(t.add(r, now), AddOutcome::InvalidEndpoint);
    assert!(t.is_empty());
}

#[test]
fn two_per_slash24_per_bucket() {
    let (mut rng, mut t, now) = setup();
    let ids: Vec<_> = (0..3).map(|_| id_in_bucket(&mut rng, &t, 16)).collect();
    assert_eq!(t.add(rec(ids[0], "8.8.8.1"), now), AddOutcome::Added);
    assert_eq!(t.add(rec(ids[1], "8.8.8.2"), now), AddOutcome::Added);
    assert_eq!(t.add(rec(ids[2], "8.8.8.3"), now), AddOutcome::IpLimit);
    // Another /24 is fine.
    assert_eq!(t.add(rec(ids[2], "8.8.9.3"), now), AddOutcome::Added);
    // Removing one frees the slot.
    t.remove(&ids[0]).unwrap();
    let id = id_in_bucket(&mut rng, &t, 16);
    assert_eq!(t.add(rec(id, "8.8.8.4"), now), AddOutcome::Added);
}

#[test]
fn ten_per_slash24_per_table() {
    let (mut rng, mut t, now) = setup();
    let mut added = 0;
    // Two per bucket over buckets 16..=11 = 12 attempts; 10 fit.
    for b in (11..=16).rev() {
        for _ in 0..2 {
            let id = id_in_bucket(&mut rng, &t, b);
            match t.add(rec(id, &format!("9.9.9.{}", added + 1)), now) {
                AddOutcome::Added => added += 1,
                AddOutcome::IpLimit => {}
                other => panic!("{other:?}"),
            }
        }
    }
    assert_eq!(added, TABLE_IP_LIMIT);
    assert_eq!(t.len(), TABLE_IP_LIMIT);
}

#[test]
fn lan_and_loopback_are_exempt() {
    let (mut rng, mut t, now) = setup();
    for i in 0..5 {
        let id = id_in_bucket(&mut rng, &t, 16);
        assert_eq!(
            t.add(rec(id, &format!("10.0.0.{i}")), now),
            AddOutcome::Added
        );
        let id = id_in_bucket(&mut rng, &t, 16);
        assert_eq!(
            t.add(rec(id, &format!("127.0.0.{i}")), now),
            AddOutcome::Added
        );
    }
    assert_eq!(t.len(), 10);
}

#[test]
fn full_bucket_keeps_replacements_and_promotes_on_failure() {
    let (mut rng, mut t, now) = setup();
    let ids: Vec<_> = (0..BUCKET_SIZE + 2)
        .map(|_| id_in_bucket(&mut rng, &t, 16))
        .collect();
    for (i, id) in ids.iter().enumerate() {
        let out = t.add(rec(*id, &format!("10.0.1.{i}")), now);
        if i < BUCKET_SIZE {
            assert_eq!(out, AddOutcome::Added);
        } else {
            assert_eq!(out, AddOutcome::Replacement);
        }
    }
    assert_eq!(t.len(), BUCKET_SIZE);
    assert_eq!(t.replacements_len(), 2);
    // The least recently seen entry is the revalidation target of its bucket.
    let target = t.revalidation_target(&mut rng).unwrap();
    assert_eq!(target.id, ids[0]);
    // One failure with a replacement waiting: evicted, newest replacement in.
    let ev = t.on_check_failed(&ids[0]).unwrap();
    assert_eq!(ev.removed.record.id, ids[0]);
    assert_eq!(ev.promoted.unwrap().id, ids[BUCKET_SIZE + 1]);
    assert_eq!(t.len(), BUCKET_SIZE);
    assert!(t.contains(&ids[BUCKET_SIZE + 1]));
    assert!(!t.contains(&ids[0]));
}

#[test]
fn without_replacement_three_failures_evict() {
    let (mut rng, mut t, now) = setup();
    let id = id_in_bucket(&mut rng, &t, 16);
    assert_eq!(t.add(rec(id, "10.0.0.1"), now), AddOutcome::Added);
    assert!(t.on_check_failed(&id).is_none());
    assert!(t.on_check_failed(&id).is_none());
    let ev = t.on_check_failed(&id).unwrap();
    assert!(ev.promoted.is_none());
    assert!(t.is_empty());
}

#[test]
fn success_resets_failures_and_moves_to_back() {
    let (mut rng, mut t, now) = setup();
    let a = id_in_bucket(&mut rng, &t, 16);
    let b = id_in_bucket(&mut rng, &t, 16);
    let _ = t.add(rec(a, "10.0.0.1"), now);
    let _ = t.add(rec(b, "10.0.0.2"), now);
    assert!(t.on_check_failed(&a).is_none());
    assert!(t.on_check_failed(&a).is_none());
    t.mark_seen(&a, now + Duration::from_secs(1));
    let e = t.get(&a).unwrap();
    assert_eq!(e.failed_checks, 0);
    assert_eq!(e.liveness, 1);
    // b is now the least recently seen.
    assert_eq!(t.revalidation_target(&mut rng).unwrap().id, b);
    assert!(t.on_check_failed(&a).is_none());
}

#[test]
fn closest_matches_brute_force() {
    let (mut rng, mut t, now) = setup();
    for i in 0..300u32 {
        let id = random_id(&mut rng);
        let _ = t.add(rec(id, &format!("10.{}.{}.1", i / 256, i % 256)), now);
    }
    let target = random_id(&mut rng);
    let got = t.closest(&target, 16);
    let tk = node_key(&target);
    let mut all: Vec<_> = t.records();
    all.sort_by_key(|r| distance(&node_key(&r.id), &tk));
    all.truncate(16);
    assert_eq!(got, all);
    assert!(t.len() <= N_BUCKETS * BUCKET_SIZE);
}

#[test]
fn entry_size_is_documented() {
    // The module docs promise about 300 bytes inline per entry.
    let size = std::mem::size_of::<Entry>();
    println!(
        "size_of::<Entry>() = {size}, size_of::<Enr>() = {}",
        std::mem::size_of::<Enr>()
    );
    assert!(size <= 400, "{size}");
}
