//! A minimal network: joins mainnet from its bootnodes and prints every
//! peer event. `cargo run -p ethp2p-network --example peer_events [port]`
//! (stops after 60 s, or on Ctrl-C).

use ethp2p_eth::chain::ChainSpec;
use ethp2p_network::{peers::PeerKind, NetworkConfig, NetworkEvent, NetworkManager};
use ethp2p_rlpx::NodeRecord;
use std::time::Duration;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Listens on `port`, dials `targets` of `chain`, and prints peer events
/// until `limit` passed or `sessions` sessions were established (or
/// Ctrl-C); returns the sessions established.
pub(crate) async fn run(
    chain: ChainSpec,
    targets: Vec<NodeRecord>,
    port: u16,
    limit: Duration,
    sessions: usize,
) -> Result<usize, Error> {
    let mut config = NetworkConfig::new(ethp2p_rlpx::generate_secret_key(), chain);
    config.listen_addr = Some(([0, 0, 0, 0], port).into());
    let manager = NetworkManager::new(config).await?;
    let handle = manager.handle();
    let mut events = handle.event_listener();
    tokio::spawn(manager.run());
    for record in targets {
        let _ = handle.add_peer(record, PeerKind::Basic).await?;
    }
    let deadline = tokio::time::sleep(limit);
    tokio::pin!(deadline);
    let mut established = 0;
    while established < sessions {
        tokio::select! {
            _ = &mut deadline => break,
            _ = tokio::signal::ctrl_c() => break,
            ev = events.recv() => match ev {
                Ok(NetworkEvent::SessionEstablished { info, .. }) => {
                    established += 1;
                    println!("+ {} {} {}", info.enode, info.client_version, info.eth_version)
                }
                Ok(NetworkEvent::SessionClosed { peer_id, reason, error, .. }) => {
                    println!("- {peer_id} {reason:?} {error:?}")
                }
                Ok(other) => println!("  {other:?}"),
                Err(_) => break,
            },
        }
    }
    handle.shutdown().await?;
    Ok(established)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let chain = ChainSpec::mainnet();
    let mut targets = Vec::new();
    for b in &chain.bootnodes {
        targets.push(b.parse::<NodeRecord>()?);
    }
    run(chain, targets, port, Duration::from_secs(60), usize::MAX).await?;
    Ok(())
}
