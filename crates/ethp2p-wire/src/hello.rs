//! The Hello message: `[protocolVersion, clientId, [[cap, version], ...], listenPort, nodeId, ...]`.

use crate::capability::Capability;
use alloy_primitives::B512;
use alloy_rlp::{Decodable, Encodable, Header};

/// Most capabilities we read from a Hello (geth and reth advertise a handful).
pub const MAX_HELLO_CAPABILITIES: usize = 64;
/// Longest client id we keep.
pub const MAX_CLIENT_ID_LEN: usize = 1024;

/// The first message each side sends after the RLPx handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelloMessage {
    /// Base protocol version (5 for snappy-capable peers).
    pub protocol_version: u64,
    /// Free-form client name, e.g. `Geth/v1.17.5-stable/linux-amd64/go1.24`.
    pub client_id: String,
    /// Capabilities the sender supports.
    pub capabilities: Vec<Capability>,
    /// The sender's listening port, 0 if none.
    pub port: u16,
    /// The sender's node id (public key).
    pub id: B512,
}

impl Encodable for HelloMessage {
    fn encode(&self, out: &mut dyn alloy_rlp::BufMut) {
        let caps_len: usize = self.capabilities.iter().map(Encodable::length).sum();
        let payload_length = self.protocol_version.length()
            + self.client_id.as_bytes().length()
            + Header {
                list: true,
                payload_length: caps_len,
            }
            .length()
            + caps_len
            + self.port.length()
            + self.id.length();
        Header {
            list: true,
            payload_length,
        }
        .encode(out);
        self.protocol_version.encode(out);
        self.client_id.as_bytes().encode(out);
        Header {
            list: true,
            payload_length: caps_len,
        }
        .encode(out);
        for c in &self.capabilities {
            c.encode(out);
        }
        self.port.encode(out);
        self.id.encode(out);
    }
}

impl Decodable for HelloMessage {
    /// Lenient as EIP-8 asks: extra list elements (in the Hello and in each
    /// capability) are ignored and higher versions accepted; the caller decides
    /// what version it requires.
    fn decode(buf: &mut &[u8]) -> alloy_rlp::Result<Self> {
        // A list whose payload lies within the input; advances past it.
        let mut body = Header::decode_bytes(buf, true)?;

        let protocol_version = u64::decode(&mut body)?;
        let client_id_bytes = Header::decode_bytes(&mut body, false)?;
        if client_id_bytes.len() > MAX_CLIENT_ID_LEN {
            return Err(alloy_rlp::Error::Custom("client id too long"));
        }
        let client_id = String::from_utf8_lossy(client_id_bytes).into_owned();
        let mut caps = Header::decode_bytes(&mut body, true)?;
        let mut capabilities = Vec::new();
        while !caps.is_empty() {
            if capabilities.len() == MAX_HELLO_CAPABILITIES {
                return Err(alloy_rlp::Error::Custom("too many capabilities"));
            }
            capabilities.push(Capability::decode(&mut caps)?);
        }
        // Some clients write an empty string instead of 0 for "no port".
        let port = u16::decode(&mut body)?;
        let id_bytes = Header::decode_bytes(&mut body, false)?;
        let id = B512::try_from(id_bytes)
            .map_err(|_| alloy_rlp::Error::Custom("node id is not 64 bytes"))?;
        Ok(HelloMessage {
            protocol_version,
            client_id,
            capabilities,
            port,
            id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// EIP-8: "Hello with version 22 and extra elements" must be accepted.
    #[test]
    fn eip8_hello_vector() {
        let raw = hex::decode("f87137916b6e6574682f76302e39312f706c616e39cdc5836574683dc6846d6f726b1682270fb840fda1cff674c90c9a197539fe3dfb53086ace64f83ed7c6eabec741f7f381cc803e52ab2cd55d5569bce4347107a310dfd5f88a010cd2ffd1005ca406f1842877c883666f6f836261720304").unwrap();
        let hello = HelloMessage::decode(&mut &raw[..]).unwrap();
        assert_eq!(hello.protocol_version, 55);
        assert_eq!(hello.client_id, "kneth/v0.91/plan9");
        assert_eq!(
            hello.capabilities,
            vec![Capability::new("eth", 61), Capability::new("mork", 22)]
        );
        assert_eq!(hello.port, 9999);
        assert_eq!(hex::encode(&hello.id[..4]), "fda1cff6");
    }

    #[test]
    fn round_trip() {
        let h = HelloMessage {
            protocol_version: 5,
            client_id: "ethp2p/0.1".into(),
            capabilities: vec![Capability::new("eth", 68), Capability::new("snap", 1)],
            port: 30303,
            id: B512::repeat_byte(7),
        };
        let mut out = Vec::new();
        h.encode(&mut out);
        assert_eq!(HelloMessage::decode(&mut &out[..]).unwrap(), h);
        assert_eq!(out.len(), h.length());
    }

    #[test]
    fn rejects_short_id_and_truncation() {
        let h = HelloMessage {
            protocol_version: 5,
            client_id: "x".into(),
            capabilities: vec![],
            port: 0,
            id: B512::ZERO,
        };
        let mut out = Vec::new();
        h.encode(&mut out);
        for cut in 1..out.len() {
            assert!(HelloMessage::decode(&mut &out[..cut]).is_err(), "cut {cut}");
        }
    }
}
