//! Tests for the snap messages: hand-built RLP vectors for every message,
//! version gating, bounds, chain-less answers, and fuzzing of the decoder.

use alloy_primitives::B256;
use bytes::Bytes;
use proptest::prelude::*;

use super::{limits::*, *};

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

/// A 32-byte hash whose bytes are all `b`.
fn h(b: u8) -> B256 {
    B256::repeat_byte(b)
}

/// The RLP of [`h`]`(b)`, in hex: `a0` and 32 times `b`.
fn rh(b: u8) -> String {
    format!("a0{}", format!("{b:02x}").repeat(32))
}

fn pair<T>(id: u64, m: T) -> RequestPair<T> {
    RequestPair::new(id, m)
}

/// Decodes `bytes` both ways (copying and zero-copy) and checks they agree.
fn decode(version: SnapVersion, id: u8, bytes: &[u8]) -> Result<SnapMessage, SnapMessageError> {
    let copied = SnapMessage::decode(version, id, bytes);
    let shared = SnapMessage::decode_bytes(version, id, Bytes::copy_from_slice(bytes));
    assert_eq!(
        copied, shared,
        "decode and decode_bytes disagree for {id:#x}"
    );
    copied
}

/// `message` encodes to exactly `expected` (hex), and decodes back from it in
/// every version that has it; the versions without it refuse it.
fn check_vector(message: &SnapMessage, expected: &str) {
    let expected = hex(expected);
    assert_eq!(
        hex::encode(message.encoded()),
        hex::encode(&expected),
        "{} encoding",
        message.id()
    );
    assert_eq!(message.length(), expected.len());
    let mut allowed = 0;
    for v in SnapVersion::ALL {
        let got = decode(v, message.id().as_u8(), &expected);
        if message.id().is_valid_for(v) {
            allowed += 1;
            assert_eq!(got.as_ref(), Ok(message), "{} in {v}", message.id());
            assert_eq!(message.validate_for(v), Ok(()));
        } else {
            let gated = SnapMessageError::NotAllowedInVersion {
                id: message.id(),
                version: v,
            };
            assert_eq!(got, Err(gated.clone()));
            assert_eq!(message.validate_for(v), Err(gated));
        }
    }
    assert!(allowed >= 1);
}

fn get_account_range() -> SnapMessage {
    SnapMessage::GetAccountRange(pair(
        1,
        GetAccountRange {
            root_hash: h(0x11),
            starting_hash: h(0x00),
            limit_hash: h(0xff),
            response_bytes: SOFT_RESPONSE_LIMIT,
        },
    ))
}

#[test]
fn get_account_range_vector() {
    // payload: id (1) + 3 hashes (99) + 0x200000 (4) = 104 = 0x68
    let v = format!("f868 01 {} {} {} 83200000", rh(0x11), rh(0x00), rh(0xff));
    check_vector(&get_account_range(), &v);
}

fn account_range() -> SnapMessage {
    SnapMessage::AccountRange(pair(
        1,
        AccountRange {
            accounts: vec![AccountData {
                hash: h(0x22),
                // slim account [nonce 1, balance 2, root "", codeHash ""]
                body: Bytes::from(hex("c4 01 02 80 80")),
            }],
            proof: vec![Bytes::from(hex("deadbeef"))],
        },
    ))
}

#[test]
fn account_range_vector() {
    // entry [hash, body]: 33 + 5 = 38 (e6); accounts: 39 (e7); proof [84deadbeef]: c5;
    // outer: 1 + 40 + 6 = 47 (ef)
    let v = format!("ef 01 e7 e6 {} c4 01 02 80 80 c5 84 deadbeef", rh(0x22));
    check_vector(&account_range(), &v);
    // The empty reply for an unknown root.
    let empty = SnapMessage::AccountRange(pair(7, AccountRange::default()));
    check_vector(&empty, "c3 07 c0 c0");
}

#[test]
fn account_body_is_any_single_item_kept_verbatim() {
    // A body given as a string is kept as such, header included.
    // entry: 33 + 2 = 35 (e3); accounts: 36 (e4); outer: 1 + 37 + 1 = 39 (e7)
    let v = format!("e7 01 e4 e3 {} 81 ff c0", rh(0x22));
    let m = decode(SnapVersion::Snap1, 0x01, &hex(&v)).unwrap();
    let SnapMessage::AccountRange(p) = &m else {
        panic!("not AccountRange")
    };
    assert_eq!(p.message.accounts[0].body.as_ref(), &[0x81, 0xff]);
    assert_eq!(m.encoded().as_ref(), hex(&v).as_slice());
    // A body that runs past its entry is refused.
    let bad = format!("e7 01 e4 e3 {} 82 ff c0", rh(0x22));
    assert!(matches!(
        decode(SnapVersion::Snap1, 0x01, &hex(&bad)),
        Err(SnapMessageError::Rlp {
            message: "AccountRange",
            ..
        })
    ));
    // An entry with a third field is refused.
    let extra = format!("e7 01 e4 e3 {} 01 01 c0", rh(0x22));
    assert!(decode(SnapVersion::Snap1, 0x01, &hex(&extra)).is_err());
}

fn get_storage_ranges() -> SnapMessage {
    SnapMessage::GetStorageRanges(pair(
        2,
        GetStorageRanges {
            root_hash: h(0x11),
            account_hashes: vec![h(0x33), h(0x44)],
            starting_hash: Bytes::new(),
            limit_hash: Bytes::copy_from_slice(h(0xff).as_slice()),
            response_bytes: 512 * 1024,
        },
    ))
}

#[test]
fn get_storage_ranges_vector() {
    // payload: 1 + 33 + 68 (f842 + 2 hashes) + 1 (80) + 33 + 4 = 140 = 0x8c
    let v = format!(
        "f88c 02 {} f842 {} {} 80 {} 83080000",
        rh(0x11),
        rh(0x33),
        rh(0x44),
        rh(0xff)
    );
    check_vector(&get_storage_ranges(), &v);
}

#[test]
fn storage_hashes_longer_than_32_bytes_are_refused() {
    // startingHash of 33 bytes
    let v = format!(
        "f86d 02 {} e1 {} a1{} 80 80",
        rh(0x11),
        rh(0x33),
        "00".repeat(33)
    );
    assert!(matches!(
        decode(SnapVersion::Snap1, 0x02, &hex(&v)),
        Err(SnapMessageError::Rlp {
            message: "GetStorageRanges",
            ..
        })
    ));
    let SnapMessage::GetStorageRanges(mut p) = get_storage_ranges() else {
        unreachable!()
    };
    p.message.limit_hash = Bytes::from(vec![0; 33]);
    assert!(SnapMessage::GetStorageRanges(p)
        .validate_for(SnapVersion::Snap1)
        .is_err());
}

fn storage_ranges() -> SnapMessage {
    SnapMessage::StorageRanges(pair(
        3,
        StorageRanges {
            slots: vec![
                vec![
                    StorageData {
                        hash: h(0x55),
                        data: Bytes::from(hex("0102")),
                    },
                    StorageData {
                        hash: h(0x66),
                        data: Bytes::from(hex("01")),
                    },
                ],
                vec![],
            ],
            proof: vec![],
        },
    ))
}

#[test]
fn storage_ranges_vector() {
    // slot 1: 33 + 3 = 36 (e4); slot 2: 33 + 1 = 34 (e2); account 1: 37 + 35 = 72 (f848);
    // account 2: c0; slots: 74 + 1 = 75 (f84b); proof: c0; outer: 1 + 77 + 1 = 79 (f84f)
    let v = format!(
        "f84f 03 f84b f848 e4 {} 820102 e2 {} 01 c0 c0",
        rh(0x55),
        rh(0x66)
    );
    let m = storage_ranges();
    check_vector(&m, &v);
    let SnapMessage::StorageRanges(p) = &m else {
        unreachable!()
    };
    assert_eq!(p.message.slot_count(), 2);
    assert!(!p.message.is_empty());
    check_vector(
        &SnapMessage::StorageRanges(pair(0, StorageRanges::default())),
        "c3 80 c0 c0",
    );
}

#[test]
fn get_byte_codes_vector() {
    let m = SnapMessage::GetByteCodes(pair(
        4,
        GetByteCodes {
            hashes: vec![h(0x77)],
            bytes: 0x1000,
        },
    ));
    // payload: 1 + 34 (e1 + hash) + 3 = 38 (e6)
    check_vector(&m, &format!("e6 04 e1 {} 821000", rh(0x77)));
    // The largest request id.
    let m = SnapMessage::GetByteCodes(pair(u64::MAX, GetByteCodes::default()));
    check_vector(&m, "cb 88ffffffffffffffff c0 80");
}

#[test]
fn byte_codes_vector() {
    let m = SnapMessage::ByteCodes(pair(
        5,
        ByteCodes {
            codes: vec![Bytes::from(hex("6001")), Bytes::new()],
        },
    ));
    check_vector(&m, "c6 05 c4 826001 80");
}

#[test]
fn get_trie_nodes_vector() {
    let m = SnapMessage::GetTrieNodes(pair(
        6,
        GetTrieNodes {
            root_hash: h(0x88),
            paths: vec![
                vec![Bytes::from(hex("01"))],
                vec![
                    Bytes::copy_from_slice(h(0x99).as_slice()),
                    Bytes::from(hex("00")),
                ],
            ],
            bytes: 1024,
        },
    ));
    // set 1: c101; set 2: 33 + 1 = 34 (e2); paths: 2 + 35 = 37 (e5);
    // outer: 1 + 33 + 38 + 3 = 75 (f84b)
    check_vector(
        &m,
        &format!("f84b 06 {} e5 c101 e2 {} 00 820400", rh(0x88), rh(0x99)),
    );
    let SnapMessage::GetTrieNodes(p) = &m else {
        unreachable!()
    };
    assert_eq!(p.message.path_count(), 3);
}

#[test]
fn trie_nodes_vector() {
    let m = SnapMessage::TrieNodes(pair(
        7,
        TrieNodes {
            nodes: vec![Bytes::from(hex("c28080"))],
        },
    ));
    check_vector(&m, "c6 07 c4 83c28080");
}

#[test]
fn get_block_access_lists_vector() {
    let m = SnapMessage::GetBlockAccessLists(pair(
        8,
        GetBlockAccessLists {
            hashes: vec![h(0xaa), h(0xbb)],
            bytes: SOFT_RESPONSE_LIMIT,
        },
    ));
    // payload: 1 + 68 + 4 = 73 (f849)
    check_vector(
        &m,
        &format!("f849 08 f842 {} {} 83200000", rh(0xaa), rh(0xbb)),
    );
}

#[test]
fn block_access_lists_vector() {
    // [empty BAL, unavailable, [[1, 2]]]
    let bals = RawList::from_encoded_items([hex("c0"), hex("80"), hex("c3c20102")]).unwrap();
    let m = SnapMessage::BlockAccessLists(pair(9, BlockAccessLists { bals }));
    check_vector(&m, "c8 09 c6 c0 80 c3c20102");
    let SnapMessage::BlockAccessLists(p) = &m else {
        unreachable!()
    };
    assert_eq!(p.message.len(), 3);
    assert_eq!(
        p.message.availability().collect::<Vec<_>>(),
        vec![true, false, true]
    );
}

use crate::message::RawList;

fn every_message() -> Vec<SnapMessage> {
    let mut all = vec![
        get_account_range(),
        account_range(),
        get_storage_ranges(),
        storage_ranges(),
    ];
    all.push(SnapMessage::GetByteCodes(pair(
        4,
        GetByteCodes {
            hashes: vec![h(1)],
            bytes: 1,
        },
    )));
    all.push(SnapMessage::ByteCodes(pair(
        5,
        ByteCodes {
            codes: vec![Bytes::from_static(b"code")],
        },
    )));
    all.push(SnapMessage::GetTrieNodes(pair(
        6,
        GetTrieNodes {
            root_hash: h(2),
            paths: vec![vec![Bytes::from_static(&[0x12])]],
            bytes: 100,
        },
    )));
    all.push(SnapMessage::TrieNodes(pair(
        7,
        TrieNodes {
            nodes: vec![Bytes::from_static(b"node")],
        },
    )));
    all.push(SnapMessage::GetBlockAccessLists(pair(
        8,
        GetBlockAccessLists {
            hashes: vec![h(3), h(4), h(5)],
            bytes: 10,
        },
    )));
    all.push(SnapMessage::BlockAccessLists(pair(
        9,
        BlockAccessLists::unavailable(2),
    )));
    all
}

#[test]
fn ids_names_and_pairs() {
    let all = every_message();
    assert_eq!(all.len(), SnapMessageId::ALL.len());
    for (m, id) in all.iter().zip(SnapMessageId::ALL) {
        assert_eq!(m.id(), id);
        assert_eq!(SnapMessageId::try_from(id.as_u8()), Ok(id));
        assert_eq!(m.is_request(), id.as_u8() % 2 == 0);
        assert_eq!(m.is_response(), !m.is_request());
        match id.response() {
            Some(r) => assert_eq!(r.request(), Some(id)),
            None => assert_eq!(id.request().and_then(|q| q.response()), Some(id)),
        }
    }
    assert_eq!(
        SnapMessageId::try_from(0x0a),
        Err(UnknownSnapMessageId(0x0a))
    );
    assert_eq!(
        SnapMessageId::GetBlockAccessLists.to_string(),
        "GetBlockAccessLists (0x08)"
    );
}

#[test]
fn versions_and_message_space() {
    assert_eq!(SnapVersion::Snap1.message_count(), 8);
    assert_eq!(SnapVersion::Snap2.message_count(), 10);
    // Every valid id lies inside the version's message space.
    for v in SnapVersion::ALL {
        for id in SnapMessageId::ALL {
            if id.is_valid_for(v) {
                assert!(id.as_u8() < v.message_count(), "{id} in {v}");
            }
        }
    }
    let valid = |v| {
        SnapMessageId::ALL
            .iter()
            .filter(|id| id.is_valid_for(v))
            .count()
    };
    assert_eq!(valid(SnapVersion::Snap1), 8);
    assert_eq!(valid(SnapVersion::Snap2), 8);
    assert_eq!("snap/2".parse(), Ok(SnapVersion::Snap2));
    assert_eq!("1".parse(), Ok(SnapVersion::Snap1));
    assert_eq!(SnapVersion::try_from(3u32), Err(UnknownSnapVersion(3)));
    assert_eq!(SnapVersion::Snap1.to_string(), "snap/1");
    let protocols = snap_protocols(&SnapVersion::ALL);
    assert_eq!(protocols.len(), 2);
    assert_eq!(protocols[0].cap.to_string(), "snap/2");
    assert_eq!(protocols[0].messages, 10);
    assert_eq!(protocols[1].messages, 8);
}

#[test]
fn version_gating() {
    use SnapVersion::*;
    let gated =
        |id: SnapMessageId, version| Err(SnapMessageError::NotAllowedInVersion { id, version });
    // GetTrieNodes / TrieNodes are reserved in snap/2, whatever the payload.
    assert_eq!(
        decode(Snap2, 0x06, &hex("c0")),
        gated(SnapMessageId::GetTrieNodes, Snap2)
    );
    assert_eq!(
        decode(Snap2, 0x07, &hex("c3 07 c0 c0")),
        gated(SnapMessageId::TrieNodes, Snap2)
    );
    // Block access lists do not exist in snap/1.
    assert_eq!(
        decode(Snap1, 0x08, &hex("c3 01 c0 80")),
        gated(SnapMessageId::GetBlockAccessLists, Snap1)
    );
    assert_eq!(
        decode(Snap1, 0x09, &hex("c2 01 c0")),
        gated(SnapMessageId::BlockAccessLists, Snap1)
    );
    // Ids past the last message are unknown in both versions.
    for v in SnapVersion::ALL {
        for id in 0x0a..=0xff {
            assert_eq!(
                decode(v, id, &hex("c0")),
                Err(SnapMessageError::UnknownMessageId(id))
            );
        }
    }
    // The same payload decodes where the message exists.
    assert!(decode(Snap1, 0x07, &hex("c2 07 c0")).is_ok());
    assert!(decode(Snap2, 0x09, &hex("c2 01 c0")).is_ok());
}

#[test]
fn malformed_messages_are_refused() {
    let v = SnapVersion::Snap1;
    // trailing bytes
    assert_eq!(
        decode(v, 0x05, &hex("c3 05 c1 80 00")),
        Err(SnapMessageError::TrailingBytes {
            message: "ByteCodes",
            len: 1
        })
    );
    // an extra field
    assert!(matches!(
        decode(v, 0x04, &hex("c4 04 c0 80 80")),
        Err(SnapMessageError::Rlp {
            message: "GetByteCodes",
            ..
        })
    ));
    // a missing field
    assert!(matches!(
        decode(v, 0x04, &hex("c2 04 c0")),
        Err(SnapMessageError::Rlp {
            message: "GetByteCodes",
            ..
        })
    ));
    // a hash of 31 bytes
    assert!(decode(v, 0x04, &hex(&format!("e5 04 e0 9f{} 80", "00".repeat(31)))).is_err());
    // not a list
    assert!(decode(v, 0x00, &hex("80")).is_err());
    // empty payload
    assert!(decode(v, 0x01, &[]).is_err());
    // a non-canonical request id
    assert!(decode(v, 0x05, &hex("c3 8101 c0")).is_err());
    // a code given as a list
    assert!(decode(v, 0x05, &hex("c3 05 c1 c0")).is_err());
}

#[test]
fn message_size_is_bounded() {
    let big = vec![0u8; MAX_MESSAGE_SIZE + 1];
    for v in SnapVersion::ALL {
        assert_eq!(
            decode(v, 0x05, &big),
            Err(SnapMessageError::MessageTooLarge {
                size: MAX_MESSAGE_SIZE + 1,
                max: MAX_MESSAGE_SIZE
            })
        );
    }
    // The size is checked before the id.
    assert!(matches!(
        decode(SnapVersion::Snap1, 0x0a, &big),
        Err(SnapMessageError::MessageTooLarge { .. })
    ));
    // A response whose encoding would exceed it cannot be validated for sending.
    let codes = vec![Bytes::from(vec![0u8; MAX_MESSAGE_SIZE / 2]); 3];
    let m = SnapMessage::ByteCodes(pair(1, ByteCodes { codes }));
    assert!(matches!(
        m.validate_for(SnapVersion::Snap1),
        Err(SnapMessageError::MessageTooLarge { .. })
    ));
}

/// Encodes `message` and checks the decoder refuses it with `ListTooLong { max }`,
/// and that `validate_for` refuses it too.
fn assert_too_long(version: SnapVersion, message: &SnapMessage, max: usize) {
    let bytes = message.encoded();
    let want = SnapMessageError::ListTooLong {
        message: message.id().name(),
        max,
    };
    assert_eq!(
        decode(version, message.id().as_u8(), &bytes),
        Err(want.clone())
    );
    assert_eq!(message.validate_for(version), Err(want));
}

/// Encodes `message` and checks the decoder accepts it.
fn assert_fits(version: SnapVersion, message: &SnapMessage) {
    assert_eq!(
        decode(version, message.id().as_u8(), &message.encoded()).as_ref(),
        Ok(message)
    );
    assert_eq!(message.validate_for(version), Ok(()));
}

#[test]
fn lookups_are_bounded() {
    use SnapVersion::*;
    let hashes = |n: usize| {
        (0..n)
            .map(|i| B256::with_last_byte(i as u8))
            .collect::<Vec<_>>()
    };
    let strings = |n: usize| vec![Bytes::from_static(b"x"); n];
    for (n, ok) in [(MAX_CODE_LOOKUPS, true), (MAX_CODE_LOOKUPS + 1, false)] {
        let get = SnapMessage::GetByteCodes(pair(
            1,
            GetByteCodes {
                hashes: hashes(n),
                bytes: 0,
            },
        ));
        let codes = SnapMessage::ByteCodes(pair(1, ByteCodes { codes: strings(n) }));
        let get_bals = SnapMessage::GetBlockAccessLists(pair(
            1,
            GetBlockAccessLists {
                hashes: hashes(n),
                bytes: 0,
            },
        ));
        let bals = SnapMessage::BlockAccessLists(pair(1, BlockAccessLists::unavailable(n)));
        let nodes = SnapMessage::TrieNodes(pair(1, TrieNodes { nodes: strings(n) }));
        let storage = SnapMessage::GetStorageRanges(pair(
            1,
            GetStorageRanges {
                account_hashes: hashes(n),
                ..Default::default()
            },
        ));
        let cases = [
            (Snap1, get, MAX_CODE_LOOKUPS),
            (Snap1, codes, MAX_CODE_LOOKUPS),
            (Snap2, get_bals, MAX_BAL_LOOKUPS),
            (Snap2, bals, MAX_BAL_LOOKUPS),
            (Snap1, nodes, MAX_TRIE_NODE_LOOKUPS),
            (Snap1, storage, MAX_STORAGE_ACCOUNTS),
        ];
        for (v, m, max) in cases {
            if ok {
                assert_fits(v, &m);
            } else {
                assert_too_long(v, &m, max);
            }
        }
    }
}

#[test]
fn trie_node_paths_are_bounded_over_all_path_sets() {
    let paths = |first: usize, second: usize| {
        SnapMessage::GetTrieNodes(pair(
            1,
            GetTrieNodes {
                root_hash: h(1),
                paths: vec![
                    vec![Bytes::from_static(b"a"); first],
                    vec![Bytes::from_static(b"b"); second],
                ],
                bytes: 0,
            },
        ))
    };
    assert_fits(
        SnapVersion::Snap1,
        &paths(1000, MAX_TRIE_NODE_LOOKUPS - 1000),
    );
    // Each set alone is under the bound; together they exceed it.
    assert_too_long(
        SnapVersion::Snap1,
        &paths(1000, MAX_TRIE_NODE_LOOKUPS - 999),
        MAX_TRIE_NODE_LOOKUPS,
    );
}

#[test]
fn ranges_and_proofs_are_bounded() {
    let v = SnapVersion::Snap1;
    let account = AccountData {
        hash: h(1),
        body: Bytes::from_static(&[0xc0]),
    };
    let accounts = |n| {
        SnapMessage::AccountRange(pair(
            1,
            AccountRange {
                accounts: vec![account.clone(); n],
                proof: vec![],
            },
        ))
    };
    assert_fits(v, &accounts(MAX_RANGE_ITEMS));
    assert_too_long(v, &accounts(MAX_RANGE_ITEMS + 1), MAX_RANGE_ITEMS);
    let proof = |n| {
        SnapMessage::AccountRange(pair(
            1,
            AccountRange {
                accounts: vec![],
                proof: vec![Bytes::from_static(b"p"); n],
            },
        ))
    };
    assert_fits(v, &proof(MAX_PROOF_NODES));
    assert_too_long(v, &proof(MAX_PROOF_NODES + 1), MAX_PROOF_NODES);

    let slot = StorageData {
        hash: h(2),
        data: Bytes::from_static(&[1]),
    };
    // Slots are counted over every account: two halves plus one is too many.
    let slots = |extra: usize| {
        SnapMessage::StorageRanges(pair(
            1,
            StorageRanges {
                slots: vec![
                    vec![slot.clone(); MAX_RANGE_ITEMS / 2],
                    vec![slot.clone(); MAX_RANGE_ITEMS / 2 + extra],
                ],
                proof: vec![],
            },
        ))
    };
    assert_fits(v, &slots(0));
    assert_too_long(v, &slots(1), MAX_RANGE_ITEMS);
    let lists = |n| {
        SnapMessage::StorageRanges(pair(
            1,
            StorageRanges {
                slots: vec![vec![]; n],
                proof: vec![],
            },
        ))
    };
    assert_fits(v, &lists(MAX_STORAGE_ACCOUNTS));
    assert_too_long(v, &lists(MAX_STORAGE_ACCOUNTS + 1), MAX_STORAGE_ACCOUNTS);
}

#[test]
fn chainless_answers() {
    let answers: Vec<_> = every_message()
        .iter()
        .map(|m| (m.clone(), chainless_response(m)))
        .collect();
    for (request, answer) in &answers {
        match answer {
            None => assert!(request.is_response()),
            Some(a) => {
                assert!(request.is_request());
                assert_eq!(request.id().response(), Some(a.id()));
                assert_eq!(a.request_id(), request.request_id());
                for v in SnapVersion::ALL {
                    if request.id().is_valid_for(v) {
                        assert_eq!(a.validate_for(v), Ok(()));
                    }
                }
            }
        }
    }
    // Exact bytes: unknown root → empty lists; missing codes skipped; unknown BALs → 0x80 each.
    let encoded =
        |request: SnapMessage| hex::encode(chainless_response(&request).unwrap().encoded());
    assert_eq!(encoded(get_account_range()), "c301c0c0");
    assert_eq!(encoded(get_storage_ranges()), "c302c0c0");
    let codes = SnapMessage::GetByteCodes(pair(
        0,
        GetByteCodes {
            hashes: vec![h(1), h(2)],
            bytes: 100,
        },
    ));
    assert_eq!(encoded(codes), "c280c0");
    let trie = SnapMessage::GetTrieNodes(pair(
        77,
        GetTrieNodes {
            root_hash: h(9),
            paths: vec![vec![Bytes::new()]],
            bytes: 1,
        },
    ));
    assert_eq!(encoded(trie), "c24dc0");
    let bals = SnapMessage::GetBlockAccessLists(pair(
        8,
        GetBlockAccessLists {
            hashes: vec![h(0xaa), h(0xbb), h(0xcc)],
            bytes: SOFT_RESPONSE_LIMIT,
        },
    ));
    assert_eq!(encoded(bals.clone()), "c508c3808080");
    let Some(SnapMessage::BlockAccessLists(p)) = chainless_response(&bals) else {
        panic!("no BlockAccessLists")
    };
    assert_eq!(p.message.availability().collect::<Vec<_>>(), vec![false; 3]);
}

#[test]
fn request_ids_can_be_rewritten() {
    for mut m in every_message() {
        m.set_request_id(0xdead_beef);
        assert_eq!(m.request_id(), 0xdead_beef);
        let back = SnapMessage::decode(
            SnapVersion::ALL[usize::from(!m.id().is_valid_for(SnapVersion::Snap2))],
            m.id().as_u8(),
            &m.encoded(),
        )
        .unwrap();
        assert_eq!(back.request_id(), 0xdead_beef);
    }
}

#[test]
fn zero_copy_decoding_shares_the_buffer() {
    let m = account_range();
    let bytes = m.encoded();
    let SnapMessage::AccountRange(p) =
        SnapMessage::decode_bytes(SnapVersion::Snap1, 0x01, bytes.clone()).unwrap()
    else {
        panic!("not AccountRange")
    };
    let body = &p.message.accounts[0].body;
    let start = bytes.as_ptr() as usize;
    let at = body.as_ptr() as usize;
    assert!(at >= start && at + body.len() <= start + bytes.len());
}

fn check_any(version: SnapVersion, id: u8, bytes: &[u8]) {
    if let Ok(m) = decode(version, id, bytes) {
        // Anything accepted re-encodes to exactly its input and passes its own checks.
        assert_eq!(m.encoded().as_ref(), bytes);
        assert_eq!(m.validate_for(version), Ok(()));
    }
}

fn version() -> impl Strategy<Value = SnapVersion> {
    prop_oneof![Just(SnapVersion::Snap1), Just(SnapVersion::Snap2)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(v in version(), id in 0u8..0x0c, bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        check_any(v, id, &bytes);
    }

    #[test]
    fn random_lists_never_panic(v in version(), id in 0u8..0x0c, body in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut bytes = Vec::new();
        alloy_rlp::Header { list: true, payload_length: body.len() }.encode(&mut bytes);
        bytes.extend_from_slice(&body);
        check_any(v, id, &bytes);
    }

    #[test]
    fn mutated_vectors_never_panic(
        which in 0usize..10,
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        cut in any::<bool>(),
    ) {
        let m = &every_message()[which];
        let mut bytes = m.encoded().to_vec();
        let i = at.index(bytes.len());
        if cut { bytes.truncate(i) } else { bytes[i] = byte }
        for v in SnapVersion::ALL {
            check_any(v, m.id().as_u8(), &bytes);
        }
    }

    #[test]
    fn typed_messages_round_trip(
        id in any::<u64>(),
        hashes in proptest::collection::vec(any::<[u8; 32]>().prop_map(B256::from), 0..20),
        blobs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..70), 0..20),
        bytes in any::<u64>(),
    ) {
        let blobs: Vec<Bytes> = blobs.into_iter().map(Bytes::from).collect();
        let messages = [
            SnapMessage::GetByteCodes(pair(id, GetByteCodes { hashes: hashes.clone(), bytes })),
            SnapMessage::ByteCodes(pair(id, ByteCodes { codes: blobs.clone() })),
            SnapMessage::TrieNodes(pair(id, TrieNodes { nodes: blobs.clone() })),
            SnapMessage::GetTrieNodes(pair(id, GetTrieNodes { root_hash: B256::ZERO, paths: vec![blobs.clone()], bytes })),
            SnapMessage::AccountRange(pair(id, AccountRange {
                accounts: hashes.iter().map(|h| AccountData { hash: *h, body: Bytes::from_static(&[0xc0]) }).collect(),
                proof: blobs.clone(),
            })),
            SnapMessage::StorageRanges(pair(id, StorageRanges {
                slots: vec![hashes.iter().zip(&blobs).map(|(h, b)| StorageData { hash: *h, data: b.clone() }).collect()],
                proof: vec![],
            })),
            SnapMessage::GetBlockAccessLists(pair(id, GetBlockAccessLists { hashes: hashes.clone(), bytes })),
        ];
        for m in messages {
            let v = if m.id().is_valid_for(SnapVersion::Snap2) { SnapVersion::Snap2 } else { SnapVersion::Snap1 };
            let enc = m.encoded();
            prop_assert_eq!(enc.len(), m.length());
            prop_assert_eq!(decode(v, m.id().as_u8(), &enc), Ok(m));
        }
    }
}
