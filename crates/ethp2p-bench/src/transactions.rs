//! Transaction gossip: announced hashes through the checks and the fetcher
//! (`ethp2p_network::transactions::measure`), and the decoding of pooled
//! transactions beside what hashing and an RLP header walk of the same bytes
//! cost.

use super::stats::{timed_runner, Config, Runner};
use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope, TxLegacy};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{keccak256, Address, Bytes as AlloyBytes, Signature, TxKind, B256, U256};
use alloy_rlp::Header;
use bytes::Bytes;
use ethp2p_network::transactions::{
    decode::{decode_pooled, DecodeLimits},
    measure::measure_announcements,
};
use secp256k1::{Message, SecretKey, SECP256K1};
use std::{cell::Cell, hint::black_box, rc::Rc};

/// Announced hashes per second through checks, fetcher and seen cache.
pub(super) const ANNOUNCE: &str = "tx.announcements_per_sec";
/// Fetcher bytes per tracked hash after those announcements.
pub(super) const BYTES_PER_HASH: &str = "tx.bytes_per_tracked_hash";
/// `decode_pooled` + hash of the EIP-1559 transaction.
pub(super) const DECODE_1559: &str = "tx.decode_per_sec.eip1559";
/// `decode_pooled` + hash of the legacy transaction.
pub(super) const DECODE_LEGACY: &str = "tx.decode_per_sec.legacy";
/// keccak256 over the EIP-1559 transaction's EIP-2718 bytes.
pub(super) const KECCAK_1559: &str = "primitive.keccak256.tx_eip1559";
/// Every RLP header of the EIP-1559 network item read (strings skipped).
pub(super) const WALK_1559: &str = "primitive.rlp_header_walk.tx_eip1559";
/// keccak256 over the legacy transaction's bytes.
pub(super) const KECCAK_LEGACY: &str = "primitive.keccak256.tx_legacy";
/// Every RLP header of the legacy transaction read.
pub(super) const WALK_LEGACY: &str = "primitive.rlp_header_walk.tx_legacy";

/// The announcement workload: peers, hashes per peer (distinct hashes).
pub(super) const ANNOUNCE_PEERS: usize = 50;
/// Hashes in each peer's announcement (geth's cap per announcement).
pub(super) const ANNOUNCE_HASHES: usize = 4096;
/// Target announced hashes per second on one core.
pub(super) const ANNOUNCE_TARGET: f64 = 100_000.0;
/// Target fetcher bytes per tracked hash (lower is better).
pub(super) const BYTES_PER_HASH_TARGET: f64 = 200.0;

/// A signed transaction as a peer sends it in `PooledTransactions`.
pub(super) struct TxFixture {
    /// The list item: a legacy RLP list, or an RLP string around `type ‖ payload`.
    pub item: Bytes,
    /// The EIP-2718 bytes the hash is taken over.
    pub raw: Bytes,
    /// The hash computed when the transaction was built.
    pub hash: B256,
}

fn sign(hash: B256, key: &SecretKey) -> Signature {
    let (recid, compact) = SECP256K1
        .sign_ecdsa_recoverable(Message::from_digest(hash.0), key)
        .serialize_compact();
    Signature::new(
        U256::from_be_slice(&compact[..32]),
        U256::from_be_slice(&compact[32..]),
        i32::from(recid) == 1,
    )
}

/// Calldata of a typical router call: a selector and seven 32-byte words,
/// amounts and padded addresses (mostly zero bytes), as a swap carries.
fn calldata() -> AlloyBytes {
    let mut data = vec![0x38, 0xed, 0x17, 0x39];
    for w in 0u8..7 {
        let mut word = [0u8; 32];
        if w % 2 == 0 {
            word[20..].copy_from_slice(&[w + 1; 12]);
        } else {
            word[12..].copy_from_slice(&[0xc0 | w; 20]);
        }
        data.extend_from_slice(&word);
    }
    data.into()
}

fn key() -> SecretKey {
    SecretKey::from_byte_array([0x46; 32]).expect("a valid secret key")
}

fn router() -> Address {
    Address::repeat_byte(0x7a)
}

fn fixture(envelope: TxEnvelope) -> TxFixture {
    let raw = Bytes::from(envelope.encoded_2718());
    let hash = *envelope.tx_hash();
    let item = if envelope.is_legacy() {
        raw.clone()
    } else {
        let mut out = Vec::with_capacity(raw.len() + 3);
        Header {
            list: false,
            payload_length: raw.len(),
        }
        .encode(&mut out);
        out.extend_from_slice(&raw);
        Bytes::from(out)
    };
    TxFixture { item, raw, hash }
}

/// An EIP-1559 swap on mainnet: 228 bytes of calldata, a value, no access list.
pub(super) fn eip1559() -> TxFixture {
    let tx = TxEip1559 {
        chain_id: 1,
        nonce: 1_234,
        gas_limit: 210_000,
        max_fee_per_gas: 32_000_000_000,
        max_priority_fee_per_gas: 1_500_000_000,
        to: TxKind::Call(router()),
        value: U256::from(250_000_000_000_000_000u64),
        access_list: Default::default(),
        input: calldata(),
    };
    let signature = sign(tx.signature_hash(), &key());
    fixture(TxEnvelope::Eip1559(tx.into_signed(signature)))
}

/// The same call as an EIP-155 legacy transaction.
pub(super) fn legacy() -> TxFixture {
    let tx = TxLegacy {
        chain_id: Some(1),
        nonce: 1_234,
        gas_price: 32_000_000_000,
        gas_limit: 210_000,
        to: TxKind::Call(router()),
        value: U256::from(250_000_000_000_000_000u64),
        input: calldata(),
    };
    let signature = sign(tx.signature_hash(), &key());
    fixture(TxEnvelope::Legacy(tx.into_signed(signature)))
}

/// Reads every RLP header in `buf`, descending into lists and skipping string
/// payloads; returns the number of items. The least any decoder of the
/// fields does besides copying them out.
fn walk(mut buf: &[u8]) -> Result<usize, alloy_rlp::Error> {
    let mut items = 0;
    while !buf.is_empty() {
        let header = Header::decode(&mut buf)?;
        let payload = buf
            .get(..header.payload_length)
            .ok_or(alloy_rlp::Error::InputTooShort)?;
        if header.list {
            items += walk(payload)?;
        }
        items += 1;
        buf = &buf[header.payload_length..];
    }
    Ok(items)
}

/// [`walk`] over a network item: a typed transaction's string header, its
/// type byte, then its field list.
pub(super) fn walk_item(item: &[u8]) -> Result<usize, alloy_rlp::Error> {
    let mut buf = item;
    let header = Header::decode(&mut buf)?;
    if header.list {
        return walk(item);
    }
    let envelope = buf.get(1..).ok_or(alloy_rlp::Error::InputTooShort)?;
    Ok(1 + walk(envelope)?)
}

/// Checks that both fixtures decode to the hash they were built with and
/// that the walk reads every field.
pub(super) fn check() -> Result<(), String> {
    for (name, f, fields) in [("eip1559", eip1559(), 12), ("legacy", legacy(), 9)] {
        let tx = decode_pooled(f.item.clone(), &DecodeLimits::default())
            .map_err(|e| format!("{name} fixture: {e}"))?;
        if tx.hash() != f.hash || tx.hash() != keccak256(&f.raw) {
            return Err(format!("{name} fixture: hash mismatch"));
        }
        // Items: the fields, the field list, and (typed) the envelope string.
        let walked = walk_item(&f.item).map_err(|e| format!("{name} walk: {e}"))?;
        let expected = fields + 1 + usize::from(name != "legacy");
        if walked != expected {
            return Err(format!("{name} walk: {walked} items, expected {expected}"));
        }
    }
    Ok(())
}

/// The two primitives and the decode figure of one fixture: (name, unit, runner).
pub(super) fn decode_measurements(
    cfg: &Config,
    f: &TxFixture,
    names: (&'static str, &'static str, &'static str),
) -> Vec<(&'static str, &'static str, Runner)> {
    let (keccak_name, walk_name, decode_name) = names;
    let raw = f.raw.clone();
    let keccak = timed_runner(
        cfg,
        move || {
            black_box(keccak256(black_box(&raw[..])));
        },
        |s| s * 1e9,
    );
    let item = f.item.clone();
    let walker = timed_runner(
        cfg,
        move || {
            black_box(walk_item(black_box(&item[..])).ok());
        },
        |s| s * 1e9,
    );
    let item = f.item.clone();
    let limits = DecodeLimits::default();
    let decode = timed_runner(
        cfg,
        move || {
            let tx = decode_pooled(black_box(item.clone()), &limits);
            black_box(tx.map(|t| t.hash()).ok());
        },
        |s| 1.0 / s,
    );
    vec![
        (keccak_name, "ns/op", keccak),
        (walk_name, "ns/op", walker),
        (decode_name, "decodes/s", decode),
    ]
}

/// The two announcement rows, from the same calls.
pub(super) struct Announcements {
    /// Each run calls `measure_announcements` once: announced hashes/s.
    pub rate: Runner,
    /// The fetcher bytes per tracked hash of the rate runner's last call
    /// (run it right after that runner).
    pub bytes: Runner,
    /// Seen-cache bytes per tracked hash of the warm-up call.
    pub seen_bytes_per_hash: f64,
}

/// Sets up the announcement rows: one warm-up call, checked to track every hash.
pub(super) fn announcements() -> Result<Announcements, String> {
    let first = measure_announcements(ANNOUNCE_PEERS, ANNOUNCE_HASHES, false);
    if first.tracked != ANNOUNCE_PEERS * ANNOUNCE_HASHES {
        return Err(format!(
            "{ANNOUNCE}: {} hashes tracked, expected {}",
            first.tracked,
            ANNOUNCE_PEERS * ANNOUNCE_HASHES
        ));
    }
    let last_bytes = Rc::new(Cell::new(first.fetcher_bytes_per_hash));
    let shared = Rc::clone(&last_bytes);
    let rate: Runner = Box::new(move || {
        let m = measure_announcements(ANNOUNCE_PEERS, ANNOUNCE_HASHES, false);
        shared.set(m.fetcher_bytes_per_hash);
        Ok(m.announced_hashes_per_sec)
    });
    let bytes: Runner = Box::new(move || Ok(last_bytes.get()));
    Ok(Announcements {
        rate,
        bytes,
        seen_bytes_per_hash: first.seen_bytes_per_hash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures_decode_to_their_hashes_and_walk_every_field() {
        check().unwrap();
        let f = eip1559();
        assert_eq!(
            f.item[0], 0xb9,
            "a typed item is an RLP string of 256 bytes or more"
        );
        assert_eq!(f.raw[0], 2);
        assert!(f.raw.len() > 300 && f.raw.len() < 400, "{}", f.raw.len());
        assert_eq!(legacy().item[0], 0xf9, "a legacy item is an RLP list");
    }

    #[test]
    fn walk_rejects_truncated_input() {
        let f = eip1559();
        assert!(walk_item(&f.item[..f.item.len() - 1]).is_err());
        assert!(walk_item(&[]).is_err());
    }

    #[test]
    fn decode_runners_report_positive_figures() {
        let cfg = Config {
            runs: 1,
            seconds: 0.005,
            quick: true,
        };
        let runs =
            decode_measurements(&cfg, &legacy(), (KECCAK_LEGACY, WALK_LEGACY, DECODE_LEGACY));
        assert_eq!(runs.len(), 3);
        for (name, _, mut runner) in runs {
            let v = runner().unwrap();
            assert!(v.is_finite() && v > 0.0, "{name}: {v}");
        }
    }
}
