//! Chain presets: genesis, fork schedule and bootnodes of the public Ethereum
//! networks, and the fork filter / fork id they imply.
//!
//! The values are those of go-ethereum (`params/config.go`, the JSON chain
//! specs under `params/chainspecs/`, `params/bootnodes.go` and
//! `core/genesis.go`); the tests pin the resulting fork ids to the ones
//! go-ethereum's `core/forkid` tests and the execution-specs fork tables
//! publish.

use crate::forkid::{ForkActivation, ForkFilter, ForkId, Head};
use alloy_primitives::{b256, B256, U256};
use core::fmt;

/// A named protocol upgrade that takes part in the fork id.
///
/// The Merge itself (Paris) activated on total difficulty, not at a block
/// number or timestamp, and so is not one of these; see
/// [`ChainSpec::terminal_total_difficulty`]. Some networks mark it with a
/// [`Hardfork::MergeNetsplit`] block instead.
///
/// The variants are in protocol order (the derived `Ord` follows it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Hardfork {
    /// Homestead (EIP-2, EIP-7, EIP-8).
    Homestead,
    /// The DAO fork (irregular state change).
    Dao,
    /// Tangerine Whistle (EIP-150).
    TangerineWhistle,
    /// Spurious Dragon (EIP-155, EIP-158). A chain that activates EIP-158
    /// apart from EIP-155 lists it at its EIP-155 block and [`Hardfork::Eip158`]
    /// at the other.
    SpuriousDragon,
    /// EIP-158 (state clearing) on a chain that schedules it at another block
    /// than EIP-155 (geth's `eip158Block`); absent where they coincide.
    Eip158,
    /// Byzantium.
    Byzantium,
    /// Constantinople.
    Constantinople,
    /// Petersburg (Constantinople without EIP-1283).
    Petersburg,
    /// Istanbul.
    Istanbul,
    /// Muir Glacier (difficulty bomb delay, EIP-2384).
    MuirGlacier,
    /// Berlin.
    Berlin,
    /// London (EIP-1559).
    London,
    /// Arrow Glacier (difficulty bomb delay, EIP-4345).
    ArrowGlacier,
    /// Gray Glacier (difficulty bomb delay, EIP-5133).
    GrayGlacier,
    /// The block at which a network split its post-merge nodes from pre-merge
    /// ones for fork id purposes.
    MergeNetsplit,
    /// Shanghai (withdrawals), the first timestamp-based fork.
    Shanghai,
    /// Cancun (blobs, EIP-4844).
    Cancun,
    /// Prague (the execution half of Pectra).
    Prague,
    /// Osaka (the execution half of Fusaka).
    Osaka,
    /// The first blob-parameter-only fork after Osaka (EIP-7892).
    Bpo1,
    /// The second blob-parameter-only fork after Osaka (EIP-7892).
    Bpo2,
    /// The third blob-parameter-only fork (EIP-7892).
    Bpo3,
    /// The fourth blob-parameter-only fork (EIP-7892).
    Bpo4,
    /// The fifth blob-parameter-only fork (EIP-7892).
    Bpo5,
    /// Amsterdam (the execution half of Glamsterdam).
    Amsterdam,
}

impl Hardfork {
    /// The fork's usual name, e.g. `"Spurious Dragon"` or `"BPO1"`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Homestead => "Homestead",
            Self::Dao => "DAO",
            Self::TangerineWhistle => "Tangerine Whistle",
            Self::SpuriousDragon => "Spurious Dragon",
            Self::Eip158 => "EIP-158",
            Self::Byzantium => "Byzantium",
            Self::Constantinople => "Constantinople",
            Self::Petersburg => "Petersburg",
            Self::Istanbul => "Istanbul",
            Self::MuirGlacier => "Muir Glacier",
            Self::Berlin => "Berlin",
            Self::London => "London",
            Self::ArrowGlacier => "Arrow Glacier",
            Self::GrayGlacier => "Gray Glacier",
            Self::MergeNetsplit => "Merge Netsplit",
            Self::Shanghai => "Shanghai",
            Self::Cancun => "Cancun",
            Self::Prague => "Prague",
            Self::Osaka => "Osaka",
            Self::Bpo1 => "BPO1",
            Self::Bpo2 => "BPO2",
            Self::Bpo3 => "BPO3",
            Self::Bpo4 => "BPO4",
            Self::Bpo5 => "BPO5",
            Self::Amsterdam => "Amsterdam",
        }
    }
}

impl fmt::Display for Hardfork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything the p2p layer needs to know about a network: its identity, its
/// fork schedule and where to find peers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainSpec {
    /// Short lowercase name, e.g. `"mainnet"`; [`ChainSpec::by_name`] accepts it.
    pub name: String,
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// Network id announced in the eth Status message.
    pub network_id: u64,
    /// Hash of the genesis block.
    pub genesis_hash: B256,
    /// Timestamp of the genesis block (seconds since the Unix epoch).
    pub genesis_timestamp: u64,
    /// Difficulty of the genesis block, i.e. the total difficulty at genesis.
    pub genesis_difficulty: U256,
    /// Total difficulty at which the network switched to proof of stake.
    pub terminal_total_difficulty: U256,
    /// Every scheduled fork with its activation, in protocol order. Forks at
    /// block 0 or at/before the genesis timestamp are listed too; they are
    /// part of the genesis rules and do not count towards the fork id.
    pub forks: Vec<(Hardfork, ForkActivation)>,
    /// Discovery bootstrap nodes, as `enode://` URLs.
    pub bootnodes: Vec<String>,
}

/// Go-ethereum genesis hashes (params/config.go).
const MAINNET_GENESIS_HASH: B256 =
    b256!("d4e56740f876aef8c010b86a40d5f56745a118d0906a34e69aec8c0db1cb8fa3");
const SEPOLIA_GENESIS_HASH: B256 =
    b256!("25a5cc106eea7138acab33231d7160d69cb777ee0c2c553fcddf5138993e6dd9");
const HOLESKY_GENESIS_HASH: B256 =
    b256!("b5f7f912443c940f21fd611f12828d75b534364ed9e95ca4e307729a4661bde4");
const HOODI_GENESIS_HASH: B256 =
    b256!("bbe312868b376a3001692a646dd2d7d1e4406380dfd86b98aa8a34d1557c971b");

/// Go-ethereum `MainnetBootnodes` (params/bootnodes.go).
const MAINNET_BOOTNODES: [&str; 4] = [
    "enode://d860a01f9722d78051619d1e2351aba3f43f943f6f00718d1b9baa4101932a1f5011f16bb2b1bb35db20d6fe28fa0bf09636d26a87d31de9ec6203eeedb1f666@18.138.108.67:30303",
    "enode://22a8232c3abc76a16ae9d6c3b164f98775fe226f0917b0ca871128a74a8e9630b458460865bab457221f1d448dd9791d24c4e5d88786180ac185df813a68d4de@3.209.45.79:30303",
    "enode://2b252ab6a1d0f971d9722cb839a42cb81db019ba44c08754628ab4a823487071b5695317c8ccd085219c3a03af063495b2f1da8d18218da2d6a82981b45e6ffc@65.108.70.101:30303",
    "enode://4aeb4ab6c14b23e2c4cfdce879c04b0748a20d8e9b59e25ded2a08143e265c6c25936e74cbc8e641e3312ca288673d91f2f93f8e277de3cfa444ecdaaf982052@157.90.35.166:30303",
];

/// Go-ethereum `SepoliaBootnodes` (params/bootnodes.go).
const SEPOLIA_BOOTNODES: [&str; 5] = [
    "enode://4e5e92199ee224a01932a377160aa432f31d0b351f84ab413a8e0a42f4f36476f8fb1cbe914af0d9aef0d51665c214cf653c651c4bbd9d5550a934f241f1682b@138.197.51.181:30303",
    "enode://143e11fb766781d22d92a2e33f8f104cddae4411a122295ed1fdb6638de96a6ce65f5b7c964ba3763bba27961738fef7d3ecc739268f3e5e771fb4c87b6234ba@146.190.1.103:30303",
    "enode://8b61dc2d06c3f96fddcbebb0efb29d60d3598650275dc469c22229d3e5620369b0d3dedafd929835fe7f489618f19f456fe7c0df572bf2d914a9f4e006f783a9@170.64.250.88:30303",
    "enode://10d62eff032205fcef19497f35ca8477bea0eadfff6d769a147e895d8b2b8f8ae6341630c645c30f5df6e67547c03494ced3d9c5764e8622a26587b083b028e8@139.59.49.206:30303",
    "enode://9e9492e2e8836114cc75f5b929784f4f46c324ad01daf87d956f98b3b6c5fcba95524d6e5cf9861dc96a2c8a171ea7105bb554a197455058de185fa870970c7c@138.68.123.152:30303",
];

/// Go-ethereum `HoleskyBootnodes` (params/bootnodes.go).
const HOLESKY_BOOTNODES: [&str; 2] = [
    "enode://ac906289e4b7f12df423d654c5a962b6ebe5b3a74cc9e06292a85221f9a64a6f1cfdd6b714ed6dacef51578f92b34c60ee91e9ede9c7f8fadc4d347326d95e2b@146.190.13.128:30303",
    "enode://a3435a0155a3e837c02f5e7f5662a2f1fbc25b48e4dc232016e1c51b544cb5b4510ef633ea3278c0e970fa8ad8141e2d4d0f9f95456c537ff05fdf9b31c15072@178.128.136.233:30303",
];

/// Go-ethereum `HoodiBootnodes` (params/bootnodes.go).
const HOODI_BOOTNODES: [&str; 3] = [
    "enode://2112dd3839dd752813d4df7f40936f06829fc54c0e051a93967c26e5f5d27d99d886b57b4ffcc3c475e930ec9e79c56ef1dbb7d86ca5ee83a9d2ccf36e5c240c@134.209.138.84:30303",
    "enode://60203fcb3524e07c5df60a14ae1c9c5b24023ea5d47463dfae051d2c9f3219f309657537576090ca0ae641f73d419f53d8e8000d7a464319d4784acd7d2abc41@209.38.124.160:30303",
    "enode://8ae4a48101b2299597341263da0deb47cc38aa4d3ef4b7430b897d49bfa10eb1ccfe1655679b1ed46928ef177fbf21b86837bd724400196c508427a6f41602cd@134.199.184.23:30303",
];

/// The forks that every post-London testnet activates at genesis, as block 0.
const GENESIS_BLOCK_FORKS: [Hardfork; 10] = [
    Hardfork::Homestead,
    Hardfork::TangerineWhistle,
    Hardfork::SpuriousDragon,
    Hardfork::Byzantium,
    Hardfork::Constantinople,
    Hardfork::Petersburg,
    Hardfork::Istanbul,
    Hardfork::MuirGlacier,
    Hardfork::Berlin,
    Hardfork::London,
];

impl ChainSpec {
    /// The names [`ChainSpec::by_name`] knows, in the order of [`ChainSpec::all`].
    pub const NAMES: [&'static str; 4] = ["mainnet", "sepolia", "holesky", "hoodi"];

    /// Ethereum mainnet (chain id 1).
    pub fn mainnet() -> Self {
        use ForkActivation::{Block, Timestamp};
        use Hardfork::*;
        Self {
            name: "mainnet".to_owned(),
            chain_id: 1,
            network_id: 1,
            genesis_hash: MAINNET_GENESIS_HASH,
            genesis_timestamp: 0,
            genesis_difficulty: U256::from(17_179_869_184_u64),
            terminal_total_difficulty: U256::from(58_750_000_000_000_000_000_000_u128),
            forks: vec![
                (Homestead, Block(1_150_000)),
                (Dao, Block(1_920_000)),
                (TangerineWhistle, Block(2_463_000)),
                (SpuriousDragon, Block(2_675_000)),
                (Byzantium, Block(4_370_000)),
                (Constantinople, Block(7_280_000)),
                (Petersburg, Block(7_280_000)),
                (Istanbul, Block(9_069_000)),
                (MuirGlacier, Block(9_200_000)),
                (Berlin, Block(12_244_000)),
                (London, Block(12_965_000)),
                (ArrowGlacier, Block(13_773_000)),
                (GrayGlacier, Block(15_050_000)),
                (Shanghai, Timestamp(1_681_338_455)),
                (Cancun, Timestamp(1_710_338_135)),
                (Prague, Timestamp(1_746_612_311)),
                (Osaka, Timestamp(1_764_798_551)),
                (Bpo1, Timestamp(1_765_290_071)),
                (Bpo2, Timestamp(1_767_747_671)),
            ],
            bootnodes: to_strings(&MAINNET_BOOTNODES),
        }
    }

    /// The Sepolia testnet (chain id 11155111).
    pub fn sepolia() -> Self {
        use ForkActivation::{Block, Timestamp};
        use Hardfork::*;
        let mut forks = genesis_block_forks();
        forks.extend([
            (MergeNetsplit, Block(1_735_371)),
            (Shanghai, Timestamp(1_677_557_088)),
            (Cancun, Timestamp(1_706_655_072)),
            (Prague, Timestamp(1_741_159_776)),
            (Osaka, Timestamp(1_760_427_360)),
            (Bpo1, Timestamp(1_761_017_184)),
            (Bpo2, Timestamp(1_761_607_008)),
            (Amsterdam, Timestamp(1_791_294_816)),
        ]);
        Self {
            name: "sepolia".to_owned(),
            chain_id: 11_155_111,
            network_id: 11_155_111,
            genesis_hash: SEPOLIA_GENESIS_HASH,
            genesis_timestamp: 1_633_267_481,
            genesis_difficulty: U256::from(0x20000_u64),
            terminal_total_difficulty: U256::from(17_000_000_000_000_000_u64),
            forks,
            bootnodes: to_strings(&SEPOLIA_BOOTNODES),
        }
    }

    /// The Holesky testnet (chain id 17000), merged at genesis.
    pub fn holesky() -> Self {
        use ForkActivation::Timestamp;
        use Hardfork::*;
        // Holesky has no Muir Glacier entry in go-ethereum's config.
        let mut forks: Vec<_> = genesis_block_forks()
            .into_iter()
            .filter(|(fork, _)| *fork != MuirGlacier)
            .collect();
        forks.extend([
            (Shanghai, Timestamp(1_696_000_704)),
            (Cancun, Timestamp(1_707_305_664)),
            (Prague, Timestamp(1_740_434_112)),
            (Osaka, Timestamp(1_759_308_480)),
            (Bpo1, Timestamp(1_759_800_000)),
            (Bpo2, Timestamp(1_760_389_824)),
        ]);
        Self {
            name: "holesky".to_owned(),
            chain_id: 17_000,
            network_id: 17_000,
            genesis_hash: HOLESKY_GENESIS_HASH,
            genesis_timestamp: 1_695_902_100,
            genesis_difficulty: U256::from(1_u64),
            terminal_total_difficulty: U256::ZERO,
            forks,
            bootnodes: to_strings(&HOLESKY_BOOTNODES),
        }
    }

    /// The Hoodi testnet (chain id 560048), on Cancun rules from genesis.
    pub fn hoodi() -> Self {
        use ForkActivation::{Block, Timestamp};
        use Hardfork::*;
        let mut forks = genesis_block_forks();
        forks.extend([
            (MergeNetsplit, Block(0)),
            (Shanghai, Timestamp(0)),
            (Cancun, Timestamp(0)),
            (Prague, Timestamp(1_742_999_832)),
            (Osaka, Timestamp(1_761_677_592)),
            (Bpo1, Timestamp(1_762_365_720)),
            (Bpo2, Timestamp(1_762_955_544)),
        ]);
        Self {
            name: "hoodi".to_owned(),
            chain_id: 560_048,
            network_id: 560_048,
            genesis_hash: HOODI_GENESIS_HASH,
            genesis_timestamp: 1_742_212_800,
            genesis_difficulty: U256::from(1_u64),
            terminal_total_difficulty: U256::ZERO,
            forks,
            bootnodes: to_strings(&HOODI_BOOTNODES),
        }
    }

    /// Every preset, in the order of [`ChainSpec::NAMES`].
    pub fn all() -> [Self; 4] {
        [
            Self::mainnet(),
            Self::sepolia(),
            Self::holesky(),
            Self::hoodi(),
        ]
    }

    /// The preset with this name (ASCII case-insensitive, surrounding
    /// whitespace ignored), if any.
    pub fn by_name(name: &str) -> Option<Self> {
        let name = name.trim();
        if name.eq_ignore_ascii_case("mainnet") {
            Some(Self::mainnet())
        } else if name.eq_ignore_ascii_case("sepolia") {
            Some(Self::sepolia())
        } else if name.eq_ignore_ascii_case("holesky") {
            Some(Self::holesky())
        } else if name.eq_ignore_ascii_case("hoodi") {
            Some(Self::hoodi())
        } else {
            None
        }
    }

    /// The preset with this chain id, if any.
    pub fn by_chain_id(chain_id: u64) -> Option<Self> {
        Self::all()
            .into_iter()
            .find(|spec| spec.chain_id == chain_id)
    }

    /// When `fork` activates on this chain, if it is scheduled.
    pub fn fork_activation(&self, fork: Hardfork) -> Option<ForkActivation> {
        self.forks
            .iter()
            .find(|(f, _)| *f == fork)
            .map(|(_, activation)| *activation)
    }

    /// The activations of every scheduled fork, in schedule order.
    pub fn fork_activations(&self) -> impl Iterator<Item = ForkActivation> + '_ {
        self.forks.iter().map(|(_, activation)| *activation)
    }

    /// The head of a node that has only the genesis block.
    pub fn genesis_head(&self) -> Head {
        Head {
            number: 0,
            timestamp: self.genesis_timestamp,
            hash: self.genesis_hash,
            total_difficulty: self.genesis_difficulty,
        }
    }

    /// The Status this chain offers at `head` (version set per session).
    pub fn status(&self, head: &Head) -> crate::status::Status {
        let fork_id = self.fork_filter(*head).current();
        crate::status::Status {
            version: crate::version::EthVersion::Eth69.as_u8(),
            network_id: self.network_id,
            genesis: self.genesis_hash,
            fork_id,
            total_difficulty: head.total_difficulty,
            best_hash: head.hash,
            earliest_block: 0,
            latest_block: head.number,
            latest_block_hash: head.hash,
        }
    }

    /// A fork filter for this chain with the local head at `head`.
    pub fn fork_filter(&self, head: Head) -> ForkFilter {
        ForkFilter::new(
            self.genesis_hash,
            self.genesis_timestamp,
            head,
            self.fork_activations(),
        )
    }

    /// The fork id of this chain for a head at block `number` with `timestamp`.
    pub fn fork_id_at(&self, number: u64, timestamp: u64) -> ForkId {
        self.fork_filter(self.genesis_head())
            .fork_id_at(number, timestamp)
    }
}

/// The [`GENESIS_BLOCK_FORKS`] as schedule entries at block 0.
fn genesis_block_forks() -> Vec<(Hardfork, ForkActivation)> {
    GENESIS_BLOCK_FORKS
        .iter()
        .map(|fork| (*fork, ForkActivation::Block(0)))
        .collect()
}

fn to_strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forkid::ForkHash;

    fn id(hash: u32, next: u64) -> ForkId {
        ForkId {
            hash: ForkHash::from(hash),
            next,
        }
    }

    /// Checks `(number, timestamp, hash, next)` rows against `spec`.
    fn check(spec: &ChainSpec, cases: &[(u64, u64, u32, u64)]) {
        for &(number, timestamp, hash, next) in cases {
            let want = id(hash, next);
            assert_eq!(
                spec.fork_id_at(number, timestamp),
                want,
                "{} #{number} @{timestamp}: want {want}",
                spec.name
            );
            let head = Head {
                number,
                timestamp,
                ..Head::default()
            };
            assert_eq!(
                spec.fork_filter(head).current(),
                want,
                "{} filter",
                spec.name
            );
        }
    }

    #[test]
    fn mainnet_fork_ids() {
        // Genesis and unsynced: go-ethereum core/forkid TestCreation, mainnet.
        // Prague/Osaka/BPO1/BPO2: the same table and the execution-specs
        // fork tables (Osaka 0x5167e2a6, BPO1 0xcba2a1c0, BPO2 0x07c9462e).
        let spec = ChainSpec::mainnet();
        let genesis = spec.genesis_head();
        assert_eq!(
            spec.fork_filter(genesis).current(),
            id(0xfc64ec04, 1_150_000)
        );
        check(
            &spec,
            &[
                (15_050_000, 0, 0xf0afd0e3, 1_681_338_455),
                (20_000_000, 1_681_338_455, 0xdce96c2d, 1_710_338_135),
                (30_000_000, 1_710_338_135, 0x9f3d2254, 1_746_612_311),
                (30_000_000, 1_746_612_311, 0xc376cf8b, 1_764_798_551),
                (30_000_000, 1_764_798_551, 0x5167e2a6, 1_765_290_071),
                (30_000_000, 1_765_290_071, 0xcba2a1c0, 1_767_747_671),
                (30_000_000, 1_767_747_671, 0x07c9462e, 0),
                (u64::MAX, u64::MAX, 0x07c9462e, 0),
            ],
        );
    }

    #[test]
    fn sepolia_fork_ids() {
        // go-ethereum core/forkid TestCreation, Sepolia rows (through Prague),
        // and the execution-specs fork tables for Osaka (0xe2ae4999), BPO1
        // (0x56078a1e) and BPO2 (0x268956b6). Amsterdam (0x6c1d9423 from
        // 1791294816 on) is the value published for go-ethereum's Sepolia
        // Amsterdam schedule.
        let spec = ChainSpec::sepolia();
        assert_eq!(
            spec.fork_filter(spec.genesis_head()).current(),
            id(0xfe3366e7, 1_735_371)
        );
        check(
            &spec,
            &[
                (0, 0, 0xfe3366e7, 1_735_371),
                (1_735_370, 0, 0xfe3366e7, 1_735_371),
                (1_735_371, 0, 0xb96cbd13, 1_677_557_088),
                (1_735_372, 1_677_557_087, 0xb96cbd13, 1_677_557_088),
                (1_735_372, 1_677_557_088, 0xf7f9bc08, 1_706_655_072),
                (1_735_372, 1_706_655_071, 0xf7f9bc08, 1_706_655_072),
                (1_735_372, 1_706_655_072, 0x88cf81d9, 1_741_159_776),
                (1_735_372, 1_741_159_775, 0x88cf81d9, 1_741_159_776),
                (1_735_372, 1_741_159_776, 0xed88b5fd, 1_760_427_360),
                (1_735_372, 1_760_427_359, 0xed88b5fd, 1_760_427_360),
                (1_735_372, 1_760_427_360, 0xe2ae4999, 1_761_017_184),
                (1_735_372, 1_761_017_183, 0xe2ae4999, 1_761_017_184),
                (1_735_372, 1_761_017_184, 0x56078a1e, 1_761_607_008),
                (1_735_372, 1_761_607_007, 0x56078a1e, 1_761_607_008),
                (1_735_372, 1_761_607_008, 0x268956b6, 1_791_294_816),
                (1_735_372, 1_791_294_815, 0x268956b6, 1_791_294_816),
                (1_735_372, 1_791_294_816, 0x6c1d9423, 0),
                (u64::MAX, u64::MAX, 0x6c1d9423, 0),
            ],
        );
    }

    #[test]
    fn holesky_fork_ids() {
        // go-ethereum core/forkid TestCreation, Holesky rows (genesis through
        // Prague), and the execution-specs fork tables for Osaka
        // (0x783def52), BPO1 (0xa280a45c) and BPO2 (0x9bc6cb31).
        let spec = ChainSpec::holesky();
        assert_eq!(
            spec.fork_filter(spec.genesis_head()).current(),
            id(0xc61a6098, 1_696_000_704)
        );
        check(
            &spec,
            &[
                (0, 0, 0xc61a6098, 1_696_000_704),
                (0, 1_696_000_704, 0xfd4f016b, 1_707_305_664),
                (0, 1_707_305_652, 0xfd4f016b, 1_707_305_664),
                (894_733, 1_707_305_676, 0x9b192ad0, 1_740_434_112),
                (3_655_436, 1_740_434_112, 0xdfbd9bed, 1_759_308_480),
                (5_000_000, 1_759_308_480, 0x783def52, 1_759_800_000),
                (5_000_000, 1_759_800_000, 0xa280a45c, 1_760_389_824),
                (5_000_000, 1_760_389_824, 0x9bc6cb31, 0),
                (u64::MAX, u64::MAX, 0x9bc6cb31, 0),
            ],
        );
    }

    #[test]
    fn hoodi_fork_ids() {
        // go-ethereum core/forkid TestCreation, Hoodi rows (genesis, Prague),
        // and the execution-specs fork tables for Osaka (0xe7e0e7ff), BPO1
        // (0x3893353e) and BPO2 (0x23aa1351). Shanghai and Cancun are active
        // at genesis and do not count.
        let spec = ChainSpec::hoodi();
        assert_eq!(
            spec.fork_filter(spec.genesis_head()).current(),
            id(0xbef71d30, 1_742_999_832)
        );
        check(
            &spec,
            &[
                (0, 1_742_212_800, 0xbef71d30, 1_742_999_832),
                (50_000, 1_742_999_820, 0xbef71d30, 1_742_999_832),
                (50_001, 1_742_999_832, 0x0929e24e, 1_761_677_592),
                (1_000_000, 1_761_677_592, 0xe7e0e7ff, 1_762_365_720),
                (1_000_000, 1_762_365_720, 0x3893353e, 1_762_955_544),
                (1_000_000, 1_762_955_544, 0x23aa1351, 0),
                (u64::MAX, u64::MAX, 0x23aa1351, 0),
            ],
        );
    }

    #[test]
    fn by_name_round_trips() {
        for (name, spec) in ChainSpec::NAMES.iter().zip(ChainSpec::all()) {
            assert_eq!(spec.name, *name);
            assert_eq!(ChainSpec::by_name(name).as_ref(), Some(&spec));
            assert_eq!(
                ChainSpec::by_name(&spec.name.to_uppercase()).as_ref(),
                Some(&spec)
            );
            assert_eq!(
                ChainSpec::by_name(&format!(" {name}\n")).as_ref(),
                Some(&spec)
            );
            assert_eq!(ChainSpec::by_chain_id(spec.chain_id).as_ref(), Some(&spec));
        }
        for unknown in ["", "goerli", "ropsten", "main net", "sepolia2"] {
            assert_eq!(ChainSpec::by_name(unknown), None, "{unknown:?}");
        }
        assert_eq!(ChainSpec::by_chain_id(5), None);
    }

    #[test]
    fn identities() {
        let ids: Vec<_> = ChainSpec::all()
            .iter()
            .map(|s| (s.chain_id, s.network_id, s.genesis_timestamp))
            .collect();
        assert_eq!(
            ids,
            [
                (1, 1, 0),
                (11_155_111, 11_155_111, 1_633_267_481),
                (17_000, 17_000, 1_695_902_100),
                (560_048, 560_048, 1_742_212_800),
            ]
        );
        let head = ChainSpec::sepolia().genesis_head();
        assert_eq!(head.number, 0);
        assert_eq!(head.hash, SEPOLIA_GENESIS_HASH);
        assert_eq!(head.total_difficulty, U256::from(0x20000_u64));
    }

    #[test]
    fn schedules_are_ordered() {
        for spec in ChainSpec::all() {
            let activations: Vec<_> = spec.fork_activations().collect();
            let first_time = activations.iter().position(|a| a.is_timestamp());
            let split = first_time.unwrap_or(activations.len());
            let (by_block, by_time) = activations.split_at(split);
            assert!(
                by_time.iter().all(|a| a.is_timestamp()),
                "{}: block fork after a time fork",
                spec.name
            );
            assert!(
                by_block.windows(2).all(|w| w[0].value() <= w[1].value()),
                "{}",
                spec.name
            );
            assert!(
                by_time.windows(2).all(|w| w[0].value() <= w[1].value()),
                "{}",
                spec.name
            );
            let forks: Vec<_> = spec.forks.iter().map(|(f, _)| *f).collect();
            assert!(
                forks.windows(2).all(|w| w[0] < w[1]),
                "{}: forks out of order",
                spec.name
            );
        }
        assert_eq!(
            ChainSpec::mainnet().fork_activation(Hardfork::Osaka),
            Some(ForkActivation::Timestamp(1_764_798_551))
        );
        assert_eq!(
            ChainSpec::mainnet().fork_activation(Hardfork::Amsterdam),
            None
        );
        assert_eq!(Hardfork::Bpo1.to_string(), "BPO1");
    }

    #[test]
    fn bootnodes_are_enode_urls() {
        for spec in ChainSpec::all() {
            assert!(!spec.bootnodes.is_empty(), "{}", spec.name);
            for url in &spec.bootnodes {
                let rest = url
                    .strip_prefix("enode://")
                    .unwrap_or_else(|| panic!("{url}"));
                let (key, addr) = rest.split_once('@').unwrap_or_else(|| panic!("{url}"));
                assert_eq!(key.len(), 128, "{url}");
                assert!(key.bytes().all(|b| b.is_ascii_hexdigit()), "{url}");
                assert!(addr.parse::<std::net::SocketAddr>().is_ok(), "{url}");
            }
        }
    }

    #[test]
    fn filter_follows_the_head() {
        let spec = ChainSpec::mainnet();
        let mut filter = spec.fork_filter(spec.genesis_head());
        let osaka = Head {
            number: 23_935_694,
            timestamp: 1_764_798_551,
            ..Head::default()
        };
        let transition = filter.set_head(osaka);
        assert_eq!(
            transition.map(|t| t.current),
            Some(id(0x5167e2a6, 1_765_290_071))
        );
        // A peer still on Prague that knows Osaka is merely behind; one that
        // does not know Osaka needs an update.
        assert_eq!(filter.validate(id(0xc376cf8b, 1_764_798_551)), Ok(()));
        assert!(filter.validate(id(0xc376cf8b, 0)).is_err());
        // A Sepolia peer is on another chain.
        assert!(filter
            .validate(ChainSpec::sepolia().fork_id_at(u64::MAX, u64::MAX))
            .is_err());
    }
}
