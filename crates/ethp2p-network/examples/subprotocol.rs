//! An extra RLPx sub-protocol beside eth: two in-process nodes on loopback
//! both advertise a toy `ping/1` capability (two messages: 0 = ping,
//! 1 = pong), connect, and exchange one ping and its pong.
//! `cargo run -p ethp2p-network --example subprotocol`

use bytes::Bytes;
use ethp2p_eth::chain::ChainSpec;
use ethp2p_network::{
    peers::PeerKind, IncomingMessage, NetworkConfig, NetworkEvent, NetworkHandle, NetworkManager,
};
use ethp2p_rlpx::NodeRecord;
use ethp2p_session::PeerMessage;
use ethp2p_wire::Protocol;
use std::time::Duration;
use tokio::sync::mpsc;

/// The toy protocol's message ids, relative to its id range.
const PING: u8 = 0;
const PONG: u8 = 1;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// A node on 127.0.0.1 that advertises `ping/1` beside eth.
async fn node() -> Result<(NetworkHandle, mpsc::Receiver<IncomingMessage>), Error> {
    let mut config = NetworkConfig::new(ethp2p_rlpx::generate_secret_key(), ChainSpec::sepolia());
    config.listen_addr = Some(([127, 0, 0, 1], 0).into());
    config.extra_protocols = vec![Protocol::new("ping", 1, 2)];
    let mut manager = NetworkManager::new(config).await?;
    let messages = manager.take_messages().ok_or("messages already taken")?;
    let handle = manager.handle();
    tokio::spawn(manager.run());
    Ok((handle, messages))
}

/// The next `ping` message from the stream: (sender, id, payload).
async fn next_ping(
    rx: &mut mpsc::Receiver<IncomingMessage>,
) -> Result<(IncomingMessage, u8, Bytes), Error> {
    loop {
        let m = rx.recv().await.ok_or("message stream closed")?;
        if let PeerMessage::Protocol { name, id, payload } = &m.message {
            if name == "ping" {
                let (id, payload) = (*id, payload.clone());
                return Ok((m, id, payload));
            }
        }
    }
}

/// Runs the exchange; returns the ping payload B received and the pong
/// payload A received.
pub(crate) async fn run() -> Result<(Bytes, Bytes), Error> {
    let (a, mut a_msgs) = node().await?;
    let (b, mut b_msgs) = node().await?;
    let mut a_events = a.event_listener();
    let a_addr = a.local_addr().ok_or("a has no listener")?;
    b.add_peer(NodeRecord::new(a.local_id(), a_addr), PeerKind::Static)
        .await??;
    // A sees B's session, with `ping/1` among the shared capabilities.
    let b_id = loop {
        match a_events.recv().await? {
            NetworkEvent::SessionEstablished { peer_id, info } => {
                let caps: Vec<String> = info
                    .capabilities
                    .iter()
                    .map(|c| format!("{}/{}", c.name, c.version))
                    .collect();
                println!("A: session with B, capabilities {caps:?}");
                break peer_id;
            }
            _ => continue,
        }
    };
    a.send_protocol_message(b_id, "ping", PING, Bytes::from_static(b"hello"))
        .await??;
    let (m, id, ping) = next_ping(&mut b_msgs).await?;
    println!(
        "B: ping/1 message {id} {:?}",
        String::from_utf8_lossy(&ping)
    );
    b.send_protocol_message(m.peer_id, "ping", PONG, ping.clone())
        .await??;
    let (_, id, pong) = next_ping(&mut a_msgs).await?;
    println!(
        "A: ping/1 message {id} {:?}",
        String::from_utf8_lossy(&pong)
    );
    a.shutdown().await?;
    b.shutdown().await?;
    Ok((ping, pong))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tokio::time::timeout(Duration::from_secs(30), run()).await??;
    Ok(())
}
