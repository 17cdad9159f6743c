use std::collections::{BTreeSet, HashMap};
use std::net::Ipv4Addr;

use secp256k1::{SecretKey, SECP256K1};

use super::*;
use crate::zone::Zone;

const DOMAIN: &str = "nodes.example.org";

fn secret(byte: u8) -> SecretKey {
    SecretKey::from_byte_array([byte; 32]).unwrap()
}

fn url(domain: &str, key: u8) -> LinkEntry {
    LinkEntry::new(secret(key).public_key(SECP256K1), domain).unwrap()
}

/// Node records 1..=200, built once: `enr` signs with a random nonce, so a
/// record built twice would differ.
fn enr(i: u16) -> Enr {
    static ENRS: std::sync::OnceLock<Vec<Enr>> = std::sync::OnceLock::new();
    let all = ENRS.get_or_init(|| {
        (0..=200u16)
            .map(|i| {
                let mut bytes = [7u8; 32];
                bytes[..2].copy_from_slice(&i.to_be_bytes());
                let key = enr::k256::ecdsa::SigningKey::from_slice(&bytes).unwrap();
                let [hi, lo] = i.to_be_bytes();
                Enr::builder()
                    .ip4(Ipv4Addr::new(10, 0, hi, lo))
                    .tcp4(30303)
                    .build(&key)
                    .unwrap()
            })
            .collect()
    });
    all[usize::from(i)].clone()
}

fn enr_texts(range: std::ops::Range<u16>) -> Vec<String> {
    range.map(|i| enr(i).to_base64()).collect()
}

/// A DNS stand-in: answers from a map, records every name asked.
#[derive(Default)]
struct Net {
    txt: HashMap<String, Vec<String>>,
    asked: Vec<String>,
}

impl Net {
    fn serve(&mut self, domain: &str, zone: &Zone) {
        self.txt.insert(domain.into(), vec![zone.root.to_string()]);
        for (label, text) in &zone.records {
            self.txt
                .insert(format!("{label}.{domain}"), vec![text.clone()]);
        }
    }

    fn answer(&mut self, name: &str) -> Result<Vec<String>, LookupError> {
        self.asked.push(name.to_owned());
        self.txt.get(name).cloned().ok_or(LookupError::NotFound)
    }

    fn count(&self, name: &str) -> usize {
        self.asked.iter().filter(|n| *n == name).count()
    }
}

fn tree_zone(enrs: &[String], links: &[String], seq: u64, key: u8, width: usize) -> Zone {
    Zone::from_leaves(enrs, links, seq, &secret(key), width)
}

/// Answers every query at once and follows `poll_timeout` until it points past `until`.
fn drive(sync: &mut DnsSync, net: &mut Net, now: &mut Instant, until: Instant) -> Vec<SyncEvent> {
    let mut events = Vec::new();
    loop {
        while let Some(q) = sync.poll_query(*now) {
            let answer = net.answer(&q.name);
            sync.on_answer(q.id, answer, *now);
            events.extend(std::iter::from_fn(|| sync.poll_event()));
        }
        events.extend(std::iter::from_fn(|| sync.poll_event()));
        match sync.poll_timeout() {
            Some(at) if at <= until => *now = (*now).max(at),
            _ => return events,
        }
    }
}

fn drive_for(
    sync: &mut DnsSync,
    net: &mut Net,
    now: &mut Instant,
    span: Duration,
) -> Vec<SyncEvent> {
    let until = *now + span;
    drive(sync, net, now, until)
}

fn nodes(events: &[SyncEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            SyncEvent::Node { enr, .. } => Some(enr.to_base64()),
            _ => None,
        })
        .collect()
}

fn errors(events: &[SyncEvent]) -> Vec<SyncError> {
    events
        .iter()
        .filter_map(|e| match e {
            SyncEvent::Error { error, .. } => Some(error.clone()),
            _ => None,
        })
        .collect()
}

fn synced(events: &[SyncEvent]) -> Vec<(String, u64, usize)> {
    events
        .iter()
        .filter_map(|e| match e {
            SyncEvent::TreeSynced { tree, seq, fetched } => Some((tree.clone(), *seq, *fetched)),
            _ => None,
        })
        .collect()
}

fn start(config: SyncConfig, tree: LinkEntry) -> (DnsSync, Instant) {
    let t0 = Instant::now();
    let mut sync = DnsSync::new(config, 1, t0);
    assert!(sync.add_tree(tree, t0));
    (sync, t0)
}

const HOUR: Duration = Duration::from_secs(3600);

#[test]
fn full_sync_yields_every_enr_once_and_asks_each_name_once() {
    let leaves = enr_texts(1..31);
    let zone = tree_zone(&leaves, &[], 3, 1, 13);
    let mut net = Net::default();
    net.serve(DOMAIN, &zone);
    let (mut sync, mut now) = start(SyncConfig::default(), url(DOMAIN, 1));
    let events = drive_for(&mut sync, &mut net, &mut now, Duration::from_secs(60));
    let got: BTreeSet<_> = nodes(&events).into_iter().collect();
    assert_eq!(got, leaves.iter().cloned().collect());
    assert_eq!(nodes(&events).len(), 30);
    // Every record of the zone fetched exactly once, plus the root.
    assert_eq!(net.asked.len(), zone.records.len() + 1);
    for label in zone.records.keys() {
        assert_eq!(net.count(&format!("{label}.{DOMAIN}")), 1);
    }
    assert_eq!(
        synced(&events),
        vec![(DOMAIN.to_string(), 3, zone.records.len())]
    );
    assert!(errors(&events).is_empty(), "{:?}", errors(&events));
    assert_eq!(sync.seq(DOMAIN), Some(3));
}

#[test]
fn root_signed_by_another_key_is_refused_and_retried_later() {
    let zone = tree_zone(&enr_texts(1..4), &[], 1, 2, 13);
    let mut net = Net::default();
    net.serve(DOMAIN, &zone);
    let config = SyncConfig::default();
    let retry = config.root_retry_delay;
    let (mut sync, mut t0) = start(config, url(DOMAIN, 1));
    let mut now = t0;
    let events = drive(
        &mut sync,
        &mut net,
        &mut now,
        t0 + retry - Duration::from_millis(1),
    );
    assert_eq!(
        errors(&events),
        vec![SyncError::Entry {
            name: DOMAIN.into(),
            error: EntryError::BadSignature
        }]
    );
    assert!(nodes(&events).is_empty());
    assert_eq!(
        net.asked,
        vec![DOMAIN.to_string()],
        "nothing below a refused root"
    );
    assert_eq!(sync.poll_timeout(), Some(t0 + retry));
    t0 += retry;
    let _ = drive(&mut sync, &mut net, &mut now, t0);
    assert_eq!(net.count(DOMAIN), 2);
    assert_eq!(sync.seq(DOMAIN), None);
}

#[test]
fn seq_never_goes_backwards() {
    let mut net = Net::default();
    net.serve(DOMAIN, &tree_zone(&enr_texts(1..3), &[], 5, 1, 13));
    let config = SyncConfig::default();
    let recheck = config.recheck_interval;
    let (mut sync, t0) = start(config, url(DOMAIN, 1));
    let mut now = t0;
    let first = drive(&mut sync, &mut net, &mut now, t0 + Duration::from_secs(10));
    assert_eq!(nodes(&first).len(), 2);
    // An older (validly signed) tree with a new node replaces it in DNS.
    net.serve(DOMAIN, &tree_zone(&enr_texts(1..4), &[], 4, 1, 13));
    let later = drive(
        &mut sync,
        &mut net,
        &mut now,
        t0 + recheck + Duration::from_secs(10),
    );
    assert_eq!(
        errors(&later),
        vec![SyncError::SeqWentBackwards { known: 5, got: 4 }]
    );
    assert!(nodes(&later).is_empty());
    assert_eq!(sync.seq(DOMAIN), Some(5));
    // The tree held is kept, so the root is looked at again after the full
    // interval, not the short retry delay.
    assert_eq!(net.count(DOMAIN), 2);
    assert_eq!(sync.poll_timeout(), Some(t0 + recheck * 2));
    // Equal seq is allowed (spec: "larger than or equal").
    net.serve(DOMAIN, &tree_zone(&enr_texts(1..4), &[], 5, 1, 13));
    let equal = drive(&mut sync, &mut net, &mut now, t0 + recheck * 3);
    assert_eq!(nodes(&equal), vec![enr(3).to_base64()]);
}

#[test]
fn root_is_rechecked_on_the_interval_and_only_new_entries_are_fetched() {
    let mut net = Net::default();
    let leaves = enr_texts(1..41);
    let zone1 = tree_zone(&leaves, &[], 1, 1, 13);
    net.serve(DOMAIN, &zone1);
    let config = SyncConfig::default();
    let recheck = config.recheck_interval;
    let (mut sync, t0) = start(config, url(DOMAIN, 1));
    let mut now = t0;
    let _ = drive(&mut sync, &mut net, &mut now, t0 + Duration::from_secs(60));
    assert_eq!(net.count(DOMAIN), 1);
    // Nothing is asked before the interval ends.
    let asked = net.asked.len();
    let quiet = drive(
        &mut sync,
        &mut net,
        &mut now,
        t0 + recheck - Duration::from_millis(1),
    );
    assert!(quiet.is_empty());
    assert_eq!(net.asked.len(), asked);
    // Unchanged root: one query, nothing else.
    let _ = drive(&mut sync, &mut net, &mut now, t0 + recheck);
    assert_eq!(net.count(DOMAIN), 2);
    assert_eq!(net.asked.len(), asked + 1);
    // One node added: only it is reported; unchanged subtrees are not fetched again.
    let mut more = leaves.clone();
    more.push(enr(41).to_base64());
    let zone2 = tree_zone(&more, &[], 2, 1, 13);
    net.serve(DOMAIN, &zone2);
    let before = net.asked.len();
    let events = drive(
        &mut sync,
        &mut net,
        &mut now,
        t0 + recheck * 2 + Duration::from_secs(60),
    );
    assert_eq!(nodes(&events), vec![enr(41).to_base64()]);
    let new_records = zone2
        .records
        .keys()
        .filter(|k| !zone1.records.contains_key(*k))
        .count();
    // The root, plus the new records only (the new leaf, its branch, the top branch).
    assert_eq!(net.asked.len() - before, 1 + new_records);
    assert!(new_records < 5, "{new_records}");
    assert!(synced(&events).iter().any(|(_, seq, _)| *seq == 2));
}

#[test]
fn queries_are_rate_limited() {
    let mut net = Net::default();
    net.serve(DOMAIN, &tree_zone(&enr_texts(1..60), &[], 1, 1, 13));
    let config = SyncConfig {
        max_in_flight: 100,
        ..SyncConfig::default()
    };
    let (mut sync, t0) = start(config, url(DOMAIN, 1));
    let mut now = t0;
    // The burst goes out at once...
    let _ = drive(&mut sync, &mut net, &mut now, t0);
    assert_eq!(net.asked.len(), 10);
    // ...then one query per third of a second.
    let third = Duration::from_secs(1) / 3;
    assert_eq!(sync.poll_timeout(), Some(t0 + third));
    assert!(sync
        .poll_query(t0 + third - Duration::from_millis(1))
        .is_none());
    let _ = drive(&mut sync, &mut net, &mut now, t0 + Duration::from_secs(3));
    assert_eq!(net.asked.len(), 10 + 9);
}

#[test]
fn in_flight_lookups_are_bounded_and_time_out() {
    let mut net = Net::default();
    net.serve(DOMAIN, &tree_zone(&enr_texts(1..60), &[], 1, 1, 13));
    let config = SyncConfig::default();
    let config = SyncConfig {
        rate: 100,
        burst: 100,
        ..config
    };
    let t0 = Instant::now();
    let mut sync2 = DnsSync::new(config.clone(), 1, t0);
    sync2.add_tree(url(DOMAIN, 1), t0);
    // Answer the root and the branches at once; hold every leaf query.
    let mut held = Vec::new();
    while let Some(q) = sync2.poll_query(t0) {
        let answer = net.answer(&q.name);
        if answer.as_ref().is_ok_and(|t| t[0].starts_with("enr:")) {
            held.push(q);
        } else {
            sync2.on_answer(q.id, answer, t0);
        }
    }
    assert_eq!(held.len(), config.max_in_flight);
    assert_eq!(sync2.in_flight(), config.max_in_flight);
    assert_eq!(sync2.poll_timeout(), Some(t0 + config.query_timeout));
    while sync2.poll_event().is_some() {}
    // At the deadline every held lookup fails with Timeout and will be retried.
    sync2.handle_timeout(t0 + config.query_timeout);
    assert_eq!(sync2.in_flight(), 0);
    let timeouts: Vec<_> = std::iter::from_fn(|| sync2.poll_event()).collect();
    assert!(
        timeouts.is_empty(),
        "first failures are retried silently: {timeouts:?}"
    );
    // A late answer to an abandoned query changes nothing.
    let late = held.pop().unwrap();
    sync2.on_answer(late.id, net.answer(&late.name), t0 + config.query_timeout);
    assert!(sync2.poll_event().is_none());
    assert_eq!(sync2.in_flight(), 0);
}

#[test]
fn failed_entries_are_retried_after_the_delay_then_given_up() {
    let leaves = enr_texts(1..3);
    let zone = tree_zone(&leaves, &[], 1, 1, 13);
    let mut net = Net::default();
    net.serve(DOMAIN, &zone);
    let missing = format!("{}.{DOMAIN}", EntryHash::of_record(&leaves[0]));
    net.txt.remove(&missing);
    let config = SyncConfig::default();
    let (mut sync, t0) = start(config.clone(), url(DOMAIN, 1));
    let mut now = t0;
    let events = drive(
        &mut sync,
        &mut net,
        &mut now,
        t0 + config.retry_delay - Duration::from_millis(1),
    );
    assert_eq!(net.count(&missing), 1);
    assert!(errors(&events).is_empty());
    let events = drive(&mut sync, &mut net, &mut now, t0 + config.retry_delay * 10);
    assert_eq!(net.count(&missing), 1 + config.max_retries as usize);
    assert_eq!(
        errors(&events),
        vec![SyncError::Lookup {
            name: missing,
            error: LookupError::NotFound
        }]
    );
    assert_eq!(synced(&events).len(), 1, "the walk still ends");
}

#[test]
fn failed_root_is_retried_after_the_root_delay() {
    let mut net = Net::default();
    let config = SyncConfig::default();
    let (mut sync, t0) = start(config.clone(), url(DOMAIN, 1));
    let mut now = t0;
    let events = drive(
        &mut sync,
        &mut net,
        &mut now,
        t0 + config.root_retry_delay - Duration::from_millis(1),
    );
    assert_eq!(
        errors(&events),
        vec![SyncError::Lookup {
            name: DOMAIN.into(),
            error: LookupError::NotFound
        }]
    );
    assert_eq!(net.count(DOMAIN), 1);
    net.txt.insert(DOMAIN.into(), vec!["v=spf1 -all".into()]);
    let events = drive(&mut sync, &mut net, &mut now, t0 + config.root_retry_delay);
    assert_eq!(net.count(DOMAIN), 2);
    assert_eq!(
        errors(&events),
        vec![SyncError::NoRoot {
            name: DOMAIN.into()
        }]
    );
}

#[test]
fn record_under_the_wrong_hash_is_refused() {
    let leaves = enr_texts(1..4);
    let zone = tree_zone(&leaves, &[], 1, 1, 13);
    let mut net = Net::default();
    net.serve(DOMAIN, &zone);
    // Serve node 9's record where node 1's should be.
    let name = format!("{}.{DOMAIN}", EntryHash::of_record(&leaves[0]));
    net.txt.insert(name.clone(), vec![enr(9).to_base64()]);
    let (mut sync, mut now) = start(SyncConfig::default(), url(DOMAIN, 1));
    let events = drive_for(&mut sync, &mut net, &mut now, Duration::from_secs(60));
    assert_eq!(
        errors(&events),
        vec![SyncError::Entry {
            name,
            error: EntryError::HashMismatch
        }]
    );
    let got: BTreeSet<_> = nodes(&events).into_iter().collect();
    assert_eq!(got, leaves[1..].iter().cloned().collect());
    assert_eq!(synced(&events).len(), 1);
}

#[test]
fn oversized_record_is_refused() {
    // A leaf whose hash is right but which is longer than 512 bytes.
    let big = format!("enr:{}", "A".repeat(600));
    let zone = tree_zone(&[big.clone(), enr(1).to_base64()], &[], 1, 1, 13);
    let mut net = Net::default();
    net.serve(DOMAIN, &zone);
    let (mut sync, mut now) = start(SyncConfig::default(), url(DOMAIN, 1));
    let events = drive_for(&mut sync, &mut net, &mut now, Duration::from_secs(60));
    assert_eq!(
        errors(&events),
        vec![SyncError::Entry {
            name: format!("{}.{DOMAIN}", EntryHash::of_record(&big)),
            error: EntryError::TooLong {
                len: big.len(),
                max: MAX_RECORD_LEN
            },
        }]
    );
    assert_eq!(nodes(&events), vec![enr(1).to_base64()]);
}

#[test]
fn repeated_hashes_are_fetched_once_and_reported() {
    // A branch listing one leaf twice, and a second branch pointing at it again.
    let leaf = enr(1).to_base64();
    let h = EntryHash::of_record(&leaf);
    let inner = format!("enrtree-branch:{h}");
    let hi = EntryHash::of_record(&inner);
    let top = format!("enrtree-branch:{h},{h},{hi}");
    let ht = EntryHash::of_record(&top);
    let empty = "enrtree-branch:".to_string();
    let he = EntryHash::of_record(&empty);
    let root = RootEntry::sign(ht, he, 1, &secret(1));
    let mut net = Net::default();
    net.txt.insert(DOMAIN.into(), vec![root.to_string()]);
    for (hash, text) in [(h, &leaf), (hi, &inner), (ht, &top), (he, &empty)] {
        net.txt
            .insert(format!("{hash}.{DOMAIN}"), vec![text.clone()]);
    }
    let (mut sync, mut now) = start(SyncConfig::default(), url(DOMAIN, 1));
    let events = drive_for(&mut sync, &mut net, &mut now, Duration::from_secs(60));
    assert_eq!(nodes(&events), vec![leaf]);
    assert_eq!(net.count(&format!("{h}.{DOMAIN}")), 1);
    assert_eq!(
        errors(&events),
        vec![
            SyncError::Duplicate { hash: h },
            SyncError::Duplicate { hash: h }
        ]
    );
    assert_eq!(synced(&events).len(), 1);
}

#[test]
fn linked_trees_are_followed_once_even_in_a_loop() {
    let a = "a.example.org";
    let b = "b.example.org";
    let mut net = Net::default();
    net.serve(
        a,
        &tree_zone(&enr_texts(1..3), &[url(b, 2).to_string()], 1, 1, 13),
    );
    net.serve(
        b,
        &tree_zone(&enr_texts(3..5), &[url(a, 1).to_string()], 1, 2, 13),
    );
    let (mut sync, mut now) = start(SyncConfig::default(), url(a, 1));
    let events = drive_for(&mut sync, &mut net, &mut now, Duration::from_secs(60));
    let linked: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            SyncEvent::LinkAdded { from, link } => Some((from.clone(), link.domain.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(linked, vec![(a.to_string(), b.to_string())]);
    assert_eq!(sync.trees().collect::<Vec<_>>(), vec![a, b]);
    let got: BTreeSet<_> = nodes(&events).into_iter().collect();
    assert_eq!(got, enr_texts(1..5).into_iter().collect());
    assert_eq!(net.count(a), 1);
    assert_eq!(net.count(b), 1);
    assert!(errors(&events).is_empty(), "{:?}", errors(&events));
}

#[test]
fn links_are_walked_before_enrs() {
    let zone = tree_zone(
        &enr_texts(1..20),
        &[url("b.example.org", 2).to_string()],
        1,
        1,
        13,
    );
    let mut net = Net::default();
    net.serve(DOMAIN, &zone);
    let (mut sync, mut now) = start(SyncConfig::default(), url(DOMAIN, 1));
    let _ = drive_for(&mut sync, &mut net, &mut now, Duration::from_secs(60));
    let link_hash = EntryHash::of_record(&url("b.example.org", 2).to_string());
    let link_at = net
        .asked
        .iter()
        .position(|n| n.starts_with(&link_hash.to_string()))
        .unwrap();
    let first_enr = net
        .asked
        .iter()
        .position(|n| {
            zone.get(n.split('.').next().unwrap())
                .is_some_and(|t| t.starts_with("enr:"))
        })
        .unwrap();
    assert!(link_at < first_enr, "{:?}", net.asked);
}

#[test]
fn walk_order_is_fixed_by_the_seed() {
    let zone = tree_zone(&enr_texts(1..40), &[], 1, 1, 13);
    let order = |seed| {
        let mut net = Net::default();
        net.serve(DOMAIN, &zone);
        let t0 = Instant::now();
        let mut sync = DnsSync::new(SyncConfig::default(), seed, t0);
        sync.add_tree(url(DOMAIN, 1), t0);
        let mut now = t0;
        let _ = drive(&mut sync, &mut net, &mut now, t0 + Duration::from_secs(60));
        net.asked
    };
    assert_eq!(order(5), order(5));
    assert_ne!(order(5), order(6));
}

#[test]
fn wrong_kinds_in_a_subtree_are_refused() {
    // A link under e= and an ENR under l=, via trees built with the leaves swapped.
    let link = url("c.example.org", 3).to_string();
    let leaf = enr(1).to_base64();
    let zone = tree_zone(
        std::slice::from_ref(&link),
        std::slice::from_ref(&leaf),
        1,
        1,
        13,
    );
    let mut net = Net::default();
    net.serve(DOMAIN, &zone);
    let (mut sync, mut now) = start(SyncConfig::default(), url(DOMAIN, 1));
    let events = drive_for(&mut sync, &mut net, &mut now, Duration::from_secs(60));
    // The link subtree is walked first, so its error comes first.
    let got = errors(&events);
    let name = |t: &str| format!("{}.{DOMAIN}", EntryHash::of_record(t));
    assert_eq!(
        got,
        vec![
            SyncError::UnexpectedEntry {
                name: name(&leaf),
                found: "enr",
                subtree: Subtree::Link
            },
            SyncError::UnexpectedEntry {
                name: name(&link),
                found: "link",
                subtree: Subtree::Enr
            },
        ]
    );
    assert!(nodes(&events).is_empty());
    assert_eq!(
        sync.trees().count(),
        1,
        "a link in the ENR subtree is not followed"
    );
}

#[test]
fn depth_is_bounded() {
    let zone = tree_zone(&enr_texts(1..17), &[], 1, 1, 2); // width 2: 4 branch levels
    let mut net = Net::default();
    net.serve(DOMAIN, &zone);
    let config = SyncConfig {
        max_depth: 2,
        ..SyncConfig::default()
    };
    let (mut sync, mut now) = start(config, url(DOMAIN, 1));
    let events = drive_for(&mut sync, &mut net, &mut now, Duration::from_secs(60));
    let errs = errors(&events);
    assert!(!errs.is_empty());
    assert!(
        errs.iter()
            .all(|e| matches!(e, SyncError::TooDeep { max: 2, .. })),
        "{errs:?}"
    );
    assert!(
        nodes(&events).is_empty(),
        "leaves sit below the depth bound"
    );
    assert_eq!(synced(&events).len(), 1);
}

#[test]
fn entries_per_tree_are_bounded() {
    let zone = tree_zone(&enr_texts(1..100), &[], 1, 1, 13);
    let mut net = Net::default();
    net.serve(DOMAIN, &zone);
    let config = SyncConfig {
        max_entries: 20,
        ..SyncConfig::default()
    };
    let (mut sync, mut now) = start(config, url(DOMAIN, 1));
    let events = drive_for(&mut sync, &mut net, &mut now, Duration::from_secs(120));
    assert_eq!(errors(&events), vec![SyncError::TooManyEntries { max: 20 }]);
    assert!(net.asked.len() <= 21, "{}", net.asked.len());
    assert!(!nodes(&events).is_empty());
    assert_eq!(synced(&events).len(), 1);
}

#[test]
fn trees_are_bounded() {
    let mut net = Net::default();
    net.serve(
        DOMAIN,
        &tree_zone(&[], &[url("b.example.org", 2).to_string()], 1, 1, 13),
    );
    let config = SyncConfig {
        max_trees: 1,
        ..SyncConfig::default()
    };
    let (mut sync, mut now) = start(config, url(DOMAIN, 1));
    let events = drive_for(&mut sync, &mut net, &mut now, Duration::from_secs(60));
    assert_eq!(
        errors(&events),
        vec![SyncError::TooManyTrees {
            domain: "b.example.org".into(),
            max: 1
        }]
    );
    assert_eq!(sync.trees().count(), 1);
    assert!(!sync.add_tree(url("c.example.org", 3), now));
}

#[test]
fn slow_consumer_holds_back_queries() {
    let mut net = Net::default();
    net.serve(DOMAIN, &tree_zone(&enr_texts(1..10), &[], 1, 1, 13));
    let config = SyncConfig {
        max_pending_events: 2,
        ..SyncConfig::default()
    };
    let (mut sync, t0) = start(config, url(DOMAIN, 1));
    let mut asked = 0;
    // Never drain events: once two are queued no query goes out.
    while let Some(q) = sync.poll_query(t0) {
        asked += 1;
        let answer = net.answer(&q.name);
        sync.on_answer(q.id, answer, t0);
        assert!(asked < 10, "back-pressure never applied");
    }
    assert!(sync.poll_query(t0 + HOUR).is_none());
    // Draining lets it continue.
    while sync.poll_event().is_some() {}
    assert!(sync.poll_query(t0 + HOUR).is_some());
}

#[test]
fn answers_for_a_replaced_root_are_dropped() {
    let mut net = Net::default();
    let old = tree_zone(&enr_texts(1..30), &[], 1, 1, 13);
    net.serve(DOMAIN, &old);
    let config = SyncConfig {
        recheck_interval: Duration::from_secs(1),
        ..SyncConfig::default()
    };
    let (mut sync, t0) = start(config, url(DOMAIN, 1));
    let root = sync.poll_query(t0).unwrap();
    sync.on_answer(root.id, net.answer(&root.name), t0);
    // Take one entry query of the old walk and hold it.
    let held = sync.poll_query(t0).unwrap();
    // A new tree replaces the old before the held answer arrives.
    let new = tree_zone(&enr_texts(40..42), &[], 2, 1, 13);
    net.serve(DOMAIN, &new);
    let mut now = t0 + Duration::from_secs(2);
    let recheck = loop {
        let q = sync.poll_query(now).expect("a query");
        if q.name == DOMAIN {
            break q;
        }
        sync.on_answer(q.id, Err(LookupError::Timeout), now);
        now += Duration::from_millis(400);
    };
    sync.on_answer(recheck.id, net.answer(DOMAIN), now);
    while sync.poll_event().is_some() {}
    // The old walk's answer (whatever it holds) produces nothing.
    let answer = old
        .get(held.name.split('.').next().unwrap())
        .map(|t| vec![t.to_string()])
        .ok_or(LookupError::NotFound);
    sync.on_answer(held.id, answer, now);
    assert!(sync.poll_event().is_none());
    let events = drive_for(&mut sync, &mut net, &mut now, Duration::from_secs(60));
    let got: BTreeSet<_> = nodes(&events).into_iter().collect();
    assert_eq!(got, enr_texts(40..42).into_iter().collect());
}

#[test]
fn empty_tree_syncs_without_errors() {
    // No ENRs and no links: both subtree hashes are the empty branch's.
    let zone = tree_zone(&[], &[], 1, 1, 13);
    assert_eq!(zone.root.enr_root, zone.root.link_root);
    let mut net = Net::default();
    net.serve(DOMAIN, &zone);
    let (mut sync, mut now) = start(SyncConfig::default(), url(DOMAIN, 1));
    let events = drive_for(&mut sync, &mut net, &mut now, Duration::from_secs(60));
    assert!(errors(&events).is_empty(), "{:?}", errors(&events));
    assert_eq!(synced(&events), vec![(DOMAIN.to_string(), 1, 1)]);
    assert_eq!(net.asked.len(), 2);
}
