//! `ethp2p handshake <enode>`: dial one node, run ECIES, Hello and Status,
//! print what the remote said as JSON, and hang up. On failure, print the
//! stage that failed and the Disconnect reason (if any) and exit non-zero.

use crate::{cli::HandshakeArgs, node::client_version};
use ethp2p_eth::{
    chain::ChainSpec,
    exchange::status_exchange,
    handshake::{eth_protocols, EthHandshakeError},
    status::Status,
    version::EthVersion,
};
use ethp2p_rlpx::{key::peer_id_from_secret_key, NodeRecord};
use ethp2p_wire::{DisconnectReason, HelloMessage, P2PConfig, P2PHandshakeError, P2P_VERSION};
use serde_json::{json, Value};
use std::{process::ExitCode, time::Duration};
use tokio::{net::TcpStream, time::Instant};

/// A failed stage.
struct Failure {
    stage: &'static str,
    error: String,
    reason_received: Option<DisconnectReason>,
    reason_sent: Option<DisconnectReason>,
}

impl Failure {
    fn new(stage: &'static str, error: impl ToString) -> Self {
        Self {
            stage,
            error: error.to_string(),
            reason_received: None,
            reason_sent: None,
        }
    }
}

/// Runs the command; returns the process exit code.
pub(crate) fn run(args: HandshakeArgs) -> ExitCode {
    let rt = match crate::runtime_or_exit(false) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let result = rt.block_on(handshake(&args));
    match result {
        Ok(report) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&report).unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        Err(f) => {
            let reason = |r: Option<DisconnectReason>| r.map(|r| r.to_string());
            let report = json!({
                "ok": false,
                "enode": args.enode.to_string(),
                "stage": f.stage,
                "error": f.error,
                "disconnectReason": reason(f.reason_received),
                "disconnectReasonSent": reason(f.reason_sent),
            });
            println!(
                "{}",
                serde_json::to_string_pretty(&report).unwrap_or_default()
            );
            let why = match (f.reason_received, f.reason_sent) {
                (Some(r), _) => format!("; the remote disconnected with {r}"),
                (None, Some(r)) => format!("; we disconnected with {r}"),
                (None, None) => String::new(),
            };
            eprintln!(
                "error: handshake failed at the {} stage: {}{why}",
                f.stage, f.error
            );
            ExitCode::FAILURE
        }
    }
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

async fn handshake(args: &HandshakeArgs) -> Result<Value, Failure> {
    let target: NodeRecord = args.enode;
    let chain =
        ChainSpec::by_name(&args.chain).ok_or_else(|| Failure::new("setup", "unknown chain"))?;
    let timeout = Duration::from_secs_f64(args.timeout);
    let key = ethp2p_rlpx::generate_secret_key();
    let versions = EthVersion::DEFAULT_ADVERTISED.to_vec();
    let protocols = eth_protocols(&versions);
    let hello = HelloMessage {
        protocol_version: P2P_VERSION,
        client_id: client_version(),
        capabilities: protocols.iter().map(|p| p.cap.clone()).collect(),
        port: 0,
        id: peer_id_from_secret_key(&key),
    };
    let head = chain.genesis_head();
    let status = chain.status(&head);
    let fork_filter = chain.fork_filter(head);

    let start = Instant::now();
    let addr = target.tcp_addr();
    let stream = match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            return Err(Failure::new(
                "tcp",
                format!("cannot connect to {addr}: {e}"),
            ))
        }
        Err(_) => {
            return Err(Failure::new(
                "tcp",
                format!("connecting to {addr} timed out"),
            ))
        }
    };
    let _ = stream.set_nodelay(true);
    let t_tcp = start.elapsed();

    let rlpx = ethp2p_rlpx::connect(stream, &key, target.id, timeout)
        .await
        .map_err(|e| Failure::new("ecies", e))?;
    let t_ecies = start.elapsed();

    let config = P2PConfig {
        hello_timeout: timeout,
        ..Default::default()
    };
    let (mut p2p, remote_hello) = ethp2p_wire::handshake(rlpx, &hello, &protocols, config)
        .await
        .map_err(|e: P2PHandshakeError| Failure {
            stage: "hello",
            reason_received: e.reason_received(),
            reason_sent: e.reason_sent(),
            error: e.to_string(),
        })?;
    let t_hello = start.elapsed();
    let shared: Vec<String> = p2p
        .shared_capabilities()
        .iter()
        .map(|c| format!("{}/{}", c.cap.name, c.cap.version))
        .collect();

    let (version, remote_status) = status_exchange(&mut p2p, &status, &fork_filter, timeout)
        .await
        .map_err(|e: EthHandshakeError| Failure {
            stage: "status",
            reason_received: e.reason_received(),
            reason_sent: e.reason_sent(),
            error: e.to_string(),
        })?;
    let t_status = start.elapsed();
    let _ = tokio::time::timeout(
        Duration::from_secs(1),
        p2p.disconnect(DisconnectReason::DisconnectRequested),
    )
    .await;

    Ok(json!({
        "ok": true,
        "enode": target.to_string(),
        "hello": hello_json(&remote_hello),
        "sharedCapabilities": shared,
        "ethVersion": version.as_u8(),
        "status": status_json(&remote_status),
        "elapsedMs": {
            "tcp": ms(t_tcp),
            "ecies": ms(t_ecies),
            "hello": ms(t_hello),
            "status": ms(t_status),
        },
    }))
}

fn hello_json(h: &HelloMessage) -> Value {
    json!({
        "protocolVersion": h.protocol_version,
        "clientId": h.client_id,
        "capabilities": h.capabilities.iter().map(|c| format!("{}/{}", c.name, c.version)).collect::<Vec<_>>(),
        "listenPort": h.port,
        "id": hex::encode(h.id),
    })
}

fn status_json(s: &Status) -> Value {
    let mut v = json!({
        "version": s.version,
        "networkId": s.network_id,
        "genesis": s.genesis.to_string(),
        "forkId": { "hash": s.fork_id.hash.to_string(), "next": s.fork_id.next },
    });
    if s.is_legacy() {
        v["totalDifficulty"] = json!(s.total_difficulty.to_string());
        v["bestHash"] = json!(s.best_hash.to_string());
    } else {
        v["earliestBlock"] = json!(s.earliest_block);
        v["latestBlock"] = json!(s.latest_block);
        v["latestBlockHash"] = json!(s.latest_block_hash.to_string());
    }
    v
}
