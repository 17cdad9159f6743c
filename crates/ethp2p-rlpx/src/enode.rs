//! `enode://` node records: `enode://<128 hex id>@<ip>:<tcp port>[?discport=<udp port>]`.

use crate::key::{public_key_from_peer_id, PeerId};
use std::{
    fmt,
    net::{IpAddr, SocketAddr},
    str::FromStr,
};

/// A node's identity and address, as written in an `enode://` URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NodeRecord {
    /// The node's public key.
    pub id: PeerId,
    /// Its IP address (IPv4 or IPv6).
    pub address: IpAddr,
    /// Its RLPx (TCP) listening port.
    pub tcp_port: u16,
    /// Its discovery (UDP) port; equal to `tcp_port` unless `?discport=` says otherwise.
    pub udp_port: u16,
}

impl NodeRecord {
    /// A record whose TCP and UDP ports are the same.
    pub fn new(id: PeerId, addr: SocketAddr) -> Self {
        Self {
            id,
            address: addr.ip(),
            tcp_port: addr.port(),
            udp_port: addr.port(),
        }
    }

    /// The TCP socket address to dial.
    pub fn tcp_addr(&self) -> SocketAddr {
        SocketAddr::new(self.address, self.tcp_port)
    }
}

/// Why an `enode://` URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeRecordParseError {
    /// The URL does not start with `enode://`.
    #[error("enode URL must start with \"enode://\"")]
    MissingScheme,
    /// No `@` separates the id from the address.
    #[error("enode URL has no \"@<ip>:<port>\" part")]
    MissingAddress,
    /// The id is not 128 hex characters.
    #[error("node id must be 128 hex characters, got {0} characters")]
    InvalidIdLength(usize),
    /// The id contains non-hex characters.
    #[error("node id is not valid hex")]
    InvalidIdHex,
    /// The id is not a point on secp256k1.
    #[error("node id is not a valid secp256k1 public key")]
    InvalidIdKey,
    /// The host part is not an IP address.
    #[error("invalid IP address {0:?} (host names are not resolved; give an IP)")]
    InvalidIp(String),
    /// The port is missing.
    #[error("missing TCP port after the address")]
    MissingPort,
    /// The TCP port is not a number in 0..=65535.
    #[error("invalid TCP port {0:?}")]
    InvalidPort(String),
    /// The `discport` value is not a port number.
    #[error("invalid discport {0:?}")]
    InvalidDiscport(String),
    /// A query parameter other than `discport`.
    #[error("unsupported query {0:?} (only \"discport\" is known)")]
    UnknownQuery(String),
}

impl FromStr for NodeRecord {
    type Err = NodeRecordParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        use NodeRecordParseError as E;
        let rest = s.strip_prefix("enode://").ok_or(E::MissingScheme)?;
        let (id_hex, rest) = rest.split_once('@').ok_or(E::MissingAddress)?;
        if id_hex.len() != 128 {
            return Err(E::InvalidIdLength(id_hex.len()));
        }
        let id = PeerId::from_str(id_hex).map_err(|_| E::InvalidIdHex)?;
        public_key_from_peer_id(&id).map_err(|_| E::InvalidIdKey)?;

        let (hostport, query) = match rest.split_once('?') {
            Some((hp, q)) => (hp, Some(q)),
            None => (rest, None),
        };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| E::InvalidIp(hostport.into()))?;
            let port = after.strip_prefix(':').ok_or(E::MissingPort)?;
            (host, port)
        } else {
            hostport.rsplit_once(':').ok_or(E::MissingPort)?
        };
        let address = IpAddr::from_str(host).map_err(|_| E::InvalidIp(host.into()))?;
        let tcp_port = parse_port(port).ok_or_else(|| E::InvalidPort(port.into()))?;
        let mut udp_port = tcp_port;
        if let Some(query) = query {
            for pair in query.split('&').filter(|p| !p.is_empty()) {
                match pair.split_once('=') {
                    Some(("discport", v)) => {
                        udp_port = parse_port(v).ok_or_else(|| E::InvalidDiscport(v.into()))?
                    }
                    _ => return Err(E::UnknownQuery(pair.into())),
                }
            }
        }
        Ok(Self {
            id,
            address,
            tcp_port,
            udp_port,
        })
    }
}

fn parse_port(s: &str) -> Option<u16> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl fmt::Display for NodeRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "enode://{}@", hex::encode(self.id))?;
        match self.address {
            IpAddr::V4(ip) => write!(f, "{ip}")?,
            IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
                Some(v4) => write!(f, "{v4}")?,
                None => write!(f, "[{ip}]")?,
            },
        }
        write!(f, ":{}", self.tcp_port)?;
        if self.udp_port != self.tcp_port {
            write!(f, "?discport={}", self.udp_port)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{generate_secret_key, peer_id_from_secret_key};

    fn id_hex() -> String {
        hex::encode(peer_id_from_secret_key(&generate_secret_key()))
    }

    #[test]
    fn parses_and_prints_ipv4() {
        let s = format!("enode://{}@10.3.58.6:30303", id_hex());
        let r: NodeRecord = s.parse().unwrap();
        assert_eq!(r.tcp_port, 30303);
        assert_eq!(r.udp_port, 30303);
        assert_eq!(r.to_string(), s);
    }

    #[test]
    fn parses_discport_and_ipv6() {
        let s = format!("enode://{}@[2001:db8::1]:30303?discport=30301", id_hex());
        let r: NodeRecord = s.parse().unwrap();
        assert_eq!(r.address, "2001:db8::1".parse::<IpAddr>().unwrap());
        assert_eq!((r.tcp_port, r.udp_port), (30303, 30301));
        assert_eq!(r.to_string(), s);
    }

    #[test]
    fn geth_mainnet_bootnode_parses() {
        let s = "enode://d860a01f9722d78051619d1e2351aba3f43f943f6f00718d1b9baa4101932a1f5011f16bb2b1bb35db20d6fe28fa0bf09636d26a87d31de9ec6203eeedb1f666@18.138.108.67:30303";
        let r: NodeRecord = s.parse().unwrap();
        assert_eq!(r.to_string(), s);
    }

    #[test]
    fn every_malformed_form_has_its_error() {
        use NodeRecordParseError as E;
        let id = id_hex();
        let cases: Vec<(String, E)> = vec![
            (format!("enr://{id}@1.2.3.4:1"), E::MissingScheme),
            (format!("enode://{id}"), E::MissingAddress),
            ("enode://abcd@1.2.3.4:1".into(), E::InvalidIdLength(4)),
            (
                format!("enode://{}@1.2.3.4:1", "zz".repeat(64)),
                E::InvalidIdHex,
            ),
            (
                format!("enode://{}@1.2.3.4:1", "00".repeat(64)),
                E::InvalidIdKey,
            ),
            (
                format!("enode://{id}@1.2.3:1"),
                E::InvalidIp("1.2.3".into()),
            ),
            (
                format!("enode://{id}@host.example:1"),
                E::InvalidIp("host.example".into()),
            ),
            (format!("enode://{id}@1.2.3.4"), E::MissingPort),
            (
                format!("enode://{id}@1.2.3.4:70000"),
                E::InvalidPort("70000".into()),
            ),
            (
                format!("enode://{id}@1.2.3.4:-1"),
                E::InvalidPort("-1".into()),
            ),
            (format!("enode://{id}@[::1]"), E::MissingPort),
            (
                format!("enode://{id}@[::1:1"),
                E::InvalidIp("[::1:1".into()),
            ),
            (
                format!("enode://{id}@1.2.3.4:1?discport=x"),
                E::InvalidDiscport("x".into()),
            ),
            (
                format!("enode://{id}@1.2.3.4:1?foo=1"),
                E::UnknownQuery("foo=1".into()),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(input.parse::<NodeRecord>().unwrap_err(), want, "{input}");
        }
    }
}
