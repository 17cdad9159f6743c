//! Snappy (EIP-706) with the decompressed size checked before decompressing.

use crate::error::P2PError;
use bytes::BytesMut;

/// Reusable snappy state: one encoder, one decoder, one scratch buffer.
/// The encoder (2 KiB of hash table, 32 KiB once a large message was
/// compressed) is created on first use and dropped by [`Snappy::release`], so
/// an idle session does not carry it.
pub(crate) struct Snappy {
    encoder: Option<Box<snap::raw::Encoder>>,
    decoder: snap::raw::Decoder,
    /// Compression output, reused across messages.
    pub(crate) scratch: Vec<u8>,
}

impl Default for Snappy {
    fn default() -> Self {
        Self {
            encoder: None,
            decoder: snap::raw::Decoder::new(),
            scratch: Vec::new(),
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
        let mut out = BytesMut::zeroed(len);
        let n = self
            .decoder
            .decompress(data, &mut out)
            .map_err(|e| P2PError::Snappy(e.to_string()))?;
        out.truncate(n);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
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
