//! The tokio driver on a paused clock with an in-memory resolver.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use secp256k1::{SecretKey, SECP256K1};
use tokio::time::Instant;

use ethp2p_dnsdisc::{spawn, DriverConfig, Enr, LinkEntry, LookupError, TxtResolver, Zone};

const DOMAIN: &str = "paused.example.org";

#[derive(Clone, Default)]
struct MemResolver {
    txt: Arc<Mutex<HashMap<String, Vec<String>>>>,
    asked: Arc<Mutex<Vec<String>>>,
}

impl MemResolver {
    fn serve(&self, zone: &Zone) {
        let mut txt = self.txt.lock().unwrap();
        txt.insert(DOMAIN.into(), vec![zone.root.to_string()]);
        for (label, text) in &zone.records {
            txt.insert(format!("{label}.{DOMAIN}"), vec![text.clone()]);
        }
    }

    fn count(&self, name: &str) -> usize {
        self.asked
            .lock()
            .unwrap()
            .iter()
            .filter(|n| *n == name)
            .count()
    }
}

#[async_trait]
impl TxtResolver for MemResolver {
    async fn lookup_txt(&self, name: &str) -> Result<Vec<String>, LookupError> {
        self.asked.lock().unwrap().push(name.to_owned());
        self.txt
            .lock()
            .unwrap()
            .get(name)
            .cloned()
            .ok_or(LookupError::NotFound)
    }
}

fn enr(i: u8) -> Enr {
    let key = enr::k256::ecdsa::SigningKey::from_slice(&[i; 32]).unwrap();
    Enr::builder()
        .ip4(Ipv4Addr::new(198, 51, 100, i))
        .tcp4(30303)
        .build(&key)
        .unwrap()
}

fn secret() -> SecretKey {
    SecretKey::from_byte_array([3; 32]).unwrap()
}

#[tokio::test(start_paused = true)]
async fn driver_rechecks_the_root_after_the_interval_and_stops_with_its_receiver() {
    let resolver = MemResolver::default();
    let first: Vec<Enr> = (1..=20).map(enr).collect();
    resolver.serve(&Zone::build(&first, &[], 1, &secret()));
    let url = LinkEntry::new(secret().public_key(SECP256K1), DOMAIN).unwrap();
    let config = DriverConfig {
        seed: 3,
        ..DriverConfig::default()
    };
    let recheck = config.sync.recheck_interval;
    let t0 = Instant::now();
    let (handle, mut rx) = spawn(resolver.clone(), vec![url], config);
    let mut got = Vec::new();
    for _ in 0..20 {
        got.push(rx.recv().await.unwrap().enr.to_base64());
    }
    got.sort();
    let mut want: Vec<_> = first.iter().map(|e| e.to_base64()).collect();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(resolver.count(DOMAIN), 1);
    // A new tree with one more node; the driver sees it only at the recheck.
    let mut second = first.clone();
    second.push(enr(21));
    resolver.serve(&Zone::build(&second, &[], 2, &secret()));
    let node = rx.recv().await.unwrap();
    assert_eq!(node.enr.to_base64(), second[20].to_base64());
    assert_eq!(
        node.tcp_addr(),
        Some("198.51.100.21:30303".parse().unwrap())
    );
    assert!(
        Instant::now() >= t0 + recheck,
        "found before the recheck interval"
    );
    assert!(Instant::now() < t0 + recheck + Duration::from_secs(60));
    assert_eq!(resolver.count(DOMAIN), 2);
    // Dropping the receiver ends the task.
    drop(rx);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(handle.is_finished());
}

#[tokio::test(start_paused = true)]
async fn driver_accepts_trees_added_later() {
    let resolver = MemResolver::default();
    resolver.serve(&Zone::build(&[enr(9)], &[], 1, &secret()));
    let (handle, mut rx) = spawn(resolver.clone(), vec![], DriverConfig::default());
    assert!(handle.add_tree(LinkEntry::new(secret().public_key(SECP256K1), DOMAIN).unwrap()));
    let node = rx.recv().await.unwrap();
    assert_eq!(node.tree, DOMAIN);
    // The k256 key of the record converts to the secp256k1 key of the same secret.
    let expected = SecretKey::from_byte_array([9; 32])
        .unwrap()
        .public_key(SECP256K1);
    assert_eq!(node.public_key(), Some(expected));
}
