//! Validated raw RLP lists, and the bounded, zero-copy decoder used by every
//! message in this crate.

use alloy_primitives::B256;
use alloy_rlp::{BufMut, Decodable, Encodable, Header};
use bytes::Bytes;

use super::EthMessageError;

/// The encoding of an RLP list whose payload the session layer never looks
/// inside (headers, bodies, transactions, receipts, ...), kept as bytes.
///
/// Invariant: [`as_bytes`](Self::as_bytes) is exactly one RLP list (header and
/// payload, nothing after it); each top-level item of that list has a
/// well-formed header and lies within the payload; [`len`](Self::len) is the
/// number of those items. Nested items are not inspected.
///
/// Decoding slices the input [`Bytes`] without copying, and encoding writes the
/// bytes back verbatim, so relaying a response costs no re-encoding.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RawList {
    bytes: Bytes,
    count: usize,
}

impl RawList {
    /// The empty list, `0xc0`.
    pub fn empty() -> Self {
        Self {
            bytes: Bytes::from_static(&[alloy_rlp::EMPTY_LIST_CODE]),
            count: 0,
        }
    }

    /// Validates `bytes` as one RLP list with at most `max_items` top-level
    /// items and nothing after it, and keeps it without copying.
    pub fn from_bytes(bytes: Bytes, max_items: usize) -> Result<Self, alloy_rlp::Error> {
        let mut rest = &bytes[..];
        let count = count_list_items(&mut rest, max_items)?;
        if !rest.is_empty() {
            return Err(alloy_rlp::Error::Custom("trailing bytes after list"));
        }
        Ok(Self { bytes, count })
    }

    /// Encodes `items` as a list.
    pub fn from_items<T: Encodable>(items: &[T]) -> Self {
        let mut out = Vec::with_capacity(alloy_rlp::list_length::<T, T>(items));
        alloy_rlp::encode_list::<T, T>(items, &mut out);
        Self {
            bytes: Bytes::from(out),
            count: items.len(),
        }
    }

    /// Builds a list from items that are already RLP-encoded (for example
    /// headers read from a database), checking that each one is exactly one
    /// well-formed RLP item.
    pub fn from_encoded_items<I>(items: I) -> Result<Self, alloy_rlp::Error>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        let mut payload = Vec::new();
        let mut count = 0usize;
        for item in items {
            let item = item.as_ref();
            let mut rest = item;
            skip_item(&mut rest)?;
            if !rest.is_empty() {
                return Err(alloy_rlp::Error::Custom("encoded item has trailing bytes"));
            }
            payload.extend_from_slice(item);
            count += 1;
        }
        let header = Header {
            list: true,
            payload_length: payload.len(),
        };
        let mut out = Vec::with_capacity(header.length_with_payload());
        header.encode(&mut out);
        out.extend_from_slice(&payload);
        Ok(Self {
            bytes: Bytes::from(out),
            count,
        })
    }

    /// Number of top-level items.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the list has no items.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The whole encoding: list header and payload.
    pub fn as_bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// Consumes the list and returns its whole encoding.
    pub fn into_bytes(self) -> Bytes {
        self.bytes
    }

    /// The list payload: the concatenated encodings of the items.
    pub fn payload(&self) -> &[u8] {
        let mut buf = &self.bytes[..];
        match Header::decode(&mut buf) {
            Ok(_) => buf,
            Err(_) => &[],
        }
    }

    /// The items, each as its complete RLP encoding (header and payload).
    pub fn iter(&self) -> RawListIter<'_> {
        RawListIter {
            rest: self.payload(),
        }
    }

    /// Decodes every item as `T`.
    pub fn decode_items<T: Decodable>(&self) -> Result<Vec<T>, alloy_rlp::Error> {
        self.iter().map(|mut item| T::decode(&mut item)).collect()
    }
}

impl Default for RawList {
    fn default() -> Self {
        Self::empty()
    }
}

impl core::fmt::Debug for RawList {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RawList")
            .field("items", &self.count)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

impl Encodable for RawList {
    fn encode(&self, out: &mut dyn BufMut) {
        out.put_slice(&self.bytes);
    }

    fn length(&self) -> usize {
        self.bytes.len()
    }
}

impl<'a> IntoIterator for &'a RawList {
    type Item = &'a [u8];
    type IntoIter = RawListIter<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Iterator over the items of a [`RawList`], each as its complete encoding.
#[derive(Clone, Debug)]
pub struct RawListIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for RawListIter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let start = self.rest;
        match skip_item(&mut self.rest) {
            Ok(()) => start.get(..start.len() - self.rest.len()),
            Err(_) => {
                // Unreachable for a validated list; end the iteration rather than panic.
                self.rest = &[];
                None
            }
        }
    }
}

/// Advances `buf` past one complete RLP item, checking its header.
pub(crate) fn skip_item(buf: &mut &[u8]) -> Result<(), alloy_rlp::Error> {
    let header = Header::decode(buf)?;
    *buf = buf
        .get(header.payload_length..)
        .ok_or(alloy_rlp::Error::InputTooShort)?;
    Ok(())
}

/// Decodes one list header from `buf`, advances past the list, and counts its
/// top-level items (checking each header), failing once there are more than
/// `max_items`. `Err(None)` means the bound was exceeded.
fn count_list_items_bounded(
    buf: &mut &[u8],
    max_items: usize,
) -> Result<usize, Option<alloy_rlp::Error>> {
    let mut payload = Header::decode_bytes(buf, true).map_err(Some)?;
    let mut count = 0usize;
    while !payload.is_empty() {
        if count == max_items {
            return Err(None);
        }
        skip_item(&mut payload).map_err(Some)?;
        count += 1;
    }
    Ok(count)
}

fn count_list_items(buf: &mut &[u8], max_items: usize) -> Result<usize, alloy_rlp::Error> {
    count_list_items_bounded(buf, max_items)
        .map_err(|e| e.unwrap_or(alloy_rlp::Error::Custom("list has too many items")))
}

/// Writes a list header for a payload of `payload_length` bytes.
pub(crate) fn encode_list_header(payload_length: usize, out: &mut dyn BufMut) {
    Header {
        list: true,
        payload_length,
    }
    .encode(out);
}

/// Total encoded length of a list whose payload is `payload_length` bytes.
pub(crate) const fn list_length(payload_length: usize) -> usize {
    alloy_rlp::length_of_length(payload_length) + payload_length
}

/// A bounded decoder over one message payload.
///
/// It keeps the message name for error reports, and, when the payload is a
/// [`Bytes`], cuts raw lists out of it without copying.
#[derive(Clone, Copy)]
pub(crate) struct Decoder<'a> {
    /// The owning buffer, when the payload was given as `Bytes`.
    src: Option<&'a Bytes>,
    /// What remains to decode; always a sub-slice of `src` when `src` is set.
    buf: &'a [u8],
    message: &'static str,
}

impl<'a> Decoder<'a> {
    /// A decoder over a borrowed payload; raw lists are copied out of it.
    pub(crate) fn from_slice(buf: &'a [u8], message: &'static str) -> Self {
        Self {
            src: None,
            buf,
            message,
        }
    }

    /// A decoder over a shared payload; raw lists are slices of it.
    pub(crate) fn from_bytes(src: &'a Bytes, message: &'static str) -> Self {
        Self {
            src: Some(src),
            buf: &src[..],
            message,
        }
    }

    /// The message name used in errors.
    pub(crate) fn message(&self) -> &'static str {
        self.message
    }

    /// An RLP error attributed to this message.
    pub(crate) fn rlp_error(&self, source: alloy_rlp::Error) -> EthMessageError {
        EthMessageError::Rlp {
            message: self.message,
            source,
        }
    }

    fn too_long(&self, max: usize) -> EthMessageError {
        EthMessageError::ListTooLong {
            message: self.message,
            max,
        }
    }

    /// Whether everything was consumed.
    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Enters a list: decodes its header and returns a decoder over its payload,
    /// advancing `self` past the whole list.
    pub(crate) fn list(&mut self) -> Result<Self, EthMessageError> {
        let payload = Header::decode_bytes(&mut self.buf, true).map_err(|e| self.rlp_error(e))?;
        Ok(Self {
            src: self.src,
            buf: payload,
            message: self.message,
        })
    }

    /// Decodes one value with its `alloy_rlp` decoder.
    pub(crate) fn value<T: Decodable>(&mut self) -> Result<T, EthMessageError> {
        T::decode(&mut self.buf).map_err(|e| self.rlp_error(e))
    }

    /// Decodes one RLP string and returns its payload, zero-copy when possible.
    pub(crate) fn string(&mut self) -> Result<Bytes, EthMessageError> {
        let payload = Header::decode_bytes(&mut self.buf, false).map_err(|e| self.rlp_error(e))?;
        self.share(payload)
    }

    /// Decodes a list of 32-byte hashes, at most `max` of them.
    pub(crate) fn hashes(&mut self, max: usize) -> Result<Vec<B256>, EthMessageError> {
        self.list_of(max, |d| d.value::<B256>())
    }

    /// Decodes a list whose items are decoded by `item`, at most `max` of them.
    pub(crate) fn list_of<T>(
        &mut self,
        max: usize,
        mut item: impl FnMut(&mut Self) -> Result<T, EthMessageError>,
    ) -> Result<Vec<T>, EthMessageError> {
        let mut list = self.list()?;
        let mut out = Vec::new();
        while !list.is_empty() {
            if out.len() == max {
                return Err(self.too_long(max));
            }
            out.push(item(&mut list)?);
        }
        Ok(out)
    }

    /// Takes the next item as a [`RawList`] of at most `max` top-level items.
    pub(crate) fn raw_list(&mut self, max: usize) -> Result<RawList, EthMessageError> {
        let start = self.buf;
        let count = count_list_items_bounded(&mut self.buf, max).map_err(|e| match e {
            Some(e) => self.rlp_error(e),
            None => self.too_long(max),
        })?;
        let encoded = start
            .get(..start.len() - self.buf.len())
            .ok_or_else(|| self.rlp_error(alloy_rlp::Error::InputTooShort))?;
        Ok(RawList {
            bytes: self.share(encoded)?,
            count,
        })
    }

    /// Takes the next item, string or list, as its complete encoding (header
    /// and payload), zero-copy when possible. Only its header is checked.
    pub(crate) fn raw_item(&mut self) -> Result<Bytes, EthMessageError> {
        let start = self.buf;
        skip_item(&mut self.buf).map_err(|e| self.rlp_error(e))?;
        let encoded = start
            .get(..start.len() - self.buf.len())
            .ok_or_else(|| self.rlp_error(alloy_rlp::Error::InputTooShort))?;
        self.share(encoded)
    }

    /// Fails if the current list has elements left (like geth's RLP struct
    /// decoding, which rejects extra elements unless a field is marked `tail`).
    pub(crate) fn finish_list(self) -> Result<(), EthMessageError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(self.rlp_error(alloy_rlp::Error::Custom("too many list elements")))
        }
    }

    /// Fails if bytes remain after the top-level item of the message.
    pub(crate) fn finish_message(self) -> Result<(), EthMessageError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(EthMessageError::TrailingBytes {
                message: self.message,
                len: self.buf.len(),
            })
        }
    }

    /// Turns a sub-slice of the payload into `Bytes`: a shared slice of the
    /// source when there is one, a copy otherwise.
    fn share(&self, sub: &'a [u8]) -> Result<Bytes, EthMessageError> {
        let Some(src) = self.src else {
            return Ok(Bytes::copy_from_slice(sub));
        };
        if sub.is_empty() {
            return Ok(Bytes::new());
        }
        let start = (sub.as_ptr() as usize).checked_sub(src.as_ptr() as usize);
        match start.and_then(|s| s.checked_add(sub.len()).map(|e| (s, e))) {
            Some((start, end)) if end <= src.len() => Ok(src.slice(start..end)),
            // Cannot happen: every slice handed out is cut from `src`. Copy rather than panic.
            _ => Ok(Bytes::copy_from_slice(sub)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_list_validates_and_counts() {
        let list = RawList::from_bytes(Bytes::from_static(&[0xc3, 0x01, 0x02, 0x80]), 10).unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(
            list.iter().collect::<Vec<_>>(),
            vec![&[0x01][..], &[0x02], &[0x80]]
        );
        assert_eq!(list.decode_items::<u64>().unwrap(), vec![1, 2, 0]);
        assert_eq!(list.payload(), &[0x01, 0x02, 0x80]);

        // too many items
        assert!(RawList::from_bytes(Bytes::from_static(&[0xc3, 0x01, 0x02, 0x80]), 2).is_err());
        // not a list
        assert!(RawList::from_bytes(Bytes::from_static(&[0x83, 0x01, 0x02, 0x03]), 10).is_err());
        // item runs past the payload
        assert!(RawList::from_bytes(Bytes::from_static(&[0xc2, 0x82, 0x01]), 10).is_err());
        // trailing bytes
        assert!(RawList::from_bytes(Bytes::from_static(&[0xc0, 0x00]), 10).is_err());
        // non-canonical single byte item
        assert!(RawList::from_bytes(Bytes::from_static(&[0xc2, 0x81, 0x01]), 10).is_err());
    }

    #[test]
    fn raw_list_builders() {
        let a = RawList::from_items(&[1u64, 2, 3]);
        assert_eq!(a.as_bytes().as_ref(), &[0xc3, 0x01, 0x02, 0x03]);
        assert_eq!(a.len(), 3);
        let b = RawList::from_encoded_items(a.iter()).unwrap();
        assert_eq!(a, b);
        assert!(RawList::from_encoded_items([&[0x01, 0x02][..]]).is_err());
        assert!(RawList::from_encoded_items([&[0x82, 0x01][..]]).is_err());
        assert_eq!(RawList::empty().as_bytes().as_ref(), &[0xc0]);
        assert!(RawList::default().is_empty());
        let mut out = Vec::new();
        a.encode(&mut out);
        assert_eq!(out, a.as_bytes().as_ref());
        assert_eq!(a.length(), 4);
    }

    #[test]
    fn decoder_shares_source() {
        let src = Bytes::from_static(&[0xc4, 0x05, 0xc2, 0x01, 0x02]);
        let mut d = Decoder::from_bytes(&src, "Test");
        let mut l = d.list().unwrap();
        assert_eq!(l.value::<u64>().unwrap(), 5);
        let raw = l.raw_list(4).unwrap();
        l.finish_list().unwrap();
        d.finish_message().unwrap();
        assert_eq!(raw.as_bytes().as_ref(), &[0xc2, 0x01, 0x02]);
        // the raw list points into the source buffer
        assert_eq!(raw.as_bytes().as_ptr(), src[2..].as_ptr());
    }
}
