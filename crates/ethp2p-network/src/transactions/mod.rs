//! Transaction gossip.

pub mod decode;
