//! Request/response payloads and the eth/66 request-id envelope.

use alloy_primitives::B256;
use alloy_rlp::{BufMut, Decodable, Encodable, Header, RlpDecodable, RlpEncodable};

use super::{
    raw::{encode_list_header, list_length, Decoder, RawList},
    EthMessageError,
};

/// A request or response with its request id (EIP-2481, eth/66+).
///
/// On the wire this is `[request-id: P, payload]` for most messages, and
/// `[request-id: P, field, ..]` for the eth/70 receipt messages, whose payload
/// fields sit directly in the outer list (see [`RequestPayload`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RequestPair<T> {
    /// The id chosen by the requester and echoed by the response.
    pub request_id: u64,
    /// The request or response payload.
    pub message: T,
}

impl<T> RequestPair<T> {
    /// Pairs `message` with `request_id`.
    pub const fn new(request_id: u64, message: T) -> Self {
        Self {
            request_id,
            message,
        }
    }

    /// Transforms the payload, keeping the request id.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> RequestPair<U> {
        RequestPair {
            request_id: self.request_id,
            message: f(self.message),
        }
    }
}

/// How a payload is laid out after the request id inside a [`RequestPair`].
///
/// Most payloads are one RLP item (`[id, [..]]`); the eth/70 receipt messages
/// contribute several items to the outer list (`[id, index, [..]]`).
pub trait RequestPayload {
    /// Encoded length of everything that follows the request id.
    fn payload_length(&self) -> usize;

    /// Writes everything that follows the request id.
    fn encode_payload(&self, out: &mut dyn BufMut);
}

impl<T: RequestPayload> Encodable for RequestPair<T> {
    fn encode(&self, out: &mut dyn BufMut) {
        encode_list_header(
            self.request_id.length() + self.message.payload_length(),
            out,
        );
        self.request_id.encode(out);
        self.message.encode_payload(out);
    }

    fn length(&self) -> usize {
        list_length(self.request_id.length() + self.message.payload_length())
    }
}

/// Decodes `[request-id, ..]`, the rest of the list being read by `body`,
/// which must consume all of it.
pub(crate) fn decode_pair<'a, T>(
    d: &mut Decoder<'a>,
    body: impl FnOnce(&mut Decoder<'a>) -> Result<T, EthMessageError>,
) -> Result<RequestPair<T>, EthMessageError> {
    let mut list = d.list()?;
    let request_id = list.value::<u64>()?;
    let message = body(&mut list)?;
    list.finish_list()?;
    Ok(RequestPair {
        request_id,
        message,
    })
}

impl RequestPayload for Vec<B256> {
    fn payload_length(&self) -> usize {
        self.length()
    }

    fn encode_payload(&self, out: &mut dyn BufMut) {
        self.encode(out);
    }
}

impl RequestPayload for RawList {
    fn payload_length(&self) -> usize {
        self.length()
    }

    fn encode_payload(&self, out: &mut dyn BufMut) {
        self.encode(out);
    }
}

/// The block a header query starts from: its hash or its number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BlockHashOrNumber {
    /// A block hash, encoded as a 32-byte string.
    Hash(B256),
    /// A block number, encoded as an RLP integer.
    Number(u64),
}

impl From<B256> for BlockHashOrNumber {
    fn from(hash: B256) -> Self {
        Self::Hash(hash)
    }
}

impl From<u64> for BlockHashOrNumber {
    fn from(number: u64) -> Self {
        Self::Number(number)
    }
}

impl Encodable for BlockHashOrNumber {
    fn encode(&self, out: &mut dyn BufMut) {
        match self {
            Self::Hash(hash) => hash.encode(out),
            Self::Number(number) => number.encode(out),
        }
    }

    fn length(&self) -> usize {
        match self {
            Self::Hash(hash) => hash.length(),
            Self::Number(number) => number.length(),
        }
    }
}

impl Decodable for BlockHashOrNumber {
    /// A 32-byte string is a hash, a string of at most 8 bytes a number, as in
    /// geth's `HashOrNumber`; anything else is rejected.
    fn decode(buf: &mut &[u8]) -> alloy_rlp::Result<Self> {
        let mut peek = *buf;
        let header = Header::decode(&mut peek)?;
        if header.list {
            return Err(alloy_rlp::Error::UnexpectedList);
        }
        match header.payload_length {
            32 => B256::decode(buf).map(Self::Hash),
            0..=8 => u64::decode(buf).map(Self::Number),
            _ => Err(alloy_rlp::Error::UnexpectedLength),
        }
    }
}

/// `GetBlockHeaders` payload: `[startblock: {P, B_32}, limit: P, skip: P, reverse: {0, 1}]`.
///
/// `limit` is not bounded here: servers clamp it (geth and reth serve at most
/// 1024 headers), it is not a list the decoder allocates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, RlpEncodable, RlpDecodable)]
pub struct GetBlockHeaders {
    /// The first block of the answer.
    pub start: BlockHashOrNumber,
    /// Maximum number of headers to return.
    pub limit: u64,
    /// Number of blocks to skip between consecutive headers.
    pub skip: u64,
    /// `false`: rising block numbers; `true`: falling towards genesis.
    pub reverse: bool,
}

impl RequestPayload for GetBlockHeaders {
    fn payload_length(&self) -> usize {
        self.length()
    }

    fn encode_payload(&self, out: &mut dyn BufMut) {
        self.encode(out);
    }
}

/// eth/70 `GetReceipts` payload (EIP-7975):
/// `[request-id, firstBlockReceiptIndex: P, [blockhash₁, ...]]`.
///
/// Note the flat layout: the index and the hash list sit directly in the
/// request-id list (geth `GetReceiptsPacket70`, reth `GetReceipts70`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct GetReceipts70 {
    /// For the first requested block, receipts before this index are omitted.
    pub first_block_receipt_index: u64,
    /// The blocks whose receipts are requested.
    pub block_hashes: Vec<B256>,
}

impl RequestPayload for GetReceipts70 {
    fn payload_length(&self) -> usize {
        self.first_block_receipt_index.length() + self.block_hashes.length()
    }

    fn encode_payload(&self, out: &mut dyn BufMut) {
        self.first_block_receipt_index.encode(out);
        self.block_hashes.encode(out);
    }
}

/// eth/70 `Receipts` payload (EIP-7975):
/// `[request-id, lastBlockIncomplete: {0, 1}, [[receipt₁, ...], ...]]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Receipts70 {
    /// Whether the last receipt list is a prefix of its block's receipts, the
    /// rest to be requested with a new `GetReceipts`.
    pub last_block_incomplete: bool,
    /// One receipt list per block, kept raw.
    pub receipts: RawList,
}

impl RequestPayload for Receipts70 {
    fn payload_length(&self) -> usize {
        self.last_block_incomplete.length() + self.receipts.length()
    }

    fn encode_payload(&self, out: &mut dyn BufMut) {
        self.last_block_incomplete.encode(out);
        self.receipts.encode(out);
    }
}

/// Number of cells in an extended blob (`CELLS_PER_EXT_BLOB`), the bit length
/// of a [`CellMask`].
pub const CELLS_PER_EXT_BLOB: usize = 128;

/// The EIP-8070 `cell_mask`: a 128-bit array, column `i` being bit `i % 8` of
/// byte `i / 8` (the SSZ serialization of `BitVector[128]`).
///
/// Encoded as a 16-byte RLP string, never as an integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct CellMask(pub [u8; 16]);

impl CellMask {
    /// No column.
    pub const EMPTY: Self = Self([0; 16]);

    /// Every column (what a provider announces).
    pub const ALL: Self = Self([0xff; 16]);

    /// A mask with the given columns set; indices of 128 and above are ignored.
    pub fn from_indices(indices: impl IntoIterator<Item = usize>) -> Self {
        let mut mask = Self::EMPTY;
        for i in indices {
            mask.set(i);
        }
        mask
    }

    /// Whether column `i` is set (false for `i >= 128`).
    pub fn is_set(&self, i: usize) -> bool {
        self.0
            .get(i / 8)
            .is_some_and(|&byte| (byte >> (i % 8)) & 1 == 1)
    }

    /// Sets column `i`; does nothing for `i >= 128`.
    pub fn set(&mut self, i: usize) {
        if let Some(byte) = self.0.get_mut(i / 8) {
            *byte |= 1 << (i % 8);
        }
    }

    /// The set columns, ascending.
    pub fn indices(&self) -> impl Iterator<Item = usize> + '_ {
        (0..CELLS_PER_EXT_BLOB).filter(|&i| self.is_set(i))
    }

    /// Number of set columns.
    pub fn count(&self) -> usize {
        self.0.iter().map(|b| b.count_ones() as usize).sum()
    }
}

impl Encodable for CellMask {
    fn encode(&self, out: &mut dyn BufMut) {
        self.0.encode(out);
    }

    fn length(&self) -> usize {
        self.0.length()
    }
}

impl Decodable for CellMask {
    /// Exactly 16 bytes.
    fn decode(buf: &mut &[u8]) -> alloy_rlp::Result<Self> {
        <[u8; 16]>::decode(buf).map(Self)
    }
}

/// eth/72 `GetCells` payload (EIP-8070): `[[hash₁: B_32, ...], cell_mask: B_16]`,
/// inside the request-id envelope.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct GetCells {
    /// Hashes of the type-3 transactions whose cells are requested.
    pub hashes: Vec<B256>,
    /// The requested columns.
    pub cell_mask: CellMask,
}

impl GetCells {
    fn fields_length(&self) -> usize {
        self.hashes.length() + self.cell_mask.length()
    }

    pub(crate) fn decode_from(
        d: &mut Decoder<'_>,
        max_hashes: usize,
    ) -> Result<Self, EthMessageError> {
        let mut list = d.list()?;
        let hashes = list.hashes(max_hashes)?;
        let cell_mask = list.value()?;
        list.finish_list()?;
        Ok(Self { hashes, cell_mask })
    }
}

impl Encodable for GetCells {
    fn encode(&self, out: &mut dyn BufMut) {
        encode_list_header(self.fields_length(), out);
        self.hashes.encode(out);
        self.cell_mask.encode(out);
    }

    fn length(&self) -> usize {
        list_length(self.fields_length())
    }
}

impl RequestPayload for GetCells {
    fn payload_length(&self) -> usize {
        self.length()
    }

    fn encode_payload(&self, out: &mut dyn BufMut) {
        self.encode(out);
    }
}

/// eth/72 `Cells` payload (EIP-8070):
/// `[[hash₁: B_32, ...], [[cell: B_2048, ...], ...], cell_mask: B_16]`,
/// inside the request-id envelope. The cells are kept raw.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Cells {
    /// Hashes of the transactions the cells belong to.
    pub hashes: Vec<B256>,
    /// One list of cells per hash, kept raw (a responder may truncate).
    pub cells: RawList,
    /// The columns the cell lists hold.
    pub cell_mask: CellMask,
}

impl Cells {
    fn fields_length(&self) -> usize {
        self.hashes.length() + self.cells.length() + self.cell_mask.length()
    }

    pub(crate) fn decode_from(
        d: &mut Decoder<'_>,
        max_items: usize,
    ) -> Result<Self, EthMessageError> {
        let mut list = d.list()?;
        let hashes = list.hashes(max_items)?;
        let cells = list.raw_list(max_items)?;
        let cell_mask = list.value()?;
        list.finish_list()?;
        Ok(Self {
            hashes,
            cells,
            cell_mask,
        })
    }
}

impl Encodable for Cells {
    fn encode(&self, out: &mut dyn BufMut) {
        encode_list_header(self.fields_length(), out);
        self.hashes.encode(out);
        self.cells.encode(out);
        self.cell_mask.encode(out);
    }

    fn length(&self) -> usize {
        list_length(self.fields_length())
    }
}

impl RequestPayload for Cells {
    fn payload_length(&self) -> usize {
        self.length()
    }

    fn encode_payload(&self, out: &mut dyn BufMut) {
        self.encode(out);
    }
}
