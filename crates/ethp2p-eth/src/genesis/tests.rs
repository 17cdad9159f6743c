use super::*;
use crate::forkid::Head;
use alloy_primitives::{b256, Address, Bytes};
use alloy_rlp::{Encodable, Header as RlpHeader};

/// A file under `tests/genesis/`.
fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/genesis")
        .join(name)
}

/// The activation points at which two specs' fork ids are compared: genesis,
/// each activation of `spec`, the moment before it, and the far future.
fn probe_points(spec: &ChainSpec) -> Vec<(u64, u64)> {
    let last_block = spec
        .fork_activations()
        .filter(|a| a.is_block())
        .map(|a| a.value())
        .max()
        .unwrap_or(0);
    let mut points = vec![(0, spec.genesis_timestamp), (u64::MAX, u64::MAX)];
    for activation in spec.fork_activations() {
        match activation {
            ForkActivation::Block(n) => {
                points.push((n, spec.genesis_timestamp));
                points.push((n.saturating_sub(1), spec.genesis_timestamp));
            }
            ForkActivation::Timestamp(t) => {
                points.push((last_block, t));
                points.push((last_block, t.saturating_sub(1)));
            }
        }
    }
    points
}

/// `parsed` (from a published genesis.json) and `preset` agree on identity,
/// genesis and every fork id; `missing` are preset forks the file's config
/// does not schedule.
fn assert_matches_preset(parsed: &ChainSpec, preset: &ChainSpec, missing: &[Hardfork]) {
    assert_eq!(parsed.genesis_hash, preset.genesis_hash, "{}", preset.name);
    assert_eq!(parsed.chain_id, preset.chain_id);
    assert_eq!(parsed.network_id, preset.network_id);
    assert_eq!(parsed.genesis_timestamp, preset.genesis_timestamp);
    assert_eq!(parsed.genesis_difficulty, preset.genesis_difficulty);
    assert_eq!(
        parsed.terminal_total_difficulty,
        preset.terminal_total_difficulty
    );
    let mut expected = preset.clone();
    expected.forks.retain(|(fork, _)| !missing.contains(fork));
    for spec in [&expected, parsed] {
        for (number, timestamp) in probe_points(spec) {
            assert_eq!(
                parsed.fork_id_at(number, timestamp),
                expected.fork_id_at(number, timestamp),
                "{} #{number} @{timestamp}",
                preset.name
            );
        }
    }
    assert_eq!(
        parsed.status(&parsed.genesis_head()),
        expected.status(&expected.genesis_head())
    );
}

#[test]
fn mainnet_file_matches_preset() {
    let spec = ChainSpec::from_geth_genesis_file(data("mainnet.json")).expect("mainnet");
    assert_matches_preset(&spec, &ChainSpec::mainnet(), &[]);
    // Every fork of the preset is in the file, at the same block or time.
    assert_eq!(spec.forks, ChainSpec::mainnet().forks);
    assert_eq!(spec.name, CUSTOM_CHAIN_NAME);
    assert!(spec.bootnodes.is_empty());
}

#[test]
fn sepolia_file_matches_preset() {
    let spec = ChainSpec::from_geth_genesis_file(data("sepolia.json")).expect("sepolia");
    // The published file predates the Amsterdam schedule the preset carries.
    assert_matches_preset(&spec, &ChainSpec::sepolia(), &[Hardfork::Amsterdam]);
    assert_eq!(
        spec.fork_activation(Hardfork::MergeNetsplit),
        Some(ForkActivation::Block(1_735_371))
    );
}

#[test]
fn holesky_file_matches_preset() {
    let spec = ChainSpec::from_geth_genesis_file(data("holesky.json")).expect("holesky");
    assert_matches_preset(&spec, &ChainSpec::holesky(), &[]);
}

#[test]
fn hoodi_file_matches_preset() {
    let spec = ChainSpec::from_geth_genesis_file(data("hoodi.json")).expect("hoodi");
    assert_matches_preset(&spec, &ChainSpec::hoodi(), &[]);
}

/// go-ethereum's `TestSetupGenesis` custom genesis (core/genesis_test.go):
/// Homestead at 3, one account `{1}` with balance 1 and storage `{1}: {1}`,
/// difficulty and gas limit left to their defaults; published hash
/// 0x89c99d90…fbd50. (geth builds it without a chain id, which is not part
/// of the block.)
#[test]
fn geth_test_fixture_hash() {
    let json = r#"{
        "config": { "chainId": 1337, "homesteadBlock": 3, "ethash": {} },
        "difficulty": "0x20000",
        "gasLimit": "0x0",
        "alloc": {
            "0x0100000000000000000000000000000000000000": {
                "balance": "0x1",
                "storage": {
                    "0x0100000000000000000000000000000000000000000000000000000000000000":
                    "0x0100000000000000000000000000000000000000000000000000000000000000"
                }
            }
        }
    }"#;
    let spec = ChainSpec::from_geth_genesis(json).expect("fixture");
    assert_eq!(
        spec.genesis_hash,
        b256!("89c99d90b79719238d2645c7642f2c9295246e80775b38cfd162b696817fbd50")
    );
    assert_eq!(spec.chain_id, 1337);
    assert_eq!(spec.network_id, 1337);
    assert_eq!(spec.terminal_total_difficulty, U256::MAX);
    assert_eq!(
        spec.forks,
        vec![(Hardfork::Homestead, ForkActivation::Block(3))]
    );
}

// ---- the devnet file, checked against a header and tries assembled by hand

fn rlp<T: Encodable + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    value.encode(&mut out);
    out
}

/// An RLP list of already-encoded items.
fn rlp_list(items: &[Vec<u8>]) -> Vec<u8> {
    let payload: Vec<u8> = items.concat();
    let mut out = Vec::new();
    RlpHeader {
        list: true,
        payload_length: payload.len(),
    }
    .encode(&mut out);
    out.extend(payload);
    out
}

/// The root of a trie holding one `value` under the 32-byte `key`: a single
/// leaf whose path is the whole key (hex-prefix flag 0x20, even length).
fn single_leaf_root(key: B256, value: &[u8]) -> B256 {
    let mut path = vec![0x20];
    path.extend_from_slice(key.as_slice());
    keccak256(rlp_list(&[rlp(&path[..]), rlp(value)]))
}

#[test]
fn devnet_hash_matches_hand_assembled_block() {
    let spec = ChainSpec::from_geth_genesis_file(data("devnet.json")).expect("devnet");

    // The file's one account; its zero-valued slot must not be stored.
    let address: Address = "0x00000000000000000000000000000000000000aa"
        .parse()
        .expect("address");
    let code = Bytes::from_static(&[0x60, 0x2a, 0x60, 0x00, 0x55, 0x00]);
    let slot = B256::with_last_byte(1);
    let storage_root = single_leaf_root(keccak256(slot), &rlp(&U256::from(0x2a_u64)));
    let account = rlp_list(&[
        rlp(&7_u64),                                     // nonce
        rlp(&U256::from(1_000_000_000_000_000_000_u64)), // balance: 1 ether
        rlp(&storage_root),
        rlp(&keccak256(&code)),
    ]);
    let state_root = single_leaf_root(keccak256(address), &account);

    let empty_trie = keccak256([0x80]);
    let empty_list = keccak256([0xc0]);
    let header = rlp_list(&[
        rlp(&B256::ZERO),                 // parent hash
        rlp(&empty_list),                 // ommers
        rlp(&Address::repeat_byte(0x11)), // coinbase
        rlp(&state_root),                 // state root
        rlp(&empty_trie),                 // transactions
        rlp(&empty_trie),                 // receipts
        rlp(&[0u8; 256][..]),             // logs bloom
        rlp(&U256::ZERO),                 // difficulty
        rlp(&0_u64),                      // number
        rlp(&30_000_000_u64),             // gas limit
        rlp(&0_u64),                      // gas used
        rlp(&1_700_000_000_u64),          // timestamp
        rlp(&b"ethp2p devnet"[..]),       // extra data
        rlp(&B256::ZERO),                 // mix hash
        rlp(&[0u8; 8][..]),               // nonce
        rlp(&1_000_000_000_u64),          // base fee: London at genesis, none given
        rlp(&empty_trie),                 // withdrawals root: Shanghai
        rlp(&0_u64),                      // blob gas used: Cancun
        rlp(&0_u64),                      // excess blob gas
        rlp(&B256::ZERO),                 // parent beacon root
        rlp(&b256!(
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        )), // sha256("")
    ]);
    assert_eq!(spec.genesis_hash, keccak256(&header));

    assert_eq!(spec.chain_id, 31337);
    assert_eq!(spec.network_id, 31337);
    assert_eq!(spec.genesis_timestamp, 1_700_000_000);
    assert_eq!(spec.genesis_difficulty, U256::ZERO);
    assert_eq!(spec.terminal_total_difficulty, U256::ZERO);
    // Everything through Prague is in the genesis rules; Osaka and BPO1 are
    // the only forks the fork id counts.
    let osaka = 1_700_000_600;
    let bpo1 = 1_700_001_200;
    assert_eq!(
        spec.fork_activation(Hardfork::Osaka),
        Some(ForkActivation::Timestamp(osaka))
    );
    let genesis_id = spec.fork_filter(spec.genesis_head()).current();
    assert_eq!(genesis_id.next, osaka);
    let osaka_id = spec.fork_id_at(0, osaka);
    assert_eq!(osaka_id.next, bpo1);
    assert_eq!(
        osaka_id.hash,
        genesis_id.hash.with_fork(osaka),
        "Osaka is the first counted fork"
    );
    assert_eq!(spec.fork_id_at(0, bpo1).next, 0);
    assert_eq!(
        spec.fork_id_at(0, bpo1).hash,
        crate::forkid::ForkHash::from_genesis(spec.genesis_hash)
            .with_fork(osaka)
            .with_fork(bpo1)
    );
    let head = Head {
        timestamp: osaka,
        ..spec.genesis_head()
    };
    assert_eq!(spec.status(&head).fork_id, osaka_id);
}

#[test]
fn network_id_override_and_name() {
    let json = std::fs::read_to_string(data("devnet.json")).expect("read");
    let spec = ChainSpec::from_geth_genesis(&json)
        .expect("devnet")
        .with_network_id(7)
        .with_name("mydevnet");
    assert_eq!(spec.network_id, 7);
    assert_eq!(spec.chain_id, 31337);
    assert_eq!(spec.status(&spec.genesis_head()).network_id, 7);
    assert_eq!(spec.name, "mydevnet");
}

// ---- header rules, each changing the hash

/// A post-merge genesis with London at `london`, the given time forks, and an
/// optional extra top-level field.
fn minimal(london: &str, times: &str, extra: &str) -> String {
    format!(
        r#"{{"config": {{"chainId": 9, "londonBlock": {london}{times}}},
            "difficulty": "0x0", "gasLimit": "0x1c9c380", "timestamp": "0x10",
            "alloc": {{}}{extra}}}"#
    )
}

fn hash(json: &str) -> B256 {
    ChainSpec::from_geth_genesis(json).expect(json).genesis_hash
}

#[test]
fn header_fields_follow_the_forks_at_genesis() {
    let base = hash(&minimal("0", "", ""));
    // The default base fee is 1 gwei: giving it explicitly changes nothing,
    // another value changes the hash.
    assert_eq!(
        base,
        hash(&minimal("0", "", r#", "baseFeePerGas": "0x3b9aca00""#))
    );
    assert_ne!(base, hash(&minimal("0", "", r#", "baseFeePerGas": "0x7""#)));
    // London after genesis: no base fee at all.
    assert_ne!(base, hash(&minimal("5", "", "")));
    assert_eq!(
        hash(&minimal("5", "", "")),
        hash(&minimal("5", "", r#", "baseFeePerGas": "0x7""#))
    );
    // Shanghai at genesis adds the withdrawals root; scheduled later it does not.
    let shanghai = hash(&minimal("0", r#", "shanghaiTime": 16"#, ""));
    assert_ne!(base, shanghai);
    assert_eq!(base, hash(&minimal("0", r#", "shanghaiTime": 17"#, "")));
    // Cancun: the blob gas fields default to zero; given values count.
    let cancun = hash(&minimal("0", r#", "shanghaiTime": 0, "cancunTime": 0"#, ""));
    assert_ne!(shanghai, cancun);
    assert_eq!(
        cancun,
        hash(&minimal(
            "0",
            r#", "shanghaiTime": 0, "cancunTime": 0"#,
            r#", "excessBlobGas": "0x0", "blobGasUsed": "0x0""#
        ))
    );
    assert_ne!(
        cancun,
        hash(&minimal(
            "0",
            r#", "shanghaiTime": 0, "cancunTime": 0"#,
            r#", "excessBlobGas": "0x20000""#
        ))
    );
    // Prague adds the requests hash.
    let prague = hash(&minimal(
        "0",
        r#", "shanghaiTime": 0, "cancunTime": 0, "pragueTime": 0"#,
        "",
    ));
    assert_ne!(cancun, prague);
    // gasUsed, which alloy's Genesis lacks, is part of the header.
    assert_ne!(base, hash(&minimal("0", "", r#", "gasUsed": "0x5""#)));
    assert_eq!(base, hash(&minimal("0", "", r#", "gasUsed": 0"#)));
    // A zero gas limit means geth's default, 4712388.
    assert_eq!(
        hash(&minimal("0", "", "").replace("0x1c9c380", "0x0")),
        hash(&minimal("0", "", "").replace("0x1c9c380", "0x47e7c4"))
    );
    // `mixhash`, as geth writes it, is read like `mixHash`.
    let mix = "0x00000000000000000000000000000000000000000000000000000000000000ff";
    assert_eq!(
        hash(&minimal("0", "", &format!(r#", "mixhash": "{mix}""#))),
        hash(&minimal("0", "", &format!(r#", "mixHash": "{mix}""#)))
    );
    assert_ne!(
        base,
        hash(&minimal("0", "", &format!(r#", "mixHash": "{mix}""#)))
    );
}

#[test]
fn schedule_reads_every_fork_field() {
    let json = r#"{"config": {"chainId": 5,
        "homesteadBlock": 1, "daoForkBlock": 2, "eip150Block": 3, "eip155Block": 4,
        "eip158Block": 5, "byzantiumBlock": 6, "constantinopleBlock": 7,
        "petersburgBlock": 8, "istanbulBlock": 9, "muirGlacierBlock": 10,
        "berlinBlock": 11, "londonBlock": 12, "arrowGlacierBlock": 13,
        "grayGlacierBlock": 14, "mergeNetsplitBlock": 15,
        "shanghaiTime": 100, "cancunTime": 101, "pragueTime": 102, "osakaTime": 103,
        "bpo1Time": 104, "bpo2Time": 105, "bpo3Time": 106, "bpo4Time": 107,
        "bpo5Time": 108, "amsterdamTime": "0x6d"},
        "difficulty": "0x1", "gasLimit": "0x1388", "alloc": {}}"#;
    let spec = ChainSpec::from_geth_genesis(json).expect("all forks");
    use Hardfork::*;
    let want: Vec<(Hardfork, ForkActivation)> = [
        Homestead,
        Dao,
        TangerineWhistle,
        SpuriousDragon,
        Eip158,
        Byzantium,
        Constantinople,
        Petersburg,
        Istanbul,
        MuirGlacier,
        Berlin,
        London,
        ArrowGlacier,
        GrayGlacier,
        MergeNetsplit,
    ]
    .into_iter()
    .zip(1..)
    .map(|(fork, n)| (fork, ForkActivation::Block(n)))
    .chain(
        [
            Shanghai, Cancun, Prague, Osaka, Bpo1, Bpo2, Bpo3, Bpo4, Bpo5, Amsterdam,
        ]
        .into_iter()
        .zip(100..)
        .map(|(fork, t)| (fork, ForkActivation::Timestamp(t))),
    )
    .collect();
    assert_eq!(spec.forks, want);
    // 15 block forks and 10 time forks, all distinct: 25 fork id steps.
    let filter = spec.fork_filter(spec.genesis_head());
    assert_eq!(spec.fork_id_at(15, 109).next, 0);
    assert_ne!(filter.current(), spec.fork_id_at(15, 109));

    // EIP-155 and EIP-158 at one block: one entry, as in the presets.
    let same = json.replace(r#""eip158Block": 5"#, r#""eip158Block": 4"#);
    let spec = ChainSpec::from_geth_genesis(&same).expect("same block");
    assert_eq!(spec.fork_activation(Eip158), None);
    assert_eq!(
        spec.fork_activation(SpuriousDragon),
        Some(ForkActivation::Block(4))
    );
}

// ---- refusals

fn refused(json: &str) -> GenesisError {
    match ChainSpec::from_geth_genesis(json) {
        Ok(spec) => panic!("accepted: {spec:?}"),
        Err(e) => e,
    }
}

#[test]
fn malformed_files_are_refused() {
    assert!(matches!(refused("not json"), GenesisError::Json(_)));
    assert!(matches!(refused(""), GenesisError::Json(_)));
    assert!(matches!(refused("[]"), GenesisError::Json(_)));
    // Truncated.
    let full = minimal("0", "", "");
    assert!(matches!(
        refused(&full[..full.len() / 2]),
        GenesisError::Json(_)
    ));
    // Wrong types and ranges.
    let bad_balance = full.replace(
        r#""alloc": {}"#,
        r#""alloc": {"0x00000000000000000000000000000000000000aa": {"balance": "lots"}}"#,
    );
    assert!(matches!(refused(&bad_balance), GenesisError::Json(_)));
    let bad_address = full.replace(r#""alloc": {}"#, r#""alloc": {"0xzz": {"balance": "1"}}"#);
    assert!(matches!(refused(&bad_address), GenesisError::Json(_)));
    let unknown_account_field = full.replace(
        r#""alloc": {}"#,
        r#""alloc": {"0x00000000000000000000000000000000000000aa": {"balance": "1", "bogus": 1}}"#,
    );
    assert!(matches!(
        refused(&unknown_account_field),
        GenesisError::Json(_)
    ));
    assert!(matches!(
        refused(&full.replace(r#""chainId": 9"#, r#""chainId": -1"#)),
        GenesisError::Json(_)
    ));
    assert!(matches!(
        refused(&minimal("0", "", r#", "gasUsed": "0xnope""#)),
        GenesisError::InvalidQuantity {
            field: "gasUsed",
            ..
        }
    ));
    assert!(matches!(
        refused(&minimal("0", r#", "amsterdamTime": "soon""#, "")),
        GenesisError::Json(_)
    ));
    assert!(matches!(
        refused(&minimal(
            "0",
            r#", "shanghaiTime": 0, "cancunTime": 0, "pragueTime": 0, "osakaTime": 0, "amsterdamTime": 16"#,
            ""
        )),
        GenesisError::UnsupportedGenesisFork(Hardfork::Amsterdam)
    ));
    assert!(matches!(
        refused(&minimal(
            "0",
            "",
            r#", "baseFeePerGas": "0x10000000000000000""#
        )),
        GenesisError::BaseFeeTooLarge(fee) if fee == 1 << 64
    ));
}

#[test]
fn required_fields_are_named() {
    let full = minimal("0", "", "");
    let without = |field: &str, value: &str| full.replace(&format!(r#""{field}": {value},"#), "");
    let cases = [
        (without("difficulty", r#""0x0""#), "difficulty"),
        (without("gasLimit", r#""0x1c9c380""#), "gasLimit"),
        (
            full.replace(r#""alloc": {}"#, r#""allocation": {}"#),
            "alloc",
        ),
        (full.replace(r#""chainId": 9, "#, ""), "config.chainId"),
        (
            r#"{"difficulty": "0x0", "gasLimit": "0x1", "alloc": {}}"#.to_owned(),
            "config",
        ),
        (full.replace(r#""0x0""#, "null"), "difficulty"),
    ];
    for (json, field) in cases {
        assert_ne!(json, full, "{field}: the case must remove something");
        match refused(&json) {
            GenesisError::MissingField(f) => assert_eq!(f, field, "{json}"),
            other => panic!("{field}: {other}"),
        }
    }
}

#[test]
fn fork_order_is_checked() {
    let e = refused(
        r#"{"config": {"chainId": 1, "homesteadBlock": 10, "byzantiumBlock": 5},
            "difficulty": "0x1", "gasLimit": "0x1", "alloc": {}}"#,
    );
    assert!(
        matches!(
            e,
            GenesisError::ForkOrder {
                earlier: Hardfork::Homestead,
                earlier_at: 10,
                later: Hardfork::Byzantium,
                later_at: 5,
            }
        ),
        "{e}"
    );
    assert!(matches!(
        refused(&minimal(
            "0",
            r#", "shanghaiTime": 50, "cancunTime": 40"#,
            ""
        )),
        GenesisError::ForkOrder {
            later: Hardfork::Cancun,
            ..
        }
    ));
    assert!(matches!(
        refused(&minimal("0", r#", "osakaTime": 50, "bpo1Time": 40"#, "")),
        GenesisError::ForkOrder {
            later: Hardfork::Bpo1,
            ..
        }
    ));
    // BPO forks may come after a later named fork.
    assert!(ChainSpec::from_geth_genesis(&minimal(
        "0",
        r#", "shanghaiTime": 0, "cancunTime": 0, "pragueTime": 0, "osakaTime": 10, "amsterdamTime": 20, "bpo1Time": 30"#,
        ""
    ))
    .is_ok());
    assert!(matches!(
        refused(&minimal("0", r#", "cancunTime": 0"#, "")),
        GenesisError::MissingFork {
            fork: Hardfork::Cancun,
            needs: Hardfork::Shanghai
        }
    ));
    assert!(matches!(
        refused(&minimal("0", r#", "shanghaiTime": 0, "pragueTime": 0"#, "")),
        GenesisError::MissingFork {
            fork: Hardfork::Prague,
            needs: Hardfork::Cancun
        }
    ));
    let no_london = r#"{"config": {"chainId": 1, "shanghaiTime": 0},
        "difficulty": "0x1", "gasLimit": "0x1", "alloc": {}}"#;
    assert!(matches!(
        refused(no_london),
        GenesisError::MissingFork {
            fork: Hardfork::Shanghai,
            needs: Hardfork::London
        }
    ));
}

#[test]
fn oversized_input_is_refused_before_parsing() {
    // Not JSON at all: only the size check can refuse it as too large.
    let big = " ".repeat(MAX_GENESIS_BYTES + 1);
    assert!(matches!(
        ChainSpec::from_geth_genesis(&big),
        Err(GenesisError::TooLarge { len, max })
            if len == MAX_GENESIS_BYTES as u64 + 1 && max == MAX_GENESIS_BYTES
    ));

    let dir = std::env::temp_dir().join(format!("ethp2p-genesis-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let path = dir.join("huge.json");
    let file = File::create(&path).expect("create");
    // A sparse file: its length alone is over the limit.
    file.set_len(MAX_GENESIS_BYTES as u64 + 1).expect("set_len");
    let e = ChainSpec::from_geth_genesis_file(&path).expect_err("too large");
    assert!(matches!(e, GenesisError::TooLarge { .. }), "{e}");
    let e = ChainSpec::from_geth_genesis_file(dir.join("absent.json")).expect_err("absent");
    match e {
        GenesisError::Io { path: p, source } => {
            assert!(p.ends_with("absent.json"));
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("{other}"),
    }
    std::fs::remove_dir_all(&dir).expect("cleanup");
}
