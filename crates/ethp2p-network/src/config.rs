//! What a [`NetworkManager`](crate::NetworkManager) is built from, with
//! documented defaults.

use crate::{fetch::FetchConfig, peers::PeersConfig};
use ethp2p_eth::{chain::ChainSpec, forkid::Head, snap::SnapVersion, version::EthVersion};
use ethp2p_rlpx::SecretKey;
use ethp2p_session::{admission::DEFAULT_INBOUND_THROTTLE, Dialer, SessionsConfig};
use ethp2p_wire::Protocol;
use std::{net::SocketAddr, sync::Arc, time::Duration};

/// Settings of the network: identity, chain, listener, sessions, peers.
#[derive(Clone)]
pub struct NetworkConfig {
    /// This node's secret key (its identity).
    pub secret_key: SecretKey,
    /// The chain whose peers we want (network id, genesis, forks).
    pub chain: ChainSpec,
    /// The head we announce; `None` announces the genesis block.
    pub head: Option<Head>,
    /// Where to accept TCP connections; `None` accepts none (dial only).
    /// Port 0 picks a free port.
    pub listen_addr: Option<SocketAddr>,
    /// Client id sent in Hello. Default `ethp2p/<version>`.
    pub client_id: String,
    /// eth versions to advertise. Default eth/69 down to eth/66.
    pub eth_versions: Vec<EthVersion>,
    /// Extra RLPx sub-protocols to run beside eth.
    pub extra_protocols: Vec<Protocol>,
    /// snap versions to advertise beside eth (the highest shared one runs).
    /// Default none: snap is off, as in reth. With snap on, peers' snap
    /// requests reach the message stream as `PeerMessage::SnapRequest`
    /// (answered with the chain-less answers when nobody responds), and
    /// [`NetworkHandle::send_snap_request`](crate::NetworkHandle::send_snap_request)
    /// asks peers.
    pub snap_versions: Vec<SnapVersion>,
    /// Session settings (timeouts, buffers). The pending limits are taken
    /// from `peers`; established limits are the peers manager's.
    pub sessions: SessionsConfig,
    /// Peers manager settings (slots, reputation, bans, back-off, rotation,
    /// netrestrict).
    pub peers: PeersConfig,
    /// Request routing settings.
    pub fetch: FetchConfig,
    /// Seconds a public source address waits before it may connect again
    /// (geth's inbound throttle; loopback and LAN exempt; zero disables).
    /// Default 30 s.
    pub inbound_throttle: Duration,
    /// Opens outbound connections; `None` dials TCP.
    pub dialer: Option<Arc<dyn Dialer>>,
    /// Seeds every random choice (handshakes, rotation); `None` seeds from the OS.
    pub rng_seed: Option<u64>,
    /// Network events buffered per subscriber before the slowest misses some.
    /// Default 1,024.
    pub event_buffer: usize,
    /// Peer messages buffered for the message consumer before new ones are
    /// dropped (requests among them answered empty). Default 1,024.
    pub message_buffer: usize,
}

impl std::fmt::Debug for NetworkConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetworkConfig")
            .field("chain", &self.chain.name)
            .field("listen_addr", &self.listen_addr)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl NetworkConfig {
    /// The defaults for `chain` with this identity: listens on
    /// `0.0.0.0:30303`, geth's peer limits, eth/69 to eth/66.
    pub fn new(secret_key: SecretKey, chain: ChainSpec) -> Self {
        Self {
            secret_key,
            chain,
            head: None,
            listen_addr: Some(SocketAddr::from(([0, 0, 0, 0], 30303))),
            client_id: format!("ethp2p/v{}", env!("CARGO_PKG_VERSION")),
            eth_versions: EthVersion::DEFAULT_ADVERTISED.to_vec(),
            extra_protocols: vec![],
            snap_versions: vec![],
            sessions: SessionsConfig::default(),
            peers: PeersConfig::default(),
            fetch: FetchConfig::default(),
            inbound_throttle: DEFAULT_INBOUND_THROTTLE,
            dialer: None,
            rng_seed: None,
            event_buffer: 1024,
            message_buffer: 1024,
        }
    }
}
