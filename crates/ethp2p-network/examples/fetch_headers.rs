//! A header request routed through the `FetchClient`: connects to the node
//! given as `enode://…` (or mainnet's bootnodes) and asks for block 1's header.
//! `cargo run -p ethp2p-network --example fetch_headers [enode]`

use ethp2p_eth::{
    chain::ChainSpec,
    message::{BlockHashOrNumber, EthMessage, GetBlockHeaders},
};
use ethp2p_network::{peers::PeerKind, NetworkConfig, NetworkManager};
use ethp2p_rlpx::NodeRecord;
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let chain = ChainSpec::mainnet();
    let mut config = NetworkConfig::new(ethp2p_rlpx::generate_secret_key(), chain.clone());
    config.listen_addr = None;
    let manager = NetworkManager::new(config).await?;
    let handle = manager.handle();
    tokio::spawn(manager.run());
    let targets: Vec<String> = match std::env::args().nth(1) {
        Some(e) => vec![e],
        None => chain.bootnodes.clone(),
    };
    for t in &targets {
        let record: NodeRecord = t.parse()?;
        let _ = handle.add_peer(record, PeerKind::Static).await?;
    }
    // Wait for a peer (bounded), then route the request.
    for _ in 0..30 {
        if handle.num_connected_peers() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let fetched = handle
        .fetch_client()
        .get_headers(GetBlockHeaders {
            start: BlockHashOrNumber::Number(1),
            limit: 1,
            skip: 0,
            reverse: false,
        })
        .await;
    match fetched {
        Ok(f) => match f.message {
            EthMessage::BlockHeaders(h) => {
                println!("{} answered with {} header(s)", f.peer_id, h.message.len())
            }
            other => println!("{} answered {other:?}", f.peer_id),
        },
        Err(e) => println!("no answer: {e}"),
    }
    handle.shutdown().await?;
    Ok(())
}
