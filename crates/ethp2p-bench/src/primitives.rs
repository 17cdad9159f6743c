//! The cryptographic primitives RLPx is built from, each on one core.
//!
//! These are the denominators of every limit: the handshake and frame figures
//! are compared with what these costs, measured in the same process a moment
//! earlier, allow.

use super::{
    stats::{timed_runner, Config},
    Measurement,
};
use aes::{
    cipher::{BlockEncrypt, KeyInit, KeyIvInit, StreamCipher},
    Aes256,
};
use alloy_primitives::Keccak256;
use ethp2p_rlpx::generate_secret_key;
use hmac::{Hmac, Mac};
use secp256k1::{
    ecdh::shared_secret_point, ecdsa::RecoverableSignature, All, Message, PublicKey, Secp256k1,
};
use sha2::Sha256;
use std::{collections::HashMap, hint::black_box};

type Aes256Ctr = ctr::Ctr128BE<Aes256>;

/// Names of the primitive measurements.
pub(super) const ECDH: &str = "primitive.ecdh";
pub(super) const SIGN: &str = "primitive.sign_recoverable";
pub(super) const RECOVER: &str = "primitive.recover";
pub(super) const KEYGEN: &str = "primitive.keygen";
pub(super) const HMAC_400: &str = "primitive.hmac_sha256.400B";
pub(super) const AES_CTR_1K: &str = "primitive.aes256_ctr.1KiB";
pub(super) const AES_CTR_1M: &str = "primitive.aes256_ctr.1MiB";
pub(super) const AES_CTR_16: &str = "primitive.aes256_ctr.16B_call";
pub(super) const AES_BLOCK: &str = "primitive.aes256_block";
pub(super) const KECCAK_1K: &str = "primitive.keccak256_absorb.1KiB";
pub(super) const KECCAK_1M: &str = "primitive.keccak256_absorb.1MiB";
pub(super) const KECCAK_DIGEST: &str = "primitive.keccak256_digest";

/// What the handshake limits are computed from.
pub(super) const ASYMMETRIC: [&str; 5] = [ECDH, SIGN, RECOVER, KEYGEN, HMAC_400];
/// What the frame limits are computed from.
pub(super) const SYMMETRIC: [&str; 7] = [
    AES_CTR_1K,
    AES_CTR_1M,
    AES_CTR_16,
    AES_BLOCK,
    KECCAK_1K,
    KECCAK_1M,
    KECCAK_DIGEST,
];

const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;

thread_local! {
    /// A signing context randomized once per thread, as `ethp2p_rlpx::key`
    /// keeps one, so that no call pays for re-randomization.
    static CONTEXT: Secp256k1<All> = {
        let mut ctx = Secp256k1::new();
        ctx.seeded_randomize(&generate_secret_key().secret_bytes());
        ctx
    };
}

fn with_context<R>(f: impl FnOnce(&Secp256k1<All>) -> R) -> R {
    CONTEXT.with(f)
}

/// Results of the primitives in SI units: seconds per operation for the
/// per-op figures, bytes per second for the throughputs.
#[derive(Debug, Default, Clone)]
pub(super) struct Costs {
    values: HashMap<&'static str, f64>,
}

impl Costs {
    /// Records a primitive's figure, given in its printed unit.
    pub(super) fn insert(&mut self, name: &'static str, unit: &str, figure: f64) {
        let si = match unit {
            "us/op" => figure * 1e-6,
            "ns/op" => figure * 1e-9,
            "MB/s" => figure * 1e6,
            other => unreachable!("primitive unit {other}"),
        };
        self.values.insert(name, si);
    }

    /// Seconds per operation of a per-op primitive, or bytes per second of a
    /// throughput. Panics if it was not measured (a bug in the selection).
    pub(super) fn get(&self, name: &str) -> f64 {
        *self
            .values
            .get(name)
            .unwrap_or_else(|| panic!("{name} was not measured in this run"))
    }

    /// AES-256-CTR bytes per second at the measured buffer size closest to `len`.
    pub(super) fn aes_ctr_rate(&self, len: usize) -> f64 {
        self.get(if len < 32 * KIB {
            AES_CTR_1K
        } else {
            AES_CTR_1M
        })
    }

    /// Keccak-256 absorb bytes per second at the measured size closest to `len`.
    pub(super) fn keccak_rate(&self, len: usize) -> f64 {
        self.get(if len < 32 * KIB { KECCAK_1K } else { KECCAK_1M })
    }
}

/// A small pool of independent inputs, so no measurement repeats one value.
fn pool<T>(quick: bool, make: impl FnMut(usize) -> T) -> Vec<T> {
    (0..if quick { 8 } else { 64 }).map(make).collect()
}

fn digest_of(i: usize) -> [u8; 32] {
    let mut h = Keccak256::new();
    h.update((i as u64).to_be_bytes());
    h.finalize().0
}

/// Collects the selected primitive measurements.
struct Setup<'a> {
    cfg: &'a Config,
    wanted: &'a dyn Fn(&str) -> bool,
    out: Vec<Measurement>,
}

impl Setup<'_> {
    /// A per-operation cost, printed in `unit` (`scale` converts from seconds).
    fn per_op(
        &mut self,
        name: &'static str,
        unit: &'static str,
        scale: f64,
        op: impl FnMut() + 'static,
    ) {
        if (self.wanted)(name) {
            let runner = timed_runner(self.cfg, op, move |s| s * scale);
            self.out.push(Measurement::new(name, unit, runner));
        }
    }

    /// A throughput over a buffer of `len` bytes, printed in MB/s.
    fn throughput(
        &mut self,
        name: &'static str,
        len: usize,
        mut op: impl FnMut(&mut [u8]) + 'static,
    ) {
        if (self.wanted)(name) {
            let mut buf = vec![0xa5u8; len];
            let runner = timed_runner(
                self.cfg,
                move || op(black_box(&mut buf)),
                move |s| len as f64 / s / 1e6,
            );
            self.out
                .push(Measurement::new(name, "MB/s", runner).param("buffer_bytes", len));
        }
    }
}

/// Sets up (and warms up) every primitive measurement `wanted` accepts.
pub(super) fn setup(cfg: &Config, wanted: &dyn Fn(&str) -> bool) -> Vec<Measurement> {
    let mut r = Setup {
        cfg,
        wanted,
        out: Vec::new(),
    };

    let secrets = pool(cfg.quick, |_| generate_secret_key());
    let publics: Vec<PublicKey> = secrets
        .iter()
        .map(|s| with_context(|ctx| PublicKey::from_secret_key(ctx, s)))
        .collect();
    let messages = pool(cfg.quick, |i| Message::from_digest(digest_of(i)));
    let signatures: Vec<RecoverableSignature> = messages
        .iter()
        .zip(&secrets)
        .map(|(m, s)| with_context(|ctx| ctx.sign_ecdsa_recoverable(*m, s)))
        .collect();
    let n = secrets.len();

    // ECDH exactly as RLPx uses it: the unhashed x coordinate of the shared point.
    let (p, s) = (publics.clone(), secrets.clone());
    let mut i = 0;
    r.per_op(ECDH, "us/op", 1e6, move || {
        let point = shared_secret_point(&p[i % n], &s[(i + 1) % n]);
        let mut x = [0u8; 32];
        x.copy_from_slice(&point[..32]);
        black_box(x);
        i += 1;
    });

    let (m, s) = (messages.clone(), secrets.clone());
    let mut i = 0;
    r.per_op(SIGN, "us/op", 1e6, move || {
        let sig = with_context(|ctx| ctx.sign_ecdsa_recoverable(m[i % n], &s[i % n]));
        black_box(sig.serialize_compact());
        i += 1;
    });

    let m = messages.clone();
    let mut i = 0;
    r.per_op(RECOVER, "us/op", 1e6, move || {
        let key = with_context(|ctx| ctx.recover_ecdsa(m[i % n], &signatures[i % n]));
        black_box(key.ok());
        i += 1;
    });

    // Key generation as the handshake does it: the public key of a secret key.
    let s = secrets.clone();
    let mut i = 0;
    r.per_op(KEYGEN, "us/op", 1e6, move || {
        let key = with_context(|ctx| PublicKey::from_secret_key(ctx, &s[i % n]));
        black_box(key.serialize_uncompressed());
        i += 1;
    });

    // ECIES tags each message with an HMAC-SHA256 under a fresh key.
    let hmac_key = digest_of(1);
    let data = vec![0x5au8; 400];
    r.per_op(HMAC_400, "ns/op", 1e9, move || {
        let mut m =
            <Hmac<Sha256> as Mac>::new_from_slice(black_box(&hmac_key)).expect("any key length");
        m.update(black_box(&data));
        black_box(m.finalize().into_bytes());
    });

    // AES-256-CTR keystream over buffers of frame-body sizes.
    let key = digest_of(2);
    let new_ctr = move || Aes256Ctr::new(&key.into(), &[0u8; 16].into());
    let mut ctr = new_ctr();
    r.throughput(AES_CTR_1K, KIB, move |b| ctr.apply_keystream(b));
    let mut ctr = new_ctr();
    r.throughput(AES_CTR_1M, MIB, move |b| ctr.apply_keystream(b));

    // Keccak-256 absorb into one running state, as the frame MACs do.
    let mut state = Keccak256::new();
    r.throughput(KECCAK_1K, KIB, move |b| state.update(&*b));
    let mut state = Keccak256::new();
    r.throughput(KECCAK_1M, MIB, move |b| state.update(&*b));

    // The small per-frame operations: the 16-byte header keystream call, the
    // AES block that seals each MAC, and the digest peek (clone + finalize).
    let mut ctr = new_ctr();
    let mut header = [0u8; 16];
    r.per_op(AES_CTR_16, "ns/op", 1e9, move || {
        ctr.apply_keystream(black_box(&mut header));
    });
    let cipher = Aes256::new(&key.into());
    let mut block = [0u8; 16].into();
    r.per_op(AES_BLOCK, "ns/op", 1e9, move || {
        cipher.encrypt_block(black_box(&mut block));
    });
    let mut running = Keccak256::new();
    running.update([7u8; 200]);
    r.per_op(KECCAK_DIGEST, "ns/op", 1e9, move || {
        black_box(black_box(&running).clone().finalize());
    });

    r.out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_primitive_runs_and_converts_to_si() {
        let cfg = Config {
            runs: 1,
            seconds: 0.005,
            quick: true,
        };
        let mut measurements = setup(&cfg, &|_| true);
        assert_eq!(measurements.len(), ASYMMETRIC.len() + SYMMETRIC.len());
        let mut costs = Costs::default();
        for m in &mut measurements {
            let figure = (m.runner)().unwrap();
            assert!(figure.is_finite() && figure > 0.0, "{}: {figure}", m.name);
            costs.insert(m.name, m.unit, figure);
        }
        // An ECDH takes microseconds, not seconds; Keccak absorbs > 1 MB/s.
        assert!(costs.get(ECDH) > 1e-7 && costs.get(ECDH) < 1e-2);
        assert!(costs.keccak_rate(1024) > 1e6);
        assert_eq!(costs.aes_ctr_rate(1 << 20), costs.get(AES_CTR_1M));
    }
}
