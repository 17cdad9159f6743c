//! RLPx: the encrypted, authenticated transport under every devp2p protocol.
//!
//! The crate is split into a sans-IO core and a thin tokio adapter:
//!
//! - [`ecies`]: the ECIES construction RLPx uses to encrypt the handshake
//!   messages (concat-KDF SHA-256, AES-128-CTR, HMAC-SHA256).
//! - [`handshake`]: the auth / ack exchange as plain state machines over byte
//!   buffers, for both roles. It sends EIP-8 messages and accepts both EIP-8 and
//!   the legacy (pre-EIP-8) formats.
//! - [`secrets`]: the session secrets derived from the handshake.
//! - [`codec`]: the frame codec (AES-256-CTR plus the Keccak-256 MAC
//!   construction) as a `tokio_util` [`Decoder`](tokio_util::codec::Decoder) /
//!   [`Encoder`](tokio_util::codec::Encoder).
//! - [`stream`]: the tokio adapter that runs the handshake over any
//!   `AsyncRead + AsyncWrite` under a timeout and yields a framed stream.
//! - [`key`] and [`enode`]: node identities and `enode://` records.
//!
//! This crate moves authenticated frames; it knows nothing of the protocols
//! carried inside them.
//!
//! # Example
//!
//! Parse the `enode://` URL of a geth mainnet bootnode, and one whose host is a
//! DNS name (resolved by the caller, then turned into a record):
//!
//! ```rust
//! use ethp2p_rlpx::{EnodeUrl, NodeRecord};
//!
//! let s = "enode://d860a01f9722d78051619d1e2351aba3f43f943f6f00718d1b9baa4101932a1f5011f16bb2b1bb35db20d6fe28fa0bf09636d26a87d31de9ec6203eeedb1f666@18.138.108.67:30303";
//! let record: NodeRecord = s.parse()?;
//! assert_eq!(record.tcp_addr(), "18.138.108.67:30303".parse()?);
//! assert_eq!(record.to_string(), s);
//!
//! let url: EnodeUrl =
//!     format!("enode://{}@bootnode.example.org:30303", hex::encode(record.id)).parse()?;
//! assert_eq!(url.host_name(), Some("bootnode.example.org"));
//! assert_eq!(url.with_ip("10.0.0.1".parse()?).tcp_addr(), "10.0.0.1:30303".parse()?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod codec;
pub mod ecies;
pub mod enode;
mod error;
pub mod handshake;
pub mod key;
pub mod mac;
pub mod secrets;
pub mod stream;

pub use codec::{FrameCodec, DEFAULT_MAX_FRAME_SIZE, MAX_FRAME_SIZE};
pub use enode::{EnodeHost, EnodeUrl, NodeRecord, NodeRecordParseError};
pub use error::{EciesError, FrameError, HandshakeError, RlpxError};
pub use handshake::{Initiator, Recipient};
pub use key::{
    generate_secret_key, generate_secret_key_with, node_id, peer_id_from_public_key,
    public_key_from_peer_id, NodeId, PeerId,
};
pub use secrets::Secrets;
pub use stream::{
    accept, accept_unflushed, accept_unflushed_with_rng, connect, connect_with_id,
    connect_with_rng, RlpxStream,
};

/// Re-export of the secp256k1 key types used in public signatures.
pub use secp256k1::{PublicKey, SecretKey};
