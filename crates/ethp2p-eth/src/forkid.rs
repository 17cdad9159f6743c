//! Fork identifiers (EIP-2124) and the fork filter that validates a remote's.
//!
//! A fork identifier summarises a chain's configuration in two numbers:
//!
//! - `FORK_HASH`: the IEEE CRC32 of the genesis hash, continued with every fork
//!   activation the local head has already passed, each as a big-endian `u64`;
//! - `FORK_NEXT`: the activation of the next fork not yet passed, or 0.
//!
//! EIP-6122 extends this to post-merge forks, which are scheduled by block
//! timestamp instead of block number: every block-based activation is
//! checksummed first (ascending), then every timestamp-based one (ascending).
//!
//! [`ForkFilter`] keeps the local fork schedule and head, answers the local
//! [`ForkId`] and decides whether a remote [`ForkId`] is compatible.

use alloy_primitives::{B256, U256};
use alloy_rlp::{RlpDecodable, RlpDecodableWrapper, RlpEncodable, RlpEncodableWrapper};
use core::fmt;

/// Remote `FORK_NEXT` values above this are taken to be timestamps rather than
/// block numbers when checking whether the local node already passed them.
///
/// `FORK_NEXT` does not say whether it counts blocks or seconds; go-ethereum
/// splits the two ranges at this value (mainnet's launch, 2015-07-30 UTC), and
/// no block-number fork will ever come near it.
pub const TIMESTAMP_THRESHOLD: u64 = 1_438_269_973;

/// CRC32 checksum of the genesis hash and the fork blocks/timestamps passed so far.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, Default, RlpEncodableWrapper, RlpDecodableWrapper,
)]
pub struct ForkHash(pub [u8; 4]);

impl ForkHash {
    /// The fork hash of a chain that has passed no fork yet: the CRC32 of its
    /// genesis hash.
    pub fn from_genesis(genesis_hash: B256) -> Self {
        Self(crc32fast::hash(genesis_hash.as_slice()).to_be_bytes())
    }

    /// The fork hash after one more fork: the checksum continued with the
    /// fork's activation (block number or timestamp) as a big-endian `u64`.
    #[must_use]
    pub fn with_fork(self, activation: u64) -> Self {
        let mut hasher = crc32fast::Hasher::new_with_initial(self.to_u32());
        hasher.update(&activation.to_be_bytes());
        Self(hasher.finalize().to_be_bytes())
    }

    /// The checksum as a number (the four bytes read big-endian).
    pub const fn to_u32(self) -> u32 {
        u32::from_be_bytes(self.0)
    }
}

impl From<B256> for ForkHash {
    /// Same as [`ForkHash::from_genesis`].
    fn from(genesis_hash: B256) -> Self {
        Self::from_genesis(genesis_hash)
    }
}

impl From<u32> for ForkHash {
    /// The fork hash whose big-endian bytes are `checksum`.
    fn from(checksum: u32) -> Self {
        Self(checksum.to_be_bytes())
    }
}

impl From<ForkHash> for u32 {
    fn from(hash: ForkHash) -> Self {
        hash.to_u32()
    }
}

impl fmt::Display for ForkHash {
    /// `0x` followed by eight lowercase hex digits, e.g. `0xfc64ec04`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:08x}", self.to_u32())
    }
}

/// The EIP-2124 fork identifier: `[hash, next]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, RlpEncodable, RlpDecodable)]
pub struct ForkId {
    /// Checksum of the genesis and the forks passed.
    pub hash: ForkHash,
    /// Block number or timestamp of the next fork, 0 if none is known.
    pub next: u64,
}

impl fmt::Display for ForkId {
    /// `hash=0x…, next=…`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "hash={}, next={}", self.hash, self.next)
    }
}

/// The local chain head, as the fork filter needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Head {
    /// Block number of the head.
    pub number: u64,
    /// Timestamp of the head block, in seconds since the Unix epoch.
    pub timestamp: u64,
    /// Hash of the head block.
    pub hash: B256,
    /// Total difficulty of the chain up to and including the head.
    pub total_difficulty: U256,
}

/// When a fork activates: at a block number (pre-merge forks) or at a block
/// timestamp (post-merge forks, EIP-6122).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ForkActivation {
    /// Active from the block with this number on.
    Block(u64),
    /// Active from the first block whose timestamp is at least this value.
    Timestamp(u64),
}

impl ForkActivation {
    /// The block number or timestamp, as fed into the fork hash.
    pub const fn value(self) -> u64 {
        match self {
            Self::Block(n) | Self::Timestamp(n) => n,
        }
    }

    /// Whether this fork is block-number based.
    pub const fn is_block(self) -> bool {
        matches!(self, Self::Block(_))
    }

    /// Whether this fork is timestamp based.
    pub const fn is_timestamp(self) -> bool {
        matches!(self, Self::Timestamp(_))
    }

    /// Whether a head at `number` / `timestamp` has passed this fork.
    pub const fn is_active_at(self, number: u64, timestamp: u64) -> bool {
        match self {
            Self::Block(n) => number >= n,
            Self::Timestamp(t) => timestamp >= t,
        }
    }
}

/// The local fork id changed because the head moved across a fork.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ForkTransition {
    /// The fork id for the new head.
    pub current: ForkId,
    /// The fork id before the head moved.
    pub past: ForkId,
}

/// Why a remote fork id was rejected (EIP-2124 validation rules).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ForkValidationError {
    /// The remote is on a fork we passed, but does not announce the fork that
    /// followed it for us: its software is too old to follow the chain.
    #[error("remote fork id ({remote}) is stale: it does not announce the next local fork (local {local})")]
    RemoteStale {
        /// The local fork id at the time of validation.
        local: ForkId,
        /// The fork id announced by the remote.
        remote: ForkId,
    },
    /// The remote is on a chain whose forks cannot be reconciled with ours, or
    /// announces a fork we already passed without knowing it: either the
    /// chains differ or the local software is too old.
    #[error("remote fork id ({remote}) is incompatible with the local one ({local}), or the local software is stale")]
    LocalIncompatibleOrStale {
        /// The local fork id at the time of validation.
        local: ForkId,
        /// The fork id announced by the remote.
        remote: ForkId,
    },
}

/// The local fork schedule and head, used to compute the local [`ForkId`] and
/// to validate the ones announced by remote peers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForkFilter {
    /// Every fork that counts, in checksum order: block-based ascending, then
    /// timestamp-based ascending. Duplicates and genesis forks are removed.
    forks: Vec<ForkActivation>,
    /// `sums[i]` is the fork hash once the first `i` forks have passed, so
    /// `sums.len() == forks.len() + 1` and `sums[0]` is the genesis checksum.
    sums: Vec<ForkHash>,
    /// How many entries at the front of `forks` are block-based.
    block_forks: usize,
    /// The local head.
    head: Head,
    /// How many forks (in checksum order) the head has passed.
    passed: usize,
}

impl ForkFilter {
    /// Builds a filter for the chain with this genesis and fork schedule.
    ///
    /// Forks at block 0, and timestamp forks at or before `genesis_timestamp`,
    /// are part of the genesis rules and not counted; an activation listed
    /// more than once (several forks at the same block or time) is counted
    /// once. Whatever the order of `forks`, the block-based ones are
    /// checksummed before the timestamp-based ones (EIP-6122).
    pub fn new(
        genesis_hash: B256,
        genesis_timestamp: u64,
        head: Head,
        forks: impl IntoIterator<Item = ForkActivation>,
    ) -> Self {
        let mut blocks = Vec::new();
        let mut times = Vec::new();
        for fork in forks {
            match fork {
                ForkActivation::Block(number) if number > 0 => blocks.push(number),
                ForkActivation::Timestamp(time) if time > genesis_timestamp => times.push(time),
                _ => {}
            }
        }
        blocks.sort_unstable();
        blocks.dedup();
        times.sort_unstable();
        times.dedup();

        let block_forks = blocks.len();
        let forks: Vec<ForkActivation> = blocks
            .into_iter()
            .map(ForkActivation::Block)
            .chain(times.into_iter().map(ForkActivation::Timestamp))
            .collect();

        let mut sums = Vec::with_capacity(forks.len() + 1);
        let mut hash = ForkHash::from_genesis(genesis_hash);
        sums.push(hash);
        for fork in &forks {
            hash = hash.with_fork(fork.value());
            sums.push(hash);
        }

        let mut filter = Self {
            forks,
            sums,
            block_forks,
            head,
            passed: 0,
        };
        filter.passed = filter.passed_at(head.number, head.timestamp);
        filter
    }

    /// The local fork id at the current head.
    pub fn current(&self) -> ForkId {
        self.id_after(self.passed)
    }

    /// The local fork id a head at `number` / `timestamp` would have.
    pub fn fork_id_at(&self, number: u64, timestamp: u64) -> ForkId {
        self.id_after(self.passed_at(number, timestamp))
    }

    /// The current local head.
    pub const fn head(&self) -> &Head {
        &self.head
    }

    /// The forks that count towards the fork hash, in checksum order.
    pub fn forks(&self) -> &[ForkActivation] {
        &self.forks
    }

    /// Moves the local head. Returns the old and new fork ids if the head
    /// crossed a fork (the fork id changed), `None` otherwise.
    pub fn set_head(&mut self, head: Head) -> Option<ForkTransition> {
        let past = self.current();
        self.head = head;
        self.passed = self.passed_at(head.number, head.timestamp);
        let current = self.current();
        (current != past).then_some(ForkTransition { current, past })
    }

    /// Checks a remote fork id against the local schedule and head, following
    /// the EIP-2124 rules (with EIP-6122 timestamps):
    ///
    /// 1. Same fork hash as ours: accept, unless the remote announces a next
    ///    fork that the local head has already passed (1a).
    /// 2. The hash of one of our past states: accept only if the remote's
    ///    next fork is the one that followed that state for us.
    /// 3. The hash of one of our future states: accept (we are syncing).
    /// 4. Anything else: reject.
    pub fn validate(&self, remote: ForkId) -> Result<(), ForkValidationError> {
        let current = self.passed;
        let local = self.current();

        // Rule 1: same fork state.
        if self.sums.get(current) == Some(&remote.hash) {
            if remote.next != 0 && self.has_passed_remote_next(remote.next) {
                return Err(ForkValidationError::LocalIncompatibleOrStale { local, remote });
            }
            return Ok(());
        }

        // Rule 2: the remote is behind us, on a state we already passed.
        let past = self
            .sums
            .iter()
            .take(current)
            .position(|sum| *sum == remote.hash);
        if let Some(index) = past {
            let followed_by = self.forks.get(index).map(|fork| fork.value());
            if followed_by != Some(remote.next) {
                return Err(ForkValidationError::RemoteStale { local, remote });
            }
            return Ok(());
        }

        // Rule 3: the remote is ahead of us, on a state we will reach.
        if self
            .sums
            .iter()
            .skip(current + 1)
            .any(|sum| *sum == remote.hash)
        {
            return Ok(());
        }

        // Rule 4.
        Err(ForkValidationError::LocalIncompatibleOrStale { local, remote })
    }

    /// Whether the local head is at or past a remote's announced next fork.
    ///
    /// The head is measured in the unit of the local fork stage: its block
    /// number while block-based forks remain (or when the schedule has no
    /// timestamp fork at all), its timestamp after that. A `next` that can
    /// only be a timestamp is also checked against the head timestamp.
    fn has_passed_remote_next(&self, next: u64) -> bool {
        let in_block_stage = self.passed < self.block_forks || self.block_forks == self.forks.len();
        let head = if in_block_stage {
            self.head.number
        } else {
            self.head.timestamp
        };
        head >= next || (next > TIMESTAMP_THRESHOLD && self.head.timestamp >= next)
    }

    /// How many forks, in checksum order, a head at `number` / `timestamp`
    /// has passed. Timestamp forks only count once every block fork passed.
    fn passed_at(&self, number: u64, timestamp: u64) -> usize {
        self.forks
            .iter()
            .take_while(|fork| fork.is_active_at(number, timestamp))
            .count()
    }

    /// The fork id once the first `passed` forks have passed.
    fn id_after(&self, passed: usize) -> ForkId {
        ForkId {
            hash: self.sums.get(passed).copied().unwrap_or_default(),
            next: self.forks.get(passed).map_or(0, |fork| fork.value()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{b256, hex};
    use alloy_rlp::{Decodable, Encodable};

    use ForkActivation::{Block, Timestamp};

    // Genesis hashes, from go-ethereum params/config.go.
    const MAINNET_GENESIS: B256 =
        b256!("d4e56740f876aef8c010b86a40d5f56745a118d0906a34e69aec8c0db1cb8fa3");
    const ROPSTEN_GENESIS: B256 =
        b256!("41941023680923e0fe4d74a34bdac8141f2540e3ae90623718e47d66d1ca4a2d");
    const RINKEBY_GENESIS: B256 =
        b256!("6341fd3daf94b748c72ced5a5b26028f2474f5f00d824504e4fa37a75767e177");
    const GOERLI_GENESIS: B256 =
        b256!("bf7e331f7f7c1dd2e05159666b3bf8bc7a8a3a9eb1d518969eab529dd9b88c1a");

    /// Mainnet block forks up to Petersburg, the cap EIP-2124 was written at:
    /// Homestead, DAO, Tangerine Whistle, Spurious Dragon (EIP-155 and EIP-158
    /// at the same block), Byzantium, Constantinople and Petersburg (same block).
    const MAINNET_PETERSBURG: [u64; 8] = [
        1_150_000, 1_920_000, 2_463_000, 2_675_000, 2_675_000, 4_370_000, 7_280_000, 7_280_000,
    ];

    /// Mainnet block forks through Gray Glacier (go-ethereum params/config.go):
    /// the above plus Istanbul, Muir Glacier, Berlin, London, Arrow Glacier
    /// and Gray Glacier.
    const MAINNET_BLOCKS: [u64; 14] = [
        1_150_000, 1_920_000, 2_463_000, 2_675_000, 4_370_000, 7_280_000, 7_280_000, 9_069_000,
        9_200_000, 12_244_000, 12_965_000, 13_773_000, 15_050_000, 15_050_000,
    ];

    /// Mainnet timestamp forks (go-ethereum params/config.go): Shanghai,
    /// Cancun, Prague, Osaka, BPO1, BPO2.
    const MAINNET_TIMES: [u64; 6] = [
        1_681_338_455,
        1_710_338_135,
        1_746_612_311,
        1_764_798_551,
        1_765_290_071,
        1_767_747_671,
    ];

    fn id(hash: u32, next: u64) -> ForkId {
        ForkId {
            hash: ForkHash::from(hash),
            next,
        }
    }

    fn head(number: u64, timestamp: u64) -> Head {
        Head {
            number,
            timestamp,
            ..Head::default()
        }
    }

    fn blocks(numbers: &[u64]) -> Vec<ForkActivation> {
        numbers.iter().copied().map(Block).collect()
    }

    fn filter(
        genesis: B256,
        forks: Vec<ForkActivation>,
        number: u64,
        timestamp: u64,
    ) -> ForkFilter {
        ForkFilter::new(genesis, 0, head(number, timestamp), forks)
    }

    fn mainnet_petersburg(number: u64) -> ForkFilter {
        filter(MAINNET_GENESIS, blocks(&MAINNET_PETERSBURG), number, 0)
    }

    /// Mainnet without any timestamp fork (go-ethereum's `legacyConfig`).
    fn mainnet_legacy(number: u64) -> ForkFilter {
        filter(MAINNET_GENESIS, blocks(&MAINNET_BLOCKS), number, 0)
    }

    fn mainnet(number: u64, timestamp: u64) -> ForkFilter {
        let mut forks = blocks(&MAINNET_BLOCKS);
        forks.extend(MAINNET_TIMES.iter().copied().map(Timestamp));
        filter(MAINNET_GENESIS, forks, number, timestamp)
    }

    fn check_creation(filter: &ForkFilter, cases: &[(u64, u64, u32, u64)]) {
        for &(number, timestamp, hash, next) in cases {
            let want = id(hash, next);
            assert_eq!(
                filter.fork_id_at(number, timestamp),
                want,
                "head #{number} @{timestamp}: want {want}"
            );
            let mut moved = filter.clone();
            moved.set_head(head(number, timestamp));
            assert_eq!(
                moved.current(),
                want,
                "after set_head #{number} @{timestamp}"
            );
        }
    }

    type ValidationCase = (
        u64,
        u64,
        ForkId,
        Option<fn(ForkId, ForkId) -> ForkValidationError>,
    );

    fn stale(local: ForkId, remote: ForkId) -> ForkValidationError {
        ForkValidationError::RemoteStale { local, remote }
    }

    fn incompatible(local: ForkId, remote: ForkId) -> ForkValidationError {
        ForkValidationError::LocalIncompatibleOrStale { local, remote }
    }

    fn check_validation(make: impl Fn(u64, u64) -> ForkFilter, cases: &[ValidationCase]) {
        for (i, &(number, timestamp, remote, want)) in cases.iter().enumerate() {
            let filter = make(number, timestamp);
            let want = want.map(|err| err(filter.current(), remote));
            assert_eq!(
                filter.validate(remote).err(),
                want,
                "case {i}: head #{number} @{timestamp}, remote {remote}"
            );
        }
    }

    #[test]
    fn fork_hash_basics() {
        // EIP-2124 "Specification": forkhash0..2 for mainnet.
        let genesis = ForkHash::from(MAINNET_GENESIS);
        assert_eq!(genesis, ForkHash::from(0xfc64ec04));
        let homestead = genesis.with_fork(1_150_000);
        assert_eq!(homestead, ForkHash::from(0x97c2c34c));
        assert_eq!(homestead.with_fork(1_920_000), ForkHash::from(0x91d1f948));
        // EIP-6122 "Specification": a timestamp fork at 1668000000 on top of
        // Homestead.
        assert_eq!(
            homestead.with_fork(1_668_000_000),
            ForkHash::from(0xcb37b2ee)
        );

        assert_eq!(genesis.to_string(), "0xfc64ec04");
        assert_eq!(ForkHash::from(0x0eb440f6).to_string(), "0x0eb440f6");
        assert_eq!(u32::from(ForkHash([0xde, 0xad, 0xbe, 0xef])), 0xdead_beef);
        assert_eq!(
            id(0xfc64ec04, 1_150_000).to_string(),
            "hash=0xfc64ec04, next=1150000"
        );
    }

    #[test]
    fn eip2124_creation_mainnet() {
        // EIP-2124 "Test Cases", mainnet at the Petersburg cap.
        check_creation(
            &mainnet_petersburg(0),
            &[
                (0, 0, 0xfc64ec04, 1_150_000),         // Unsynced
                (1_149_999, 0, 0xfc64ec04, 1_150_000), // Last Frontier block
                (1_150_000, 0, 0x97c2c34c, 1_920_000), // First Homestead block
                (1_919_999, 0, 0x97c2c34c, 1_920_000), // Last Homestead block
                (1_920_000, 0, 0x91d1f948, 2_463_000), // First DAO block
                (2_462_999, 0, 0x91d1f948, 2_463_000), // Last DAO block
                (2_463_000, 0, 0x7a64da13, 2_675_000), // First Tangerine block
                (2_674_999, 0, 0x7a64da13, 2_675_000), // Last Tangerine block
                (2_675_000, 0, 0x3edd5b10, 4_370_000), // First Spurious block
                (4_369_999, 0, 0x3edd5b10, 4_370_000), // Last Spurious block
                (4_370_000, 0, 0xa00bc324, 7_280_000), // First Byzantium block
                (7_279_999, 0, 0xa00bc324, 7_280_000), // Last Byzantium block
                (7_280_000, 0, 0x668db0af, 0),         // First Constantinople/Petersburg
                (7_987_396, 0, 0x668db0af, 0),         // Today Petersburg block
            ],
        );
    }

    #[test]
    fn eip2124_creation_testnets() {
        // EIP-2124 "Test Cases": Ropsten (Homestead and Tangerine at genesis,
        // Spurious at 10, Byzantium 1700000, Constantinople 4230000,
        // Petersburg 4939394).
        let ropsten = filter(
            ROPSTEN_GENESIS,
            blocks(&[0, 0, 10, 10, 1_700_000, 4_230_000, 4_939_394]),
            0,
            0,
        );
        check_creation(
            &ropsten,
            &[
                (0, 0, 0x30c7ddbc, 10),
                (9, 0, 0x30c7ddbc, 10),
                (10, 0, 0x63760190, 1_700_000),
                (1_699_999, 0, 0x63760190, 1_700_000),
                (1_700_000, 0, 0x3ea159c7, 4_230_000),
                (4_229_999, 0, 0x3ea159c7, 4_230_000),
                (4_230_000, 0, 0x97b544f3, 4_939_394),
                (4_939_393, 0, 0x97b544f3, 4_939_394),
                (4_939_394, 0, 0xd6e2149b, 0),
                (5_822_692, 0, 0xd6e2149b, 0),
            ],
        );

        // Rinkeby: Homestead 1, Tangerine 2, Spurious 3, Byzantium 1035301,
        // Constantinople 3660663, Petersburg 4321234.
        let rinkeby = filter(
            RINKEBY_GENESIS,
            blocks(&[1, 2, 3, 3, 1_035_301, 3_660_663, 4_321_234]),
            0,
            0,
        );
        check_creation(
            &rinkeby,
            &[
                (0, 0, 0x3b8e0691, 1),
                (1, 0, 0x60949295, 2),
                (2, 0, 0x8bde40dd, 3),
                (3, 0, 0xcb3a64bb, 1_035_301),
                (1_035_300, 0, 0xcb3a64bb, 1_035_301),
                (1_035_301, 0, 0x8d748b57, 3_660_663),
                (3_660_662, 0, 0x8d748b57, 3_660_663),
                (3_660_663, 0, 0xe49cab14, 4_321_234),
                (4_321_233, 0, 0xe49cab14, 4_321_234),
                (4_321_234, 0, 0xafec6b27, 0),
                (4_586_649, 0, 0xafec6b27, 0),
            ],
        );

        // Görli: every fork up to Petersburg at genesis.
        let goerli = filter(GOERLI_GENESIS, blocks(&[0; 7]), 0, 0);
        check_creation(
            &goerli,
            &[(0, 0, 0xa3f5ab08, 0), (795_329, 0, 0xa3f5ab08, 0)],
        );
    }

    #[test]
    fn eip2124_validation() {
        // EIP-2124 "Test Cases": a mainnet node at the Petersburg cap
        // validating remote fork ids. The spec's table lists the "remote
        // announces Byzantium + knowledge about Petersburg" case with the
        // Petersburg hash 0x668db0af; the Byzantium hash 0xa00bc324 is what its
        // comment describes and what go-ethereum's test uses, so it is used
        // here (with 0x668db0af rule 1a would reject it).
        let cases: &[ValidationCase] = &[
            // Local Petersburg, remote the same, no future fork announced.
            (7_987_396, 0, id(0x668db0af, 0), None),
            // Local Petersburg, remote the same plus an uncertain next fork.
            (7_987_396, 0, id(0x668db0af, u64::MAX), None),
            // Local Byzantium (aware of Petersburg), remote Byzantium unaware of it.
            (7_279_999, 0, id(0xa00bc324, 0), None),
            // Local Byzantium, remote Byzantium aware of Petersburg.
            (7_279_999, 0, id(0xa00bc324, 7_280_000), None),
            // Local Byzantium, remote Byzantium aware of some random fork.
            (7_279_999, 0, id(0xa00bc324, u64::MAX), None),
            // Local exactly on Petersburg, remote Byzantium + Petersburg: out of sync.
            (7_280_000, 0, id(0xa00bc324, 7_280_000), None),
            // Local Petersburg, remote Byzantium + Petersburg: out of sync.
            (7_987_396, 0, id(0xa00bc324, 7_280_000), None),
            // Local Petersburg, remote Spurious + Byzantium: out of sync.
            (7_987_396, 0, id(0x3edd5b10, 4_370_000), None),
            // Local Byzantium, remote Petersburg: local out of sync.
            (7_279_999, 0, id(0x668db0af, 0), None),
            // Local Spurious, remote Byzantium unaware of Petersburg: local out of sync.
            (4_369_999, 0, id(0xa00bc324, 0), None),
            // Local Petersburg, remote Byzantium unaware of further forks.
            (7_987_396, 0, id(0xa00bc324, 0), Some(stale)),
            // Local Petersburg unaware of more forks, remote Petersburg + 0xffffffff.
            (7_987_396, 0, id(0x5cddc0e1, 0), Some(incompatible)),
            // Local Byzantium aware of Petersburg, remote Petersburg + 0xffffffff.
            (7_279_999, 0, id(0x5cddc0e1, 0), Some(incompatible)),
            // Local mainnet Petersburg, remote Rinkeby Petersburg.
            (7_987_396, 0, id(0xafec6b27, 0), Some(incompatible)),
            // Local far in the future; remote announces a fork at 88888888 that
            // is in our past (rule 1a).
            (
                88_888_888,
                0,
                id(0x668db0af, 88_888_888),
                Some(incompatible),
            ),
            // Local Byzantium; remote Byzantium announcing a fork before Petersburg.
            (7_279_999, 0, id(0xa00bc324, 7_279_999), Some(incompatible)),
        ];
        check_validation(|number, _| mainnet_petersburg(number), cases);
    }

    #[test]
    fn geth_creation_mainnet() {
        // go-ethereum core/forkid/forkid_test.go TestCreation, mainnet, with the
        // blob-parameter-only forks (values as in go-ethereum v1.16/1.17).
        check_creation(
            &mainnet(0, 0),
            &[
                (0, 0, 0xfc64ec04, 1_150_000),                          // Unsynced
                (1_149_999, 0, 0xfc64ec04, 1_150_000),                  // Last Frontier
                (1_150_000, 0, 0x97c2c34c, 1_920_000),                  // First Homestead
                (1_919_999, 0, 0x97c2c34c, 1_920_000),                  // Last Homestead
                (1_920_000, 0, 0x91d1f948, 2_463_000),                  // First DAO
                (2_462_999, 0, 0x91d1f948, 2_463_000),                  // Last DAO
                (2_463_000, 0, 0x7a64da13, 2_675_000),                  // First Tangerine
                (2_674_999, 0, 0x7a64da13, 2_675_000),                  // Last Tangerine
                (2_675_000, 0, 0x3edd5b10, 4_370_000),                  // First Spurious
                (4_369_999, 0, 0x3edd5b10, 4_370_000),                  // Last Spurious
                (4_370_000, 0, 0xa00bc324, 7_280_000),                  // First Byzantium
                (7_279_999, 0, 0xa00bc324, 7_280_000),                  // Last Byzantium
                (7_280_000, 0, 0x668db0af, 9_069_000),                  // First Petersburg
                (9_068_999, 0, 0x668db0af, 9_069_000),                  // Last Petersburg
                (9_069_000, 0, 0x879d6e30, 9_200_000),                  // First Istanbul
                (9_199_999, 0, 0x879d6e30, 9_200_000),                  // Last Istanbul
                (9_200_000, 0, 0xe029e991, 12_244_000),                 // First Muir Glacier
                (12_243_999, 0, 0xe029e991, 12_244_000),                // Last Muir Glacier
                (12_244_000, 0, 0x0eb440f6, 12_965_000),                // First Berlin
                (12_964_999, 0, 0x0eb440f6, 12_965_000),                // Last Berlin
                (12_965_000, 0, 0xb715077d, 13_773_000),                // First London
                (13_772_999, 0, 0xb715077d, 13_773_000),                // Last London
                (13_773_000, 0, 0x20c327fc, 15_050_000),                // First Arrow Glacier
                (15_049_999, 0, 0x20c327fc, 15_050_000),                // Last Arrow Glacier
                (15_050_000, 0, 0xf0afd0e3, 1_681_338_455),             // First Gray Glacier
                (20_000_000, 1_681_338_454, 0xf0afd0e3, 1_681_338_455), // Last Gray Glacier
                (20_000_000, 1_681_338_455, 0xdce96c2d, 1_710_338_135), // First Shanghai
                (30_000_000, 1_710_338_134, 0xdce96c2d, 1_710_338_135), // Last Shanghai
                (30_000_000, 1_710_338_135, 0x9f3d2254, 1_746_612_311), // First Cancun
                (30_000_000, 1_746_022_486, 0x9f3d2254, 1_746_612_311), // Last Cancun
                (30_000_000, 1_746_612_311, 0xc376cf8b, 1_764_798_551), // First Prague
                (30_000_000, 1_764_798_550, 0xc376cf8b, 1_764_798_551), // Last Prague
                (30_000_000, 1_764_798_551, 0x5167e2a6, 1_765_290_071), // First Osaka
                (30_000_000, 1_765_290_070, 0x5167e2a6, 1_765_290_071), // Last Osaka
                (30_000_000, 1_765_290_071, 0xcba2a1c0, 1_767_747_671), // First BPO1
                (30_000_000, 1_767_747_670, 0xcba2a1c0, 1_767_747_671), // Last BPO1
                (30_000_000, 1_767_747_671, 0x07c9462e, 0),             // First BPO2
                (50_000_000, 2_000_000_000, 0x07c9462e, 0),             // Future BPO2
            ],
        );
    }

    #[test]
    fn timestamp_forks_wait_for_block_forks() {
        // A head whose timestamp is past Shanghai but whose number is before
        // Gray Glacier has not passed Shanghai: block forks come first.
        assert_eq!(
            mainnet(0, 0).fork_id_at(15_049_999, 1_700_000_000),
            id(0x20c327fc, 15_050_000)
        );
    }

    #[test]
    fn eip6122_creation() {
        // EIP-6122 "Test Cases": mainnet with a merge netsplit block at
        // 18000000 and Shanghai ("withdrawals") at 1668000000.
        let mut forks = blocks(&MAINNET_BLOCKS);
        forks.push(Block(18_000_000));
        forks.push(Timestamp(1_668_000_000));
        let withdrawals = filter(MAINNET_GENESIS, forks, 0, 0);
        check_creation(
            &withdrawals,
            &[
                (0, 0, 0xfc64ec04, 1_150_000),
                (15_049_999, 0, 0x20c327fc, 15_050_000),
                (15_050_000, 0, 0xf0afd0e3, 18_000_000),
                (18_000_000, 0, 0x4fb8a872, 1_668_000_000),
                (20_000_000, 0, 0x4fb8a872, 1_668_000_000),
                (20_000_000, 1_668_000_000, 0xc1fdf181, 0),
                (20_100_000, 2_669_000_000, 0xc1fdf181, 0),
            ],
        );
    }

    #[test]
    fn eip6122_validation() {
        // EIP-6122 "Test Cases": validation by a node on the configuration of
        // `eip6122_creation`.
        let make = |number, timestamp| {
            let mut forks = blocks(&MAINNET_BLOCKS);
            forks.push(Block(18_000_000));
            forks.push(Timestamp(1_668_000_000));
            filter(MAINNET_GENESIS, forks, number, timestamp)
        };
        let cases: &[ValidationCase] = &[
            (20_000_000, 1_668_000_001, id(0xc1fdf181, 0), None),
            (20_000_000, 1_668_000_001, id(0xc1fdf181, u64::MAX), None),
            (7_279_999, 1_667_999_999, id(0xa00bc324, 0), None),
            (7_279_999, 1_667_999_999, id(0xa00bc324, 7_280_000), None),
            (7_279_999, 1_667_999_999, id(0xa00bc324, u64::MAX), None),
            (20_000_000, 1_668_000_000, id(0xa00bc324, 7_280_000), None),
            (20_000_000, 1_668_000_001, id(0xa00bc324, 7_280_000), None),
            (20_000_000, 1_668_000_001, id(0x3edd5b10, 4_370_000), None),
            (7_279_999, 1_667_999_999, id(0x668db0af, 0), None),
            (4_369_999, 1_667_999_999, id(0xa00bc324, 0), None),
            (20_000_000, 1_668_000_001, id(0xa00bc324, 0), Some(stale)),
            (
                20_000_000,
                1_668_000_001,
                id(0x5cddc0e1, 0),
                Some(incompatible),
            ),
            (
                20_000_000,
                1_668_000_001,
                id(0xafec6b27, 0),
                Some(incompatible),
            ),
            (
                88_888_888,
                1_668_000_001,
                id(0xf0afd0e3, 88_888_888),
                Some(stale),
            ),
            (
                20_000_000,
                1_668_000_001,
                id(0xa00bc324, 7_279_999),
                Some(stale),
            ),
        ];
        check_validation(make, cases);
    }

    #[test]
    fn geth_validation_block_based() {
        // go-ethereum TestValidation "Block based tests", on mainnet with the
        // timestamp forks removed (`legacyConfig`).
        let cases: &[ValidationCase] = &[
            (15_050_000, 0, id(0xf0afd0e3, 0), None),
            (15_050_000, 0, id(0xf0afd0e3, u64::MAX), None),
            (7_279_999, 0, id(0xa00bc324, 0), None),
            (7_279_999, 0, id(0xa00bc324, 7_280_000), None),
            (7_279_999, 0, id(0xa00bc324, u64::MAX), None),
            (7_280_000, 0, id(0xa00bc324, 7_280_000), None),
            (7_987_396, 0, id(0xa00bc324, 7_280_000), None),
            (7_987_396, 0, id(0x3edd5b10, 4_370_000), None),
            (7_279_999, 0, id(0x668db0af, 0), None),
            (4_369_999, 0, id(0xa00bc324, 0), None),
            (7_987_396, 0, id(0xa00bc324, 0), Some(stale)),
            (7_987_396, 0, id(0x5cddc0e1, 0), Some(incompatible)),
            (7_279_999, 0, id(0x5cddc0e1, 0), Some(incompatible)),
            (7_987_396, 0, id(0xafec6b27, 0), Some(incompatible)),
            // All forks passed and no timestamp fork known: the head block
            // number is what the remote's next is compared with.
            (
                88_888_888,
                0,
                id(0xf0afd0e3, 88_888_888),
                Some(incompatible),
            ),
            (7_279_999, 0, id(0xa00bc324, 7_279_999), Some(incompatible)),
        ];
        check_validation(|number, _| mainnet_legacy(number), cases);
    }

    #[test]
    fn geth_validation_block_to_timestamp() {
        // go-ethereum TestValidation "Block to timestamp transition tests".
        let gray_glacier_plus_max = ForkHash::from(0xf0afd0e3).with_fork(u64::MAX).to_u32();
        let shanghai_plus_max = ForkHash::from(0xdce96c2d).with_fork(u64::MAX).to_u32();
        let cases: &[ValidationCase] = &[
            // Local Gray Glacier, remote the same.
            (15_050_000, 0, id(0xf0afd0e3, 0), None),
            // Local Gray Glacier, remote the same and aware of Shanghai.
            (15_050_000, 0, id(0xf0afd0e3, 1_681_338_455), None),
            (15_050_000, 0, id(0xf0afd0e3, u64::MAX), None),
            // Local exactly on Shanghai, remote Gray Glacier aware of Shanghai.
            (
                20_000_000,
                1_681_338_455,
                id(0xf0afd0e3, 1_681_338_455),
                None,
            ),
            (
                20_123_456,
                1_681_338_456,
                id(0xf0afd0e3, 1_681_338_455),
                None,
            ),
            // Local Shanghai, remote Arrow Glacier aware of Gray Glacier.
            (20_000_000, 1_681_338_455, id(0x20c327fc, 15_050_000), None),
            // Local Gray Glacier, remote Shanghai: local out of sync.
            (15_050_000, 0, id(0xdce96c2d, 0), None),
            // Local Arrow Glacier, remote Gray Glacier: local out of sync.
            (13_773_000, 0, id(0xf0afd0e3, 0), None),
            // Local Shanghai, remote Gray Glacier unaware of Shanghai.
            (20_000_000, 1_681_338_455, id(0xf0afd0e3, 0), Some(stale)),
            // Local Gray Glacier, remote Gray Glacier + an unknown fork.
            (
                15_050_000,
                0,
                id(gray_glacier_plus_max, 0),
                Some(incompatible),
            ),
            (15_050_000, 0, id(shanghai_plus_max, 0), Some(incompatible)),
            // Remote announces a timestamp fork the local head already passed.
            (
                888_888_888,
                1_660_000_000,
                id(0xf0afd0e3, 1_660_000_000),
                Some(incompatible),
            ),
            (
                19_999_999,
                1_667_999_999,
                id(0xf0afd0e3, 1_667_999_999),
                Some(incompatible),
            ),
        ];
        check_validation(mainnet, cases);
    }

    #[test]
    fn geth_validation_timestamp_based() {
        // go-ethereum TestValidation "Timestamp based tests".
        let shanghai_plus_max = ForkHash::from(0xdce96c2d).with_fork(u64::MAX).to_u32();
        let cancun_plus_max = ForkHash::from(0x9f3d2254).with_fork(u64::MAX).to_u32();
        let cases: &[ValidationCase] = &[
            // Local Shanghai, remote the same, with or without a next fork.
            (20_000_000, 1_681_338_455, id(0xdce96c2d, 0), None),
            (20_000_000, 1_681_338_455, id(0xdce96c2d, u64::MAX), None),
            // Local Gray Glacier (pre-Shanghai), remote Shanghai: local out of sync.
            (20_000_000, 1_668_000_000, id(0xdce96c2d, 0), None),
            (
                20_000_000,
                1_668_000_000,
                id(0xdce96c2d, 1_710_338_135),
                None,
            ),
            (20_000_000, 1_668_000_000, id(0xdce96c2d, u64::MAX), None),
            // Local exactly on Cancun, remote Shanghai aware of Cancun.
            (
                21_000_000,
                1_710_338_135,
                id(0xdce96c2d, 1_710_338_135),
                None,
            ),
            (
                21_123_456,
                1_710_338_136,
                id(0xdce96c2d, 1_710_338_135),
                None,
            ),
            // Local unsynced, remote Spurious announcing Cancun: local out of sync.
            (0, 0, id(0x3edd5b10, 1_710_338_135), None),
            // Local Shanghai, remote Cancun; local Gray Glacier, remote Prague.
            (21_000_000, 1_700_000_000, id(0x9f3d2254, 0), None),
            (21_000_000, 1_678_000_000, id(0xc376cf8b, 0), None),
            // Local Cancun, remote Shanghai unaware of Cancun.
            (21_000_000, 1_710_338_135, id(0xdce96c2d, 0), Some(stale)),
            // Remote on a fork the local node does not know.
            (
                20_000_000,
                1_681_338_455,
                id(shanghai_plus_max, 0),
                Some(incompatible),
            ),
            (
                20_000_000,
                1_668_000_000,
                id(cancun_plus_max, 0),
                Some(incompatible),
            ),
            (
                20_000_000,
                1_681_338_455,
                id(0x12345678, 0),
                Some(incompatible),
            ),
            // Local BPO2 far in the future; remote announces a fork at a
            // timestamp the local head already passed (rule 1a).
            (
                88_888_888,
                8_888_888_888,
                id(0x07c9462e, 8_888_888_888),
                Some(incompatible),
            ),
            // Local Shanghai; remote on a fork hash unknown locally, announcing
            // a fork at 1700000000, before Cancun.
            (
                20_999_999,
                1_699_999_999,
                id(0x71147644, 1_700_000_000),
                Some(incompatible),
            ),
        ];
        check_validation(mainnet, cases);
    }

    #[test]
    fn genesis_time_forks_are_skipped() {
        // go-ethereum TestTimeBasedForkInGenesis: timestamp forks at or before
        // the genesis timestamp are part of the genesis rules.
        let time = 1_690_475_657;
        let genesis = b256!("0101010101010101010101010101010101010101010101010101010101010101");
        let genesis_hash = ForkHash::from(genesis);
        for (shanghai, cancun) in [(time - 1, time + 1), (time, time + 1), (time + 1, time + 2)] {
            let filter = ForkFilter::new(
                genesis,
                time,
                head(0, time),
                [Block(0), Block(0), Timestamp(shanghai), Timestamp(cancun)],
            );
            assert_eq!(
                filter.current(),
                ForkId {
                    hash: genesis_hash,
                    next: time + 1
                }
            );
        }
    }

    #[test]
    fn schedule_is_normalised() {
        // Order, duplicates and zero-block forks do not matter; timestamp forks
        // always follow block forks.
        let messy = [
            Timestamp(1_681_338_455),
            Block(15_050_000),
            Block(0),
            Block(1_150_000),
            Timestamp(1_681_338_455),
            Block(1_150_000),
        ];
        let filter = ForkFilter::new(MAINNET_GENESIS, 0, Head::default(), messy);
        assert_eq!(
            filter.forks(),
            &[
                Block(1_150_000),
                Block(15_050_000),
                Timestamp(1_681_338_455)
            ]
        );
        let expected = ForkHash::from(MAINNET_GENESIS)
            .with_fork(1_150_000)
            .with_fork(15_050_000)
            .with_fork(1_681_338_455);
        assert_eq!(
            filter.fork_id_at(u64::MAX, u64::MAX),
            ForkId {
                hash: expected,
                next: 0
            }
        );
    }

    #[test]
    fn set_head_reports_transitions() {
        let mut filter = mainnet(0, 0);
        assert_eq!(filter.current(), id(0xfc64ec04, 1_150_000));

        // Moving within a fork: nothing to report.
        assert_eq!(filter.set_head(head(1_000, 0)), None);
        assert_eq!(filter.head().number, 1_000);

        // Crossing Homestead.
        let transition = filter.set_head(head(1_150_000, 0));
        assert_eq!(
            transition,
            Some(ForkTransition {
                current: id(0x97c2c34c, 1_920_000),
                past: id(0xfc64ec04, 1_150_000)
            })
        );

        // Jumping across many forks at once, into the timestamp forks.
        let transition = filter.set_head(head(20_000_000, 1_710_338_135));
        assert_eq!(
            transition,
            Some(ForkTransition {
                current: id(0x9f3d2254, 1_746_612_311),
                past: id(0x97c2c34c, 1_920_000)
            })
        );
        assert_eq!(filter.set_head(head(20_000_001, 1_710_338_147)), None);

        // Going back (a reorg or a reset) is a transition too.
        let transition = filter.set_head(head(0, 0));
        assert_eq!(
            transition.map(|t| t.current),
            Some(id(0xfc64ec04, 1_150_000))
        );
    }

    #[test]
    fn empty_schedule() {
        let filter = ForkFilter::new(MAINNET_GENESIS, 0, Head::default(), []);
        let genesis = id(0xfc64ec04, 0);
        assert_eq!(filter.current(), genesis);
        assert_eq!(filter.fork_id_at(u64::MAX, u64::MAX), genesis);
        assert_eq!(filter.validate(genesis), Ok(()));
        assert_eq!(filter.validate(id(0xfc64ec04, 5)), Ok(()));
        let mut far = filter.clone();
        far.set_head(head(10, 0));
        assert_eq!(
            far.validate(id(0xfc64ec04, 5)),
            Err(incompatible(genesis, id(0xfc64ec04, 5)))
        );
        assert_eq!(
            filter.validate(id(0x12345678, 0)),
            Err(incompatible(genesis, id(0x12345678, 0)))
        );
    }

    #[test]
    fn extreme_values_do_not_panic() {
        let forks = [Block(u64::MAX), Timestamp(u64::MAX), Block(1), Timestamp(1)];
        let extremes = [
            0,
            1,
            TIMESTAMP_THRESHOLD,
            TIMESTAMP_THRESHOLD + 1,
            u64::MAX - 1,
            u64::MAX,
        ];
        for number in extremes {
            for timestamp in extremes {
                let filter = ForkFilter::new(B256::ZERO, 0, head(number, timestamp), forks);
                for next in extremes {
                    for hash in [0, u32::MAX, filter.current().hash.to_u32()] {
                        let _ = filter.validate(id(hash, next));
                    }
                }
                let _ = filter.fork_id_at(timestamp, number);
            }
        }
    }

    #[test]
    fn rlp_encoding() {
        // go-ethereum core/forkid/forkid_test.go TestEncoding.
        let cases = [
            (id(0, 0), &hex!("c6840000000080")[..]),
            (
                id(0xdeadbeef, 0xbaddcafe),
                &hex!("ca84deadbeef84baddcafe")[..],
            ),
            (
                id(u32::MAX, u64::MAX),
                &hex!("ce84ffffffff88ffffffffffffffff")[..],
            ),
        ];
        for (fork_id, want) in cases {
            let mut encoded = Vec::new();
            fork_id.encode(&mut encoded);
            assert_eq!(encoded, want, "{fork_id}");
            assert_eq!(ForkId::decode(&mut &encoded[..]), Ok(fork_id));
        }
    }
}
