//! Process tests of `ethp2p crawl`: three ethp2p nodes on loopback (discovery
//! on, the first one the others' bootnode), crawled from the first one.

mod common;

use common::{run_cli_within, Launch, Node, LONG_WAIT};
use serde_json::Value;
use std::path::Path;

/// `ethp2p node --port 0` on loopback, discovery on, with `extra` flags.
async fn start(datadir: &Path, extra: &[&str]) -> Node {
    Launch::node()
        .within(LONG_WAIT)
        .args(extra)
        .start(datadir)
        .await
}

/// Runs `ethp2p <args>` to its exit: (code, stdout, stderr).
async fn run_cli(args: &[&str]) -> (i32, String, String) {
    run_cli_within(LONG_WAIT, args).await
}

/// `crawl --bootnodes <hub> --timeout 5 --rlpx --output F --nodes-json N`
/// finds the hub and the two nodes that only know the hub, writes one valid
/// JSON line per node with its ENR, fork id and (through --rlpx) Hello and
/// Status, and a nodes.json keyed by node id with geth's fields.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crawl_finds_every_node_with_enr_hello_and_status() {
    let dir = tempfile::tempdir().unwrap();
    let hub = start(&dir.path().join("hub"), &[]).await;
    let b = start(&dir.path().join("b"), &["--bootnodes", &hub.enode]).await;
    let c = start(&dir.path().join("c"), &["--bootnodes", &hub.enode]).await;
    let lines_path = dir.path().join("crawl.jsonl");
    let nodes_path = dir.path().join("nodes.json");
    let (code, out, err) = run_cli(&[
        "crawl",
        "--bootnodes",
        &hub.enode,
        "--timeout",
        "5",
        "--rlpx",
        "--output",
        lines_path.to_str().unwrap(),
        "--nodes-json",
        nodes_path.to_str().unwrap(),
    ])
    .await;
    assert_eq!(code, 0, "stderr: {err}");
    assert!(out.is_empty(), "--output takes the lines: {out}");
    assert!(
        err.lines().any(|l| l.starts_with("crawl: ")),
        "progress: {err}"
    );

    let text = std::fs::read_to_string(&lines_path).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    for node in [&hub, &b, &c] {
        let line = lines
            .iter()
            .find(|l| l["id"] == node.pubkey())
            .unwrap_or_else(|| panic!("{} not found: {text}\n{err}", node.enode));
        assert_eq!(line["ip"], "127.0.0.1", "{line}");
        assert!(line["enr"].as_str().unwrap().starts_with("enr:"), "{line}");
        assert_eq!(line["enode"].as_str(), Some(node.enode.as_str()), "{line}");
        // Mainnet's fork id at genesis (the nodes announce the genesis head).
        assert_eq!(line["fork_id"]["hash"], "0xfc64ec04", "{line}");
        assert!(
            line["client_id"].as_str().unwrap().starts_with("ethp2p/"),
            "{line}"
        );
        assert!(
            line["caps"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c == "eth/69"),
            "{line}"
        );
        assert_eq!(line["network_id"], 1, "{line}");
        assert!(line["head"].as_str().unwrap().starts_with("0x"), "{line}");
        assert!(line["error"].is_null(), "{line}");
        let (first, last) = (
            line["first_seen"].as_u64().unwrap(),
            line["last_seen"].as_u64().unwrap(),
        );
        assert!(first <= last, "{line}");
    }

    // Exactly the three nodes: never the crawler itself.
    assert_eq!(lines.len(), 3, "{text}");

    let set: Value = serde_json::from_str(&std::fs::read_to_string(&nodes_path).unwrap()).unwrap();
    let set = set.as_object().unwrap();
    assert_eq!(set.len(), lines.len(), "{set:?}");
    for (id, entry) in set {
        assert_eq!(id.len(), 64, "node ids are keccak256 of the key: {id}");
        assert!(entry["record"].as_str().unwrap().starts_with("enr:"));
        assert!(entry["seq"].as_u64().is_some());
        assert_eq!(entry["score"], 1);
        for key in ["firstResponse", "lastResponse", "lastCheck"] {
            let t = entry[key].as_str().unwrap();
            assert!(
                t.len() == 20 && t.ends_with('Z') && t.as_bytes()[10] == b'T',
                "{key}: {t}"
            );
        }
    }
}

/// Without `--rlpx` the lines go to stdout and carry no Hello or Status.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crawl_without_rlpx_prints_lines_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let hub = start(&dir.path().join("hub"), &[]).await;
    let b = start(&dir.path().join("b"), &["--bootnodes", &hub.enode]).await;
    let (code, out, err) = run_cli(&["crawl", "--bootnodes", &hub.enode, "--timeout", "3"]).await;
    assert_eq!(code, 0, "stderr: {err}");
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let line = lines
        .iter()
        .find(|l| l["id"] == b.pubkey())
        .unwrap_or_else(|| panic!("b not found: {out}\n{err}"));
    assert!(line["enr"].as_str().unwrap().starts_with("enr:"));
    assert!(line["client_id"].is_null() && line["network_id"].is_null());
}

/// Bad values fail at once with one line naming the flag.
#[tokio::test]
async fn crawl_flag_errors_name_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/dir/out");
    for (args, flag) in [
        (vec!["crawl", "--timeout", "0"], "--timeout"),
        (vec!["crawl", "--bootnodes", "enode://nope"], "--bootnodes"),
        (vec!["crawl", "--chain", "nochain"], "--chain"),
        (
            vec!["crawl", "--output", missing.to_str().unwrap()],
            "--output",
        ),
        (
            vec!["crawl", "--nodes-json", missing.to_str().unwrap()],
            "--nodes-json",
        ),
    ] {
        let (code, out, err) = run_cli(&args).await;
        assert_ne!(code, 0, "{args:?}");
        assert!(out.is_empty(), "{args:?}: {out}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(flag), "{args:?}: {err}");
    }
}
