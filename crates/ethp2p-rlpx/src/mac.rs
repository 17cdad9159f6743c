//! The RLPx frame MAC: a running Keccak-256 state per direction, "sealed" with
//! one AES-256 block encryption under the mac-secret for every header and body.

use aes::{
    cipher::{BlockEncrypt, KeyInit},
    Aes256,
};
use alloy_primitives::Keccak256;

/// The running hash behind a MAC. Abstracted so tests can plug in the fake
/// hash geth's published frame vector was computed with.
pub trait MacHash: Clone + Send {
    /// Absorbs bytes.
    fn absorb(&mut self, data: &[u8]);
    /// The first 16 bytes of the digest of everything absorbed so far,
    /// without disturbing the running state.
    fn peek16(&self) -> [u8; 16];
}

impl MacHash for Keccak256 {
    #[inline]
    fn absorb(&mut self, data: &[u8]) {
        self.update(data);
    }

    #[inline]
    fn peek16(&self) -> [u8; 16] {
        let digest = self.clone().finalize();
        let mut out = [0u8; 16];
        out.copy_from_slice(&digest[..16]);
        out
    }
}

/// One direction's MAC state.
#[derive(Clone)]
pub(crate) struct MacState<H: MacHash = Keccak256> {
    hash: H,
    cipher: Aes256,
}

impl<H: MacHash> MacState<H> {
    pub(crate) fn new(mac_secret: &[u8; 32], hash: H) -> Self {
        Self {
            hash,
            cipher: Aes256::new(mac_secret.into()),
        }
    }

    #[inline]
    fn aes_block(&self, block: [u8; 16]) -> [u8; 16] {
        let mut b = block.into();
        self.cipher.encrypt_block(&mut b);
        b.into()
    }

    /// Header MAC: `seed = aes(digest) ^ header_ciphertext; absorb(seed); digest`.
    #[inline]
    pub(crate) fn header_mac(&mut self, header_ciphertext: &[u8; 16]) -> [u8; 16] {
        let mut seed = self.aes_block(self.hash.peek16());
        for (s, h) in seed.iter_mut().zip(header_ciphertext) {
            *s ^= h;
        }
        self.hash.absorb(&seed);
        self.hash.peek16()
    }

    /// Body MAC: `absorb(ciphertext); prev = digest; absorb(aes(prev) ^ prev); digest`.
    #[inline]
    pub(crate) fn body_mac(&mut self, body_ciphertext: &[u8]) -> [u8; 16] {
        self.hash.absorb(body_ciphertext);
        let prev = self.hash.peek16();
        let mut seed = self.aes_block(prev);
        for (s, p) in seed.iter_mut().zip(prev) {
            *s ^= p;
        }
        self.hash.absorb(&seed);
        self.hash.peek16()
    }
}

/// Constant-time equality of two MAC tags.
#[inline]
pub(crate) fn tags_equal(a: &[u8], b: &[u8; 16]) -> bool {
    a.len() == 16 && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
