//! Snappy (EIP-706) with the decompressed size checked before decompressing.

use crate::error::P2PError;
use bytes::BytesMut;

/// Messages up to this size are decompressed into a shared chunk ([`CHUNK`]
/// bytes) instead of an allocation of their own.
const SMALL_MAX: usize = 4 * 1024;
/// Size of the chunk small messages are cut from: one retained small message
/// pins at most this much.
const CHUNK: usize = 16 * 1024;

/// Reusable snappy state: one encoder, one decoder, one scratch buffer.
/// The encoder (2 KiB of hash table, 32 KiB once a large message was
/// compressed) is created on first use and dropped by [`Snappy::release`], so
/// an idle session does not carry it.
pub(crate) struct Snappy {
    encoder: Option<Box<snap::raw::Encoder>>,
    decoder: snap::raw::Decoder,
    /// Compression output, reused across messages.
    pub(crate) scratch: Vec<u8>,
    /// The chunk small decompressed messages are cut from: each message is
    /// a `split_to` of it, so a run of small messages shares one allocation,
    /// which is reused once every message cut from it is dropped.
    chunk: BytesMut,
}

impl Default for Snappy {
    fn default() -> Self {
        Self {
            encoder: None,
            decoder: snap::raw::Decoder::new(),
            scratch: Vec::new(),
            chunk: BytesMut::new(),
        }
    }
}

/// Scratch capacity kept between messages; more is released after use.
const SCRATCH_KEEP: usize = 64 * 1024;

impl Snappy {
    /// Compresses `data` into the scratch buffer and returns it.
    pub(crate) fn compress(&mut self, data: &[u8]) -> Result<&[u8], P2PError> {
        let max = snap::raw::max_compress_len(data.len());
        if max == 0 && !data.is_empty() {
            return Err(P2PError::MessageTooBig {
                size: data.len(),
                max: crate::MAX_PAYLOAD_SIZE,
            });
        }
        if self.scratch.len() < max {
            self.scratch.resize(max, 0);
        }
        let n = self
            .encoder
            .get_or_insert_with(|| Box::new(snap::raw::Encoder::new()))
            .compress(data, &mut self.scratch[..max])
            .map_err(|e| P2PError::Snappy(e.to_string()))?;
        Ok(&self.scratch[..n])
    }

    /// Drops the encoder and the scratch buffer (an idle session's memory).
    pub(crate) fn release(&mut self) {
        self.encoder = None;
        self.scratch = Vec::new();
        self.release_chunk();
    }

    /// Lets go of the chunk small messages are cut from (messages still held
    /// keep their part of it alive).
    pub(crate) fn release_chunk(&mut self) {
        self.chunk = BytesMut::new();
    }

    /// Memory held by the scratch buffer and the chunk.
    pub(crate) fn capacity(&self) -> usize {
        self.scratch.capacity() + self.chunk.capacity()
    }

    /// Releases an oversized scratch buffer.
    pub(crate) fn shrink(&mut self) {
        if self.scratch.capacity() > SCRATCH_KEEP {
            self.scratch = Vec::new();
        }
    }

    /// Decompresses `data`, refusing before any allocation if its declared size exceeds `max`.
    pub(crate) fn decompress(&mut self, data: &[u8], max: usize) -> Result<BytesMut, P2PError> {
        let len = snap::raw::decompress_len(data).map_err(|e| P2PError::Snappy(e.to_string()))?;
        if len > max {
            return Err(P2PError::MessageTooBig { size: len, max });
        }
        if len > SMALL_MAX {
            let mut out = BytesMut::zeroed(len);
            let n = self
                .decoder
                .decompress(data, &mut out)
                .map_err(|e| P2PError::Snappy(e.to_string()))?;
            out.truncate(n);
            return Ok(out);
        }
        if self.chunk.capacity() < len {
            // Reuses the chunk's allocation if every message cut from it is
            // gone; otherwise starts a new one.
            self.chunk.reserve(CHUNK);
        }
        self.chunk.resize(len, 0);
        let n = match self.decoder.decompress(data, &mut self.chunk) {
            Ok(n) => n,
            Err(e) => {
                self.chunk.clear();
                return Err(P2PError::Snappy(e.to_string()));
            }
        };
        Ok(self.chunk.split_to(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_messages_share_a_chunk_and_large_ones_do_not() {
        let mut s = Snappy::default();
        let small: Vec<u8> = (0..1000u32).map(|i| (i % 7) as u8).collect();
        let comp = snap::raw::Encoder::new().compress_vec(&small).unwrap();
        let a = s.decompress(&comp, 1 << 20).unwrap();
        let b = s.decompress(&comp, 1 << 20).unwrap();
        assert_eq!(&a[..], &small[..]);
        assert_eq!(&b[..], &small[..]);
        // b was cut right after a, from the same allocation.
        assert_eq!(a.as_ptr() as usize + a.len(), b.as_ptr() as usize);
        assert!(s.capacity() <= CHUNK);
        // Once both are dropped and the chunk is used up, the next message
        // reuses the chunk's allocation from its start.
        let start = a.as_ptr() as usize;
        drop((a, b));
        let reused = (0..CHUNK / 1000 + 2).any(|_| {
            let m = s.decompress(&comp, 1 << 20).unwrap();
            m.as_ptr() as usize == start
        });
        assert!(reused, "the chunk was not reused");
        // A large message gets its own buffer, outside the chunk.
        let large = vec![3u8; SMALL_MAX + 1];
        let comp = snap::raw::Encoder::new().compress_vec(&large).unwrap();
        let d = s.decompress(&comp, 1 << 20).unwrap();
        assert_eq!(&d[..], &large[..]);
        // A bad payload leaves the chunk empty.
        assert!(s.decompress(&[0x10, 0xff, 0xff], 1 << 20).is_err());
        assert!(s.chunk.is_empty());
    }

    #[test]
    fn precompressed_empty_list_is_what_snap_produces() {
        let c = snap::raw::Encoder::new().compress_vec(&[0xc0]).unwrap();
        assert_eq!(c, [0x01, 0x00, 0xc0]);
        assert_eq!(
            snap::raw::Decoder::new().decompress_vec(&c).unwrap(),
            [0xc0]
        );
    }
}
