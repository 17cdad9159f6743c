//! Decoding transactions received from peers, with bounds and typed errors.
//!
//! A transaction travels in two network forms:
//!
//! | form | carried in | blob (type-3) transactions |
//! |---|---|---|
//! | **broadcast** | `Transactions` (0x02) | never: a blob transaction there is [`TxDecodeError::BlobInBroadcast`] |
//! | **pooled** | `PooledTransactions` (0x0a) | with their sidecar (EIP-4844 proofs or EIP-7594 cell proofs; under eth/72 the blobs may be cleared) |
//!
//! Each list item is either an RLP list (a legacy transaction) or an RLP
//! string wrapping the EIP-2718 envelope `type ‖ payload`. A third form, the
//! **canonical** one used in blocks (a type-3 transaction without sidecar), is
//! decoded by [`decode_canonical`]; in `PooledTransactions` it is
//! [`TxDecodeError::MissingSidecar`].
//!
//! Every decoded transaction keeps its EIP-2718 bytes ([`DecodedTx::raw`], a
//! zero-copy slice of the message when decoded from [`Bytes`]), its hash (over
//! the canonical form, so a blob transaction's hash ignores the sidecar), its
//! type and its encoded size — the length of the EIP-2718 bytes as received,
//! which is what geth announces (`tx.Size()`), sidecar included.
//!
//! Bounds, checked before any field is decoded:
//!
//! | bound | default | source |
//! |---|---|---|
//! | [`DecodeLimits::max_tx_size`] | 128 KiB | geth legacypool `txMaxSize` (4 × 32 KiB slots) |
//! | [`DecodeLimits::max_blob_tx_size`] | 1 MiB | geth blobpool `txMaxSize`; six blobs with cell proofs fit |
//! | [`DecodeLimits::max_items`] | 5,000 | `MAX_TRANSACTIONS` of `ethp2p-eth` (geth `maxTransactionAnnouncements`) |

use alloy_consensus::{
    transaction::SignerRecoverable, BlobTransactionSidecarVariant, EthereumTxEnvelope,
    TxEip4844WithSidecar, TxEnvelope, Typed2718,
};
use alloy_eips::eip2718::{Decodable2718, Eip2718Error, Encodable2718};
use alloy_primitives::{Address, B256};
use alloy_rlp::Header;
use bytes::Bytes;
use ethp2p_eth::message::{limits::MAX_TRANSACTIONS, RawList};

/// A transaction in its pooled (network) form: any signed transaction, a
/// type-3 one with its sidecar (EIP-4844 or EIP-7594).
pub type PooledTx = EthereumTxEnvelope<TxEip4844WithSidecar<BlobTransactionSidecarVariant>>;

/// The EIP-2718 type of blob transactions.
pub const BLOB_TX_TYPE: u8 = 3;

/// Transaction types this crate decodes: legacy (0), EIP-2930 (1),
/// EIP-1559 (2), EIP-4844 (3), EIP-7702 (4).
pub const KNOWN_TX_TYPES: [u8; 5] = [0, 1, 2, 3, 4];

/// Whether `ty` is one of [`KNOWN_TX_TYPES`].
pub const fn is_known_tx_type(ty: u8) -> bool {
    ty <= 4
}

/// Size bounds applied before decoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest EIP-2718 encoding accepted for a non-blob transaction.
    pub max_tx_size: usize,
    /// Largest EIP-2718 encoding accepted for a blob transaction with sidecar.
    pub max_blob_tx_size: usize,
    /// Most transactions accepted in one list.
    pub max_items: usize,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self {
            max_tx_size: 128 * 1024,
            max_blob_tx_size: 1024 * 1024,
            max_items: MAX_TRANSACTIONS,
        }
    }
}

impl DecodeLimits {
    /// The size bound for a transaction of type `ty`.
    pub const fn max_size_for(&self, ty: u8) -> usize {
        if ty == BLOB_TX_TYPE {
            self.max_blob_tx_size
        } else {
            self.max_tx_size
        }
    }
}

/// Why a transaction could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TxDecodeError {
    /// The list item is not a well-formed RLP list or string.
    #[error("malformed transaction item: {0}")]
    Rlp(#[source] alloy_rlp::Error),
    /// The envelope's type byte names no transaction type this crate knows.
    #[error("unknown transaction type {0:#04x}")]
    UnknownType(u8),
    /// The encoding is larger than the bound for its type.
    #[error("type-{ty} transaction of {size} bytes exceeds {max} bytes")]
    TooLarge {
        /// The transaction type.
        ty: u8,
        /// Its encoded size.
        size: usize,
        /// The bound.
        max: usize,
    },
    /// The fields do not decode as a transaction of the announced type.
    #[error("invalid type-{ty} transaction: {source}")]
    Invalid {
        /// The transaction type.
        ty: u8,
        /// What the decoder found.
        #[source]
        source: alloy_rlp::Error,
    },
    /// A blob transaction in a `Transactions` broadcast (blob transactions are
    /// only announced and fetched).
    #[error("blob transaction in a Transactions broadcast")]
    BlobInBroadcast,
    /// A blob transaction in its canonical form, without sidecar, where the
    /// pooled form is required.
    #[error("blob transaction without sidecar")]
    MissingSidecar,
    /// More transactions in one list than [`DecodeLimits::max_items`].
    #[error("{count} transactions in one list, more than {max}")]
    TooMany {
        /// How many were sent.
        count: usize,
        /// The bound.
        max: usize,
    },
}

/// A transaction list failed to decode: which item, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("transaction {index}: {source}")]
pub struct TxListError {
    /// Position of the failing item in the list (0-based), or the list
    /// length for [`TxDecodeError::TooMany`].
    pub index: usize,
    /// Why it failed.
    #[source]
    pub source: TxDecodeError,
}

/// The hash, type and size of a transaction: what an eth/68 announcement
/// carries, and what the fetcher checks deliveries against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TxMeta {
    /// Transaction hash.
    pub hash: B256,
    /// EIP-2718 type.
    pub ty: u8,
    /// Encoded size in bytes (EIP-2718 encoding of the network form).
    pub size: u32,
}

/// A decoded transaction with its network encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodedTx {
    tx: PooledTx,
    raw: Bytes,
}

impl DecodedTx {
    /// Wraps a transaction (for example one built locally), encoding it.
    pub fn from_pooled(tx: PooledTx) -> Self {
        let raw = Bytes::from(tx.encoded_2718());
        Self { tx, raw }
    }

    /// The transaction.
    pub fn tx(&self) -> &PooledTx {
        &self.tx
    }

    /// Consumes the wrapper and returns the transaction.
    pub fn into_tx(self) -> PooledTx {
        self.tx
    }

    /// The transaction hash (over the canonical form; a sidecar does not
    /// change it).
    pub fn hash(&self) -> B256 {
        *self.tx.tx_hash()
    }

    /// The EIP-2718 type.
    pub fn tx_type(&self) -> u8 {
        self.tx.ty()
    }

    /// Whether this is a blob (type-3) transaction.
    pub fn is_blob(&self) -> bool {
        self.tx_type() == BLOB_TX_TYPE
    }

    /// The encoded size: the length of [`raw`](Self::raw).
    pub fn size(&self) -> usize {
        self.raw.len()
    }

    /// The EIP-2718 encoding as received (`type ‖ payload`, or the RLP list of
    /// a legacy transaction), sidecar included.
    pub fn raw(&self) -> &Bytes {
        &self.raw
    }

    /// The item as it appears in a `Transactions` / `PooledTransactions` list:
    /// the legacy list as is, a typed envelope wrapped in an RLP string.
    pub fn network_encoding(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.raw.len() + 5);
        if self.tx_type() != 0 {
            Header {
                list: false,
                payload_length: self.raw.len(),
            }
            .encode(&mut out);
        }
        out.extend_from_slice(&self.raw);
        out
    }

    /// Hash, type and size.
    pub fn meta(&self) -> TxMeta {
        TxMeta {
            hash: self.hash(),
            ty: self.tx_type(),
            size: u32::try_from(self.size()).unwrap_or(u32::MAX),
        }
    }

    /// Recovers the sender from the signature (secp256k1 recovery; costs tens
    /// of microseconds, so call it only when needed).
    pub fn recover_sender(&self) -> Result<Address, alloy_consensus::crypto::RecoveryError> {
        self.tx.recover_signer()
    }
}

/// Splits one list item into its EIP-2718 bytes and type, without decoding the
/// fields: an RLP list is a legacy transaction; an RLP string holds
/// `type ‖ payload`.
fn envelope(item: &Bytes) -> Result<(Bytes, u8), TxDecodeError> {
    let mut buf = &item[..];
    let header = Header::decode(&mut buf).map_err(TxDecodeError::Rlp)?;
    if header.payload_length != buf.len() {
        return Err(TxDecodeError::Rlp(alloy_rlp::Error::UnexpectedLength));
    }
    if header.list {
        return Ok((item.clone(), 0));
    }
    let start = item.len() - buf.len();
    let ty = *buf
        .first()
        .ok_or(TxDecodeError::Rlp(alloy_rlp::Error::InputTooShort))?;
    // Type bytes are 0x00..=0x7f (EIP-2718); 0 would be a legacy transaction
    // in an envelope, which no client sends.
    if ty == 0 || ty > 0x7f || !is_known_tx_type(ty) {
        return Err(TxDecodeError::UnknownType(ty));
    }
    Ok((item.slice(start..), ty))
}

/// The type byte was checked before decoding, so any error from the decoder
/// means malformed fields.
fn invalid(ty: u8, error: Eip2718Error) -> TxDecodeError {
    let source = match error {
        Eip2718Error::RlpError(source) => source,
        _ => alloy_rlp::Error::Custom("invalid transaction envelope"),
    };
    TxDecodeError::Invalid { ty, source }
}

fn check_size(raw: &Bytes, ty: u8, limits: &DecodeLimits) -> Result<(), TxDecodeError> {
    let max = limits.max_size_for(ty);
    if raw.len() > max {
        return Err(TxDecodeError::TooLarge {
            ty,
            size: raw.len(),
            max,
        });
    }
    Ok(())
}

/// Decodes one item of a `PooledTransactions` list (the pooled form).
pub fn decode_pooled(item: Bytes, limits: &DecodeLimits) -> Result<DecodedTx, TxDecodeError> {
    let (raw, ty) = envelope(&item)?;
    check_size(&raw, ty, limits)?;
    match PooledTx::decode_2718_exact(&raw) {
        Ok(tx) => Ok(DecodedTx { tx, raw }),
        Err(error) => {
            // A canonical blob transaction (no sidecar) is a distinct error.
            if ty == BLOB_TX_TYPE && TxEnvelope::decode_2718_exact(&raw).is_ok() {
                return Err(TxDecodeError::MissingSidecar);
            }
            Err(invalid(ty, error))
        }
    }
}

/// Decodes one item of a `Transactions` broadcast: blob transactions are
/// refused before their fields are looked at.
pub fn decode_broadcast(item: Bytes, limits: &DecodeLimits) -> Result<DecodedTx, TxDecodeError> {
    let (raw, ty) = envelope(&item)?;
    if ty == BLOB_TX_TYPE {
        return Err(TxDecodeError::BlobInBroadcast);
    }
    check_size(&raw, ty, limits)?;
    PooledTx::decode_2718_exact(&raw)
        .map(|tx| DecodedTx { tx, raw })
        .map_err(|error| invalid(ty, error))
}

/// Decodes a transaction in its canonical EIP-2718 form (as in a block body:
/// a blob transaction without sidecar), given as the bare `type ‖ payload`
/// bytes or a legacy RLP list.
pub fn decode_canonical(raw: &[u8], limits: &DecodeLimits) -> Result<TxEnvelope, TxDecodeError> {
    let ty = match raw.first() {
        None => return Err(TxDecodeError::Rlp(alloy_rlp::Error::InputTooShort)),
        Some(&b) if b >= 0xc0 => 0,
        Some(&b) if is_known_tx_type(b) && b != 0 => b,
        Some(&b) => return Err(TxDecodeError::UnknownType(b)),
    };
    let max = limits.max_size_for(ty);
    if raw.len() > max {
        return Err(TxDecodeError::TooLarge {
            ty,
            size: raw.len(),
            max,
        });
    }
    TxEnvelope::decode_2718_exact(raw).map_err(|error| invalid(ty, error))
}

fn decode_list(
    list: &RawList,
    limits: &DecodeLimits,
    one: fn(Bytes, &DecodeLimits) -> Result<DecodedTx, TxDecodeError>,
) -> Result<Vec<DecodedTx>, TxListError> {
    if list.len() > limits.max_items {
        return Err(TxListError {
            index: list.len(),
            source: TxDecodeError::TooMany {
                count: list.len(),
                max: limits.max_items,
            },
        });
    }
    let whole = list.as_bytes();
    let mut out = Vec::with_capacity(list.len());
    for (index, item) in list.iter().enumerate() {
        let item = whole.slice_ref(item);
        out.push(one(item, limits).map_err(|source| TxListError { index, source })?);
    }
    Ok(out)
}

/// Decodes the list of a `PooledTransactions` response. All or nothing, as in
/// geth: one bad item fails the message (the peer earns a `BadTransactions`
/// penalty).
pub fn decode_pooled_transactions(
    list: &RawList,
    limits: &DecodeLimits,
) -> Result<Vec<DecodedTx>, TxListError> {
    decode_list(list, limits, decode_pooled)
}

/// Decodes the list of a `Transactions` broadcast. All or nothing; a blob
/// transaction fails it with [`TxDecodeError::BlobInBroadcast`].
pub fn decode_broadcast_transactions(
    list: &RawList,
    limits: &DecodeLimits,
) -> Result<Vec<DecodedTx>, TxListError> {
    decode_list(list, limits, decode_broadcast)
}

#[cfg(test)]
mod tests;
