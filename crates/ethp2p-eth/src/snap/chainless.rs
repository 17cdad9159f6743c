//! What a node without state or blocks answers to each `snap` request.
//!
//! The spec requires every request to be answered ("nodes **must** always
//! respond"), so a chain-less node cannot stay silent:
//!
//! | request | answer |
//! |---|---|
//! | `GetAccountRange` | `AccountRange` with no accounts and no proof (unknown root → empty reply) |
//! | `GetStorageRanges` | `StorageRanges` with no slots and no proof (unknown root → empty reply) |
//! | `GetByteCodes` | `ByteCodes` with no codes (unavailable codes are skipped, never replaced by placeholders) |
//! | `GetTrieNodes` (snap/1) | `TrieNodes` with no nodes (unknown root → empty reply) |
//! | `GetBlockAccessLists` (snap/2) | `BlockAccessLists` with one `0x80` per requested hash: unavailable entries keep their positions |
//!
//! Every answer carries the request's id.

use super::{
    messages::{AccountRange, BlockAccessLists, ByteCodes, StorageRanges, TrieNodes},
    SnapMessage,
};
use crate::message::RequestPair;

/// The answer a node holding no state serves to `request`, with the same
/// request id; `None` when `request` is a response.
pub fn chainless_response(request: &SnapMessage) -> Option<SnapMessage> {
    let id = request.request_id();
    Some(match request {
        SnapMessage::GetAccountRange(_) => {
            SnapMessage::AccountRange(RequestPair::new(id, AccountRange::default()))
        }
        SnapMessage::GetStorageRanges(_) => {
            SnapMessage::StorageRanges(RequestPair::new(id, StorageRanges::default()))
        }
        SnapMessage::GetByteCodes(_) => {
            SnapMessage::ByteCodes(RequestPair::new(id, ByteCodes::default()))
        }
        SnapMessage::GetTrieNodes(_) => {
            SnapMessage::TrieNodes(RequestPair::new(id, TrieNodes::default()))
        }
        SnapMessage::GetBlockAccessLists(r) => SnapMessage::BlockAccessLists(RequestPair::new(
            id,
            BlockAccessLists::unavailable(r.message.hashes.len()),
        )),
        SnapMessage::AccountRange(_)
        | SnapMessage::StorageRanges(_)
        | SnapMessage::ByteCodes(_)
        | SnapMessage::TrieNodes(_)
        | SnapMessage::BlockAccessLists(_) => return None,
    })
}
