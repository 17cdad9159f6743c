//! Versions of the `eth` wire protocol that this crate speaks.
//!
//! | Version | Introduced by | Change                                                        |
//! |---------|---------------|---------------------------------------------------------------|
//! | eth/66  | EIP-2481      | request ids: `[request-id, payload]` on every request/response |
//! | eth/67  | EIP-4938      | `GetNodeData` / `NodeData` removed                            |
//! | eth/68  | EIP-5793      | `NewPooledTransactionHashes` carries types and sizes          |
//! | eth/69  | EIP-7642      | Status without TD, block range, `BlockRangeUpdate`, no blooms; `NewBlock`/`NewBlockHashes` gone |
//! | eth/70  | EIP-7975      | partial receipt lists (`GetReceipts`/`Receipts` reshaped)     |
//! | eth/71  | EIP-8159      | `GetBlockAccessLists` / `BlockAccessLists`                    |
//! | eth/72  | EIP-8070      | sparse blobpool: cell mask in announcements, `GetCells`/`Cells` |

use core::{fmt, str::FromStr};

/// A version of the `eth` sub-protocol, as negotiated in the devp2p Hello.
///
/// The discriminant is the version number carried in the capability list, and
/// the derived ordering is the numeric one (`Eth66 < Eth67 < ... < Eth72`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum EthVersion {
    /// eth/66 (EIP-2481): request identifiers.
    Eth66 = 66,
    /// eth/67 (EIP-4938): removal of `GetNodeData` / `NodeData`.
    Eth67 = 67,
    /// eth/68 (EIP-5793): typed transaction announcements.
    Eth68 = 68,
    /// eth/69 (EIP-7642): history expiry, new Status, `BlockRangeUpdate`.
    Eth69 = 69,
    /// eth/70 (EIP-7975): partial block receipt lists.
    Eth70 = 70,
    /// eth/71 (EIP-8159): block access list exchange.
    Eth71 = 71,
    /// eth/72 (EIP-8070): sparse blobpool (cells).
    Eth72 = 72,
}

impl EthVersion {
    /// Every version this crate implements, highest first.
    pub const ALL: [Self; 7] = [
        Self::Eth72,
        Self::Eth71,
        Self::Eth70,
        Self::Eth69,
        Self::Eth68,
        Self::Eth67,
        Self::Eth66,
    ];

    /// The versions advertised in the Hello by default, highest first.
    ///
    /// eth/70, eth/71 and eth/72 are implemented but opt-in, as in reth
    /// (`EthVersion::ALL_VERSIONS = [69, 68, 67, 66]`).
    pub const DEFAULT_ADVERTISED: [Self; 4] = [Self::Eth69, Self::Eth68, Self::Eth67, Self::Eth66];

    /// The highest version implemented.
    pub const LATEST: Self = Self::Eth72;

    /// The version number, e.g. `69`.
    pub const fn as_u8(self) -> u8 {
        self as u8
    }

    /// How many message ids this version reserves, i.e. the length of its slot
    /// in the devp2p message-id space (`protocolLengths` in geth).
    ///
    /// eth/66–68: 17 (`0x00..=0x10`), eth/69–70: 18 (`..=0x11`, `BlockRangeUpdate`),
    /// eth/71: 20 (`..=0x13`, block access lists), eth/72: 22 (`..=0x15`, cells).
    pub const fn message_count(self) -> u8 {
        match self {
            Self::Eth66 | Self::Eth67 | Self::Eth68 => 17,
            Self::Eth69 | Self::Eth70 => 18,
            Self::Eth71 => 20,
            Self::Eth72 => 22,
        }
    }

    /// Whether this version uses the legacy Status
    /// `[version, networkid, td, blockhash, genesis, forkid]` (eth/66–68).
    pub const fn has_legacy_status(self) -> bool {
        (self as u8) < 69
    }

    /// Whether this version has the eth/69 block range (Status fields and
    /// `BlockRangeUpdate`).
    pub const fn has_block_range(self) -> bool {
        (self as u8) >= 69
    }

    /// Whether `GetReceipts` / `Receipts` use the eth/70 (EIP-7975) shape.
    pub const fn has_partial_receipts(self) -> bool {
        (self as u8) >= 70
    }
}

/// A version number that does not name an implemented `eth` version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unsupported eth protocol version {0}")]
pub struct UnknownEthVersion(pub u32);

impl TryFrom<u8> for EthVersion {
    type Error = UnknownEthVersion;

    fn try_from(value: u8) -> Result<Self, Self::Error> {
        Ok(match value {
            66 => Self::Eth66,
            67 => Self::Eth67,
            68 => Self::Eth68,
            69 => Self::Eth69,
            70 => Self::Eth70,
            71 => Self::Eth71,
            72 => Self::Eth72,
            other => return Err(UnknownEthVersion(u32::from(other))),
        })
    }
}

impl TryFrom<u32> for EthVersion {
    type Error = UnknownEthVersion;

    fn try_from(value: u32) -> Result<Self, Self::Error> {
        u8::try_from(value)
            .ok()
            .and_then(|n| Self::try_from(n).ok())
            .ok_or(UnknownEthVersion(value))
    }
}

impl From<EthVersion> for u8 {
    fn from(version: EthVersion) -> Self {
        version.as_u8()
    }
}

impl From<EthVersion> for u32 {
    fn from(version: EthVersion) -> Self {
        u32::from(version.as_u8())
    }
}

impl fmt::Display for EthVersion {
    /// Formats as `eth/69`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "eth/{}", self.as_u8())
    }
}

/// Error parsing an [`EthVersion`] from text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid eth version {0:?}: expected 66..=72, optionally prefixed by \"eth/\"")]
pub struct ParseEthVersionError(pub String);

impl FromStr for EthVersion {
    type Err = ParseEthVersionError;

    /// Parses `69` or `eth/69`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = s.strip_prefix("eth/").unwrap_or(s);
        digits
            .parse::<u8>()
            .ok()
            .and_then(|n| Self::try_from(n).ok())
            .ok_or_else(|| ParseEthVersionError(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip() {
        for v in EthVersion::ALL {
            assert_eq!(EthVersion::try_from(v.as_u8()), Ok(v));
            assert_eq!(EthVersion::try_from(u32::from(v)), Ok(v));
            assert_eq!(v.to_string().parse::<EthVersion>(), Ok(v));
            assert_eq!(v.as_u8().to_string().parse::<EthVersion>(), Ok(v));
        }
        for n in (0..=u8::MAX).filter(|n| !(66..=72).contains(n)) {
            assert_eq!(
                EthVersion::try_from(n),
                Err(UnknownEthVersion(u32::from(n)))
            );
        }
        assert_eq!(
            EthVersion::try_from(66u32 + 256),
            Err(UnknownEthVersion(322))
        );
        assert!("eth/65".parse::<EthVersion>().is_err());
        assert!("snap/1".parse::<EthVersion>().is_err());
        assert!("".parse::<EthVersion>().is_err());
    }

    #[test]
    fn ordering_display_and_lists() {
        assert!(EthVersion::Eth66 < EthVersion::Eth69);
        assert!(EthVersion::Eth72 > EthVersion::Eth71);
        assert_eq!(EthVersion::Eth69.to_string(), "eth/69");
        assert_eq!(EthVersion::ALL.iter().max(), Some(&EthVersion::LATEST));
        assert!(EthVersion::ALL.windows(2).all(|w| w[0] > w[1]));
        assert_eq!(
            EthVersion::DEFAULT_ADVERTISED.map(EthVersion::as_u8),
            [69, 68, 67, 66]
        );
    }

    #[test]
    fn message_counts_match_geth_protocol_lengths() {
        let counts: Vec<(u8, u8)> = EthVersion::ALL
            .iter()
            .rev()
            .map(|v| (v.as_u8(), v.message_count()))
            .collect();
        assert_eq!(
            counts,
            [
                (66, 17),
                (67, 17),
                (68, 17),
                (69, 18),
                (70, 18),
                (71, 20),
                (72, 22)
            ]
        );
    }

    #[test]
    fn feature_predicates() {
        assert!(EthVersion::Eth68.has_legacy_status());
        assert!(!EthVersion::Eth69.has_legacy_status());
        assert!(EthVersion::Eth69.has_block_range());
        assert!(!EthVersion::Eth69.has_partial_receipts());
        assert!(EthVersion::Eth70.has_partial_receipts());
    }
}
