//! Ethereum node discovery, version 4 (`discv4.md`), with ENR exchange
//! (EIP-868) and the `eth` ENR entry.
//!
//! - [`packet`]: the six packet types, signing and the forward-compatible
//!   (EIP-8) decoder.
//! - [`enr`]: the local record (re-signed when the fork id changes, sequence
//!   number persisted so it never goes backwards) and the remote `eth` entry.
//! - [`table`]: the Kademlia table with geth's IP limits and revalidation
//!   bookkeeping.
//! - [`core`]: the sans-IO protocol engine [`Discv4`]: fed datagrams and `now`,
//!   asked for datagrams to send, events and its next deadline.
//! - [`driver`]: a tokio task running the engine over any [`UdpTransport`],
//!   with a cloneable [`Discv4Handle`]; [`memnet`]: an in-memory UDP network
//!   for simulations; [`shared`]: discv4 on a UDP port whose reads belong
//!   to discv5.
#![warn(missing_docs)]

pub mod core;
pub mod driver;
pub mod enr;
mod limits;
pub mod lookup;
pub mod memnet;
pub mod packet;
pub mod shared;
pub mod table;

pub use crate::core::{
    AcceptAll, Discv4, Discv4Config, Discv4Event, Discv4Params, ForkIdFilter, NodeFilter,
    TooManyLookups,
};
pub use crate::driver::{spawn, Discv4Error, Discv4Handle, DriverConfig, UdpTransport};
pub use crate::enr::{Enr, LocalEnr, SeqFile, SeqStore};
pub use crate::lookup::LookupId;
pub use crate::memnet::{MemNetwork, MemSocket};
pub use crate::shared::{FrameSender, SharedSocket};
