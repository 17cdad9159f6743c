//! Announcements: block hashes, transaction hashes and the served block range.

use alloy_primitives::B256;
use alloy_rlp::{BufMut, Encodable, RlpDecodable, RlpEncodable};
use bytes::Bytes;

use super::{
    limits::MAX_ANNOUNCED_HASHES,
    raw::{encode_list_header, list_length, Decoder},
    request::CellMask,
    EthMessageError,
};
use crate::version::EthVersion;

/// One entry of `NewBlockHashes`: `[blockhash: B_32, number: P]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, RlpEncodable, RlpDecodable)]
pub struct BlockHashNumber {
    /// The announced block's hash.
    pub hash: B256,
    /// The announced block's number.
    pub number: u64,
}

/// `NewBlockHashes` (eth/66–68): `[[blockhash₁, number₁], ...]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct NewBlockHashes(pub Vec<BlockHashNumber>);

impl Encodable for NewBlockHashes {
    fn encode(&self, out: &mut dyn BufMut) {
        self.0.encode(out);
    }

    fn length(&self) -> usize {
        self.0.length()
    }
}

/// `NewPooledTransactionHashes` (0x08) in the shape of the negotiated version.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum NewPooledTransactionHashes {
    /// eth/66–67: `[hash₁: B_32, ...]`.
    Eth66(Vec<B256>),
    /// eth/68–71 (EIP-5793): `[types: B, [size₁: P, ...], [hash₁: B_32, ...]]`.
    Eth68(NewPooledTransactionHashes68),
    /// eth/72 (EIP-8070): the eth/68 fields plus `cell_mask: B_16`.
    Eth72(NewPooledTransactionHashes72),
}

/// The eth/68 announcement: parallel lists of types, sizes and hashes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct NewPooledTransactionHashes68 {
    /// EIP-2718 type of each transaction, one byte each, as one RLP string.
    pub types: Bytes,
    /// Encoded size of each transaction (geth keeps these as `uint32`).
    pub sizes: Vec<u64>,
    /// Hash of each transaction.
    pub hashes: Vec<B256>,
}

/// The eth/72 announcement: the eth/68 lists plus the columns held.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct NewPooledTransactionHashes72 {
    /// EIP-2718 type of each transaction, one byte each, as one RLP string.
    pub types: Bytes,
    /// Encoded size of each transaction.
    pub sizes: Vec<u64>,
    /// Hash of each transaction.
    pub hashes: Vec<B256>,
    /// Columns the announcer holds for every type-3 transaction announced.
    /// `None` is the RLP empty string (`0x80`), which EIP-8070 requires when no
    /// type-3 transaction is announced; `Some` is a 16-byte string. (geth always
    /// writes 16 bytes; an all-zero mask decodes as `Some(CellMask::EMPTY)`.)
    pub cell_mask: Option<CellMask>,
}

impl NewPooledTransactionHashes68 {
    fn fields_length(&self) -> usize {
        self.types.length() + self.sizes.length() + self.hashes.length()
    }
}

impl Encodable for NewPooledTransactionHashes68 {
    fn encode(&self, out: &mut dyn BufMut) {
        encode_list_header(self.fields_length(), out);
        self.types.encode(out);
        self.sizes.encode(out);
        self.hashes.encode(out);
    }

    fn length(&self) -> usize {
        list_length(self.fields_length())
    }
}

impl NewPooledTransactionHashes72 {
    fn fields_length(&self) -> usize {
        self.types.length()
            + self.sizes.length()
            + self.hashes.length()
            + mask_length(&self.cell_mask)
    }
}

impl Encodable for NewPooledTransactionHashes72 {
    fn encode(&self, out: &mut dyn BufMut) {
        encode_list_header(self.fields_length(), out);
        self.types.encode(out);
        self.sizes.encode(out);
        self.hashes.encode(out);
        match &self.cell_mask {
            Some(mask) => mask.encode(out),
            None => out.put_u8(alloy_rlp::EMPTY_STRING_CODE),
        }
    }

    fn length(&self) -> usize {
        list_length(self.fields_length())
    }
}

fn mask_length(mask: &Option<CellMask>) -> usize {
    mask.as_ref().map_or(1, Encodable::length)
}

impl NewPooledTransactionHashes {
    /// The announced hashes.
    pub fn hashes(&self) -> &[B256] {
        match self {
            Self::Eth66(hashes) => hashes,
            Self::Eth68(m) => &m.hashes,
            Self::Eth72(m) => &m.hashes,
        }
    }

    /// Number of announced hashes.
    pub fn len(&self) -> usize {
        self.hashes().len()
    }

    /// Whether nothing is announced.
    pub fn is_empty(&self) -> bool {
        self.hashes().is_empty()
    }

    /// The transaction types, when the shape carries them (eth/68+).
    pub fn types(&self) -> Option<&[u8]> {
        match self {
            Self::Eth66(_) => None,
            Self::Eth68(m) => Some(&m.types),
            Self::Eth72(m) => Some(&m.types),
        }
    }

    /// The transaction sizes, when the shape carries them (eth/68+).
    pub fn sizes(&self) -> Option<&[u64]> {
        match self {
            Self::Eth66(_) => None,
            Self::Eth68(m) => Some(&m.sizes),
            Self::Eth72(m) => Some(&m.sizes),
        }
    }

    /// Whether this is the shape `version` uses: eth/66 for 66–67, eth/68 for
    /// 68–71, eth/72 for 72.
    pub fn is_shape_of(&self, version: EthVersion) -> bool {
        let v = version.as_u8();
        match self {
            Self::Eth66(_) => v < 68,
            Self::Eth68(_) => (68..72).contains(&v),
            Self::Eth72(_) => v >= 72,
        }
    }

    /// Checks the bound on the number of hashes and, for eth/68+, that types,
    /// sizes and hashes have the same length — the checks decoding applies.
    pub fn validate(&self) -> Result<(), EthMessageError> {
        const NAME: &str = "NewPooledTransactionHashes";
        let too_long = EthMessageError::ListTooLong {
            message: NAME,
            max: MAX_ANNOUNCED_HASHES,
        };
        let (types, sizes, hashes) = match self {
            Self::Eth66(hashes) => {
                return if hashes.len() > MAX_ANNOUNCED_HASHES {
                    Err(too_long)
                } else {
                    Ok(())
                };
            }
            Self::Eth68(m) => (m.types.len(), m.sizes.len(), m.hashes.len()),
            Self::Eth72(m) => (m.types.len(), m.sizes.len(), m.hashes.len()),
        };
        if types.max(sizes).max(hashes) > MAX_ANNOUNCED_HASHES {
            return Err(too_long);
        }
        if types != hashes || sizes != hashes {
            return Err(EthMessageError::MismatchedAnnouncementLengths {
                types,
                sizes,
                hashes,
            });
        }
        Ok(())
    }

    /// Decodes the shape of `version`, enforcing the bounds and equal lengths.
    pub(crate) fn decode_from(
        version: EthVersion,
        d: &mut Decoder<'_>,
    ) -> Result<Self, EthMessageError> {
        let v = version.as_u8();
        if v < 68 {
            return Ok(Self::Eth66(d.hashes(MAX_ANNOUNCED_HASHES)?));
        }
        let mut list = d.list()?;
        let types = list.string()?;
        if types.len() > MAX_ANNOUNCED_HASHES {
            return Err(EthMessageError::ListTooLong {
                message: d.message(),
                max: MAX_ANNOUNCED_HASHES,
            });
        }
        let sizes = list.list_of(MAX_ANNOUNCED_HASHES, |d| d.value::<u64>())?;
        let hashes = list.hashes(MAX_ANNOUNCED_HASHES)?;
        let message = if v >= 72 {
            let cell_mask = decode_optional_mask(&mut list)?;
            Self::Eth72(NewPooledTransactionHashes72 {
                types,
                sizes,
                hashes,
                cell_mask,
            })
        } else {
            Self::Eth68(NewPooledTransactionHashes68 {
                types,
                sizes,
                hashes,
            })
        };
        list.finish_list()?;
        message.validate()?;
        Ok(message)
    }
}

/// `0x80` is `None`; otherwise exactly 16 bytes.
fn decode_optional_mask(d: &mut Decoder<'_>) -> Result<Option<CellMask>, EthMessageError> {
    let bytes = d.string()?;
    if bytes.is_empty() {
        return Ok(None);
    }
    <[u8; 16]>::try_from(&bytes[..])
        .map(|mask| Some(CellMask(mask)))
        .map_err(|_| d.rlp_error(alloy_rlp::Error::UnexpectedLength))
}

impl Encodable for NewPooledTransactionHashes {
    fn encode(&self, out: &mut dyn BufMut) {
        match self {
            Self::Eth66(hashes) => hashes.encode(out),
            Self::Eth68(m) => m.encode(out),
            Self::Eth72(m) => m.encode(out),
        }
    }

    fn length(&self) -> usize {
        match self {
            Self::Eth66(hashes) => hashes.length(),
            Self::Eth68(m) => m.length(),
            Self::Eth72(m) => m.length(),
        }
    }
}

/// `BlockRangeUpdate` (eth/69+, EIP-7642): `[earliestBlock: P, latestBlock: P, latestBlockHash: B_32]`.
///
/// The same three values end the eth/69 Status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, RlpEncodable, RlpDecodable)]
pub struct BlockRangeUpdate {
    /// The earliest block whose body and receipts the peer serves.
    pub earliest: u64,
    /// The latest block the peer has.
    pub latest: u64,
    /// The hash of `latest`.
    pub latest_hash: B256,
}

/// Why a block range (in `BlockRangeUpdate` or an eth/69 Status) is invalid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BlockRangeError {
    /// `earliest > latest`.
    #[error("earliest block {earliest} is after latest block {latest}")]
    EarliestAfterLatest {
        /// The announced earliest block.
        earliest: u64,
        /// The announced latest block.
        latest: u64,
    },
    /// The latest block hash is zero.
    #[error("latest block hash is zero")]
    ZeroLatestHash,
}

impl BlockRangeUpdate {
    /// Checks the range the way geth's `BlockRangeUpdatePacket.Validate` does:
    /// `earliest ≤ latest` and a non-zero latest hash.
    pub fn validate(&self) -> Result<(), BlockRangeError> {
        validate_block_range(self.earliest, self.latest, &self.latest_hash)
    }
}

/// `earliest ≤ latest` and `latest_hash ≠ 0`.
pub(crate) fn validate_block_range(
    earliest: u64,
    latest: u64,
    latest_hash: &B256,
) -> Result<(), BlockRangeError> {
    if earliest > latest {
        return Err(BlockRangeError::EarliestAfterLatest { earliest, latest });
    }
    if latest_hash.is_zero() {
        return Err(BlockRangeError::ZeroLatestHash);
    }
    Ok(())
}
