//! The node's peer discovery: discv4 (with EIP-868 ENRs) on a UDP port and
//! EIP-1459 DNS lists, both feeding the network's peers manager with
//! candidates and the fork ids their records announce.

use crate::config::NodeConfig;
use ethp2p_discv4::{
    enr::{eth_fork_id, next_seq, SeqFile},
    Discv4Config, Discv4Event, Discv4Params, DriverConfig, ForkIdFilter,
};
use ethp2p_eth::chain::ChainSpec;
use ethp2p_network::{peers::CandidateEvent, NetworkHandle};
use ethp2p_rlpx::{peer_id_from_public_key, NodeRecord, SecretKey};
use std::net::SocketAddr;
use tracing::{debug, info, warn};

/// What the node shows of its discovery (admin_nodeInfo).
pub(crate) struct DiscoveryInfo {
    /// The bound UDP port.
    pub(crate) udp_port: u16,
    /// The local ENR, `enr:…`.
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
        filter: Box::new(ForkIdFilter {
            filter: chain.fork_filter(head),
            require_fork_id: false,
        }),
        config: Discv4Config::default(),
        rng_seed: rand::random(),
    };
    let (handle, mut events, _task) = ethp2p_discv4::start(
        params,
        socket,
        Some(Box::new(seq_file)),
        DriverConfig::default(),
    )
    .map_err(|e| format!("discovery: {e}"))?;
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
    info!(udp_port, %enr, "discv4 running");
    let n = net.clone();
    tokio::spawn(async move {
        let _keep = handle;
        while let Some(ev) = events.recv().await {
            if let Discv4Event::NodeFound {
                record, fork_id, ..
            } = ev
            {
                metrics::counter!("ethp2p_discovery_candidates_total", "source" => "discv4")
                    .increment(1);
                debug!(enode = %record, ?fork_id, "discv4 found a node");
                if n.discovered(CandidateEvent::NodeFound { record, fork_id })
                    .await
                    .is_err()
                {
                    return;
                }
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
            metrics::counter!("ethp2p_discovery_candidates_total", "source" => "dns").increment(1);
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
