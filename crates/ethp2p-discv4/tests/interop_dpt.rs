//! discv4 against an independent implementation: @ethereumjs/devp2p 10.0.0's
//! DPT (`interop/dpt.mjs`) on loopback. It finds us, we find it, and a lookup
//! through it returns its peers.
//!
//! The npm packages are installed on first use (`npm ci` from the committed
//! lock file). Without `node` and `npm` on the PATH the test prints why and
//! passes without running.

use ethp2p_discv4::{
    spawn, AcceptAll, Discv4, Discv4Config, Discv4Event, Discv4Params, DriverConfig,
};
use ethp2p_rlpx::{generate_secret_key, key::peer_id_from_secret_key, NodeRecord, PeerId};
use serde_json::Value;
use std::{
    path::{Path, PathBuf},
    process::Stdio,
    str::FromStr,
    time::Duration,
};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines},
    process::{Child, ChildStdin, ChildStdout, Command},
    time::{timeout, Instant},
};

const STEP: Duration = Duration::from_secs(15);

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../interop")
        .canonicalize()
        .expect("interop directory")
}

/// `Err` with the reason when Node.js or the packages are unavailable.
fn ensure_node_modules() -> Result<(), String> {
    for tool in ["node", "npm"] {
        let ok = std::process::Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return Err(format!("`{tool}` is not on the PATH"));
        }
    }
    let dir = interop_dir();
    if dir
        .join("node_modules/@ethereumjs/devp2p/package.json")
        .is_file()
    {
        return Ok(());
    }
    let out = std::process::Command::new("npm")
        .arg("ci")
        .arg("--prefix")
        .arg(&dir)
        .args(["--no-audit", "--no-fund"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run npm: {e}"))?;
    if !out.status.success() {
        // Node is there but the install failed: that is a real failure.
        panic!(
            "npm ci failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// A running `node interop/dpt.mjs`, killed when dropped.
struct Dpt {
    _child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
    id: PeerId,
    port: u16,
}

impl Dpt {
    async fn start() -> Self {
        let mut child = Command::new("node")
            .arg(interop_dir().join("dpt.mjs"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn node dpt.mjs");
        let stdin = child.stdin.take().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = next_event(&mut lines, "ready").await;
        Self {
            _child: child,
            stdin,
            lines,
            id: PeerId::from_str(ready["id"].as_str().unwrap()).unwrap(),
            port: ready["port"].as_u64().unwrap() as u16,
        }
    }

    fn record(&self) -> NodeRecord {
        NodeRecord::new(self.id, format!("127.0.0.1:{}", self.port).parse().unwrap())
    }

    async fn command(&mut self, cmd: Value) {
        let mut line = cmd.to_string();
        line.push('\n');
        self.stdin.write_all(line.as_bytes()).await.unwrap();
    }

    async fn bootstrap(&mut self, other: &Dpt) {
        let port = other.port;
        self.command(
            serde_json::json!({"cmd": "bootstrap", "address": "127.0.0.1", "udpPort": port}),
        )
        .await;
    }

    async fn peers(&mut self) -> Vec<PeerId> {
        self.command(serde_json::json!({"cmd": "peers"})).await;
        let ev = next_event(&mut self.lines, "peers").await;
        ev["peers"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["id"].as_str().and_then(|s| PeerId::from_str(s).ok()))
            .collect()
    }

    /// Polls its table until it holds every id in `ids`.
    async fn wait_for_peers(&mut self, ids: &[PeerId], what: &str) {
        let deadline = Instant::now() + STEP;
        loop {
            let peers = self.peers().await;
            if ids.iter().all(|id| peers.contains(id)) {
                return;
            }
            assert!(Instant::now() < deadline, "{what}: DPT peers {peers:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

async fn next_event(lines: &mut Lines<BufReader<ChildStdout>>, name: &str) -> Value {
    timeout(STEP, async {
        loop {
            let line = lines
                .next_line()
                .await
                .expect("read dpt.mjs output")
                .expect("dpt.mjs exited");
            let v: Value = serde_json::from_str(&line).expect("JSON event");
            if v["event"] == name {
                return v;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {name} event from dpt.mjs"))
}

#[tokio::test]
async fn ethereumjs_dpt_finds_us_and_we_find_it_and_its_peers() {
    if let Err(why) = ensure_node_modules() {
        eprintln!("skipping the ethereumjs DPT interop test: {why}");
        return;
    }
    let mut a = Dpt::start().await;
    let mut b = Dpt::start().await;
    let mut c = Dpt::start().await;
    b.bootstrap(&a).await;
    c.bootstrap(&a).await;
    a.wait_for_peers(&[b.id, c.id], "A never added B and C")
        .await;

    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let local = socket.local_addr().unwrap();
    let secret_key = generate_secret_key();
    let our_id = peer_id_from_secret_key(&secret_key);
    let params = Discv4Params {
        secret_key,
        external_ip: Some(local.ip()),
        udp_port: local.port(),
        tcp_port: local.port(),
        enr_seq: 1,
        fork_id: None,
        filter: Box::new(AcceptAll),
        config: Discv4Config::default(),
        rng_seed: 1,
    };
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let engine = Discv4::new(params, Instant::now(), unix).unwrap();
    let (handle, mut events, _task) = spawn(engine, socket, None, DriverConfig::default());
    handle.add_bootnode(a.record()).await.unwrap();

    // We find it: bonded, in the table, reported without an ENR: the DPT
    // does not speak EIP-868, its Pong announces no enr-seq, so it is sent
    // no ENRRequest.
    let (record, enr) = timeout(STEP, async {
        loop {
            match events.recv().await.expect("driver running") {
                Discv4Event::NodeFound { record, enr, .. } if record.id == a.id => {
                    break (record, enr)
                }
                _ => {}
            }
        }
    })
    .await
    .expect("we never found the DPT");
    assert_eq!(record.udp_port, a.port);
    assert!(enr.is_none());

    // It finds us.
    a.wait_for_peers(&[our_id], "the DPT never added us").await;

    // A lookup through it reaches its peers, which answer our FindNode.
    let mut target = [0u8; 64];
    target[0] = 0x55;
    let result = handle.lookup(PeerId::from(target)).await.unwrap();
    for (name, id) in [("A", a.id), ("B", b.id), ("C", c.id)] {
        assert!(
            result.iter().any(|r| r.id == id),
            "{name} missing from the lookup result {result:?}"
        );
    }
    let table = handle.table().await.unwrap();
    assert!(table.iter().any(|r| r.id == b.id) && table.iter().any(|r| r.id == c.id));
    // And B, contacted by our lookup, learnt about us too.
    b.wait_for_peers(&[our_id], "B never added us").await;
}
