//! `--rlpx`: dial a found node for its Hello and Status, as `ethp2p
//! handshake` does, and hang up.

use super::record::{HelloInfo, StatusInfo};
use ethp2p_eth::{
    chain::ChainSpec, exchange::status_exchange, forkid::ForkFilter, handshake::eth_protocols,
    status::Status, version::EthVersion,
};
use ethp2p_rlpx::{key::peer_id_from_secret_key, NodeRecord, SecretKey};
use ethp2p_wire::{DisconnectReason, HelloMessage, P2PConfig, Protocol, P2P_VERSION};
use std::time::Duration;
use tokio::net::TcpStream;

/// Most dials in flight.
pub(crate) const DIAL_CONCURRENCY: usize = 32;
/// Time allowed for one whole dial (TCP, ECIES, Hello, Status).
pub(crate) const DIAL_TIMEOUT: Duration = Duration::from_secs(10);

/// What every dial sends: one key for the crawl, our Hello and the chain's
/// Status at genesis (as `ethp2p handshake`).
pub(crate) struct DialSetup {
    key: SecretKey,
    hello: HelloMessage,
    protocols: Vec<Protocol>,
    status: Status,
    fork_filter: ForkFilter,
}

impl DialSetup {
    /// The setup for `chain`.
    pub(crate) fn new(chain: &ChainSpec, client_id: String) -> Self {
        let key = ethp2p_rlpx::generate_secret_key();
        let protocols = eth_protocols(&EthVersion::DEFAULT_ADVERTISED);
        let hello = HelloMessage {
            protocol_version: P2P_VERSION,
            client_id,
            capabilities: protocols.iter().map(|p| p.cap.clone()).collect(),
            port: 0,
            id: peer_id_from_secret_key(&key),
        };
        let head = chain.genesis_head();
        Self {
            key,
            hello,
            protocols,
            status: chain.status(&head),
            fork_filter: chain.fork_filter(head),
        }
    }
}

/// What a dial learnt; `error` names the stage that failed.
#[derive(Debug, Default)]
pub(crate) struct DialOutcome {
    /// The remote Hello.
    pub(crate) hello: Option<HelloInfo>,
    /// The remote Status.
    pub(crate) status: Option<StatusInfo>,
    /// `"<stage>: <error>"`.
    pub(crate) error: Option<String>,
}

/// Dials `target` (bounded by [`DIAL_TIMEOUT`]).
pub(crate) async fn dial(setup: &DialSetup, target: NodeRecord) -> DialOutcome {
    let mut out = DialOutcome::default();
    if target.tcp_port == 0 {
        out.error = Some("tcp: the node announces no TCP port".into());
        return out;
    }
    if tokio::time::timeout(DIAL_TIMEOUT, stages(setup, target, &mut out))
        .await
        .is_err()
    {
        out.error = Some(format!(
            "timeout: no Hello and Status within {} s",
            DIAL_TIMEOUT.as_secs()
        ));
    }
    out
}

async fn stages(setup: &DialSetup, target: NodeRecord, out: &mut DialOutcome) {
    let addr = target.tcp_addr();
    let stream = match TcpStream::connect(addr).await {
        Ok(s) => s,
        Err(e) => {
            out.error = Some(format!("tcp: cannot connect to {addr}: {e}"));
            return;
        }
    };
    let _ = stream.set_nodelay(true);
    let rlpx = match ethp2p_rlpx::connect(stream, &setup.key, target.id, DIAL_TIMEOUT).await {
        Ok(r) => r,
        Err(e) => {
            out.error = Some(format!("ecies: {e}"));
            return;
        }
    };
    let config = P2PConfig {
        hello_timeout: DIAL_TIMEOUT,
        ..Default::default()
    };
    let (mut p2p, hello) =
        match ethp2p_wire::handshake(rlpx, &setup.hello, &setup.protocols, config).await {
            Ok(v) => v,
            Err(e) => {
                out.error = Some(format!("hello: {e}"));
                return;
            }
        };
    out.hello = Some(HelloInfo {
        client_id: hello.client_id.clone(),
        caps: hello
            .capabilities
            .iter()
            .map(|c| format!("{}/{}", c.name, c.version))
            .collect(),
    });
    match status_exchange(&mut p2p, &setup.status, &setup.fork_filter, DIAL_TIMEOUT).await {
        Ok((version, s)) => {
            let legacy = s.is_legacy();
            out.status = Some(StatusInfo {
                eth_version: version.as_u8(),
                network_id: s.network_id,
                genesis: s.genesis.to_string(),
                head: if legacy {
                    s.best_hash.to_string()
                } else {
                    s.latest_block_hash.to_string()
                },
                head_number: (!legacy).then_some(s.latest_block),
            });
            let _ = tokio::time::timeout(
                Duration::from_secs(1),
                p2p.disconnect(DisconnectReason::DisconnectRequested),
            )
            .await;
        }
        Err(e) => out.error = Some(format!("status: {e}")),
    }
}
