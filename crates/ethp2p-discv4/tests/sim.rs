//! Whole networks of discv4 nodes over the in-memory UDP network, on tokio's
//! paused clock, every RNG seeded.

use ethp2p_discv4::{
    spawn, AcceptAll, Discv4, Discv4Config, Discv4Event, Discv4Handle, Discv4Params, DriverConfig,
    MemNetwork,
};
use ethp2p_eth::chain::ChainSpec;
use ethp2p_rlpx::{key::peer_id_from_secret_key, NodeRecord, SecretKey};
use rand::{rngs::StdRng, Rng, RngCore, SeedableRng};
use std::{collections::HashSet, net::SocketAddr, time::Duration};
use tokio::{sync::mpsc, time::Instant};

const UNIX: u64 = 1_800_000_000;

fn key(rng: &mut StdRng) -> SecretKey {
    loop {
        let mut b = [0u8; 32];
        rng.fill_bytes(&mut b);
        if let Ok(k) = SecretKey::from_byte_array(b) {
            return k;
        }
    }
}

struct Node {
    handle: Discv4Handle,
    events: mpsc::Receiver<Discv4Event>,
    record: NodeRecord,
}

fn addr(i: usize) -> SocketAddr {
    format!("10.{}.{}.{}:30303", i / 62500, (i / 250) % 250, i % 250 + 1)
        .parse()
        .unwrap()
}

/// Starts `n` nodes; node 0 is everyone else's only bootnode.
async fn start_network(n: usize, seed: u64) -> Vec<Node> {
    let net = MemNetwork::new(4096);
    let mut rng = StdRng::seed_from_u64(seed);
    let fork_id = ChainSpec::mainnet().fork_id_at(0, 0);
    let mut nodes = Vec::with_capacity(n);
    for i in 0..n {
        let secret_key = key(&mut rng);
        let a = addr(i);
        let params = Discv4Params {
            secret_key,
            external_ip: Some(a.ip()),
            udp_port: a.port(),
            tcp_port: a.port(),
            enr_seq: 1,
            fork_id: Some(fork_id),
            filter: Box::new(AcceptAll),
            config: Discv4Config::default(),
            rng_seed: rng.random(),
        };
        let engine = Discv4::new(params, Instant::now(), Duration::from_secs(UNIX)).unwrap();
        let socket = net.bind(a).unwrap();
        let (handle, events, _task) = spawn(engine, socket, None, DriverConfig::default());
        nodes.push(Node {
            handle,
            events,
            record: NodeRecord::new(peer_id_from_secret_key(&secret_key), a),
        });
    }
    let boot = nodes[0].record;
    for node in &nodes[1..] {
        node.handle.add_bootnode(boot).await.unwrap();
    }
    nodes
}

async fn tables(nodes: &[Node]) -> Vec<Vec<NodeRecord>> {
    let mut out = Vec::with_capacity(nodes.len());
    for n in nodes {
        out.push(n.handle.table().await.unwrap());
    }
    out
}

#[tokio::test(start_paused = true)]
async fn two_hundred_nodes_find_each_other_through_one_bootnode() {
    const N: usize = 200;
    let mut nodes = start_network(N, 42).await;
    // Four refresh rounds (the first at 1 s, then every 30 s).
    tokio::time::sleep(Duration::from_secs(100)).await;

    let tables = tables(&nodes).await;
    let ids: Vec<_> = nodes.iter().map(|n| n.record.id).collect();
    let mut known_by_someone = HashSet::new();
    for (i, t) in tables.iter().enumerate() {
        assert!(t.len() >= 16, "node {i} has only {} table entries", t.len());
        assert!(!t.iter().any(|r| r.id == ids[i]), "node {i} holds itself");
        known_by_someone.extend(t.iter().map(|r| r.id));
    }
    for (i, id) in ids.iter().enumerate() {
        assert!(
            known_by_someone.contains(id),
            "node {i} is in nobody's table"
        );
    }
    let mean = tables.iter().map(Vec::len).sum::<usize>() as f64 / N as f64;
    println!("mean table size {mean:.1} over {N} nodes");

    // Every node reported its table entries as NodeFound (they all carry
    // the same fork id in their ENR).
    for (i, n) in nodes.iter_mut().enumerate() {
        let mut found = 0;
        while let Ok(ev) = n.events.try_recv() {
            if let Discv4Event::NodeFound { fork_id, enr, .. } = ev {
                assert!(enr.is_some(), "node {i}: ENR not fetched");
                assert_eq!(fork_id, Some(ChainSpec::mainnet().fork_id_at(0, 0)));
                found += 1;
            }
        }
        assert!(found >= 16, "node {i} reported only {found} nodes");
    }

    // A lookup for any node's id finds that node first.
    let mut rng = StdRng::seed_from_u64(7);
    for _ in 0..10 {
        let from = rng.random_range(0..N);
        let target = rng.random_range(0..N);
        if from == target {
            continue;
        }
        let result = nodes[from].handle.lookup(ids[target]).await.unwrap();
        assert_eq!(
            result.first().map(|r| r.id),
            Some(ids[target]),
            "lookup from {from} for {target}"
        );
        assert!(result.len() <= 16);
    }
}

fn run_small_network(seed: u64) -> Vec<Vec<NodeRecord>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let nodes = start_network(40, seed).await;
        tokio::time::sleep(Duration::from_secs(70)).await;
        tables(&nodes).await
    })
}

#[test]
fn same_seed_same_tables() {
    let a = run_small_network(9);
    let b = run_small_network(9);
    assert!(a.iter().all(|t| !t.is_empty()));
    assert_eq!(a, b);
}

/// Real UDP sockets on loopback, real time: two nodes bond and find each
/// other through the driver.
#[tokio::test]
async fn two_nodes_over_loopback_udp() {
    let mut rng = StdRng::seed_from_u64(5);
    let mut nodes = Vec::new();
    for _ in 0..2 {
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let a = socket.local_addr().unwrap();
        let secret_key = key(&mut rng);
        let params = Discv4Params {
            secret_key,
            external_ip: Some(a.ip()),
            udp_port: a.port(),
            tcp_port: a.port(),
            enr_seq: 1,
            fork_id: None,
            filter: Box::new(AcceptAll),
            config: Discv4Config::default(),
            rng_seed: rng.random(),
        };
        let unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        let engine = Discv4::new(params, Instant::now(), unix).unwrap();
        let (handle, events, _task) = spawn(engine, socket, None, DriverConfig::default());
        nodes.push((
            handle,
            events,
            NodeRecord::new(peer_id_from_secret_key(&secret_key), a),
        ));
    }
    let b_record = nodes[1].2;
    nodes[0].0.add_bootnode(b_record).await.unwrap();
    let found = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match nodes[0].1.recv().await {
                Some(Discv4Event::NodeFound { record, enr, .. }) => break (record, enr),
                Some(_) => continue,
                None => panic!("driver stopped"),
            }
        }
    })
    .await
    .expect("node 0 never found node 1");
    assert_eq!(found.0.id, b_record.id);
    assert_eq!(found.1.map(|e| e.udp4()), Some(Some(b_record.udp_port)));
    let t1 = nodes[1].0.table().await.unwrap();
    assert!(
        t1.iter().any(|r| r.id == nodes[0].2.id),
        "node 1 did not add node 0"
    );
}

/// A seq store that records what the driver writes.
#[derive(Clone, Default)]
struct RecordingStore(std::sync::Arc<std::sync::Mutex<Vec<u64>>>);

impl ethp2p_discv4::SeqStore for RecordingStore {
    fn load(&mut self) -> std::io::Result<Option<u64>> {
        Ok(self.0.lock().unwrap().last().copied())
    }
    fn store(&mut self, seq: u64) -> std::io::Result<()> {
        self.0.lock().unwrap().push(seq);
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn handle_re_signs_and_persists_the_local_enr() {
    let net = MemNetwork::default();
    let mut rng = StdRng::seed_from_u64(11);
    let a = addr(1);
    let genesis_fork = ChainSpec::mainnet().fork_id_at(0, 0);
    let params = Discv4Params {
        secret_key: key(&mut rng),
        external_ip: Some(a.ip()),
        udp_port: a.port(),
        tcp_port: a.port(),
        enr_seq: 100,
        fork_id: Some(genesis_fork),
        filter: Box::new(AcceptAll),
        config: Discv4Config::default(),
        rng_seed: 1,
    };
    let engine = Discv4::new(params, Instant::now(), Duration::from_secs(UNIX)).unwrap();
    let store = RecordingStore::default();
    let (handle, _events, _task) = spawn(
        engine,
        net.bind(a).unwrap(),
        Some(Box::new(store.clone())),
        DriverConfig::default(),
    );
    handle.set_fork_id(genesis_fork).await.unwrap();
    assert!(
        store.0.lock().unwrap().is_empty(),
        "unchanged record persisted"
    );
    let later = ChainSpec::mainnet().fork_id_at(20_000_000, 1_800_000_000);
    handle.set_fork_id(later).await.unwrap();
    handle
        .set_external_ip("203.0.113.9".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(*store.0.lock().unwrap(), vec![101, 102]);
    let enr = handle.local_enr().await.unwrap();
    assert_eq!(enr.seq(), 102);
    assert_eq!(enr.ip4(), Some("203.0.113.9".parse().unwrap()));
    assert_eq!(ethp2p_discv4::enr::eth_fork_id(&enr).unwrap(), Some(later));
    assert_eq!(
        handle.local_record().await.unwrap().address,
        "203.0.113.9".parse::<std::net::IpAddr>().unwrap()
    );
}

/// A shared-socket transport whose forwarder is gone must not make the driver
/// spin: commands are still served and the clock can still advance. (Without
/// the rule the driver stays runnable forever, the paused clock never
/// auto-advances and this test hangs.)
#[tokio::test(start_paused = true)]
async fn closed_shared_transport_does_not_spin_the_driver() {
    let socket = std::sync::Arc::new(tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let (transport, frames) = ethp2p_discv4::SharedSocket::new(socket, 8);
    drop(frames);
    let mut rng = StdRng::seed_from_u64(3);
    let params = Discv4Params {
        secret_key: key(&mut rng),
        external_ip: None,
        udp_port: 30303,
        tcp_port: 30303,
        enr_seq: 1,
        fork_id: None,
        filter: Box::new(AcceptAll),
        config: Discv4Config::default(),
        rng_seed: 1,
    };
    let engine = Discv4::new(params, Instant::now(), Duration::from_secs(UNIX)).unwrap();
    let (handle, _events, _task) = spawn(engine, transport, None, DriverConfig::default());
    // On a paused clock a spinning task would never let time auto-advance.
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert!(handle.table().await.unwrap().is_empty());
}
