//! Snappy (EIP-706) with the decompressed size checked before decompressing.

use crate::error::P2PError;
use bytes::BytesMut;

/// Reusable snappy state: one encoder, one decoder, one scratch buffer.
pub(crate) struct Snappy {
    encoder: snap::raw::Encoder,
    decoder: snap::raw::Decoder,
    /// Compression output, reused across messages.
    pub(crate) scratch: Vec<u8>,
}

impl Default for Snappy {
    fn default() -> Self {
        Self {
            encoder: snap::raw::Encoder::new(),
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
            .compress(data, &mut self.scratch[..max])
            .map_err(|e| P2PError::Snappy(e.to_string()))?;
        Ok(&self.scratch[..n])
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
