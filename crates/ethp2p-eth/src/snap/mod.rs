//! The `snap` protocol (snap/1 and snap/2, EIP-8189): message ids, typed
//! payloads, a bounded decoder with version gating, and the answers a node
//! without state serves.
//!
//! ```text
//! SnapMessage::decode(version, id, payload)   id relative to the snap offset
//!   ├─ payload above 10 MiB                → SnapMessageError::MessageTooLarge
//!   ├─ unknown id (0x0a and above)         → SnapMessageError::UnknownMessageId
//!   ├─ id not in this version              → SnapMessageError::NotAllowedInVersion
//!   │    (GetTrieNodes/TrieNodes on snap/2, GetBlockAccessLists/BlockAccessLists on snap/1)
//!   ├─ malformed RLP / wrong shape         → SnapMessageError::Rlp { message, .. }
//!   ├─ list above its bound (see limits)   → SnapMessageError::ListTooLong
//!   └─ bytes after the message             → SnapMessageError::TrailingBytes
//! ```
//!
//! Decoding never panics, whatever the input; everything it accepts
//! re-encodes to exactly the bytes it was given.
#![warn(missing_docs)]

pub mod chainless;
pub mod ids;
pub mod limits;
pub mod messages;
pub mod version;

#[cfg(test)]
mod tests;

use alloy_rlp::{BufMut, Encodable};
use bytes::Bytes;
use ethp2p_wire::Protocol;

pub use chainless::chainless_response;
pub use ids::{SnapMessageId, UnknownSnapMessageId};
pub use messages::{
    AccountData, AccountRange, BlockAccessLists, ByteCodes, GetAccountRange, GetBlockAccessLists,
    GetByteCodes, GetStorageRanges, GetTrieNodes, StorageData, StorageRanges, TrieNodes,
    UNAVAILABLE_BAL,
};
pub use version::{SnapVersion, UnknownSnapVersion};

use self::limits::{
    MAX_BAL_LOOKUPS, MAX_CODE_LOOKUPS, MAX_MESSAGE_SIZE, MAX_PROOF_NODES, MAX_RANGE_ITEMS,
    MAX_STORAGE_ACCOUNTS, MAX_STORAGE_HASH_LEN, MAX_TRIE_NODE_LOOKUPS,
};
use crate::message::{raw::Decoder, request::decode_pair, EthMessageError, RequestPair};

/// The snap protocol's name in Hello.
pub const SNAP: &str = "snap";

/// One [`Protocol`] per snap version, with that version's message count.
pub fn snap_protocols(versions: &[SnapVersion]) -> Vec<Protocol> {
    versions
        .iter()
        .map(|v| Protocol::new(SNAP, u32::from(v.as_u8()), v.message_count()))
        .collect()
}

/// Why a `snap` message could not be decoded (or may not be sent in a version).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SnapMessageError {
    /// The id names no `snap` message.
    #[error("unknown snap message id {0:#04x}")]
    UnknownMessageId(u8),
    /// The message exists, but not in the negotiated version.
    #[error("{id} is not allowed in {version}")]
    NotAllowedInVersion {
        /// The message.
        id: SnapMessageId,
        /// The negotiated version.
        version: SnapVersion,
    },
    /// The payload is larger than [`limits::MAX_MESSAGE_SIZE`].
    #[error("snap message of {size} bytes exceeds the {max}-byte limit")]
    MessageTooLarge {
        /// The payload size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The payload is not valid RLP of the message's shape.
    #[error("invalid {message} message: {source}")]
    Rlp {
        /// The message name.
        message: &'static str,
        /// What the RLP decoder found.
        #[source]
        source: alloy_rlp::Error,
    },
    /// Bytes follow the message's top-level RLP item.
    #[error("{len} trailing bytes after {message} message")]
    TrailingBytes {
        /// The message name.
        message: &'static str,
        /// How many bytes follow.
        len: usize,
    },
    /// A list is longer than its bound (see [`limits`]).
    #[error("{message} message has a list of more than {max} items")]
    ListTooLong {
        /// The message name.
        message: &'static str,
        /// The bound.
        max: usize,
    },
}

impl SnapMessageError {
    /// Maps what the shared eth decoder reports (only its RLP, bound and
    /// trailing-bytes errors can occur here).
    fn from_decoder(e: EthMessageError, message: &'static str) -> Self {
        match e {
            EthMessageError::Rlp { message, source } => Self::Rlp { message, source },
            EthMessageError::TrailingBytes { message, len } => Self::TrailingBytes { message, len },
            EthMessageError::ListTooLong { message, max } => Self::ListTooLong { message, max },
            _ => Self::Rlp {
                message,
                source: alloy_rlp::Error::Custom("malformed message"),
            },
        }
    }
}

/// One `snap` message of either version, with its request id.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SnapMessage {
    /// `GetAccountRange` (0x00).
    GetAccountRange(RequestPair<GetAccountRange>),
    /// `AccountRange` (0x01).
    AccountRange(RequestPair<AccountRange>),
    /// `GetStorageRanges` (0x02).
    GetStorageRanges(RequestPair<GetStorageRanges>),
    /// `StorageRanges` (0x03).
    StorageRanges(RequestPair<StorageRanges>),
    /// `GetByteCodes` (0x04).
    GetByteCodes(RequestPair<GetByteCodes>),
    /// `ByteCodes` (0x05).
    ByteCodes(RequestPair<ByteCodes>),
    /// `GetTrieNodes` (0x06), snap/1 only.
    GetTrieNodes(RequestPair<GetTrieNodes>),
    /// `TrieNodes` (0x07), snap/1 only.
    TrieNodes(RequestPair<TrieNodes>),
    /// `GetBlockAccessLists` (0x08), snap/2 on.
    GetBlockAccessLists(RequestPair<GetBlockAccessLists>),
    /// `BlockAccessLists` (0x09), snap/2 on.
    BlockAccessLists(RequestPair<BlockAccessLists>),
}

/// Applies `$f` to the `RequestPair` inside any variant.
macro_rules! each_pair {
    ($self:expr, $p:ident => $f:expr) => {
        match $self {
            SnapMessage::GetAccountRange($p) => $f,
            SnapMessage::AccountRange($p) => $f,
            SnapMessage::GetStorageRanges($p) => $f,
            SnapMessage::StorageRanges($p) => $f,
            SnapMessage::GetByteCodes($p) => $f,
            SnapMessage::ByteCodes($p) => $f,
            SnapMessage::GetTrieNodes($p) => $f,
            SnapMessage::TrieNodes($p) => $f,
            SnapMessage::GetBlockAccessLists($p) => $f,
            SnapMessage::BlockAccessLists($p) => $f,
        }
    };
}

impl SnapMessage {
    /// Decodes a message received on a connection that negotiated `version`.
    /// `id` is relative to the snap offset. Byte strings are copied out of
    /// `payload`; use [`decode_bytes`](Self::decode_bytes) to share it.
    pub fn decode(version: SnapVersion, id: u8, payload: &[u8]) -> Result<Self, SnapMessageError> {
        let id = check(version, id, payload.len())?;
        let mut d = Decoder::from_slice(payload, id.name());
        Self::decode_with(id, &mut d)
    }

    /// Like [`decode`](Self::decode), but byte strings and raw entries are
    /// slices of `payload`, not copies.
    pub fn decode_bytes(
        version: SnapVersion,
        id: u8,
        payload: Bytes,
    ) -> Result<Self, SnapMessageError> {
        let id = check(version, id, payload.len())?;
        let mut d = Decoder::from_bytes(&payload, id.name());
        Self::decode_with(id, &mut d)
    }

    fn decode_with(id: SnapMessageId, d: &mut Decoder<'_>) -> Result<Self, SnapMessageError> {
        let message = Self::decode_from(id, d)
            .and_then(|m| d.finish_message().map(|()| m))
            .map_err(|e| SnapMessageError::from_decoder(e, id.name()))?;
        Ok(message)
    }

    fn decode_from(id: SnapMessageId, d: &mut Decoder<'_>) -> Result<Self, EthMessageError> {
        use SnapMessageId as Id;
        Ok(match id {
            Id::GetAccountRange => {
                Self::GetAccountRange(decode_pair(d, GetAccountRange::decode_fields)?)
            }
            Id::AccountRange => Self::AccountRange(decode_pair(d, AccountRange::decode_fields)?),
            Id::GetStorageRanges => {
                Self::GetStorageRanges(decode_pair(d, GetStorageRanges::decode_fields)?)
            }
            Id::StorageRanges => Self::StorageRanges(decode_pair(d, StorageRanges::decode_fields)?),
            Id::GetByteCodes => Self::GetByteCodes(decode_pair(d, GetByteCodes::decode_fields)?),
            Id::ByteCodes => Self::ByteCodes(decode_pair(d, ByteCodes::decode_fields)?),
            Id::GetTrieNodes => Self::GetTrieNodes(decode_pair(d, GetTrieNodes::decode_fields)?),
            Id::TrieNodes => Self::TrieNodes(decode_pair(d, TrieNodes::decode_fields)?),
            Id::GetBlockAccessLists => {
                Self::GetBlockAccessLists(decode_pair(d, GetBlockAccessLists::decode_fields)?)
            }
            Id::BlockAccessLists => {
                Self::BlockAccessLists(decode_pair(d, BlockAccessLists::decode_fields)?)
            }
        })
    }

    /// The message id.
    pub const fn id(&self) -> SnapMessageId {
        match self {
            Self::GetAccountRange(_) => SnapMessageId::GetAccountRange,
            Self::AccountRange(_) => SnapMessageId::AccountRange,
            Self::GetStorageRanges(_) => SnapMessageId::GetStorageRanges,
            Self::StorageRanges(_) => SnapMessageId::StorageRanges,
            Self::GetByteCodes(_) => SnapMessageId::GetByteCodes,
            Self::ByteCodes(_) => SnapMessageId::ByteCodes,
            Self::GetTrieNodes(_) => SnapMessageId::GetTrieNodes,
            Self::TrieNodes(_) => SnapMessageId::TrieNodes,
            Self::GetBlockAccessLists(_) => SnapMessageId::GetBlockAccessLists,
            Self::BlockAccessLists(_) => SnapMessageId::BlockAccessLists,
        }
    }

    /// The request id (every snap message carries one).
    pub fn request_id(&self) -> u64 {
        each_pair!(self, p => p.request_id)
    }

    /// Sets the request id.
    pub fn set_request_id(&mut self, id: u64) {
        each_pair!(self, p => p.request_id = id)
    }

    /// Whether this is a request.
    pub const fn is_request(&self) -> bool {
        self.id().is_request()
    }

    /// Whether this is a response.
    pub const fn is_response(&self) -> bool {
        self.id().is_response()
    }

    /// Checks, before sending, that the message exists in `version` and that
    /// its lists respect the same bounds the decoder enforces (see [`limits`]).
    pub fn validate_for(&self, version: SnapVersion) -> Result<(), SnapMessageError> {
        let id = self.id();
        if !id.is_valid_for(version) {
            return Err(SnapMessageError::NotAllowedInVersion { id, version });
        }
        let bound = |len: usize, max: usize| {
            if len > max {
                Err(SnapMessageError::ListTooLong {
                    message: id.name(),
                    max,
                })
            } else {
                Ok(())
            }
        };
        let short = |hash: &Bytes| {
            if hash.len() > MAX_STORAGE_HASH_LEN {
                Err(SnapMessageError::Rlp {
                    message: id.name(),
                    source: alloy_rlp::Error::Custom("storage hash longer than 32 bytes"),
                })
            } else {
                Ok(())
            }
        };
        match self {
            Self::GetAccountRange(_) => Ok(()),
            Self::AccountRange(p) => {
                bound(p.message.accounts.len(), MAX_RANGE_ITEMS)?;
                bound(p.message.proof.len(), MAX_PROOF_NODES)
            }
            Self::GetStorageRanges(p) => {
                bound(p.message.account_hashes.len(), MAX_STORAGE_ACCOUNTS)?;
                short(&p.message.starting_hash)?;
                short(&p.message.limit_hash)
            }
            Self::StorageRanges(p) => {
                bound(p.message.slots.len(), MAX_STORAGE_ACCOUNTS)?;
                bound(p.message.slot_count(), MAX_RANGE_ITEMS)?;
                bound(p.message.proof.len(), MAX_PROOF_NODES)
            }
            Self::GetByteCodes(p) => bound(p.message.hashes.len(), MAX_CODE_LOOKUPS),
            Self::ByteCodes(p) => bound(p.message.codes.len(), MAX_CODE_LOOKUPS),
            Self::GetTrieNodes(p) => bound(p.message.path_count(), MAX_TRIE_NODE_LOOKUPS),
            Self::TrieNodes(p) => bound(p.message.nodes.len(), MAX_TRIE_NODE_LOOKUPS),
            Self::GetBlockAccessLists(p) => bound(p.message.hashes.len(), MAX_BAL_LOOKUPS),
            Self::BlockAccessLists(p) => bound(p.message.len(), MAX_BAL_LOOKUPS),
        }?;
        let size = self.length();
        if size > MAX_MESSAGE_SIZE {
            return Err(SnapMessageError::MessageTooLarge {
                size,
                max: MAX_MESSAGE_SIZE,
            });
        }
        Ok(())
    }

    fn pair(&self) -> &dyn Encodable {
        each_pair!(self, p => p as &dyn Encodable)
    }

    /// Writes the RLP payload (without the message id) to `out`.
    pub fn encode(&self, out: &mut dyn BufMut) {
        self.pair().encode(out);
    }

    /// Length of the RLP payload [`encode`](Self::encode) writes.
    pub fn length(&self) -> usize {
        self.pair().length()
    }

    /// The RLP payload as a new buffer.
    pub fn encoded(&self) -> Bytes {
        let mut out = Vec::with_capacity(self.length());
        self.encode(&mut out);
        Bytes::from(out)
    }
}

/// Checks the size and the id before decoding.
fn check(version: SnapVersion, id: u8, size: usize) -> Result<SnapMessageId, SnapMessageError> {
    if size > MAX_MESSAGE_SIZE {
        return Err(SnapMessageError::MessageTooLarge {
            size,
            max: MAX_MESSAGE_SIZE,
        });
    }
    let id = SnapMessageId::try_from(id)
        .map_err(|UnknownSnapMessageId(id)| SnapMessageError::UnknownMessageId(id))?;
    if !id.is_valid_for(version) {
        return Err(SnapMessageError::NotAllowedInVersion { id, version });
    }
    Ok(id)
}
