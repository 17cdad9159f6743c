//! EIP-1459 DNS node lists.
//!
//! A node list is a Merkle tree of TXT records under a DNS name, its root
//! signed by a key the client knows from the list's `enrtree://<key>@<domain>`
//! URL. This crate reads such lists:
//!
//! - [`tree`]: the four record kinds, parsed and encoded under hard bounds,
//!   the root signature and subdomain hash checks;
//! - [`sync`]: the sans-IO client ([`DnsSync`]): which names to resolve next,
//!   what their answers mean, when to look again;
//! - [`resolver`]: the [`TxtResolver`] trait and its `hickory-resolver`
//!   implementation ([`HickoryResolver`]);
//! - [`driver`]: the tokio task that runs the sync over a resolver and sends
//!   node records through a bounded channel ([`spawn`]);
//! - [`presets`]: the public trees of mainnet, sepolia, holesky and hoodi;
//! - [`zone`]: building and signing a tree (publishing, tests).
//!
//! # Example
//!
//! Parse the example root of EIP-1459 and check its signature with the key
//! of the tree's `enrtree://` URL:
//!
//! ```rust
//! use ethp2p_dnsdisc::{parse_entry, Entry, LinkEntry};
//!
//! let text = "enrtree-root:v1 e=JWXYDBPXYWG6FX3GMDIBFA6CJ4 l=C7HRFPF3BLGF3YR4DY5KX3SMBE seq=1 sig=o908WmNp7LibOfPsr4btQwatZJ5URBr2ZAuxvK4UWHlsB9sUOTJQaGAlLPVAhM__XJesCHxLISo94z5Z2a463gA";
//! let Entry::Root(root) = parse_entry(text)? else { panic!("not a root") };
//! assert_eq!(root.seq, 1);
//! let url: LinkEntry =
//!     "enrtree://AKPYQIUQIL7PSIACI32J7FGZW56E5FKHEFCCOFHILBIMW3M6LWXS2@nodes.example.org".parse()?;
//! root.verify(&url.public_key)?;
//! assert_eq!(url.domain, "nodes.example.org");
//! # Ok::<(), ethp2p_dnsdisc::EntryError>(())
//! ```
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod driver;
pub mod presets;
pub mod resolver;
pub mod sync;
pub mod tree;
pub mod zone;

use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6};

pub use enr;
use enr::EnrPublicKey;

pub use driver::{spawn, DnsDiscoveryHandle, DriverConfig};
pub use presets::{chain_tree, chain_tree_url, CHAINS, ETHDISCO_KEY};
pub use resolver::{HickoryResolver, TxtResolver};
pub use sync::{DnsSync, LookupError, Query, QueryId, Subtree, SyncConfig, SyncError, SyncEvent};
pub use tree::{
    parse_entry, parse_entry_checked, Entry, EntryError, EntryHash, LinkEntry, RootEntry,
};
pub use zone::Zone;

/// A node record with the "v4" identity scheme, as decoded by the `enr` crate
/// (its k256 backend; see [`DnsNode::public_key`] for a `secp256k1` key).
pub type Enr = enr::Enr<enr::k256::ecdsa::SigningKey>;

/// A node found in a tree.
#[derive(Debug, Clone)]
pub struct DnsNode {
    /// Domain of the tree that listed it.
    pub tree: String,
    /// Its record (signature verified).
    pub enr: Enr,
}

impl DnsNode {
    /// Wraps a record found in `tree`.
    pub fn new(tree: String, enr: Enr) -> Self {
        Self { tree, enr }
    }

    /// The node's public key as a `secp256k1` (0.31) key, the type the RLPx
    /// layer uses.
    pub fn public_key(&self) -> Option<secp256k1::PublicKey> {
        enr_public_key(&self.enr)
    }

    /// The node's RLPx address: `ip`+`tcp`, else `ip6`+`tcp6` (or `tcp`).
    /// `None` for records that announce no TCP endpoint.
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        if let Some(v4) = self.enr.tcp4_socket() {
            return Some(SocketAddr::V4(v4));
        }
        let ip6 = self.enr.ip6()?;
        let port = self.enr.tcp6().or_else(|| self.enr.tcp4())?;
        Some(SocketAddr::V6(SocketAddrV6::new(ip6, port, 0, 0)))
    }

    /// The node's discovery address: `ip`+`udp`, else `ip6`+`udp6`.
    pub fn udp_addr(&self) -> Option<SocketAddr> {
        if let Some(v4) = self.enr.udp4_socket() {
            return Some(SocketAddr::V4(SocketAddrV4::new(*v4.ip(), v4.port())));
        }
        self.enr.udp6_socket().map(SocketAddr::V6)
    }
}

/// Converts a decoded record's key to the `secp256k1` type (`None` only if
/// the two libraries disagree on the point, which valid SEC1 keys never do).
pub fn enr_public_key(enr: &Enr) -> Option<secp256k1::PublicKey> {
    secp256k1::PublicKey::from_slice(enr.public_key().encode().as_ref()).ok()
}
