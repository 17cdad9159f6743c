//! The node's peer discovery: discv4 (with EIP-868 ENRs) and discv5 sharing
//! one UDP port (see [`crate::discovery_v5`]), and EIP-1459 DNS lists, all
//! feeding the network's peers manager with candidates and the fork ids
//! their records announce.

use crate::{config::NodeConfig, discovery_metrics as dm, discovery_v5};
use ethp2p_discv4::{
    enr::{eth_fork_id, next_seq, Enr, SeqFile},
    Discv4Config, Discv4Event, Discv4Params, DriverConfig, ForkIdFilter, NodeFilter, SharedSocket,
};
use ethp2p_eth::chain::ChainSpec;
use ethp2p_eth::forkid::ForkId;
use ethp2p_network::{peers::CandidateEvent, NetworkHandle};
use ethp2p_rlpx::{peer_id_from_public_key, NodeRecord, SecretKey};
use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
};
use tracing::{debug, info, warn};

/// Datagrams read by discv5 waiting for discv4; more are dropped as a full
/// socket buffer would drop them.
const SHARED_FRAME_QUEUE: usize = 1024;

/// discv4's fork-id filter, counting its verdicts.
struct CountingFilter(ForkIdFilter);

impl NodeFilter for CountingFilter {
    fn accept(&self, record: &NodeRecord, enr: Option<&Enr>, fork_id: Option<ForkId>) -> bool {
        let ok = self.0.accept(record, enr, fork_id);
        let result = match (fork_id, ok) {
            (Some(_), true) => "accepted",
            (Some(_), false) => "refused",
            (None, true) => "no_fork_id",
            (None, false) => "refused",
        };
        dm::fork_check("discv4", result);
        ok
    }
}

/// How the predicted endpoint compares with the announced one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PredictionCheck {
    /// No address has a majority (any more).
    NoPrediction,
    /// Peers see the announced IP and UDP port.
    Agrees,
    /// Peers see another endpoint than the announced one.
    Differs(SocketAddr),
    /// Peers see an endpoint, and none is announced.
    Unannounced(SocketAddr),
}

fn compare_prediction(
    predicted: Option<SocketAddr>,
    announced: Option<IpAddr>,
    udp_port: u16,
) -> PredictionCheck {
    match (predicted, announced) {
        (None, _) => PredictionCheck::NoPrediction,
        (Some(seen), Some(ip)) if ip == seen.ip() && udp_port == seen.port() => {
            PredictionCheck::Agrees
        }
        (Some(seen), Some(_)) => PredictionCheck::Differs(seen),
        (Some(seen), None) => PredictionCheck::Unannounced(seen),
    }
}

/// Logs how a new prediction compares with the announced endpoint; called
/// once per change of the prediction, so each disagreement warns once.
fn check_prediction(predicted: Option<SocketAddr>, announced: Option<IpAddr>, udp_port: u16) {
    match compare_prediction(predicted, announced, udp_port) {
        PredictionCheck::NoPrediction => {
            debug!("discv4 peers no longer agree on our external endpoint")
        }
        PredictionCheck::Agrees => info!(udp_port, "discv4 peers see the announced endpoint"),
        PredictionCheck::Differs(seen) => warn!(
            %seen,
            announced = %SocketAddr::new(announced.unwrap_or(IpAddr::from([0, 0, 0, 0])), udp_port),
            "discv4 peers see this node at another endpoint than it announces (behind a NAT? set --nat extip:<IP> and forward the port)"
        ),
        PredictionCheck::Unannounced(seen) => warn!(
            %seen,
            "discv4 peers see this node at an endpoint but it announces none (--nat extip:{} would announce it)",
            seen.ip()
        ),
    }
}

/// What the node shows of its discovery (admin_nodeInfo).
pub(crate) struct DiscoveryInfo {
    /// The bound UDP port.
    pub(crate) udp_port: u16,
    /// The local ENR, `enr:…` (the same record for discv4 and discv5).
    pub(crate) enr: String,
}

/// Starts discv4 and the DNS lists; `None` when discovery is off.
pub(crate) async fn start(
    cfg: &NodeConfig,
    key: &SecretKey,
    tcp_port: u16,
    chain: &ChainSpec,
    bootnodes: &[NodeRecord],
    net: NetworkHandle,
) -> Result<Option<DiscoveryInfo>, String> {
    if !cfg.discovery {
        info!("discovery disabled (--no-discovery)");
        return Ok(None);
    }
    // With `--port 0` the TCP port is only known now: discovery takes the
    // same number, as the enode URL says.
    let port = if cfg.discovery_port == 0 {
        tcp_port
    } else {
        cfg.discovery_port
    };
    let bind = SocketAddr::new(cfg.listen.ip(), port);
    let socket = tokio::net::UdpSocket::bind(bind)
        .await
        .map_err(|e| format!("--discovery-port: cannot bind UDP {bind}: {e}"))?;
    let udp_port = socket.local_addr().map_err(|e| e.to_string())?.port();
    std::fs::create_dir_all(&cfg.datadir)
        .map_err(|e| format!("--datadir: cannot create {}: {e}", cfg.datadir.display()))?;
    let mut seq_file = SeqFile::in_dir(&cfg.datadir);
    let unix_ms = ethp2p_discv4::unix_time_now().as_millis() as u64;
    let enr_seq = next_seq(&mut seq_file, unix_ms)
        .map_err(|e| format!("--datadir: cannot keep the ENR sequence number: {e}"))?;
    let head = chain.genesis_head();
    let params = Discv4Params {
        secret_key: *key,
        external_ip: cfg.external_ip,
        udp_port,
        tcp_port,
        enr_seq,
        fork_id: Some(chain.fork_filter(head).current()),
        filter: Box::new(CountingFilter(ForkIdFilter {
            filter: chain.fork_filter(head),
            require_fork_id: false,
        })),
        config: Discv4Config::default(),
        rng_seed: rand::random(),
    };
    // With discv5 on, it owns the socket's reads and hands discv4 what it
    // does not recognise; otherwise discv4 reads the socket itself.
    let seq_store = Some(Box::new(seq_file) as Box<dyn ethp2p_discv4::SeqStore>);
    let (handle, mut events, v5) = if cfg.v5 {
        let socket = Arc::new(socket);
        let (transport, frames) = SharedSocket::new(socket.clone(), SHARED_FRAME_QUEUE);
        let (handle, events, _task) =
            ethp2p_discv4::start(params, transport, seq_store, DriverConfig::default())
                .map_err(|e| format!("discovery: {e}"))?;
        let local = handle
            .local_enr()
            .await
            .map_err(|e| format!("discovery: {e}"))?;
        let offer = discovery_v5::offer_queue(net.clone());
        let v5 = discovery_v5::start(socket, key, &local, frames, chain.fork_filter(head), offer)
            .await?;
        let mut added = 0;
        for enr in &cfg.v5_bootnodes {
            if v5.add_enr(enr.clone()) {
                added += 1;
            } else {
                warn!(enr = %enr.to_base64(), "--v5-bootnodes: record not added to discv5 (no UDP endpoint?)");
            }
        }
        discovery_v5::log_started(&v5, added);
        (handle, events, Some(Arc::new(v5)))
    } else {
        let (handle, events, _task) =
            ethp2p_discv4::start(params, socket, seq_store, DriverConfig::default())
                .map_err(|e| format!("discovery: {e}"))?;
        (handle, events, None)
    };
    for b in bootnodes {
        if let Err(e) = handle.add_bootnode(*b).await {
            warn!(enode = %b, %e, "bootnode not added to discovery");
        }
    }
    let enr = handle
        .local_enr()
        .await
        .map(|e| e.to_base64())
        .unwrap_or_default();
    info!(udp_port, %enr, v5 = cfg.v5, "discv4 running");
    dm::spawn_sampler(handle.clone(), v5.clone());
    let n = net.clone();
    let announced_ip = cfg.external_ip;
    let v5_seed = v5.clone();
    tokio::spawn(async move {
        let _keep = handle;
        while let Some(ev) = events.recv().await {
            match ev {
                Discv4Event::NodeFound {
                    record,
                    fork_id,
                    enr,
                } => {
                    // geth ≥ 1.14 answers discv5 on its discv4 port: the
                    // records discv4 fetches seed discv5's table (a node
                    // that does not speak discv5 there fails discv5's
                    // checks and leaves it).
                    if let (Some(v5), Some(enr)) = (&v5_seed, &enr) {
                        if let Ok(r) = discovery_v5::to_v5(enr) {
                            v5.add_enr(r);
                        }
                    }
                    dm::candidate_offered("discv4");
                    debug!(enode = %record, ?fork_id, "discv4 found a node");
                    if n.discovered(CandidateEvent::NodeFound { record, fork_id })
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                Discv4Event::EndpointPredicted { predicted } => {
                    check_prediction(predicted, announced_ip, udp_port);
                }
                _ => {}
            }
        }
    });
    start_dns(cfg, chain, net);
    Ok(Some(DiscoveryInfo { udp_port, enr }))
}

/// Follows the chain's DNS list (when bootnodes are on) and every `--dns`.
fn start_dns(cfg: &NodeConfig, chain: &ChainSpec, net: NetworkHandle) {
    let mut trees: Vec<ethp2p_dnsdisc::LinkEntry> =
        cfg.dns.iter().filter_map(|u| u.parse().ok()).collect();
    if cfg.bootnodes && cfg.bootnode_list.is_empty() {
        trees.extend(ethp2p_dnsdisc::chain_tree(&chain.name));
    }
    if trees.is_empty() {
        return;
    }
    let resolver = match ethp2p_dnsdisc::HickoryResolver::system() {
        Ok(r) => r,
        Err(e) => {
            warn!(%e, "DNS discovery off: no system resolver");
            return;
        }
    };
    let (handle, mut nodes) =
        ethp2p_dnsdisc::spawn(resolver, trees, ethp2p_dnsdisc::DriverConfig::default());
    tokio::spawn(async move {
        let _keep = handle;
        while let Some(node) = nodes.recv().await {
            let (Some(key), Some(addr)) = (node.public_key(), node.tcp_addr()) else {
                continue;
            };
            let record = NodeRecord::new(peer_id_from_public_key(&key), addr);
            let fork_id = eth_fork_id(&node.enr).ok().flatten();
            dm::candidate_offered("dns");
            if net
                .discovered(CandidateEvent::NodeFound { record, fork_id })
                .await
                .is_err()
            {
                return;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prediction_is_compared_with_the_announced_ip_and_port() {
        let seen: SocketAddr = "203.0.113.7:30303".parse().unwrap();
        let ip = Some(seen.ip());
        assert_eq!(
            compare_prediction(None, ip, 30303),
            PredictionCheck::NoPrediction
        );
        assert_eq!(
            compare_prediction(Some(seen), ip, 30303),
            PredictionCheck::Agrees
        );
        // Same IP, port remapped by a NAT.
        assert_eq!(
            compare_prediction(Some(seen), ip, 30304),
            PredictionCheck::Differs(seen)
        );
        assert_eq!(
            compare_prediction(Some(seen), Some("198.51.100.1".parse().unwrap()), 30303),
            PredictionCheck::Differs(seen)
        );
        assert_eq!(
            compare_prediction(Some(seen), None, 30303),
            PredictionCheck::Unannounced(seen)
        );
    }
}
