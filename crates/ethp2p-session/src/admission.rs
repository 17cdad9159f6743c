//! Admission control for inbound connections: a per-IP throttle (as geth's
//! `inboundThrottleTime`), exempting loopback and private LAN sources.

use std::{
    collections::HashMap,
    net::IpAddr,
    time::{Duration, Instant},
};

/// How long geth makes a source address wait before it may connect again.
pub const DEFAULT_INBOUND_THROTTLE: Duration = Duration::from_secs(30);
/// Entries kept at most; the oldest are dropped first when a flood exceeds it.
const MAX_TRACKED: usize = 65_536;

/// Remembers recent inbound sources and refuses a repeat within the window.
#[derive(Debug)]
pub struct InboundThrottle {
    window: Duration,
    recent: HashMap<IpAddr, Instant>,
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
        }
    }

    /// Whether a connection from `ip` at `now` may proceed; records it if so.
    pub fn admit(&mut self, ip: IpAddr, now: Instant) -> bool {
        if self.window.is_zero() || is_lan(ip) {
            return true;
        }
        if let Some(&at) = self.recent.get(&ip) {
            if now.duration_since(at) < self.window {
                return false;
            }
        }
        if self.recent.len() >= MAX_TRACKED {
            self.expire(now);
            if self.recent.len() >= MAX_TRACKED {
                // Still full of fresh entries: forget the oldest.
                if let Some(oldest) = self
                    .recent
                    .iter()
                    .min_by_key(|(_, t)| **t)
                    .map(|(ip, _)| *ip)
                {
                    self.recent.remove(&oldest);
                }
            }
        }
        self.recent.insert(ip, now);
        true
    }

    /// Forgets entries older than the window.
    pub fn expire(&mut self, now: Instant) {
        let window = self.window;
        self.recent.retain(|_, at| now.duration_since(*at) < window);
    }

    /// Addresses currently remembered.
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
}
