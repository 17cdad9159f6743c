//! The RLPx frame MAC: a running Keccak-256 state per direction, "sealed" with
//! one AES-256 block encryption under the mac-secret for every header and body.
//! Both directions use the same mac-secret, so the codec keeps one cipher for
//! the two states and lends it to each call (one key schedule, about 1 KiB,
//! less per connection).

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
///
/// Every frame needs the digest of the running state four times, but the
/// first (the header's seed) is always the last of the previous frame (the
/// body MAC): nothing is absorbed in between. The state keeps the digest of
/// its current contents until the next absorb, so a frame costs three
/// Keccak finalizations, not four.
#[derive(Clone)]
pub(crate) struct MacState<H: MacHash = Keccak256> {
    hash: H,
    /// `hash.peek16()` of the state as it is now, once computed.
    digest: Option<[u8; 16]>,
}

/// The AES-256 cipher keyed with the mac-secret, shared by both directions.
pub(crate) fn mac_cipher(mac_secret: &[u8; 32]) -> Aes256 {
    Aes256::new(mac_secret.into())
}

#[inline]
fn aes_block(cipher: &Aes256, block: [u8; 16]) -> [u8; 16] {
    let mut b = block.into();
    cipher.encrypt_block(&mut b);
    b.into()
}

impl<H: MacHash> MacState<H> {
    pub(crate) fn new(hash: H) -> Self {
        Self { hash, digest: None }
    }

    #[inline]
    fn absorb(&mut self, data: &[u8]) {
        self.hash.absorb(data);
        self.digest = None;
    }

    #[inline]
    fn digest(&mut self) -> [u8; 16] {
        match self.digest {
            Some(d) => d,
            None => {
                let d = self.hash.peek16();
                self.digest = Some(d);
                d
            }
        }
    }

    /// Header MAC: `seed = aes(digest) ^ header_ciphertext; absorb(seed); digest`.
    #[inline]
    pub(crate) fn header_mac(&mut self, cipher: &Aes256, header_ciphertext: &[u8; 16]) -> [u8; 16] {
        let d = self.digest();
        let mut seed = aes_block(cipher, d);
        for (s, h) in seed.iter_mut().zip(header_ciphertext) {
            *s ^= h;
        }
        self.absorb(&seed);
        self.digest()
    }

    /// Body MAC: `absorb(ciphertext); prev = digest; absorb(aes(prev) ^ prev); digest`.
    #[inline]
    pub(crate) fn body_mac(&mut self, cipher: &Aes256, body_ciphertext: &[u8]) -> [u8; 16] {
        self.absorb(body_ciphertext);
        let prev = self.digest();
        let mut seed = aes_block(cipher, prev);
        for (s, p) in seed.iter_mut().zip(prev) {
            *s ^= p;
        }
        self.absorb(&seed);
        self.digest()
    }
}

/// Constant-time equality of two MAC tags.
#[inline]
pub(crate) fn tags_equal(a: &[u8], b: &[u8; 16]) -> bool {
    a.len() == 16 && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    };

    /// Keccak that counts its finalizations.
    #[derive(Clone)]
    struct Counting(Keccak256, Arc<AtomicUsize>);

    impl MacHash for Counting {
        fn absorb(&mut self, data: &[u8]) {
            self.0.update(data);
        }
        fn peek16(&self) -> [u8; 16] {
            self.1.fetch_add(1, Ordering::Relaxed);
            self.0.peek16()
        }
    }

    /// The spec's steps, word for word, with a fresh digest every time.
    fn reference(
        hash: &mut Keccak256,
        cipher: &Aes256,
        header: &[u8; 16],
        body: &[u8],
    ) -> ([u8; 16], [u8; 16]) {
        let seal = |d: [u8; 16]| {
            let mut b = d.into();
            cipher.encrypt_block(&mut b);
            <[u8; 16]>::from(b)
        };
        let mut seed = seal(hash.peek16());
        seed.iter_mut().zip(header).for_each(|(s, h)| *s ^= h);
        hash.update(seed);
        let header_mac = hash.peek16();
        hash.update(body);
        let prev = hash.peek16();
        let mut seed = seal(prev);
        seed.iter_mut().zip(prev).for_each(|(s, p)| *s ^= p);
        hash.update(seed);
        (header_mac, hash.peek16())
    }

    #[test]
    fn cached_digest_gives_the_spec_macs_with_three_finalizations_per_frame() {
        let secret = [7u8; 32];
        let count = Arc::new(AtomicUsize::new(0));
        let mut seeded = Keccak256::new();
        seeded.update(b"seed");
        let mut ours = MacState::new(Counting(seeded.clone(), count.clone()));
        let shared = mac_cipher(&secret);
        let mut theirs = seeded;
        let cipher = Aes256::new((&secret).into());
        let frames = 50;
        for i in 0..frames {
            let header = [i as u8; 16];
            let body = vec![(i * 3) as u8; 16 * (i % 7 + 1)];
            let want = reference(&mut theirs, &cipher, &header, &body);
            let got = (
                ours.header_mac(&shared, &header),
                ours.body_mac(&shared, &body),
            );
            assert_eq!(got, want, "frame {i}");
        }
        // The first header seed is computed; every later one is reused.
        assert_eq!(count.load(Ordering::Relaxed), 3 * frames + 1);
    }
}
