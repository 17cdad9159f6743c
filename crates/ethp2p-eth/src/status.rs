//! The `Status` handshake message and the rules for accepting a peer's.
//!
//! Two wire formats exist:
//!
//! - eth/66–68: `[version: P, networkid: P, td: P, blockhash: B_32, genesis: B_32, forkid]`
//! - eth/69+ (EIP-7642): `[version: P, networkid: P, genesis: B_32, forkid,
//!   earliestBlock: P, latestBlock: P, latestBlockHash: B_32]`
//!
//! [`Status`] holds the fields of both, so that the node can keep one local
//! Status and offer it in whatever version a connection negotiates. Its
//! `version` field picks the format when encoding; the negotiated version
//! picks it when decoding.
//!
//! **Extra list elements are rejected.** geth decodes Status into a plain
//! struct (no `rlp:"tail"` field), which fails with "input list has too many
//! elements"; reth's derived decoder does the same. Accepting a tail that the
//! two main clients reject would buy nothing, so decoding is strict, and
//! bytes after the Status list are rejected too.

use alloy_primitives::{B256, U256};
use alloy_rlp::{BufMut, Encodable};

use crate::{
    forkid::{ForkFilter, ForkId, ForkValidationError},
    message::{
        announce::validate_block_range, raw::list_length, raw::Decoder, BlockRangeError,
        BlockRangeUpdate, EthMessageError,
    },
    version::EthVersion,
};

/// Largest total difficulty bit length accepted in a legacy Status (reth's
/// handshake rejects more than 160 bits).
pub const MAX_TOTAL_DIFFICULTY_BITS: usize = 160;

/// The eth `Status` message, in either format.
///
/// Fields of the format not selected by `version` are ignored when encoding,
/// and are zero after decoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Status {
    /// Protocol version the sender speaks on this connection (the raw wire
    /// value; see [`Status::eth_version`]). `>= 69` selects the eth/69 format.
    pub version: u8,
    /// Network id (1 for mainnet).
    pub network_id: u64,
    /// Hash of the genesis block.
    pub genesis: B256,
    /// EIP-2124 fork identifier.
    pub fork_id: ForkId,
    /// eth/66–68: total difficulty of the best chain.
    pub total_difficulty: U256,
    /// eth/66–68: hash of the best known block (`blockhash`).
    pub best_hash: B256,
    /// eth/69+: earliest block whose body and receipts are served.
    pub earliest_block: u64,
    /// eth/69+: latest block number.
    pub latest_block: u64,
    /// eth/69+: hash of the latest block.
    pub latest_block_hash: B256,
}

impl Status {
    /// The version as an [`EthVersion`], if it names one.
    pub fn eth_version(&self) -> Option<EthVersion> {
        EthVersion::try_from(self.version).ok()
    }

    /// This Status, to be sent on a connection that negotiated `version`.
    #[must_use]
    pub fn with_version(mut self, version: EthVersion) -> Self {
        self.version = version.as_u8();
        self
    }

    /// Sets the head in both formats: `best_hash` and the latest block.
    pub fn set_head(&mut self, number: u64, hash: B256) {
        self.best_hash = hash;
        self.latest_block = number;
        self.latest_block_hash = hash;
    }

    /// Whether the legacy (eth/66–68) format is selected.
    pub const fn is_legacy(&self) -> bool {
        self.version < 69
    }

    /// The eth/69 block range fields as a [`BlockRangeUpdate`].
    pub const fn block_range(&self) -> BlockRangeUpdate {
        BlockRangeUpdate {
            earliest: self.earliest_block,
            latest: self.latest_block,
            latest_hash: self.latest_block_hash,
        }
    }

    /// Decodes a Status received on a connection that negotiated `version`:
    /// one list in that version's format, nothing after it.
    pub fn decode(version: EthVersion, payload: &[u8]) -> Result<Self, EthMessageError> {
        let mut d = Decoder::from_slice(payload, "Status");
        let status = Self::decode_from(version, &mut d)?;
        d.finish_message()?;
        Ok(status)
    }

    pub(crate) fn decode_from(
        version: EthVersion,
        d: &mut Decoder<'_>,
    ) -> Result<Self, EthMessageError> {
        let mut list = d.list()?;
        let mut status = Self {
            version: list.value()?,
            network_id: list.value()?,
            ..Self::default()
        };
        if version.has_legacy_status() {
            status.total_difficulty = list.value()?;
            status.best_hash = list.value()?;
            status.genesis = list.value()?;
            status.fork_id = list.value()?;
        } else {
            status.genesis = list.value()?;
            status.fork_id = list.value()?;
            status.earliest_block = list.value()?;
            status.latest_block = list.value()?;
            status.latest_block_hash = list.value()?;
        }
        list.finish_list()?;
        Ok(status)
    }

    fn fields_length(&self) -> usize {
        let common = self.version.length()
            + self.network_id.length()
            + self.genesis.length()
            + self.fork_id.length();
        if self.is_legacy() {
            common + self.total_difficulty.length() + self.best_hash.length()
        } else {
            common
                + self.earliest_block.length()
                + self.latest_block.length()
                + self.latest_block_hash.length()
        }
    }
}

impl Encodable for Status {
    fn encode(&self, out: &mut dyn BufMut) {
        alloy_rlp::Header {
            list: true,
            payload_length: self.fields_length(),
        }
        .encode(out);
        self.version.encode(out);
        self.network_id.encode(out);
        if self.is_legacy() {
            self.total_difficulty.encode(out);
            self.best_hash.encode(out);
            self.genesis.encode(out);
            self.fork_id.encode(out);
        } else {
            self.genesis.encode(out);
            self.fork_id.encode(out);
            self.earliest_block.encode(out);
            self.latest_block.encode(out);
            self.latest_block_hash.encode(out);
        }
    }

    fn length(&self) -> usize {
        list_length(self.fields_length())
    }
}

/// Why a remote Status is not acceptable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StatusError {
    /// The peer is on another network.
    #[error("network id mismatch: remote {remote}, local {local}")]
    NetworkIdMismatch {
        /// Our network id.
        local: u64,
        /// The peer's network id.
        remote: u64,
    },
    /// The Status names another version than the one negotiated in the Hello.
    #[error("protocol version mismatch: remote status says {remote}, negotiated {negotiated}")]
    VersionMismatch {
        /// The version negotiated for this connection.
        negotiated: EthVersion,
        /// The version in the peer's Status.
        remote: u8,
    },
    /// The peer has another genesis block.
    #[error("genesis mismatch: remote {remote}, local {local}")]
    GenesisMismatch {
        /// Our genesis hash.
        local: B256,
        /// The peer's genesis hash.
        remote: B256,
    },
    /// The fork filter rejected the peer's fork id (EIP-2124).
    #[error("fork id rejected: {0}")]
    ForkIdRejected(#[source] ForkValidationError),
    /// eth/69+: the block range is invalid.
    #[error("invalid block range in status: {0}")]
    InvalidBlockRange(#[source] BlockRangeError),
    /// eth/66–68: the total difficulty is implausibly large.
    #[error("total difficulty has {bits} bits, more than {MAX_TOTAL_DIFFICULTY_BITS}")]
    TotalDifficultyTooLarge {
        /// Bit length of the peer's total difficulty.
        bits: usize,
    },
}

/// Checks a peer's Status against ours, in geth's order (`readStatus`):
/// network id, version (against the negotiated one), genesis, fork id (with
/// `fork_filter`), then for eth/69+ the block range (`earliest ≤ latest`,
/// latest hash non-zero) and for eth/66–68 the total difficulty (at most 160
/// bits, as reth checks).
pub fn validate_status(
    local: &Status,
    remote: &Status,
    negotiated: EthVersion,
    fork_filter: &ForkFilter,
) -> Result<(), StatusError> {
    if remote.network_id != local.network_id {
        return Err(StatusError::NetworkIdMismatch {
            local: local.network_id,
            remote: remote.network_id,
        });
    }
    if remote.version != negotiated.as_u8() {
        return Err(StatusError::VersionMismatch {
            negotiated,
            remote: remote.version,
        });
    }
    if remote.genesis != local.genesis {
        return Err(StatusError::GenesisMismatch {
            local: local.genesis,
            remote: remote.genesis,
        });
    }
    fork_filter
        .validate(remote.fork_id)
        .map_err(StatusError::ForkIdRejected)?;
    if negotiated.has_block_range() {
        validate_block_range(
            remote.earliest_block,
            remote.latest_block,
            &remote.latest_block_hash,
        )
        .map_err(StatusError::InvalidBlockRange)?;
    } else {
        let bits = remote.total_difficulty.bit_len();
        if bits > MAX_TOTAL_DIFFICULTY_BITS {
            return Err(StatusError::TotalDifficultyTooLarge { bits });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use alloy_primitives::b256;

    use super::*;
    use crate::forkid::{ForkActivation, ForkHash, Head};

    const MAINNET_GENESIS: B256 =
        b256!("d4e56740f876aef8c010b86a40d5f56745a118d0906a34e69aec8c0db1cb8fa3");
    const HEAD: B256 = b256!("feb27336ca7923f8fab3bd617fcb6e75841538f71c1bcfc267d7838489d9e13d");

    fn hex(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    fn legacy() -> Status {
        Status {
            version: 68,
            network_id: 1,
            genesis: MAINNET_GENESIS,
            fork_id: ForkId {
                hash: ForkHash([0xfc, 0x64, 0xec, 0x04]),
                next: 1_150_000,
            },
            total_difficulty: U256::from(0x04_0000_0000u64),
            best_hash: HEAD,
            ..Status::default()
        }
    }

    fn eth69() -> Status {
        Status {
            version: 69,
            network_id: 1,
            genesis: MAINNET_GENESIS,
            fork_id: ForkId {
                hash: ForkHash([0x9f, 0x3d, 0x22, 0x54]),
                next: 0,
            },
            earliest_block: 0,
            latest_block: 0x1234,
            latest_block_hash: HEAD,
            ..Status::default()
        }
    }

    /// `[68, 1, 0x0400000000, head, genesis, [0xfc64ec04, 1150000]]`
    fn legacy_bytes() -> Vec<u8> {
        hex(
            &format!("f8544401850400000000a0{HEAD:x}a0{MAINNET_GENESIS:x}c984fc64ec0483118c30")
                .replace("0x", ""),
        )
    }

    /// `[69, 1, genesis, [0x9f3d2254, 0], 0, 0x1234, head]`
    fn eth69_bytes() -> Vec<u8> {
        hex(
            &format!("f84f4501a0{MAINNET_GENESIS:x}c6849f3d22548080821234a0{HEAD:x}")
                .replace("0x", ""),
        )
    }

    #[test]
    fn legacy_status_vector() {
        let status = legacy();
        assert_eq!(alloy_rlp::encode(status), legacy_bytes());
        assert_eq!(status.length(), legacy_bytes().len());
        for v in [EthVersion::Eth66, EthVersion::Eth67, EthVersion::Eth68] {
            let decoded = Status::decode(v, &legacy_bytes()).unwrap();
            assert_eq!(decoded, status);
        }
        // the eth/69 decoder does not accept the legacy layout
        assert!(Status::decode(EthVersion::Eth69, &legacy_bytes()).is_err());
    }

    #[test]
    fn eth69_status_vector() {
        let status = eth69();
        assert_eq!(alloy_rlp::encode(status), eth69_bytes());
        for v in [
            EthVersion::Eth69,
            EthVersion::Eth70,
            EthVersion::Eth71,
            EthVersion::Eth72,
        ] {
            assert_eq!(Status::decode(v, &eth69_bytes()).unwrap(), status);
        }
        assert!(Status::decode(EthVersion::Eth68, &eth69_bytes()).is_err());
    }

    #[test]
    fn one_status_serves_both_formats() {
        let mut local = Status {
            network_id: 1,
            genesis: MAINNET_GENESIS,
            ..Status::default()
        };
        local.set_head(0x1234, HEAD);
        local.total_difficulty = U256::from(7u64);
        for v in EthVersion::ALL {
            let offered = local.with_version(v);
            assert_eq!(offered.eth_version(), Some(v));
            let bytes = alloy_rlp::encode(offered);
            let decoded = Status::decode(v, &bytes).unwrap();
            assert_eq!(decoded.version, v.as_u8());
            if v.has_legacy_status() {
                assert_eq!(
                    (decoded.total_difficulty, decoded.best_hash),
                    (U256::from(7u64), HEAD)
                );
                assert_eq!(decoded.latest_block, 0);
            } else {
                assert_eq!(decoded.block_range(), local.block_range());
                assert_eq!(decoded.total_difficulty, U256::ZERO);
            }
        }
    }

    #[test]
    fn extra_elements_and_trailing_bytes_are_rejected() {
        // one more element in the list
        let mut bytes = eth69_bytes();
        bytes[1] += 1;
        bytes.push(0x01);
        assert!(matches!(
            Status::decode(EthVersion::Eth69, &bytes),
            Err(EthMessageError::Rlp {
                message: "Status",
                ..
            })
        ));
        // bytes after the list
        let mut bytes = legacy_bytes();
        bytes.push(0x80);
        assert_eq!(
            Status::decode(EthVersion::Eth68, &bytes),
            Err(EthMessageError::TrailingBytes {
                message: "Status",
                len: 1
            })
        );
        // a missing element
        let mut bytes = eth69_bytes();
        bytes.truncate(bytes.len() - 33);
        bytes[1] -= 33;
        assert!(Status::decode(EthVersion::Eth69, &bytes).is_err());
        // a version that does not fit a byte
        let bytes = hex("c58201000180");
        assert!(Status::decode(EthVersion::Eth69, &bytes).is_err());
    }

    fn mainnet_filter() -> ForkFilter {
        // Frontier-era mainnet: Homestead at 1150000 and DAO at 1920000.
        let head = Head {
            number: 1_000_000,
            ..Head::default()
        };
        ForkFilter::new(
            MAINNET_GENESIS,
            0,
            head,
            [
                ForkActivation::Block(1_150_000),
                ForkActivation::Block(1_920_000),
            ],
        )
    }

    fn remote_for(filter: &ForkFilter, version: EthVersion) -> Status {
        let base = if version.has_legacy_status() {
            legacy()
        } else {
            eth69()
        };
        Status {
            fork_id: filter.current(),
            ..base
        }
        .with_version(version)
    }

    #[test]
    fn validate_status_accepts_a_matching_peer() {
        let filter = mainnet_filter();
        assert_eq!(
            filter.current(),
            ForkId {
                hash: ForkHash([0xfc, 0x64, 0xec, 0x04]),
                next: 1_150_000
            }
        );
        for v in EthVersion::ALL {
            let local = remote_for(&filter, v);
            let remote = remote_for(&filter, v);
            assert_eq!(validate_status(&local, &remote, v, &filter), Ok(()), "{v}");
        }
    }

    #[test]
    fn validate_status_checks_in_geth_order() {
        let filter = mainnet_filter();
        let v = EthVersion::Eth69;
        let local = remote_for(&filter, v);
        let good = remote_for(&filter, v);

        // Everything wrong: the network id is reported first.
        let all_wrong = Status {
            network_id: 5,
            version: 68,
            genesis: HEAD,
            fork_id: ForkId {
                hash: ForkHash([1, 2, 3, 4]),
                next: 0,
            },
            earliest_block: 10,
            latest_block: 1,
            latest_block_hash: B256::ZERO,
            ..good
        };
        assert_eq!(
            validate_status(&local, &all_wrong, v, &filter),
            Err(StatusError::NetworkIdMismatch {
                local: 1,
                remote: 5
            })
        );
        let rest = Status {
            network_id: 1,
            ..all_wrong
        };
        assert_eq!(
            validate_status(&local, &rest, v, &filter),
            Err(StatusError::VersionMismatch {
                negotiated: v,
                remote: 68
            })
        );
        let rest = Status {
            version: 69,
            ..rest
        };
        assert_eq!(
            validate_status(&local, &rest, v, &filter),
            Err(StatusError::GenesisMismatch {
                local: MAINNET_GENESIS,
                remote: HEAD
            })
        );
        let rest = Status {
            genesis: MAINNET_GENESIS,
            ..rest
        };
        assert!(matches!(
            validate_status(&local, &rest, v, &filter),
            Err(StatusError::ForkIdRejected(_))
        ));
        let rest = Status {
            fork_id: filter.current(),
            ..rest
        };
        assert_eq!(
            validate_status(&local, &rest, v, &filter),
            Err(StatusError::InvalidBlockRange(
                BlockRangeError::EarliestAfterLatest {
                    earliest: 10,
                    latest: 1
                }
            ))
        );
        let rest = Status {
            earliest_block: 0,
            ..rest
        };
        assert_eq!(
            validate_status(&local, &rest, v, &filter),
            Err(StatusError::InvalidBlockRange(
                BlockRangeError::ZeroLatestHash
            ))
        );
        let rest = Status {
            latest_block_hash: HEAD,
            ..rest
        };
        assert_eq!(validate_status(&local, &rest, v, &filter), Ok(()));
    }

    #[test]
    fn validate_status_legacy_total_difficulty() {
        let filter = mainnet_filter();
        let v = EthVersion::Eth68;
        let local = remote_for(&filter, v);
        let at_limit = Status {
            total_difficulty: (U256::from(1u64) << 160) - U256::from(1u64),
            ..local
        };
        assert_eq!(validate_status(&local, &at_limit, v, &filter), Ok(()));
        let over = Status {
            total_difficulty: U256::from(1u64) << 160,
            ..local
        };
        assert_eq!(
            validate_status(&local, &over, v, &filter),
            Err(StatusError::TotalDifficultyTooLarge { bits: 161 })
        );
        // the block range is not checked for legacy versions (it is not on the wire)
        let no_range = Status {
            latest_block_hash: B256::ZERO,
            earliest_block: 9,
            ..local
        };
        assert_eq!(validate_status(&local, &no_range, v, &filter), Ok(()));
    }

    #[test]
    fn validate_status_fork_rules() {
        let filter = mainnet_filter();
        let v = EthVersion::Eth68;
        let local = remote_for(&filter, v);
        // a remote on the same fork that announces a different next fork we have not passed: fine
        let other_next = Status {
            fork_id: ForkId {
                next: 1_200_000,
                ..filter.current()
            },
            ..local
        };
        assert_eq!(validate_status(&local, &other_next, v, &filter), Ok(()));
        // a remote on an unknown fork hash: rejected
        let unknown = Status {
            fork_id: ForkId {
                hash: ForkHash([0xde, 0xad, 0xbe, 0xef]),
                next: 0,
            },
            ..local
        };
        assert!(matches!(
            validate_status(&local, &unknown, v, &filter),
            Err(StatusError::ForkIdRejected(
                ForkValidationError::LocalIncompatibleOrStale { .. }
            ))
        ));
    }

    #[test]
    fn errors_display() {
        let err = StatusError::VersionMismatch {
            negotiated: EthVersion::Eth69,
            remote: 68,
        };
        assert_eq!(
            err.to_string(),
            "protocol version mismatch: remote status says 68, negotiated eth/69"
        );
        let err = StatusError::TotalDifficultyTooLarge { bits: 200 };
        assert_eq!(
            err.to_string(),
            "total difficulty has 200 bits, more than 160"
        );
    }
}
