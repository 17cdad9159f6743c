use super::*;
use ethp2p_rlpx::key::peer_id_from_secret_key;
use std::str::FromStr;

const EIP778_KEY: &str = "b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291";
const EIP778_TEXT: &str = "enr:-IS4QHCYrYZbAKWCBRlAy5zzaDZXJBGkcnh4MHcBFZntXNFrdvJjX04jRzjzCBOonrkTfj499SZuOh8R33Ls8RRcy5wBgmlkgnY0gmlwhH8AAAGJc2VjcDI1NmsxoQPKY0yuDUmstAHYpMa2_oxVtw0RW_QAdpzBQA8yWM0xOIN1ZHCCdl8";

fn secret() -> SecretKey {
    SecretKey::from_str(EIP778_KEY).unwrap()
}

#[test]
fn eip778_vector_decodes_and_maps_to_the_signer_id() {
    let enr = Enr::from_str(EIP778_TEXT).unwrap();
    assert_eq!(enr.seq(), 1);
    assert_eq!(enr.ip4(), Some("127.0.0.1".parse().unwrap()));
    assert_eq!(enr.udp4(), Some(30303));
    assert_eq!(
        hex::encode(enr.node_id().raw()),
        "a448f24c6d18e575453db13171562b71999873db5b286df957af199ec94617f7"
    );
    assert_eq!(enr_peer_id(&enr), peer_id_from_secret_key(&secret()));
    assert_eq!(eth_fork_id(&enr).unwrap(), None);
}

#[test]
fn eth_entry_spec_example() {
    let raw = hex::decode("c7c684dce96c2d80").unwrap();
    let id = decode_eth_entry(&raw).unwrap();
    assert_eq!(id.hash, ForkHash([0xdc, 0xe9, 0x6c, 0x2d]));
    assert_eq!(id.next, 0);
    assert_eq!(encode_eth_entry(id), raw);
}

#[test]
fn eth_entry_extra_elements_are_ignored_and_garbage_refused() {
    // [[hash, next, extra], extra]
    let raw = hex::decode("cdc984dce96c2d82010001c20102").unwrap();
    let id = decode_eth_entry(&raw).unwrap();
    assert_eq!(id.next, 0x100);
    for bad in ["c0", "80", "c3c20101", "c8c7831122338201", "c6c584dce96c2d"] {
        assert!(
            decode_eth_entry(&hex::decode(bad).unwrap()).is_err(),
            "{bad}"
        );
    }
}

fn fork(n: u64) -> ForkId {
    ForkId {
        hash: ForkHash([1, 2, 3, 4]),
        next: n,
    }
}

fn fields() -> LocalEnrFields {
    LocalEnrFields {
        ip: Some("203.0.113.7".parse().unwrap()),
        tcp: 30303,
        udp: 30304,
        fork_id: Some(fork(0)),
    }
}

#[test]
fn local_record_carries_endpoint_and_eth_entry() {
    let local = LocalEnr::new(&secret(), 1_700_000_000_000, fields()).unwrap();
    let r = local.record();
    assert!(r.verify());
    assert_eq!(r.seq(), 1_700_000_000_000);
    assert_eq!(r.ip4(), Some("203.0.113.7".parse().unwrap()));
    assert_eq!(r.tcp4(), Some(30303));
    assert_eq!(r.udp4(), Some(30304));
    assert_eq!(eth_fork_id(r).unwrap(), Some(fork(0)));
    assert_eq!(enr_peer_id(r), peer_id_from_secret_key(&secret()));
    // Survives a text round trip.
    let again = Enr::from_str(&r.to_base64()).unwrap();
    assert_eq!(eth_fork_id(&again).unwrap(), Some(fork(0)));
}

#[test]
fn fork_change_bumps_seq_and_resigns_same_fork_does_not() {
    let mut local = LocalEnr::new(&secret(), 10, fields()).unwrap();
    assert!(!local.set_fork_id(fork(0)).unwrap());
    assert_eq!(local.seq(), 10);
    assert!(local.set_fork_id(fork(99)).unwrap());
    assert_eq!(local.seq(), 11);
    assert!(local.record().verify());
    assert_eq!(eth_fork_id(local.record()).unwrap(), Some(fork(99)));
}

#[test]
fn initial_seq_never_goes_backwards() {
    assert_eq!(initial_seq(None, 5_000), 5_000);
    assert_eq!(initial_seq(Some(4_000), 5_000), 5_000);
    // Clock set back: still above the stored value.
    assert_eq!(initial_seq(Some(9_000), 5_000), 9_001);
}

#[test]
fn seq_file_round_trip_and_monotonic_across_runs() {
    let dir = std::env::temp_dir().join(format!("ethp2p-discv4-seq-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut store = SeqFile::in_dir(&dir);
    let _ = std::fs::remove_file(store.path());
    assert_eq!(store.load().unwrap(), None);
    let first = next_seq(&mut store, 1_000).unwrap();
    assert_eq!(first, 1_000);
    assert_eq!(store.load().unwrap(), Some(1_000));
    // A second start with an earlier clock continues upwards.
    let second = next_seq(&mut SeqFile::in_dir(&dir), 500).unwrap();
    assert_eq!(second, 1_001);
    std::fs::write(store.path(), "garbage").unwrap();
    assert!(store.load().is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}
