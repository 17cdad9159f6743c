//! `eth` wire messages (eth/66 through eth/72): ids, typed payloads where the
//! session layer needs their fields, raw validated lists where it does not,
//! and one decoder that enforces the version rules and bounds every list.
//!
//! ```text
//! EthMessage::decode(version, id, payload)   id relative to the eth offset
//!   ├─ unknown id                          → EthMessageError::UnknownMessageId
//!   ├─ id not in this version              → EthMessageError::NotAllowedInVersion
//!   ├─ malformed RLP / wrong shape          → EthMessageError::Rlp { message, .. }
//!   ├─ list above its bound (see limits)    → EthMessageError::ListTooLong
//!   ├─ bytes after the message              → EthMessageError::TrailingBytes
//!   ├─ bad BlockRangeUpdate                 → EthMessageError::InvalidBlockRange
//!   └─ types/sizes/hashes lengths differ    → EthMessageError::MismatchedAnnouncementLengths
//! ```
//!
//! Decoding never panics, whatever the input.

pub mod announce;
pub mod ids;
pub mod limits;
pub mod pairing;
pub mod raw;
pub mod request;

#[cfg(test)]
mod tests;

use alloy_primitives::B256;
use alloy_rlp::{BufMut, Encodable};
use bytes::Bytes;

pub use announce::{
    BlockHashNumber, BlockRangeError, BlockRangeUpdate, NewBlockHashes, NewPooledTransactionHashes,
    NewPooledTransactionHashes68, NewPooledTransactionHashes72,
};
pub use ids::{EthMessageId, UnknownMessageId};
pub use raw::{RawList, RawListIter};
pub use request::{
    BlockHashOrNumber, CellMask, Cells, GetBlockHeaders, GetCells, GetReceipts70, Receipts70,
    RequestPair, RequestPayload, CELLS_PER_EXT_BLOB,
};

use self::{
    limits::{
        MAX_BLOCK_REQUEST_HASHES, MAX_BLOCK_RESPONSE_ITEMS, MAX_NEW_BLOCK_HASHES,
        MAX_POOLED_TX_REQUEST_HASHES, MAX_TRANSACTIONS,
    },
    raw::Decoder,
    request::decode_pair,
};
use crate::{status::Status, version::EthVersion};

/// Why an `eth` message could not be decoded (or may not be sent in a version).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EthMessageError {
    /// The id names no `eth` message.
    #[error("unknown eth message id {0:#04x}")]
    UnknownMessageId(u8),
    /// The message exists, but not in the negotiated version.
    #[error("{id} is not allowed in {version}")]
    NotAllowedInVersion {
        /// The message.
        id: EthMessageId,
        /// The negotiated version.
        version: EthVersion,
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
    /// A `BlockRangeUpdate` with `earliest > latest` or a zero hash.
    #[error("invalid BlockRangeUpdate: {0}")]
    InvalidBlockRange(#[source] BlockRangeError),
    /// An eth/68+ `NewPooledTransactionHashes` whose lists differ in length.
    #[error(
        "NewPooledTransactionHashes lengths differ: {types} types, {sizes} sizes, {hashes} hashes"
    )]
    MismatchedAnnouncementLengths {
        /// Number of types.
        types: usize,
        /// Number of sizes.
        sizes: usize,
        /// Number of hashes.
        hashes: usize,
    },
    /// The message has the shape of another version than the given one (for
    /// example an eth/68 announcement on an eth/72 connection). Only
    /// [`EthMessage::validate_for`] reports this; decoding always produces the
    /// shape of the version it is given.
    #[error("{message} has the wrong shape for {version}")]
    WrongShapeForVersion {
        /// The message name.
        message: &'static str,
        /// The version checked against.
        version: EthVersion,
    },
}

/// One `eth` message, of any version.
///
/// Requests and responses carry their request id in a [`RequestPair`].
/// Payloads the session layer never inspects are [`RawList`]s: validated and
/// counted on decode, written back verbatim on encode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EthMessage {
    /// `Status` (0x00), in the format of its `version` field.
    Status(Status),
    /// `NewBlockHashes` (0x01), eth/66–68.
    NewBlockHashes(NewBlockHashes),
    /// `Transactions` (0x02): `[tx₁, tx₂, ...]`.
    Transactions(RawList),
    /// `GetBlockHeaders` (0x03).
    GetBlockHeaders(RequestPair<GetBlockHeaders>),
    /// `BlockHeaders` (0x04): `[header₁, ...]`.
    BlockHeaders(RequestPair<RawList>),
    /// `GetBlockBodies` (0x05): block hashes.
    GetBlockBodies(RequestPair<Vec<B256>>),
    /// `BlockBodies` (0x06): `[block-body₁, ...]`.
    BlockBodies(RequestPair<RawList>),
    /// `NewBlock` (0x07), eth/66–68: `[block, td]`, exactly two items, kept raw.
    NewBlock(RawList),
    /// `NewPooledTransactionHashes` (0x08), in the shape of its version.
    NewPooledTransactionHashes(NewPooledTransactionHashes),
    /// `GetPooledTransactions` (0x09): transaction hashes.
    GetPooledTransactions(RequestPair<Vec<B256>>),
    /// `PooledTransactions` (0x0a): `[tx₁, ...]`.
    PooledTransactions(RequestPair<RawList>),
    /// `GetNodeData` (0x0d), eth/66 only: state node hashes.
    GetNodeData(RequestPair<Vec<B256>>),
    /// `NodeData` (0x0e), eth/66 only: `[value₁, ...]`.
    NodeData(RequestPair<RawList>),
    /// `GetReceipts` (0x0f), eth/66–69: block hashes.
    GetReceipts(RequestPair<Vec<B256>>),
    /// `GetReceipts` (0x0f), eth/70+: with the first block's receipt index.
    GetReceipts70(RequestPair<GetReceipts70>),
    /// `Receipts` (0x10), eth/66–69: `[[receipt₁, ...], ...]` (with blooms before eth/69).
    Receipts(RequestPair<RawList>),
    /// `Receipts` (0x10), eth/70+: with the `lastBlockIncomplete` flag.
    Receipts70(RequestPair<Receipts70>),
    /// `BlockRangeUpdate` (0x11), eth/69+.
    BlockRangeUpdate(BlockRangeUpdate),
    /// `GetBlockAccessLists` (0x12), eth/71+: block hashes.
    GetBlockAccessLists(RequestPair<Vec<B256>>),
    /// `BlockAccessLists` (0x13), eth/71+: one BAL per requested block
    /// (an unavailable one is an empty entry), kept raw.
    BlockAccessLists(RequestPair<RawList>),
    /// `GetCells` (0x14), eth/72+.
    GetCells(RequestPair<GetCells>),
    /// `Cells` (0x15), eth/72+.
    Cells(RequestPair<Cells>),
}

impl EthMessage {
    /// Decodes a message received on a connection that negotiated `version`.
    ///
    /// `id` is relative to the eth offset (0x00 = Status). Raw payloads are
    /// copied out of `payload`; use [`decode_bytes`](Self::decode_bytes) to
    /// share the buffer instead.
    pub fn decode(version: EthVersion, id: u8, payload: &[u8]) -> Result<Self, EthMessageError> {
        let id = check_id(version, id)?;
        let mut d = Decoder::from_slice(payload, id.name());
        let message = Self::decode_from(version, id, &mut d)?;
        d.finish_message()?;
        Ok(message)
    }

    /// Like [`decode`](Self::decode), but raw payloads ([`RawList`]s and the
    /// announcement types) are slices of `payload`, not copies.
    pub fn decode_bytes(
        version: EthVersion,
        id: u8,
        payload: Bytes,
    ) -> Result<Self, EthMessageError> {
        let id = check_id(version, id)?;
        let mut d = Decoder::from_bytes(&payload, id.name());
        let message = Self::decode_from(version, id, &mut d)?;
        d.finish_message()?;
        Ok(message)
    }

    fn decode_from(
        version: EthVersion,
        id: EthMessageId,
        d: &mut Decoder<'_>,
    ) -> Result<Self, EthMessageError> {
        use EthMessageId as Id;
        Ok(match id {
            Id::Status => Self::Status(Status::decode_from(version, d)?),
            Id::NewBlockHashes => Self::NewBlockHashes(NewBlockHashes(
                d.list_of(MAX_NEW_BLOCK_HASHES, |d| d.value())?,
            )),
            Id::Transactions => Self::Transactions(d.raw_list(MAX_TRANSACTIONS)?),
            Id::GetBlockHeaders => Self::GetBlockHeaders(decode_pair(d, |d| d.value())?),
            Id::BlockHeaders => {
                Self::BlockHeaders(decode_pair(d, |d| d.raw_list(MAX_BLOCK_RESPONSE_ITEMS))?)
            }
            Id::GetBlockBodies => {
                Self::GetBlockBodies(decode_pair(d, |d| d.hashes(MAX_BLOCK_REQUEST_HASHES))?)
            }
            Id::BlockBodies => {
                Self::BlockBodies(decode_pair(d, |d| d.raw_list(MAX_BLOCK_RESPONSE_ITEMS))?)
            }
            Id::NewBlock => {
                let block = d.raw_list(2)?;
                if block.len() != 2 {
                    let mismatch = alloy_rlp::Error::ListLengthMismatch {
                        expected: 2,
                        got: block.len(),
                    };
                    return Err(d.rlp_error(mismatch));
                }
                Self::NewBlock(block)
            }
            Id::NewPooledTransactionHashes => Self::NewPooledTransactionHashes(
                NewPooledTransactionHashes::decode_from(version, d)?,
            ),
            Id::GetPooledTransactions => Self::GetPooledTransactions(decode_pair(d, |d| {
                d.hashes(MAX_POOLED_TX_REQUEST_HASHES)
            })?),
            Id::PooledTransactions => Self::PooledTransactions(decode_pair(d, |d| {
                d.raw_list(MAX_POOLED_TX_REQUEST_HASHES)
            })?),
            Id::GetNodeData => {
                Self::GetNodeData(decode_pair(d, |d| d.hashes(MAX_BLOCK_REQUEST_HASHES))?)
            }
            Id::NodeData => {
                Self::NodeData(decode_pair(d, |d| d.raw_list(MAX_BLOCK_RESPONSE_ITEMS))?)
            }
            Id::GetReceipts if version.has_partial_receipts() => {
                Self::GetReceipts70(decode_pair(d, |d| {
                    Ok(GetReceipts70 {
                        first_block_receipt_index: d.value()?,
                        block_hashes: d.hashes(MAX_BLOCK_REQUEST_HASHES)?,
                    })
                })?)
            }
            Id::GetReceipts => {
                Self::GetReceipts(decode_pair(d, |d| d.hashes(MAX_BLOCK_REQUEST_HASHES))?)
            }
            Id::Receipts if version.has_partial_receipts() => {
                Self::Receipts70(decode_pair(d, |d| {
                    Ok(Receipts70 {
                        last_block_incomplete: d.value()?,
                        receipts: d.raw_list(MAX_BLOCK_RESPONSE_ITEMS)?,
                    })
                })?)
            }
            Id::Receipts => {
                Self::Receipts(decode_pair(d, |d| d.raw_list(MAX_BLOCK_RESPONSE_ITEMS))?)
            }
            Id::BlockRangeUpdate => {
                let update: BlockRangeUpdate = d.value()?;
                update
                    .validate()
                    .map_err(EthMessageError::InvalidBlockRange)?;
                Self::BlockRangeUpdate(update)
            }
            Id::GetBlockAccessLists => {
                Self::GetBlockAccessLists(decode_pair(d, |d| d.hashes(MAX_BLOCK_REQUEST_HASHES))?)
            }
            Id::BlockAccessLists => {
                Self::BlockAccessLists(decode_pair(d, |d| d.raw_list(MAX_BLOCK_RESPONSE_ITEMS))?)
            }
            Id::GetCells => Self::GetCells(decode_pair(d, |d| {
                GetCells::decode_from(d, MAX_BLOCK_REQUEST_HASHES)
            })?),
            Id::Cells => Self::Cells(decode_pair(d, |d| {
                Cells::decode_from(d, MAX_BLOCK_RESPONSE_ITEMS)
            })?),
        })
    }

    /// The message id.
    pub const fn id(&self) -> EthMessageId {
        match self {
            Self::Status(_) => EthMessageId::Status,
            Self::NewBlockHashes(_) => EthMessageId::NewBlockHashes,
            Self::Transactions(_) => EthMessageId::Transactions,
            Self::GetBlockHeaders(_) => EthMessageId::GetBlockHeaders,
            Self::BlockHeaders(_) => EthMessageId::BlockHeaders,
            Self::GetBlockBodies(_) => EthMessageId::GetBlockBodies,
            Self::BlockBodies(_) => EthMessageId::BlockBodies,
            Self::NewBlock(_) => EthMessageId::NewBlock,
            Self::NewPooledTransactionHashes(_) => EthMessageId::NewPooledTransactionHashes,
            Self::GetPooledTransactions(_) => EthMessageId::GetPooledTransactions,
            Self::PooledTransactions(_) => EthMessageId::PooledTransactions,
            Self::GetNodeData(_) => EthMessageId::GetNodeData,
            Self::NodeData(_) => EthMessageId::NodeData,
            Self::GetReceipts(_) | Self::GetReceipts70(_) => EthMessageId::GetReceipts,
            Self::Receipts(_) | Self::Receipts70(_) => EthMessageId::Receipts,
            Self::BlockRangeUpdate(_) => EthMessageId::BlockRangeUpdate,
            Self::GetBlockAccessLists(_) => EthMessageId::GetBlockAccessLists,
            Self::BlockAccessLists(_) => EthMessageId::BlockAccessLists,
            Self::GetCells(_) => EthMessageId::GetCells,
            Self::Cells(_) => EthMessageId::Cells,
        }
    }

    /// The request id, for requests and responses.
    pub const fn request_id(&self) -> Option<u64> {
        Some(match self {
            Self::GetBlockHeaders(p) => p.request_id,
            Self::BlockHeaders(p)
            | Self::BlockBodies(p)
            | Self::PooledTransactions(p)
            | Self::NodeData(p)
            | Self::Receipts(p)
            | Self::BlockAccessLists(p) => p.request_id,
            Self::GetBlockBodies(p)
            | Self::GetPooledTransactions(p)
            | Self::GetNodeData(p)
            | Self::GetReceipts(p)
            | Self::GetBlockAccessLists(p) => p.request_id,
            Self::GetReceipts70(p) => p.request_id,
            Self::Receipts70(p) => p.request_id,
            Self::GetCells(p) => p.request_id,
            Self::Cells(p) => p.request_id,
            Self::Status(_)
            | Self::NewBlockHashes(_)
            | Self::Transactions(_)
            | Self::NewBlock(_)
            | Self::NewPooledTransactionHashes(_)
            | Self::BlockRangeUpdate(_) => return None,
        })
    }

    /// Whether this is a request (see [`EthMessageId::is_request`]).
    pub const fn is_request(&self) -> bool {
        self.id().is_request()
    }

    /// Whether this is a response (see [`EthMessageId::is_response`]).
    pub const fn is_response(&self) -> bool {
        self.id().is_response()
    }

    /// Whether this is an announcement (see [`EthMessageId::is_broadcast`]).
    pub const fn is_broadcast(&self) -> bool {
        self.id().is_broadcast()
    }

    /// Checks that this message may be sent on a connection of `version` and
    /// would be accepted by [`decode`](Self::decode) there: the id exists in
    /// the version, the shape is that version's (Status format, announcement
    /// shape, eth/70 receipts), and the content passes the decoder's checks
    /// (list bounds, announcement lengths, block range, `NewBlock` arity).
    pub fn validate_for(&self, version: EthVersion) -> Result<(), EthMessageError> {
        let id = self.id();
        if !id.is_valid_for(version) {
            return Err(EthMessageError::NotAllowedInVersion { id, version });
        }
        let wrong_shape = EthMessageError::WrongShapeForVersion {
            message: id.name(),
            version,
        };
        let too_long = |max: usize| EthMessageError::ListTooLong {
            message: id.name(),
            max,
        };
        let bound = |len: usize, max: usize| {
            if len > max {
                Err(too_long(max))
            } else {
                Ok(())
            }
        };
        match self {
            Self::Status(status) => {
                if status.is_legacy() != version.has_legacy_status() {
                    return Err(wrong_shape);
                }
                Ok(())
            }
            Self::NewBlockHashes(m) => bound(m.0.len(), MAX_NEW_BLOCK_HASHES),
            Self::Transactions(txs) => bound(txs.len(), MAX_TRANSACTIONS),
            Self::GetBlockHeaders(_) => Ok(()),
            Self::BlockHeaders(p)
            | Self::BlockBodies(p)
            | Self::NodeData(p)
            | Self::BlockAccessLists(p) => bound(p.message.len(), MAX_BLOCK_RESPONSE_ITEMS),
            Self::Receipts(p) => {
                if version.has_partial_receipts() {
                    return Err(wrong_shape);
                }
                bound(p.message.len(), MAX_BLOCK_RESPONSE_ITEMS)
            }
            Self::GetReceipts(p) => {
                if version.has_partial_receipts() {
                    return Err(wrong_shape);
                }
                bound(p.message.len(), MAX_BLOCK_REQUEST_HASHES)
            }
            Self::GetBlockBodies(p) | Self::GetNodeData(p) | Self::GetBlockAccessLists(p) => {
                bound(p.message.len(), MAX_BLOCK_REQUEST_HASHES)
            }
            Self::GetPooledTransactions(p) => bound(p.message.len(), MAX_POOLED_TX_REQUEST_HASHES),
            Self::PooledTransactions(p) => bound(p.message.len(), MAX_POOLED_TX_REQUEST_HASHES),
            Self::NewBlock(block) => {
                if block.len() != 2 {
                    let source = alloy_rlp::Error::ListLengthMismatch {
                        expected: 2,
                        got: block.len(),
                    };
                    return Err(EthMessageError::Rlp {
                        message: id.name(),
                        source,
                    });
                }
                Ok(())
            }
            Self::NewPooledTransactionHashes(m) => {
                if !m.is_shape_of(version) {
                    return Err(wrong_shape);
                }
                m.validate()
            }
            Self::GetReceipts70(p) => {
                if !version.has_partial_receipts() {
                    return Err(wrong_shape);
                }
                bound(p.message.block_hashes.len(), MAX_BLOCK_REQUEST_HASHES)
            }
            Self::Receipts70(p) => {
                if !version.has_partial_receipts() {
                    return Err(wrong_shape);
                }
                bound(p.message.receipts.len(), MAX_BLOCK_RESPONSE_ITEMS)
            }
            Self::BlockRangeUpdate(update) => update
                .validate()
                .map_err(EthMessageError::InvalidBlockRange),
            Self::GetCells(p) => bound(p.message.hashes.len(), MAX_BLOCK_REQUEST_HASHES),
            Self::Cells(p) => {
                bound(p.message.hashes.len(), MAX_BLOCK_RESPONSE_ITEMS)?;
                bound(p.message.cells.len(), MAX_BLOCK_RESPONSE_ITEMS)
            }
        }
    }

    /// The payload as an `alloy_rlp` encodable value.
    fn payload(&self) -> &dyn Encodable {
        match self {
            Self::Status(m) => m,
            Self::NewBlockHashes(m) => m,
            Self::Transactions(m) | Self::NewBlock(m) => m,
            Self::GetBlockHeaders(m) => m,
            Self::BlockHeaders(m)
            | Self::BlockBodies(m)
            | Self::PooledTransactions(m)
            | Self::NodeData(m)
            | Self::Receipts(m)
            | Self::BlockAccessLists(m) => m,
            Self::GetBlockBodies(m)
            | Self::GetPooledTransactions(m)
            | Self::GetNodeData(m)
            | Self::GetReceipts(m)
            | Self::GetBlockAccessLists(m) => m,
            Self::NewPooledTransactionHashes(m) => m,
            Self::GetReceipts70(m) => m,
            Self::Receipts70(m) => m,
            Self::BlockRangeUpdate(m) => m,
            Self::GetCells(m) => m,
            Self::Cells(m) => m,
        }
    }

    /// Writes the RLP payload (without the message id) to `out`, e.g. a
    /// `BytesMut` or a `Vec<u8>`. Raw lists are written verbatim.
    pub fn encode(&self, out: &mut dyn BufMut) {
        self.payload().encode(out);
    }

    /// Length of the RLP payload [`encode`](Self::encode) writes.
    pub fn length(&self) -> usize {
        self.payload().length()
    }

    /// The RLP payload as a new buffer.
    pub fn encoded(&self) -> Bytes {
        let mut out = Vec::with_capacity(self.length());
        self.encode(&mut out);
        Bytes::from(out)
    }
}

fn check_id(version: EthVersion, id: u8) -> Result<EthMessageId, EthMessageError> {
    let id = EthMessageId::try_from(id)
        .map_err(|UnknownMessageId(id)| EthMessageError::UnknownMessageId(id))?;
    if !id.is_valid_for(version) {
        return Err(EthMessageError::NotAllowedInVersion { id, version });
    }
    Ok(id)
}
