//! What the process tests of the `ethp2p` binary share: one launcher for
//! the node process ([`Launch`]), the running [`Node`] it returns, the
//! command runner [`run_cli`], the `probe` runner [`probe`], polling
//! ([`eventually`]), a small HTTP client ([`http`]), enode helpers and the
//! npm setup of the ethereumjs interop peer ([`interop_dir`]).
//!
//! Each test binary uses a part of it (`mod common;`), hence the allowance.

#![allow(dead_code)]

use jsonrpsee_core::{
    client::{ClientT, Subscription, SubscriptionClientT},
    params::ArrayParams,
    rpc_params,
};
use jsonrpsee_http_client::{HttpClient, HttpClientBuilder};
use jsonrpsee_ws_client::{WsClient, WsClientBuilder};
use serde_json::{json, Value};
use std::{
    collections::BTreeMap,
    future::Future,
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    process::{Child, Command},
};

/// The binary under test.
pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_ethp2p");
/// Upper bound of a wait: a node's start-up lines, a command's exit, an HTTP answer.
pub(crate) const WAIT: Duration = Duration::from_secs(30);
/// Upper bound of a wait on what takes longer (crawls and probes).
pub(crate) const LONG_WAIT: Duration = Duration::from_secs(60);
/// Interval between two polls of [`eventually`].
pub(crate) const POLL: Duration = Duration::from_millis(100);

/// How to start an `ethp2p` node process: on loopback, `--no-bootnodes`, an
/// ephemeral p2p port and RPC port, the given data directory. Built with
/// [`Launch::node`] or [`Launch::bare`], started with [`Launch::start`].
///
/// The command line is `<lead> --no-bootnodes --addr 127.0.0.1 --port <port>
/// (--rpc-addr 127.0.0.1:0 | --no-rpc) [-vv] --datadir <dir> <args>`.
#[derive(Clone, Debug)]
pub(crate) struct Launch {
    program: String,
    lead: Vec<String>,
    port: u16,
    rpc: bool,
    verbose: bool,
    args: Vec<String>,
    wait: Duration,
}

impl Launch {
    /// `ethp2p node …`, with RPC, port 0, no `-vv`, a [`WAIT`] for the start-up lines.
    pub(crate) fn node() -> Self {
        Self::bare(&["node"])
    }

    /// `ethp2p <lead> …`: `lead` (a subcommand and flags, or nothing: no
    /// `node` word is added) comes before the default flags.
    pub(crate) fn bare(lead: &[&str]) -> Self {
        Self {
            program: BIN.to_string(),
            lead: lead.iter().map(|s| s.to_string()).collect(),
            port: 0,
            rpc: true,
            verbose: false,
            args: Vec::new(),
            wait: WAIT,
        }
    }

    /// Flags after the default ones.
    pub(crate) fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|s| s.to_string()));
        self
    }

    /// The p2p port (`--port`) instead of 0.
    pub(crate) fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// `--no-rpc` instead of an RPC server: only the enode line is awaited.
    pub(crate) fn no_rpc(mut self) -> Self {
        self.rpc = false;
        self
    }

    /// Adds `-vv` (debug lines in the log).
    pub(crate) fn vv(mut self) -> Self {
        self.verbose = true;
        self
    }

    /// Runs this program instead of [`BIN`].
    pub(crate) fn program(mut self, program: impl Into<String>) -> Self {
        self.program = program.into();
        self
    }

    /// How long the start-up lines may take (default [`WAIT`]).
    pub(crate) fn within(mut self, wait: Duration) -> Self {
        self.wait = wait;
        self
    }

    /// Spawns the process with its stderr in `<datadir>/node.log` (appended
    /// to, so a restart on the same directory keeps the first run's log) and
    /// waits for its start-up lines on stdout: the enode, then (with RPC)
    /// `rpc: http://…`, then (when `--metrics-addr` is among the flags)
    /// `metrics: …`. Panics with the log when they do not come in time.
    pub(crate) async fn start(self, datadir: &Path) -> Node {
        std::fs::create_dir_all(datadir).unwrap();
        let log = datadir.join("node.log");
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let port = self.port.to_string();
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.lead)
            .args(["--no-bootnodes", "--addr", "127.0.0.1", "--port", &port]);
        if self.rpc {
            cmd.args(["--rpc-addr", "127.0.0.1:0"]);
        } else {
            cmd.arg("--no-rpc");
        }
        if self.verbose {
            cmd.arg("-vv");
        }
        let mut child = cmd
            .arg("--datadir")
            .arg(datadir)
            .args(&self.args)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .expect("spawn ethp2p");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let wants_metrics = self
            .lead
            .iter()
            .chain(&self.args)
            .any(|a| a == "--metrics-addr");
        let read = async {
            let enode = lines.next_line().await.ok().flatten()?;
            let rpc = match self.rpc {
                true => Some(lines.next_line().await.ok().flatten()?),
                false => None,
            };
            let metrics = match wants_metrics {
                true => lines.next_line().await.ok().flatten(),
                false => None,
            };
            Some((enode, rpc, metrics))
        };
        let Ok(Some((enode, rpc, metrics))) = tokio::time::timeout(self.wait, read).await else {
            panic!(
                "node printed no enode/rpc lines: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            )
        };
        // Keep stdout drained so the node never blocks on it.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        assert!(enode.starts_with("enode://"), "first line: {enode}");
        let rpc = rpc.map(|line| {
            let addr: SocketAddr = line
                .strip_prefix("rpc: http://")
                .and_then(|r| r.split_whitespace().next())
                .unwrap_or_else(|| panic!("rpc line: {line}"))
                .parse()
                .unwrap();
            let client = HttpClientBuilder::default()
                .build(format!("http://{addr}"))
                .unwrap();
            (addr, client)
        });
        let metrics_url = metrics.map(|m| {
            m.strip_prefix("metrics: ")
                .unwrap_or_else(|| panic!("metrics line: {m}"))
                .to_string()
        });
        Node {
            child,
            enode,
            rpc,
            metrics_url,
            log,
        }
    }
}

/// A running node started by [`Launch::start`]; killed when dropped.
pub(crate) struct Node {
    /// The process.
    pub(crate) child: Child,
    /// Its enode URL, the first line it printed.
    pub(crate) enode: String,
    /// The RPC server's address and an HTTP client of it (none under `--no-rpc`).
    rpc: Option<(SocketAddr, HttpClient)>,
    /// The `metrics:` line's URL, when `--metrics-addr` was given.
    pub(crate) metrics_url: Option<String>,
    /// Its log file (stderr).
    pub(crate) log: PathBuf,
}

impl Node {
    /// The 128-hex public key in the enode.
    pub(crate) fn pubkey(&self) -> &str {
        pubkey(&self.enode)
    }

    /// The p2p listener's port, from the enode.
    pub(crate) fn port(&self) -> u16 {
        port(&self.enode)
    }

    /// The whole log so far.
    pub(crate) fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The JSON-RPC server's address.
    pub(crate) fn rpc_addr(&self) -> SocketAddr {
        self.rpc.as_ref().expect("a node with RPC").0
    }

    /// The HTTP JSON-RPC client of the node.
    pub(crate) fn rpc(&self) -> &HttpClient {
        &self.rpc.as_ref().expect("a node with RPC").1
    }

    /// One JSON-RPC call; its result, or a panic with the error and the log.
    pub(crate) async fn call(&self, method: &str, params: ArrayParams) -> Value {
        match self.rpc().request::<Value, _>(method, params).await {
            Ok(v) => v,
            Err(e) => panic!("{method}: {e}\n{}", self.log_text()),
        }
    }

    /// One JSON-RPC call as a plain HTTP POST: the whole response object
    /// (`result` or `error`).
    pub(crate) async fn call_raw(&self, method: &str, params: Value) -> Value {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let (_, text) = http(
            &self.rpc_addr().to_string(),
            "POST",
            "/",
            &[("Content-Type", "application/json")],
            &body.to_string(),
        )
        .await;
        let json_start = text.find('{').unwrap_or_else(|| panic!("no JSON: {text}"));
        serde_json::from_str(&text[json_start..]).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    /// `admin_peers`.
    pub(crate) async fn peers(&self) -> Vec<Value> {
        match self.call("admin_peers", rpc_params![]).await {
            Value::Array(a) => a,
            other => panic!("admin_peers returned {other}"),
        }
    }

    /// Whether `admin_peers` lists a peer with this public key.
    pub(crate) async fn has_peer(&self, pubkey: &str) -> bool {
        self.peers()
            .await
            .iter()
            .any(|p| p["enode"].as_str().unwrap_or("").contains(pubkey))
    }

    /// `admin_nodeInfo`.
    pub(crate) async fn node_info(&self) -> Value {
        self.call("admin_nodeInfo", rpc_params![]).await
    }

    /// A WebSocket client of the RPC server.
    pub(crate) async fn ws(&self) -> WsClient {
        WsClientBuilder::default()
            .build(format!("ws://{}", self.rpc_addr()))
            .await
            .expect("websocket connection")
    }

    /// A subscription over WebSocket (the client must outlive it).
    pub(crate) async fn subscribe(
        &self,
        method: &str,
        params: ArrayParams,
        unsubscribe: &str,
    ) -> (WsClient, Subscription<Value>) {
        let ws = self.ws().await;
        let sub = ws
            .subscribe(method, params, unsubscribe)
            .await
            .unwrap_or_else(|e| panic!("{method} subscription: {e}"));
        (ws, sub)
    }

    /// Sends SIGTERM.
    pub(crate) async fn terminate(&self) {
        let pid = self.child.id().expect("running");
        let status = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await
            .unwrap();
        assert!(status.success());
    }

    /// SIGTERM, then a successful exit within [`WAIT`]; the whole log.
    pub(crate) async fn stop(mut self) -> String {
        self.terminate().await;
        let exit = tokio::time::timeout(WAIT, self.child.wait())
            .await
            .expect("node exits after SIGTERM")
            .unwrap();
        assert!(exit.success(), "exit {exit}: {}", self.log_text());
        self.log_text()
    }
}

/// The 128-hex public key of an enode URL.
pub(crate) fn pubkey(enode: &str) -> &str {
    &enode["enode://".len().."enode://".len() + 128]
}

/// The TCP port of an enode URL.
pub(crate) fn port(enode: &str) -> u16 {
    enode.rsplit(':').next().unwrap().parse().unwrap()
}

/// Runs `ethp2p <args>` to its exit within [`WAIT`]: (code, stdout, stderr).
pub(crate) async fn run_cli(args: &[&str]) -> (i32, String, String) {
    run_cli_within(WAIT, args).await
}

/// Runs `ethp2p <args>` to its exit within `wait`: (code, stdout, stderr).
pub(crate) async fn run_cli_within(wait: Duration, args: &[&str]) -> (i32, String, String) {
    let out = output_within(wait, BIN, args).await;
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `<program> <args>` (no stdin, no `RUST_LOG`) to its exit within
/// `wait`; panics when it does not exit in time or cannot start.
async fn output_within(wait: Duration, program: &str, args: &[&str]) -> std::process::Output {
    tokio::time::timeout(
        wait,
        Command::new(program)
            .args(args)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .unwrap_or_else(|_| panic!("{program} {args:?} did not exit"))
    .unwrap_or_else(|e| panic!("{program} {args:?}: {e}"))
}

/// Polls `probe` every [`POLL`] until it yields a value, at most for [`WAIT`].
pub(crate) async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let tries = (WAIT.as_millis() / POLL.as_millis()) as usize;
    for _ in 0..tries {
        if let Some(v) = probe().await {
            return v;
        }
        tokio::time::sleep(POLL).await;
    }
    panic!("timed out waiting for {what}");
}

/// One HTTP/1.1 request to `host` (`ip:port`) on a fresh connection, named
/// in the `Host` header unless `headers` has one: (status line, whole response).
pub(crate) async fn http(
    host: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (String, String) {
    let mut s = tokio::net::TcpStream::connect(host).await.unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("Host: {host}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    tokio::time::timeout(WAIT, s.read_to_string(&mut out))
        .await
        .expect("HTTP response")
        .unwrap();
    let status = out.lines().next().unwrap_or_default().to_string();
    (status, out)
}

/// `GET url` (`http://host:port/path`): the whole response.
pub(crate) async fn http_get(url: &str) -> String {
    let rest = url
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("not an http URL: {url}"));
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    http(host, "GET", &format!("/{path}"), &[], "").await.1
}

/// The result of one `ethp2p probe --json` run.
pub(crate) struct ProbeRun {
    /// Whether it exited with success.
    pub(crate) success: bool,
    /// Its exit code.
    pub(crate) code: Option<i32>,
    /// check → (result, why).
    pub(crate) checks: BTreeMap<String, (String, String)>,
    /// The summary's `elapsedMs` (NaN without a summary).
    pub(crate) elapsed_ms: f64,
    /// Its whole stdout.
    pub(crate) stdout: String,
    /// Its whole stderr.
    pub(crate) stderr: String,
}

impl ProbeRun {
    /// The result of `check`; panics with the output when it did not run.
    pub(crate) fn result(&self, check: &str) -> &str {
        match self.checks.get(check) {
            Some((r, _)) => r,
            None => panic!("no result for {check}:\n{}", self.stdout),
        }
    }

    /// Asserts that every check that ran passed but those in `failing`,
    /// which failed; `what` (the fault under test) heads each message.
    pub(crate) fn assert_only_failing(&self, what: &str, failing: &[&str]) {
        for (name, (result, why)) in &self.checks {
            let want = if failing.contains(&name.as_str()) {
                "FAIL"
            } else {
                "PASS"
            };
            assert_eq!(result, want, "{what}, {name}: {why}\n{}", self.stdout);
        }
    }
}

/// Runs `<program> probe <enode> --json --seed 7 <extra>` (no stdin, no
/// `RUST_LOG`) to its exit within [`LONG_WAIT`] and reads its JSON lines.
pub(crate) async fn probe(program: &str, enode: &str, extra: &[&str]) -> ProbeRun {
    let mut args = vec!["probe", enode, "--json", "--seed", "7"];
    args.extend(extra);
    let out = output_within(LONG_WAIT, program, &args).await;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut checks = BTreeMap::new();
    let mut elapsed_ms = f64::NAN;
    for line in stdout.lines() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        if let Some(s) = v.get("summary") {
            elapsed_ms = s["elapsedMs"].as_f64().unwrap();
        } else {
            checks.insert(
                v["check"].as_str().unwrap().to_string(),
                (
                    v["result"].as_str().unwrap().to_string(),
                    v["why"].as_str().unwrap().to_string(),
                ),
            );
        }
    }
    ProbeRun {
        success: out.status.success(),
        code: out.status.code(),
        checks,
        elapsed_ms,
        stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The repository's `interop/` directory, its pinned npm packages installed
/// (`npm ci`, once per test binary) if missing. `Err(why)` when `node` or
/// `npm` is not on the PATH; a failed install panics.
pub(crate) fn interop_dir() -> Result<PathBuf, String> {
    for tool in ["node", "npm"] {
        let ok = std::process::Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return Err(format!(
                "`{tool}` is not on the PATH (Node.js >= 20 and npm are needed)"
            ));
        }
    }
    ethp2p_testing::jspeer::ensure_node_modules();
    Ok(ethp2p_testing::jspeer::repo_root().join("interop"))
}
