//! Process tests of the node's command line as a new user meets it: node
//! flags without the `node` word, enode host names, `--head`, subscriptions
//! over HTTP, the metrics listener and the `-v` levels.
//!
//! Each test starts `ethp2p` on loopback with ephemeral ports and a
//! temporary data directory, waits for the lines the node prints once it is
//! up, and observes it through its RPC, its log or its exit.

mod common;

use common::{eventually, http, pubkey, run_cli, Launch, Node};
use serde_json::{json, Value};
use std::path::Path;

/// Starts `ethp2p <args>` (no `node` word added) with a data directory, a
/// loopback address and ephemeral ports, and waits for its start-up lines.
async fn spawn(datadir: &Path, args: &[&str]) -> Node {
    Launch::bare(args).start(datadir).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_flags_work_without_the_node_word() {
    let dir = tempfile::tempdir().unwrap();
    // `ethp2p --port 0 …` runs the node, as `ethp2p node --port 0 …` does.
    let n = spawn(&dir.path().join("bare"), &["--chain", "sepolia"]).await;
    let version = n.call_raw("net_version", json!([])).await;
    assert_eq!(version["result"], "11155111", "{version}");
    n.stop().await;
    let n = spawn(&dir.path().join("word"), &["node", "--chain", "hoodi"]).await;
    assert_eq!(
        n.call_raw("net_version", json!([])).await["result"],
        "560048"
    );
    n.stop().await;
    // A node flag before a subcommand is refused in one line naming both.
    let (code, out, err) = run_cli(&["--port", "0", "keygen"]).await;
    assert_eq!(code, 2);
    assert!(out.is_empty(), "{out}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("keygen") && err.contains("--port"), "{err}");
    // The top-level help lists the subcommands and the node's flags.
    let (code, out, _) = run_cli(&["--help"]).await;
    assert_eq!(code, 0);
    assert!(
        out.contains("Commands:") && out.contains("--max-peers"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_v_adds_log_lines() {
    let dir = tempfile::tempdir().unwrap();
    let one = spawn(&dir.path().join("v"), &["-v"]).await.stop().await;
    let two = spawn(&dir.path().join("vv"), &["-vv"]).await.stop().await;
    let none = spawn(&dir.path().join("none"), &[]).await.stop().await;
    let has = |log: &str, level: &str| log.lines().any(|l| l.contains(level));
    // -vv shows debug lines of ethp2p (the resolved configuration) that -v does not.
    assert!(!has(&one, " DEBUG "), "-v printed debug lines: {one}");
    assert!(
        has(&two, " DEBUG ethp2p"),
        "-vv printed no debug lines: {two}"
    );
    assert!(two.contains("configuration"), "{two}");
    // Without -v the node still says it started; -q says nothing of it.
    assert!(has(&none, "ethp2p node started"), "{none}");
    let quiet = spawn(&dir.path().join("q"), &["-q"]).await.stop().await;
    assert!(!has(&quiet, " INFO "), "{quiet}");
}

/// Waits until `node` lists a peer with this public key; returns its entry.
async fn wait_peer(node: &Node, key: &str) -> Value {
    eventually(&format!("peer {}…", &key[..8]), || async {
        let peers = node.call_raw("admin_peers", json!([])).await;
        peers["result"]
            .as_array()?
            .iter()
            .find(|p| p["enode"].as_str().unwrap_or("").contains(key))
            .cloned()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enode_host_names_are_resolved_or_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let a = spawn(&dir.path().join("a"), &[]).await;
    let by_name = format!("enode://{}@localhost:{}", pubkey(&a.enode), a.port());
    // --peer with a host name: resolved at start, dialed, listed by its IP.
    let b = spawn(&dir.path().join("b"), &["--peer", &by_name]).await;
    let peer = wait_peer(&b, pubkey(&a.enode)).await;
    assert!(peer["network"]["static"].as_bool().unwrap(), "{peer}");
    let remote = peer["network"]["remoteAddress"].as_str().unwrap();
    assert!(remote.starts_with("127.0.0.1:"), "{peer}");
    b.stop().await;
    // admin_addPeer with a host name over RPC.
    let c = spawn(&dir.path().join("c"), &[]).await;
    let added = c.call_raw("admin_addPeer", json!([by_name])).await;
    assert_eq!(added["result"], true, "{added}");
    wait_peer(&c, pubkey(&a.enode)).await;
    let bad = format!("enode://{}@no-such-host.invalid:30303", pubkey(&a.enode));
    let refused = c.call_raw("admin_addPeer", json!([bad])).await;
    let msg = refused["error"]["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("cannot resolve host no-such-host.invalid"),
        "{refused}"
    );
    c.stop().await;
    // A name that does not resolve stops the node with one line naming the flag.
    let d = dir.path().join("d").to_str().unwrap().to_string();
    for flag in ["--peer", "--trusted-peer", "--bootnodes"] {
        let (code, out, err) =
            run_cli(&["--no-bootnodes", "--port", "0", "--datadir", &d, flag, &bad]).await;
        assert_eq!(code, 2, "{flag}: {err}");
        assert!(out.is_empty(), "{flag}: {out}");
        assert_eq!(err.lines().count(), 1, "{flag}: {err}");
        assert!(
            err.starts_with(&format!(
                "error: {flag}: cannot resolve host no-such-host.invalid"
            )),
            "{err}"
        );
        assert!(err.trim_end().ends_with("use an IP address"), "{err}");
    }
    // Not a host name at all: refused by the parser, naming the flag.
    let (code, _, err) = run_cli(&[
        "--no-bootnodes",
        "--datadir",
        &d,
        "--peer",
        &format!("enode://{}@bad_host:1", pubkey(&a.enode)),
    ])
    .await;
    assert_eq!(code, 2);
    assert!(
        err.contains("--peer") && err.contains("invalid host"),
        "{err}"
    );
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_over_http_say_they_need_websocket() {
    let dir = tempfile::tempdir().unwrap();
    let n = spawn(&dir.path().join("n"), &[]).await;
    for (method, params) in [
        ("admin_subscribe", json!(["peerEvents"])),
        ("admin_peerEvents", json!([])),
        ("eth_subscribe", json!(["newPendingTransactions"])),
        ("ethp2p_subscribe", json!(["transactions"])),
    ] {
        let r = n.call_raw(method, params).await;
        let msg = r["error"]["message"].as_str().unwrap_or_default();
        assert!(
            msg.starts_with("subscriptions need WebSocket"),
            "{method}: {r}"
        );
        assert_eq!(r["error"]["code"], -32601, "{method}: {r}");
    }
    // Ordinary calls over HTTP are untouched.
    let v = n.call_raw("net_listening", json!([])).await;
    assert_eq!(v["result"], true, "{v}");
    n.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_served_by_the_exporter_listener() {
    let dir = tempfile::tempdir().unwrap();
    let n = spawn(&dir.path().join("n"), &["--metrics-addr", "127.0.0.1:0"]).await;
    let url = n.metrics_url.clone().expect("metrics line");
    let host = url
        .strip_prefix("http://")
        .and_then(|u| u.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("metrics URL {url}"))
        .to_string();
    // The info gauge is set just after the start-up lines: poll for it.
    let get = eventually("ethp2p_info in /metrics", || async {
        let (status, get) = http(&host, "GET", "/metrics", &[], "").await;
        assert!(status.contains(" 200 "), "{get}");
        get.contains("ethp2p_info{").then_some(get)
    })
    .await;
    assert!(
        get.to_ascii_lowercase()
            .contains("content-type: text/plain"),
        "{get}"
    );
    assert!(get.contains("# TYPE ethp2p_info gauge"), "{get}");
    assert!(get.contains("ethp2p_info{"), "{get}");
    // HEAD: the exporter (hyper) answers 200 with no body; it does not claim
    // an empty document with `Content-Length: 0`.
    let (status, head) = http(&host, "HEAD", "/metrics", &[], "").await;
    assert!(status.contains(" 200 "), "{head}");
    assert!(
        !head.to_ascii_lowercase().contains("content-length: 0\r\n"),
        "{head}"
    );
    let (_, body) = head.split_once("\r\n\r\n").unwrap();
    assert!(body.is_empty(), "{head}");
    // A taken --metrics-addr is one error line naming the flag.
    let taken = host.clone();
    let d = dir.path().join("d").to_str().unwrap().to_string();
    let (code, out, err) = run_cli(&[
        "--no-bootnodes",
        "--port",
        "0",
        "--rpc-addr",
        "127.0.0.1:0",
        "--datadir",
        &d,
        "--metrics-addr",
        &taken,
    ])
    .await;
    assert_ne!(code, 0);
    assert!(out.is_empty(), "{out}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: --metrics-addr"), "{err}");
    n.stop().await;
}

/// `protocols.eth` of the peer with this key in `node`'s admin_peers, once
/// its latest block is `number`.
async fn wait_peer_head(node: &Node, key: &str, number: u64) -> Value {
    eventually(
        &format!("peer {}… at block {number}", &key[..8]),
        || async {
            let peer = wait_peer(node, key).await;
            let eth = peer["protocols"]["eth"].clone();
            (eth["latestBlock"] == number).then_some(eth)
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_is_set_by_flag_or_file_and_followed_from_peers() {
    let dir = tempfile::tempdir().unwrap();
    let hash = format!("0x{}", "ab".repeat(32));
    let head = format!("1234:{hash}");
    let a = spawn(&dir.path().join("a"), &["--head", &head]).await;
    let info = a.call_raw("admin_nodeInfo", json!([])).await;
    assert_eq!(info["result"]["protocols"]["eth"]["head"], hash, "{info}");
    // B follows: its only peer (A) announces 1234 in its eth/69 Status.
    let a_url = a.enode.clone();
    let b = spawn(&dir.path().join("b"), &["--follow-head", "--peer", &a_url]).await;
    let eth = wait_peer_head(&b, pubkey(&a.enode), 1234).await;
    assert_eq!(eth["latestBlockHash"], hash, "{eth}");
    // C, connected to B, learns B's followed head (Status or BlockRangeUpdate).
    let b_url = b.enode.clone();
    let c = spawn(&dir.path().join("c"), &["--peer", &b_url]).await;
    let eth = wait_peer_head(&c, pubkey(&b.enode), 1234).await;
    assert_eq!(eth["latestBlockHash"], hash, "{eth}");
    let b_log = b.stop().await;
    assert!(b_log.contains("following the peers' head"), "{b_log}");
    // A node that does not follow keeps announcing its genesis block.
    let c_info = c.call_raw("admin_nodeInfo", json!([])).await;
    let genesis = c_info["result"]["protocols"]["eth"]["genesis"].clone();
    assert_eq!(c_info["result"]["protocols"]["eth"]["head"], genesis);
    c.stop().await;
    a.stop().await;
    // The same key in a config file.
    let cfg = dir.path().join("node.toml");
    std::fs::write(&cfg, format!("head = \"77:{hash}:1700000000\"\n")).unwrap();
    let d = spawn(&dir.path().join("d"), &["--config", cfg.to_str().unwrap()]).await;
    let info = d.call_raw("admin_nodeInfo", json!([])).await;
    assert_eq!(info["result"]["protocols"]["eth"]["head"], hash, "{info}");
    d.stop().await;
    // A malformed --head: one line naming the flag.
    let e = dir.path().join("e").to_str().unwrap().to_string();
    for bad in ["1234", "x:0x00", "1:0x1234", "1:{hash}:soon"] {
        let bad = bad.replace("{hash}", &hash);
        let (code, out, err) = run_cli(&["--no-bootnodes", "--datadir", &e, "--head", &bad]).await;
        assert_eq!(code, 2, "{bad}: {err}");
        assert!(out.is_empty(), "{bad}: {out}");
        assert_eq!(err.lines().count(), 1, "{bad}: {err}");
        assert!(err.contains("--head"), "{bad}: {err}");
    }
}
