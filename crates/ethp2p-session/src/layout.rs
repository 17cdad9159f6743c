//! Which protocols a session runs, decided by the shared capabilities.
//!
//! devp2p sorts the shared capabilities by name and gives each its message-id
//! range after the reserved `0x00..=0x0f`, so `eth` always comes before
//! `snap`. Two layouts carry snap:
//!
//! | shared capabilities | layout | routing |
//! |---|---|---|
//! | `eth/N` only | [`ConnectionLayout::Eth`] | everything is eth |
//! | exactly `eth/N` + `snap/2` | [`ConnectionLayout::EthSnap`] (reth's `EthSnapStream`) | eth at `0x10`, snap right after eth's range: fixed indexes 0 and 1 |
//! | `eth/N` + `snap/1`, or eth + snap + others, or eth + others | [`ConnectionLayout::Satellite`] | eth, then each other protocol by its index; snap found by name |
//! | no eth | refused during the handshake with `UselessPeer` | — |
//!
//! The eth path is the same in every layout: the session compares the
//! message's protocol index with eth's first, so a session without snap pays
//! nothing for it.

use ethp2p_eth::{
    handshake::ETH,
    snap::{SnapVersion, SNAP},
};
use ethp2p_wire::{SharedCapabilities, RESERVED_MESSAGE_IDS};

/// How a session's shared capabilities are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionLayout {
    /// eth alone.
    Eth,
    /// Exactly eth and snap/2: eth is protocol 0 at `0x10`, snap/2 protocol 1
    /// at `0x10` + eth's message count (reth's "exactly eth + snap/2" stream).
    EthSnap {
        /// First absolute id of snap/2.
        snap_offset: u8,
    },
    /// eth plus satellite protocols, snap possibly among them.
    Satellite {
        /// eth's protocol index.
        eth: usize,
        /// snap's protocol index, version and first absolute id, when shared.
        snap: Option<SnapSlot>,
    },
}

/// Where snap sits in a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapSlot {
    /// Protocol index among the shared capabilities.
    pub index: usize,
    /// Negotiated snap version.
    pub version: SnapVersion,
    /// First absolute message id.
    pub offset: u8,
}

/// Where a received message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// An eth message.
    Eth,
    /// A snap message of the negotiated version.
    Snap(SnapVersion),
    /// A message of another satellite protocol (by index).
    Other(usize),
}

/// The shared capabilities hold no eth: the peer is useless to us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("eth is not among the shared capabilities")]
pub struct NoEth;

impl ConnectionLayout {
    /// The layout the shared capabilities call for.
    pub fn from_shared(shared: &SharedCapabilities) -> Result<Self, NoEth> {
        let eth = shared.index_of(ETH).ok_or(NoEth)?;
        let snap = shared.index_of(SNAP).and_then(|index| {
            let c = shared.get(index)?;
            let version = SnapVersion::try_from(c.cap.version).ok()?;
            Some(SnapSlot {
                index,
                version,
                offset: c.offset,
            })
        });
        if let (2, Some(s)) = (shared.len(), snap) {
            let eth_cap = shared.get(eth).ok_or(NoEth)?;
            // eth sorts before snap: eth is 0 at 0x10, snap 1 right after it.
            if s.version == SnapVersion::Snap2
                && eth == 0
                && s.index == 1
                && eth_cap.offset == RESERVED_MESSAGE_IDS
                && s.offset == eth_cap.offset + eth_cap.messages
            {
                return Ok(Self::EthSnap {
                    snap_offset: s.offset,
                });
            }
        }
        if shared.len() == 1 {
            return Ok(Self::Eth);
        }
        Ok(Self::Satellite { eth, snap })
    }

    /// eth's protocol index.
    pub fn eth_index(&self) -> usize {
        match self {
            Self::Eth | Self::EthSnap { .. } => 0,
            Self::Satellite { eth, .. } => *eth,
        }
    }

    /// Where snap sits, if shared.
    pub fn snap(&self) -> Option<SnapSlot> {
        match *self {
            Self::Eth => None,
            Self::EthSnap { snap_offset } => Some(SnapSlot {
                index: 1,
                version: SnapVersion::Snap2,
                offset: snap_offset,
            }),
            Self::Satellite { snap, .. } => snap,
        }
    }

    /// Where a message of protocol `index` goes.
    pub fn route(&self, index: usize) -> Route {
        match *self {
            Self::Eth => Route::Eth,
            Self::EthSnap { .. } => match index {
                0 => Route::Eth,
                _ => Route::Snap(SnapVersion::Snap2),
            },
            Self::Satellite { eth, snap } => match snap {
                _ if index == eth => Route::Eth,
                Some(s) if s.index == index => Route::Snap(s.version),
                _ => Route::Other(index),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ethp2p_eth::{handshake::eth_protocols, snap::snap_protocols, version::EthVersion};
    use ethp2p_wire::{Capability, Protocol};

    /// What this node advertises with snap on: eth/68..69 and snap/1+2.
    fn ours(snap: bool) -> Vec<Protocol> {
        let mut p = eth_protocols(&[EthVersion::Eth69, EthVersion::Eth68]);
        if snap {
            p.extend(snap_protocols(&SnapVersion::ALL));
        }
        p
    }

    fn caps(list: &[(&str, u32)]) -> Vec<Capability> {
        list.iter().map(|(n, v)| Capability::new(*n, *v)).collect()
    }

    fn layout(
        local: &[Protocol],
        remote: &[(&str, u32)],
    ) -> Option<Result<ConnectionLayout, NoEth>> {
        SharedCapabilities::negotiate(local, &caps(remote))
            .map(|s| ConnectionLayout::from_shared(&s))
    }

    #[test]
    fn eth68_with_snap1_is_a_satellite_after_eth() {
        // geth's default: eth/68 (17 ids at 0x10) then snap/1 (8 ids at 0x21).
        let l = layout(&ours(true), &[("eth", 68), ("snap", 1)])
            .unwrap()
            .unwrap();
        let snap = SnapSlot {
            index: 1,
            version: SnapVersion::Snap1,
            offset: 0x21,
        };
        assert_eq!(
            l,
            ConnectionLayout::Satellite {
                eth: 0,
                snap: Some(snap)
            }
        );
        assert_eq!(l.route(0), Route::Eth);
        assert_eq!(l.route(1), Route::Snap(SnapVersion::Snap1));
    }

    #[test]
    fn exactly_eth69_and_snap2_is_reths_layout() {
        // reth: eth/69 (18 ids at 0x10) then snap/2 (10 ids at 0x22).
        let l = layout(&ours(true), &[("eth", 69), ("snap", 2)])
            .unwrap()
            .unwrap();
        assert_eq!(l, ConnectionLayout::EthSnap { snap_offset: 0x22 });
        assert_eq!(l.eth_index(), 0);
        assert_eq!(
            l.snap().map(|s| (s.index, s.version)),
            Some((1, SnapVersion::Snap2))
        );
        assert_eq!(l.route(1), Route::Snap(SnapVersion::Snap2));
    }

    #[test]
    fn a_peer_with_both_snap_versions_gets_the_highest() {
        // geth with --snap.v2 advertises snap/2 and snap/1.
        let l = layout(&ours(true), &[("eth", 69), ("snap", 2), ("snap", 1)])
            .unwrap()
            .unwrap();
        assert_eq!(l, ConnectionLayout::EthSnap { snap_offset: 0x22 });
    }

    #[test]
    fn snap2_beside_a_third_protocol_is_a_satellite() {
        let mut local = ours(true);
        local.push(Protocol::new("wit", 0, 4));
        let l = layout(&local, &[("eth", 69), ("snap", 2), ("wit", 0)])
            .unwrap()
            .unwrap();
        let snap = SnapSlot {
            index: 1,
            version: SnapVersion::Snap2,
            offset: 0x22,
        };
        assert_eq!(
            l,
            ConnectionLayout::Satellite {
                eth: 0,
                snap: Some(snap)
            }
        );
        assert_eq!(l.route(2), Route::Other(2));
    }

    #[test]
    fn a_peer_without_snap_or_with_snap_off_runs_eth_alone() {
        let l = layout(&ours(true), &[("eth", 69)]).unwrap().unwrap();
        assert_eq!(l, ConnectionLayout::Eth);
        assert_eq!(l.snap(), None);
        // Our snap off: the peer's snap is not shared.
        let l = layout(&ours(false), &[("eth", 69), ("snap", 2)])
            .unwrap()
            .unwrap();
        assert_eq!(l, ConnectionLayout::Eth);
    }

    #[test]
    fn a_peer_with_only_snap_has_no_eth() {
        // Shared caps are snap alone: the handshake refuses it (UselessPeer).
        assert_eq!(layout(&ours(true), &[("snap", 1)]), Some(Err(NoEth)));
        // And with our snap off nothing is shared at all.
        assert_eq!(layout(&ours(false), &[("snap", 1)]), None);
    }
}
