//! Upper bounds on every `snap` message and list the decoder accepts.
//!
//! They follow geth's `eth/protocols/snap` serving limits, so that no
//! well-behaved peer is ever refused, while a hostile one cannot make us
//! allocate or iterate over more than a bounded number of entries. A list
//! above its bound is rejected with
//! [`SnapMessageError::ListTooLong`](super::SnapMessageError::ListTooLong), a
//! payload above [`MAX_MESSAGE_SIZE`] with
//! [`SnapMessageError::MessageTooLarge`](super::SnapMessageError::MessageTooLarge).
//!
//! | Bound | Value | Why |
//! |---|---|---|
//! | [`MAX_MESSAGE_SIZE`] | 10 MiB | geth `maxMessageSize` for snap. |
//! | [`SOFT_RESPONSE_LIMIT`] | 2 MiB | geth `softResponseLimit`: a server caps the requested `responseBytes` / `bytes` at it; the spec's recommended limit for `BlockAccessLists`. |
//! | [`MAX_CODE_LOOKUPS`] | 1024 | geth `maxCodeLookups`: `GetByteCodes` hashes, `ByteCodes` codes. |
//! | [`MAX_TRIE_NODE_LOOKUPS`] | 1024 | geth `maxTrieNodeLookups`: paths in `GetTrieNodes` (summed over every path set), nodes in `TrieNodes`. |
//! | [`MAX_BAL_LOOKUPS`] | 1024 | one lookup per block hash, like the others: `GetBlockAccessLists` hashes, `BlockAccessLists` entries. |
//! | [`MAX_STORAGE_ACCOUNTS`] | 1024 | account hashes in `GetStorageRanges` (geth's syncer asks for at most 512 per request), slot lists in `StorageRanges`. |
//! | [`MAX_RANGE_ITEMS`] | 65,536 | accounts in `AccountRange`, slots in `StorageRanges` (summed over every account): each entry carries a 32-byte hash, and a server stops once it has passed the 2 MiB soft limit, so an honest response has at most 2 MiB / 32 entries. |
//! | [`MAX_PROOF_NODES`] | 1024 | proof nodes of a range response: two boundary paths of at most 65 nodes each in practice; 1024 leaves ample room. |
//! | [`MAX_STORAGE_HASH_LEN`] | 32 | `startingHash` / `limitHash` of `GetStorageRanges` are byte strings (geth `[]byte`, read as a hash); longer ones are meaningless. |

/// Largest `snap` message payload accepted (geth: 10 MiB).
pub const MAX_MESSAGE_SIZE: usize = 10 * 1024 * 1024;

/// The soft response size limit a server honours (geth: 2 MiB).
pub const SOFT_RESPONSE_LIMIT: u64 = 2 * 1024 * 1024;

/// Maximum hashes in `GetByteCodes`, codes in `ByteCodes`.
pub const MAX_CODE_LOOKUPS: usize = 1024;

/// Maximum paths in `GetTrieNodes` (over all path sets), nodes in `TrieNodes`.
pub const MAX_TRIE_NODE_LOOKUPS: usize = 1024;

/// Maximum hashes in `GetBlockAccessLists`, entries in `BlockAccessLists`.
pub const MAX_BAL_LOOKUPS: usize = 1024;

/// Maximum account hashes in `GetStorageRanges`, slot lists in `StorageRanges`.
pub const MAX_STORAGE_ACCOUNTS: usize = 1024;

/// Maximum accounts in `AccountRange` and slots (in total) in `StorageRanges`.
pub const MAX_RANGE_ITEMS: usize = (SOFT_RESPONSE_LIMIT / 32) as usize;

/// Maximum proof nodes in `AccountRange` and `StorageRanges`.
pub const MAX_PROOF_NODES: usize = 1024;

/// Longest `startingHash` / `limitHash` of `GetStorageRanges`, in bytes.
pub const MAX_STORAGE_HASH_LEN: usize = 32;
