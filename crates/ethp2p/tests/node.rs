//! Process-level tests of the `ethp2p` binary: real nodes on loopback
//! (`--no-bootnodes`, ephemeral ports, a temporary data directory each),
//! driven and observed through their JSON-RPC.
//!
//! Synchronisation is on observable state only: RPC results polled with a
//! bounded number of short tries, process exits and stdout lines awaited
//! under a timeout. No fixed sleep orders anything.

mod common;

use common::{eventually, http, http_get, run_cli, Launch, Node, POLL, WAIT};
use jsonrpsee_core::{
    client::{ClientT, Subscription, SubscriptionClientT},
    rpc_params,
};
use jsonrpsee_ws_client::WsClient;
use serde_json::Value;
use std::{net::SocketAddr, path::Path, process::Stdio};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    process::Command,
};

/// Starts `ethp2p node -vv` on loopback with ephemeral ports and `extra` flags.
async fn start(datadir: &Path, extra: &[&str]) -> Node {
    Launch::node().vv().args(extra).start(datadir).await
}

/// geth's way of following peers: `admin_subscribe("peerEvents")` over
/// WebSocket (the client must outlive the subscription).
async fn peer_events(node: &Node) -> (WsClient, Subscription<Value>) {
    node.subscribe(
        "admin_subscribe",
        rpc_params!["peerEvents"],
        "admin_unsubscribe",
    )
    .await
}

/// Waits until `node` lists exactly one peer, with the given public key, and returns it.
async fn wait_peer(node: &Node, pubkey: &str) -> Value {
    eventually(
        &format!("peer {}… on {}", &pubkey[..8], node.enode),
        || async {
            let peers = node.peers().await;
            (peers.len() == 1 && peers[0]["enode"].as_str().unwrap_or("").contains(pubkey))
                .then(|| peers[0].clone())
        },
    )
    .await
}

async fn wait_no_peers(node: &Node) {
    eventually(&format!("no peers on {}", node.enode), || async {
        node.peers().await.is_empty().then_some(())
    })
    .await
}

/// The next event of `kind` on the subscription (others are skipped).
async fn next_event(sub: &mut Subscription<Value>, kind: &str) -> Value {
    let find = async {
        loop {
            let ev = sub
                .next()
                .await
                .expect("subscription open")
                .expect("valid event");
            if ev["type"] == kind {
                return ev;
            }
        }
    };
    tokio::time::timeout(WAIT, find)
        .await
        .unwrap_or_else(|_| panic!("no {kind} event"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_peer_lists_both_sides_and_remove_peer_drops_it() {
    let dir = tempfile::tempdir().unwrap();
    let a = start(
        &dir.path().join("a"),
        &["--redial-backoff", "0.1", "--metrics-addr", "127.0.0.1:0"],
    )
    .await;
    let b = start(&dir.path().join("b"), &[]).await;
    let a_id = a.node_info().await["id"].as_str().unwrap().to_string();
    let b_info = b.node_info().await;
    let b_id = b_info["id"].as_str().unwrap().to_string();
    assert_eq!(b_info["enode"], b.enode);
    assert_eq!(b_info["ports"]["listener"], b.port());
    assert!(b_info["enr"].as_str().unwrap().starts_with("enr:"));
    let genesis = b_info["protocols"]["eth"]["genesis"]
        .as_str()
        .unwrap()
        .to_string();

    for n in [&a, &b] {
        assert_eq!(n.call("net_peerCount", rpc_params![]).await, "0x0");
        assert_eq!(n.call("net_listening", rpc_params![]).await, true);
        assert_eq!(n.call("net_version", rpc_params![]).await, "1");
        let v = n.call("web3_clientVersion", rpc_params![]).await;
        assert!(v.as_str().unwrap().starts_with("ethp2p/v"), "{v}");
    }

    // Peer events on A, geth's way (admin_subscribe "peerEvents").
    let (_ws, mut events) = peer_events(&a).await;

    assert_eq!(
        a.call("admin_addPeer", rpc_params![b.enode.clone()]).await,
        true
    );

    let on_a = wait_peer(&a, b.pubkey()).await;
    let on_b = wait_peer(&b, a.pubkey()).await;

    // A dialed B: outbound, static, B's listening address.
    assert_eq!(on_a["id"], b_id.as_str());
    assert_eq!(on_a["enode"], b.enode.as_str());
    assert_eq!(on_a["network"]["inbound"], false);
    assert_eq!(on_a["network"]["static"], true);
    assert_eq!(on_a["network"]["trusted"], false);
    assert_eq!(
        on_a["network"]["remoteAddress"],
        format!("127.0.0.1:{}", b.port())
    );
    assert!(on_a["name"].as_str().unwrap().starts_with("ethp2p/v"));
    // B was dialed: inbound, not static, the two sockets mirror each other.
    assert_eq!(on_b["id"], a_id.as_str());
    assert_eq!(
        on_b["enode"],
        a.enode.as_str(),
        "inbound enode uses the Hello port"
    );
    assert_eq!(on_b["network"]["inbound"], true);
    assert_eq!(on_b["network"]["static"], false);
    assert_eq!(
        on_b["network"]["localAddress"],
        format!("127.0.0.1:{}", b.port())
    );
    assert_eq!(
        on_b["network"]["remoteAddress"],
        on_a["network"]["localAddress"]
    );
    for p in [&on_a, &on_b] {
        let caps: Vec<&str> = p["caps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        for c in ["eth/66", "eth/67", "eth/68", "eth/69"] {
            assert!(caps.contains(&c), "{caps:?}");
        }
        let eth = &p["protocols"]["eth"];
        assert_eq!(eth["version"], 69);
        assert_eq!(eth["earliestBlock"], 0);
        assert_eq!(eth["latestBlock"], 0);
        assert_eq!(eth["latestBlockHash"], genesis.as_str());
    }
    for n in [&a, &b] {
        assert_eq!(n.call("net_peerCount", rpc_params![]).await, "0x1");
    }

    // The event feed saw the peer come and its Status go both ways.
    let add = next_event(&mut events, "add").await;
    assert_eq!(add["peer"], b_id.as_str());
    assert_eq!(add["remote"], format!("127.0.0.1:{}", b.port()));
    let sent = next_event(&mut events, "msgsend").await;
    assert_eq!(
        (sent["protocol"].as_str(), sent["msg_code"].as_u64()),
        (Some("eth"), Some(0))
    );
    assert!(sent["msg_size"].as_u64().unwrap() > 0);
    let recv = next_event(&mut events, "msgrecv").await;
    assert_eq!(
        (recv["peer"].as_str(), recv["msg_code"].as_u64()),
        (Some(b_id.as_str()), Some(0))
    );

    // Metrics follow the peer count.
    let url = a.metrics_url.clone().unwrap();
    eventually("ethp2p_peers metric", || async {
        let body = http_get(&url).await;
        body.contains("ethp2p_peers{direction=\"outbound\"} 1")
            .then_some(())
    })
    .await;

    assert_eq!(
        a.call("admin_removePeer", rpc_params![b.enode.clone()])
            .await,
        true
    );
    wait_no_peers(&a).await;
    wait_no_peers(&b).await;
    let drop = next_event(&mut events, "drop").await;
    assert_eq!(drop["peer"], b_id.as_str());
    assert_eq!(drop["error"], "disconnect requested");
    for n in [&a, &b] {
        assert_eq!(n.call("net_peerCount", rpc_params![]).await, "0x0");
    }
    // Removed means not redialed: with a 0.1 s back-off a redial would come
    // within a second; watch for two.
    for _ in 0..20 {
        assert!(a.peers().await.is_empty(), "removed peer came back");
        tokio::time::sleep(POLL).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_peer_is_redialed_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let key = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
    let b_dir = dir.path().join("b");
    let mut b = start(&b_dir, &["--nodekeyhex", key]).await;
    let b_port = b.port();
    let a = start(
        &dir.path().join("a"),
        &["--peer", &b.enode.clone(), "--redial-backoff", "0.1"],
    )
    .await;
    let first = wait_peer(&a, b.pubkey()).await;
    assert_eq!(first["network"]["static"], true);
    assert_eq!(first["network"]["inbound"], false);

    // B dies without a word, then comes back with the same key and port.
    b.child.kill().await.unwrap();
    wait_no_peers(&a).await;
    let b_enode = b.enode.clone();
    drop(b);
    let b = Launch::node()
        .vv()
        .port(b_port)
        .args(&["--nodekeyhex", key])
        .start(&b_dir)
        .await;
    assert_eq!(b.enode, b_enode);
    let again = wait_peer(&a, b.pubkey()).await;
    assert_eq!(again["network"]["inbound"], false);
    let on_b = wait_peer(&b, a.pubkey()).await;
    assert_eq!(on_b["network"]["inbound"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusted_peer_is_admitted_over_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let b = start(&dir.path().join("b"), &["--max-peers", "0"]).await;
    let a = start(
        &dir.path().join("a"),
        &["--peer", &b.enode.clone(), "--redial-backoff", "0.1"],
    )
    .await;
    let b_events_ws = b.ws().await;
    let mut b_events: Subscription<Value> = b_events_ws
        .subscribe(
            "admin_peerEvents",
            rpc_params![],
            "admin_unsubscribePeerEvents",
        )
        .await
        .unwrap();
    // B is full (no slots at all) and turns A away until it trusts A.
    assert!(b.peers().await.is_empty());
    assert_eq!(
        b.call("admin_addTrustedPeer", rpc_params![a.enode.clone()])
            .await,
        true
    );
    let on_b = wait_peer(&b, a.pubkey()).await;
    assert_eq!(on_b["network"]["trusted"], true);
    assert_eq!(on_b["network"]["inbound"], true);
    let add = next_event(&mut b_events, "add").await;
    assert_eq!(add["peer"], on_b["id"]);
    assert_eq!(
        b.call("admin_removeTrustedPeer", rpc_params![a.enode.clone()])
            .await,
        true
    );
    let on_b = wait_peer(&b, a.pubkey()).await;
    assert_eq!(on_b["network"]["trusted"], false);
    // An invalid enode is an RPC error, not a crash.
    let err = b
        .rpc()
        .request::<Value, _>("admin_addPeer", rpc_params!["enode://nope"])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("invalid enode"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_says_client_quitting_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = start(&dir.path().join("a"), &[]).await;
    let b = start(&dir.path().join("b"), &[]).await;
    let (_ws, mut events) = peer_events(&b).await;
    assert_eq!(
        a.call("admin_addPeer", rpc_params![b.enode.clone()]).await,
        true
    );
    wait_peer(&b, a.pubkey()).await;
    a.terminate().await;
    let status = tokio::time::timeout(WAIT, a.child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "exit status {status}\n{}", a.log_text());
    let drop = next_event(&mut events, "drop").await;
    assert_eq!(drop["error"], "client quitting");
    wait_no_peers(&b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshake_prints_hello_and_status_or_the_failed_stage() {
    let dir = tempfile::tempdir().unwrap();
    let a = start(&dir.path().join("a"), &["--chain", "sepolia"]).await;
    let (code, out, err) = run_cli(&[
        "handshake",
        &a.enode,
        "--chain",
        "sepolia",
        "--timeout",
        "10",
    ])
    .await;
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(report["hello"]["id"], a.pubkey());
    assert_eq!(report["hello"]["protocolVersion"], 5);
    assert_eq!(report["hello"]["listenPort"], a.port());
    assert!(report["hello"]["clientId"]
        .as_str()
        .unwrap()
        .starts_with("ethp2p/v"));
    assert!(report["hello"]["capabilities"]
        .as_array()
        .unwrap()
        .contains(&"eth/69".into()));
    assert_eq!(report["ethVersion"], 69);
    assert_eq!(report["status"]["networkId"], 11155111);
    assert_eq!(
        report["status"]["genesis"],
        a.node_info().await["protocols"]["eth"]["genesis"]
    );
    assert_eq!(report["status"]["version"], 69);
    assert!(report["status"]["forkId"]["hash"]
        .as_str()
        .unwrap()
        .starts_with("0x"));

    // The probe left again: the node has no peer.
    wait_no_peers(&a).await;

    // Another chain: Hello passes, Status is refused.
    let (code, out, err) = run_cli(&[
        "handshake",
        &a.enode,
        "--chain",
        "mainnet",
        "--timeout",
        "10",
    ])
    .await;
    assert_ne!(code, 0);
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["stage"], "status", "{out}");
    assert!(
        !report["disconnectReason"].is_null() || !report["disconnectReasonSent"].is_null(),
        "{out}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("status stage"), "{err}");

    // A closed port: the TCP stage fails.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let enode = format!("enode://{}@127.0.0.1:{closed}", a.pubkey());
    let (code, out, err) = run_cli(&["handshake", &enode, "--timeout", "5"]).await;
    assert_ne!(code, 0);
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["ok"], false);
    assert_eq!(report["stage"], "tcp", "{out}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_flags_and_config_files_fail_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap().to_string();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_port = busy.local_addr().unwrap().port().to_string();
    let bad_toml = write("bad.toml", "port = [\n");
    let unknown = write("unknown.toml", "bogus-key = 1\n");
    let bad_value = write("value.toml", "max-peers = \"many\"\n");
    let bad_chain = write("chain.toml", "chain = \"nowhere\"\n");
    let missing = dir
        .path()
        .join("missing.toml")
        .to_str()
        .unwrap()
        .to_string();
    let base = [
        "node",
        "--no-bootnodes",
        "--addr",
        "127.0.0.1",
        "--datadir",
        &d,
    ];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--port", "abc"], "--port"),
        (vec!["--chain", "nowhere"], "--chain"),
        (vec!["--peer", "enode://bad"], "--peer"),
        (vec!["--trusted-peer", "127.0.0.1:30303"], "--trusted-peer"),
        (vec!["--rpc-addr", "0.0.0.0:0"], "--rpc-allow-external"),
        (vec!["--metrics-addr", "nowhere"], "--metrics-addr"),
        (vec!["--redial-backoff", "0"], "--redial-backoff"),
        (
            vec![
                "--max-peers",
                "10",
                "--max-inbound",
                "8",
                "--max-outbound",
                "8",
            ],
            "--max-peers",
        ),
        (vec!["--bogus"], "--bogus"),
        (vec!["--netrestrict", "10.0.0.0/33"], "--netrestrict"),
        (vec!["--nat", "upnp"], "--nat"),
        (vec!["--dns", "enrtree://nokey@example.org"], "--dns"),
        (vec!["--port", &busy_port], "--port"),
        (vec!["--config", &missing], "--config"),
        (vec!["--config", &bad_toml], "line 1"),
        (vec!["--config", &unknown], "bogus-key"),
        (vec!["--config", &bad_value], "--max-peers"),
        (vec!["--config", &bad_chain], "--chain"),
    ];
    for (extra, needle) in cases {
        let mut args: Vec<&str> = base.to_vec();
        args.extend(&extra);
        let (code, out, err) = run_cli(&args).await;
        assert_ne!(code, 0, "{extra:?} succeeded");
        assert!(out.is_empty(), "{extra:?} printed {out}");
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 1, "{extra:?}: {err}");
        assert!(lines[0].starts_with("error: "), "{extra:?}: {err}");
        assert!(lines[0].contains(needle), "{extra:?}: {err}");
    }
    drop(busy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_file_keys_are_the_flag_names() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("node.toml");
    std::fs::write(
        &cfg,
        "chain = \"hoodi\"\nmax-peers = 7\nno-bootnodes = true\nredial-backoff = 0.5\n",
    )
    .unwrap();
    let n = start(&dir.path().join("n"), &["--config", cfg.to_str().unwrap()]).await;
    assert_eq!(n.call("net_version", rpc_params![]).await, "560048");
    let info = n.node_info().await;
    assert_eq!(info["protocols"]["eth"]["network"], 560048);
    assert_eq!(info["protocols"]["eth"]["config"]["chainId"], 560048);
}

/// A raw JSON-RPC POST with the given `Host` header; returns the status line.
async fn post_with_host(addr: SocketAddr, host: &str) -> String {
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"net_listening","params":[]}"#;
    let headers = [("Host", host), ("Content-Type", "application/json")];
    http(&addr.to_string(), "POST", "/", &headers, body).await.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_on_loopback_refuses_foreign_host_headers() {
    let dir = tempfile::tempdir().unwrap();
    let n = start(&dir.path().join("n"), &[]).await;
    let port = n.rpc_addr().port();
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        "localhost".into(),
    ] {
        let status = post_with_host(n.rpc_addr(), &host).await;
        assert!(status.contains(" 200 "), "{host}: {status}");
    }
    let status = post_with_host(n.rpc_addr(), "attacker.example").await;
    assert!(status.contains(" 403 "), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ethereumjs_peer_dials_the_node_and_appears_in_admin_peers() {
    use ethp2p_eth::chain::ChainSpec;
    let interop = common::interop_dir().unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap();
    let a = start(&dir.path().join("a"), &[]).await;
    // The ethereumjs peer announces mainnet at genesis, as our node does.
    let chain = ChainSpec::mainnet();
    let fork_id = chain.fork_filter(chain.genesis_head()).current();
    let mut js = Command::new("node")
        .arg(interop.join("peer.mjs"))
        .args(["--mode", "dial", "--host", "127.0.0.1", "--port", "0"])
        .args(["--remote", &a.enode, "--network-id", "1"])
        .args(["--genesis", &chain.genesis_hash.to_string()])
        .args(["--fork-hash", &fork_id.hash.to_string()])
        .args(["--fork-next", &fork_id.next.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("node interop/peer.mjs");
    let mut js_out = BufReader::new(js.stdout.take().unwrap()).lines();
    let mut js_in = js.stdin.take().unwrap();

    // Its Status reached it from us: it saw mainnet.
    let status = tokio::time::timeout(WAIT, async {
        while let Some(line) = js_out.next_line().await.unwrap() {
            let ev: Value = serde_json::from_str(&line).unwrap();
            if ev["event"] == "status" {
                return ev;
            }
            assert_ne!(ev["event"], "disconnect", "{line}\n{}", a.log_text());
        }
        panic!("peer.mjs exited\n{}", a.log_text());
    })
    .await
    .expect("status event from peer.mjs");
    assert!(
        status
            .to_string()
            .contains(&chain.genesis_hash.to_string()[2..]),
        "{status}"
    );

    let peer = eventually("the ethereumjs peer in admin_peers", || async {
        a.peers()
            .await
            .into_iter()
            .find(|p| p["name"].as_str().unwrap_or("").starts_with("ethereumjs"))
    })
    .await;
    assert_eq!(peer["network"]["inbound"], true);
    assert_eq!(peer["network"]["static"], false);
    assert_eq!(peer["protocols"]["eth"]["version"], 68);
    assert!(
        peer["protocols"]["eth"].get("earliestBlock").is_none(),
        "{peer}"
    );
    assert!(
        peer["caps"].as_array().unwrap().contains(&"eth/68".into()),
        "{peer}"
    );
    assert_eq!(
        peer["network"]["localAddress"],
        format!("127.0.0.1:{}", a.port())
    );

    // It says goodbye (Disconnect 0x08); the node lets it go.
    js_in.write_all(b"{\"cmd\":\"exit\"}\n").await.unwrap();
    wait_no_peers(&a).await;
    let _ = tokio::time::timeout(WAIT, js.wait()).await;
}

/// Discovery end to end: two nodes that know only a third one as their
/// bootnode find each other through its discv4 table and connect, and
/// `admin_nodeInfo` shows the discovery port and an ENR.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_that_know_one_bootnode_find_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let hub = start(&dir.path().join("hub"), &[]).await;
    let b = start(&dir.path().join("b"), &["--bootnodes", &hub.enode]).await;
    let c = start(&dir.path().join("c"), &["--bootnodes", &hub.enode]).await;
    let info: Value = hub.call("admin_nodeInfo", rpc_params![]).await;
    assert_ne!(info["ports"]["discovery"], 0, "{info}");
    assert_eq!(info["ports"]["discovery"], info["ports"]["listener"]);
    assert!(info["enr"].as_str().unwrap().starts_with("enr:"));
    eventually("b and c connected through discovery", || async {
        let peers = b.peers().await;
        peers
            .iter()
            .any(|p| p["enode"].as_str().unwrap_or("").contains(c.pubkey()))
            .then_some(())
    })
    .await;
}

/// The data directory is locked: a second node on it stops at start with
/// one error line naming it.
#[tokio::test]
async fn a_second_node_on_the_same_datadir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("a");
    let _a = start(&d, &[]).await;
    let (code, _out, err) = run_cli(&[
        "node",
        "--no-bootnodes",
        "--no-rpc",
        "--port",
        "0",
        "--datadir",
        d.to_str().unwrap(),
    ])
    .await;
    assert_ne!(code, 0);
    assert!(
        err.contains("another ethp2p node") && err.contains(d.to_str().unwrap()),
        "{err}"
    );
}

/// `--snap` (and the config key `snap`): two nodes speak snap/2 to each
/// other, `admin_peers` shows `protocols.snap.version` and `admin_nodeInfo`
/// lists snap; a node without it lists none and its peers show no snap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snap_flag_advertises_snap_and_admin_peers_shows_its_version() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("snap.toml");
    std::fs::write(&cfg, "snap = true\n").unwrap();
    let a = start(&dir.path().join("a"), &["--snap"]).await;
    let b = start(&dir.path().join("b"), &["--config", cfg.to_str().unwrap()]).await;
    let c = start(&dir.path().join("c"), &[]).await;
    for n in [&a, &b] {
        assert_eq!(
            n.node_info().await["protocols"]["snap"],
            serde_json::json!({})
        );
    }
    assert!(c.node_info().await["protocols"].get("snap").is_none());

    assert_eq!(
        a.call("admin_addPeer", rpc_params![b.enode.clone()]).await,
        true
    );
    let on_a = wait_peer(&a, b.pubkey()).await;
    let on_b = wait_peer(&b, a.pubkey()).await;
    for p in [&on_a, &on_b] {
        assert_eq!(p["protocols"]["snap"]["version"], 2, "{p}");
        let caps: Vec<&str> = p["caps"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c.as_str())
            .collect();
        assert!(
            caps.contains(&"snap/1") && caps.contains(&"snap/2"),
            "{caps:?}"
        );
    }

    // C has snap off: a session with A runs eth alone.
    assert_eq!(
        c.call("admin_addPeer", rpc_params![a.enode.clone()]).await,
        true
    );
    let a_on_c = wait_peer(&c, a.pubkey()).await;
    assert!(a_on_c["protocols"].get("snap").is_none(), "{a_on_c}");
    let c_on_a = eventually("C on A", || async {
        a.peers()
            .await
            .into_iter()
            .find(|p| p["enode"].as_str().unwrap_or("").contains(c.pubkey()))
    })
    .await;
    assert!(c_on_a["protocols"].get("snap").is_none(), "{c_on_a}");
    assert!(!c_on_a["caps"].to_string().contains("snap"), "{c_on_a}");
}

/// An embedder (a `NetworkManager` with snap on) asks an `ethp2p node --snap`
/// process: every snap request gets the answer of a node without state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snap_node_serves_the_chainless_answers_to_an_embedder() {
    use ethp2p_eth::{
        chain::ChainSpec,
        message::RequestPair,
        snap::{
            GetAccountRange, GetBlockAccessLists, GetByteCodes, GetStorageRanges, SnapMessage,
            SnapVersion,
        },
    };
    use ethp2p_network::{peers::PeerKind, NetworkConfig, NetworkManager};
    let dir = tempfile::tempdir().unwrap();
    let node = start(&dir.path().join("n"), &["--snap"]).await;
    let mut cfg = NetworkConfig::new(ethp2p_rlpx::generate_secret_key(), ChainSpec::mainnet());
    cfg.listen_addr = None;
    cfg.snap_versions = SnapVersion::ALL.to_vec();
    let mgr = NetworkManager::new(cfg).await.unwrap();
    let net = mgr.handle();
    tokio::spawn(mgr.run());
    let record: ethp2p_rlpx::NodeRecord = node.enode.parse().unwrap();
    net.add_peer(record, PeerKind::Static)
        .await
        .unwrap()
        .unwrap();
    eventually("the session with the node", || async {
        (net.num_connected_peers() == 1).then_some(())
    })
    .await;
    let root = [0x11u8; 32].into();
    let range = net
        .get_account_range(
            record.id,
            GetAccountRange {
                root_hash: root,
                limit_hash: [0xffu8; 32].into(),
                response_bytes: 1 << 19,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert!(range.accounts.is_empty() && range.proof.is_empty());
    let codes = net
        .get_byte_codes(
            record.id,
            GetByteCodes {
                hashes: vec![[1u8; 32].into(), [2u8; 32].into()],
                bytes: 1 << 19,
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert!(codes.codes.is_empty(), "missing codes are skipped");
    let storage = SnapMessage::GetStorageRanges(RequestPair::new(
        0,
        GetStorageRanges {
            root_hash: root,
            account_hashes: vec![[3u8; 32].into()],
            response_bytes: 1 << 19,
            ..Default::default()
        },
    ));
    match net.send_snap_request(record.id, storage).await.unwrap() {
        Ok(SnapMessage::StorageRanges(p)) => assert!(p.message.is_empty()),
        other => panic!("{other:?}"),
    }
    let bals = SnapMessage::GetBlockAccessLists(RequestPair::new(
        0,
        GetBlockAccessLists {
            hashes: vec![[4u8; 32].into(), [5u8; 32].into(), [6u8; 32].into()],
            bytes: 1 << 19,
        },
    ));
    match net.send_snap_request(record.id, bals).await.unwrap() {
        Ok(SnapMessage::BlockAccessLists(p)) => {
            assert_eq!(
                &p.message.bals.as_bytes()[..],
                &[0xc3, 0x80, 0x80, 0x80][..]
            )
        }
        other => panic!("{other:?}"),
    }
    // The node lists the embedder with the snap version they share.
    let peers = node.peers().await;
    assert_eq!(peers[0]["protocols"]["snap"]["version"], 2);
}
