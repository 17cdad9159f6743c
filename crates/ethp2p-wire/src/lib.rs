//! The devp2p base protocol ("p2p") over an RLPx connection.
//!
//! - [`hello`]: the Hello message, accepting higher versions and extra fields (EIP-8).
//! - [`disconnect`]: Disconnect and every reason code of the spec.
//! - [`capability`]: capabilities, user-defined [`Protocol`]s and the negotiation
//!   that assigns each shared protocol its message-id range after 0x10.
//! - [`p2p`]: [`P2PStream`], the authenticated session: the Hello exchange,
//!   snappy compression (EIP-706) bounded before decompression, Ping/Pong
//!   keepalive, and the multiplexing of every shared protocol on one connection.
//!
//! # Example
//!
//! Encode a Hello as it goes on the wire (RLP, before snappy) and decode it back:
//!
//! ```rust
//! use alloy_rlp::{Decodable, Encodable};
//! use ethp2p_wire::{Capability, HelloMessage};
//!
//! let hello = HelloMessage {
//!     protocol_version: 5,
//!     client_id: "ethp2p/doc".into(),
//!     capabilities: vec![Capability::new("eth", 69), Capability::new("snap", 1)],
//!     port: 30303,
//!     id: alloy_primitives::B512::repeat_byte(7),
//! };
//! let mut wire = Vec::new();
//! hello.encode(&mut wire);
//! assert_eq!(wire.len(), hello.length());
//! assert_eq!(HelloMessage::decode(&mut wire.as_slice())?, hello);
//! # Ok::<(), alloy_rlp::Error>(())
//! ```

pub mod capability;
pub mod disconnect;
mod error;
pub mod hello;
pub mod keepalive;
pub mod p2p;
mod snappy;

pub use capability::{Capability, Protocol, SharedCapabilities, SharedCapability};
pub use disconnect::DisconnectReason;
pub use error::{IdentityMismatch, P2PError, P2PHandshakeError};
pub use hello::HelloMessage;
pub use keepalive::{Keepalive, KeepaliveAction};
pub use p2p::{handshake, handshake_unflushed, P2PConfig, P2PStream, ProtocolMessage};

/// The base protocol version we speak (snappy from version 5 on).
pub const P2P_VERSION: u64 = 5;
/// Message ids reserved for the base protocol.
pub const RESERVED_MESSAGE_IDS: u8 = 0x10;
/// Largest decompressed message the base protocol accepts (EIP-706: 16 MiB).
pub const MAX_PAYLOAD_SIZE: usize = 16 * 1024 * 1024;
/// Largest first frame (the Hello) we accept.
pub const MAX_HELLO_SIZE: usize = 2 * 1024;
