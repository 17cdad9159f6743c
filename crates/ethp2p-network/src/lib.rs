//! Above the session manager: the network layer.
//!
//! - [`transactions`]: transaction gossip — decoding pooled and broadcast
//!   transactions, validating announcements per eth version, the sans-IO
//!   transaction fetcher, full-body / hash propagation, and the first-seen
//!   record a mempool listener streams.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod transactions;
