//! Payloads of the `snap` messages. Each sits inside the request-id envelope
//! ([`RequestPair`](crate::message::RequestPair)) with its fields laid out flat
//! after the id, as the spec writes them: `[reqID, field₁, field₂, ...]`.

use alloy_primitives::B256;
use alloy_rlp::{BufMut, Encodable};
use bytes::Bytes;

use super::limits::{
    MAX_BAL_LOOKUPS, MAX_CODE_LOOKUPS, MAX_PROOF_NODES, MAX_RANGE_ITEMS, MAX_STORAGE_ACCOUNTS,
    MAX_STORAGE_HASH_LEN, MAX_TRIE_NODE_LOOKUPS,
};
use crate::message::{
    raw::{encode_list_header, list_length, Decoder},
    EthMessageError, RawList, RequestPayload,
};

/// Encoded length of a list of byte strings.
fn strings_length(items: &[Bytes]) -> usize {
    alloy_rlp::list_length::<Bytes, Bytes>(items)
}

/// Decodes a list of byte strings, at most `max` of them.
fn strings(d: &mut Decoder<'_>, max: usize) -> Result<Vec<Bytes>, EthMessageError> {
    d.list_of(max, |d| d.string())
}

/// `GetAccountRange` (0x00):
/// `[reqID, rootHash: B_32, startingHash: B_32, limitHash: B_32, responseBytes: P]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct GetAccountRange {
    /// Root of the account trie to serve.
    pub root_hash: B256,
    /// Account hash of the first account to return.
    pub starting_hash: B256,
    /// Account hash after which to stop.
    pub limit_hash: B256,
    /// Soft limit on the response size, in bytes.
    pub response_bytes: u64,
}

impl GetAccountRange {
    pub(crate) fn decode_fields(d: &mut Decoder<'_>) -> Result<Self, EthMessageError> {
        Ok(Self {
            root_hash: d.value()?,
            starting_hash: d.value()?,
            limit_hash: d.value()?,
            response_bytes: d.value()?,
        })
    }
}

impl RequestPayload for GetAccountRange {
    fn payload_length(&self) -> usize {
        self.root_hash.length()
            + self.starting_hash.length()
            + self.limit_hash.length()
            + self.response_bytes.length()
    }

    fn encode_payload(&self, out: &mut dyn BufMut) {
        self.root_hash.encode(out);
        self.starting_hash.encode(out);
        self.limit_hash.encode(out);
        self.response_bytes.encode(out);
    }
}

/// One account of an [`AccountRange`]: `[accHash: B_32, accBody]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AccountData {
    /// Hash of the account address (its trie path).
    pub hash: B256,
    /// The account in slim format, as its complete RLP encoding (normally a
    /// list `[nonce, balance, root, codeHash]`), kept verbatim: like geth's
    /// `rlp.RawValue`, any single well-formed item is accepted.
    pub body: Bytes,
}

impl AccountData {
    fn fields_length(&self) -> usize {
        self.hash.length() + self.body.len()
    }

    fn decode_from(d: &mut Decoder<'_>) -> Result<Self, EthMessageError> {
        let mut list = d.list()?;
        let hash = list.value()?;
        let body = list.raw_item()?;
        list.finish_list()?;
        Ok(Self { hash, body })
    }
}

impl Encodable for AccountData {
    fn encode(&self, out: &mut dyn BufMut) {
        encode_list_header(self.fields_length(), out);
        self.hash.encode(out);
        out.put_slice(&self.body);
    }

    fn length(&self) -> usize {
        list_length(self.fields_length())
    }
}

/// `AccountRange` (0x01):
/// `[reqID, [[accHash: B_32, accBody], ...], [proofNode: B, ...]]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct AccountRange {
    /// Consecutive accounts of the trie (at most [`MAX_RANGE_ITEMS`]).
    pub accounts: Vec<AccountData>,
    /// Trie nodes proving the range's boundaries (at most [`MAX_PROOF_NODES`]).
    pub proof: Vec<Bytes>,
}

impl AccountRange {
    pub(crate) fn decode_fields(d: &mut Decoder<'_>) -> Result<Self, EthMessageError> {
        Ok(Self {
            accounts: d.list_of(MAX_RANGE_ITEMS, AccountData::decode_from)?,
            proof: strings(d, MAX_PROOF_NODES)?,
        })
    }

    /// Whether there are neither accounts nor proof nodes (the answer for an
    /// unknown root).
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty() && self.proof.is_empty()
    }
}

impl RequestPayload for AccountRange {
    fn payload_length(&self) -> usize {
        self.accounts.length() + strings_length(&self.proof)
    }

    fn encode_payload(&self, out: &mut dyn BufMut) {
        self.accounts.encode(out);
        self.proof.encode(out);
    }
}

/// `GetStorageRanges` (0x02): `[reqID, rootHash: B_32, [accHash: B_32, ...],
/// startingHash: B, limitHash: B, responseBytes: P]`.
///
/// The starting and limit hashes are byte strings of at most 32 bytes (geth
/// sends them as `[]byte`; an empty one means zero, resp. the maximum).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct GetStorageRanges {
    /// Root of the account trie to serve.
    pub root_hash: B256,
    /// Accounts whose storage is requested (at most [`MAX_STORAGE_ACCOUNTS`]).
    pub account_hashes: Vec<B256>,
    /// Slot hash of the first slot to return (first account only).
    pub starting_hash: Bytes,
    /// Slot hash after which to stop (last account only).
    pub limit_hash: Bytes,
    /// Soft limit on the response size, in bytes.
    pub response_bytes: u64,
}

impl GetStorageRanges {
    pub(crate) fn decode_fields(d: &mut Decoder<'_>) -> Result<Self, EthMessageError> {
        let root_hash = d.value()?;
        let account_hashes = d.hashes(MAX_STORAGE_ACCOUNTS)?;
        let starting_hash = short_hash(d, "startingHash longer than 32 bytes")?;
        let limit_hash = short_hash(d, "limitHash longer than 32 bytes")?;
        Ok(Self {
            root_hash,
            account_hashes,
            starting_hash,
            limit_hash,
            response_bytes: d.value()?,
        })
    }
}

fn short_hash(d: &mut Decoder<'_>, why: &'static str) -> Result<Bytes, EthMessageError> {
    let s = d.string()?;
    if s.len() > MAX_STORAGE_HASH_LEN {
        return Err(d.rlp_error(alloy_rlp::Error::Custom(why)));
    }
    Ok(s)
}

impl RequestPayload for GetStorageRanges {
    fn payload_length(&self) -> usize {
        self.root_hash.length()
            + self.account_hashes.length()
            + self.starting_hash.length()
            + self.limit_hash.length()
            + self.response_bytes.length()
    }

    fn encode_payload(&self, out: &mut dyn BufMut) {
        self.root_hash.encode(out);
        self.account_hashes.encode(out);
        self.starting_hash.encode(out);
        self.limit_hash.encode(out);
        self.response_bytes.encode(out);
    }
}

/// One storage slot of a [`StorageRanges`]: `[slotHash: B_32, slotData: B]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StorageData {
    /// Hash of the slot key (its trie path).
    pub hash: B256,
    /// The slot's content (the RLP of its value, as a byte string).
    pub data: Bytes,
}

impl StorageData {
    fn fields_length(&self) -> usize {
        self.hash.length() + self.data.length()
    }
}

impl Encodable for StorageData {
    fn encode(&self, out: &mut dyn BufMut) {
        encode_list_header(self.fields_length(), out);
        self.hash.encode(out);
        self.data.encode(out);
    }

    fn length(&self) -> usize {
        list_length(self.fields_length())
    }
}

/// `StorageRanges` (0x03):
/// `[reqID, [[[slotHash: B_32, slotData: B], ...], ...], [proofNode: B, ...]]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct StorageRanges {
    /// One list of consecutive slots per account served (at most
    /// [`MAX_STORAGE_ACCOUNTS`] lists, [`MAX_RANGE_ITEMS`] slots in all).
    pub slots: Vec<Vec<StorageData>>,
    /// Proof of the last range, when it is incomplete (at most [`MAX_PROOF_NODES`]).
    pub proof: Vec<Bytes>,
}

impl StorageRanges {
    pub(crate) fn decode_fields(d: &mut Decoder<'_>) -> Result<Self, EthMessageError> {
        let mut total = 0usize;
        let message = d.message();
        let slots = d.list_of(MAX_STORAGE_ACCOUNTS, |d| {
            d.list_of(MAX_RANGE_ITEMS, |d| {
                if total == MAX_RANGE_ITEMS {
                    return Err(EthMessageError::ListTooLong {
                        message,
                        max: MAX_RANGE_ITEMS,
                    });
                }
                total += 1;
                let mut list = d.list()?;
                let slot = StorageData {
                    hash: list.value()?,
                    data: list.string()?,
                };
                list.finish_list()?;
                Ok(slot)
            })
        })?;
        Ok(Self {
            slots,
            proof: strings(d, MAX_PROOF_NODES)?,
        })
    }

    /// Total number of slots over every account.
    pub fn slot_count(&self) -> usize {
        self.slots.iter().map(Vec::len).sum()
    }

    /// Whether there are neither slots nor proof nodes (the answer for an
    /// unknown root or account).
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty() && self.proof.is_empty()
    }
}

impl RequestPayload for StorageRanges {
    fn payload_length(&self) -> usize {
        self.slots.length() + strings_length(&self.proof)
    }

    fn encode_payload(&self, out: &mut dyn BufMut) {
        self.slots.encode(out);
        self.proof.encode(out);
    }
}

/// `GetByteCodes` (0x04): `[reqID, [hash: B_32, ...], bytes: P]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct GetByteCodes {
    /// Code hashes (at most [`MAX_CODE_LOOKUPS`]).
    pub hashes: Vec<B256>,
    /// Soft limit on the response size, in bytes.
    pub bytes: u64,
}

impl GetByteCodes {
    pub(crate) fn decode_fields(d: &mut Decoder<'_>) -> Result<Self, EthMessageError> {
        Ok(Self {
            hashes: d.hashes(MAX_CODE_LOOKUPS)?,
            bytes: d.value()?,
        })
    }
}

impl RequestPayload for GetByteCodes {
    fn payload_length(&self) -> usize {
        self.hashes.length() + self.bytes.length()
    }

    fn encode_payload(&self, out: &mut dyn BufMut) {
        self.hashes.encode(out);
        self.bytes.encode(out);
    }
}

/// `ByteCodes` (0x05): `[reqID, [code: B, ...]]`, in request order, missing
/// codes skipped.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct ByteCodes {
    /// The codes (at most [`MAX_CODE_LOOKUPS`]).
    pub codes: Vec<Bytes>,
}

impl ByteCodes {
    pub(crate) fn decode_fields(d: &mut Decoder<'_>) -> Result<Self, EthMessageError> {
        Ok(Self {
            codes: strings(d, MAX_CODE_LOOKUPS)?,
        })
    }
}

impl RequestPayload for ByteCodes {
    fn payload_length(&self) -> usize {
        strings_length(&self.codes)
    }

    fn encode_payload(&self, out: &mut dyn BufMut) {
        self.codes.encode(out);
    }
}

/// `GetTrieNodes` (0x06, snap/1 only):
/// `[reqID, rootHash: B_32, [[accPath: B, slotPath: B, ...], ...], bytes: P]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct GetTrieNodes {
    /// Root of the account trie to serve.
    pub root_hash: B256,
    /// Path sets: an account path, then paths in that account's storage
    /// trie. At most [`MAX_TRIE_NODE_LOOKUPS`] paths in all.
    pub paths: Vec<Vec<Bytes>>,
    /// Soft limit on the response size, in bytes.
    pub bytes: u64,
}

impl GetTrieNodes {
    pub(crate) fn decode_fields(d: &mut Decoder<'_>) -> Result<Self, EthMessageError> {
        let root_hash = d.value()?;
        let message = d.message();
        let mut total = 0usize;
        let paths = d.list_of(MAX_TRIE_NODE_LOOKUPS, |d| {
            d.list_of(MAX_TRIE_NODE_LOOKUPS, |d| {
                if total == MAX_TRIE_NODE_LOOKUPS {
                    return Err(EthMessageError::ListTooLong {
                        message,
                        max: MAX_TRIE_NODE_LOOKUPS,
                    });
                }
                total += 1;
                d.string()
            })
        })?;
        Ok(Self {
            root_hash,
            paths,
            bytes: d.value()?,
        })
    }

    /// Total number of paths over every path set.
    pub fn path_count(&self) -> usize {
        self.paths.iter().map(Vec::len).sum()
    }
}

impl RequestPayload for GetTrieNodes {
    fn payload_length(&self) -> usize {
        self.root_hash.length() + self.paths.length() + self.bytes.length()
    }

    fn encode_payload(&self, out: &mut dyn BufMut) {
        self.root_hash.encode(out);
        self.paths.encode(out);
        self.bytes.encode(out);
    }
}

/// `TrieNodes` (0x07, snap/1 only): `[reqID, [node: B, ...]]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct TrieNodes {
    /// The nodes, in request order (at most [`MAX_TRIE_NODE_LOOKUPS`]).
    pub nodes: Vec<Bytes>,
}

impl TrieNodes {
    pub(crate) fn decode_fields(d: &mut Decoder<'_>) -> Result<Self, EthMessageError> {
        Ok(Self {
            nodes: strings(d, MAX_TRIE_NODE_LOOKUPS)?,
        })
    }
}

impl RequestPayload for TrieNodes {
    fn payload_length(&self) -> usize {
        strings_length(&self.nodes)
    }

    fn encode_payload(&self, out: &mut dyn BufMut) {
        self.nodes.encode(out);
    }
}

/// `GetBlockAccessLists` (0x08, snap/2 on): `[reqID, [blockHash: B_32, ...], bytes: P]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct GetBlockAccessLists {
    /// Block hashes (at most [`MAX_BAL_LOOKUPS`]).
    pub hashes: Vec<B256>,
    /// Soft limit on the response size, in bytes.
    pub bytes: u64,
}

impl GetBlockAccessLists {
    pub(crate) fn decode_fields(d: &mut Decoder<'_>) -> Result<Self, EthMessageError> {
        Ok(Self {
            hashes: d.hashes(MAX_BAL_LOOKUPS)?,
            bytes: d.value()?,
        })
    }
}

impl RequestPayload for GetBlockAccessLists {
    fn payload_length(&self) -> usize {
        self.hashes.length() + self.bytes.length()
    }

    fn encode_payload(&self, out: &mut dyn BufMut) {
        self.hashes.encode(out);
        self.bytes.encode(out);
    }
}

/// The RLP empty string: the `BlockAccessLists` entry of an unavailable BAL.
pub const UNAVAILABLE_BAL: u8 = alloy_rlp::EMPTY_STRING_CODE;

/// `BlockAccessLists` (0x09, snap/2 on): `[reqID, [bal, ...]]`, one entry per
/// requested hash in request order (possibly truncated from the tail), `0x80`
/// where a BAL is unavailable. Entries are kept raw.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct BlockAccessLists {
    /// The entries, each one RLP item (at most [`MAX_BAL_LOOKUPS`]).
    pub bals: RawList,
}

impl BlockAccessLists {
    pub(crate) fn decode_fields(d: &mut Decoder<'_>) -> Result<Self, EthMessageError> {
        Ok(Self {
            bals: d.raw_list(MAX_BAL_LOOKUPS)?,
        })
    }

    /// `count` unavailable entries (`0x80` each): the answer of a node that
    /// has none of the requested BALs.
    pub fn unavailable(count: usize) -> Self {
        let items = vec![[UNAVAILABLE_BAL]; count];
        Self {
            bals: RawList::from_encoded_items(&items).unwrap_or_default(),
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.bals.len()
    }

    /// Whether there is no entry.
    pub fn is_empty(&self) -> bool {
        self.bals.is_empty()
    }

    /// For each entry, whether it holds a BAL (`false` for `0x80`).
    pub fn availability(&self) -> impl Iterator<Item = bool> + '_ {
        self.bals.iter().map(|item| item != [UNAVAILABLE_BAL])
    }
}

impl RequestPayload for BlockAccessLists {
    fn payload_length(&self) -> usize {
        self.bals.length()
    }

    fn encode_payload(&self, out: &mut dyn BufMut) {
        self.bals.encode(out);
    }
}
