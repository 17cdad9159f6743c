//! snap messages: encoding and decoding of an `AccountRange` of about 1 MiB
//! and of a small `GetAccountRange`, beside a memcpy of the same bytes.
//!
//! The path is a session's without snappy: `SnapMessage::encoded` (a new
//! buffer of the exact length) and `SnapMessage::decode_bytes`, which keeps
//! account bodies and proof nodes as slices of the received bytes.

use super::{
    eth::Rng,
    stats::{timed_runner, Config, Runner},
};
use alloy_primitives::{keccak256, B256, U256};
use alloy_rlp::{Encodable, Header};
use bytes::Bytes;
use ethp2p_eth::{
    message::RequestPair,
    snap::{AccountData, AccountRange, GetAccountRange, SnapMessage, SnapVersion},
};
use std::hint::black_box;

/// encode + decode of the ~1 MiB `AccountRange`.
pub(super) const RANGE: &str = "snap.encode_decode.1MiB";
/// encode + decode of the `GetAccountRange` (its encoding is 110 bytes).
pub(super) const REQUEST: &str = "snap.encode_decode.110B";
/// memcpy of the `AccountRange`'s bytes.
pub(super) const MEMCPY_RANGE: &str = "primitive.memcpy.snap_1MiB";
/// memcpy of the `GetAccountRange`'s bytes.
pub(super) const MEMCPY_REQUEST: &str = "primitive.memcpy.snap_110B";

const VERSION: SnapVersion = SnapVersion::Snap1;
const REQUEST_ID: u64 = 0x1234_5678;

/// A slim account body `[nonce, balance, storageRoot, codeHash]`: an
/// externally owned account leaves root and code hash empty (slim format),
/// a contract carries both.
fn account_body(rng: &mut Rng, contract: bool) -> Bytes {
    let mut fields = Vec::new();
    (rng.next() % 5_000).encode(&mut fields);
    // Balances up to about 18 ETH in wei: 8 bytes.
    (rng.next() % 18_000_000_000_000_000_000).encode(&mut fields);
    for _ in 0..2 {
        if contract {
            keccak256(rng.next().to_be_bytes()).encode(&mut fields);
        } else {
            Bytes::new().encode(&mut fields);
        }
    }
    let mut out = Vec::with_capacity(fields.len() + 2);
    Header {
        list: true,
        payload_length: fields.len(),
    }
    .encode(&mut out);
    out.extend_from_slice(&fields);
    Bytes::from(out)
}

/// A branch node of 16 hashes and an empty value, as a proof carries.
fn branch_node(rng: &mut Rng) -> Bytes {
    let mut children = Vec::new();
    for _ in 0..16 {
        keccak256(rng.next().to_be_bytes()).encode(&mut children);
    }
    Bytes::new().encode(&mut children);
    let mut out = Vec::new();
    Header {
        list: true,
        payload_length: children.len(),
    }
    .encode(&mut out);
    out.extend_from_slice(&children);
    Bytes::from(out)
}

/// An `AccountRange` of at least `size` encoded bytes: consecutive account
/// hashes, one account in ten a contract, and a proof of two paths of
/// eight branch nodes.
pub(super) fn account_range(size: usize) -> SnapMessage {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let proof: Vec<Bytes> = (0..16).map(|_| branch_node(&mut rng)).collect();
    let mut range = AccountRange {
        accounts: Vec::new(),
        proof,
    };
    let mut hash = keccak256(b"start");
    let mut total = range.proof.iter().map(|p| p.length()).sum::<usize>();
    while total < size {
        let contract = rng.next().is_multiple_of(10);
        let account = AccountData {
            hash,
            body: account_body(&mut rng, contract),
        };
        total += account.length();
        range.accounts.push(account);
        // The next hash up: the accounts of a range are consecutive in the trie.
        let step = U256::from(1 + rng.next() % (1 << 40));
        hash = B256::from(U256::from_be_bytes(hash.0).wrapping_add(step));
    }
    SnapMessage::AccountRange(RequestPair {
        request_id: REQUEST_ID,
        message: range,
    })
}

/// A `GetAccountRange` over a quarter of the key space, asking for 512 KiB.
pub(super) fn get_account_range() -> SnapMessage {
    SnapMessage::GetAccountRange(RequestPair {
        request_id: REQUEST_ID,
        message: GetAccountRange {
            root_hash: keccak256(b"state root"),
            starting_hash: B256::repeat_byte(0x40),
            limit_hash: B256::repeat_byte(0x7f),
            response_bytes: 512 * 1024,
        },
    })
}

fn round_trip(message: &SnapMessage) -> Option<SnapMessage> {
    SnapMessage::decode_bytes(VERSION, message.id() as u8, message.encoded()).ok()
}

/// Checks that both messages decode to themselves.
pub(super) fn check(messages: &[&SnapMessage]) -> Result<(), String> {
    for m in messages {
        if round_trip(m).as_ref() != Some(*m) {
            return Err(format!("snap {:?} did not round-trip", m.id()));
        }
    }
    Ok(())
}

/// The memcpy primitive and the encode + decode figure of one message, both
/// in MB/s of encoded bytes: (name, runner) pairs.
pub(super) fn measurements(
    cfg: &Config,
    message: &SnapMessage,
    names: (&'static str, &'static str),
) -> Vec<(&'static str, Runner)> {
    let len = message.length();
    let mb = move |s: f64| len as f64 / s / 1e6;
    let src = message.encoded().to_vec();
    let mut dst = vec![0u8; len];
    let memcpy = timed_runner(
        cfg,
        move || {
            dst.copy_from_slice(black_box(&src));
            black_box(&dst);
        },
        mb,
    );
    let message = message.clone();
    let path = timed_runner(
        cfg,
        move || {
            black_box(round_trip(black_box(&message)));
        },
        mb,
    );
    vec![(names.0, memcpy), (names.1, path)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_have_their_sizes_and_round_trip() {
        let range = account_range(1 << 20);
        let request = get_account_range();
        check(&[&range, &request]).unwrap();
        let len = range.length();
        assert!((1 << 20..(1 << 20) + 200).contains(&len), "{len}");
        assert_eq!(request.length(), 110, "the name {REQUEST} says 110 bytes");
        let SnapMessage::AccountRange(pair) = &range else {
            panic!("an AccountRange");
        };
        let contracts = pair
            .message
            .accounts
            .iter()
            .filter(|a| a.body.len() > 60)
            .count();
        assert!(contracts > 0 && contracts < pair.message.accounts.len() / 5);
    }
}
