//! Shared by the interop tests: installs the pinned npm packages and drives
//! `interop/peer.mjs` (an @ethereumjs/devp2p peer) through JSON lines.

use alloy_primitives::{B256, U256};
use ethp2p_eth::{
    forkid::{ForkFilter, Head},
    status::Status,
};
use serde_json::Value;
use std::{
    collections::VecDeque,
    fmt::Display,
    path::{Path, PathBuf},
    process::Stdio,
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines},
    process::{Child, ChildStdin, ChildStdout, Command},
    time::{timeout, Instant},
};

/// Upper bound of every single wait: a failing test ends in seconds.
pub const STEP: Duration = Duration::from_secs(10);

/// The eth/68 Status, and the fork filter, of a private chain at its
/// genesis block `genesis` (no forks, total difficulty 1): what the interop
/// tests announce to the JS peer, which mirrors the chain.
pub fn genesis_status_eth68(genesis: B256, network_id: u64) -> (Status, ForkFilter) {
    let head = Head {
        number: 0,
        timestamp: 0,
        hash: genesis,
        total_difficulty: U256::from(1),
    };
    let filter = ForkFilter::new(genesis, 0, head, []);
    let status = Status {
        version: 68,
        network_id,
        genesis,
        fork_id: filter.current(),
        total_difficulty: U256::from(1),
        best_hash: genesis,
        earliest_block: 0,
        latest_block: 0,
        latest_block_hash: genesis,
    };
    (status, filter)
}

/// The repository's root directory.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

/// Installs the pinned npm packages once per test binary if they are missing.
pub fn ensure_node_modules() {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    let ready = READY.get_or_init(|| {
        let interop = repo_root().join("interop");
        let marker = interop.join("node_modules/@ethereumjs/devp2p/package.json");
        if marker.is_file() {
            return Ok(());
        }
        let out = std::process::Command::new("npm")
            .arg("ci")
            .arg("--prefix")
            .arg(&interop)
            .args(["--no-audit", "--no-fund"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| {
                format!("cannot run npm (the interop tests need Node.js >= 20 and npm): {e}")
            })?;
        if !out.status.success() {
            return Err(format!(
                "`npm ci --prefix {}` failed ({}):\n{}\n{}",
                interop.display(),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        if !marker.is_file() {
            return Err(format!(
                "npm ci succeeded but {} is missing",
                marker.display()
            ));
        }
        Ok(())
    });
    if let Err(e) = ready {
        panic!("{e}");
    }
}

/// A running `node interop/peer.mjs`, killed when dropped.
pub struct JsPeer {
    /// The node process (killed when dropped).
    pub _child: Child,
    /// Its standard input: one JSON command per line.
    pub stdin: ChildStdin,
    /// Its standard output: one JSON event per line.
    pub lines: Lines<BufReader<ChildStdout>>,
    /// Events read but not consumed by an `expect` yet, in arrival order.
    pub pending: VecDeque<Value>,
    /// Every event line, for failure reports.
    pub log: Vec<String>,
    /// Everything it wrote to standard error, for failure messages.
    pub stderr: Arc<Mutex<String>>,
    /// Whether its standard output ended.
    pub eof: bool,
}

impl JsPeer {
    /// Starts `interop/peer.mjs` with `args` (installing the npm packages first).
    pub fn spawn(args: Vec<String>) -> Self {
        ensure_node_modules();
        let script = repo_root().join("interop/peer.mjs");
        let mut child = Command::new("node")
            .arg(&script)
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `node {}`: {e}", script.display()));
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let mut stderr = child.stderr.take().expect("stderr");
        let captured = Arc::new(Mutex::new(String::new()));
        let sink = captured.clone();
        tokio::spawn(async move {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut chunk).await {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&chunk[..n]));
            }
        });
        Self {
            _child: child,
            stdin,
            lines: BufReader::new(stdout).lines(),
            pending: VecDeque::new(),
            log: Vec::new(),
            stderr: captured,
            eof: false,
        }
    }

    /// Panics with `msg` and everything the peer printed.
    #[track_caller]
    pub fn fail(&self, msg: impl Display) -> ! {
        let stderr = self.stderr.lock().map(|s| s.clone()).unwrap_or_default();
        let tail: String = {
            let skip = stderr.chars().count().saturating_sub(4000);
            stderr.chars().skip(skip).collect()
        };
        panic!(
            "{msg}\n--- ethereumjs peer events:\n{}\n--- ethereumjs peer stderr (tail):\n{tail}",
            self.log.join("\n")
        );
    }

    /// Sends one JSON command.
    pub async fn cmd(&mut self, cmd: Value) {
        let line = format!("{cmd}\n");
        let write = async {
            self.stdin.write_all(line.as_bytes()).await?;
            self.stdin.flush().await
        };
        match timeout(STEP, write).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => self.fail(format!("cannot send {cmd} to the peer: {e}")),
            Err(_) => self.fail(format!("sending {cmd} to the peer timed out")),
        }
    }

    /// Reads the next event line (cancel-safe). `None` once stdout closed.
    pub async fn read_event(&mut self) -> Option<Value> {
        match self.lines.next_line().await {
            Ok(Some(line)) => {
                self.log.push(line);
                let line = self.log.last().expect("just pushed");
                let value: Value = serde_json::from_str(line).unwrap_or_else(|e| {
                    self.fail(format!("the peer wrote a line that is not JSON: {e}"))
                });
                Some(value)
            }
            Ok(None) => {
                self.eof = true;
                None
            }
            Err(e) => self.fail(format!("reading the peer's stdout: {e}")),
        }
    }

    /// Takes the first buffered event named `name` for which `pred` holds.
    pub fn take(&mut self, name: &str, pred: &impl Fn(&Value) -> bool) -> Option<Value> {
        let i = self
            .pending
            .iter()
            .position(|e| e["event"] == name && pred(e))?;
        self.pending.remove(i)
    }

    /// Waits for the first event `name` that satisfies `pred` (earlier
    /// unconsumed events included), without driving our side.
    pub async fn expect(&mut self, name: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + STEP;
        loop {
            if let Some(e) = self.take(name, &pred) {
                return e;
            }
            if self.eof {
                self.fail(format!("the peer exited before reporting `{name}`"));
            }
            match tokio::time::timeout_at(deadline, self.read_event()).await {
                Ok(Some(e)) => self.pending.push_back(e),
                Ok(None) => {}
                Err(_) => self.fail(format!("timed out waiting for the peer's `{name}` event")),
            }
        }
    }

    /// The `error` events the peer reported so far.
    pub fn errors(&self) -> Vec<&String> {
        self.log
            .iter()
            .filter(|l| serde_json::from_str::<Value>(l).is_ok_and(|v| v["event"] == "error"))
            .collect()
    }
}
