//! `ethp2p txs`: a chain-less mempool listener. Connects to the chain's
//! bootnodes (or the given peers), runs the transactions manager in listener
//! mode (it takes announcements and broadcasts in, fetches announced
//! transactions, relays nothing) and prints one JSON line per transaction
//! first seen to stdout:
//!
//! `{"hash","type","size","raw"?,"firstSeen","peer","client","via","announcers"}`
//!
//! Logs go to stderr. Ends on Ctrl-C or after `--duration`.

use crate::cli::TxsArgs;
use ethp2p_eth::chain::ChainSpec;
use ethp2p_network::{
    peers::PeerKind,
    transactions::{
        manager::{TransactionsConfig, TransactionsManager},
        stream::FirstSeenRecord,
    },
    NetworkConfig, NetworkManager,
};
use ethp2p_rlpx::NodeRecord;
use std::{
    io::{IsTerminal, Write},
    net::SocketAddr,
    process::ExitCode,
    time::Duration,
};
use tokio::sync::broadcast::error::RecvError;
use tracing::{info, warn};

/// Runs the command; returns the process exit code.
pub(crate) fn run(args: TxsArgs) -> ExitCode {
    let level = match args.verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
    let rt = match crate::runtime_or_exit(true) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    match rt.block_on(listen(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// What ends the listener.
enum Stop {
    Interrupted,
    Elapsed,
    StdoutClosed,
    NetworkStopped,
}

async fn listen(args: TxsArgs) -> Result<(), String> {
    let chain = ChainSpec::by_name(&args.chain).ok_or("unknown chain")?;
    let key = args
        .nodekey
        .unwrap_or_else(ethp2p_rlpx::generate_secret_key);
    let bootnodes: Vec<NodeRecord> = if args.no_bootnodes {
        Vec::new()
    } else {
        chain
            .bootnodes
            .iter()
            .filter_map(|b| b.parse().ok())
            .collect()
    };
    let mut config = NetworkConfig::new(key, chain);
    config.listen_addr = Some(SocketAddr::from(([0, 0, 0, 0], args.port)));
    config.peers = config.peers.clone().with_max_peers(args.max_peers.max(1));
    let mut network = NetworkManager::new(config)
        .await
        .map_err(|e| e.to_string())?;
    let handle = network.handle();
    let gossip = network
        .take_transaction_messages()
        .ok_or("the transaction stream is taken")?;
    let mut txs_config = TransactionsConfig::listener(Duration::from_secs_f64(args.skip_initial));
    txs_config.stream.keep_raw = args.raw;
    let manager = TransactionsManager::new(handle.clone(), gossip, txs_config);
    let mut records = manager.handle().subscribe();
    tokio::spawn(network.run());
    tokio::spawn(manager.run());
    info!(
        id = %ethp2p_rlpx::node_id(&handle.local_id()),
        addr = ?handle.local_addr(),
        "listening for transactions"
    );

    for record in &args.peers {
        match handle.add_peer(*record, PeerKind::Static).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => warn!(%record, %e, "peer not added"),
            Err(e) => return Err(e.to_string()),
        }
    }
    for record in &bootnodes {
        if let Ok(Err(e)) = handle.add_peer(*record, PeerKind::Basic).await {
            warn!(%record, %e, "bootnode not added");
        }
    }

    let deadline = args.duration.map(Duration::from_secs_f64);
    let elapsed = async {
        match deadline {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(elapsed);
    let mut printed = 0u64;
    let stop = loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break Stop::Interrupted,
            () = &mut elapsed => break Stop::Elapsed,
            r = records.recv() => match r {
                Ok(record) => {
                    if print(&record).is_err() {
                        break Stop::StdoutClosed;
                    }
                    printed += 1;
                }
                Err(RecvError::Lagged(n)) => warn!(missed = n, "stdout too slow: records skipped"),
                Err(RecvError::Closed) => break Stop::NetworkStopped,
            },
        }
    };
    match stop {
        Stop::Interrupted => info!(printed, "interrupted"),
        Stop::Elapsed => info!(printed, "duration elapsed"),
        Stop::StdoutClosed => info!(printed, "stdout closed"),
        Stop::NetworkStopped => warn!(printed, "network stopped"),
    }
    let _ = handle.shutdown().await;
    Ok(())
}

/// Writes one record as a JSON line and flushes (for pipelines).
fn print(record: &FirstSeenRecord) -> std::io::Result<()> {
    let line = serde_json::to_string(record).map_err(std::io::Error::other)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()
}
