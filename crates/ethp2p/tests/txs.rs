//! Process test of `ethp2p txs`: the binary dials an in-test peer (a
//! network manager on loopback) that announces one transaction and serves it
//! when asked; the binary prints its first-seen record as one JSON line.
//!
//! Synchronisation is on observable events only: the peer's session events,
//! the request it receives, the line on stdout, the process exit, each under
//! a timeout.

mod common;

use alloy_primitives::keccak256;
use common::{BIN, WAIT};
use ethp2p_eth::{
    chain::ChainSpec,
    message::{
        EthMessage, NewPooledTransactionHashes, NewPooledTransactionHashes68, RawList, RequestPair,
    },
    version::EthVersion,
};
use ethp2p_network::{NetworkConfig, NetworkEvent, NetworkManager};
use ethp2p_rlpx::NodeRecord;
use ethp2p_session::PeerMessage;
use serde_json::Value;
use std::{net::SocketAddr, process::Stdio};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::Command,
};

/// EIP-155's worked example: a signed legacy transaction.
const EIP155_SIGNED: &str = "f86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn txs_prints_the_announced_and_fetched_transaction_as_a_json_line() {
    let raw = hex::decode(EIP155_SIGNED).unwrap();
    let hash = keccak256(&raw);

    // The in-test peer.
    let key = ethp2p_rlpx::SecretKey::from_byte_array([0x5a; 32]).unwrap();
    let mut config = NetworkConfig::new(key, ChainSpec::mainnet());
    config.listen_addr = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    config.client_id = "txs-test-peer/v1".into();
    let mut peer = NetworkManager::new(config).await.unwrap();
    let handle = peer.handle();
    let mut gossip = peer.take_transaction_messages().unwrap();
    let mut events = handle.event_listener();
    tokio::spawn(peer.run());
    let enode = NodeRecord::new(handle.local_id(), handle.local_addr().unwrap()).to_string();

    let mut child = Command::new(BIN)
        .args([
            "txs",
            "--no-bootnodes",
            "--port",
            "0",
            "--skip-initial",
            "0",
        ])
        .args(["--raw", "--duration", "12", "--peer", &enode])
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn ethp2p txs");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();

    // The binary connects; announce in the negotiated version's shape.
    let (listener, version) = tokio::time::timeout(WAIT, async {
        loop {
            if let Ok(NetworkEvent::SessionEstablished { peer_id, info }) = events.recv().await {
                return (peer_id, info.eth_version);
            }
        }
    })
    .await
    .expect("ethp2p txs connects");
    let ann = if version >= EthVersion::Eth68 {
        NewPooledTransactionHashes::Eth68(NewPooledTransactionHashes68 {
            types: vec![0].into(),
            sizes: vec![raw.len() as u64],
            hashes: vec![hash],
        })
    } else {
        NewPooledTransactionHashes::Eth66(vec![hash])
    };
    handle
        .send_message(listener, EthMessage::NewPooledTransactionHashes(ann))
        .await
        .unwrap()
        .unwrap();

    // It asks for the transaction; serve it.
    let (asked, responder) = tokio::time::timeout(WAIT, async {
        loop {
            let msg = gossip.recv().await.expect("gossip stream");
            if let PeerMessage::EthRequest {
                request: EthMessage::GetPooledTransactions(req),
                responder,
            } = msg.message
            {
                return (req.message, responder);
            }
        }
    })
    .await
    .expect("ethp2p txs requests the announced hash");
    assert_eq!(asked, vec![hash]);
    responder.respond(EthMessage::PooledTransactions(RequestPair {
        request_id: 0,
        message: RawList::from_encoded_items([&raw]).unwrap(),
    }));

    let line = tokio::time::timeout(WAIT, lines.next_line())
        .await
        .expect("a JSON line in time")
        .unwrap()
        .expect("a line");
    let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(v["hash"], format!("{hash}"));
    assert_eq!(v["type"], 0);
    assert_eq!(v["size"], raw.len());
    assert_eq!(v["raw"], format!("0x{EIP155_SIGNED}"));
    assert_eq!(v["peer"], format!("{}", handle.local_id()));
    assert_eq!(v["client"], "txs-test-peer/v1");
    assert_eq!(v["via"], "announcement");
    assert_eq!(v["announcers"], 1);
    let first_seen = v["firstSeen"].as_u64().expect("firstSeen in ms");
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert!(first_seen <= now_ms && now_ms - first_seen < WAIT.as_millis() as u64);

    // One transaction, one line; the process ends at --duration, exit 0.
    let rest = tokio::time::timeout(WAIT, lines.next_line())
        .await
        .expect("exits at --duration")
        .unwrap();
    assert_eq!(rest, None, "a second line");
    let status = tokio::time::timeout(WAIT, child.wait())
        .await
        .expect("exits")
        .unwrap();
    assert!(status.success(), "{status}");
}
