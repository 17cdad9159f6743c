//! The eth wire protocol: message types for eth/66 through eth/72, the Status
//! handshake rules, fork identifiers (EIP-2124) and chain presets.
//!
//! # Example
//!
//! Mainnet's fork identifiers (EIP-2124's own test vectors) and the Status a
//! node at genesis offers:
//!
//! ```rust
//! use ethp2p_eth::{chain::ChainSpec, forkid::ForkHash};
//!
//! let mainnet = ChainSpec::mainnet();
//! let at_genesis = mainnet.fork_id_at(0, 0);
//! assert_eq!(at_genesis.hash, ForkHash([0xfc, 0x64, 0xec, 0x04]));
//! assert_eq!(at_genesis.next, 1_150_000);
//! let homestead = mainnet.fork_id_at(1_150_000, 0);
//! assert_eq!(homestead.hash, ForkHash([0x97, 0xc2, 0xc3, 0x4c]));
//! assert_eq!(homestead.next, 1_920_000);
//!
//! let status = mainnet.status(&mainnet.genesis_head());
//! assert_eq!(status.network_id, 1);
//! assert_eq!(status.genesis, mainnet.genesis_hash);
//! ```

pub mod chain;
pub mod exchange;
pub mod forkid;
pub mod genesis;
pub mod handshake;
pub mod message;
pub mod snap;
pub mod status;
pub mod version;
