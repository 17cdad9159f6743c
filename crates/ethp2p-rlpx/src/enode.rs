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
    #[error("invalid IP address {0:?} (host names are not resolved here; give an IP)")]
    InvalidIp(String),
    /// The host is neither an IP address nor a DNS host name.
    #[error("invalid host {0:?} (an IP address or a DNS host name)")]
    InvalidHost(String),
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

/// The parts of an `enode://` URL: id, host (unchecked), TCP and UDP port.
fn split_url(s: &str) -> Result<(PeerId, &str, u16, u16), NodeRecordParseError> {
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
    Ok((id, host, tcp_port, udp_port))
}

impl FromStr for NodeRecord {
    type Err = NodeRecordParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (id, host, tcp_port, udp_port) = split_url(s)?;
        let address =
            IpAddr::from_str(host).map_err(|_| NodeRecordParseError::InvalidIp(host.into()))?;
        Ok(Self {
            id,
            address,
            tcp_port,
            udp_port,
        })
    }
}

/// The host of an [`EnodeUrl`]: an IP address, or a DNS name to resolve.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EnodeHost {
    /// An IP address.
    Ip(IpAddr),
    /// A DNS host name (letters, digits, `-` and `.`; at most 253
    /// characters, labels of at most 63), not yet resolved.
    Name(String),
}

/// An `enode://` URL as users write it: like a [`NodeRecord`], but the host
/// may be a DNS name (`enode://<id>@bootnode.example.org:30303`), which the
/// caller resolves (this crate does no I/O) and turns into a record with
/// [`EnodeUrl::with_ip`]. [`EnodeUrl::record`] gives the record directly
/// when the host is already an IP.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EnodeUrl {
    /// The node's public key.
    pub id: PeerId,
    /// Its host.
    pub host: EnodeHost,
    /// Its RLPx (TCP) listening port.
    pub tcp_port: u16,
    /// Its discovery (UDP) port.
    pub udp_port: u16,
}

impl EnodeUrl {
    /// The record, when the host is an IP address.
    pub fn record(&self) -> Option<NodeRecord> {
        match self.host {
            EnodeHost::Ip(ip) => Some(self.with_ip(ip)),
            EnodeHost::Name(_) => None,
        }
    }

    /// The record with the host resolved to `ip`.
    pub fn with_ip(&self, ip: IpAddr) -> NodeRecord {
        NodeRecord {
            id: self.id,
            address: ip,
            tcp_port: self.tcp_port,
            udp_port: self.udp_port,
        }
    }

    /// The host name to resolve, if the host is not an IP.
    pub fn host_name(&self) -> Option<&str> {
        match &self.host {
            EnodeHost::Name(n) => Some(n),
            EnodeHost::Ip(_) => None,
        }
    }
}

impl From<NodeRecord> for EnodeUrl {
    fn from(r: NodeRecord) -> Self {
        Self {
            id: r.id,
            host: EnodeHost::Ip(r.address),
            tcp_port: r.tcp_port,
            udp_port: r.udp_port,
        }
    }
}

/// Whether `s` is a DNS host name (RFC 1123 syntax) with at least one
/// letter, so that a malformed IP such as `1.2.3` is not taken for a name.
fn is_host_name(s: &str) -> bool {
    let s = s.strip_suffix('.').unwrap_or(s);
    !s.is_empty()
        && s.len() <= 253
        && s.bytes().any(|b| b.is_ascii_alphabetic())
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

impl FromStr for EnodeUrl {
    type Err = NodeRecordParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (id, host, tcp_port, udp_port) = split_url(s)?;
        let host = match IpAddr::from_str(host) {
            Ok(ip) => EnodeHost::Ip(ip),
            Err(_) if is_host_name(host) => EnodeHost::Name(host.to_ascii_lowercase()),
            Err(_) => return Err(NodeRecordParseError::InvalidHost(host.into())),
        };
        Ok(Self {
            id,
            host,
            tcp_port,
            udp_port,
        })
    }
}

impl fmt::Display for EnodeUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            EnodeHost::Ip(ip) => self.with_ip(*ip).fmt(f),
            EnodeHost::Name(name) => {
                write!(
                    f,
                    "enode://{}@{name}:{}",
                    hex::encode(self.id),
                    self.tcp_port
                )?;
                if self.udp_port != self.tcp_port {
                    write!(f, "?discport={}", self.udp_port)?;
                }
                Ok(())
            }
        }
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

    #[test]
    fn enode_urls_take_host_names_and_ips() {
        let id = id_hex();
        let u: EnodeUrl = format!("enode://{id}@Boot.Example.org:30303?discport=30301")
            .parse()
            .unwrap();
        assert_eq!(u.host, EnodeHost::Name("boot.example.org".into()));
        assert_eq!(u.host_name(), Some("boot.example.org"));
        assert_eq!((u.tcp_port, u.udp_port), (30303, 30301));
        assert_eq!(u.record(), None);
        let r = u.with_ip("10.0.0.1".parse().unwrap());
        assert_eq!(
            r.to_string(),
            format!("enode://{id}@10.0.0.1:30303?discport=30301")
        );
        assert_eq!(
            u.to_string(),
            format!("enode://{id}@boot.example.org:30303?discport=30301")
        );
        // An IP host gives the record at once, as NodeRecord parses it.
        let s = format!("enode://{id}@[::1]:30303");
        let u: EnodeUrl = s.parse().unwrap();
        assert_eq!(u.record(), Some(s.parse::<NodeRecord>().unwrap()));
        assert_eq!(u.to_string(), s);
        assert_eq!(EnodeUrl::from(u.record().unwrap()), u);
        assert_eq!(
            format!("enode://{id}@localhost:1")
                .parse::<EnodeUrl>()
                .unwrap()
                .host_name(),
            Some("localhost")
        );
    }

    #[test]
    fn enode_urls_refuse_what_is_no_host() {
        use NodeRecordParseError as E;
        let id = id_hex();
        let long = format!("{}.org", "a".repeat(64));
        for (host, want) in [
            ("1.2.3", E::InvalidHost("1.2.3".into())),
            ("bad_name.org", E::InvalidHost("bad_name.org".into())),
            ("-a.org", E::InvalidHost("-a.org".into())),
            ("a..org", E::InvalidHost("a..org".into())),
            (long.as_str(), E::InvalidHost(long.clone())),
        ] {
            let input = format!("enode://{id}@{host}:1");
            assert_eq!(input.parse::<EnodeUrl>().unwrap_err(), want, "{input}");
        }
        // Everything else is checked as for a NodeRecord.
        assert_eq!(
            format!("enode://{id}@a.org")
                .parse::<EnodeUrl>()
                .unwrap_err(),
            E::MissingPort
        );
    }
}
