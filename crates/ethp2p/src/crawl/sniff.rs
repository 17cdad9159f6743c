//! A UDP transport for the discv4 driver that also reports the nodes of every
//! Neighbours packet it receives, so the crawl learns all of them (the engine
//! itself only follows the ones its lookups and table have room for).

use ethp2p_discv4::{
    packet::{self, Message, HEADER_SIZE},
    UdpTransport,
};
use ethp2p_rlpx::{NodeRecord, PeerId};
use std::{io, net::SocketAddr};
use tokio::{net::UdpSocket, sync::mpsc};

/// The packet type of Neighbours.
const NEIGHBOURS: u8 = 0x04;

/// Nodes of one received Neighbours packet, with its (signature-recovered)
/// sender.
pub(crate) type Sighting = (PeerId, Vec<NodeRecord>);

/// A socket passing every datagram to the driver, reporting Neighbours'
/// nodes on a bounded channel (dropped when it is full).
pub(crate) struct SniffSocket {
    inner: UdpSocket,
    sightings: mpsc::Sender<Sighting>,
}

impl SniffSocket {
    /// Wraps `inner`.
    pub(crate) fn new(inner: UdpSocket, sightings: mpsc::Sender<Sighting>) -> Self {
        Self { inner, sightings }
    }
}

/// The sender and nodes of a valid Neighbours packet; `None` for anything
/// else (other types are not decoded at all).
pub(crate) fn neighbours_of(datagram: &[u8]) -> Option<Sighting> {
    if datagram.get(HEADER_SIZE - 1) != Some(&NEIGHBOURS) {
        return None;
    }
    let p = packet::decode(datagram).ok()?;
    match p.message {
        Message::Neighbours(n) => Some((p.node_id, n.nodes)),
        _ => None,
    }
}

impl UdpTransport for SniffSocket {
    async fn send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        self.inner.send_to(buf, target).await
    }

    async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        // Only the receive awaits: once it completed, the rest runs to the
        // end, so dropping this future loses no datagram (cancel-safe).
        let (n, src) = self.inner.recv_from(buf).await?;
        if let Some(s) = neighbours_of(&buf[..n.min(buf.len())]) {
            let _ = self.sightings.try_send(s);
        }
        Ok((n, src))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ethp2p_discv4::packet::{encode, Endpoint, Neighbours, Ping, PING_VERSION};
    use std::net::{IpAddr, Ipv4Addr};

    #[test]
    fn neighbours_are_reported_and_other_packets_are_not() {
        let key = ethp2p_rlpx::generate_secret_key();
        let node = NodeRecord {
            id: PeerId::repeat_byte(9),
            address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 9)),
            tcp_port: 30303,
            udp_port: 30303,
        };
        let n = encode(
            &key,
            &Message::Neighbours(Neighbours {
                nodes: vec![node],
                expiration: u64::from(u32::MAX),
            }),
        )
        .unwrap();
        let (from, nodes) = neighbours_of(&n.bytes).expect("a Neighbours packet");
        assert_eq!(from, ethp2p_rlpx::key::peer_id_from_secret_key(&key));
        assert_eq!(nodes, vec![node]);

        let ep = Endpoint {
            ip: node.address,
            udp: 1,
            tcp: 1,
        };
        let ping = encode(
            &key,
            &Message::Ping(Ping {
                version: PING_VERSION,
                from: ep,
                to: ep,
                expiration: 1,
                enr_seq: None,
            }),
        )
        .unwrap();
        assert!(neighbours_of(&ping.bytes).is_none());
        // A Neighbours type byte on garbage, or a truncated packet: nothing.
        let mut bad = n.bytes.to_vec();
        bad[0] ^= 1;
        assert!(neighbours_of(&bad).is_none());
        assert!(neighbours_of(&n.bytes[..HEADER_SIZE]).is_none());
        assert!(neighbours_of(&[]).is_none());
    }
}
