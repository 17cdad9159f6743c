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
