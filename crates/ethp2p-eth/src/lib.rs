//! The eth wire protocol: message types for eth/66 through eth/72, the Status
//! handshake rules, fork identifiers (EIP-2124) and chain presets.

pub mod chain;
pub mod exchange;
pub mod forkid;
pub mod genesis;
pub mod handshake;
pub mod message;
pub mod snap;
pub mod status;
pub mod version;
