//! The RLPx frame codec.
//!
//! ```text
//! frame = header-ciphertext(16) || header-mac(16) || body-ciphertext(padded to 16) || body-mac(16)
//! header = frame-size(3, big-endian) || header-data (0xc2 0x80 0x80) || zero padding to 16
//! ```
//!
//! Both directions run AES-256-CTR keyed with the aes-secret (IV zero) as one
//! continuous keystream over headers and bodies, and a Keccak-256 MAC state
//! per direction (the crate's `mac` module). Decoding verifies each MAC before decrypting, never
//! allocates more than the frame limit, and returns typed errors, never panics.

use crate::{
    error::FrameError,
    mac::{mac_cipher, tags_equal, MacHash, MacState},
    secrets::Secrets,
};
use aes::cipher::{KeyIvInit, StreamCipher};
use alloy_primitives::Keccak256;
use bytes::{BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

type Aes256Ctr = ctr::Ctr128BE<aes::Aes256>;

/// The largest frame the 24-bit size field can express.
pub const MAX_FRAME_SIZE: usize = 0xff_ffff;
/// The default limit on a received frame's body.
pub const DEFAULT_MAX_FRAME_SIZE: usize = MAX_FRAME_SIZE;
/// Most a frame header alone makes the decoder reserve; larger bodies grow the
/// buffer as their bytes arrive.
const PREALLOC_LIMIT: usize = 256 * 1024;
/// Header-data we write: RLP `[0, 0]` (capability-id, context-id), as geth does.
const HEADER_DATA: [u8; 3] = [0xc2, 0x80, 0x80];

#[inline]
fn padded(len: usize) -> usize {
    (len + 15) & !15
}

#[derive(Debug, Clone, Copy)]
enum ReadState {
    Header,
    Body { size: usize },
}

/// Encrypts and authenticates outgoing frames, verifies and decrypts incoming ones.
///
/// Generic over the MAC hash only so tests can reproduce the published vector;
/// everyone else uses the Keccak-256 default.
pub struct FrameCodec<H: MacHash = Keccak256> {
    egress_aes: Aes256Ctr,
    ingress_aes: Aes256Ctr,
    egress_mac: MacState<H>,
    ingress_mac: MacState<H>,
    /// AES-256 under the mac-secret, for both MAC states.
    mac_cipher: aes::Aes256,
    state: ReadState,
    max_frame_size: usize,
}

impl FrameCodec {
    /// Bytes on the wire of a frame carrying `len` bytes.
    pub fn encoded_len(len: usize) -> usize {
        32 + padded(len) + 16
    }

    /// A codec for a connection whose handshake produced `secrets`.
    pub fn new(secrets: &Secrets) -> Self {
        Self::with_macs(
            secrets.aes.0,
            secrets.mac.0,
            secrets.egress_mac.clone(),
            secrets.ingress_mac.clone(),
        )
    }
}

impl<H: MacHash> FrameCodec<H> {
    pub(crate) fn with_macs(aes: [u8; 32], mac: [u8; 32], egress: H, ingress: H) -> Self {
        let iv = [0u8; 16];
        Self {
            egress_aes: Aes256Ctr::new(&aes.into(), &iv.into()),
            ingress_aes: Aes256Ctr::new(&aes.into(), &iv.into()),
            egress_mac: MacState::new(egress),
            ingress_mac: MacState::new(ingress),
            mac_cipher: mac_cipher(&mac),
            state: ReadState::Header,
            max_frame_size: DEFAULT_MAX_FRAME_SIZE,
        }
    }

    /// The limit on a received frame's body size.
    pub fn max_frame_size(&self) -> usize {
        self.max_frame_size
    }

    /// Sets the limit on received frames (capped at [`MAX_FRAME_SIZE`]). The
    /// base protocol uses a small limit for the first frame (Hello).
    pub fn set_max_frame_size(&mut self, max: usize) {
        self.max_frame_size = max.min(MAX_FRAME_SIZE);
    }

    /// Writes one frame whose body is the concatenation of `parts`.
    pub fn encode_parts(&mut self, parts: &[&[u8]], dst: &mut BytesMut) -> Result<(), FrameError> {
        let size: usize = parts.iter().map(|p| p.len()).sum();
        if size > MAX_FRAME_SIZE {
            return Err(FrameError::FrameTooLarge {
                size,
                max: MAX_FRAME_SIZE,
            });
        }
        dst.reserve(32 + padded(size) + 16);

        let mut header = [0u8; 16];
        header[..3].copy_from_slice(&(size as u32).to_be_bytes()[1..]);
        header[3..6].copy_from_slice(&HEADER_DATA);
        self.egress_aes.apply_keystream(&mut header);
        let header_mac = self.egress_mac.header_mac(&self.mac_cipher, &header);
        dst.put_slice(&header);
        dst.put_slice(&header_mac);

        let start = dst.len();
        for p in parts {
            dst.put_slice(p);
        }
        dst.put_bytes(0, padded(size) - size);
        let body = &mut dst[start..];
        self.egress_aes.apply_keystream(body);
        let body_mac = self.egress_mac.body_mac(&self.mac_cipher, body);
        dst.put_slice(&body_mac);
        Ok(())
    }

    /// Reads one frame off `src`: `Ok(None)` if it is not complete yet.
    pub fn decode_frame(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>, FrameError> {
        loop {
            match self.state {
                ReadState::Header => {
                    if src.len() < 32 {
                        return Ok(None);
                    }
                    let mut header = [0u8; 16];
                    header.copy_from_slice(&src[..16]);
                    let expected = self.ingress_mac.header_mac(&self.mac_cipher, &header);
                    if !tags_equal(&src[16..32], &expected) {
                        return Err(FrameError::HeaderMacMismatch);
                    }
                    self.ingress_aes.apply_keystream(&mut header);
                    let size = u32::from_be_bytes([0, header[0], header[1], header[2]]) as usize;
                    if size > self.max_frame_size {
                        return Err(FrameError::FrameTooLarge {
                            size,
                            max: self.max_frame_size,
                        });
                    }
                    let _ = src.split_to(32);
                    // Reserve for the body, but never more than a chunk ahead of
                    // what has arrived: a header alone cannot make us allocate.
                    let needed = (padded(size) + 16).min(PREALLOC_LIMIT);
                    if src.capacity() < needed {
                        src.reserve(needed - src.len().min(needed));
                    }
                    self.state = ReadState::Body { size };
                }
                ReadState::Body { size } => {
                    let body_len = padded(size);
                    if src.len() < body_len + 16 {
                        return Ok(None);
                    }
                    let expected = self
                        .ingress_mac
                        .body_mac(&self.mac_cipher, &src[..body_len]);
                    if !tags_equal(&src[body_len..body_len + 16], &expected) {
                        return Err(FrameError::BodyMacMismatch);
                    }
                    let mut frame = src.split_to(body_len + 16);
                    self.ingress_aes.apply_keystream(&mut frame[..body_len]);
                    frame.truncate(size);
                    self.state = ReadState::Header;
                    return Ok(Some(frame));
                }
            }
        }
    }
}

impl<H: MacHash> Decoder for FrameCodec<H> {
    type Item = BytesMut;
    type Error = crate::RlpxError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, Self::Error> {
        Ok(self.decode_frame(src)?)
    }
}

impl<H: MacHash> Encoder<Bytes> for FrameCodec<H> {
    type Error = crate::RlpxError;

    fn encode(&mut self, item: Bytes, dst: &mut BytesMut) -> Result<(), Self::Error> {
        Ok(self.encode_parts(&[&item], dst)?)
    }
}

impl<H: MacHash> Encoder<&[u8]> for FrameCodec<H> {
    type Error = crate::RlpxError;

    fn encode(&mut self, item: &[u8], dst: &mut BytesMut) -> Result<(), Self::Error> {
        Ok(self.encode_parts(&[item], dst)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::keccak256;

    /// The hash geth's TestFrameReadWrite uses: absorbs nothing, always digests to 32 x 0x01.
    #[derive(Clone)]
    struct FakeHash;
    impl MacHash for FakeHash {
        fn absorb(&mut self, _: &[u8]) {}
        fn peek16(&self) -> [u8; 16] {
            [1u8; 16]
        }
    }

    fn vector_codec() -> FrameCodec<FakeHash> {
        let k = keccak256([]).0;
        FrameCodec::with_macs(k, k, FakeHash, FakeHash)
    }

    const FRAME_HEX: &str = "00828ddae471818bb0bfa6b551d1cb42\
                             01010101010101010101010101010101\
                             ba628a4ba590cb43f7848f41c4382885\
                             01010101010101010101010101010101";

    /// geth p2p/rlpx TestFrameReadWrite: msg code 8, payload rlp([1,2,3,4]).
    #[test]
    fn geth_frame_vector_encode() {
        let mut c = vector_codec();
        let mut out = BytesMut::new();
        c.encode_parts(&[&[0x08], &hex::decode("c401020304").unwrap()], &mut out)
            .unwrap();
        assert_eq!(hex::encode(&out), FRAME_HEX);
    }

    #[test]
    fn geth_frame_vector_decode() {
        let mut c = vector_codec();
        let mut src = BytesMut::from(&hex::decode(FRAME_HEX).unwrap()[..]);
        let frame = c.decode_frame(&mut src).unwrap().unwrap();
        assert_eq!(hex::encode(&frame), "08c401020304");
        assert!(src.is_empty());
    }

    fn pair() -> (FrameCodec, FrameCodec) {
        let aes = keccak256(b"aes").0;
        let mac = keccak256(b"mac").0;
        let mut e = Keccak256::new();
        e.update(b"egress");
        let mut i = Keccak256::new();
        i.update(b"ingress");
        (
            FrameCodec::with_macs(aes, mac, e.clone(), i.clone()),
            FrameCodec::with_macs(aes, mac, i, e),
        )
    }

    #[test]
    fn round_trip_many_sizes_and_partial_reads() {
        let (mut a, mut b) = pair();
        let mut wire = BytesMut::new();
        let sizes = [0usize, 1, 15, 16, 17, 1024, 65_537];
        for &n in &sizes {
            let msg: Vec<u8> = (0..n).map(|i| i as u8).collect();
            a.encode_parts(&[&msg], &mut wire).unwrap();
        }
        // Feed one byte at a time for the first frames, then the rest.
        let mut src = BytesMut::new();
        let mut got = Vec::new();
        for byte in wire.iter() {
            src.put_u8(*byte);
            while let Some(f) = b.decode_frame(&mut src).unwrap() {
                got.push(f);
            }
        }
        assert_eq!(got.len(), sizes.len());
        for (f, &n) in got.iter().zip(&sizes) {
            assert_eq!(f.len(), n);
            assert!(f.iter().enumerate().all(|(i, b)| *b == i as u8));
        }
    }

    #[test]
    fn tampering_anywhere_is_detected() {
        let (mut a, _) = pair();
        let mut wire = BytesMut::new();
        a.encode_parts(&[b"hello world, this is a frame"], &mut wire)
            .unwrap();
        for i in 0..wire.len() {
            let (_, mut b) = pair();
            let mut t = wire.clone();
            t[i] ^= 0x40;
            let err = b.decode_frame(&mut t).unwrap_err();
            let want = if i < 32 {
                FrameError::HeaderMacMismatch
            } else {
                FrameError::BodyMacMismatch
            };
            assert_eq!(err, want, "byte {i}");
        }
    }

    #[test]
    fn oversized_header_rejected_without_allocating() {
        let (mut a, mut b) = pair();
        b.set_max_frame_size(1024);
        let mut wire = BytesMut::new();
        a.encode_parts(&[&vec![7u8; 4096]], &mut wire).unwrap();
        let mut header_only = BytesMut::from(&wire[..32]);
        let cap_before = header_only.capacity();
        assert_eq!(
            b.decode_frame(&mut header_only).unwrap_err(),
            FrameError::FrameTooLarge {
                size: 4096,
                max: 1024
            }
        );
        assert_eq!(header_only.capacity(), cap_before);
    }

    #[test]
    fn a_header_alone_does_not_allocate_the_announced_size() {
        let (mut a, mut b) = pair();
        let mut wire = BytesMut::new();
        a.encode_parts(&[&vec![7u8; 8 << 20]], &mut wire).unwrap();
        let mut src = BytesMut::from(&wire[..32]);
        assert!(b.decode_frame(&mut src).unwrap().is_none());
        assert!(src.capacity() <= PREALLOC_LIMIT, "{}", src.capacity());
    }

    #[test]
    fn a_codec_holds_one_mac_cipher() {
        // Two AES-256-CTR states, one AES-256 for both MACs, two Keccak states.
        let size = std::mem::size_of::<FrameCodec>();
        assert!(size <= 4000, "FrameCodec is {size} bytes");
    }

    #[test]
    fn encoding_more_than_24_bits_fails() {
        let (mut a, _) = pair();
        let big = vec![0u8; MAX_FRAME_SIZE + 1];
        let mut out = BytesMut::new();
        assert!(matches!(
            a.encode_parts(&[&big], &mut out),
            Err(FrameError::FrameTooLarge { .. })
        ));
    }

    #[test]
    fn truncated_frames_wait_for_more() {
        let (mut a, mut b) = pair();
        let mut wire = BytesMut::new();
        a.encode_parts(&[b"abc"], &mut wire).unwrap();
        let mut part = BytesMut::from(&wire[..wire.len() - 1]);
        assert!(b.decode_frame(&mut part).unwrap().is_none());
        part.extend_from_slice(&wire[wire.len() - 1..]);
        assert_eq!(&b.decode_frame(&mut part).unwrap().unwrap()[..], b"abc");
    }
}
