//! Tests for the eth messages: spec vectors, round trips in every version,
//! version gating, bounds, validation, and fuzzing of the decoder.

use alloy_primitives::{b256, B256, U256};
use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

use super::{limits::*, *};
use crate::{
    forkid::{ForkHash, ForkId},
    status::Status,
    version::EthVersion,
};

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

/// `n` zero bytes, in hex.
fn z(n: usize) -> String {
    "00".repeat(n)
}

const DEADC0DE: B256 = b256!("00000000000000000000000000000000000000000000000000000000deadc0de");
const FEEDBEEF: B256 = b256!("00000000000000000000000000000000000000000000000000000000feedbeef");

/// Decodes `bytes` both ways (copying and zero-copy) and checks they agree.
fn decode(
    version: EthVersion,
    id: EthMessageId,
    bytes: &[u8],
) -> Result<EthMessage, EthMessageError> {
    let copied = EthMessage::decode(version, id.as_u8(), bytes);
    let shared = EthMessage::decode_bytes(version, id.as_u8(), Bytes::copy_from_slice(bytes));
    assert_eq!(
        copied, shared,
        "decode and decode_bytes disagree for {id} in {version}"
    );
    copied
}

/// Checks that `message` encodes to `expected` and decodes back from it in `version`.
fn check_vector(version: EthVersion, message: &EthMessage, expected: &[u8]) {
    assert_eq!(
        message.encoded().as_ref(),
        expected,
        "{} encoding in {version}",
        message.id()
    );
    assert_eq!(message.length(), expected.len());
    assert_eq!(
        decode(version, message.id(), expected).as_ref(),
        Ok(message)
    );
}

// ---------------------------------------------------------------------------
// EIP-2481 test vectors (eth/66 request ids). Every message is valid in eth/66;
// the ones that still exist later are checked in every later version too.
// ---------------------------------------------------------------------------

fn eip2481_hashes_vector() -> Vec<u8> {
    hex(&format!(
        "f847820457f842a0{}deadc0dea0{}feedbeef",
        z(28),
        z(28)
    ))
}

/// The header of the EIP-2481 `BlockHeadersPacket66` / `BlockBodiesPacket66` vectors.
fn eip2481_header() -> String {
    format!(
        "f901f9a0{h}a0{h}94{a}a0{h}a0{h}a0{h}b90100{bloom}8208ae820d0582115c8215b3821a0a827788a0{h}88{n}",
        h = z(32),
        a = z(20),
        bloom = z(256),
        n = z(8)
    )
}

const EIP2481_TX1: &str =
    "f867088504a817c8088302e2489435353535353535353535353535353535353535358202008025\
    a064b1702d9298fee62dfeccc57d322a463ad55ca201256d01f62b45b2e1c21c12\
    a064b1702d9298fee62dfeccc57d322a463ad55ca201256d01f62b45b2e1c21c10";
const EIP2481_TX2: &str =
    "f867098504a817c809830334509435353535353535353535353535353535353535358202d98025\
    a052f8f61201b2b11a78d6e866abc9c3db2ae8631fa656bfe5cb53668255367afb\
    a052f8f61201b2b11a78d6e866abc9c3db2ae8631fa656bfe5cb53668255367afb";

fn versions_with(id: EthMessageId) -> impl Iterator<Item = EthVersion> {
    EthVersion::ALL
        .into_iter()
        .filter(move |v| id.is_valid_for(*v))
}

#[test]
fn eip2481_get_block_headers_by_hash() {
    let bytes = hex(&format!("e8820457e4a0{}deadc0de050580", z(28)));
    let message = EthMessage::GetBlockHeaders(RequestPair::new(
        1111,
        GetBlockHeaders {
            start: BlockHashOrNumber::Hash(DEADC0DE),
            limit: 5,
            skip: 5,
            reverse: false,
        },
    ));
    for v in EthVersion::ALL {
        check_vector(v, &message, &bytes);
    }
}

#[test]
fn eip2481_get_block_headers_by_number() {
    let bytes = hex("ca820457c682270f050580");
    let message = EthMessage::GetBlockHeaders(RequestPair::new(
        1111,
        GetBlockHeaders {
            start: BlockHashOrNumber::Number(9999),
            limit: 5,
            skip: 5,
            reverse: false,
        },
    ));
    for v in EthVersion::ALL {
        check_vector(v, &message, &bytes);
    }
}

#[test]
fn eip2481_block_headers() {
    let header = hex(&eip2481_header());
    let bytes = hex(&format!("f90202820457f901fc{}", eip2481_header()));
    let headers = RawList::from_encoded_items([&header]).unwrap();
    let message = EthMessage::BlockHeaders(RequestPair::new(1111, headers));
    for v in EthVersion::ALL {
        check_vector(v, &message, &bytes);
    }
    let EthMessage::BlockHeaders(pair) =
        decode(EthVersion::Eth66, EthMessageId::BlockHeaders, &bytes).unwrap()
    else {
        panic!("not BlockHeaders")
    };
    assert_eq!(pair.message.len(), 1);
    assert_eq!(pair.message.iter().next(), Some(&header[..]));
}

#[test]
fn eip2481_hash_requests() {
    let bytes = eip2481_hashes_vector();
    let pair = RequestPair::new(1111, vec![DEADC0DE, FEEDBEEF]);
    let messages = [
        EthMessage::GetBlockBodies(pair.clone()),
        EthMessage::GetNodeData(pair.clone()),
        EthMessage::GetReceipts(pair.clone()),
        EthMessage::GetPooledTransactions(pair),
    ];
    for message in &messages {
        let versions: Vec<_> = versions_with(message.id())
            .filter(|v| message.id() != EthMessageId::GetReceipts || !v.has_partial_receipts())
            .collect();
        assert!(!versions.is_empty());
        for v in versions {
            check_vector(v, message, &bytes);
        }
    }
}

#[test]
fn eip2481_block_bodies() {
    let uncles = format!("f901fc{}", eip2481_header());
    let body = format!("f902d3f8d2{EIP2481_TX1}{EIP2481_TX2}{uncles}");
    let bytes = hex(&format!("f902dc820457f902d6{body}"));
    let bodies = RawList::from_encoded_items([hex(&body)]).unwrap();
    let message = EthMessage::BlockBodies(RequestPair::new(1111, bodies));
    for v in EthVersion::ALL {
        check_vector(v, &message, &bytes);
    }
}

#[test]
fn eip2481_node_data() {
    let bytes = hex("ce820457ca84deadc0de84feedbeef");
    let values = RawList::from_items(&[
        Bytes::from_static(&[0xde, 0xad, 0xc0, 0xde]),
        Bytes::from_static(&[0xfe, 0xed, 0xbe, 0xef]),
    ]);
    let message = EthMessage::NodeData(RequestPair::new(1111, values));
    check_vector(EthVersion::Eth66, &message, &bytes);
    assert_eq!(
        decode(EthVersion::Eth67, EthMessageId::NodeData, &bytes),
        Err(EthMessageError::NotAllowedInVersion {
            id: EthMessageId::NodeData,
            version: EthVersion::Eth67
        })
    );
}

#[test]
fn eip2481_receipts() {
    let receipt = format!(
        "f901668001b90100{bloom}f85ff85d94{addr}11f842a0{t}deada0{t}beef830100ff",
        bloom = z(256),
        addr = z(19),
        t = z(30)
    );
    let bytes = hex(&format!("f90172820457f9016cf90169{receipt}"));
    let block_receipts = RawList::from_encoded_items([hex(&receipt)]).unwrap();
    let receipts = RawList::from_encoded_items([block_receipts.as_bytes()]).unwrap();
    let message = EthMessage::Receipts(RequestPair::new(1111, receipts));
    for v in versions_with(EthMessageId::Receipts).filter(|v| !v.has_partial_receipts()) {
        check_vector(v, &message, &bytes);
    }
    // In eth/70 the same bytes are not a Receipts message: the second element must be the flag.
    assert!(matches!(
        decode(EthVersion::Eth70, EthMessageId::Receipts, &bytes),
        Err(EthMessageError::Rlp {
            message: "Receipts",
            ..
        })
    ));
}

#[test]
fn eip2481_pooled_transactions() {
    let bytes = hex(&format!("f8d7820457f8d2{EIP2481_TX1}{EIP2481_TX2}"));
    let txs = RawList::from_encoded_items([hex(EIP2481_TX1), hex(EIP2481_TX2)]).unwrap();
    let message = EthMessage::PooledTransactions(RequestPair::new(1111, txs));
    for v in EthVersion::ALL {
        check_vector(v, &message, &bytes);
    }
}

// ---------------------------------------------------------------------------
// Hand-derived vectors for the newer shapes.
// ---------------------------------------------------------------------------

#[test]
fn eth68_announcement_vector() {
    // [types: 0x0002 (2 bytes), sizes: [0x64, 0x0400], hashes: [deadc0de, feedbeef]]
    let bytes = hex(&format!(
        "f84c8200 02c464820400f842a0{}deadc0dea0{}feedbeef",
        z(28),
        z(28)
    )
    .replace(' ', ""));
    let message = EthMessage::NewPooledTransactionHashes(NewPooledTransactionHashes::Eth68(
        NewPooledTransactionHashes68 {
            types: Bytes::from_static(&[0x00, 0x02]),
            sizes: vec![0x64, 0x400],
            hashes: vec![DEADC0DE, FEEDBEEF],
        },
    ));
    for v in [
        EthVersion::Eth68,
        EthVersion::Eth69,
        EthVersion::Eth70,
        EthVersion::Eth71,
    ] {
        check_vector(v, &message, &bytes);
    }
    // eth/66-67 expect a bare hash list; eth/72 expects the cell mask.
    assert!(decode(
        EthVersion::Eth67,
        EthMessageId::NewPooledTransactionHashes,
        &bytes
    )
    .is_err());
    assert!(decode(
        EthVersion::Eth72,
        EthMessageId::NewPooledTransactionHashes,
        &bytes
    )
    .is_err());
}

#[test]
fn eth72_announcement_vectors() {
    let body = format!("8203 03c26464f842a0{}deadc0dea0{}feedbeef", z(28), z(28)).replace(' ', "");
    // cell mask: columns 0 and 9 → byte 0 = 0x01, byte 1 = 0x02
    let with_mask = hex(&format!("f85b{body}900102{}", z(14)));
    let without_mask = hex(&format!("f84b{body}80"));
    let announcement = |cell_mask| {
        EthMessage::NewPooledTransactionHashes(NewPooledTransactionHashes::Eth72(
            NewPooledTransactionHashes72 {
                types: Bytes::from_static(&[0x03, 0x03]),
                sizes: vec![0x64, 0x64],
                hashes: vec![DEADC0DE, FEEDBEEF],
                cell_mask,
            },
        ))
    };
    check_vector(
        EthVersion::Eth72,
        &announcement(Some(CellMask::from_indices([0, 9]))),
        &with_mask,
    );
    check_vector(EthVersion::Eth72, &announcement(None), &without_mask);
    assert!(decode(
        EthVersion::Eth71,
        EthMessageId::NewPooledTransactionHashes,
        &with_mask
    )
    .is_err());
    // a 15-byte mask is rejected
    let short_mask = hex(&format!("f85a{body}8f0102{}", z(13)));
    assert!(matches!(
        decode(
            EthVersion::Eth72,
            EthMessageId::NewPooledTransactionHashes,
            &short_mask
        ),
        Err(EthMessageError::Rlp {
            source: alloy_rlp::Error::UnexpectedLength,
            ..
        })
    ));
}

#[test]
fn block_range_update_vector() {
    // [earliest 0, latest 0x1234, hash deadc0de]
    let bytes = hex(&format!("e58082 1234a0{}deadc0de", z(28)).replace(' ', ""));
    let message = EthMessage::BlockRangeUpdate(BlockRangeUpdate {
        earliest: 0,
        latest: 0x1234,
        latest_hash: DEADC0DE,
    });
    for v in versions_with(EthMessageId::BlockRangeUpdate) {
        check_vector(v, &message, &bytes);
    }
}

#[test]
fn eth70_receipts_vectors() {
    // GetReceipts70: [1111, firstBlockReceiptIndex 3, [deadc0de]] (flat, EIP-7975)
    let get = hex(&format!("e6820457 03e1a0{}deadc0de", z(28)).replace(' ', ""));
    let message = EthMessage::GetReceipts70(RequestPair::new(
        1111,
        GetReceipts70 {
            first_block_receipt_index: 3,
            block_hashes: vec![DEADC0DE],
        },
    ));
    for v in [EthVersion::Eth70, EthVersion::Eth71, EthVersion::Eth72] {
        check_vector(v, &message, &get);
    }
    // In eth/69 the same bytes have one element too many.
    assert!(decode(EthVersion::Eth69, EthMessageId::GetReceipts, &get).is_err());

    // Receipts70: [1111, lastBlockIncomplete 1, [[r1], []]] with an eth/69 receipt [0, 1, 0x5208, []]
    let receipt = "c68001825208c0";
    let resp = hex(&format!("ce82045701c9c7{receipt}c0"));
    let block = RawList::from_encoded_items([hex(receipt)]).unwrap();
    let receipts = RawList::from_encoded_items([block.as_bytes().to_vec(), vec![0xc0]]).unwrap();
    let message = EthMessage::Receipts70(RequestPair::new(
        1111,
        Receipts70 {
            last_block_incomplete: true,
            receipts,
        },
    ));
    for v in [EthVersion::Eth70, EthVersion::Eth71, EthVersion::Eth72] {
        check_vector(v, &message, &resp);
    }
    // The flag is a boolean: 2 is rejected.
    let mut bad = resp.clone();
    bad[4] = 0x02;
    assert!(decode(EthVersion::Eth70, EthMessageId::Receipts, &bad).is_err());
}

#[test]
fn eth71_block_access_lists_vectors() {
    let get = eip2481_hashes_vector();
    let message = EthMessage::GetBlockAccessLists(RequestPair::new(1111, vec![DEADC0DE, FEEDBEEF]));
    for v in versions_with(EthMessageId::GetBlockAccessLists) {
        check_vector(v, &message, &get);
    }
    // [1111, [[], 0x80]]: an empty BAL and an unavailable one (empty string, as geth sends)
    let resp = hex("c6820457c2c080");
    let bals = RawList::from_encoded_items([&[0xc0][..], &[0x80]]).unwrap();
    let message = EthMessage::BlockAccessLists(RequestPair::new(1111, bals));
    for v in versions_with(EthMessageId::BlockAccessLists) {
        check_vector(v, &message, &resp);
    }
}

#[test]
fn eth72_cells_vectors() {
    // GetCells: [7, [[deadc0de], mask]]
    let mask = format!("90ff{}", z(15));
    let get = hex(&format!("f507f3e1a0{}deadc0de{mask}", z(28)));
    let message = EthMessage::GetCells(RequestPair::new(
        7,
        GetCells {
            hashes: vec![DEADC0DE],
            cell_mask: CellMask::from_indices(0..8),
        },
    ));
    check_vector(EthVersion::Eth72, &message, &get);

    // Cells: [7, [[deadc0de], [[cell]], mask]] with a 4-byte stand-in cell
    let resp = hex(&format!(
        "f83d07f83ae1a0{}deadc0dec6c584aabbccdd{mask}",
        z(28)
    ));
    let cells = RawList::from_encoded_items([hex("c584aabbccdd")]).unwrap();
    let message = EthMessage::Cells(RequestPair::new(
        7,
        Cells {
            hashes: vec![DEADC0DE],
            cells,
            cell_mask: CellMask::from_indices(0..8),
        },
    ));
    check_vector(EthVersion::Eth72, &message, &resp);
    for v in [EthVersion::Eth66, EthVersion::Eth69, EthVersion::Eth71] {
        assert_eq!(
            decode(v, EthMessageId::Cells, &resp),
            Err(EthMessageError::NotAllowedInVersion {
                id: EthMessageId::Cells,
                version: v
            })
        );
    }
}

#[test]
fn new_block_and_new_block_hashes_vectors() {
    // NewBlockHashes: [[deadc0de, 5]]
    let bytes = hex(&format!("e3e2a0{}deadc0de05", z(28)));
    let message = EthMessage::NewBlockHashes(NewBlockHashes(vec![BlockHashNumber {
        hash: DEADC0DE,
        number: 5,
    }]));
    for v in versions_with(EthMessageId::NewBlockHashes) {
        check_vector(v, &message, &bytes);
    }
    // NewBlock: [block, td] with a stand-in block [[], [], []]
    let bytes = hex("c7c3c0c0c08207d0");
    let message = EthMessage::NewBlock(
        RawList::from_encoded_items([hex("c3c0c0c0"), hex("8207d0")]).unwrap(),
    );
    for v in versions_with(EthMessageId::NewBlock) {
        check_vector(v, &message, &bytes);
    }
    // A NewBlock must have exactly two items.
    assert!(matches!(
        decode(
            EthVersion::Eth68,
            EthMessageId::NewBlock,
            &hex("c4c3c0c0c0")
        ),
        Err(EthMessageError::Rlp {
            source: alloy_rlp::Error::ListLengthMismatch {
                expected: 2,
                got: 1
            },
            ..
        })
    ));
    assert!(matches!(
        decode(EthVersion::Eth68, EthMessageId::NewBlock, &hex("c3010203")),
        Err(EthMessageError::ListTooLong { max: 2, .. })
    ));
}

// ---------------------------------------------------------------------------
// Every message, in every version it exists in.
// ---------------------------------------------------------------------------

fn status_for(version: EthVersion) -> Status {
    let mut status = Status {
        version: version.as_u8(),
        network_id: 1,
        genesis: FEEDBEEF,
        fork_id: ForkId {
            hash: ForkHash([0xfc, 0x64, 0xec, 0x04]),
            next: 1_150_000,
        },
        ..Status::default()
    };
    if version.has_legacy_status() {
        status.total_difficulty = U256::from(17_179_869_184u64);
        status.best_hash = DEADC0DE;
    } else {
        status.earliest_block = 0;
        status.latest_block = 22_000_000;
        status.latest_block_hash = DEADC0DE;
    }
    status
}

/// One valid message of every kind that exists in `version`, in its shape.
fn samples(version: EthVersion) -> Vec<EthMessage> {
    let hashes = vec![DEADC0DE, FEEDBEEF, B256::repeat_byte(0x11)];
    let raw = RawList::from_encoded_items([hex("c3010203"), hex("80"), hex("8401020304")]).unwrap();
    let announcement = match version.as_u8() {
        66 | 67 => NewPooledTransactionHashes::Eth66(hashes.clone()),
        68..=71 => NewPooledTransactionHashes::Eth68(NewPooledTransactionHashes68 {
            types: Bytes::from_static(&[0, 2, 3]),
            sizes: vec![100, 200, 131_072],
            hashes: hashes.clone(),
        }),
        _ => NewPooledTransactionHashes::Eth72(NewPooledTransactionHashes72 {
            types: Bytes::from_static(&[0, 2, 3]),
            sizes: vec![100, 200, 131_072],
            hashes: hashes.clone(),
            cell_mask: Some(CellMask::ALL),
        }),
    };
    let all = vec![
        EthMessage::Status(status_for(version)),
        EthMessage::NewBlockHashes(NewBlockHashes(vec![
            BlockHashNumber {
                hash: DEADC0DE,
                number: 1,
            },
            BlockHashNumber {
                hash: FEEDBEEF,
                number: u64::MAX,
            },
        ])),
        EthMessage::Transactions(raw.clone()),
        EthMessage::GetBlockHeaders(RequestPair::new(
            u64::MAX,
            GetBlockHeaders {
                start: BlockHashOrNumber::Number(0),
                limit: 1024,
                skip: 0,
                reverse: true,
            },
        )),
        EthMessage::BlockHeaders(RequestPair::new(0, raw.clone())),
        EthMessage::GetBlockBodies(RequestPair::new(1, hashes.clone())),
        EthMessage::BlockBodies(RequestPair::new(2, RawList::empty())),
        EthMessage::NewBlock(
            RawList::from_encoded_items([hex("c3c0c0c0"), hex("8207d0")]).unwrap(),
        ),
        EthMessage::NewPooledTransactionHashes(announcement),
        EthMessage::GetPooledTransactions(RequestPair::new(3, hashes.clone())),
        EthMessage::PooledTransactions(RequestPair::new(4, raw.clone())),
        EthMessage::GetNodeData(RequestPair::new(5, hashes.clone())),
        EthMessage::NodeData(RequestPair::new(6, raw.clone())),
        if version.has_partial_receipts() {
            EthMessage::GetReceipts70(RequestPair::new(
                7,
                GetReceipts70 {
                    first_block_receipt_index: 12,
                    block_hashes: hashes.clone(),
                },
            ))
        } else {
            EthMessage::GetReceipts(RequestPair::new(7, hashes.clone()))
        },
        if version.has_partial_receipts() {
            EthMessage::Receipts70(RequestPair::new(
                8,
                Receipts70 {
                    last_block_incomplete: false,
                    receipts: raw.clone(),
                },
            ))
        } else {
            EthMessage::Receipts(RequestPair::new(8, raw.clone()))
        },
        EthMessage::BlockRangeUpdate(BlockRangeUpdate {
            earliest: 10,
            latest: 10,
            latest_hash: DEADC0DE,
        }),
        EthMessage::GetBlockAccessLists(RequestPair::new(9, hashes.clone())),
        EthMessage::BlockAccessLists(RequestPair::new(10, raw.clone())),
        EthMessage::GetCells(RequestPair::new(
            11,
            GetCells {
                hashes: hashes.clone(),
                cell_mask: CellMask::ALL,
            },
        )),
        EthMessage::Cells(RequestPair::new(
            12,
            Cells {
                hashes,
                cells: raw,
                cell_mask: CellMask::from_indices([1, 127]),
            },
        )),
    ];
    all.into_iter()
        .filter(|m| m.id().is_valid_for(version))
        .collect()
}

#[test]
fn every_message_round_trips_in_every_version() {
    for version in EthVersion::ALL {
        let samples = samples(version);
        let ids: Vec<_> = samples.iter().map(EthMessage::id).collect();
        let expected: Vec<_> = EthMessageId::ALL
            .into_iter()
            .filter(|id| id.is_valid_for(version))
            .collect();
        assert_eq!(ids, expected, "samples cover every message of {version}");
        for message in samples {
            message.validate_for(version).unwrap();
            let encoded = message.encoded();
            assert_eq!(encoded.len(), message.length());
            let mut buf = BytesMut::new();
            message.encode(&mut buf);
            assert_eq!(&buf[..], &encoded[..]);
            assert_eq!(
                decode(version, message.id(), &encoded),
                Ok(message.clone()),
                "{} in {version}",
                message.id()
            );
        }
    }
}

#[test]
fn raw_payloads_are_zero_copy() {
    let message = EthMessage::BlockBodies(RequestPair::new(2, RawList::from_items(&[1u64, 2, 3])));
    let payload = message.encoded();
    let decoded = EthMessage::decode_bytes(
        EthVersion::Eth69,
        EthMessageId::BlockBodies.as_u8(),
        payload.clone(),
    )
    .unwrap();
    let EthMessage::BlockBodies(pair) = decoded else {
        panic!("not BlockBodies")
    };
    let range = payload.as_ptr() as usize..payload.as_ptr() as usize + payload.len();
    assert!(range.contains(&(pair.message.as_bytes().as_ptr() as usize)));
    // relaying writes the same bytes back
    assert_eq!(EthMessage::BlockBodies(pair).encoded(), payload);
}

#[test]
fn request_response_classification() {
    for version in EthVersion::ALL {
        for message in samples(version) {
            let id = message.id();
            assert_eq!(
                message.request_id().is_some(),
                id.is_request() || id.is_response(),
                "{id}"
            );
            assert_eq!(message.is_request(), id.is_request());
            assert_eq!(message.is_response(), id.is_response());
            assert_eq!(message.is_broadcast(), id.is_broadcast());
            let kinds = [id.is_request(), id.is_response(), id.is_broadcast()];
            let n = kinds.iter().filter(|k| **k).count();
            assert_eq!(
                n,
                usize::from(id != EthMessageId::Status),
                "{id} has exactly one kind"
            );
        }
    }
    use EthMessageId as Id;
    let pairs = [
        (Id::GetBlockHeaders, Id::BlockHeaders),
        (Id::GetBlockBodies, Id::BlockBodies),
        (Id::GetPooledTransactions, Id::PooledTransactions),
        (Id::GetNodeData, Id::NodeData),
        (Id::GetReceipts, Id::Receipts),
        (Id::GetBlockAccessLists, Id::BlockAccessLists),
        (Id::GetCells, Id::Cells),
    ];
    for (request, response) in pairs {
        assert_eq!(request.response(), Some(response));
        assert_eq!(response.request(), Some(request));
        assert_eq!(response.response(), None);
        assert_eq!(request.request(), None);
        for v in EthVersion::ALL {
            assert_eq!(
                request.is_valid_for(v),
                response.is_valid_for(v),
                "{request}/{response} in {v}"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Version gating and ids.
// ---------------------------------------------------------------------------

#[test]
fn version_rules() {
    use EthMessageId as Id;
    use EthVersion::*;
    let allowed = |id: Id| -> Vec<EthVersion> {
        let mut v: Vec<_> = versions_with(id).collect();
        v.reverse();
        v
    };
    assert_eq!(allowed(Id::GetNodeData), [Eth66]);
    assert_eq!(allowed(Id::NodeData), [Eth66]);
    assert_eq!(allowed(Id::NewBlockHashes), [Eth66, Eth67, Eth68]);
    assert_eq!(allowed(Id::NewBlock), [Eth66, Eth67, Eth68]);
    assert_eq!(allowed(Id::BlockRangeUpdate), [Eth69, Eth70, Eth71, Eth72]);
    assert_eq!(allowed(Id::GetBlockAccessLists), [Eth71, Eth72]);
    assert_eq!(allowed(Id::BlockAccessLists), [Eth71, Eth72]);
    assert_eq!(allowed(Id::GetCells), [Eth72]);
    assert_eq!(allowed(Id::Cells), [Eth72]);
    assert_eq!(allowed(Id::Status).len(), 7);
    assert_eq!(allowed(Id::GetReceipts).len(), 7);

    // Every id of a version fits in its message count, and the highest one fills it.
    for v in EthVersion::ALL {
        let max = Id::ALL
            .into_iter()
            .filter(|id| id.is_valid_for(v))
            .map(Id::as_u8)
            .max()
            .unwrap();
        assert_eq!(max + 1, v.message_count(), "{v}");
    }
}

#[test]
fn ids_round_trip_and_unknown_ids_are_rejected() {
    for id in EthMessageId::ALL {
        assert_eq!(EthMessageId::try_from(id.as_u8()), Ok(id));
        assert!(id.to_string().starts_with(id.name()));
    }
    let known: Vec<u8> = EthMessageId::ALL.iter().map(|id| id.as_u8()).collect();
    for raw in (0..=u8::MAX).filter(|n| !known.contains(n)) {
        assert_eq!(EthMessageId::try_from(raw), Err(UnknownMessageId(raw)));
        for v in EthVersion::ALL {
            assert_eq!(
                EthMessage::decode(v, raw, &[0xc0]),
                Err(EthMessageError::UnknownMessageId(raw))
            );
        }
    }
}

#[test]
fn gated_messages_are_rejected_with_their_own_error() {
    for version in EthVersion::ALL {
        for other in EthVersion::ALL {
            for message in samples(other) {
                let id = message.id();
                if id.is_valid_for(version) {
                    continue;
                }
                let expected = EthMessageError::NotAllowedInVersion { id, version };
                assert_eq!(
                    decode(version, id, &message.encoded()),
                    Err(expected.clone())
                );
                assert_eq!(message.validate_for(version), Err(expected));
            }
        }
    }
}

#[test]
fn validate_for_detects_wrong_shapes() {
    let eth68 = samples(EthVersion::Eth68);
    let eth72 = samples(EthVersion::Eth72);
    let find = |set: &[EthMessage], id| set.iter().find(|m| m.id() == id).cloned().unwrap();
    use EthMessageId as Id;
    for (message, version) in [
        (find(&eth68, Id::Status), EthVersion::Eth69),
        (find(&eth72, Id::Status), EthVersion::Eth68),
        (
            find(&eth68, Id::NewPooledTransactionHashes),
            EthVersion::Eth72,
        ),
        (
            find(&eth68, Id::NewPooledTransactionHashes),
            EthVersion::Eth67,
        ),
        (
            find(&eth72, Id::NewPooledTransactionHashes),
            EthVersion::Eth71,
        ),
        (find(&eth68, Id::GetReceipts), EthVersion::Eth70),
        (find(&eth68, Id::Receipts), EthVersion::Eth70),
        (find(&eth72, Id::GetReceipts), EthVersion::Eth69),
        (find(&eth72, Id::Receipts), EthVersion::Eth69),
    ] {
        assert!(
            matches!(
                message.validate_for(version),
                Err(EthMessageError::WrongShapeForVersion { .. })
            ),
            "{} in {version}",
            message.id()
        );
        // and the decoder of that version does not accept it as the same message
        assert_ne!(
            decode(version, message.id(), &message.encoded()).ok(),
            Some(message)
        );
    }
}

// ---------------------------------------------------------------------------
// Structural errors: trailing bytes, extra elements, bad fields.
// ---------------------------------------------------------------------------

#[test]
fn trailing_bytes_are_rejected() {
    for version in EthVersion::ALL {
        for message in samples(version) {
            let mut bytes = message.encoded().to_vec();
            bytes.push(0x80);
            assert_eq!(
                decode(version, message.id(), &bytes),
                Err(EthMessageError::TrailingBytes {
                    message: message.id().name(),
                    len: 1
                })
            );
        }
    }
}

#[test]
fn extra_list_elements_are_rejected() {
    // GetBlockBodies [1111, [..], 0x01]
    let mut bytes = eip2481_hashes_vector();
    bytes[1] += 1;
    bytes.push(0x01);
    assert!(matches!(
        decode(EthVersion::Eth68, EthMessageId::GetBlockBodies, &bytes),
        Err(EthMessageError::Rlp {
            message: "GetBlockBodies",
            ..
        })
    ));
    // GetBlockHeaders with a fifth field
    assert!(matches!(
        decode(
            EthVersion::Eth68,
            EthMessageId::GetBlockHeaders,
            &hex("cb820457c782270f05058001")
        ),
        Err(EthMessageError::Rlp {
            message: "GetBlockHeaders",
            ..
        })
    ));
    // Empty payloads are errors, not panics.
    for id in EthMessageId::ALL {
        for v in versions_with(id) {
            assert!(decode(v, id, &[]).is_err(), "{id} in {v}");
        }
    }
}

#[test]
fn block_hash_or_number_rules() {
    // origin of 9 bytes: neither a number nor a hash (geth: "invalid input size")
    let bytes = hex("d1820457cd89010203040506070809050580");
    assert!(matches!(
        decode(EthVersion::Eth68, EthMessageId::GetBlockHeaders, &bytes),
        Err(EthMessageError::Rlp {
            source: alloy_rlp::Error::UnexpectedLength,
            ..
        })
    ));
    // a number with a leading zero is not canonical
    assert!(decode(
        EthVersion::Eth68,
        EthMessageId::GetBlockHeaders,
        &hex("cb820457c783000001050580")
    )
    .is_err());
    // reverse must be 0 or 1
    assert!(decode(
        EthVersion::Eth68,
        EthMessageId::GetBlockHeaders,
        &hex("ca820457c682270f050502")
    )
    .is_err());
    // reverse = true
    let decoded = decode(
        EthVersion::Eth68,
        EthMessageId::GetBlockHeaders,
        &hex("ca820457c682270f050501"),
    )
    .unwrap();
    let EthMessage::GetBlockHeaders(pair) = decoded else {
        panic!()
    };
    assert!(pair.message.reverse);
    // number 0 is the empty string
    let zero = GetBlockHeaders {
        start: 0u64.into(),
        limit: 1,
        skip: 0,
        reverse: false,
    };
    assert_eq!(alloy_rlp::encode(zero), hex("c480018080"));
}

#[test]
fn block_range_update_is_validated() {
    let encode = |update: BlockRangeUpdate| alloy_rlp::encode(update);
    let bad_order = BlockRangeUpdate {
        earliest: 11,
        latest: 10,
        latest_hash: DEADC0DE,
    };
    let zero_hash = BlockRangeUpdate {
        earliest: 0,
        latest: 10,
        latest_hash: B256::ZERO,
    };
    assert_eq!(
        bad_order.validate(),
        Err(BlockRangeError::EarliestAfterLatest {
            earliest: 11,
            latest: 10
        })
    );
    assert_eq!(zero_hash.validate(), Err(BlockRangeError::ZeroLatestHash));
    for v in versions_with(EthMessageId::BlockRangeUpdate) {
        assert_eq!(
            decode(v, EthMessageId::BlockRangeUpdate, &encode(bad_order)),
            Err(EthMessageError::InvalidBlockRange(
                BlockRangeError::EarliestAfterLatest {
                    earliest: 11,
                    latest: 10
                }
            ))
        );
        assert_eq!(
            decode(v, EthMessageId::BlockRangeUpdate, &encode(zero_hash)),
            Err(EthMessageError::InvalidBlockRange(
                BlockRangeError::ZeroLatestHash
            ))
        );
        assert_eq!(
            EthMessage::BlockRangeUpdate(zero_hash).validate_for(v),
            Err(EthMessageError::InvalidBlockRange(
                BlockRangeError::ZeroLatestHash
            ))
        );
    }
    let ok = BlockRangeUpdate {
        earliest: 0,
        latest: 0,
        latest_hash: DEADC0DE,
    };
    assert_eq!(ok.validate(), Ok(()));
}

#[test]
fn announcement_lengths_must_match() {
    let mismatched =
        |types: &'static [u8], sizes: Vec<u64>, hashes: Vec<B256>| NewPooledTransactionHashes68 {
            types: Bytes::from_static(types),
            sizes,
            hashes,
        };
    let cases = [
        (
            mismatched(&[2], vec![1, 2], vec![DEADC0DE, FEEDBEEF]),
            (1, 2, 2),
        ),
        (
            mismatched(&[2, 2], vec![1], vec![DEADC0DE, FEEDBEEF]),
            (2, 1, 2),
        ),
        (mismatched(&[2, 2], vec![1, 2], vec![DEADC0DE]), (2, 2, 1)),
        (mismatched(&[], vec![], vec![DEADC0DE]), (0, 0, 1)),
    ];
    for (announcement, (types, sizes, hashes)) in cases {
        let expected = EthMessageError::MismatchedAnnouncementLengths {
            types,
            sizes,
            hashes,
        };
        let bytes = alloy_rlp::encode(&announcement);
        for v in [
            EthVersion::Eth68,
            EthVersion::Eth69,
            EthVersion::Eth70,
            EthVersion::Eth71,
        ] {
            assert_eq!(
                decode(v, EthMessageId::NewPooledTransactionHashes, &bytes),
                Err(expected.clone())
            );
        }
        let message = NewPooledTransactionHashes::Eth68(announcement.clone());
        assert_eq!(message.validate(), Err(expected.clone()));
        let eth72 = NewPooledTransactionHashes72 {
            types: announcement.types,
            sizes: announcement.sizes,
            hashes: announcement.hashes,
            cell_mask: None,
        };
        let bytes = alloy_rlp::encode(&eth72);
        assert_eq!(
            decode(
                EthVersion::Eth72,
                EthMessageId::NewPooledTransactionHashes,
                &bytes
            ),
            Err(expected)
        );
    }
    // empty announcements are fine
    let empty = NewPooledTransactionHashes::Eth68(NewPooledTransactionHashes68::default());
    assert!(empty.is_empty());
    assert_eq!(
        decode(
            EthVersion::Eth68,
            EthMessageId::NewPooledTransactionHashes,
            &alloy_rlp::encode(&empty)
        ),
        Ok(EthMessage::NewPooledTransactionHashes(empty))
    );
}

#[test]
fn announcement_accessors() {
    let m = samples(EthVersion::Eth70)
        .into_iter()
        .find_map(|m| match m {
            EthMessage::NewPooledTransactionHashes(a) => Some(a),
            _ => None,
        })
        .unwrap();
    assert_eq!(m.len(), 3);
    assert_eq!(m.types(), Some(&[0, 2, 3][..]));
    assert_eq!(m.sizes(), Some(&[100, 200, 131_072][..]));
    assert_eq!(m.hashes()[0], DEADC0DE);
    assert!(m.is_shape_of(EthVersion::Eth68) && m.is_shape_of(EthVersion::Eth71));
    assert!(!m.is_shape_of(EthVersion::Eth67) && !m.is_shape_of(EthVersion::Eth72));
    let legacy = NewPooledTransactionHashes::Eth66(vec![DEADC0DE]);
    assert_eq!(legacy.types(), None);
    assert_eq!(legacy.sizes(), None);
}

#[test]
fn cell_mask_bits() {
    let mask = CellMask::from_indices([0, 7, 8, 127, 128, 1000]);
    assert_eq!(mask.0[0], 0b1000_0001);
    assert_eq!(mask.0[1], 0b0000_0001);
    assert_eq!(mask.0[15], 0b1000_0000);
    assert_eq!(mask.indices().collect::<Vec<_>>(), [0, 7, 8, 127]);
    assert_eq!(mask.count(), 4);
    assert!(mask.is_set(127) && !mask.is_set(128) && !mask.is_set(1));
    assert_eq!(CellMask::ALL.count(), CELLS_PER_EXT_BLOB);
    assert_eq!(CellMask::EMPTY.count(), 0);
    // encoded as a 16-byte string, even when all zero
    assert_eq!(
        alloy_rlp::encode(CellMask::EMPTY),
        hex(&format!("90{}", z(16)))
    );
}

// ---------------------------------------------------------------------------
// Bounds.
// ---------------------------------------------------------------------------

fn many_hashes(n: usize) -> Vec<B256> {
    (0..n).map(|i| B256::from(U256::from(i))).collect()
}

fn raw_of(n: usize) -> RawList {
    RawList::from_encoded_items(std::iter::repeat_n([0x01u8], n)).unwrap()
}

#[test]
fn oversized_lists_are_rejected() {
    use EthMessageId as Id;
    let v = EthVersion::Eth66;
    type HashRequest = fn(RequestPair<Vec<B256>>) -> EthMessage;
    let hash_requests: [(HashRequest, Id, usize, EthVersion); 5] = [
        (
            EthMessage::GetBlockBodies,
            Id::GetBlockBodies,
            MAX_BLOCK_REQUEST_HASHES,
            v,
        ),
        (
            EthMessage::GetNodeData,
            Id::GetNodeData,
            MAX_BLOCK_REQUEST_HASHES,
            v,
        ),
        (
            EthMessage::GetReceipts,
            Id::GetReceipts,
            MAX_BLOCK_REQUEST_HASHES,
            v,
        ),
        (
            EthMessage::GetPooledTransactions,
            Id::GetPooledTransactions,
            MAX_POOLED_TX_REQUEST_HASHES,
            v,
        ),
        (
            EthMessage::GetBlockAccessLists,
            Id::GetBlockAccessLists,
            MAX_BLOCK_REQUEST_HASHES,
            EthVersion::Eth71,
        ),
    ];
    for (make, id, max, version) in hash_requests {
        let ok = make(RequestPair::new(1, many_hashes(max)));
        assert!(
            decode(version, id, &ok.encoded()).is_ok(),
            "{id} at its bound"
        );
        let over = make(RequestPair::new(1, many_hashes(max + 1)));
        let err = EthMessageError::ListTooLong {
            message: id.name(),
            max,
        };
        assert_eq!(
            decode(version, id, &over.encoded()),
            Err(err.clone()),
            "{id} over its bound"
        );
        assert_eq!(over.validate_for(version), Err(err));
    }

    type RawResponse = fn(RequestPair<RawList>) -> EthMessage;
    let raw_responses: [(RawResponse, Id, usize, EthVersion); 6] = [
        (
            EthMessage::BlockHeaders,
            Id::BlockHeaders,
            MAX_BLOCK_RESPONSE_ITEMS,
            v,
        ),
        (
            EthMessage::BlockBodies,
            Id::BlockBodies,
            MAX_BLOCK_RESPONSE_ITEMS,
            v,
        ),
        (
            EthMessage::NodeData,
            Id::NodeData,
            MAX_BLOCK_RESPONSE_ITEMS,
            v,
        ),
        (
            EthMessage::Receipts,
            Id::Receipts,
            MAX_BLOCK_RESPONSE_ITEMS,
            v,
        ),
        (
            EthMessage::PooledTransactions,
            Id::PooledTransactions,
            MAX_POOLED_TX_REQUEST_HASHES,
            v,
        ),
        (
            EthMessage::BlockAccessLists,
            Id::BlockAccessLists,
            MAX_BLOCK_RESPONSE_ITEMS,
            EthVersion::Eth71,
        ),
    ];
    for (make, id, max, version) in raw_responses {
        assert!(decode(
            version,
            id,
            &make(RequestPair::new(1, raw_of(max))).encoded()
        )
        .is_ok());
        let over = make(RequestPair::new(1, raw_of(max + 1)));
        let err = EthMessageError::ListTooLong {
            message: id.name(),
            max,
        };
        assert_eq!(
            decode(version, id, &over.encoded()),
            Err(err.clone()),
            "{id} over its bound"
        );
        assert_eq!(over.validate_for(version), Err(err));
    }

    let txs = EthMessage::Transactions(raw_of(MAX_TRANSACTIONS + 1));
    assert_eq!(
        decode(v, Id::Transactions, &txs.encoded()),
        Err(EthMessageError::ListTooLong {
            message: "Transactions",
            max: MAX_TRANSACTIONS
        })
    );
    assert!(decode(
        v,
        Id::Transactions,
        &EthMessage::Transactions(raw_of(MAX_TRANSACTIONS)).encoded()
    )
    .is_ok());

    let nbh = |n| {
        EthMessage::NewBlockHashes(NewBlockHashes(vec![
            BlockHashNumber {
                hash: DEADC0DE,
                number: 1
            };
            n
        ]))
    };
    assert!(decode(v, Id::NewBlockHashes, &nbh(MAX_NEW_BLOCK_HASHES).encoded()).is_ok());
    assert!(matches!(
        decode(
            v,
            Id::NewBlockHashes,
            &nbh(MAX_NEW_BLOCK_HASHES + 1).encoded()
        ),
        Err(EthMessageError::ListTooLong { .. })
    ));

    // announcements, in all three shapes
    let over = NewPooledTransactionHashes::Eth66(many_hashes(MAX_ANNOUNCED_HASHES + 1));
    assert!(matches!(
        decode(
            EthVersion::Eth67,
            Id::NewPooledTransactionHashes,
            &alloy_rlp::encode(&over)
        ),
        Err(EthMessageError::ListTooLong {
            max: MAX_ANNOUNCED_HASHES,
            ..
        })
    ));
    let n = MAX_ANNOUNCED_HASHES + 1;
    let over68 = NewPooledTransactionHashes68 {
        types: Bytes::from(vec![2; n]),
        sizes: vec![1; n],
        hashes: many_hashes(n),
    };
    assert!(matches!(
        decode(
            EthVersion::Eth68,
            Id::NewPooledTransactionHashes,
            &alloy_rlp::encode(&over68)
        ),
        Err(EthMessageError::ListTooLong {
            max: MAX_ANNOUNCED_HASHES,
            ..
        })
    ));
    // only the types string too long
    let types_only = NewPooledTransactionHashes68 {
        types: Bytes::from(vec![2; n]),
        sizes: vec![],
        hashes: vec![],
    };
    assert!(matches!(
        decode(
            EthVersion::Eth69,
            Id::NewPooledTransactionHashes,
            &alloy_rlp::encode(&types_only)
        ),
        Err(EthMessageError::ListTooLong {
            max: MAX_ANNOUNCED_HASHES,
            ..
        })
    ));
    let over72 = NewPooledTransactionHashes72 {
        types: over68.types.clone(),
        sizes: over68.sizes.clone(),
        hashes: over68.hashes.clone(),
        cell_mask: None,
    };
    assert!(matches!(
        decode(
            EthVersion::Eth72,
            Id::NewPooledTransactionHashes,
            &alloy_rlp::encode(&over72)
        ),
        Err(EthMessageError::ListTooLong { .. })
    ));
    let at_bound = NewPooledTransactionHashes::Eth68(NewPooledTransactionHashes68 {
        types: Bytes::from(vec![2; MAX_ANNOUNCED_HASHES]),
        sizes: vec![1; MAX_ANNOUNCED_HASHES],
        hashes: many_hashes(MAX_ANNOUNCED_HASHES),
    });
    assert!(decode(
        EthVersion::Eth68,
        Id::NewPooledTransactionHashes,
        &alloy_rlp::encode(&at_bound)
    )
    .is_ok());

    // eth/70 receipts, eth/72 cells
    let get70 = EthMessage::GetReceipts70(RequestPair::new(
        1,
        GetReceipts70 {
            first_block_receipt_index: 0,
            block_hashes: many_hashes(MAX_BLOCK_REQUEST_HASHES + 1),
        },
    ));
    assert!(matches!(
        decode(EthVersion::Eth70, Id::GetReceipts, &get70.encoded()),
        Err(EthMessageError::ListTooLong { .. })
    ));
    let receipts70 = EthMessage::Receipts70(RequestPair::new(
        1,
        Receipts70 {
            last_block_incomplete: false,
            receipts: raw_of(MAX_BLOCK_RESPONSE_ITEMS + 1),
        },
    ));
    assert!(matches!(
        decode(EthVersion::Eth70, Id::Receipts, &receipts70.encoded()),
        Err(EthMessageError::ListTooLong { .. })
    ));
    let get_cells = EthMessage::GetCells(RequestPair::new(
        1,
        GetCells {
            hashes: many_hashes(MAX_BLOCK_REQUEST_HASHES + 1),
            cell_mask: CellMask::ALL,
        },
    ));
    assert!(matches!(
        decode(EthVersion::Eth72, Id::GetCells, &get_cells.encoded()),
        Err(EthMessageError::ListTooLong { .. })
    ));
    let cells = EthMessage::Cells(RequestPair::new(
        1,
        Cells {
            hashes: vec![],
            cells: raw_of(MAX_BLOCK_RESPONSE_ITEMS + 1),
            cell_mask: CellMask::ALL,
        },
    ));
    assert!(matches!(
        decode(EthVersion::Eth72, Id::Cells, &cells.encoded()),
        Err(EthMessageError::ListTooLong { .. })
    ));
}

#[test]
fn errors_name_the_message() {
    let err = decode(EthVersion::Eth68, EthMessageId::GetBlockHeaders, &hex("c2")).unwrap_err();
    assert_eq!(
        err,
        EthMessageError::Rlp {
            message: "GetBlockHeaders",
            source: alloy_rlp::Error::InputTooShort
        }
    );
    assert_eq!(
        err.to_string(),
        "invalid GetBlockHeaders message: input too short"
    );
    let err = EthMessageError::NotAllowedInVersion {
        id: EthMessageId::NewBlock,
        version: EthVersion::Eth69,
    };
    assert_eq!(err.to_string(), "NewBlock (0x07) is not allowed in eth/69");
    assert_eq!(
        EthMessageError::UnknownMessageId(0x0b).to_string(),
        "unknown eth message id 0x0b"
    );
}

// ---------------------------------------------------------------------------
// Fuzzing: the decoder never panics, and what it accepts re-encodes to itself.
// ---------------------------------------------------------------------------

/// Decodes with every version; for accepted inputs, checks that the message
/// encodes back to exactly the input (the decoder accepts only canonical RLP)
/// and passes `validate_for`.
fn check_any(id: u8, bytes: &[u8]) {
    for version in EthVersion::ALL {
        let copied = EthMessage::decode(version, id, bytes);
        let shared = EthMessage::decode_bytes(version, id, Bytes::copy_from_slice(bytes));
        assert_eq!(copied, shared);
        if let Ok(message) = copied {
            if let EthMessage::Status(status) = &message {
                if status.is_legacy() != version.has_legacy_status() {
                    // The version field names the other format: decoded in the negotiated
                    // format, encoded in the named one; validate_status rejects it anyway.
                    continue;
                }
            }
            assert_eq!(
                message.encoded().as_ref(),
                bytes,
                "{} in {version} re-encodes differently",
                message.id()
            );
            assert_eq!(message.validate_for(version), Ok(()));
        }
        let status = Status::decode(version, bytes);
        if id == 0 {
            assert_eq!(
                status.ok().map(EthMessage::Status),
                EthMessage::decode(version, id, bytes).ok()
            );
        }
    }
}

#[derive(Clone, Debug)]
enum Mutation {
    Flip(usize, u8),
    Truncate(usize),
    Insert(usize, u8),
    Remove(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1..=u8::MAX).prop_map(|(i, x)| Mutation::Flip(i, x)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Remove),
    ]
}

fn apply(bytes: &mut Vec<u8>, mutation: &Mutation) {
    let len = bytes.len();
    match *mutation {
        Mutation::Flip(i, x) if len > 0 => bytes[i % len] ^= x,
        Mutation::Truncate(i) => bytes.truncate(i % (len + 1)),
        Mutation::Insert(i, b) => bytes.insert(i % (len + 1), b),
        Mutation::Remove(i) if len > 0 => {
            bytes.remove(i % len);
        }
        _ => {}
    }
}

/// Every sample of every version, encoded, with its id.
fn all_sample_encodings() -> Vec<(u8, Vec<u8>)> {
    EthVersion::ALL
        .into_iter()
        .flat_map(samples)
        .map(|m| (m.id().as_u8(), m.encoded().to_vec()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(id in 0u8..0x18, bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        check_any(id, &bytes);
    }

    #[test]
    fn random_rlp_lists_never_panic(id in 0u8..0x18, body in proptest::collection::vec(any::<u8>(), 0..300)) {
        // give random bytes a valid outer list header so decoding goes deeper
        let mut bytes = Vec::new();
        alloy_rlp::Header { list: true, payload_length: body.len() }.encode(&mut bytes);
        bytes.extend_from_slice(&body);
        check_any(id, &bytes);
    }

    #[test]
    fn mutated_valid_encodings_never_panic(
        pick in any::<prop::sample::Index>(),
        mutations in proptest::collection::vec(mutation(), 1..4),
        other_id in 0u8..0x18,
    ) {
        let samples = all_sample_encodings();
        let (id, mut bytes) = samples[pick.index(samples.len())].clone();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        check_any(id, &bytes);
        check_any(other_id, &bytes);
    }

    #[test]
    fn typed_messages_round_trip(
        request_id in any::<u64>(),
        hashes in proptest::collection::vec(any::<[u8; 32]>().prop_map(B256::from), 0..40),
        sizes in proptest::collection::vec(any::<u64>(), 0..40),
        number in any::<u64>(),
        limit in any::<u64>(),
        skip in any::<u64>(),
        reverse in any::<bool>(),
        mask in any::<[u8; 16]>(),
        flag in any::<bool>(),
    ) {
        let n = hashes.len().min(sizes.len());
        let types: Vec<u8> = sizes[..n].iter().map(|s| (*s % 5) as u8).collect();
        let start = if number % 2 == 0 { BlockHashOrNumber::Number(number) } else { BlockHashOrNumber::Hash(hashes.first().copied().unwrap_or(DEADC0DE)) };
        let raw = RawList::from_items(&sizes);
        let messages = [
            (EthVersion::Eth66, EthMessage::GetBlockHeaders(RequestPair::new(request_id, GetBlockHeaders { start, limit, skip, reverse }))),
            (EthVersion::Eth67, EthMessage::NewPooledTransactionHashes(NewPooledTransactionHashes::Eth66(hashes.clone()))),
            (EthVersion::Eth68, EthMessage::NewPooledTransactionHashes(NewPooledTransactionHashes::Eth68(NewPooledTransactionHashes68 {
                types: Bytes::from(types.clone()), sizes: sizes[..n].to_vec(), hashes: hashes[..n].to_vec(),
            }))),
            (EthVersion::Eth72, EthMessage::NewPooledTransactionHashes(NewPooledTransactionHashes::Eth72(NewPooledTransactionHashes72 {
                types: Bytes::from(types), sizes: sizes[..n].to_vec(), hashes: hashes[..n].to_vec(),
                cell_mask: (mask[0] % 2 == 0).then_some(CellMask(mask)),
            }))),
            (EthVersion::Eth70, EthMessage::GetReceipts70(RequestPair::new(request_id, GetReceipts70 { first_block_receipt_index: number, block_hashes: hashes.clone() }))),
            (EthVersion::Eth71, EthMessage::Receipts70(RequestPair::new(request_id, Receipts70 { last_block_incomplete: flag, receipts: raw.clone() }))),
            (EthVersion::Eth72, EthMessage::Cells(RequestPair::new(request_id, Cells { hashes: hashes.clone(), cells: raw.clone(), cell_mask: CellMask(mask) }))),
            (EthVersion::Eth69, EthMessage::BlockRangeUpdate(BlockRangeUpdate { earliest: number.min(limit), latest: number.max(limit), latest_hash: B256::repeat_byte(mask[0] | 1) })),
            (EthVersion::Eth71, EthMessage::BlockAccessLists(RequestPair::new(request_id, raw))),
        ];
        for (version, message) in messages {
            let encoded = message.encoded();
            prop_assert_eq!(decode(version, message.id(), &encoded), Ok(message));
        }
    }
}
