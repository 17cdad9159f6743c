//! Transaction gossip.
//!
//! - [`decode`]: transactions in their broadcast, pooled and canonical forms,
//!   bounded, with hash, type and size.
//! - [`announce`]: `NewPooledTransactionHashes` checked against the negotiated
//!   version.

pub mod announce;
pub mod decode;
mod hashing;
