//! The cryptographic primitives RLPx is built from, each on one core.
//!
//! These are the denominators of every limit: the handshake and frame figures
//! are compared with what these costs, measured in the same process a moment
//! earlier, allow.

use super::stats::{megabytes_per_second, seconds_per_op, Config, Record};
use aes::{
    cipher::{BlockEncrypt, KeyInit, KeyIvInit, StreamCipher},
    Aes256,
};
use alloy_primitives::Keccak256;
use ethp2p_rlpx::generate_secret_key;
use hmac::{Hmac, Mac};
use secp256k1::{
    ecdh::shared_secret_point, ecdsa::RecoverableSignature, All, Message, PublicKey, Secp256k1,
    SecretKey,
};
use sha2::Sha256;
use std::{collections::HashMap, hint::black_box};

type Aes256Ctr = ctr::Ctr128BE<Aes256>;

/// Names of the primitive measurements.
pub const ECDH: &str = "primitive.ecdh";
pub const SIGN: &str = "primitive.sign_recoverable";
pub const RECOVER: &str = "primitive.recover";
pub const KEYGEN: &str = "primitive.keygen";
pub const HMAC_400: &str = "primitive.hmac_sha256.400B";
pub const AES_CTR_1K: &str = "primitive.aes256_ctr.1KiB";
pub const AES_CTR_1M: &str = "primitive.aes256_ctr.1MiB";
pub const AES_CTR_16: &str = "primitive.aes256_ctr.16B_call";
pub const AES_BLOCK: &str = "primitive.aes256_block";
pub const KECCAK_1K: &str = "primitive.keccak256_absorb.1KiB";
pub const KECCAK_1M: &str = "primitive.keccak256_absorb.1MiB";
pub const KECCAK_DIGEST: &str = "primitive.keccak256_digest";

/// What the handshake limits are computed from.
pub const ASYMMETRIC: [&str; 5] = [ECDH, SIGN, RECOVER, KEYGEN, HMAC_400];
/// What the frame limits are computed from.
pub const SYMMETRIC: [&str; 7] = [
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

/// Median results of the primitives measured so far: seconds per operation
/// for the per-op figures, bytes per second for the throughputs.
#[derive(Debug, Default)]
pub struct Costs {
    values: HashMap<&'static str, f64>,
}

impl Costs {
    /// Seconds per operation of a per-op primitive, or bytes per second of a
    /// throughput. Panics if it was not measured (a bug in the selection).
    pub fn get(&self, name: &str) -> f64 {
        *self
            .values
            .get(name)
            .unwrap_or_else(|| panic!("{name} was not measured in this run"))
    }

    /// AES-256-CTR bytes per second at the measured buffer size closest to `len`.
    pub fn aes_ctr_rate(&self, len: usize) -> f64 {
        self.get(if len < 32 * KIB { AES_CTR_1K } else { AES_CTR_1M })
    }

    /// Keccak-256 absorb bytes per second at the measured size closest to `len`.
    pub fn keccak_rate(&self, len: usize) -> f64 {
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

/// Runs the selected measurements and collects their medians.
struct Runner<'a> {
    cfg: &'a Config,
    wanted: &'a dyn Fn(&str) -> bool,
    emit: &'a mut dyn FnMut(Record),
    costs: Costs,
}

impl Runner<'_> {
    /// A per-operation cost, printed in `unit` (`scale` converts from seconds).
    fn per_op(&mut self, name: &'static str, unit: &'static str, scale: f64, op: &mut dyn FnMut()) {
        if !(self.wanted)(name) {
            return;
        }
        let s = seconds_per_op(self.cfg, op);
        self.costs.values.insert(name, s.median);
        (self.emit)(Record::new(name, unit, s.map(|x| x * scale)).param("run_seconds", self.cfg.seconds));
    }

    /// A throughput over a buffer of `len` bytes, printed in MB/s.
    fn throughput(&mut self, name: &'static str, len: usize, op: &mut dyn FnMut(&mut [u8])) {
        if !(self.wanted)(name) {
            return;
        }
        let mut buf = vec![0xa5u8; len];
        let s = megabytes_per_second(self.cfg, len, || op(black_box(&mut buf)));
        self.costs.values.insert(name, s.median * 1e6);
        (self.emit)(
            Record::new(name, "MB/s", s)
                .param("buffer_bytes", len)
                .param("run_seconds", self.cfg.seconds),
        );
    }
}

/// Measures every primitive `wanted` accepts, printing each record through
/// `emit` as soon as it is known.
pub fn measure(cfg: &Config, wanted: &dyn Fn(&str) -> bool, emit: &mut dyn FnMut(Record)) -> Costs {
    let mut r = Runner {
        cfg,
        wanted,
        emit,
        costs: Costs::default(),
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
    let mut i = 0;
    r.per_op(ECDH, "us/op", 1e6, &mut || {
        let point = shared_secret_point(&publics[i % n], &secrets[(i + 1) % n]);
        let mut x = [0u8; 32];
        x.copy_from_slice(&point[..32]);
        black_box(x);
        i += 1;
    });

    let mut i = 0;
    r.per_op(SIGN, "us/op", 1e6, &mut || {
        let sig = with_context(|ctx| ctx.sign_ecdsa_recoverable(messages[i % n], &secrets[i % n]));
        black_box(sig.serialize_compact());
        i += 1;
    });

    let mut i = 0;
    r.per_op(RECOVER, "us/op", 1e6, &mut || {
        let key = with_context(|ctx| ctx.recover_ecdsa(messages[i % n], &signatures[i % n]));
        black_box(key.ok());
        i += 1;
    });

    // Key generation as the handshake does it: the public key of a secret key.
    let mut i = 0;
    r.per_op(KEYGEN, "us/op", 1e6, &mut || {
        let key = with_context(|ctx| PublicKey::from_secret_key(ctx, &secrets[i % n]));
        black_box(key.serialize_uncompressed());
        i += 1;
    });

    // ECIES tags each message with an HMAC-SHA256 under a fresh key.
    let hmac_key = digest_of(1);
    let data = vec![0x5au8; 400];
    r.per_op(HMAC_400, "ns/op", 1e9, &mut || {
        let mut m =
            <Hmac<Sha256> as Mac>::new_from_slice(black_box(&hmac_key)).expect("any key length");
        m.update(black_box(&data));
        black_box(m.finalize().into_bytes());
    });

    // AES-256-CTR keystream over buffers of frame-body sizes.
    let key = digest_of(2);
    let mut ctr = Aes256Ctr::new(&key.into(), &[0u8; 16].into());
    r.throughput(AES_CTR_1K, KIB, &mut |b| ctr.apply_keystream(b));
    r.throughput(AES_CTR_1M, MIB, &mut |b| ctr.apply_keystream(b));

    // Keccak-256 absorb into one running state, as the frame MACs do.
    let mut state = Keccak256::new();
    r.throughput(KECCAK_1K, KIB, &mut |b| state.update(&*b));
    r.throughput(KECCAK_1M, MIB, &mut |b| state.update(&*b));
    black_box(state.finalize());

    // The small per-frame operations: the 16-byte header keystream call, the
    // AES block that seals each MAC, and the digest peek (clone + finalize).
    let mut header = [0u8; 16];
    r.per_op(AES_CTR_16, "ns/op", 1e9, &mut || {
        ctr.apply_keystream(black_box(&mut header));
    });
    let cipher = Aes256::new(&key.into());
    let mut block = [0u8; 16].into();
    r.per_op(AES_BLOCK, "ns/op", 1e9, &mut || {
        cipher.encrypt_block(black_box(&mut block));
    });
    let mut running = Keccak256::new();
    running.update([7u8; 200]);
    r.per_op(KECCAK_DIGEST, "ns/op", 1e9, &mut || {
        black_box(black_box(&running).clone().finalize());
    });

    r.costs
}
