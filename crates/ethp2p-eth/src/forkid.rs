//! Fork identifiers (EIP-2124) and the fork filter that validates a remote's.

use alloy_rlp::{RlpDecodable, RlpEncodable, RlpDecodableWrapper, RlpEncodableWrapper};

/// CRC32 checksum of the genesis hash and the fork blocks/timestamps passed so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, RlpEncodableWrapper, RlpDecodableWrapper)]
pub struct ForkHash(pub [u8; 4]);

/// The EIP-2124 fork identifier: `[hash, next]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, RlpEncodable, RlpDecodable)]
pub struct ForkId {
    /// Checksum of the genesis and the forks passed.
    pub hash: ForkHash,
    /// Block number or timestamp of the next fork, 0 if none is known.
    pub next: u64,
}
