//! Message ids of the `eth` protocol and the rules that say which version has which.

use core::fmt;

use crate::version::EthVersion;

/// The id of an `eth` message, relative to the start of the `eth` slot in the
/// devp2p message-id space (the wire id is this plus the capability offset,
/// `0x10` when eth is the only capability).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum EthMessageId {
    /// `Status` (0x00): the handshake message.
    Status = 0x00,
    /// `NewBlockHashes` (0x01): block announcement; eth/66–68 only.
    NewBlockHashes = 0x01,
    /// `Transactions` (0x02): full transaction broadcast.
    Transactions = 0x02,
    /// `GetBlockHeaders` (0x03): request for headers.
    GetBlockHeaders = 0x03,
    /// `BlockHeaders` (0x04): response to `GetBlockHeaders`.
    BlockHeaders = 0x04,
    /// `GetBlockBodies` (0x05): request for bodies by hash.
    GetBlockBodies = 0x05,
    /// `BlockBodies` (0x06): response to `GetBlockBodies`.
    BlockBodies = 0x06,
    /// `NewBlock` (0x07): full block propagation; eth/66–68 only.
    NewBlock = 0x07,
    /// `NewPooledTransactionHashes` (0x08): transaction announcement.
    NewPooledTransactionHashes = 0x08,
    /// `GetPooledTransactions` (0x09): request for pooled transactions by hash.
    GetPooledTransactions = 0x09,
    /// `PooledTransactions` (0x0a): response to `GetPooledTransactions`.
    PooledTransactions = 0x0a,
    /// `GetNodeData` (0x0d): state trie node request; eth/66 only.
    GetNodeData = 0x0d,
    /// `NodeData` (0x0e): response to `GetNodeData`; eth/66 only.
    NodeData = 0x0e,
    /// `GetReceipts` (0x0f): request for block receipts by block hash.
    GetReceipts = 0x0f,
    /// `Receipts` (0x10): response to `GetReceipts`.
    Receipts = 0x10,
    /// `BlockRangeUpdate` (0x11): served block range announcement; eth/69+.
    BlockRangeUpdate = 0x11,
    /// `GetBlockAccessLists` (0x12): request for BALs by block hash; eth/71+.
    GetBlockAccessLists = 0x12,
    /// `BlockAccessLists` (0x13): response to `GetBlockAccessLists`; eth/71+.
    BlockAccessLists = 0x13,
    /// `GetCells` (0x14): request for blob cells; eth/72+.
    GetCells = 0x14,
    /// `Cells` (0x15): response to `GetCells`; eth/72+.
    Cells = 0x15,
}

impl EthMessageId {
    /// Every message id, in numeric order.
    pub const ALL: [Self; 20] = [
        Self::Status,
        Self::NewBlockHashes,
        Self::Transactions,
        Self::GetBlockHeaders,
        Self::BlockHeaders,
        Self::GetBlockBodies,
        Self::BlockBodies,
        Self::NewBlock,
        Self::NewPooledTransactionHashes,
        Self::GetPooledTransactions,
        Self::PooledTransactions,
        Self::GetNodeData,
        Self::NodeData,
        Self::GetReceipts,
        Self::Receipts,
        Self::BlockRangeUpdate,
        Self::GetBlockAccessLists,
        Self::BlockAccessLists,
        Self::GetCells,
        Self::Cells,
    ];

    /// The numeric id.
    pub const fn as_u8(self) -> u8 {
        self as u8
    }

    /// The message name as written in the specification, e.g. `"GetBlockHeaders"`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Status => "Status",
            Self::NewBlockHashes => "NewBlockHashes",
            Self::Transactions => "Transactions",
            Self::GetBlockHeaders => "GetBlockHeaders",
            Self::BlockHeaders => "BlockHeaders",
            Self::GetBlockBodies => "GetBlockBodies",
            Self::BlockBodies => "BlockBodies",
            Self::NewBlock => "NewBlock",
            Self::NewPooledTransactionHashes => "NewPooledTransactionHashes",
            Self::GetPooledTransactions => "GetPooledTransactions",
            Self::PooledTransactions => "PooledTransactions",
            Self::GetNodeData => "GetNodeData",
            Self::NodeData => "NodeData",
            Self::GetReceipts => "GetReceipts",
            Self::Receipts => "Receipts",
            Self::BlockRangeUpdate => "BlockRangeUpdate",
            Self::GetBlockAccessLists => "GetBlockAccessLists",
            Self::BlockAccessLists => "BlockAccessLists",
            Self::GetCells => "GetCells",
            Self::Cells => "Cells",
        }
    }

    /// Whether this message exists in `version`.
    ///
    /// - `GetNodeData` / `NodeData`: eth/66 only (removed by EIP-4938 in eth/67).
    /// - `NewBlockHashes` / `NewBlock`: eth/66–68 (removed by EIP-7642 in eth/69;
    ///   geth has no handler for them from eth/69 on and drops the peer).
    /// - `BlockRangeUpdate`: eth/69+ (EIP-7642).
    /// - `GetBlockAccessLists` / `BlockAccessLists`: eth/71+ (EIP-8159).
    /// - `GetCells` / `Cells`: eth/72+ (EIP-8070).
    /// - everything else: every version.
    pub const fn is_valid_for(self, version: EthVersion) -> bool {
        let v = version.as_u8();
        match self {
            Self::GetNodeData | Self::NodeData => v == 66,
            Self::NewBlockHashes | Self::NewBlock => v < 69,
            Self::BlockRangeUpdate => v >= 69,
            Self::GetBlockAccessLists | Self::BlockAccessLists => v >= 71,
            Self::GetCells | Self::Cells => v >= 72,
            Self::Status
            | Self::Transactions
            | Self::GetBlockHeaders
            | Self::BlockHeaders
            | Self::GetBlockBodies
            | Self::BlockBodies
            | Self::NewPooledTransactionHashes
            | Self::GetPooledTransactions
            | Self::PooledTransactions
            | Self::GetReceipts
            | Self::Receipts => true,
        }
    }

    /// Whether this message is a request that expects a response
    /// (it carries a request id since eth/66).
    pub const fn is_request(self) -> bool {
        self.response().is_some()
    }

    /// Whether this message is a response to a request
    /// (it carries the request id of the request it answers).
    pub const fn is_response(self) -> bool {
        self.request().is_some()
    }

    /// Whether this message is an unsolicited announcement: `NewBlockHashes`,
    /// `Transactions`, `NewBlock`, `NewPooledTransactionHashes`, `BlockRangeUpdate`.
    ///
    /// `Status` is none of request, response or broadcast: it is the handshake.
    pub const fn is_broadcast(self) -> bool {
        matches!(
            self,
            Self::NewBlockHashes
                | Self::Transactions
                | Self::NewBlock
                | Self::NewPooledTransactionHashes
                | Self::BlockRangeUpdate
        )
    }

    /// For a request, the id of the response that answers it.
    pub const fn response(self) -> Option<Self> {
        Some(match self {
            Self::GetBlockHeaders => Self::BlockHeaders,
            Self::GetBlockBodies => Self::BlockBodies,
            Self::GetPooledTransactions => Self::PooledTransactions,
            Self::GetNodeData => Self::NodeData,
            Self::GetReceipts => Self::Receipts,
            Self::GetBlockAccessLists => Self::BlockAccessLists,
            Self::GetCells => Self::Cells,
            _ => return None,
        })
    }

    /// For a response, the id of the request it answers.
    pub const fn request(self) -> Option<Self> {
        Some(match self {
            Self::BlockHeaders => Self::GetBlockHeaders,
            Self::BlockBodies => Self::GetBlockBodies,
            Self::PooledTransactions => Self::GetPooledTransactions,
            Self::NodeData => Self::GetNodeData,
            Self::Receipts => Self::GetReceipts,
            Self::BlockAccessLists => Self::GetBlockAccessLists,
            Self::Cells => Self::GetCells,
            _ => return None,
        })
    }
}

/// A number that is not the id of any `eth` message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown eth message id {0:#04x}")]
pub struct UnknownMessageId(pub u8);

impl TryFrom<u8> for EthMessageId {
    type Error = UnknownMessageId;

    fn try_from(id: u8) -> Result<Self, Self::Error> {
        Ok(match id {
            0x00 => Self::Status,
            0x01 => Self::NewBlockHashes,
            0x02 => Self::Transactions,
            0x03 => Self::GetBlockHeaders,
            0x04 => Self::BlockHeaders,
            0x05 => Self::GetBlockBodies,
            0x06 => Self::BlockBodies,
            0x07 => Self::NewBlock,
            0x08 => Self::NewPooledTransactionHashes,
            0x09 => Self::GetPooledTransactions,
            0x0a => Self::PooledTransactions,
            0x0d => Self::GetNodeData,
            0x0e => Self::NodeData,
            0x0f => Self::GetReceipts,
            0x10 => Self::Receipts,
            0x11 => Self::BlockRangeUpdate,
            0x12 => Self::GetBlockAccessLists,
            0x13 => Self::BlockAccessLists,
            0x14 => Self::GetCells,
            0x15 => Self::Cells,
            other => return Err(UnknownMessageId(other)),
        })
    }
}

impl From<EthMessageId> for u8 {
    fn from(id: EthMessageId) -> Self {
        id.as_u8()
    }
}

impl fmt::Display for EthMessageId {
    /// Formats as `GetBlockHeaders (0x03)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({:#04x})", self.name(), self.as_u8())
    }
}
