//! The examples run here, so CI runs them: each example's `run` is included
//! as a module and driven against in-process nodes on loopback (no network
//! beyond 127.0.0.1).

#[allow(dead_code)]
#[path = "../examples/fetch_headers.rs"]
mod fetch_headers;
#[allow(dead_code)]
#[path = "../examples/peer_events.rs"]
mod peer_events;
#[allow(dead_code)]
#[path = "../examples/subprotocol.rs"]
mod subprotocol;

use bytes::Bytes;
use ethp2p_eth::{
    chain::ChainSpec,
    forkid::Head,
    message::{BlockHashOrNumber, EthMessage, RawList, RequestPair},
};
use ethp2p_network::{IncomingMessage, NetworkConfig, NetworkHandle, NetworkManager};
use ethp2p_rlpx::NodeRecord;
use ethp2p_session::PeerMessage;
use std::time::Duration;
use tokio::sync::mpsc;

const LIMIT: Duration = Duration::from_secs(30);

/// A node listening on 127.0.0.1 at `head`; answers requests empty (nobody
/// takes its messages).
async fn server(chain: ChainSpec, head: Option<Head>) -> (NetworkHandle, NodeRecord) {
    let mut config = NetworkConfig::new(ethp2p_rlpx::generate_secret_key(), chain);
    config.listen_addr = Some(([127, 0, 0, 1], 0).into());
    config.head = head;
    let manager = NetworkManager::new(config).await.unwrap();
    let handle = manager.handle();
    tokio::spawn(manager.run());
    let record = NodeRecord::new(handle.local_id(), handle.local_addr().unwrap());
    (handle, record)
}

/// [`server`], with its message stream.
async fn server_with_messages(
    chain: ChainSpec,
    head: Option<Head>,
) -> (NetworkHandle, NodeRecord, mpsc::Receiver<IncomingMessage>) {
    let mut config = NetworkConfig::new(ethp2p_rlpx::generate_secret_key(), chain);
    config.listen_addr = Some(([127, 0, 0, 1], 0).into());
    config.head = head;
    let mut manager = NetworkManager::new(config).await.unwrap();
    let messages = manager.take_messages().unwrap();
    let handle = manager.handle();
    tokio::spawn(manager.run());
    let record = NodeRecord::new(handle.local_id(), handle.local_addr().unwrap());
    (handle, record, messages)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subprotocol_example_exchanges_a_ping_and_its_pong() {
    let (ping, pong) = tokio::time::timeout(LIMIT, subprotocol::run())
        .await
        .expect("in time")
        .unwrap();
    assert_eq!(ping, Bytes::from_static(b"hello"));
    assert_eq!(pong, ping);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_protocol_message_to_an_unknown_peer_is_refused() {
    let (handle, _) = server(ChainSpec::sepolia(), None).await;
    let stranger = ethp2p_rlpx::key::peer_id_from_secret_key(&ethp2p_rlpx::generate_secret_key());
    let r = handle
        .send_protocol_message(stranger, "ping", 0, Bytes::new())
        .await
        .unwrap();
    assert!(r.is_err(), "{r:?}");
    handle.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_events_example_prints_a_session() {
    let chain = ChainSpec::mainnet();
    let (handle, record) = server(chain.clone(), None).await;
    let n = peer_events::run(chain, vec![record], 0, LIMIT, 1)
        .await
        .unwrap();
    assert_eq!(n, 1);
    handle.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_headers_example_routes_to_the_peer_that_has_the_block() {
    let chain = ChainSpec::mainnet();
    // The server announces block 100 (eth/69 range 0..=100), so block 1 is
    // in its range.
    let head = Head {
        number: 100,
        hash: alloy_primitives::B256::repeat_byte(1),
        ..chain.genesis_head()
    };
    let (handle, record, mut messages) = server_with_messages(chain.clone(), Some(head)).await;
    // It answers header requests with a header numbered as asked.
    tokio::spawn(async move {
        while let Some(m) = messages.recv().await {
            if let PeerMessage::EthRequest {
                request: EthMessage::GetBlockHeaders(req),
                responder,
            } = m.message
            {
                let BlockHashOrNumber::Number(n) = req.message.start else {
                    continue;
                };
                let header = alloy_consensus::Header {
                    number: n,
                    ..Default::default()
                };
                responder.respond(EthMessage::BlockHeaders(RequestPair {
                    request_id: req.request_id,
                    message: RawList::from_items(&[header]),
                }));
            }
        }
    });
    let (peer, headers) = tokio::time::timeout(LIMIT, fetch_headers::run(chain, vec![record]))
        .await
        .expect("in time")
        .unwrap();
    assert_eq!(peer, record.id);
    assert_eq!(headers, 1);
    handle.shutdown().await.unwrap();
}
