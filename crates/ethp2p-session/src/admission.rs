//! Admission control for inbound connections: a per-IP throttle (as geth's
//! `inboundThrottleTime`), exempting loopback and private LAN sources.

use std::{
    collections::{HashMap, VecDeque},
    net::IpAddr,
    time::Duration,
};
use tokio::time::Instant;

/// How long geth makes a source address wait before it may connect again.
pub const DEFAULT_INBOUND_THROTTLE: Duration = Duration::from_secs(30);
/// Sources remembered at most; past it the oldest is forgotten first.
pub const MAX_TRACKED: usize = 65_536;

/// What one source is remembered by: an IPv4 address, or the /64 prefix of
/// an IPv6 address (one subscriber's allocation, so a host cannot dodge the
/// throttle by rotating through its own addresses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Source {
    V4(u32),
    V6Prefix(u64),
}

impl Source {
    fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Source::V4(v4.into()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Source::V4(v4.into()),
                None => Source::V6Prefix((u128::from(v6) >> 64) as u64),
            },
        }
    }
}

/// Remembers recent inbound sources and refuses a repeat within the window.
/// Bounded by [`MAX_TRACKED`] entries, with O(1) amortized work per
/// connection: entries expire and are evicted in admission order.
#[derive(Debug)]
pub struct InboundThrottle {
    window: Duration,
    recent: HashMap<Source, Instant>,
    /// Admissions, oldest first (the map holds each source's latest).
    order: VecDeque<(Source, Instant)>,
}

/// True for addresses geth exempts: loopback, private (RFC 1918), link-local,
/// CGNAT shared space, and IPv6 unique-local / link-local.
pub fn is_lan(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_lan(IpAddr::V4(v4)),
            None => {
                let s = v6.segments();
                v6.is_loopback()
                    || v6.is_unspecified()
                    || (s[0] & 0xfe00) == 0xfc00
                    || (s[0] & 0xffc0) == 0xfe80
            }
        },
    }
}

impl InboundThrottle {
    /// A throttle with the given window (zero disables it).
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            recent: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// Forgets the oldest admission, if the map still holds it as the latest.
    fn pop_oldest(&mut self) {
        if let Some((src, at)) = self.order.pop_front() {
            if self.recent.get(&src) == Some(&at) {
                self.recent.remove(&src);
            }
        }
    }

    /// Whether a connection from `ip` at `now` may proceed; records it if so.
    pub fn admit(&mut self, ip: IpAddr, now: Instant) -> bool {
        if self.window.is_zero() || is_lan(ip) {
            return true;
        }
        self.expire(now);
        let src = Source::of(ip);
        if let Some(&at) = self.recent.get(&src) {
            if now.saturating_duration_since(at) < self.window {
                return false;
            }
        }
        while self.order.len() >= MAX_TRACKED {
            self.pop_oldest();
        }
        self.recent.insert(src, now);
        self.order.push_back((src, now));
        true
    }

    /// Forgets entries older than the window.
    pub fn expire(&mut self, now: Instant) {
        while let Some(&(_, at)) = self.order.front() {
            if now.saturating_duration_since(at) < self.window {
                break;
            }
            self.pop_oldest();
        }
    }

    /// Sources currently remembered.
    pub fn len(&self) -> usize {
        self.recent.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.recent.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeat_within_window_is_refused_then_allowed() {
        let mut t = InboundThrottle::new(Duration::from_secs(30));
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        let now = Instant::now();
        assert!(t.admit(ip, now));
        assert!(!t.admit(ip, now + Duration::from_secs(29)));
        assert!(t.admit(ip, now + Duration::from_secs(31)));
        assert!(t.admit("198.51.100.1".parse().unwrap(), now));
    }

    #[test]
    fn lan_and_loopback_are_exempt() {
        let mut t = InboundThrottle::new(Duration::from_secs(30));
        let now = Instant::now();
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.9",
            "172.16.5.5",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(is_lan(ip), "{ip}");
            assert!(t.admit(ip, now) && t.admit(ip, now), "{ip}");
        }
        assert!(!is_lan("8.8.8.8".parse().unwrap()));
        assert!(t.is_empty());
    }

    #[test]
    fn disabled_throttle_admits_everything() {
        let mut t = InboundThrottle::new(Duration::ZERO);
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        assert!(t.admit(ip, Instant::now()) && t.admit(ip, Instant::now()));
    }

    #[test]
    fn ipv6_sources_are_keyed_by_their_64_prefix() {
        let mut t = InboundThrottle::new(Duration::from_secs(30));
        let now = Instant::now();
        assert!(t.admit("2001:db8:1:2::1".parse().unwrap(), now));
        assert!(
            !t.admit("2001:db8:1:2:ffff::9".parse().unwrap(), now),
            "same /64"
        );
        assert!(t.admit("2001:db8:1:3::1".parse().unwrap(), now), "next /64");
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn the_table_is_bounded_and_forgets_the_oldest() {
        let mut t = InboundThrottle::new(Duration::from_secs(30));
        let now = Instant::now();
        let first: IpAddr = "11.0.0.0".parse().unwrap();
        for i in 0..(MAX_TRACKED as u32 + 10) {
            let ip = IpAddr::V4((0x0b00_0000 + i).into());
            assert!(t.admit(ip, now));
        }
        assert_eq!(t.len(), MAX_TRACKED);
        assert!(t.admit(first, now), "the oldest was forgotten");
        // Expiry empties it.
        t.expire(now + Duration::from_secs(30));
        assert!(t.is_empty());
    }
}
