//! Upper bounds on every list the decoder accepts.
//!
//! The transport already caps an eth message at 10 MiB (geth `maxMessageSize`,
//! reth `MAX_MESSAGE_SIZE`); these bounds additionally cap how many items a
//! message may carry, so that a peer cannot make us allocate or iterate over
//! hundreds of thousands of entries, and so that a response can never be
//! larger than any request we (or any well-behaved peer) would send.
//!
//! A list longer than its bound is rejected with
//! [`EthMessageError::ListTooLong`](super::EthMessageError::ListTooLong).
//! The bounds are deliberately at or above what real clients send:
//!
//! | Bound | Value | Why |
//! |---|---|---|
//! | [`MAX_BLOCK_REQUEST_HASHES`] | 1024 | geth and reth serve at most 1024 headers / bodies / receipts per request (`maxHeadersServe`, `maxBodiesServe`, `maxReceiptsServe`); asking for more is pointless. Used for `GetBlockBodies`, `GetReceipts`, `GetNodeData`, `GetBlockAccessLists`, `GetCells`. |
//! | [`MAX_BLOCK_RESPONSE_ITEMS`] | 1024 | the matching responses (`BlockHeaders`, `BlockBodies`, `Receipts`, `NodeData`, `BlockAccessLists`, `Cells`) never answer more than was asked. |
//! | [`MAX_ANNOUNCED_HASHES`] | 4096 | devp2p `caps/eth.md`: recommended soft limit for `NewPooledTransactionHashes` is 4096 hashes; geth's tx fetcher keeps at most 4096 announcements per peer. |
//! | [`MAX_POOLED_TX_REQUEST_HASHES`] | 4096 | a peer may request every hash of one announcement (spec soft limit for requests is 256, but a requester may ask for all it was announced). Also bounds `PooledTransactions`. |
//! | [`MAX_TRANSACTIONS`] | 5000 | geth `maxTransactionAnnouncements`: a `Transactions` broadcast with more is rejected. |
//! | [`MAX_NEW_BLOCK_HASHES`] | 1024 | `NewBlockHashes` announces a handful of recent blocks. |

/// Maximum hashes in `GetBlockBodies`, `GetReceipts`, `GetNodeData`,
/// `GetBlockAccessLists` and `GetCells`.
pub const MAX_BLOCK_REQUEST_HASHES: usize = 1024;

/// Maximum items in `BlockHeaders`, `BlockBodies`, `Receipts`, `NodeData`,
/// `BlockAccessLists` and `Cells` responses.
pub const MAX_BLOCK_RESPONSE_ITEMS: usize = 1024;

/// Maximum hashes in one `NewPooledTransactionHashes` announcement.
pub const MAX_ANNOUNCED_HASHES: usize = 4096;

/// Maximum hashes in `GetPooledTransactions` and transactions in `PooledTransactions`.
pub const MAX_POOLED_TX_REQUEST_HASHES: usize = 4096;

/// Maximum transactions in one `Transactions` broadcast.
pub const MAX_TRANSACTIONS: usize = 5000;

/// Maximum entries in one `NewBlockHashes` announcement.
pub const MAX_NEW_BLOCK_HASHES: usize = 1024;
