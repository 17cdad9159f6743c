use alloy_consensus::{SignableTransaction, TxEip1559};
use alloy_primitives::{Signature, TxKind, U256};

use super::*;
use crate::transactions::{announce::AnnouncedMeta, decode::PooledTx};

const MS: Duration = Duration::from_millis(1);
const EPOCH_MS: u64 = 1_764_800_000_000;

fn peer(i: u8) -> PeerId {
    PeerId::repeat_byte(i)
}

fn client(name: &str) -> Arc<str> {
    Arc::from(name)
}

fn tx(nonce: u64) -> DecodedTx {
    let sig = Signature::new(U256::from(1), U256::from(2), false);
    DecodedTx::from_pooled(PooledTx::Eip1559(
        TxEip1559 {
            chain_id: 1,
            nonce,
            gas_limit: 21_000,
            max_fee_per_gas: 2,
            max_priority_fee_per_gas: 1,
            to: TxKind::Create,
            value: U256::ZERO,
            access_list: Default::default(),
            input: Default::default(),
        }
        .into_signed(sig),
    ))
}

fn announce(tx: &DecodedTx, with_meta: bool) -> AnnouncedTx {
    let meta = tx.meta();
    AnnouncedTx {
        hash: meta.hash,
        meta: with_meta.then_some(AnnouncedMeta {
            ty: meta.ty,
            size: meta.size,
        }),
    }
}

fn tracker(t0: Instant) -> FirstSeenTracker {
    FirstSeenTracker::new(StreamConfig::default(), t0, EPOCH_MS)
}

fn drain(t: &mut FirstSeenTracker) -> Vec<FirstSeenRecord> {
    std::iter::from_fn(|| t.poll_record()).collect()
}

#[test]
fn first_announcer_time_and_distinct_announcers_within_the_window() {
    let t0 = Instant::now();
    let mut t = tracker(t0);
    let a = tx(1);
    let geth = client("Geth/v1.17.0");
    t.on_announcement(&peer(1), &geth, &[announce(&a, true)], t0 + 1234 * MS);
    t.on_announcement(
        &peer(2),
        &client("reth/v2"),
        &[announce(&a, true)],
        t0 + 1300 * MS,
    );
    t.on_announcement(
        &peer(2),
        &client("reth/v2"),
        &[announce(&a, true)],
        t0 + 1400 * MS,
    );
    assert!(!t.is_done(&a.hash()), "no body yet: fetch it");
    t.on_transaction(
        &peer(3),
        &client("x"),
        &a,
        Via::Announcement,
        t0 + 1900 * MS,
    );
    assert!(t.is_done(&a.hash()));
    assert_eq!(t.poll_timeout(), Some(t0 + 3234 * MS));
    t.handle_timeout(t0 + 3233 * MS);
    assert!(drain(&mut t).is_empty());
    t.handle_timeout(t0 + 3234 * MS);
    let records = drain(&mut t);
    assert_eq!(
        records,
        vec![FirstSeenRecord {
            hash: a.hash(),
            ty: Some(2),
            size: Some(a.meta().size),
            raw: Some(Bytes::from(a.raw().clone())),
            first_seen: EPOCH_MS + 1234,
            peer: peer(1),
            client: "Geth/v1.17.0".into(),
            via: Via::Announcement,
            announcers: 3,
        }]
    );
}

#[test]
fn json_shape() {
    let t0 = Instant::now();
    let mut t = tracker(t0);
    let a = tx(1);
    t.on_transaction(&peer(1), &client("Geth"), &a, Via::Broadcast, t0);
    // An eth/66 announcement: no type, no size, no body.
    let b = tx(2);
    t.on_announcement(&peer(2), &client("Nethermind"), &[announce(&b, false)], t0);
    t.handle_timeout(t0 + Duration::from_secs(2));
    let records = drain(&mut t);
    let json = serde_json::to_value(&records[0]).unwrap();
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        vec![
            "announcers",
            "client",
            "firstSeen",
            "hash",
            "peer",
            "raw",
            "size",
            "type",
            "via"
        ]
    );
    assert_eq!(json["via"], "broadcast");
    assert_eq!(json["type"], 2);
    assert_eq!(json["firstSeen"], EPOCH_MS);
    assert_eq!(json["hash"], format!("{:#x}", a.hash()));
    assert_eq!(json["raw"], format!("0x{}", hex::encode(a.raw())));
    assert_eq!(json["peer"], format!("{:#x}", peer(1)));

    let json = serde_json::to_value(&records[1]).unwrap();
    assert_eq!(json["via"], "announcement");
    assert!(json["type"].is_null() && json["size"].is_null());
    assert!(json.get("raw").is_none());
    // It reads back.
    let back: FirstSeenRecord = serde_json::from_value(json).unwrap();
    assert_eq!(back, records[1]);
}

#[test]
fn a_hash_is_recorded_once_until_its_ttl_ends() {
    let t0 = Instant::now();
    let mut t = tracker(t0);
    let a = tx(1);
    let c = client("c");
    t.on_announcement(&peer(1), &c, &[announce(&a, true)], t0);
    t.handle_timeout(t0 + Duration::from_secs(2));
    assert_eq!(drain(&mut t).len(), 1);
    // Later sightings within the TTL: nothing new.
    t.on_announcement(
        &peer(2),
        &c,
        &[announce(&a, true)],
        t0 + Duration::from_secs(10),
    );
    t.on_transaction(
        &peer(2),
        &c,
        &a,
        Via::Broadcast,
        t0 + Duration::from_secs(11),
    );
    t.handle_timeout(t0 + Duration::from_secs(20));
    assert!(drain(&mut t).is_empty());
    assert!(t.is_done(&a.hash()));
    // After the TTL it is forgotten and a new sighting opens a new record.
    assert_eq!(t.poll_timeout(), Some(t0 + Duration::from_secs(3600)));
    t.handle_timeout(t0 + Duration::from_secs(3600));
    assert!(!t.contains(&a.hash()));
    t.on_announcement(
        &peer(3),
        &c,
        &[announce(&a, true)],
        t0 + Duration::from_secs(3601),
    );
    t.handle_timeout(t0 + Duration::from_secs(3603));
    let records = drain(&mut t);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].peer, peer(3));
    assert_eq!(records[0].announcers, 1);
}

#[test]
fn the_entry_bound_forgets_the_oldest_first() {
    let t0 = Instant::now();
    let mut t = FirstSeenTracker::new(
        StreamConfig {
            max_entries: 2,
            ..StreamConfig::default()
        },
        t0,
        EPOCH_MS,
    );
    let c = client("c");
    let (a, b, d) = (tx(1), tx(2), tx(3));
    t.on_announcement(&peer(1), &c, &[announce(&a, true)], t0);
    t.handle_timeout(t0 + Duration::from_secs(2));
    assert_eq!(drain(&mut t).len(), 1);
    t.on_announcement(
        &peer(1),
        &c,
        &[announce(&b, true)],
        t0 + Duration::from_secs(3),
    );
    // Full: the remembered `a` goes first.
    t.on_announcement(
        &peer(1),
        &c,
        &[announce(&d, true)],
        t0 + Duration::from_secs(3),
    );
    assert_eq!(t.len(), 2);
    assert!(!t.contains(&a.hash()));
    // Full of open records: the oldest is released early.
    t.on_announcement(
        &peer(1),
        &c,
        &[announce(&a, true)],
        t0 + Duration::from_secs(3),
    );
    let early = drain(&mut t);
    assert_eq!(early.len(), 1);
    assert_eq!(early[0].hash, b.hash());
    assert!(t.len() <= 2);
}

#[test]
fn raw_bytes_are_optional() {
    let t0 = Instant::now();
    let mut t = FirstSeenTracker::new(
        StreamConfig {
            keep_raw: false,
            ..StreamConfig::default()
        },
        t0,
        EPOCH_MS,
    );
    let a = tx(1);
    t.on_transaction(&peer(1), &client("c"), &a, Via::Broadcast, t0);
    t.handle_timeout(t0 + Duration::from_secs(2));
    let records = drain(&mut t);
    assert_eq!(records[0].raw, None);
    assert_eq!(records[0].size, Some(a.meta().size));
}
