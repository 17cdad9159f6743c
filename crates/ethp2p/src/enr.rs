//! Ethereum Node Records (EIP-778) with the "v4" identity scheme, for
//! `admin_nodeInfo`'s `enr` field.

use alloy_primitives::keccak256;
use alloy_rlp::{Encodable, Header};
use ethp2p_rlpx::SecretKey;
use secp256k1::{Message, SECP256K1};
use std::net::IpAddr;

/// The parts of a record this node announces.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EnrFields {
    /// Sequence number.
    pub seq: u64,
    /// IP address (`ip` or `ip6`).
    pub ip: Option<IpAddr>,
    /// RLPx port.
    pub tcp: Option<u16>,
    /// Discovery port.
    pub udp: Option<u16>,
}

/// The signed record as `enr:<base64url>`.
pub(crate) fn encode(key: &SecretKey, f: &EnrFields) -> String {
    let public = key.public_key(SECP256K1).serialize();
    // Keys in lexicographic order, as the EIP requires.
    let mut content: Vec<u8> = Vec::new();
    f.seq.encode(&mut content);
    b"id".as_slice().encode(&mut content);
    b"v4".as_slice().encode(&mut content);
    match f.ip {
        Some(IpAddr::V4(ip)) => {
            b"ip".as_slice().encode(&mut content);
            ip.octets().as_slice().encode(&mut content);
        }
        Some(IpAddr::V6(ip)) => {
            b"ip6".as_slice().encode(&mut content);
            ip.octets().as_slice().encode(&mut content);
        }
        None => {}
    }
    b"secp256k1".as_slice().encode(&mut content);
    public.as_slice().encode(&mut content);
    if let Some(p) = f.tcp {
        b"tcp".as_slice().encode(&mut content);
        p.encode(&mut content);
    }
    if let Some(p) = f.udp {
        b"udp".as_slice().encode(&mut content);
        p.encode(&mut content);
    }
    let hash = keccak256(list(&content));
    let sig = SECP256K1
        .sign_ecdsa(Message::from_digest(hash.0), key)
        .serialize_compact();
    let mut signed = Vec::with_capacity(content.len() + 66);
    sig.as_slice().encode(&mut signed);
    signed.extend_from_slice(&content);
    format!("enr:{}", base64url(&list(&signed)))
}

fn list(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 3);
    Header {
        list: true,
        payload_length: payload.len(),
    }
    .encode(&mut out);
    out.extend_from_slice(payload);
    out
}

/// Base64 with the URL-safe alphabet and no padding (RFC 4648 §5).
fn base64url(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 0x3f) as usize] as char);
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The secret key of EIP-778's example record (also geth's test key).
    pub(crate) fn example_key() -> SecretKey {
        SecretKey::from_byte_array(
            hex::decode("b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291")
                .expect("hex")
                .try_into()
                .expect("32 bytes"),
        )
        .expect("a valid key")
    }

    #[test]
    fn eip778_example_record() {
        // The example record of EIP-778 (deterministic RFC 6979 signature).
        let key = example_key();
        let enr = encode(
            &key,
            &EnrFields {
                seq: 1,
                ip: Some("127.0.0.1".parse().unwrap()),
                tcp: None,
                udp: Some(30303),
            },
        );
        assert_eq!(
            enr,
            "enr:-IS4QHCYrYZbAKWCBRlAy5zzaDZXJBGkcnh4MHcBFZntXNFrdvJjX04jRzjzCBOonrkTfj499SZuOh8R33Ls8RRcy5wBgmlkgnY0gmlwhH8AAAGJc2VjcDI1NmsxoQPKY0yuDUmstAHYpMa2_oxVtw0RW_QAdpzBQA8yWM0xOIN1ZHCCdl8"
        );
    }

    #[test]
    fn base64url_pads_nothing() {
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }
}
