//! Message ids of the `snap` protocol and which version has which.

use core::fmt;

use super::version::SnapVersion;

/// The id of a `snap` message, relative to the start of the `snap` slot in
/// the devp2p message-id space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum SnapMessageId {
    /// `GetAccountRange` (0x00): accounts of a state trie from a starting hash.
    GetAccountRange = 0x00,
    /// `AccountRange` (0x01): response to `GetAccountRange`.
    AccountRange = 0x01,
    /// `GetStorageRanges` (0x02): storage slots of one or more accounts.
    GetStorageRanges = 0x02,
    /// `StorageRanges` (0x03): response to `GetStorageRanges`.
    StorageRanges = 0x03,
    /// `GetByteCodes` (0x04): contract codes by hash.
    GetByteCodes = 0x04,
    /// `ByteCodes` (0x05): response to `GetByteCodes`.
    ByteCodes = 0x05,
    /// `GetTrieNodes` (0x06): trie nodes by path; snap/1 only (reserved in snap/2).
    GetTrieNodes = 0x06,
    /// `TrieNodes` (0x07): response to `GetTrieNodes`; snap/1 only.
    TrieNodes = 0x07,
    /// `GetBlockAccessLists` (0x08): BALs by block hash; snap/2 on.
    GetBlockAccessLists = 0x08,
    /// `BlockAccessLists` (0x09): response to `GetBlockAccessLists`; snap/2 on.
    BlockAccessLists = 0x09,
}

impl SnapMessageId {
    /// Every message id, in numeric order.
    pub const ALL: [Self; 10] = [
        Self::GetAccountRange,
        Self::AccountRange,
        Self::GetStorageRanges,
        Self::StorageRanges,
        Self::GetByteCodes,
        Self::ByteCodes,
        Self::GetTrieNodes,
        Self::TrieNodes,
        Self::GetBlockAccessLists,
        Self::BlockAccessLists,
    ];

    /// The numeric id.
    pub const fn as_u8(self) -> u8 {
        self as u8
    }

    /// The message name as the specification writes it.
    pub const fn name(self) -> &'static str {
        match self {
            Self::GetAccountRange => "GetAccountRange",
            Self::AccountRange => "AccountRange",
            Self::GetStorageRanges => "GetStorageRanges",
            Self::StorageRanges => "StorageRanges",
            Self::GetByteCodes => "GetByteCodes",
            Self::ByteCodes => "ByteCodes",
            Self::GetTrieNodes => "GetTrieNodes",
            Self::TrieNodes => "TrieNodes",
            Self::GetBlockAccessLists => "GetBlockAccessLists",
            Self::BlockAccessLists => "BlockAccessLists",
        }
    }

    /// Whether this message exists in `version`: trie nodes only in snap/1,
    /// block access lists only from snap/2, the rest in both.
    pub const fn is_valid_for(self, version: SnapVersion) -> bool {
        match self {
            Self::GetTrieNodes | Self::TrieNodes => version.has_trie_nodes(),
            Self::GetBlockAccessLists | Self::BlockAccessLists => version.has_block_access_lists(),
            Self::GetAccountRange
            | Self::AccountRange
            | Self::GetStorageRanges
            | Self::StorageRanges
            | Self::GetByteCodes
            | Self::ByteCodes => true,
        }
    }

    /// Whether this is a request (the even ids).
    pub const fn is_request(self) -> bool {
        self.response().is_some()
    }

    /// Whether this is a response (every odd id).
    pub const fn is_response(self) -> bool {
        !self.is_request()
    }

    /// For a request, the id of its response.
    pub const fn response(self) -> Option<Self> {
        Some(match self {
            Self::GetAccountRange => Self::AccountRange,
            Self::GetStorageRanges => Self::StorageRanges,
            Self::GetByteCodes => Self::ByteCodes,
            Self::GetTrieNodes => Self::TrieNodes,
            Self::GetBlockAccessLists => Self::BlockAccessLists,
            _ => return None,
        })
    }

    /// For a response, the id of the request it answers.
    pub const fn request(self) -> Option<Self> {
        Some(match self {
            Self::AccountRange => Self::GetAccountRange,
            Self::StorageRanges => Self::GetStorageRanges,
            Self::ByteCodes => Self::GetByteCodes,
            Self::TrieNodes => Self::GetTrieNodes,
            Self::BlockAccessLists => Self::GetBlockAccessLists,
            _ => return None,
        })
    }
}

/// A number that is not the id of any `snap` message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown snap message id {0:#04x}")]
pub struct UnknownSnapMessageId(pub u8);

impl TryFrom<u8> for SnapMessageId {
    type Error = UnknownSnapMessageId;

    fn try_from(id: u8) -> Result<Self, Self::Error> {
        Self::ALL
            .get(usize::from(id))
            .copied()
            .ok_or(UnknownSnapMessageId(id))
    }
}

impl From<SnapMessageId> for u8 {
    fn from(id: SnapMessageId) -> Self {
        id.as_u8()
    }
}

impl fmt::Display for SnapMessageId {
    /// Formats as `GetAccountRange (0x00)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({:#04x})", self.name(), self.as_u8())
    }
}
