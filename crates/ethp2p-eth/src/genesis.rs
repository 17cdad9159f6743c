//! Custom chains from a go-ethereum `genesis.json`.
//!
//! [`ChainSpec::from_geth_genesis`] reads the file `geth init` takes and
//! derives what the p2p layer needs from it: the chain id (and from it the
//! network id), the fork schedule of the `config` block, and the genesis hash,
//! computed from the genesis block the file describes (its header fields and
//! the Merkle-Patricia root of the `alloc` state) the way go-ethereum builds
//! that block (`core/genesis.go`, `Genesis.ToBlock`).
//!
//! **Network id.** go-ethereum announces the network id given by
//! `--networkid`, and without it the genesis' `config.chainId`. A parsed spec
//! uses the chain id; [`ChainSpec::with_network_id`] (or assigning
//! [`ChainSpec::network_id`]) overrides it as `--networkid` does.
//!
//! **Forks.** The block forks are read from `homesteadBlock`, `daoForkBlock`,
//! `eip150Block`, `eip155Block`, `eip158Block`, `byzantiumBlock`,
//! `constantinopleBlock`, `petersburgBlock`, `istanbulBlock`,
//! `muirGlacierBlock`, `berlinBlock`, `londonBlock`, `arrowGlacierBlock`,
//! `grayGlacierBlock` and `mergeNetsplitBlock`; the time forks from
//! `shanghaiTime`, `cancunTime`, `pragueTime`, `osakaTime`, `bpo1Time` to
//! `bpo5Time` and `amsterdamTime`. Like go-ethereum's fork id, the DAO block
//! counts whether or not `daoForkSupport` is set. Other `*Block`/`*Time`
//! fields (`verkleTime`, `bogotaTime`, a network's own forks) are ignored. A
//! genesis block under Amsterdam rules is refused (its header is not built).
//!
//! Present forks must not be scheduled against protocol order, and Shanghai,
//! Cancun and Prague each need their predecessor scheduled
//! ([`GenesisError::ForkOrder`], [`GenesisError::MissingFork`]).
//!
//! **Genesis block.** As go-ethereum: `config`, `config.chainId`,
//! `difficulty`, `gasLimit` and `alloc` are required; a `gasLimit` of 0 means
//! [`DEFAULT_GAS_LIMIT`]; `gasUsed`, `number`, `parentHash` and `mixHash`
//! (also spelt `mixhash`) are taken as given. With London at block 0 the
//! header carries `baseFeePerGas` (default [`INITIAL_BASE_FEE`]); with
//! Shanghai active at the genesis time, the empty withdrawals root; with
//! Cancun, `blobGasUsed` and `excessBlobGas` (default 0) and a zero parent
//! beacon block root; with Prague, [`EMPTY_REQUESTS_HASH`]. The state root is
//! that of `alloc`: each account's balance, nonce, code hash and the root of
//! its non-zero storage slots.
//!
//! **Bounds.** Input over [`MAX_GENESIS_BYTES`] is refused before it is
//! parsed.

use crate::chain::{ChainSpec, Hardfork};
use crate::forkid::ForkActivation;
use alloy_consensus::{Header, EMPTY_OMMER_ROOT_HASH, EMPTY_ROOT_HASH};
use alloy_genesis::{ChainConfig, Genesis};
use alloy_primitives::{b256, keccak256, B256, B64, U256};
use alloy_trie::{root::state_root_unsorted, TrieAccount};
use serde::{de::IgnoredAny, Deserialize};
use std::{
    fs::File,
    io::Read,
    path::{Path, PathBuf},
};

/// The largest genesis file accepted, in bytes (64 MiB).
pub const MAX_GENESIS_BYTES: usize = 64 * 1024 * 1024;

/// The base fee of a genesis block that activates London but sets no
/// `baseFeePerGas` (go-ethereum's `params.InitialBaseFee`, 1 gwei).
pub const INITIAL_BASE_FEE: u64 = 1_000_000_000;

/// The gas limit of a genesis block whose `gasLimit` is 0 (go-ethereum's
/// `params.GenesisGasLimit`).
pub const DEFAULT_GAS_LIMIT: u64 = 4_712_388;

/// The requests hash of a block without requests (EIP-7685): the SHA-256 of
/// nothing.
pub const EMPTY_REQUESTS_HASH: B256 =
    b256!("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

/// The [`ChainSpec::name`] of a chain read from a genesis file.
pub const CUSTOM_CHAIN_NAME: &str = "custom";

/// Why a genesis file was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GenesisError {
    /// The file is larger than [`MAX_GENESIS_BYTES`].
    #[error("genesis file is larger than {max} bytes (at least {len})")]
    TooLarge {
        /// The size seen (the file's length, or as much as was read).
        len: u64,
        /// The limit, [`MAX_GENESIS_BYTES`].
        max: usize,
    },
    /// The file could not be opened or read.
    #[error("cannot read genesis file {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// Not JSON, or a field of the wrong type or out of range (the message
    /// names the line and column).
    #[error("genesis is not a valid geth genesis.json: {0}")]
    Json(#[source] serde_json::Error),
    /// A field go-ethereum requires is absent (or `null`).
    #[error("genesis has no `{0}` (geth requires it)")]
    MissingField(&'static str),
    /// A number given as a string is not a 64-bit quantity.
    #[error("genesis `{field}` is {value:?}, not a 64-bit number")]
    InvalidQuantity {
        /// The field.
        field: &'static str,
        /// Its text.
        value: String,
    },
    /// The genesis `baseFeePerGas` does not fit in 64 bits.
    #[error("genesis baseFeePerGas {0} does not fit in 64 bits")]
    BaseFeeTooLarge(u128),
    /// Two forks are scheduled against protocol order.
    #[error("fork order: {later} at {later_at} is scheduled before {earlier} at {earlier_at}")]
    ForkOrder {
        /// The fork that comes first in the protocol.
        earlier: Hardfork,
        /// Its activation block or timestamp.
        earlier_at: u64,
        /// The fork that comes after it.
        later: Hardfork,
        /// Its (smaller) activation block or timestamp.
        later_at: u64,
    },
    /// The genesis block is under rules whose header is not supported here
    /// (Amsterdam's block access list and slot number).
    #[error("{0} at genesis is not supported")]
    UnsupportedGenesisFork(Hardfork),
    /// A fork is scheduled while one it builds on is not.
    #[error("fork order: {fork} is scheduled but {needs} is not")]
    MissingFork {
        /// The scheduled fork.
        fork: Hardfork,
        /// The unscheduled fork it needs.
        needs: Hardfork,
    },
}

/// Forks whose activations must not decrease in this order, where present
/// (go-ethereum's `CheckConfigForkOrder`, without its rules on which forks may
/// be left out). The blob-parameter-only forks follow Osaka in their own chain
/// since they may be scheduled on either side of later named forks.
const ORDERED: [&[Hardfork]; 3] = [
    &[
        Hardfork::Homestead,
        Hardfork::Dao,
        Hardfork::TangerineWhistle,
        Hardfork::SpuriousDragon,
        Hardfork::Eip158,
        Hardfork::Byzantium,
        Hardfork::Constantinople,
        Hardfork::Petersburg,
        Hardfork::Istanbul,
        Hardfork::MuirGlacier,
        Hardfork::Berlin,
        Hardfork::London,
        Hardfork::ArrowGlacier,
        Hardfork::GrayGlacier,
        Hardfork::MergeNetsplit,
    ],
    &[
        Hardfork::Shanghai,
        Hardfork::Cancun,
        Hardfork::Prague,
        Hardfork::Osaka,
        Hardfork::Amsterdam,
    ],
    &[
        Hardfork::Osaka,
        Hardfork::Bpo1,
        Hardfork::Bpo2,
        Hardfork::Bpo3,
        Hardfork::Bpo4,
        Hardfork::Bpo5,
    ],
];

/// `(fork, needs)`: scheduling `fork` without `needs` is refused, so that the
/// genesis header's optional fields stay contiguous.
const NEEDS: [(Hardfork, Hardfork); 3] = [
    (Hardfork::Shanghai, Hardfork::London),
    (Hardfork::Cancun, Hardfork::Shanghai),
    (Hardfork::Prague, Hardfork::Cancun),
];

impl ChainSpec {
    /// A chain described by a go-ethereum `genesis.json` (the text, at most
    /// [`MAX_GENESIS_BYTES`]); see the [module docs](crate::genesis).
    ///
    /// The spec is named [`CUSTOM_CHAIN_NAME`], has no bootnodes, announces
    /// the chain id as its network id, and takes `terminalTotalDifficulty`
    /// from the config (`U256::MAX`, "never", when absent).
    pub fn from_geth_genesis(json: &str) -> Result<Self, GenesisError> {
        parse(json.as_bytes())
    }

    /// [`ChainSpec::from_geth_genesis`] on the file at `path`, read only up to
    /// [`MAX_GENESIS_BYTES`].
    pub fn from_geth_genesis_file(path: impl AsRef<Path>) -> Result<Self, GenesisError> {
        let path = path.as_ref();
        let io = |source| GenesisError::Io {
            path: path.to_owned(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        if len > MAX_GENESIS_BYTES as u64 {
            return Err(GenesisError::TooLarge {
                len,
                max: MAX_GENESIS_BYTES,
            });
        }
        // The length can change under us; never read past the limit.
        let mut bytes = Vec::with_capacity(len as usize);
        file.take(MAX_GENESIS_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        parse(&bytes)
    }

    /// This spec announcing `network_id` instead (go-ethereum's `--networkid`).
    #[must_use]
    pub fn with_network_id(mut self, network_id: u64) -> Self {
        self.network_id = network_id;
        self
    }

    /// This spec under another [`ChainSpec::name`].
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }
}

/// The fields go-ethereum reads that [`Genesis`] lets default or lacks.
#[derive(Deserialize)]
struct GethFields {
    config: Option<GethConfigFields>,
    difficulty: Option<IgnoredAny>,
    #[serde(rename = "gasLimit")]
    gas_limit: Option<IgnoredAny>,
    alloc: Option<IgnoredAny>,
    #[serde(rename = "gasUsed")]
    gas_used: Option<Quantity>,
    /// go-ethereum's JSON field names match case-insensitively, and its own
    /// tools write `mixhash`; [`Genesis`] only knows `mixHash`.
    mixhash: Option<B256>,
}

#[derive(Deserialize)]
struct GethConfigFields {
    #[serde(rename = "chainId")]
    chain_id: Option<IgnoredAny>,
}

/// A 64-bit number as go-ethereum writes them: a JSON number, or a string in
/// hex (`0x…`) or decimal.
#[derive(Deserialize)]
#[serde(untagged)]
enum Quantity {
    Number(u64),
    Text(String),
}

impl Quantity {
    fn value(&self, field: &'static str) -> Result<u64, GenesisError> {
        let text = match self {
            Self::Number(n) => return Ok(*n),
            Self::Text(text) => text,
        };
        let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => text.parse(),
        };
        parsed.map_err(|_| GenesisError::InvalidQuantity {
            field,
            value: text.clone(),
        })
    }
}

fn parse(bytes: &[u8]) -> Result<ChainSpec, GenesisError> {
    if bytes.len() > MAX_GENESIS_BYTES {
        return Err(GenesisError::TooLarge {
            len: bytes.len() as u64,
            max: MAX_GENESIS_BYTES,
        });
    }
    let fields: GethFields = serde_json::from_slice(bytes).map_err(GenesisError::Json)?;
    let config_fields = fields.config.ok_or(GenesisError::MissingField("config"))?;
    if config_fields.chain_id.is_none() {
        return Err(GenesisError::MissingField("config.chainId"));
    }
    for (present, name) in [
        (fields.difficulty.is_some(), "difficulty"),
        (fields.gas_limit.is_some(), "gasLimit"),
        (fields.alloc.is_some(), "alloc"),
    ] {
        if !present {
            return Err(GenesisError::MissingField(name));
        }
    }
    let gas_used = match &fields.gas_used {
        Some(q) => q.value("gasUsed")?,
        None => 0,
    };

    let mut genesis: Genesis = serde_json::from_slice(bytes).map_err(GenesisError::Json)?;
    if genesis.mix_hash.is_zero() {
        if let Some(mix) = fields.mixhash {
            genesis.mix_hash = mix;
        }
    }

    let forks = fork_schedule(&genesis.config);
    check_order(&forks)?;

    let alloc = std::mem::take(&mut genesis.alloc);
    let state_root = state_root_unsorted(
        alloc
            .into_iter()
            .map(|(address, account)| (keccak256(address), TrieAccount::from(account))),
    );
    let header = genesis_header(&genesis, gas_used, state_root)?;

    let config = &genesis.config;
    Ok(ChainSpec {
        name: CUSTOM_CHAIN_NAME.to_owned(),
        chain_id: config.chain_id,
        network_id: config.chain_id,
        genesis_hash: header.hash_slow(),
        genesis_timestamp: header.timestamp,
        genesis_difficulty: header.difficulty,
        terminal_total_difficulty: config.terminal_total_difficulty.unwrap_or(U256::MAX),
        forks,
        bootnodes: Vec::new(),
    })
}

/// The scheduled forks of `config`, in protocol order.
fn fork_schedule(config: &ChainConfig) -> Vec<(Hardfork, ForkActivation)> {
    use ForkActivation::{Block, Timestamp};
    let eip158 = config
        .eip158_block
        .filter(|block| Some(*block) != config.eip155_block);
    let blocks = [
        (Hardfork::Homestead, config.homestead_block),
        (Hardfork::Dao, config.dao_fork_block),
        (Hardfork::TangerineWhistle, config.eip150_block),
        (Hardfork::SpuriousDragon, config.eip155_block),
        (Hardfork::Eip158, eip158),
        (Hardfork::Byzantium, config.byzantium_block),
        (Hardfork::Constantinople, config.constantinople_block),
        (Hardfork::Petersburg, config.petersburg_block),
        (Hardfork::Istanbul, config.istanbul_block),
        (Hardfork::MuirGlacier, config.muir_glacier_block),
        (Hardfork::Berlin, config.berlin_block),
        (Hardfork::London, config.london_block),
        (Hardfork::ArrowGlacier, config.arrow_glacier_block),
        (Hardfork::GrayGlacier, config.gray_glacier_block),
        (Hardfork::MergeNetsplit, config.merge_netsplit_block),
    ];
    let times = [
        (Hardfork::Shanghai, config.shanghai_time),
        (Hardfork::Cancun, config.cancun_time),
        (Hardfork::Prague, config.prague_time),
        (Hardfork::Osaka, config.osaka_time),
        (Hardfork::Bpo1, config.bpo1_time),
        (Hardfork::Bpo2, config.bpo2_time),
        (Hardfork::Bpo3, config.bpo3_time),
        (Hardfork::Bpo4, config.bpo4_time),
        (Hardfork::Bpo5, config.bpo5_time),
        (Hardfork::Amsterdam, config.amsterdam_time),
    ];
    let blocks = blocks
        .into_iter()
        .filter_map(|(fork, at)| at.map(|n| (fork, Block(n))));
    let times = times
        .into_iter()
        .filter_map(|(fork, at)| at.map(|t| (fork, Timestamp(t))));
    blocks.chain(times).collect()
}

fn check_order(forks: &[(Hardfork, ForkActivation)]) -> Result<(), GenesisError> {
    let at = |fork: Hardfork| {
        forks
            .iter()
            .find(|(f, _)| *f == fork)
            .map(|(_, activation)| activation.value())
    };
    for chain in ORDERED {
        let mut last: Option<(Hardfork, u64)> = None;
        for &fork in chain {
            let Some(value) = at(fork) else { continue };
            if let Some((earlier, earlier_at)) = last {
                if value < earlier_at {
                    return Err(GenesisError::ForkOrder {
                        earlier,
                        earlier_at,
                        later: fork,
                        later_at: value,
                    });
                }
            }
            last = Some((fork, value));
        }
    }
    for (fork, needs) in NEEDS {
        if at(fork).is_some() && at(needs).is_none() {
            return Err(GenesisError::MissingFork { fork, needs });
        }
    }
    Ok(())
}

/// The genesis block header go-ethereum builds from `genesis` (whose `alloc`
/// has been taken) over `state_root`.
fn genesis_header(
    genesis: &Genesis,
    gas_used: u64,
    state_root: B256,
) -> Result<Header, GenesisError> {
    let config = &genesis.config;
    let number = genesis.number.unwrap_or(0);
    let timestamp = genesis.timestamp;
    let london_at = |block: u64| config.london_block.is_some_and(|london| london <= block);
    // go-ethereum's time forks count only once London is active too.
    let time_active =
        |time: Option<u64>| london_at(number) && time.is_some_and(|time| time <= timestamp);

    let base_fee_per_gas = if london_at(0) {
        let fee = genesis
            .base_fee_per_gas
            .unwrap_or(u128::from(INITIAL_BASE_FEE));
        Some(u64::try_from(fee).map_err(|_| GenesisError::BaseFeeTooLarge(fee))?)
    } else {
        None
    };
    let shanghai = time_active(config.shanghai_time);
    let cancun = time_active(config.cancun_time);
    let prague = time_active(config.prague_time);
    if time_active(config.amsterdam_time) {
        return Err(GenesisError::UnsupportedGenesisFork(Hardfork::Amsterdam));
    }

    Ok(Header {
        parent_hash: genesis.parent_hash.unwrap_or_default(),
        ommers_hash: EMPTY_OMMER_ROOT_HASH,
        beneficiary: genesis.coinbase,
        state_root,
        transactions_root: EMPTY_ROOT_HASH,
        receipts_root: EMPTY_ROOT_HASH,
        logs_bloom: Default::default(),
        difficulty: genesis.difficulty,
        number,
        gas_limit: if genesis.gas_limit == 0 {
            DEFAULT_GAS_LIMIT
        } else {
            genesis.gas_limit
        },
        gas_used,
        timestamp,
        extra_data: genesis.extra_data.clone(),
        mix_hash: genesis.mix_hash,
        nonce: B64::from(genesis.nonce.to_be_bytes()),
        base_fee_per_gas,
        withdrawals_root: shanghai.then_some(EMPTY_ROOT_HASH),
        blob_gas_used: cancun.then(|| genesis.blob_gas_used.unwrap_or(0)),
        excess_blob_gas: cancun.then(|| genesis.excess_blob_gas.unwrap_or(0)),
        // EIP-4788: the genesis block has no parent beacon block.
        parent_beacon_block_root: cancun.then_some(B256::ZERO),
        requests_hash: prague.then_some(EMPTY_REQUESTS_HASH),
        block_access_list_hash: None,
        slot_number: None,
    })
}

#[cfg(test)]
mod tests;
