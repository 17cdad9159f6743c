//! Capabilities, protocols, and the negotiation of the shared set.

use crate::RESERVED_MESSAGE_IDS;
use alloy_rlp::{Decodable, Encodable, Header};
use std::fmt;

/// Longest capability name we accept (the spec uses 3-8 ASCII characters).
pub const MAX_CAPABILITY_NAME: usize = 32;

/// A capability as announced in Hello: a protocol name and version.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Capability {
    /// Protocol name, e.g. `eth`.
    pub name: String,
    /// Protocol version.
    pub version: u32,
}

impl Capability {
    /// A capability from a name and version.
    pub fn new(name: impl Into<String>, version: u32) -> Self {
        Self {
            name: name.into(),
            version,
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.name, self.version)
    }
}

impl Encodable for Capability {
    fn encode(&self, out: &mut dyn alloy_rlp::BufMut) {
        let payload_length = self.name.as_bytes().length() + self.version.length();
        Header {
            list: true,
            payload_length,
        }
        .encode(out);
        self.name.as_bytes().encode(out);
        self.version.encode(out);
    }
    fn length(&self) -> usize {
        let payload_length = self.name.as_bytes().length() + self.version.length();
        Header {
            list: true,
            payload_length,
        }
        .length()
            + payload_length
    }
}

impl Decodable for Capability {
    /// Extra elements after `[name, version]` are ignored (EIP-8).
    fn decode(buf: &mut &[u8]) -> alloy_rlp::Result<Self> {
        // A list whose payload lies within the input; advances past it.
        let mut body = Header::decode_bytes(buf, true)?;
        let name = Header::decode_bytes(&mut body, false)?;
        if name.len() > MAX_CAPABILITY_NAME {
            return Err(alloy_rlp::Error::Custom("capability name too long"));
        }
        let name = std::str::from_utf8(name)
            .map_err(|_| alloy_rlp::Error::Custom("capability name is not UTF-8"))?
            .to_owned();
        let version = u32::decode(&mut body)?;
        Ok(Self { name, version })
    }
}

/// A protocol this node runs: a capability and the number of message ids it uses.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Protocol {
    /// Name and version.
    pub cap: Capability,
    /// How many message ids the protocol uses (its id range length).
    pub messages: u8,
}

impl Protocol {
    /// A protocol with `messages` message ids.
    pub fn new(name: impl Into<String>, version: u32, messages: u8) -> Self {
        Self {
            cap: Capability::new(name, version),
            messages,
        }
    }
}

/// A capability both sides share, with its assigned id range.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SharedCapability {
    /// Name and negotiated (highest common) version.
    pub cap: Capability,
    /// First absolute message id of this protocol.
    pub offset: u8,
    /// Number of ids.
    pub messages: u8,
}

/// The shared capabilities of a session, in id order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SharedCapabilities(Vec<SharedCapability>);

impl SharedCapabilities {
    /// Negotiates: for each name both sides know, the highest version both
    /// support; ranges assigned in name order after the reserved 0x00-0x0f, as
    /// the spec orders them. `None` when nothing is shared.
    pub fn negotiate(local: &[Protocol], remote: &[Capability]) -> Option<Self> {
        let mut best: Vec<&Protocol> = Vec::new();
        for p in local {
            if !remote.contains(&p.cap) {
                continue;
            }
            match best.iter_mut().find(|b| b.cap.name == p.cap.name) {
                Some(b) if b.cap.version < p.cap.version => *b = p,
                Some(_) => {}
                None => best.push(p),
            }
        }
        best.sort_by(|a, b| a.cap.name.cmp(&b.cap.name));
        let mut offset = RESERVED_MESSAGE_IDS as usize;
        let mut shared = Vec::with_capacity(best.len());
        for p in best {
            if offset + p.messages as usize > u8::MAX as usize + 1 {
                break; // no id space left; ignore the rest
            }
            shared.push(SharedCapability {
                cap: p.cap.clone(),
                offset: offset as u8,
                messages: p.messages,
            });
            offset += p.messages as usize;
        }
        (!shared.is_empty()).then_some(Self(shared))
    }

    /// The shared capabilities in id order.
    pub fn iter(&self) -> impl Iterator<Item = &SharedCapability> {
        self.0.iter()
    }

    /// Number of shared capabilities.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether nothing is shared.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The shared capability at `index`.
    pub fn get(&self, index: usize) -> Option<&SharedCapability> {
        self.0.get(index)
    }

    /// Index of the shared capability named `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.0.iter().position(|c| c.cap.name == name)
    }

    /// Maps an absolute message id to (capability index, relative id).
    pub fn route(&self, id: u64) -> Option<(usize, u8)> {
        self.0.iter().enumerate().find_map(|(i, c)| {
            let start = c.offset as u64;
            (id >= start && id < start + c.messages as u64).then(|| (i, (id - start) as u8))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highest_shared_version_and_offsets_in_name_order() {
        let local = vec![
            Protocol::new("eth", 68, 17),
            Protocol::new("eth", 69, 18),
            Protocol::new("snap", 1, 8),
            Protocol::new("abc", 1, 3),
            Protocol::new("zzz", 1, 1),
        ];
        let remote = vec![
            Capability::new("eth", 67),
            Capability::new("eth", 68),
            Capability::new("eth", 70),
            Capability::new("snap", 1),
            Capability::new("abc", 1),
            Capability::new("les", 4),
        ];
        let shared = SharedCapabilities::negotiate(&local, &remote).unwrap();
        let got: Vec<_> = shared
            .iter()
            .map(|c| (c.cap.to_string(), c.offset, c.messages))
            .collect();
        assert_eq!(
            got,
            vec![
                ("abc/1".into(), 0x10, 3),
                ("eth/68".into(), 0x13, 17),
                ("snap/1".into(), 0x24, 8)
            ]
        );
        assert_eq!(shared.route(0x10), Some((0, 0)));
        assert_eq!(shared.route(0x13 + 16), Some((1, 16)));
        assert_eq!(shared.route(0x24), Some((2, 0)));
        assert_eq!(shared.route(0x2c), None);
        assert_eq!(shared.route(0x0f), None);
    }

    #[test]
    fn nothing_shared() {
        let local = vec![Protocol::new("eth", 69, 18)];
        assert!(SharedCapabilities::negotiate(&local, &[Capability::new("eth", 68)]).is_none());
        assert!(SharedCapabilities::negotiate(&local, &[]).is_none());
    }

    #[test]
    fn capability_with_extra_fields_decodes() {
        // ["eth", 68, "x"]
        let raw = [0xc6, 0x83, b'e', b't', b'h', 0x44, 0x78];
        assert_eq!(
            Capability::decode(&mut &raw[..]).unwrap(),
            Capability::new("eth", 68)
        );
    }
}
