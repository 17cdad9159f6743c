//! Process-level tests of the node's discovery: discv5 next to discv4 on one
//! UDP port (`--v5`, `--no-v5`, `--v5-bootnodes`) and the discovery metrics.
//! Real nodes on loopback (`--no-bootnodes`, ephemeral ports, a temporary
//! data directory each), observed through JSON-RPC, `/metrics` and UDP.
//!
//! Synchronisation is on observable state only: RPC and metrics polled with
//! a bounded number of short tries, replies awaited under a timeout.

mod common;

use common::{eventually, http_get, run_cli, Launch, Node, WAIT};
use ethp2p_discv4::packet::{self, Endpoint, Message, Ping, PING_VERSION};
use jsonrpsee_core::rpc_params;
use std::{net::SocketAddr, path::Path, time::Duration};
use tokio::net::UdpSocket;

/// Starts `ethp2p node -vv` on loopback with ephemeral ports and `extra` flags.
async fn start(datadir: &Path, extra: &[&str]) -> Node {
    Launch::node().vv().args(extra).start(datadir).await
}

/// The node's ENR, from `admin_nodeInfo`.
async fn record_of(node: &Node) -> discv5::Enr {
    let info = node.call("admin_nodeInfo", rpc_params![]).await;
    info["enr"].as_str().unwrap().parse().unwrap()
}

/// The node's UDP discovery address, from `admin_nodeInfo`.
async fn discovery_addr(node: &Node) -> SocketAddr {
    let info = node.call("admin_nodeInfo", rpc_params![]).await;
    let port = info["ports"]["discovery"].as_u64().unwrap() as u16;
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Sends a discv4 Ping from a fresh key to `to` and waits for the Pong that
/// echoes its hash; false when none comes within `within`.
async fn discv4_ping(to: SocketAddr, within: Duration) -> bool {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let me = socket.local_addr().unwrap();
    let key = ethp2p_rlpx::generate_secret_key();
    let expiration = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 20;
    let ping = packet::encode(
        &key,
        &Message::Ping(Ping {
            version: PING_VERSION,
            from: Endpoint {
                ip: me.ip(),
                udp: me.port(),
                tcp: 0,
            },
            to: Endpoint {
                ip: to.ip(),
                udp: to.port(),
                tcp: 0,
            },
            expiration,
            enr_seq: None,
        }),
    )
    .unwrap();
    socket.send_to(&ping.bytes, to).await.unwrap();
    let wait_pong = async {
        let mut buf = [0u8; 1500];
        loop {
            let (n, from) = socket.recv_from(&mut buf).await.unwrap();
            if from != to {
                continue;
            }
            if let Ok(p) = packet::decode(&buf[..n]) {
                if let Message::Pong(pong) = p.message {
                    if pong.ping_hash == ping.hash {
                        return;
                    }
                }
            }
        }
    };
    tokio::time::timeout(within, wait_pong).await.is_ok()
}

/// A discv5 node of the `discv5` crate on its own loopback port.
async fn discv5_client() -> discv5::Discv5 {
    let key = enr::CombinedKey::generate_secp256k1();
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    drop(socket);
    let local = enr::Enr::builder()
        .ip4("127.0.0.1".parse().unwrap())
        .udp4(port)
        .build(&key)
        .unwrap();
    let config = discv5::ConfigBuilder::new(discv5::ListenConfig::Ipv4 {
        ip: "127.0.0.1".parse().unwrap(),
        port,
    })
    .build();
    let mut node = discv5::Discv5::new(local, key, config).unwrap();
    node.start().await.unwrap();
    node
}

/// One UDP port answers both protocols: a discv4 Ping gets its Pong and a
/// discv5 PING (through the `discv5` crate, handshake included) its PONG,
/// with the node's ENR seq. Under `--no-v5` discv4 still answers and discv5
/// does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_port_answers_discv4_and_discv5_and_no_v5_turns_discv5_off() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(&dir.path().join("a"), &[]).await;
    let udp = discovery_addr(&node).await;
    let enr = record_of(&node).await;
    assert_eq!(enr.udp4_socket().map(SocketAddr::V4), Some(udp));
    assert!(enr.get_raw_rlp("eth").is_some(), "no eth entry: {enr}");

    assert!(
        discv4_ping(udp, Duration::from_secs(10)).await,
        "no discv4 Pong"
    );
    let client = discv5_client().await;
    let pong = tokio::time::timeout(WAIT, client.send_ping(enr.clone()))
        .await
        .expect("discv5 ping timed out")
        .expect("discv5 ping failed");
    assert_eq!(pong.enr_seq, enr.seq());
    // discv4 once more, after discv5 traffic on the same port.
    assert!(
        discv4_ping(udp, Duration::from_secs(10)).await,
        "no discv4 Pong"
    );

    let off = start(&dir.path().join("b"), &["--no-v5"]).await;
    let udp = discovery_addr(&off).await;
    assert!(
        discv4_ping(udp, Duration::from_secs(10)).await,
        "no discv4 Pong"
    );
    let res = tokio::time::timeout(WAIT, client.send_ping(record_of(&off).await))
        .await
        .expect("discv5 ping neither answered nor failed");
    assert!(res.is_err(), "--no-v5 node answered discv5: {res:?}");
}

/// Two nodes that know only a third node's ENR as a discv5 bootnode (no
/// discv4 bootnodes, nothing dialed at start) find each other through
/// discv5 and connect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_find_each_other_through_discv5_only() {
    let dir = tempfile::tempdir().unwrap();
    let hub = start(&dir.path().join("hub"), &["--v5"]).await;
    let hub_enr = record_of(&hub).await.to_base64();
    let b = start(
        &dir.path().join("b"),
        &["--v5-bootnodes", &hub_enr, "--metrics-addr", "127.0.0.1:0"],
    )
    .await;
    let c = start(&dir.path().join("c"), &["--v5-bootnodes", &hub_enr]).await;
    eventually("b and c connected through discv5", || async {
        b.has_peer(c.pubkey()).await.then_some(())
    })
    .await;
    // Every candidate b dialed came from discv5: discv4 offered none.
    let body = http_get(b.metrics_url.as_deref().unwrap()).await;
    assert!(
        body.contains("ethp2p_discovery_candidates_total{source=\"discv5\"}"),
        "{body}"
    );
    assert!(
        !body.contains("ethp2p_discovery_candidates_total{source=\"discv4\"}"),
        "{body}"
    );
}

/// `--bootnodes` takes `enr:` records as geth does: the node dials the
/// record's address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootnodes_accept_enr_records() {
    let dir = tempfile::tempdir().unwrap();
    let a = start(&dir.path().join("a"), &[]).await;
    let enr = record_of(&a).await.to_base64();
    let b = start(&dir.path().join("b"), &["--no-v5", "--bootnodes", &enr]).await;
    eventually("b dialed its ENR bootnode", || async {
        b.has_peer(a.pubkey()).await.then_some(())
    })
    .await;
}

/// `/metrics` shows the discovery series: discv4 packets by type, table
/// size, bonded nodes, lookups, discv5 bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_the_discovery_series() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(&dir.path().join("a"), &["--metrics-addr", "127.0.0.1:0"]).await;
    let url = node.metrics_url.clone().expect("metrics line");
    assert!(
        discv4_ping(discovery_addr(&node).await, WAIT).await,
        "no Pong"
    );
    let body = eventually("discv4 ping counted in /metrics", || async {
        let body = http_get(&url).await;
        body.lines()
            .any(|l| {
                l.starts_with("ethp2p_discv4_packets_total")
                    && l.contains("direction=\"in\"")
                    && l.contains("type=\"ping\"")
                    && l.ends_with(" 1")
            })
            .then_some(body)
    })
    .await;
    for series in [
        "# TYPE ethp2p_discv4_packets_total counter",
        "ethp2p_discv4_packets_total{direction=\"out\",type=\"pong\"} 1",
        "ethp2p_discovery_table_nodes{protocol=\"discv4\"}",
        "ethp2p_discovery_table_nodes{protocol=\"discv5\"}",
        "ethp2p_discv4_bonded_nodes",
        "ethp2p_discovery_lookups_started_total{protocol=\"discv4\"}",
        "ethp2p_discovery_lookups_started_total{protocol=\"discv5\"}",
        "ethp2p_discv5_bytes_total{direction=\"out\"}",
        "ethp2p_discv4_frames_forwarded_total{result=\"forwarded\"}",
    ] {
        assert!(body.contains(series), "{series} missing:\n{body}");
    }
}

/// The flags are in `--help`, and a bad `--v5-bootnodes` (or `--nat any`)
/// stops the node with one line naming the flag.
#[tokio::test]
async fn v5_flags_are_documented_and_checked() {
    let (code, out, _) = run_cli(&["node", "--help"]).await;
    assert_eq!(code, 0);
    for needle in ["--v5", "--no-v5", "--v5-bootnodes", "geth since 1.14"] {
        assert!(out.contains(needle), "{needle} not in --help:\n{out}");
    }
    for bad in ["enode://abc@1.2.3.4:1", "enr:not-base64!"] {
        let (code, _, err) =
            run_cli(&["node", "--no-bootnodes", "--no-rpc", "--v5-bootnodes", bad]).await;
        assert_eq!(code, 2, "{err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains("--v5-bootnodes"), "{err}");
    }
    let (code, _, err) = run_cli(&[
        "node",
        "--no-bootnodes",
        "--no-rpc",
        "--no-v5",
        "--v5-bootnodes",
        "enr:-IS4QHCYrYZbAKWCBRlAy5zzaDZXJBGkcnh4MHcBFZntXNFrdvJjX04jRzjzCBOonrkTfj499SZuOh8R33Ls8RRcy5wBgmlkgnY0gmlwhH8AAAGJc2VjcDI1NmsxoQPKY0yuDUmstAHYpMa2_oxVtw0RW_QAdpzBQA8yWM0xOIN1ZHCCdl8",
    ])
    .await;
    assert_ne!(code, 0, "{err}");
    assert!(
        err.contains("--v5-bootnodes") && err.contains("--no-v5"),
        "{err}"
    );
    // Only extip and none exist (README: why there is no `any`).
    let (code, _, err) = run_cli(&["node", "--no-bootnodes", "--no-rpc", "--nat", "any"]).await;
    assert_ne!(code, 0, "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("--nat") && err.contains("extip"), "{err}");
}
