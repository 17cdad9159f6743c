//! eth message encoding and decoding around snappy, beside a raw `snap`
//! round-trip of the same bytes.
//!
//! The path measured is the one a session takes for a 1 MiB `BlockBodies`:
//! `EthMessage::encode` into a reused buffer, snappy compression into a reused
//! scratch buffer (as `ethp2p-wire` does), decompression into a fresh zeroed
//! `BytesMut` (as `ethp2p-wire` does), and `EthMessage::decode_bytes`, which
//! validates the list and keeps it without copying.

use super::stats::{timed_runner, Config, Runner};
use alloy_rlp::{BufMut, Header};
use bytes::{Bytes, BytesMut};
use ethp2p_eth::{
    message::{EthMessage, EthMessageId, RawList, RequestPair},
    version::EthVersion,
};
use std::hint::black_box;

/// The raw snappy round-trip (compress + decompress) of the encoded message.
pub(super) const SNAP_ROUNDTRIP: &str = "primitive.snap_roundtrip.1MiB";
/// Raw snappy compression of the encoded message.
pub(super) const SNAP_COMPRESS: &str = "primitive.snap_compress.1MiB";
/// Raw snappy decompression of the compressed message.
pub(super) const SNAP_DECOMPRESS: &str = "primitive.snap_decompress.1MiB";
/// Raw snappy of the first 1 KiB and 64 KiB of the encoded message (what the
/// `frame.p2p.*.snappy_on` rows send): round-trip, and at 1 KiB each half.
pub(super) const SNAP_ROUNDTRIP_1K: &str = "primitive.snap_roundtrip.1KiB";
/// Compression of the first 1 KiB.
pub(super) const SNAP_COMPRESS_1K: &str = "primitive.snap_compress.1KiB";
/// Decompression of the first 1 KiB's compressed form.
pub(super) const SNAP_DECOMPRESS_1K: &str = "primitive.snap_decompress.1KiB";
/// Round-trip of the first 64 KiB.
pub(super) const SNAP_ROUNDTRIP_64K: &str = "primitive.snap_roundtrip.64KiB";
/// One 1 MiB `copy_from_slice` between two buffers.
pub(super) const MEMCPY: &str = "primitive.memcpy.1MiB";

/// A deterministic pseudo-random stream (xorshift), so the data is the same every run.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub(super) fn fill(&mut self, out: &mut Vec<u8>, n: usize) {
        for _ in 0..n {
            out.push(self.next() as u8);
        }
    }
}

fn rlp_string(out: &mut Vec<u8>, bytes: &[u8]) {
    alloy_rlp::Encodable::encode(&bytes, out);
}

fn rlp_list(out: &mut Vec<u8>, payload: &[u8]) {
    Header {
        list: true,
        payload_length: payload.len(),
    }
    .encode(out);
    out.put_slice(payload);
}

/// An EIP-1559 transaction envelope of realistic shape: small integers,
/// an address from a small pool (popular contracts), calldata of 32-byte
/// words, half of them mostly zero (amounts, padded addresses), and a random
/// signature. Returns the RLP string wrapping `0x02 || rlp(fields)`.
fn transaction(rng: &mut Rng, out: &mut Vec<u8>) {
    let mut fields = Vec::with_capacity(400);
    let ints = [
        1u64,
        rng.next() % 100_000,
        1_000_000_000 + rng.next() % 3_000_000_000,
        20_000_000_000 + rng.next() % 30_000_000_000,
        21_000 + rng.next() % 300_000,
    ];
    for v in ints {
        alloy_rlp::Encodable::encode(&v, &mut fields);
    }
    let to = (rng.next() % 16) as u8;
    rlp_string(&mut fields, &[to; 20]);
    alloy_rlp::Encodable::encode(&(rng.next() % 1_000_000_000_000_000), &mut fields);
    let mut data = Vec::new();
    data.extend_from_slice(&(rng.next() as u32 % 64).to_be_bytes());
    for w in 0..(rng.next() % 8) {
        if w % 2 == 0 {
            data.extend_from_slice(&[0u8; 24]);
            rng.fill(&mut data, 8);
        } else {
            data.extend_from_slice(&[0u8; 12]);
            rng.fill(&mut data, 20);
        }
    }
    rlp_string(&mut fields, &data);
    rlp_list(&mut fields, &[]); // access list
    alloy_rlp::Encodable::encode(&(rng.next() % 2), &mut fields);
    let mut sig = Vec::new();
    rng.fill(&mut sig, 32);
    rlp_string(&mut fields, &sig);
    sig.clear();
    rng.fill(&mut sig, 32);
    rlp_string(&mut fields, &sig);
    let mut envelope = vec![0x02];
    rlp_list(&mut envelope, &fields);
    rlp_string(out, &envelope);
}

/// One block body `[transactions, uncles, withdrawals]` with `txs` transactions
/// and 16 withdrawals.
fn body(rng: &mut Rng, txs: usize) -> Vec<u8> {
    let mut list = Vec::new();
    for _ in 0..txs {
        transaction(rng, &mut list);
    }
    let mut withdrawals = Vec::new();
    for i in 0..16u64 {
        let mut w = Vec::new();
        alloy_rlp::Encodable::encode(&(rng.next() % 100_000_000), &mut w);
        alloy_rlp::Encodable::encode(&(1_000_000 + i), &mut w);
        let mut addr = Vec::new();
        rng.fill(&mut addr, 20);
        rlp_string(&mut w, &addr);
        alloy_rlp::Encodable::encode(&(rng.next() % 20_000_000), &mut w);
        rlp_list(&mut withdrawals, &w);
    }
    let mut payload = Vec::new();
    rlp_list(&mut payload, &list);
    rlp_list(&mut payload, &[]);
    rlp_list(&mut payload, &withdrawals);
    let mut out = Vec::new();
    rlp_list(&mut out, &payload);
    out
}

/// A `BlockBodies` response of about `size` bytes: bodies of 150 transactions each.
pub(super) fn block_bodies(size: usize) -> EthMessage {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut bodies = Vec::new();
    let mut total = 0;
    while total < size {
        let b = body(&mut rng, 150);
        total += b.len();
        bodies.push(b);
    }
    let list = RawList::from_encoded_items(&bodies).expect("well-formed bodies");
    EthMessage::BlockBodies(RequestPair {
        request_id: 0x1234_5678,
        message: list,
    })
}

/// The shared fixture: the message, its encoding and its snappy form.
pub(super) struct Fixture {
    pub message: EthMessage,
    pub encoded: Vec<u8>,
    pub compressed: Vec<u8>,
}

impl Fixture {
    pub(super) fn new(size: usize) -> Self {
        let message = block_bodies(size);
        let mut encoded = Vec::new();
        message.encode(&mut encoded);
        let compressed = snap::raw::Encoder::new()
            .compress_vec(&encoded)
            .expect("compressible");
        Fixture {
            message,
            encoded,
            compressed,
        }
    }

    /// Compressed size over encoded size.
    pub(super) fn compression_ratio(&self) -> f64 {
        self.compressed.len() as f64 / self.encoded.len() as f64
    }
}

const ID: u8 = EthMessageId::BlockBodies as u8;
const VERSION: EthVersion = EthVersion::Eth69;

fn compress_into(enc: &mut snap::raw::Encoder, data: &[u8], scratch: &mut Vec<u8>) -> usize {
    let max = snap::raw::max_compress_len(data.len());
    if scratch.len() < max {
        scratch.resize(max, 0);
    }
    enc.compress(data, &mut scratch[..max]).expect("compress")
}

/// The wire layer's decompression: a fresh zeroed buffer of the declared size.
fn decompress_fresh(dec: &mut snap::raw::Decoder, data: &[u8]) -> BytesMut {
    let len = snap::raw::decompress_len(data).expect("snappy length");
    let mut out = BytesMut::zeroed(len);
    let n = dec.decompress(data, &mut out).expect("decompress");
    out.truncate(n);
    out
}

fn decode(plain: BytesMut) -> EthMessage {
    EthMessage::decode_bytes(VERSION, ID, plain.freeze()).expect("decodes")
}

/// The snappy round-trip, compression and decompression names measured at
/// the payload size closest to `len` (1 KiB, 64 KiB or 1 MiB); 64 KiB has its
/// round-trip only.
pub(super) fn snap_names(len: usize) -> (&'static str, Option<(&'static str, &'static str)>) {
    if len <= 32 * 1024 {
        (
            SNAP_ROUNDTRIP_1K,
            Some((SNAP_COMPRESS_1K, SNAP_DECOMPRESS_1K)),
        )
    } else if len <= 512 * 1024 {
        (SNAP_ROUNDTRIP_64K, None)
    } else {
        (SNAP_ROUNDTRIP, Some((SNAP_COMPRESS, SNAP_DECOMPRESS)))
    }
}

/// Raw snappy on the first 1 KiB and 64 KiB of the fixture's bytes, reused
/// buffers: (name, runner). The P2P message rows count these in their limit.
pub(super) fn small_primitives(cfg: &Config, f: &Fixture) -> Vec<(&'static str, Runner)> {
    let mut out: Vec<(&'static str, Runner)> = Vec::new();
    for (name, len, part) in [
        (SNAP_ROUNDTRIP_1K, 1024, Part::RoundTrip),
        (SNAP_COMPRESS_1K, 1024, Part::Encode),
        (SNAP_DECOMPRESS_1K, 1024, Part::Decode),
        (SNAP_ROUNDTRIP_64K, 64 * 1024, Part::RoundTrip),
    ] {
        let data = f.encoded[..len].to_vec();
        let comp = snap::raw::Encoder::new()
            .compress_vec(&data)
            .expect("compressible");
        let (mut enc, mut dec) = (snap::raw::Encoder::new(), snap::raw::Decoder::new());
        let (mut scratch, mut plain) = (Vec::new(), vec![0u8; len]);
        let mb = move |s: f64| len as f64 / s / 1e6;
        out.push((
            name,
            timed_runner(
                cfg,
                move || match part {
                    Part::RoundTrip => {
                        let n = compress_into(&mut enc, &data, &mut scratch);
                        let m = dec
                            .decompress(&scratch[..n], &mut plain)
                            .expect("decompress");
                        black_box(&plain[..m]);
                    }
                    Part::Encode => {
                        let n = compress_into(&mut enc, &data, &mut scratch);
                        black_box(&scratch[..n]);
                    }
                    Part::Decode => {
                        let m = dec.decompress(&comp, &mut plain).expect("decompress");
                        black_box(&plain[..m]);
                    }
                },
                mb,
            ),
        ));
    }
    out
}

/// The raw snappy primitives on the fixture's bytes: (name, runner).
pub(super) fn primitives(cfg: &Config, f: &Fixture) -> Vec<(&'static str, Runner)> {
    let len = f.encoded.len();
    let mb = move |s: f64| len as f64 / s / 1e6;
    let mut out: Vec<(&'static str, Runner)> = Vec::new();

    let (data, comp) = (f.encoded.clone(), f.compressed.clone());
    let (mut enc, mut dec) = (snap::raw::Encoder::new(), snap::raw::Decoder::new());
    let (mut scratch, mut plain) = (Vec::new(), vec![0u8; len]);
    out.push((
        SNAP_ROUNDTRIP,
        timed_runner(
            cfg,
            move || {
                let n = compress_into(&mut enc, &data, &mut scratch);
                let m = dec
                    .decompress(&scratch[..n], &mut plain)
                    .expect("decompress");
                black_box(&plain[..m]);
            },
            mb,
        ),
    ));

    let data = f.encoded.clone();
    let mut enc = snap::raw::Encoder::new();
    let mut scratch = Vec::new();
    out.push((
        SNAP_COMPRESS,
        timed_runner(
            cfg,
            move || {
                let n = compress_into(&mut enc, &data, &mut scratch);
                black_box(&scratch[..n]);
            },
            mb,
        ),
    ));

    let mut dec = snap::raw::Decoder::new();
    let mut plain = vec![0u8; len];
    out.push((
        SNAP_DECOMPRESS,
        timed_runner(
            cfg,
            move || {
                let m = dec.decompress(&comp, &mut plain).expect("decompress");
                black_box(&plain[..m]);
            },
            mb,
        ),
    ));

    let src = f.encoded.clone();
    let mut dst = vec![0u8; len];
    out.push((
        MEMCPY,
        timed_runner(
            cfg,
            move || {
                dst.copy_from_slice(black_box(&src));
                black_box(&dst);
            },
            mb,
        ),
    ));
    out
}

/// Which part of the path a runner times.
#[derive(Debug, Clone, Copy)]
pub(super) enum Part {
    /// encode + compress + decompress + decode.
    RoundTrip,
    /// encode + compress.
    Encode,
    /// decompress + decode.
    Decode,
}

/// The eth path on the fixture, MB/s of encoded message bytes.
pub(super) fn path(cfg: &Config, f: &Fixture, part: Part) -> Runner {
    let len = f.encoded.len();
    let message = f.message.clone();
    let compressed = f.compressed.clone();
    let (mut enc, mut dec) = (snap::raw::Encoder::new(), snap::raw::Decoder::new());
    let mut buf: Vec<u8> = Vec::with_capacity(len);
    let mut scratch = Vec::new();
    let op = move || match part {
        Part::RoundTrip => {
            buf.clear();
            message.encode(&mut buf);
            let n = compress_into(&mut enc, &buf, &mut scratch);
            black_box(decode(decompress_fresh(&mut dec, &scratch[..n])));
        }
        Part::Encode => {
            buf.clear();
            message.encode(&mut buf);
            let n = compress_into(&mut enc, &buf, &mut scratch);
            black_box(&scratch[..n]);
        }
        Part::Decode => {
            black_box(decode(decompress_fresh(&mut dec, &compressed)));
        }
    };
    timed_runner(cfg, op, move |s| len as f64 / s / 1e6)
}

/// Checks the fixture survives the path unchanged.
pub(super) fn check(f: &Fixture) -> Result<(), String> {
    let mut dec = snap::raw::Decoder::new();
    let decoded = decode(decompress_fresh(&mut dec, &f.compressed));
    if decoded != f.message {
        return Err("BlockBodies did not round-trip".into());
    }
    let _ = Bytes::new();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_is_about_one_mebibyte_and_round_trips() {
        let f = Fixture::new(1 << 20);
        assert!(f.encoded.len() >= 1 << 20 && f.encoded.len() < (1 << 20) + 100_000);
        assert!(f.compression_ratio() < 0.95);
        check(&f).unwrap();
    }
}
