//! Bounded bookkeeping for hostile input: a per-IP packet rate limit, the set
//! of recently seen packet hashes, and the ban list.

use alloy_primitives::B256;
use ethp2p_rlpx::PeerId;
use std::{
    collections::{HashMap, HashSet, VecDeque},
    net::IpAddr,
    time::Duration,
};
use tokio::time::Instant;

/// Counts packets per source IP in fixed windows.
///
/// Bounded to `max_ips` addresses (about 48 bytes each); when full, windows
/// that have ended are dropped, and if none has, a new address is let through
/// untracked rather than evicting a tracked one.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    window: Duration,
    max_packets: u32,
    max_ips: usize,
    counts: HashMap<IpAddr, (Instant, u32)>,
}

impl RateLimiter {
    pub(crate) fn new(window: Duration, max_packets: u32, max_ips: usize) -> Self {
        Self {
            window,
            max_packets,
            max_ips,
            counts: HashMap::new(),
        }
    }

    /// Counts one packet from `ip`; false if over the limit.
    pub(crate) fn allow(&mut self, ip: IpAddr, now: Instant) -> bool {
        if let Some((start, count)) = self.counts.get_mut(&ip) {
            if now.saturating_duration_since(*start) >= self.window {
                *start = now;
                *count = 0;
            }
            *count += 1;
            return *count <= self.max_packets;
        }
        if self.counts.len() >= self.max_ips {
            let window = self.window;
            self.counts
                .retain(|_, (start, _)| now.saturating_duration_since(*start) < window);
            if self.counts.len() >= self.max_ips {
                return true;
            }
        }
        self.counts.insert(ip, (now, 1));
        1 <= self.max_packets
    }
}

/// The hashes of the last `capacity` packets accepted.
pub(crate) type RecentHashes = RecentSet<B256>;

/// The last `capacity` values inserted (first in, first out).
#[derive(Debug)]
pub(crate) struct RecentSet<T> {
    capacity: usize,
    set: HashSet<T>,
    order: VecDeque<T>,
}

impl<T: std::hash::Hash + Eq + Copy> RecentSet<T> {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            set: HashSet::with_capacity(capacity),
            order: VecDeque::with_capacity(capacity),
        }
    }

    pub(crate) fn contains(&self, hash: &T) -> bool {
        self.set.contains(hash)
    }

    pub(crate) fn insert(&mut self, hash: T) {
        if self.capacity == 0 || !self.set.insert(hash) {
            return;
        }
        self.order.push_back(hash);
        if self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
    }
}

/// Banned node ids and IPs, each with an optional end. Bounded to `capacity`
/// entries per kind: when full, ended bans are dropped first; then the new ban
/// is refused (`false`).
#[derive(Debug)]
pub(crate) struct Bans {
    capacity: usize,
    ids: HashMap<PeerId, Option<Instant>>,
    ips: HashMap<IpAddr, Option<Instant>>,
}

fn active(until: &Option<Instant>, now: Instant) -> bool {
    until.is_none_or(|u| now < u)
}

impl Bans {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            ids: HashMap::new(),
            ips: HashMap::new(),
        }
    }

    pub(crate) fn ban_id(&mut self, id: PeerId, until: Option<Instant>, now: Instant) -> bool {
        insert_bounded(&mut self.ids, id, until, now, self.capacity)
    }

    pub(crate) fn ban_ip(&mut self, ip: IpAddr, until: Option<Instant>, now: Instant) -> bool {
        insert_bounded(&mut self.ips, ip, until, now, self.capacity)
    }

    pub(crate) fn unban_id(&mut self, id: &PeerId) {
        self.ids.remove(id);
    }

    pub(crate) fn unban_ip(&mut self, ip: &IpAddr) {
        self.ips.remove(ip);
    }

    pub(crate) fn is_id_banned(&self, id: &PeerId, now: Instant) -> bool {
        self.ids.get(id).is_some_and(|u| active(u, now))
    }

    pub(crate) fn is_ip_banned(&self, ip: &IpAddr, now: Instant) -> bool {
        self.ips.get(ip).is_some_and(|u| active(u, now))
    }

    /// Drops ended bans.
    pub(crate) fn expire(&mut self, now: Instant) {
        self.ids.retain(|_, u| active(u, now));
        self.ips.retain(|_, u| active(u, now));
    }
}

fn insert_bounded<K: std::hash::Hash + Eq>(
    map: &mut HashMap<K, Option<Instant>>,
    key: K,
    until: Option<Instant>,
    now: Instant,
    capacity: usize,
) -> bool {
    if !map.contains_key(&key) && map.len() >= capacity {
        map.retain(|_, u| active(u, now));
        if map.len() >= capacity {
            return false;
        }
    }
    map.insert(key, until);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_per_ip_and_window() {
        let now = Instant::now();
        let mut r = RateLimiter::new(Duration::from_secs(60), 3, 2);
        let a: IpAddr = "1.1.1.1".parse().unwrap();
        let b: IpAddr = "2.2.2.2".parse().unwrap();
        assert!(r.allow(a, now));
        assert!(r.allow(a, now));
        assert!(r.allow(a, now));
        assert!(!r.allow(a, now));
        assert!(r.allow(b, now));
        assert!(r.allow(a, now + Duration::from_secs(60)));
    }

    #[test]
    fn recent_hashes_bounded_fifo() {
        let mut h = RecentHashes::new(2);
        let x = |n| B256::repeat_byte(n);
        h.insert(x(1));
        h.insert(x(2));
        assert!(h.contains(&x(1)));
        h.insert(x(3));
        assert!(!h.contains(&x(1)));
        assert!(h.contains(&x(2)) && h.contains(&x(3)));
        assert_eq!(h.order.len(), 2);
    }

    #[test]
    fn bans_expire_and_are_bounded() {
        let now = Instant::now();
        let mut b = Bans::new(1);
        let ip: IpAddr = "3.3.3.3".parse().unwrap();
        assert!(b.ban_ip(ip, Some(now + Duration::from_secs(5)), now));
        assert!(b.is_ip_banned(&ip, now));
        assert!(!b.is_ip_banned(&ip, now + Duration::from_secs(5)));
        // Full with an active ban: refused; after it ends: accepted.
        let other: IpAddr = "4.4.4.4".parse().unwrap();
        assert!(!b.ban_ip(other, None, now));
        assert!(b.ban_ip(other, None, now + Duration::from_secs(6)));
        assert!(b.is_ip_banned(&other, now + Duration::from_secs(1_000_000)));
    }
}
