//! discv5 in the node, through the `discv5` crate, on discv4's UDP socket.
//!
//! discv5 owns the socket's reads; the datagrams it cannot decode (discv4's)
//! come out of its event stream and are forwarded to discv4's
//! [`ethp2p_discv4::SharedSocket`]. Both protocols announce one record: the
//! discv4 engine builds and signs the local ENR (ip, tcp, udp and the `eth`
//! fork id, its seq persisted in the data directory) and discv5 is started
//! with that same record, its own address updates turned off so it never
//! re-signs it behind discv4's back.
//!
//! Nodes come from random-target lookups on a timer (every
//! [`BOOST_INTERVAL`] for the first [`BOOST_LOOKUPS`], then every
//! [`LOOKUP_INTERVAL`]) and from established sessions; each record is
//! judged by [`classify`] (consensus-layer records without an `eth` entry
//! and records of other forks are refused) before it is offered to the
//! peers manager.

use crate::discovery_metrics as dm;
use ethp2p_discv4::{enr::eth_fork_id, enr::Enr as V4Enr, FrameSender};
use ethp2p_eth::forkid::{ForkFilter, ForkId};
use ethp2p_network::peers::CandidateEvent;
use ethp2p_rlpx::{NodeRecord, SecretKey};
use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Duration,
};
use tokio::{net::UdpSocket, sync::mpsc};
use tracing::{debug, info, trace};

/// Interval of the first lookups after start.
pub(crate) const BOOST_INTERVAL: Duration = Duration::from_secs(3);
/// How many lookups run at [`BOOST_INTERVAL`].
pub(crate) const BOOST_LOOKUPS: u32 = 40;
/// Interval of the lookups after the boost.
pub(crate) const LOOKUP_INTERVAL: Duration = Duration::from_secs(20);
/// Candidates waiting to be offered to the peers manager; more are dropped
/// (the next lookup finds them again).
const OFFER_QUEUE: usize = 1024;
/// ENR key of the consensus layer's entry.
const ETH2_KEY: &[u8] = b"eth2";

/// What [`classify`] decided about a discv5 record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// A dial candidate, with the fork id of its `eth` entry if it has one.
    Accept {
        /// Its id and address (the ENR's tcp port).
        record: NodeRecord,
        /// Its `eth` entry.
        fork_id: Option<ForkId>,
    },
    /// No TCP port or no IP: nothing to dial.
    NotDialable,
    /// An `eth2` entry and no `eth` entry: a consensus-layer node.
    Eth2Only,
    /// Its `eth` entry fails our fork filter (another chain, or a stale fork).
    WrongFork(ForkId),
    /// Its `eth` entry is not `[[hash, next], ...]`.
    MalformedEth,
    /// Not a secp256k1 ("v4") identity: not an execution-layer node.
    OtherIdentity,
}

impl Verdict {
    /// The metrics label of the verdict.
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Verdict::Accept {
                fork_id: Some(_), ..
            } => "accepted",
            Verdict::Accept { fork_id: None, .. } => "no_fork_id",
            Verdict::NotDialable => "not_dialable",
            Verdict::Eth2Only => "eth2_only",
            Verdict::WrongFork(_) => "refused",
            Verdict::MalformedEth => "malformed",
            Verdict::OtherIdentity => "other_identity",
        }
    }
}

/// The discv4 form (k256-signed, the same bytes) of a discv5 record.
pub(crate) fn to_v4(enr: &discv5::Enr) -> Option<V4Enr> {
    enr.to_base64().parse().ok()
}

/// The discv5 form of the local record discv4 built.
pub(crate) fn to_v5(enr: &V4Enr) -> Result<discv5::Enr, String> {
    enr.to_base64()
        .parse()
        .map_err(|e| format!("local ENR not readable by discv5: {e}"))
}

/// Judges a record: `observed` is the socket a session came from (its IP
/// then wins over the record's, as a NAT'd node may announce none).
pub(crate) fn classify(
    enr: &discv5::Enr,
    observed: Option<SocketAddr>,
    filter: &ForkFilter,
) -> Verdict {
    let Some(v4) = to_v4(enr) else {
        return Verdict::OtherIdentity;
    };
    let fork_id = match eth_fork_id(&v4) {
        Ok(f) => f,
        Err(_) => return Verdict::MalformedEth,
    };
    match fork_id {
        None if v4.get_raw_rlp(ETH2_KEY).is_some() => return Verdict::Eth2Only,
        Some(f) if filter.validate(f).is_err() => return Verdict::WrongFork(f),
        _ => {}
    }
    let ip = observed
        .map(|s| s.ip())
        .or_else(|| v4.ip4().map(IpAddr::V4))
        .or_else(|| v4.ip6().map(IpAddr::V6));
    let tcp = match ip {
        Some(IpAddr::V6(_)) => v4.tcp6().or(v4.tcp4()),
        _ => v4.tcp4().or(v4.tcp6()),
    };
    let (Some(ip), Some(tcp)) = (ip, tcp.filter(|p| *p != 0)) else {
        return Verdict::NotDialable;
    };
    if ip.is_unspecified() {
        return Verdict::NotDialable;
    }
    let mut record = NodeRecord::new(
        ethp2p_discv4::enr::enr_peer_id(&v4),
        SocketAddr::new(ip, tcp),
    );
    record.udp_port = observed
        .map(|s| s.port())
        .or(v4.udp4())
        .or(v4.udp6())
        .unwrap_or(tcp);
    Verdict::Accept { record, fork_id }
}

/// A running discv5 service.
pub(crate) struct V5 {
    service: Arc<discv5::Discv5>,
    ipv6: bool,
}

impl V5 {
    /// Adds a record found elsewhere (a bootnode, or a discv4 node whose
    /// record we fetched) to discv5's table; false when refused (no UDP
    /// endpoint, bucket full).
    pub(crate) fn add_enr(&self, enr: discv5::Enr) -> bool {
        // Checked here: the crate logs a warning for each such record.
        let reachable = if self.ipv6 {
            enr.udp6_socket().is_some()
        } else {
            enr.udp4_socket().is_some()
        };
        reachable && self.service.add_enr(enr).is_ok()
    }

    /// Nodes in discv5's table.
    pub(crate) fn table_len(&self) -> usize {
        self.service.table_entries_id().len()
    }

    /// The record discv5 announces.
    pub(crate) fn local_enr(&self) -> discv5::Enr {
        self.service.local_enr()
    }
}

/// Starts discv5 on `socket` with `local` (discv4's record) as its record;
/// discv4 frames go to `frames`, candidates through `offer`.
pub(crate) async fn start(
    socket: Arc<UdpSocket>,
    key: &SecretKey,
    local: &V4Enr,
    frames: FrameSender,
    filter: ForkFilter,
    offer: mpsc::Sender<CandidateEvent>,
) -> Result<V5, String> {
    let mut secret = key.secret_bytes();
    let combined = ::enr::CombinedKey::secp256k1_from_bytes(&mut secret)
        .map_err(|e| format!("discv5: node key rejected: {e}"))?;
    let bound = socket.local_addr().map_err(|e| e.to_string())?;
    let listen = match bound {
        SocketAddr::V4(_) => discv5::ListenConfig::FromSockets {
            ipv4: Some(socket),
            ipv6: None,
        },
        SocketAddr::V6(_) => discv5::ListenConfig::FromSockets {
            ipv4: None,
            ipv6: Some(socket),
        },
    };
    let config = discv5::ConfigBuilder::new(listen)
        // One record for both protocols: discv4's engine owns it.
        .disable_enr_update()
        .auto_nat_listen_duration(None)
        // Lookup results carry the records; per-record events would only
        // compete with discv4's frames for the event channel.
        .disable_report_discovered_peers()
        .build();
    let mut service =
        discv5::Discv5::new(to_v5(local)?, combined, config).map_err(|e| format!("discv5: {e}"))?;
    service
        .start()
        .await
        .map_err(|e| format!("discv5: cannot start: {e}"))?;
    let events = service
        .event_stream()
        .await
        .map_err(|e| format!("discv5: no event stream: {e}"))?;
    let service = Arc::new(service);
    tokio::spawn(pump_events(events, frames, filter.clone(), offer.clone()));
    tokio::spawn(run_lookups(service.clone(), filter, offer));
    Ok(V5 {
        service,
        ipv6: bound.is_ipv6(),
    })
}

/// Reads discv5's events: discv4 frames forwarded, sessions judged. Never
/// waits on anything but the stream, so the stream (30 events in the crate)
/// does not fill up and drop discv4's datagrams.
async fn pump_events(
    mut events: mpsc::Receiver<discv5::Event>,
    frames: FrameSender,
    filter: ForkFilter,
    offer: mpsc::Sender<CandidateEvent>,
) {
    while let Some(ev) = events.recv().await {
        match ev {
            discv5::Event::UnrecognizedFrame(frame) => {
                let len = frame.packet.len();
                if frames.forward(frame.packet, frame.src_address) {
                    dm::discv4_frame_forwarded(len);
                } else {
                    dm::discv4_frame_dropped(len);
                }
            }
            discv5::Event::SessionEstablished(enr, socket) => {
                dm::discv5_session();
                judge(&enr, Some(socket), &filter, &offer);
            }
            discv5::Event::SocketUpdated(addr) => {
                debug!(%addr, "discv5 peers see another address");
            }
            _ => {}
        }
    }
    debug!("discv5 event stream ended");
}

fn judge(
    enr: &discv5::Enr,
    observed: Option<SocketAddr>,
    filter: &ForkFilter,
    offer: &mpsc::Sender<CandidateEvent>,
) {
    let verdict = classify(enr, observed, filter);
    dm::fork_check("discv5", verdict.label());
    if let Verdict::Accept { record, fork_id } = verdict {
        trace!(enode = %record, ?fork_id, "discv5 found a node");
        if offer
            .try_send(CandidateEvent::NodeFound { record, fork_id })
            .is_err()
        {
            trace!("discv5 candidate queue full");
        }
    }
}

/// Random-target lookups on a timer, once the table holds a node; each
/// result is judged and offered.
async fn run_lookups(
    service: Arc<discv5::Discv5>,
    filter: ForkFilter,
    offer: mpsc::Sender<CandidateEvent>,
) {
    let mut done: u32 = 0;
    loop {
        if offer.is_closed() {
            return;
        }
        // Nothing to ask yet (the crate warns at each lookup it cannot
        // start): wait for a bootnode or a record from discv4.
        if service.table_entries_id().is_empty() {
            tokio::time::sleep(BOOST_INTERVAL).await;
            continue;
        }
        let target = ::enr::NodeId::random();
        dm::lookup_started("discv5");
        match service.find_node(target).await {
            Ok(found) => {
                dm::lookup_completed("discv5");
                debug!(found = found.len(), "discv5 lookup finished");
                for enr in &found {
                    judge(enr, None, &filter, &offer);
                }
            }
            Err(e) => debug!(%e, "discv5 lookup failed"),
        }
        done = done.saturating_add(1);
        tokio::time::sleep(wait_after(done)).await;
    }
}

/// The pause after the `done`-th lookup: [`BOOST_INTERVAL`] while the first
/// [`BOOST_LOOKUPS`] fill the table, [`LOOKUP_INTERVAL`] after.
fn wait_after(done: u32) -> Duration {
    if done < BOOST_LOOKUPS {
        BOOST_INTERVAL
    } else {
        LOOKUP_INTERVAL
    }
}

/// A queue in front of the peers manager: discv5's tasks never wait on it.
pub(crate) fn offer_queue(net: ethp2p_network::NetworkHandle) -> mpsc::Sender<CandidateEvent> {
    let (tx, mut rx) = mpsc::channel::<CandidateEvent>(OFFER_QUEUE);
    tokio::spawn(async move {
        while let Some(c) = rx.recv().await {
            dm::candidate_offered("discv5");
            if net.discovered(c).await.is_err() {
                return;
            }
        }
    });
    tx
}

/// Logs what discv5 runs with.
pub(crate) fn log_started(v5: &V5, bootnodes: usize) {
    let enr = v5.local_enr();
    info!(
        seq = enr.seq(),
        bootnodes, "discv5 running on the discv4 port"
    );
    if bootnodes == 0 {
        info!("discv5 has no bootnodes yet: it learns nodes from discv4's records (--v5-bootnodes adds some)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ethp2p_discv4::enr::{encode_eth_entry, LocalEnr, LocalEnrFields};
    use ethp2p_eth::chain::ChainSpec;

    #[test]
    fn lookups_are_fast_while_the_table_fills_then_slow() {
        assert_eq!(wait_after(1), BOOST_INTERVAL);
        assert_eq!(wait_after(BOOST_LOOKUPS - 1), BOOST_INTERVAL);
        assert_eq!(wait_after(BOOST_LOOKUPS), LOOKUP_INTERVAL);
        assert_eq!(wait_after(u32::MAX), LOOKUP_INTERVAL);
    }

    fn mainnet_filter() -> (ForkFilter, ForkId) {
        let spec = ChainSpec::mainnet();
        let head = spec.genesis_head();
        (
            spec.fork_filter(head),
            spec.fork_id_at(head.number, head.timestamp),
        )
    }

    fn record(fork_id: Option<ForkId>, tcp: u16) -> (discv5::Enr, ethp2p_rlpx::PeerId) {
        let key = ethp2p_rlpx::generate_secret_key();
        let local = LocalEnr::new(
            &key,
            7,
            LocalEnrFields {
                ip: Some("10.1.2.3".parse().unwrap()),
                tcp,
                udp: 30303,
                fork_id,
            },
        )
        .unwrap();
        (
            to_v5(local.record()).unwrap(),
            ethp2p_rlpx::key::peer_id_from_secret_key(&key),
        )
    }

    #[test]
    fn a_record_of_our_fork_is_a_candidate_at_its_tcp_port() {
        let (filter, ours) = mainnet_filter();
        let (enr, id) = record(Some(ours), 30311);
        let v = classify(&enr, None, &filter);
        let Verdict::Accept { record, fork_id } = v else {
            panic!("{v:?}")
        };
        assert_eq!(record.id, id);
        assert_eq!(record.tcp_addr(), "10.1.2.3:30311".parse().unwrap());
        assert_eq!(fork_id, Some(ours));
        // The session's observed IP wins over the record's.
        let observed: SocketAddr = "203.0.113.9:40000".parse().unwrap();
        let Verdict::Accept { record, .. } = classify(&enr, Some(observed), &filter) else {
            panic!()
        };
        assert_eq!(record.tcp_addr(), "203.0.113.9:30311".parse().unwrap());
        assert_eq!(record.udp_port, 40000);
    }

    #[test]
    fn eth2_only_records_are_refused_and_eth_wins_over_eth2() {
        let (filter, ours) = mainnet_filter();
        let key = ::enr::CombinedKey::generate_secp256k1();
        let eth2 = discv5::Enr::builder()
            .ip4("10.0.0.1".parse().unwrap())
            .tcp4(9000)
            .udp4(9000)
            .add_value(ETH2_KEY, &alloy_rlp::Bytes::from_static(&[1, 2, 3, 4]))
            .build(&key)
            .unwrap();
        assert_eq!(classify(&eth2, None, &filter), Verdict::Eth2Only);
        // The same node with an `eth` entry too is an execution client.
        let both = discv5::Enr::builder()
            .ip4("10.0.0.1".parse().unwrap())
            .tcp4(9000)
            .udp4(9000)
            .add_value(ETH2_KEY, &alloy_rlp::Bytes::from_static(&[1, 2, 3, 4]))
            .add_value_rlp("eth", encode_eth_entry(ours).into())
            .build(&key)
            .unwrap();
        assert!(matches!(
            classify(&both, None, &filter),
            Verdict::Accept {
                fork_id: Some(_),
                ..
            }
        ));
    }

    #[test]
    fn other_forks_undialable_and_other_identities_are_refused() {
        let (filter, _) = mainnet_filter();
        let sepolia = {
            let s = ChainSpec::sepolia();
            let h = s.genesis_head();
            s.fork_id_at(h.number, h.timestamp)
        };
        let (enr, _) = record(Some(sepolia), 30303);
        assert_eq!(classify(&enr, None, &filter), Verdict::WrongFork(sepolia));
        let (enr, _) = record(None, 0);
        assert_eq!(classify(&enr, None, &filter), Verdict::NotDialable);
        // A record without an eth entry (nor eth2) is admitted, as discv4 does.
        let (enr, _) = record(None, 30303);
        assert!(matches!(
            classify(&enr, None, &filter),
            Verdict::Accept { fork_id: None, .. }
        ));
        let ed = ::enr::CombinedKey::generate_ed25519();
        let enr = discv5::Enr::builder()
            .ip4("10.0.0.1".parse().unwrap())
            .tcp4(1)
            .build(&ed)
            .unwrap();
        assert_eq!(classify(&enr, None, &filter), Verdict::OtherIdentity);
    }

    #[test]
    fn the_local_record_is_the_same_for_both_protocols() {
        let (_, ours) = mainnet_filter();
        let key = ethp2p_rlpx::generate_secret_key();
        let local = LocalEnr::new(
            &key,
            1_700_000_000_000,
            LocalEnrFields {
                ip: Some("127.0.0.1".parse().unwrap()),
                tcp: 30303,
                udp: 30303,
                fork_id: Some(ours),
            },
        )
        .unwrap();
        let v5 = to_v5(local.record()).unwrap();
        assert_eq!(v5.to_base64(), local.record().to_base64());
        assert_eq!(v5.seq(), 1_700_000_000_000);
        assert!(to_v4(&v5).is_some());
    }
}
