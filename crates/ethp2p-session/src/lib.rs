//! The session manager: owns every peer connection from the first TCP byte to
//! the last Disconnect.
//!
//! - [`SessionManager`]: accepts and dials, runs each pending session
//!   (ECIES → Hello → Status) in its own task under one timeout, turns
//!   authenticated connections into active sessions, and reports everything
//!   through one stream of [`SessionEvent`]s.
//! - Active sessions (one task per peer) number their own requests, track
//!   them with adaptive deadlines, forward the remote's messages with
//!   back-pressure, and always report how they ended.
//! - [`SessionCounter`] keeps pending and active counts per direction against
//!   [`SessionLimits`]; each increment has exactly one decrement.
//!
//! # Example
//!
//! The inbound throttle (geth's): a public address that connected less than the
//! window ago is refused; loopback and LAN addresses are exempt. Sans-IO: the
//! caller passes `now`.
//!
//! ```rust
//! use ethp2p_session::{is_lan, InboundThrottle};
//! use std::{net::IpAddr, time::Duration};
//! use tokio::time::Instant;
//!
//! let mut throttle = InboundThrottle::new(Duration::from_secs(30));
//! let public: IpAddr = "203.0.113.9".parse().unwrap();
//! let lan: IpAddr = "192.168.1.20".parse().unwrap();
//! let t0 = Instant::now();
//! assert!(throttle.admit(public, t0));
//! assert!(!throttle.admit(public, t0 + Duration::from_secs(10)));
//! assert!(throttle.admit(public, t0 + Duration::from_secs(31)));
//! assert!(is_lan(lan) && throttle.admit(lan, t0) && throttle.admit(lan, t0));
//! ```

mod active;
pub mod admission;
pub mod config;
pub mod counter;
pub mod error;
pub mod handle;
pub mod layout;
mod manager;
mod metrics;
mod pending;
mod requests;
pub mod transport;
mod write_stall;

pub use admission::{is_lan, InboundThrottle, DEFAULT_INBOUND_THROTTLE};
pub use config::{SessionLimits, SessionsConfig};
pub use counter::{SessionCounter, SessionCounts};
pub use error::{
    ActiveSessionError, ExceedsSessionLimit, PendingSessionError, RequestError, SendError,
};
pub use handle::{
    ActiveSessionHandle, Direction, EthResponder, PeerInfo, PeerMessage, SessionId, SnapResponder,
};
pub use layout::{ConnectionLayout, Route, SnapSlot};
pub use manager::{
    SessionEvent, SessionManager, SessionManagerParams, Spawner, MAX_CONCURRENT_GOODBYES,
};
pub use transport::{BoxedTransport, DialedStream, Dialer, TcpDialer, Transport};
