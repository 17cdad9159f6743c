//! A raw peer built from ethp2p's own lower layers, over any stream: it
//! runs RLPx, Hello and Status by hand, then sends and reads whatever a test
//! wants, obeying no rule it is not told to.

use ethp2p_eth::{
    chain::ChainSpec,
    exchange::status_exchange,
    handshake::eth_protocols,
    message::{BlockHashOrNumber, EthMessage, GetBlockHeaders, RequestPair},
    status::Status,
    version::EthVersion,
};
use ethp2p_rlpx::{
    generate_secret_key, key::peer_id_from_secret_key, PeerId, RlpxStream, SecretKey,
};
use ethp2p_wire::{Capability, HelloMessage, P2PConfig, P2PStream, P2P_VERSION};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

/// Time the attacker allows each handshake step.
pub const STEP: Duration = Duration::from_secs(10);

/// The Status an honest peer of `chain` at genesis sends on eth/69.
pub fn honest_status(chain: &ChainSpec) -> Status {
    chain
        .status(&chain.genesis_head())
        .with_version(EthVersion::Eth69)
}

/// An honest Hello for `key`: p2p/5, eth/69 only.
pub fn honest_hello(key: &SecretKey) -> HelloMessage {
    HelloMessage {
        protocol_version: P2P_VERSION,
        client_id: "attacker/0".into(),
        capabilities: vec![Capability::new("eth", 69)],
        port: 0,
        id: peer_id_from_secret_key(key),
    }
}

/// Runs RLPx as initiator towards `to` over `io`, under a fresh key.
pub async fn rlpx<Io: AsyncRead + AsyncWrite + Unpin>(
    io: Io,
    to: PeerId,
) -> (RlpxStream<Io>, SecretKey) {
    let key = generate_secret_key();
    let s = ethp2p_rlpx::connect(io, &key, to, STEP)
        .await
        .expect("attacker: RLPx handshake");
    (s, key)
}

/// A complete honest session (RLPx, Hello, Status on eth/69) to `to` over
/// `io`; from here on the attacker does as it likes.
pub async fn established<Io: AsyncRead + AsyncWrite + Unpin>(
    io: Io,
    to: PeerId,
    chain: &ChainSpec,
) -> P2PStream<Io> {
    let (s, key) = rlpx(io, to).await;
    let (mut p2p, theirs) = ethp2p_wire::handshake(
        s,
        &honest_hello(&key),
        &eth_protocols(&[EthVersion::Eth69]),
        P2PConfig::default(),
    )
    .await
    .expect("attacker: Hello");
    assert_eq!(theirs.id, to, "the remote proved another identity");
    let filter = chain.fork_filter(chain.genesis_head());
    let (v, _) = status_exchange(&mut p2p, &honest_status(chain), &filter, STEP)
        .await
        .expect("attacker: Status");
    assert_eq!(v, EthVersion::Eth69);
    p2p
}

/// A GetBlockHeaders request with `request_id`, from block 1, two headers.
pub fn headers_request(request_id: u64) -> EthMessage {
    EthMessage::GetBlockHeaders(RequestPair {
        request_id,
        message: GetBlockHeaders {
            start: BlockHashOrNumber::Number(1),
            limit: 2,
            skip: 0,
            reverse: false,
        },
    })
}

/// Queues an eth message on the attacker's stream (eth is protocol 0).
pub fn queue_eth<Io: AsyncRead + AsyncWrite + Unpin>(
    p2p: &mut P2PStream<Io>,
    msg: &EthMessage,
) -> Result<(), ethp2p_wire::P2PError> {
    let mut buf = Vec::new();
    msg.encode(&mut buf);
    p2p.send(0, msg.id().as_u8(), &buf)
}
