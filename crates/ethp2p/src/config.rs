//! The node's configuration: command-line flags, an optional TOML file with
//! the same keys, and the defaults, resolved and checked before anything
//! touches the network. Every error is one line that names the flag (or the
//! file and its key).

use crate::cli::{first_line, parse_node_args, NodeArgs};
use ethp2p_eth::chain::ChainSpec;
use ethp2p_network::transactions::manager::TransactionsConfig;
use ethp2p_rlpx::{NodeRecord, SecretKey};
use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    path::{Path, PathBuf},
    time::Duration,
};

/// The default JSON-RPC address (geth's and reth's).
pub(crate) const DEFAULT_RPC_ADDR: SocketAddr =
    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8545);
/// geth's default peer count.
pub(crate) const DEFAULT_MAX_PEERS: u32 = 50;
/// geth's `MaxPendingPeers`.
pub(crate) const DEFAULT_MAX_PENDING_INBOUND: u32 = 50;
/// Concurrent outbound handshakes.
pub(crate) const DEFAULT_MAX_PENDING_OUTBOUND: u32 = 16;
/// First redial wait.
pub(crate) const DEFAULT_REDIAL_BACKOFF: Duration = Duration::from_secs(5);

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Everything `ethp2p node` runs with.
#[derive(Debug, Clone)]
pub(crate) struct NodeConfig {
    /// The chain preset.
    pub chain: ChainSpec,
    /// Where to listen for peers.
    pub listen: SocketAddr,
    /// Data directory (holds the node key).
    pub datadir: PathBuf,
    /// Key given on the command line or in the file, overriding the key file.
    pub nodekey: Option<SecretKey>,
    /// Static peers: dialed and redialed.
    pub static_peers: Vec<NodeRecord>,
    /// Trusted peers: admitted over the limits, dialed and redialed.
    pub trusted_peers: Vec<NodeRecord>,
    /// Whether to dial the chain's bootnodes.
    pub bootnodes: bool,
    /// Bootnodes replacing the chain's (`--bootnodes`), if given.
    pub bootnode_list: Vec<NodeRecord>,
    /// Whether discovery (discv4, DNS lists) runs.
    pub discovery: bool,
    /// discv4's UDP port.
    pub discovery_port: u16,
    /// Extra EIP-1459 lists.
    pub dns: Vec<String>,
    /// Whether discv5 runs on the discovery port (default on).
    pub v5: bool,
    /// discv5 bootnodes.
    pub v5_bootnodes: Vec<discv5::Enr>,
    /// The external IP to announce, if known.
    pub external_ip: Option<IpAddr>,
    /// Netrestrict: the networks peers may be in.
    pub ip_filter: ethp2p_network::peers::IpFilter,
    /// Established inbound limit.
    pub max_inbound: u32,
    /// Established outbound limit.
    pub max_outbound: u32,
    /// Inbound handshakes in flight.
    pub max_pending_inbound: u32,
    /// Outbound handshakes in flight.
    pub max_pending_outbound: u32,
    /// JSON-RPC address, `None` when disabled.
    pub rpc_addr: Option<SocketAddr>,
    /// Whether the RPC address is allowed off loopback.
    pub rpc_external: bool,
    /// Prometheus endpoint address.
    pub metrics_addr: Option<SocketAddr>,
    /// First redial wait.
    pub redial_backoff: Duration,
    /// Per-IP inbound throttle window (zero: off).
    pub inbound_throttle: Duration,
    /// Silence after which a peer is pinged.
    pub ping_interval: Duration,
    /// eth versions advertised.
    pub eth_versions: Vec<ethp2p_eth::version::EthVersion>,
    /// Whether snap/1 and snap/2 are advertised (`--snap`).
    pub snap: bool,
    /// `--head`: the head to announce instead of the genesis block.
    pub head: Option<crate::cli::HeadArg>,
    /// `--follow-head`: announce the head the peers announce.
    pub follow_head: bool,
    /// Log format.
    pub log_format: LogFormat,
    /// `-v` count.
    pub verbose: u8,
    /// `-q`.
    pub quiet: bool,
    /// Transaction gossip settings (`--disable-tx-gossip`, the policies,
    /// `--tx-skip-initial` and the caps).
    pub tx: TransactionsConfig,
}

impl NodeConfig {
    /// Total established peers allowed.
    pub(crate) fn max_peers(&self) -> u32 {
        self.max_inbound.saturating_add(self.max_outbound)
    }
}

/// Reads `--config` if given, merges it under the command line and resolves
/// the defaults.
pub(crate) fn load(cli: NodeArgs) -> Result<NodeConfig, String> {
    let merged = match &cli.config {
        Some(path) => merge(cli.clone(), read_file(path)?),
        None => cli,
    };
    resolve(merged)
}

/// Parses a config file into the same structure as the flags.
pub(crate) fn read_file(path: &Path) -> Result<NodeArgs, String> {
    let shown = path.display();
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("--config: cannot read {shown}: {e}"))?;
    parse_file(&text).map_err(|e| format!("--config {shown}: {e}"))
}

/// Parses the text of a config file. Each key is a long flag name; its value
/// is handed to the same parser as the flag, so both accept the same things.
pub(crate) fn parse_file(text: &str) -> Result<NodeArgs, String> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        let msg = e.message().trim().replace('\n', " ");
        match line {
            Some(l) => format!("invalid TOML at line {l}: {msg}"),
            None => format!("invalid TOML: {msg}"),
        }
    })?;
    let mut args = Vec::new();
    for (key, value) in &table {
        let flag = format!("--{}", key.replace('_', "-"));
        if key == "config" {
            return Err("key `config`: a config file cannot name another".into());
        }
        let scalar = |v: &toml::Value| -> Result<String, String> {
            match v {
                toml::Value::String(s) => Ok(s.clone()),
                toml::Value::Integer(i) => Ok(i.to_string()),
                toml::Value::Float(f) => Ok(f.to_string()),
                toml::Value::Boolean(b) => Ok(b.to_string()),
                other => Err(format!(
                    "key `{key}`: a {} is not a valid value",
                    other.type_str()
                )),
            }
        };
        match value {
            toml::Value::Boolean(b) if key == "verbose" => {
                if *b {
                    args.push(flag);
                }
            }
            toml::Value::Integer(n) if key == "verbose" => {
                if !(0..=3).contains(n) {
                    return Err(format!("key `verbose`: must be between 0 and 3, got {n}"));
                }
                for _ in 0..*n {
                    args.push(flag.clone());
                }
            }
            toml::Value::Boolean(b) => {
                if *b {
                    args.push(flag);
                } else if !is_switch(key) {
                    return Err(format!("key `{key}`: expected a value, got false"));
                }
            }
            // `--flag=value`, so a value starting with `-` (a negative
            // number) reaches the flag's parser instead of reading as a flag.
            toml::Value::Array(items) => {
                for item in items {
                    args.push(format!("{flag}={}", scalar(item)?));
                }
            }
            v => args.push(format!("{flag}={}", scalar(v)?)),
        }
    }
    parse_node_args(args).map_err(|e| {
        let line = first_line(&e);
        if e.kind() == clap::error::ErrorKind::UnknownArgument {
            // Speak of keys, not flags.
            let line = line.replace("unexpected argument '--", "unknown key '");
            format!("{line} (keys are the long flag names of `ethp2p node --help`)")
        } else {
            line
        }
    })
}

fn is_switch(key: &str) -> bool {
    matches!(
        key.replace('_', "-").as_str(),
        "no-bootnodes"
            | "no-discovery"
            | "no-rpc"
            | "rpc-allow-external"
            | "quiet"
            | "snap"
            | "disable-tx-gossip"
            | "disable-tx-relay"
            | "follow-head"
            | "v5"
            | "no-v5"
    )
}

/// The command line over the file: single values from the command line win,
/// lists are joined, switches are on if either turns them on.
pub(crate) fn merge(cli: NodeArgs, file: NodeArgs) -> NodeArgs {
    NodeArgs {
        config: cli.config,
        chain: cli.chain.or(file.chain),
        addr: cli.addr.or(file.addr),
        port: cli.port.or(file.port),
        datadir: cli.datadir.or(file.datadir),
        nodekey: cli.nodekey.or(file.nodekey),
        nodekeyhex: cli.nodekeyhex.or(file.nodekeyhex),
        peers: file.peers.into_iter().chain(cli.peers).collect(),
        trusted_peers: file
            .trusted_peers
            .into_iter()
            .chain(cli.trusted_peers)
            .collect(),
        no_bootnodes: cli.no_bootnodes || file.no_bootnodes,
        bootnodes: if cli.bootnodes.is_empty() {
            file.bootnodes
        } else {
            cli.bootnodes
        },
        genesis: cli.genesis.or(file.genesis),
        no_discovery: cli.no_discovery || file.no_discovery,
        discovery_port: cli.discovery_port.or(file.discovery_port),
        dns: file.dns.into_iter().chain(cli.dns).collect(),
        // The command line's choice, else the file's.
        v5: cli.v5 || (!cli.no_v5 && file.v5),
        no_v5: cli.no_v5 || (!cli.v5 && file.no_v5),
        v5_bootnodes: file
            .v5_bootnodes
            .into_iter()
            .chain(cli.v5_bootnodes)
            .collect(),
        nat: cli.nat.or(file.nat),
        netrestrict: cli.netrestrict.or(file.netrestrict),
        max_peers: cli.max_peers.or(file.max_peers),
        max_inbound: cli.max_inbound.or(file.max_inbound),
        max_outbound: cli.max_outbound.or(file.max_outbound),
        max_pending_inbound: cli.max_pending_inbound.or(file.max_pending_inbound),
        max_pending_outbound: cli.max_pending_outbound.or(file.max_pending_outbound),
        rpc_addr: cli.rpc_addr.or(file.rpc_addr),
        rpc_allow_external: cli.rpc_allow_external || file.rpc_allow_external,
        no_rpc: cli.no_rpc || file.no_rpc,
        metrics_addr: cli.metrics_addr.or(file.metrics_addr),
        redial_backoff: cli.redial_backoff.or(file.redial_backoff),
        inbound_throttle: cli.inbound_throttle.or(file.inbound_throttle),
        ping_interval: cli.ping_interval.or(file.ping_interval),
        eth_versions: cli.eth_versions.or(file.eth_versions),
        snap: cli.snap || file.snap,
        log_format: cli.log_format.or(file.log_format),
        disable_tx_gossip: cli.disable_tx_gossip || file.disable_tx_gossip,
        disable_tx_relay: cli.disable_tx_relay || file.disable_tx_relay,
        tx_ingress_policy: cli.tx_ingress_policy.or(file.tx_ingress_policy),
        tx_propagation_policy: cli.tx_propagation_policy.or(file.tx_propagation_policy),
        tx_skip_initial: cli.tx_skip_initial.or(file.tx_skip_initial),
        max_tx_announces: cli.max_tx_announces.or(file.max_tx_announces),
        max_tx_pending_fetch: cli.max_tx_pending_fetch.or(file.max_tx_pending_fetch),
        max_seen_tx_history: cli.max_seen_tx_history.or(file.max_seen_tx_history),
        head: cli.head.or(file.head),
        follow_head: cli.follow_head || file.follow_head,
        // The command line's -v or -q replaces the file's choice.
        verbose: if cli.quiet {
            0
        } else if cli.verbose > 0 {
            cli.verbose
        } else {
            file.verbose
        },
        quiet: cli.quiet || (cli.verbose == 0 && file.quiet),
    }
}

/// Fills in the defaults and checks the values that depend on each other.
pub(crate) fn resolve(a: NodeArgs) -> Result<NodeConfig, String> {
    let chain = match &a.genesis {
        Some(path) => {
            if a.chain.is_some() {
                return Err("--genesis: cannot be used with --chain".into());
            }
            ChainSpec::from_geth_genesis_file(path)
                .map_err(|e| format!("--genesis: {}: {e}", path.display()))?
        }
        None => {
            let chain_name = a.chain.as_deref().unwrap_or("mainnet");
            ChainSpec::by_name(chain_name)
                .ok_or_else(|| format!("--chain: unknown chain {chain_name:?}"))?
        }
    };
    let listen = SocketAddr::new(
        a.addr.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        a.port.unwrap_or(30303),
    );
    let datadir = a
        .datadir
        .clone()
        .unwrap_or_else(|| default_datadir(&chain.name));

    // geth's split: a third of the slots for dialed peers, the rest inbound.
    let max_peers = a.max_peers.unwrap_or(DEFAULT_MAX_PEERS);
    let default_out = if max_peers == 0 {
        0
    } else {
        (max_peers / 3).max(1)
    };
    let (max_inbound, max_outbound) = match (a.max_inbound, a.max_outbound) {
        (Some(i), Some(o)) => (i, o),
        (Some(i), None) => (
            i,
            if a.max_peers.is_some() {
                max_peers.saturating_sub(i)
            } else {
                default_out
            },
        ),
        (None, Some(o)) => (
            if a.max_peers.is_some() {
                max_peers.saturating_sub(o)
            } else {
                max_peers - default_out
            },
            o,
        ),
        (None, None) => (max_peers - default_out, default_out),
    };
    if let Some(mp) = a.max_peers {
        if max_inbound.saturating_add(max_outbound) > mp {
            return Err(format!(
                "--max-inbound ({max_inbound}) plus --max-outbound ({max_outbound}) exceed --max-peers ({mp})"
            ));
        }
    }

    let rpc_addr = if a.no_rpc {
        None
    } else {
        Some(a.rpc_addr.unwrap_or(DEFAULT_RPC_ADDR))
    };
    if let Some(addr) = rpc_addr {
        if !addr.ip().is_loopback() && !a.rpc_allow_external {
            return Err(format!(
                "--rpc-addr: {addr} is not a loopback address; add --rpc-allow-external to serve JSON-RPC there"
            ));
        }
    }
    if let (Some(r), Some(m)) = (rpc_addr, a.metrics_addr) {
        if r == m && r.port() != 0 {
            return Err(format!("--metrics-addr: {m} is also the --rpc-addr"));
        }
    }
    if rpc_addr.is_some_and(|r| r.port() != 0 && r.port() == listen.port() && r.ip() == listen.ip())
    {
        return Err(format!(
            "--rpc-addr: {listen} is also the p2p listening address"
        ));
    }
    let log_format = match a.log_format.as_deref() {
        None | Some("text") => LogFormat::Text,
        Some("json") => LogFormat::Json,
        Some(other) => {
            return Err(format!(
                "--log-format: unknown format {other:?} (text, json)"
            ))
        }
    };
    if a.quiet && a.verbose > 0 {
        return Err("--quiet: cannot be used with --verbose".into());
    }
    let external_ip = match a.nat.as_deref() {
        None => (!listen.ip().is_unspecified()).then_some(listen.ip()),
        Some("none") => None,
        Some(other) => match other.strip_prefix("extip:") {
            Some(ip) => Some(
                ip.parse::<IpAddr>()
                    .map_err(|e| format!("--nat: {ip:?} is not an IP address: {e}"))?,
            ),
            None => {
                return Err(format!(
                    "--nat: unknown mechanism {other:?} (extip:<IP> or none)"
                ))
            }
        },
    };
    if a.no_v5 && !a.v5_bootnodes.is_empty() {
        return Err("--v5-bootnodes: discv5 is off (--no-v5)".into());
    }
    for url in &a.dns {
        url.parse::<ethp2p_dnsdisc::LinkEntry>()
            .map_err(|e| format!("--dns: {url:?}: {e}"))?;
    }
    let ip_filter = match &a.netrestrict {
        Some(list) => list
            .parse::<ethp2p_network::peers::IpFilter>()
            .map_err(|e| format!("--netrestrict: {e}"))?,
        None => ethp2p_network::peers::IpFilter::allow_all(),
    };
    let tx = tx_config(&a);
    Ok(NodeConfig {
        tx,
        ip_filter,
        bootnode_list: crate::resolve::resolve_all(&a.bootnodes, "--bootnodes")?,
        discovery: !a.no_discovery,
        discovery_port: a.discovery_port.unwrap_or(listen.port()),
        dns: a.dns.clone(),
        v5: !a.no_v5,
        v5_bootnodes: a.v5_bootnodes.clone(),
        external_ip,
        chain,
        listen,
        datadir,
        nodekey: match (&a.nodekeyhex, &a.nodekey) {
            (Some(k), None) => Some(*k),
            (None, Some(path)) => Some(
                crate::datadir::read_nodekey_file(path).map_err(|e| format!("--nodekey: {e}"))?,
            ),
            (Some(_), Some(_)) => return Err("--nodekey: cannot be used with --nodekeyhex".into()),
            (None, None) => None,
        },
        static_peers: crate::resolve::resolve_all(&a.peers, "--peer")?,
        trusted_peers: crate::resolve::resolve_all(&a.trusted_peers, "--trusted-peer")?,
        bootnodes: !a.no_bootnodes,
        max_inbound,
        max_outbound,
        max_pending_inbound: a.max_pending_inbound.unwrap_or(DEFAULT_MAX_PENDING_INBOUND),
        max_pending_outbound: a
            .max_pending_outbound
            .unwrap_or(DEFAULT_MAX_PENDING_OUTBOUND),
        rpc_addr,
        rpc_external: rpc_addr.is_some_and(|r| !r.ip().is_loopback()),
        metrics_addr: a.metrics_addr,
        redial_backoff: a
            .redial_backoff
            .map(Duration::from_secs_f64)
            .unwrap_or(DEFAULT_REDIAL_BACKOFF),
        inbound_throttle: a
            .inbound_throttle
            .map(Duration::from_secs_f64)
            .unwrap_or(ethp2p_session::DEFAULT_INBOUND_THROTTLE),
        ping_interval: a
            .ping_interval
            .map(Duration::from_secs_f64)
            .unwrap_or_else(|| ethp2p_wire::P2PConfig::default().ping_interval),
        eth_versions: a
            .eth_versions
            .map(|v| v.0)
            .unwrap_or_else(|| ethp2p_eth::version::EthVersion::DEFAULT_ADVERTISED.to_vec()),
        snap: a.snap,
        head: a.head,
        follow_head: a.follow_head,
        log_format,
        verbose: a.verbose,
        quiet: a.quiet,
    })
}

/// The transactions manager's settings from the transaction gossip flags;
/// what is not given keeps [`TransactionsConfig::default`] (the values
/// `--help` and the README state).
fn tx_config(a: &NodeArgs) -> TransactionsConfig {
    let mut tx = TransactionsConfig {
        gossip: !a.disable_tx_gossip,
        relay: !a.disable_tx_relay,
        ..TransactionsConfig::default()
    };
    if let Some(p) = a.tx_ingress_policy {
        tx.accept_from = p.0;
    }
    if let Some(p) = a.tx_propagation_policy {
        tx.propagate_to = p.0;
    }
    if let Some(s) = a.tx_skip_initial {
        tx.initial_pool_grace = Duration::from_secs_f64(s);
    }
    if let Some(n) = a.max_tx_announces {
        tx.fetcher.max_announced_per_peer = n;
    }
    if let Some(n) = a.max_tx_pending_fetch {
        tx.fetcher.max_tracked = n;
    }
    if let Some(n) = a.max_seen_tx_history {
        tx.known_per_peer = n;
    }
    tx
}

/// `$XDG_DATA_HOME/ethp2p/<chain>`, else `~/.local/share/ethp2p/<chain>`.
pub(crate) fn default_datadir(chain: &str) -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("ethp2p").join(chain)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> String {
        let key = ethp2p_rlpx::generate_secret_key();
        hex::encode(ethp2p_rlpx::key::peer_id_from_secret_key(&key))
    }

    #[test]
    fn snap_is_off_by_default_and_on_from_the_flag_or_the_file() {
        assert!(!resolve(NodeArgs::default()).unwrap().snap);
        let on = NodeArgs {
            snap: true,
            ..Default::default()
        };
        assert!(resolve(on).unwrap().snap);
        let file = parse_file("snap = true\n").unwrap();
        assert!(resolve(merge(NodeArgs::default(), file)).unwrap().snap);
        // `snap = false` is a valid switch value, and leaves it off.
        let file = parse_file("snap = false\n").unwrap();
        assert!(!resolve(merge(NodeArgs::default(), file)).unwrap().snap);
    }

    #[test]
    fn defaults_match_the_documentation() {
        let c = resolve(NodeArgs::default()).unwrap();
        assert_eq!(c.chain.name, "mainnet");
        assert_eq!(c.listen, "0.0.0.0:30303".parse().unwrap());
        assert_eq!((c.max_inbound, c.max_outbound), (34, 16));
        assert_eq!(c.rpc_addr, Some(DEFAULT_RPC_ADDR));
        assert!(c.bootnodes);
        assert_eq!(c.redial_backoff, Duration::from_secs(5));
        assert_eq!(c.ping_interval, Duration::from_secs(60));
        assert_eq!(c.metrics_addr, None);
    }

    #[test]
    fn file_keys_are_the_flag_names_and_the_command_line_wins() {
        let peer = format!("enode://{}@127.0.0.1:30305", id());
        let text = format!(
            "chain = \"sepolia\"\nport = 30304\nno-bootnodes = true\npeer = [\"{peer}\"]\nmax-peers = 10\nrpc-addr = \"127.0.0.1:9545\"\nredial-backoff = 0.5\nping-interval = 15\nverbose = 2\n"
        );
        let file = parse_file(&text).unwrap();
        let cli = NodeArgs {
            port: Some(40000),
            ..Default::default()
        };
        let c = resolve(merge(cli, file)).unwrap();
        assert_eq!(c.chain.name, "sepolia");
        assert_eq!(c.listen.port(), 40000);
        assert!(!c.bootnodes);
        assert_eq!(c.static_peers.len(), 1);
        assert_eq!((c.max_inbound, c.max_outbound), (7, 3));
        assert_eq!(c.rpc_addr, Some("127.0.0.1:9545".parse().unwrap()));
        assert_eq!(c.redial_backoff, Duration::from_millis(500));
        assert_eq!(c.ping_interval, Duration::from_secs(15));
        assert_eq!(c.verbose, 2);
        // -q on the command line silences the file's verbose = 2.
        let file = parse_file(&text).unwrap();
        let cli = NodeArgs {
            quiet: true,
            ..Default::default()
        };
        let c = resolve(merge(cli, file)).unwrap();
        assert!(c.quiet && c.verbose == 0);
    }

    #[test]
    fn file_errors_are_one_line_naming_the_key() {
        for (text, needle) in [
            ("port = \"abc\"", "--port"),
            ("bogus = 1", "bogus"),
            ("chain = \"nowhere\"", "--chain"),
            ("port = [", "line 1"),
            ("peer = [\"enode://zz@1.2.3.4:1\"]", "--peer"),
            ("port = false", "port"),
            ("port = true", "--port"),
            ("max-peers = { a = 1 }", "max-peers"),
            // Negative numbers reach the flag's parser (not read as flags).
            ("port = -1", "--port"),
            ("tx-skip-initial = -2", "--tx-skip-initial"),
            ("inbound-throttle = -1.5", "--inbound-throttle"),
        ] {
            let e = parse_file(text).expect_err(text);
            assert!(!e.contains('\n'), "{text}: {e}");
            assert!(e.contains(needle), "{text}: {e}");
        }
    }

    #[test]
    fn limits_split_and_check() {
        let a = |i, o, p| NodeArgs {
            max_inbound: i,
            max_outbound: o,
            max_peers: p,
            ..Default::default()
        };
        let c = resolve(a(Some(10), None, None)).unwrap();
        assert_eq!((c.max_inbound, c.max_outbound), (10, 16));
        let c = resolve(a(None, Some(5), Some(20))).unwrap();
        assert_eq!((c.max_inbound, c.max_outbound), (15, 5));
        let e = resolve(a(Some(40), Some(20), Some(50))).unwrap_err();
        assert!(e.contains("--max-peers"), "{e}");
        let c = resolve(a(None, None, Some(0))).unwrap();
        assert_eq!((c.max_inbound, c.max_outbound), (0, 0));
    }

    #[test]
    fn tx_gossip_defaults_and_file_keys() {
        use ethp2p_network::transactions::manager::PeerFilter;
        let c = resolve(NodeArgs::default()).unwrap();
        assert_eq!(c.tx, TransactionsConfig::default());
        assert!(c.tx.gossip);
        assert_eq!(c.tx.accept_from, PeerFilter::All);
        assert_eq!(c.tx.propagate_to, PeerFilter::All);
        assert_eq!(c.tx.initial_pool_grace, Duration::ZERO);
        assert_eq!(c.tx.fetcher.max_announced_per_peer, 4096);
        assert_eq!(c.tx.fetcher.max_tracked, 262_144);
        assert_eq!(c.tx.known_per_peer, 32_768);
        assert!(c.tx.relay);
        let text = "disable-tx-gossip = true\ndisable-tx-relay = true\ntx-ingress-policy = \"trusted\"\ntx-propagation-policy = \"none\"\ntx-skip-initial = 2.5\nmax-tx-announces = 10\nmax-tx-pending-fetch = 20\nmax-seen-tx-history = 30\n";
        let c = resolve(merge(NodeArgs::default(), parse_file(text).unwrap())).unwrap();
        assert!(!c.tx.gossip);
        assert!(!c.tx.relay);
        assert_eq!(c.tx.accept_from, PeerFilter::Trusted);
        assert_eq!(c.tx.propagate_to, PeerFilter::None);
        assert_eq!(c.tx.initial_pool_grace, Duration::from_millis(2500));
        assert_eq!(c.tx.fetcher.max_announced_per_peer, 10);
        assert_eq!(c.tx.fetcher.max_tracked, 20);
        assert_eq!(c.tx.known_per_peer, 30);
        // `false` for the switch is accepted and leaves gossip on.
        let c = resolve(parse_file("disable-tx-gossip = false").unwrap()).unwrap();
        assert!(c.tx.gossip);
        for (text, needle) in [
            ("tx-ingress-policy = \"some\"", "--tx-ingress-policy"),
            ("tx-propagation-policy = 1", "--tx-propagation-policy"),
            ("max-tx-announces = 0", "--max-tx-announces"),
            ("max-tx-pending-fetch = 1.5", "--max-tx-pending-fetch"),
            ("max-seen-tx-history = 99999999999", "--max-seen-tx-history"),
            ("tx-skip-initial = \"soon\"", "--tx-skip-initial"),
        ] {
            let e = parse_file(text).expect_err(text);
            assert!(!e.contains('\n') && e.contains(needle), "{text}: {e}");
        }
    }

    #[test]
    fn discv5_is_on_by_default_and_the_command_line_wins_over_the_file() {
        assert!(resolve(NodeArgs::default()).unwrap().v5);
        let off = NodeArgs {
            no_v5: true,
            ..Default::default()
        };
        assert!(!resolve(off.clone()).unwrap().v5);
        let file = parse_file("no-v5 = true").unwrap();
        assert!(
            !resolve(merge(NodeArgs::default(), file.clone()))
                .unwrap()
                .v5
        );
        let on = NodeArgs {
            v5: true,
            ..Default::default()
        };
        assert!(resolve(merge(on, file)).unwrap().v5);
        let file = parse_file("v5 = true").unwrap();
        assert!(!resolve(merge(off, file)).unwrap().v5);
    }

    #[test]
    fn rpc_off_loopback_needs_the_explicit_flag() {
        let mut a = NodeArgs {
            rpc_addr: Some("0.0.0.0:8545".parse().unwrap()),
            ..Default::default()
        };
        let e = resolve(a.clone()).unwrap_err();
        assert!(e.starts_with("--rpc-addr"), "{e}");
        a.rpc_allow_external = true;
        assert!(resolve(a.clone()).unwrap().rpc_external);
        a.no_rpc = true;
        a.rpc_allow_external = false;
        assert_eq!(resolve(a).unwrap().rpc_addr, None);
    }
}
