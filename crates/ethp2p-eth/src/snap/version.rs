//! Versions of the `snap` protocol.
//!
//! | Version | Introduced by | Messages |
//! |---------|---------------|----------|
//! | snap/1  | devp2p `caps/snap.md` (2020) | 0x00–0x07: ranges, byte codes, trie nodes |
//! | snap/2  | EIP-8189      | 0x00–0x05 unchanged, 0x06/0x07 reserved, 0x08/0x09 block access lists |

use core::{fmt, str::FromStr};

/// A version of the `snap` sub-protocol, as negotiated in the devp2p Hello.
///
/// The discriminant is the version number of the capability (`snap/1` → 1);
/// the derived ordering is the numeric one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum SnapVersion {
    /// snap/1: account and storage ranges, byte codes, trie-node healing.
    Snap1 = 1,
    /// snap/2 (EIP-8189): trie-node healing replaced by block access lists.
    Snap2 = 2,
}

impl SnapVersion {
    /// Every version this crate implements, highest first.
    pub const ALL: [Self; 2] = [Self::Snap2, Self::Snap1];

    /// The version number, e.g. `1`.
    pub const fn as_u8(self) -> u8 {
        self as u8
    }

    /// How many message ids this version reserves in the devp2p id space
    /// (geth `protocolLengths`): snap/1 8 (`0x00..=0x07`), snap/2 10
    /// (`0x00..=0x09`, 0x06 and 0x07 reserved and unused).
    pub const fn message_count(self) -> u8 {
        match self {
            Self::Snap1 => 8,
            Self::Snap2 => 10,
        }
    }

    /// Whether `GetTrieNodes` / `TrieNodes` exist (snap/1 only).
    pub const fn has_trie_nodes(self) -> bool {
        matches!(self, Self::Snap1)
    }

    /// Whether `GetBlockAccessLists` / `BlockAccessLists` exist (snap/2 on).
    pub const fn has_block_access_lists(self) -> bool {
        (self as u8) >= 2
    }
}

/// A version number that does not name an implemented `snap` version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unsupported snap protocol version {0}")]
pub struct UnknownSnapVersion(pub u32);

impl TryFrom<u32> for SnapVersion {
    type Error = UnknownSnapVersion;

    fn try_from(value: u32) -> Result<Self, Self::Error> {
        match value {
            1 => Ok(Self::Snap1),
            2 => Ok(Self::Snap2),
            other => Err(UnknownSnapVersion(other)),
        }
    }
}

impl TryFrom<u8> for SnapVersion {
    type Error = UnknownSnapVersion;

    fn try_from(value: u8) -> Result<Self, Self::Error> {
        Self::try_from(u32::from(value))
    }
}

impl From<SnapVersion> for u8 {
    fn from(v: SnapVersion) -> Self {
        v.as_u8()
    }
}

impl fmt::Display for SnapVersion {
    /// Formats as `snap/1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "snap/{}", self.as_u8())
    }
}

impl FromStr for SnapVersion {
    type Err = UnknownSnapVersion;

    /// Parses `1`, `snap/1`, `2` or `snap/2`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let number = s.trim().trim_start_matches("snap/");
        let n: u32 = number.parse().map_err(|_| UnknownSnapVersion(0))?;
        Self::try_from(n)
    }
}
