//! ECIES as RLPx defines it: secp256k1 ECDH, NIST SP 800-56 concat-KDF with
//! SHA-256, AES-128-CTR and HMAC-SHA256 over `iv || ciphertext || shared-mac-data`.
//!
//! Wire format: `R (65-byte uncompressed ephemeral key) || iv (16) || ciphertext || tag (32)`.

use crate::{
    error::EciesError,
    key::{ecdh_x, with_context},
};
use aes::cipher::{KeyIvInit, StreamCipher};
use hmac::{Hmac, Mac};
use rand::RngCore;
use secp256k1::{PublicKey, SecretKey};
use sha2::{Digest, Sha256};

type Aes128Ctr = ctr::Ctr128BE<aes::Aes128>;

/// Bytes ECIES adds to a plaintext: ephemeral key, IV and tag.
pub const OVERHEAD: usize = 65 + 16 + 32;

/// One-block concat-KDF (NIST SP 800-56 §5.8.1) with SHA-256 and empty
/// other-info: `sha256(be32(1) || secret)`, enough for the 32 bytes ECIES needs.
pub fn kdf(secret: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(1u32.to_be_bytes());
    h.update(secret);
    h.finalize().into()
}

/// Concat-KDF producing `len` bytes (counter from 1), for callers needing more than 32.
pub fn kdf_len(secret: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    let mut counter = 1u32;
    while out.len() < len {
        let mut h = Sha256::new();
        h.update(counter.to_be_bytes());
        h.update(secret);
        out.extend_from_slice(&h.finalize());
        counter += 1;
    }
    out.truncate(len);
    out
}

/// Derives the AES-128 key and the HMAC key from the ECDH x coordinate.
fn derive_keys(shared_x: &[u8; 32]) -> ([u8; 16], [u8; 32]) {
    let k = kdf(shared_x);
    let mut enc = [0u8; 16];
    enc.copy_from_slice(&k[..16]);
    let mac: [u8; 32] = Sha256::digest(&k[16..]).into();
    (enc, mac)
}

fn tag(mac_key: &[u8; 32], iv: &[u8], ciphertext: &[u8], shared_mac_data: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(mac_key).unwrap_or_else(|_| unreachable!());
    m.update(iv);
    m.update(ciphertext);
    m.update(shared_mac_data);
    m
}

/// Encrypts `plaintext` to `remote`, appending the ECIES message to `out`.
pub fn encrypt(remote: &PublicKey, plaintext: &[u8], shared_mac_data: &[u8], out: &mut Vec<u8>) {
    let ephemeral = crate::key::generate_secret_key();
    let mut iv = [0u8; 16];
    rand::rng().fill_bytes(&mut iv);
    encrypt_with(remote, &ephemeral, iv, plaintext, shared_mac_data, out)
}

/// [`encrypt`] with a caller-chosen ephemeral key and IV (for tests and vectors).
pub fn encrypt_with(
    remote: &PublicKey,
    ephemeral: &SecretKey,
    iv: [u8; 16],
    plaintext: &[u8],
    shared_mac_data: &[u8],
    out: &mut Vec<u8>,
) {
    let (enc_key, mac_key) = derive_keys(&ecdh_x(remote, ephemeral));
    let eph_pub = with_context(|ctx| PublicKey::from_secret_key(ctx, ephemeral));
    out.reserve(OVERHEAD + plaintext.len());
    out.extend_from_slice(&eph_pub.serialize_uncompressed());
    out.extend_from_slice(&iv);
    let start = out.len();
    out.extend_from_slice(plaintext);
    Aes128Ctr::new(&enc_key.into(), &iv.into()).apply_keystream(&mut out[start..]);
    let t = tag(&mac_key, &iv, &out[start..], shared_mac_data)
        .finalize()
        .into_bytes();
    out.extend_from_slice(&t);
}

/// Decrypts an ECIES message in place and returns the plaintext slice of `data`.
pub fn decrypt<'a>(
    secret: &SecretKey,
    data: &'a mut [u8],
    shared_mac_data: &[u8],
) -> Result<&'a mut [u8], EciesError> {
    if data.len() < OVERHEAD {
        return Err(EciesError::TooShort(data.len()));
    }
    let (head, rest) = data.split_at_mut(65);
    if head[0] != 4 {
        return Err(EciesError::InvalidPublicKey);
    }
    let eph = PublicKey::from_slice(head).map_err(|_| EciesError::InvalidPublicKey)?;
    let (enc_key, mac_key) = derive_keys(&ecdh_x(&eph, secret));
    let (iv, rest) = rest.split_at_mut(16);
    let body_len = rest.len() - 32;
    let (ciphertext, their_tag) = rest.split_at_mut(body_len);
    tag(&mac_key, iv, ciphertext, shared_mac_data)
        .verify_slice(their_tag)
        .map_err(|_| EciesError::MacMismatch)?;
    let mut iv_arr = [0u8; 16];
    iv_arr.copy_from_slice(iv);
    Aes128Ctr::new(&enc_key.into(), &iv_arr.into()).apply_keystream(ciphertext);
    Ok(ciphertext)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{generate_secret_key, public_key};

    fn sk(h: &str) -> SecretKey {
        SecretKey::from_byte_array(hex::decode(h).unwrap().try_into().unwrap()).unwrap()
    }

    /// geth crypto/ecies TestKDF: concat-KDF(SHA-256) of "input".
    #[test]
    fn kdf_vectors() {
        let full = "858b192fa2ed4395e2bf88dd8d5770d67dc284ee539f12da8bceaa45d06ebae0";
        assert_eq!(hex::encode(kdf(b"input")), full);
        assert_eq!(hex::encode(kdf_len(b"input", 6)), "858b192fa2ed");
        assert_eq!(hex::encode(kdf_len(b"input", 32)), full);
        // The 48 and 64 byte outputs continue with the second block (counter 2).
        let second: [u8; 32] = {
            let mut h = Sha256::new();
            h.update(2u32.to_be_bytes());
            h.update(b"input");
            h.finalize().into()
        };
        assert_eq!(kdf_len(b"input", 64)[32..], second);
        assert_eq!(kdf_len(b"input", 48)[32..], second[..16]);
    }

    /// geth crypto/ecies TestSharedKeyStatic: the 32-byte ECDH agreement.
    #[test]
    fn shared_key_static_vector() {
        let prv1 = sk("7ebbc6a8358bc76dd73ebc557056702c8cfc34e5cfcd90eb83af0347575fd2ad");
        let prv2 = sk("6a3d6396903245bba5837752b9e0348874e72db0c4e11e9c485a81b4ea4353b9");
        let want = "167ccc13ac5e8a26b131c3446030c60fbfac6aa8e31149d0869f93626a4cdf62";
        assert_eq!(hex::encode(ecdh_x(&public_key(&prv2), &prv1)), want);
        assert_eq!(hex::encode(ecdh_x(&public_key(&prv1), &prv2)), want);
    }

    #[test]
    fn round_trip_and_wrong_key_fails() {
        let a = generate_secret_key();
        let b = generate_secret_key();
        let mut msg = Vec::new();
        encrypt(&public_key(&a), b"hello rlpx", b"\x01\x02", &mut msg);
        assert_eq!(msg.len(), OVERHEAD + 10);
        let mut copy = msg.clone();
        assert_eq!(decrypt(&a, &mut copy, b"\x01\x02").unwrap(), b"hello rlpx");
        let mut copy = msg.clone();
        assert_eq!(
            decrypt(&b, &mut copy, b"\x01\x02"),
            Err(EciesError::MacMismatch)
        );
        let mut copy = msg.clone();
        assert_eq!(
            decrypt(&a, &mut copy, b"\x01\x03"),
            Err(EciesError::MacMismatch)
        );
        for i in [0usize, 10, 70, 90, msg.len() - 1] {
            let mut t = msg.clone();
            t[i] ^= 1;
            assert!(decrypt(&a, &mut t, b"\x01\x02").is_err(), "flip at {i}");
        }
        let mut short = msg[..OVERHEAD - 1].to_vec();
        assert_eq!(
            decrypt(&a, &mut short, b""),
            Err(EciesError::TooShort(OVERHEAD - 1))
        );
    }
}
