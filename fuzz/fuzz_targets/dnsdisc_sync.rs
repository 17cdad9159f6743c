//! The DNS tree sync walking a hostile tree. The input, split at b'\n', is a
//! set of TXT records, each published at its own hash; the first two are the
//! ENR and link subtree roots named by a validly signed root, so the walk gets
//! past the signature into whatever the records say.
#![no_main]
use std::collections::HashMap;
use std::time::Duration;

use ethp2p_dnsdisc::{DnsSync, EntryHash, LinkEntry, LookupError, RootEntry, SyncConfig};
use libfuzzer_sys::fuzz_target;
use secp256k1::{SecretKey, SECP256K1};
use tokio::time::Instant;

const DOMAIN: &str = "nodes.example.org";

fuzz_target!(|data: &[u8]| {
    let key = SecretKey::from_byte_array([1; 32]).expect("valid scalar");
    let lines: Vec<String> = data
        .split(|b| *b == b'\n')
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect();
    let mut zone: HashMap<String, Vec<String>> = HashMap::new();
    for line in &lines {
        zone.insert(
            format!("{}.{DOMAIN}", EntryHash::of_record(line)),
            vec![line.clone()],
        );
    }
    let hash = |i: usize| EntryHash::of_record(lines.get(i).map_or("", String::as_str));
    let root = RootEntry::sign(hash(0), hash(1), 1, &key);
    zone.insert(DOMAIN.into(), vec![root.to_string()]);

    let config = SyncConfig {
        max_entries: 64,
        max_trees: 4,
        ..SyncConfig::default()
    };
    let max_in_flight = config.max_in_flight;
    let mut now = Instant::now();
    let mut sync = DnsSync::new(config, 0, now);
    let url = LinkEntry::new(key.public_key(SECP256K1), DOMAIN).expect("valid domain");
    sync.add_tree(url, now);
    for _ in 0..64 {
        match sync.poll_query(now) {
            Some(query) => {
                assert!(sync.in_flight() <= max_in_flight);
                let answer = zone.get(&query.name).cloned().ok_or(LookupError::NotFound);
                sync.on_answer(query.id, answer, now);
                while sync.poll_event().is_some() {}
            }
            None => match sync.poll_timeout() {
                Some(at) => now = now.max(at) + Duration::from_millis(1),
                None => break,
            },
        }
    }
});
