//! Network policy above the session manager, as sans-IO cores.
//!
//! - [`peers`]: the [`PeersManager`](peers::PeersManager): known peers and
//!   their kinds, reputation, bans, back-off, inbound admission, outbound
//!   slots, dialing and rotation.
//! - [`fetch`]: the [`FetchRouter`](fetch::FetchRouter): routes header, body
//!   and receipt requests to the best idle capable peer and checks the
//!   answers' structure.
//!
//! Neither opens a socket, spawns a task or reads a clock: they are fed
//! events and `now` (`tokio::time::Instant`) and asked for actions and their
//! next deadline. The network manager drives them.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod fetch;
pub mod peers;
