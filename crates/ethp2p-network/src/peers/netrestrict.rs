//! Netrestrict: an allow-list of IP networks (geth `--netrestrict`, reth
//! `--netrestrict`). An empty list allows every address.

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    str::FromStr,
};

/// Most networks one [`IpFilter`] holds; more is a configuration mistake and
/// makes every admission check slower.
pub const MAX_NETWORKS: usize = 1024;

/// One IPv4 or IPv6 network in CIDR form, e.g. `10.0.0.0/8` or `2001:db8::/32`.
///
/// Host bits below the prefix are cleared when parsing, as geth does, so
/// `10.1.2.3/8` is the same network as `10.0.0.0/8`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IpNetwork {
    addr: IpAddr,
    prefix: u8,
}

/// Why a CIDR network or list was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IpFilterParseError {
    /// No `/` separates the address from the prefix length.
    #[error("{0:?} is not in CIDR form (address/prefix)")]
    MissingPrefix(String),
    /// The address part is not an IP address.
    #[error("invalid IP address in {0:?}")]
    InvalidAddress(String),
    /// The prefix length is not a number, or longer than the address.
    #[error("invalid prefix length in {0:?}")]
    InvalidPrefix(String),
    /// The list names more than [`MAX_NETWORKS`] networks.
    #[error("more than {MAX_NETWORKS} networks")]
    TooManyNetworks,
}

impl IpNetwork {
    /// The network of `addr` with `prefix` leading bits; `None` when the prefix
    /// is longer than the address (32 for IPv4, 128 for IPv6).
    pub fn new(addr: IpAddr, prefix: u8) -> Option<Self> {
        let addr = match addr {
            IpAddr::V4(v4) => {
                if prefix > 32 {
                    return None;
                }
                IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask32(prefix)))
            }
            IpAddr::V6(v6) => {
                if prefix > 128 {
                    return None;
                }
                IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask128(prefix)))
            }
        };
        Some(Self { addr, prefix })
    }

    /// The network address (host bits cleared).
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length in bits.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` lies in this network. An IPv4-mapped IPv6 address
    /// (`::ffff:a.b.c.d`) is matched as the IPv4 address it carries.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6
                .to_ipv4_mapped()
                .map(IpAddr::V4)
                .unwrap_or(IpAddr::V6(v6)),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                u32::from(ip) & mask32(self.prefix) == u32::from(net)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                u128::from(ip) & mask128(self.prefix) == u128::from(net)
            }
            _ => false,
        }
    }
}

fn mask32(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn mask128(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

impl FromStr for IpNetwork {
    type Err = IpFilterParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (addr, prefix) = s
            .split_once('/')
            .ok_or_else(|| IpFilterParseError::MissingPrefix(s.to_owned()))?;
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| IpFilterParseError::InvalidAddress(s.to_owned()))?;
        let prefix: u8 = prefix
            .parse()
            .map_err(|_| IpFilterParseError::InvalidPrefix(s.to_owned()))?;
        Self::new(addr, prefix).ok_or_else(|| IpFilterParseError::InvalidPrefix(s.to_owned()))
    }
}

impl fmt::Display for IpNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// The netrestrict allow-list: an address passes when the list is empty or
/// when one of its networks contains it. At most [`MAX_NETWORKS`] entries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IpFilter {
    networks: Vec<IpNetwork>,
}

impl IpFilter {
    /// A filter that allows every address.
    pub fn allow_all() -> Self {
        Self::default()
    }

    /// A filter allowing only these networks (empty allows everything).
    pub fn new(networks: Vec<IpNetwork>) -> Result<Self, IpFilterParseError> {
        if networks.len() > MAX_NETWORKS {
            return Err(IpFilterParseError::TooManyNetworks);
        }
        Ok(Self { networks })
    }

    /// Whether `ip` may be used: dialed, accepted or added.
    pub fn is_allowed(&self, ip: IpAddr) -> bool {
        self.networks.is_empty() || self.networks.iter().any(|n| n.contains(ip))
    }

    /// The networks of the list.
    pub fn networks(&self) -> &[IpNetwork] {
        &self.networks
    }
}

impl FromStr for IpFilter {
    type Err = IpFilterParseError;

    /// Parses a comma-separated CIDR list as geth's `--netrestrict` takes it;
    /// empty items are skipped, so `""` allows every address.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut networks = Vec::new();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            if networks.len() == MAX_NETWORKS {
                return Err(IpFilterParseError::TooManyNetworks);
            }
            networks.push(item.parse()?);
        }
        Ok(Self { networks })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ipv4_networks_match_by_prefix() {
        let f: IpFilter = "10.0.0.0/8, 192.168.1.0/24".parse().unwrap();
        assert!(f.is_allowed(ip("10.200.3.4")));
        assert!(f.is_allowed(ip("192.168.1.77")));
        assert!(!f.is_allowed(ip("192.168.2.1")));
        assert!(!f.is_allowed(ip("11.0.0.1")));
        // An IPv4-mapped IPv6 address is matched as IPv4.
        assert!(f.is_allowed(ip("::ffff:10.0.0.1")));
        assert!(!f.is_allowed(ip("2001:db8::1")));
    }

    #[test]
    fn ipv6_networks_match_by_prefix() {
        let f: IpFilter = "2001:db8::/32".parse().unwrap();
        assert!(f.is_allowed(ip("2001:db8:ffff::1")));
        assert!(!f.is_allowed(ip("2001:db9::1")));
        assert!(!f.is_allowed(ip("10.0.0.1")));
    }

    #[test]
    fn host_bits_are_cleared_and_edges_hold() {
        let n: IpNetwork = "10.1.2.3/8".parse().unwrap();
        assert_eq!(n.addr(), ip("10.0.0.0"));
        assert_eq!(n.to_string(), "10.0.0.0/8");
        let all: IpNetwork = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.9")));
        let one: IpNetwork = "203.0.113.9/32".parse().unwrap();
        assert!(one.contains(ip("203.0.113.9")));
        assert!(!one.contains(ip("203.0.113.8")));
        let v6one: IpNetwork = "::1/128".parse().unwrap();
        assert!(v6one.contains(ip("::1")) && !v6one.contains(ip("::2")));
    }

    #[test]
    fn empty_list_allows_everything() {
        let f: IpFilter = "".parse().unwrap();
        assert!(f.is_allowed(ip("8.8.8.8")) && f.is_allowed(ip("::1")));
        assert!(IpFilter::allow_all().is_allowed(ip("1.2.3.4")));
    }

    #[test]
    fn malformed_networks_are_refused() {
        use IpFilterParseError as E;
        assert!(matches!(
            "10.0.0.0".parse::<IpNetwork>(),
            Err(E::MissingPrefix(_))
        ));
        assert!(matches!(
            "10.0.0/8".parse::<IpNetwork>(),
            Err(E::InvalidAddress(_))
        ));
        assert!(matches!(
            "10.0.0.0/33".parse::<IpNetwork>(),
            Err(E::InvalidPrefix(_))
        ));
        assert!(matches!(
            "::/129".parse::<IpNetwork>(),
            Err(E::InvalidPrefix(_))
        ));
        assert!(matches!(
            "10.0.0.0/x".parse::<IpNetwork>(),
            Err(E::InvalidPrefix(_))
        ));
        let many = vec!["10.0.0.0/8"; MAX_NETWORKS + 1].join(",");
        assert_eq!(many.parse::<IpFilter>(), Err(E::TooManyNetworks));
    }
}
