//! The network layer above the session manager.
//!
//! - [`peers`]: the [`PeersManager`](peers::PeersManager): known peers and
//!   their kinds, reputation, bans, back-off, inbound admission, outbound
//!   slots, dialing and rotation.
//! - [`fetch`]: the [`FetchRouter`](fetch::FetchRouter): routes header, body
//!   and receipt requests to the best idle capable peer and checks the
//!   answers' structure.
//! - [`head`]: the [`HeadFollower`](head::HeadFollower): the head a
//!   chain-less node announces, following the highest head a quorum of its
//!   peers announced.
//! - [`transactions`]: transaction gossip — decoding pooled and broadcast
//!   transactions, validating announcements per eth version, the sans-IO
//!   transaction fetcher, full-body / hash propagation, and the first-seen
//!   record a mempool listener streams.
//!
//! - [`NetworkManager`] drives them over the session manager: it accepts
//!   and dials, maps session events to reputation, routes requests, and
//!   hands embedders a cloneable [`NetworkHandle`], a stream of
//!   [`NetworkEvent`]s and one stream of peer messages.
//!
//! The cores open no socket, spawn no task and read no clock: they are fed
//! events and `now` (`tokio::time::Instant`) and asked for actions and their
//! next deadline. The network manager drives them.
//!
//! # Example
//!
//! A network that only dials (no listener), asked for its peers through the
//! handle, then shut down; and the head a chain-less node follows:
//!
//! ```rust
//! use ethp2p_eth::chain::ChainSpec;
//! use ethp2p_network::{head::HeadFollower, NetworkConfig, NetworkManager};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let chain = ChainSpec::sepolia();
//! let mut config = NetworkConfig::new(ethp2p_rlpx::generate_secret_key(), chain.clone());
//! config.listen_addr = None;
//! let manager = NetworkManager::new(config).await?;
//! let handle = manager.handle();
//! tokio::spawn(manager.run());
//! assert!(handle.peers().await?.is_empty());
//! handle.shutdown().await?;
//!
//! // Two peers must reach a block before it is announced (one, if alone).
//! let mut head = HeadFollower::new(chain.genesis_head(), 2);
//! let (a, b) = (ethp2p_rlpx::PeerId::repeat_byte(1), ethp2p_rlpx::PeerId::repeat_byte(2));
//! let tip = alloy_primitives::B256::repeat_byte(9);
//! assert_eq!(head.on_peer_head(a, 100, tip, 1_700_000_000).map(|h| h.number), Some(100));
//! assert_eq!(head.on_peer_head(b, 5_000, tip, 1_700_000_012), None);
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod config;
mod event;
pub mod failure;
pub mod fetch;
mod handle;
pub mod head;
mod manager;
pub mod peers;
pub mod transactions;
mod transport_io;

pub use config::NetworkConfig;
pub use event::{IncomingMessage, NetworkEvent};
pub use handle::{
    FetchClient, FetchClientError, Fetched, NetworkHandle, NetworkShutDown, PeerSummary,
};
pub use manager::{NetworkError, NetworkManager};
pub use transport_io::IncomingStream;
