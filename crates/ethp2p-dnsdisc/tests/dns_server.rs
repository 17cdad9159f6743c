//! End to end over real DNS: a `hickory-server` authoritative server started
//! in-process on 127.0.0.1 (UDP and TCP on one ephemeral port) serves trees,
//! and the crate resolves them through `hickory-resolver` pointed at it.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hickory_server::net::runtime::TokioRuntimeProvider;
use hickory_server::proto::rr::rdata::{SOA, TXT};
use hickory_server::proto::rr::{LowerName, Name, RData, Record};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneType};
use hickory_server::Server;
use secp256k1::{SecretKey, SECP256K1};
use tokio::time::Instant;

use ethp2p_dnsdisc::tree::EntryHash;
use ethp2p_dnsdisc::{
    spawn, DnsSync, DriverConfig, Enr, EntryError, HickoryResolver, LinkEntry, RootEntry,
    SyncConfig, SyncError, SyncEvent, TxtResolver, Zone,
};

/// EIP-1459's example zone; its root verifies under `EXAMPLE_KEY` (geth's test key).
const EXAMPLE_ROOT: &str = "enrtree-root:v1 e=JWXYDBPXYWG6FX3GMDIBFA6CJ4 l=C7HRFPF3BLGF3YR4DY5KX3SMBE seq=1 sig=o908WmNp7LibOfPsr4btQwatZJ5URBr2ZAuxvK4UWHlsB9sUOTJQaGAlLPVAhM__XJesCHxLISo94z5Z2a463gA";
const EXAMPLE_RECORDS: [(&str, &str); 5] = [
    ("C7HRFPF3BLGF3YR4DY5KX3SMBE", "enrtree://AM5FCQLWIZX2QFPNJAP7VUERCCRNGRHWZG3YYHIUV7BVDQ5FDPRT2@morenodes.example.org"),
    ("JWXYDBPXYWG6FX3GMDIBFA6CJ4", "enrtree-branch:2XS2367YHAXJFGLZHVAWLQD4ZY,H4FHT4B454P6UXFD7JCYQ5PWDY,MHTDO6TMUBRIA2XWG5LUDACK24"),
    ("2XS2367YHAXJFGLZHVAWLQD4ZY", "enr:-HW4QOFzoVLaFJnNhbgMoDXPnOvcdVuj7pDpqRvh6BRDO68aVi5ZcjB3vzQRZH2IcLBGHzo8uUN3snqmgTiE56CH3AMBgmlkgnY0iXNlY3AyNTZrMaECC2_24YYkYHEgdzxlSNKQEnHhuNAbNlMlWJxrJxbAFvA"),
    ("H4FHT4B454P6UXFD7JCYQ5PWDY", "enr:-HW4QAggRauloj2SDLtIHN1XBkvhFZ1vtf1raYQp9TBW2RD5EEawDzbtSmlXUfnaHcvwOizhVYLtr7e6vw7NAf6mTuoCgmlkgnY0iXNlY3AyNTZrMaECjrXI8TLNXU0f8cthpAMxEshUyQlK-AM0PW2wfrnacNI"),
    ("MHTDO6TMUBRIA2XWG5LUDACK24", "enr:-HW4QLAYqmrwllBEnzWWs7I5Ev2IAs7x_dZlbYdRdMUx5EyKHDXp7AV5CkuPGUPdvbv1_Ms1CPfhcGCvSElSosZmyoqAgmlkgnY0iXNlY3AyNTZrMaECriawHKWdDRk2xeZkrOXBQ0dfMFLHY4eENZwdufn1S1o"),
];
const EXAMPLE_KEY: &str = "AKPYQIUQIL7PSIACI32J7FGZW56E5FKHEFCCOFHILBIMW3M6LWXS2";
const EXAMPLE_DOMAIN: &str = "nodes.example.org";

/// An authoritative server for one zone; dropping it stops the server.
struct DnsServer {
    addr: SocketAddr,
    _server: Server<Catalog>,
}

/// Serves `records` (`name → TXT text`) under `origin`. Texts longer than 255
/// bytes are split into several character-strings, as a zone file would.
async fn serve(origin: &str, records: &[(String, String)]) -> DnsServer {
    let origin_name = Name::from_ascii(format!("{origin}.")).unwrap();
    let mut zone = InMemoryZoneHandler::<TokioRuntimeProvider>::empty(
        origin_name.clone(),
        ZoneType::Primary,
        AxfrPolicy::Deny,
    );
    let soa = SOA::new(
        Name::from_ascii(format!("ns.{origin}.")).unwrap(),
        Name::from_ascii(format!("admin.{origin}.")).unwrap(),
        1,
        3600,
        600,
        86400,
        60,
    );
    assert!(zone.upsert_mut(
        Record::from_rdata(origin_name.clone(), 60, RData::SOA(soa)),
        1
    ));
    for (name, text) in records {
        let chunks: Vec<&[u8]> = text.as_bytes().chunks(255).collect();
        let record = Record::from_rdata(
            Name::from_ascii(format!("{name}.")).unwrap(),
            60,
            RData::TXT(TXT::from_bytes(chunks)),
        );
        assert!(zone.upsert_mut(record, 1), "{name}");
    }
    let mut catalog = Catalog::new();
    catalog.upsert(LowerName::new(&origin_name), vec![Arc::new(zone)]);
    let mut server = Server::new(catalog);
    let udp = tokio::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    let addr = udp.local_addr().unwrap();
    let tcp = tokio::net::TcpListener::bind(addr).await.unwrap();
    server.register_socket(udp);
    server.register_listener(tcp, Duration::from_secs(5), 4096);
    DnsServer {
        addr,
        _server: server,
    }
}

fn example_records() -> Vec<(String, String)> {
    let mut out = vec![(EXAMPLE_DOMAIN.to_string(), EXAMPLE_ROOT.to_string())];
    for (label, text) in EXAMPLE_RECORDS {
        out.push((format!("{label}.{EXAMPLE_DOMAIN}"), text.to_string()));
    }
    out
}

fn zone_records(domain: &str, zone: &Zone) -> Vec<(String, String)> {
    let mut out = vec![(domain.to_string(), zone.root.to_string())];
    for (label, text) in &zone.records {
        out.push((format!("{label}.{domain}"), text.clone()));
    }
    out
}

fn url(key: &str, domain: &str) -> LinkEntry {
    format!("enrtree://{key}@{domain}").parse().unwrap()
}

fn secret(byte: u8) -> SecretKey {
    SecretKey::from_byte_array([byte; 32]).unwrap()
}

fn key_url(key: u8, domain: &str) -> LinkEntry {
    LinkEntry::new(secret(key).public_key(SECP256K1), domain).unwrap()
}

/// Node record `i` (1..=16), built once: `enr` signs with a random nonce, so
/// a record built twice would differ.
fn enr(i: u8) -> String {
    static ENRS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    ENRS.get_or_init(|| {
        (0..=16u8)
            .map(|i| {
                let key = enr::k256::ecdsa::SigningKey::from_slice(&[i.max(1); 32]).unwrap();
                let record: Enr = Enr::builder()
                    .ip4(Ipv4Addr::new(192, 0, 2, i))
                    .tcp4(30303)
                    .build(&key)
                    .unwrap();
                record.to_base64()
            })
            .collect()
    })[usize::from(i)]
    .clone()
}

fn fast() -> SyncConfig {
    SyncConfig {
        rate: 1000,
        burst: 1000,
        ..SyncConfig::default()
    }
}

/// Runs the sans-IO core against real DNS at the synthetic instant `now`,
/// one lookup at a time, until it has nothing more to ask at `now`.
async fn sync_at(sync: &mut DnsSync, resolver: &HickoryResolver, now: Instant) -> Vec<SyncEvent> {
    let mut events = Vec::new();
    while let Some(query) = sync.poll_query(now) {
        let answer = resolver.lookup_txt(&query.name).await;
        sync.on_answer(query.id, answer, now);
        events.extend(std::iter::from_fn(|| sync.poll_event()));
    }
    events
}

fn nodes(events: &[SyncEvent]) -> BTreeSet<String> {
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

#[tokio::test]
async fn driver_resolves_the_eip_example_zone_over_dns() {
    let server = serve(EXAMPLE_DOMAIN, &example_records()).await;
    let resolver = HickoryResolver::with_server(server.addr).unwrap();
    let config = DriverConfig {
        channel_capacity: 1, // the task must wait for the consumer, not drop
        seed: 7,
        ..DriverConfig::default()
    };
    let (handle, mut rx) = spawn(resolver, vec![url(EXAMPLE_KEY, EXAMPLE_DOMAIN)], config);
    let mut got = BTreeSet::new();
    while got.len() < 3 {
        let node = tokio::time::timeout(Duration::from_secs(30), rx.recv())
            .await
            .expect("three nodes within 30 s")
            .expect("driver alive");
        assert_eq!(node.tree, EXAMPLE_DOMAIN);
        assert!(node.public_key().is_some());
        got.insert(node.enr.to_base64());
    }
    let want: BTreeSet<String> = EXAMPLE_RECORDS[2..]
        .iter()
        .map(|(_, t)| t.to_string())
        .collect();
    assert_eq!(got, want);
    assert!(!handle.is_finished());
    drop(rx);
}

#[tokio::test]
async fn example_zone_walk_through_the_core_follows_the_link() {
    let server = serve(EXAMPLE_DOMAIN, &example_records()).await;
    let resolver = HickoryResolver::with_server(server.addr).unwrap();
    let now = Instant::now();
    let mut sync = DnsSync::new(fast(), 1, now);
    sync.add_tree(url(EXAMPLE_KEY, EXAMPLE_DOMAIN), now);
    let events = sync_at(&mut sync, &resolver, now).await;
    assert_eq!(nodes(&events).len(), 3);
    assert_eq!(sync.seq(EXAMPLE_DOMAIN), Some(1));
    // The link subtree names another tree; this server is not authoritative
    // for it, so its root lookup fails cleanly.
    assert_eq!(
        sync.trees().collect::<Vec<_>>(),
        vec![EXAMPLE_DOMAIN, "morenodes.example.org"]
    );
    let errs = errors(&events);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        matches!(&errs[0], SyncError::Lookup { name, .. } if name == "morenodes.example.org"),
        "{errs:?}"
    );
    assert!(events.iter().any(|e| matches!(
        e,
        SyncEvent::TreeSynced {
            seq: 1,
            fetched: 5,
            ..
        }
    )));
}

#[tokio::test]
async fn example_root_under_the_eip_url_key_is_refused() {
    let server = serve(EXAMPLE_DOMAIN, &example_records()).await;
    let resolver = HickoryResolver::with_server(server.addr).unwrap();
    let now = Instant::now();
    let mut sync = DnsSync::new(fast(), 1, now);
    let eip_url_key = "AM5FCQLWIZX2QFPNJAP7VUERCCRNGRHWZG3YYHIUV7BVDQ5FDPRT2";
    sync.add_tree(url(eip_url_key, EXAMPLE_DOMAIN), now);
    let events = sync_at(&mut sync, &resolver, now).await;
    assert_eq!(
        errors(&events),
        vec![SyncError::Entry {
            name: EXAMPLE_DOMAIN.into(),
            error: EntryError::BadSignature
        }]
    );
    assert!(nodes(&events).is_empty());
    assert_eq!(sync.seq(EXAMPLE_DOMAIN), None);
}

#[tokio::test]
async fn record_at_the_wrong_hash_is_refused_over_dns() {
    let domain = "hostile.example.net";
    let leaves = vec![enr(1), enr(2)];
    let zone = Zone::from_leaves(&leaves, &[], 1, &secret(1), 13);
    let mut records = zone_records(domain, &zone);
    // Serve leaf 1 where leaf 0 belongs.
    let victim = format!("{}.{domain}", EntryHash::of_record(&leaves[0]));
    for (name, text) in records.iter_mut() {
        if *name == victim {
            *text = leaves[1].clone();
        }
    }
    let server = serve(domain, &records).await;
    let resolver = HickoryResolver::with_server(server.addr).unwrap();
    let now = Instant::now();
    let mut sync = DnsSync::new(fast(), 1, now);
    sync.add_tree(key_url(1, domain), now);
    let events = sync_at(&mut sync, &resolver, now).await;
    assert_eq!(
        errors(&events),
        vec![SyncError::Entry {
            name: victim,
            error: EntryError::HashMismatch
        }]
    );
    assert_eq!(nodes(&events), BTreeSet::from([leaves[1].clone()]));
}

#[tokio::test]
async fn oversized_record_is_refused_over_dns() {
    // 700 bytes in three character-strings: joined, hashed right, too long.
    let domain = "big.example.net";
    let big = format!("enr:{}", "A".repeat(696));
    let zone = Zone::from_leaves(&[big.clone(), enr(3)], &[], 1, &secret(1), 13);
    let server = serve(domain, &zone_records(domain, &zone)).await;
    let resolver = HickoryResolver::with_server(server.addr).unwrap();
    // The resolver joins the strings of one record.
    let name = format!("{}.{domain}", EntryHash::of_record(&big));
    assert_eq!(resolver.lookup_txt(&name).await.unwrap(), vec![big.clone()]);
    let now = Instant::now();
    let mut sync = DnsSync::new(fast(), 1, now);
    sync.add_tree(key_url(1, domain), now);
    let events = sync_at(&mut sync, &resolver, now).await;
    assert_eq!(
        errors(&events),
        vec![SyncError::Entry {
            name,
            error: EntryError::TooLong { len: 700, max: 512 }
        }]
    );
    assert_eq!(nodes(&events), BTreeSet::from([enr(3)]));
}

#[tokio::test]
async fn branch_loop_is_cut_over_dns() {
    // top = branch[leaf, inner, leaf], inner = branch[leaf]: the leaf is
    // referenced three times and fetched once.
    let domain = "loop.example.net";
    let leaf = enr(4);
    let h = EntryHash::of_record(&leaf);
    let inner = format!("enrtree-branch:{h}");
    let hi = EntryHash::of_record(&inner);
    let top = format!("enrtree-branch:{h},{hi},{h}");
    let empty = "enrtree-branch:".to_string();
    let root = RootEntry::sign(
        EntryHash::of_record(&top),
        EntryHash::of_record(&empty),
        9,
        &secret(1),
    );
    let mut records = vec![(domain.to_string(), root.to_string())];
    for text in [&leaf, &inner, &top, &empty] {
        records.push((
            format!("{}.{domain}", EntryHash::of_record(text)),
            text.clone(),
        ));
    }
    let server = serve(domain, &records).await;
    let resolver = HickoryResolver::with_server(server.addr).unwrap();
    let now = Instant::now();
    let mut sync = DnsSync::new(fast(), 1, now);
    sync.add_tree(key_url(1, domain), now);
    let events = sync_at(&mut sync, &resolver, now).await;
    assert_eq!(nodes(&events), BTreeSet::from([leaf]));
    assert_eq!(
        errors(&events),
        vec![
            SyncError::Duplicate { hash: h },
            SyncError::Duplicate { hash: h }
        ]
    );
    assert!(events
        .iter()
        .any(|e| matches!(e, SyncEvent::TreeSynced { fetched: 4, .. })));
}

#[tokio::test]
async fn backwards_seq_is_refused_over_dns() {
    let domain = "seq.example.net";
    let newer = Zone::from_leaves(&[enr(5)], &[], 10, &secret(1), 13);
    let older = Zone::from_leaves(&[enr(5), enr(6)], &[], 9, &secret(1), 13);
    let server_new = serve(domain, &zone_records(domain, &newer)).await;
    let server_old = serve(domain, &zone_records(domain, &older)).await;
    let config = fast();
    let recheck = config.recheck_interval;
    let t0 = Instant::now();
    let mut sync = DnsSync::new(config, 1, t0);
    sync.add_tree(key_url(1, domain), t0);
    let first = sync_at(
        &mut sync,
        &HickoryResolver::with_server(server_new.addr).unwrap(),
        t0,
    )
    .await;
    assert_eq!(nodes(&first), BTreeSet::from([enr(5)]));
    // Half an hour later (synthetic), DNS serves the older tree.
    let later = t0 + recheck;
    let resolver_old = HickoryResolver::with_server(server_old.addr).unwrap();
    let second = sync_at(&mut sync, &resolver_old, later).await;
    assert_eq!(
        errors(&second),
        vec![SyncError::SeqWentBackwards { known: 10, got: 9 }]
    );
    assert!(nodes(&second).is_empty());
    assert_eq!(sync.seq(domain), Some(10));
}
