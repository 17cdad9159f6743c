//! What a chain-less library can check in an answer by itself (reference
//! `network-layer.md` §3): counts against the request, the first header's
//! number or hash, the stride of numbers and the parent-hash links.
//! Everything that needs a chain (roots, difficulty, signatures) stays with
//! the caller, who reports it with
//! [`FetchRouter::report_bad_data`](super::FetchRouter::report_bad_data).

use alloy_primitives::{keccak256, B256};
use alloy_rlp::{Decodable, Header};
use ethp2p_eth::message::{BlockHashOrNumber, GetBlockHeaders};

/// The parts of a block header the structural checks need.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HeaderSummary {
    /// Block number.
    pub number: u64,
    /// Keccak-256 of the header's RLP encoding.
    pub hash: B256,
    /// The parent's hash (the header's first field).
    pub parent_hash: B256,
}

/// Why a header's RLP could not be summarised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderDecodeError {
    /// The header is not an RLP list, or a field is malformed.
    #[error("malformed header: {0}")]
    Rlp(alloy_rlp::Error),
    /// Bytes follow the header's list.
    #[error("{0} trailing bytes after the header")]
    TrailingBytes(usize),
}

impl From<alloy_rlp::Error> for HeaderDecodeError {
    fn from(e: alloy_rlp::Error) -> Self {
        Self::Rlp(e)
    }
}

/// Fields before `number` in every header version: parent, ommers, coinbase,
/// state root, transactions root, receipts root, bloom, difficulty.
const FIELDS_BEFORE_NUMBER: usize = 8;

impl HeaderSummary {
    /// Reads the parent hash and the number from one header's complete RLP
    /// encoding (an item of a `BlockHeaders` list) and hashes it. Reads only
    /// what it needs; never allocates.
    pub fn from_rlp(encoded: &[u8]) -> Result<Self, HeaderDecodeError> {
        let mut buf = encoded;
        let header = Header::decode(&mut buf)?;
        if !header.list {
            return Err(alloy_rlp::Error::UnexpectedString.into());
        }
        let mut fields = buf
            .get(..header.payload_length)
            .ok_or(alloy_rlp::Error::InputTooShort)?;
        let trailing = buf.len() - header.payload_length;
        if trailing != 0 {
            return Err(HeaderDecodeError::TrailingBytes(trailing));
        }
        let parent_hash = B256::decode(&mut fields)?;
        for _ in 1..FIELDS_BEFORE_NUMBER {
            let h = Header::decode(&mut fields)?;
            fields = fields
                .get(h.payload_length..)
                .ok_or(alloy_rlp::Error::InputTooShort)?;
        }
        let number = u64::decode(&mut fields)?;
        Ok(Self {
            number,
            hash: keccak256(encoded),
            parent_hash,
        })
    }
}

/// Why an answer is structurally wrong. Each costs the peer reputation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseError {
    /// The answer is for another kind of request.
    #[error("answer of the wrong kind")]
    WrongKind,
    /// More items than asked for.
    #[error("{got} items for a request of {max}")]
    TooManyItems {
        /// Items received.
        got: usize,
        /// Items requested.
        max: usize,
    },
    /// The first header is not the requested start block.
    #[error("first header is not the requested start block")]
    WrongStart,
    /// Header `index` does not have the number the skip and direction imply.
    #[error("header {index} has an unexpected number")]
    WrongNumber {
        /// Position in the answer.
        index: usize,
    },
    /// Header `index` is not the parent (or child) of the one before it.
    #[error("header {index} does not link to the one before it")]
    BrokenLink {
        /// Position in the answer.
        index: usize,
    },
}

/// The outcome of the structural checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponseVerdict {
    /// Nothing wrong found.
    Valid,
    /// Nothing was returned although something was asked for: allowed by the
    /// protocol (the peer may lack the data) but likely bad, so the request
    /// is retried elsewhere and the peer ranks lower; no reputation cost.
    Empty,
    /// A rule was broken: likely bad, and a reputation change.
    Invalid(ResponseError),
}

impl ResponseVerdict {
    /// Whether the answer counts as likely bad for routing.
    pub const fn is_likely_bad(&self) -> bool {
        !matches!(self, Self::Valid)
    }
}

/// Checks a `BlockHeaders` answer against its `GetBlockHeaders`.
pub fn check_headers(request: &GetBlockHeaders, headers: &[HeaderSummary]) -> ResponseVerdict {
    let max = usize::try_from(request.limit).unwrap_or(usize::MAX);
    if headers.len() > max {
        return ResponseVerdict::Invalid(ResponseError::TooManyItems {
            got: headers.len(),
            max,
        });
    }
    let Some(first) = headers.first() else {
        return if max > 0 {
            ResponseVerdict::Empty
        } else {
            ResponseVerdict::Valid
        };
    };
    let start_ok = match request.start {
        BlockHashOrNumber::Number(n) => first.number == n,
        BlockHashOrNumber::Hash(h) => first.hash == h,
    };
    if !start_ok {
        return ResponseVerdict::Invalid(ResponseError::WrongStart);
    }
    let stride = request.skip.saturating_add(1);
    for (i, pair) in headers.windows(2).enumerate() {
        let (prev, next) = (&pair[0], &pair[1]);
        let expected = if request.reverse {
            prev.number.checked_sub(stride)
        } else {
            prev.number.checked_add(stride)
        };
        if expected != Some(next.number) {
            return ResponseVerdict::Invalid(ResponseError::WrongNumber { index: i + 1 });
        }
        if request.skip == 0 {
            let linked = if request.reverse {
                prev.parent_hash == next.hash
            } else {
                next.parent_hash == prev.hash
            };
            if !linked {
                return ResponseVerdict::Invalid(ResponseError::BrokenLink { index: i + 1 });
            }
        }
    }
    ResponseVerdict::Valid
}

/// Checks the item count of a `BlockBodies` or `Receipts` answer.
pub fn check_count(requested: usize, got: usize) -> ResponseVerdict {
    if got > requested {
        ResponseVerdict::Invalid(ResponseError::TooManyItems {
            got,
            max: requested,
        })
    } else if got == 0 && requested > 0 {
        ResponseVerdict::Empty
    } else {
        ResponseVerdict::Valid
    }
}
