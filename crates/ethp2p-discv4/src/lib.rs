//! Ethereum node discovery, version 4 (`discv4.md`), with ENR exchange
//! (EIP-868) and the `eth` ENR entry.
//!
//! - [`packet`]: the six packet types, signing and the forward-compatible
//!   (EIP-8) decoder.
//! - [`enr`]: the local record (re-signed when the fork id changes, sequence
//!   number persisted so it never goes backwards) and the remote `eth` entry.
//! - [`endpoint`]: our external endpoint predicted from Pongs' `to` fields.
//! - [`table`]: the Kademlia table with geth's IP limits and revalidation
//!   bookkeeping.
//! - [`core`]: the sans-IO protocol engine [`Discv4`]: fed datagrams and `now`,
//!   asked for datagrams to send, events and its next deadline.
//! - [`driver`]: a tokio task running the engine over any [`UdpTransport`],
//!   with a cloneable [`Discv4Handle`]; [`memnet`]: an in-memory UDP network
//!   for simulations; [`shared`]: discv4 on a UDP port whose reads belong
//!   to discv5.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use ethp2p_discv4::{enr::{next_seq, SeqFile}, Discv4Config, Discv4Event, Discv4Params,
//!     DriverConfig, ForkIdFilter};
//! use ethp2p_eth::chain::ChainSpec;
//!
//! let spec = ChainSpec::mainnet();
//! let head = spec.genesis_head();
//! let mut seq_file = SeqFile::in_dir("/var/lib/ethp2p");
//! let socket = tokio::net::UdpSocket::bind("0.0.0.0:30303").await?;
//! let params = Discv4Params {
//!     secret_key: ethp2p_rlpx::generate_secret_key(),
//!     external_ip: Some("203.0.113.7".parse()?),
//!     udp_port: 30303,
//!     tcp_port: 30303,
//!     enr_seq: next_seq(&mut seq_file, ethp2p_discv4::unix_time_now().as_millis() as u64)?,
//!     fork_id: Some(spec.fork_id_at(head.number, head.timestamp)),
//!     filter: Box::new(ForkIdFilter { filter: spec.fork_filter(head), require_fork_id: false }),
//!     config: Discv4Config::default(),
//!     rng_seed: rand::random(),
//! };
//! let (handle, mut events, _task) =
//!     ethp2p_discv4::start(params, socket, Some(Box::new(seq_file)), DriverConfig::default())?;
//! for enode in &spec.bootnodes {
//!     handle.add_bootnode(enode.parse()?).await?;
//! }
//! while let Some(event) = events.recv().await {
//!     if let Discv4Event::NodeFound { record, fork_id, .. } = event {
//!         println!("dial candidate {record} (fork id {fork_id:?})");
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Example: decoding a packet
//!
//! The EIP-8 Ping test vector of the discv4 spec: its sender is recovered from
//! the signature, and the extra list elements are tolerated.
//!
//! ```rust
//! use ethp2p_discv4::packet::{decode, Message};
//! use ethp2p_rlpx::key::peer_id_from_secret_key;
//!
//! let datagram = hex::decode(
//!     "e9614ccfd9fc3e74360018522d30e1419a143407ffcce748de3e22116b7e8dc92ff74788c0b6663aaa3d67d64193651\
//!      1c8f8d6ad8698b820a7cf9e1be7155e9a241f556658c55428ec0563514365799a4be2be5a685a80971ddcfa80cb422cd\
//!      d0101ec04cb847f000001820cfa8215a8d790000000000000000000000000000000018208ae820d058443b9a3550102",
//! )?;
//! let packet = decode(&datagram)?;
//! let signer: ethp2p_rlpx::SecretKey =
//!     "b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291".parse()?;
//! assert_eq!(packet.node_id, peer_id_from_secret_key(&signer));
//! let Message::Ping(ping) = packet.message else { panic!("not a ping") };
//! assert_eq!(ping.version, 4);
//! assert_eq!(ping.from.ip, "127.0.0.1".parse::<std::net::IpAddr>()?);
//! assert_eq!((ping.from.udp, ping.from.tcp), (3322, 5544));
//! assert_eq!(ping.expiration, 1_136_239_445);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

pub mod core;
pub mod driver;
pub mod endpoint;
pub mod enr;
mod limits;
pub mod lookup;
pub mod memnet;
pub mod packet;
pub mod shared;
pub mod table;

pub use crate::core::{
    AcceptAll, Discv4, Discv4Config, Discv4Event, Discv4Params, Discv4Stats, ForkIdFilter,
    NodeFilter, PacketCounts, TooManyLookups,
};
pub use crate::driver::{
    spawn, start, unix_time_now, Discv4Error, Discv4Handle, DriverConfig, UdpTransport,
};
pub use crate::endpoint::{EndpointPredictor, PredictorConfig};
pub use crate::enr::{Enr, LocalEnr, SeqFile, SeqStore};
pub use crate::lookup::LookupId;
pub use crate::memnet::{MemNetwork, MemSocket};
pub use crate::shared::{FrameSender, SharedSocket};
