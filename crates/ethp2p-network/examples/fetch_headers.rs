//! A header request routed through the `FetchClient`: connects to the node
//! given as `enode://…` (or mainnet's bootnodes) and asks for block 1's header.
//! `cargo run -p ethp2p-network --example fetch_headers [enode]`

use ethp2p_eth::{
    chain::ChainSpec,
    message::{BlockHashOrNumber, EthMessage, GetBlockHeaders},
};
use ethp2p_network::{peers::PeerKind, NetworkConfig, NetworkManager};
use ethp2p_rlpx::{NodeRecord, PeerId};
use std::time::Duration;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Connects to `targets` of `chain` and asks the best of them for block 1's
/// header; returns who answered and with how many headers.
pub(crate) async fn run(
    chain: ChainSpec,
    targets: Vec<NodeRecord>,
) -> Result<(PeerId, usize), Error> {
    let mut config = NetworkConfig::new(ethp2p_rlpx::generate_secret_key(), chain);
    config.listen_addr = None;
    let manager = NetworkManager::new(config).await?;
    let handle = manager.handle();
    let mut events = handle.event_listener();
    tokio::spawn(manager.run());
    for record in targets {
        let _ = handle.add_peer(record, PeerKind::Static).await?;
    }
    // Wait for a peer (bounded), then route the request.
    let connected = async {
        while handle.num_connected_peers() == 0 {
            if events.recv().await.is_err() {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(30), connected).await;
    let fetched = handle
        .fetch_client()
        .get_headers(GetBlockHeaders {
            start: BlockHashOrNumber::Number(1),
            limit: 1,
            skip: 0,
            reverse: false,
        })
        .await;
    let result = match fetched {
        Ok(f) => match f.message {
            EthMessage::BlockHeaders(h) => {
                println!("{} answered with {} header(s)", f.peer_id, h.message.len());
                Ok((f.peer_id, h.message.len()))
            }
            other => Err(format!("{} answered {other:?}", f.peer_id).into()),
        },
        Err(e) => Err(format!("no answer: {e}").into()),
    };
    handle.shutdown().await?;
    result
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let chain = ChainSpec::mainnet();
    let targets: Vec<String> = match std::env::args().nth(1) {
        Some(e) => vec![e],
        None => chain.bootnodes.clone(),
    };
    let mut records = Vec::new();
    for t in &targets {
        records.push(t.parse::<NodeRecord>()?);
    }
    run(chain, records).await?;
    Ok(())
}
