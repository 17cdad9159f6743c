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
