//! Command-line arguments.
//!
//! Every option of `ethp2p node` is optional here so that a flag given on the
//! command line can be told apart from one left out: the values of a
//! `--config` file fill the gaps, then the documented defaults
//! (see [`crate::config`]).

use clap::{Parser, Subcommand};
use ethp2p_rlpx::{EnodeUrl, NodeRecord};
use std::{
    net::{IpAddr, SocketAddr},
    path::PathBuf,
};

/// ethp2p: an Ethereum devp2p node and networking toolkit.
///
/// Without a subcommand it runs the node: `ethp2p --port 0` is `ethp2p node
/// --port 0`. A subcommand's own flags follow its name.
#[derive(Debug, Parser)]
#[command(name = "ethp2p", version, about, long_about = None)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub(crate) struct Cli {
    /// What to run; `node` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The node's flags, taken when no subcommand is named.
    #[command(
        flatten,
        next_help_heading = "Node options (without a subcommand, as `ethp2p node`)"
    )]
    pub node: Box<NodeArgs>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the node (the default).
    Node(Box<NodeArgs>),
    /// Dial one node, run ECIES + Hello + Status, print its Hello and Status as JSON.
    Handshake(HandshakeArgs),
    /// Check a node's devp2p/eth/snap conformance without a chain: Hello, Status, bad input, request ids, unknown ids, snap's chain-less answers.
    Probe(ProbeArgs),
    /// Generate a new node secret key and print it with its enode id.
    Keygen,
    /// Listen to the mempool: connect to peers, print one JSON line per transaction first seen (hash, type, size, time, first announcer, announcers).
    Txs(TxsArgs),
    /// Benchmark the stack (RLPx, devp2p, eth and snap messages, transaction gossip, sessions, idle sessions in two processes) against the limits of its primitives; prints JSON lines.
    Bench(ethp2p_bench::BenchArgs),
    /// Walk the discv4 network from the bootnodes: print one JSON line per node found (id, ENR, endpoint, fork id; with --rlpx its Hello and Status).
    Crawl(CrawlArgs),
}

/// Options of `ethp2p node`. The same keys (without the leading `--`) may be
/// given in the TOML file named by `--config`; the command line wins.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct NodeArgs {
    /// TOML file with any of these options, keyed by their long names (`port = 30304`, `peer = ["enode://…"]`).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Chain to follow: mainnet, sepolia, holesky or hoodi [default: mainnet].
    #[arg(long, value_parser = parse_chain)]
    pub chain: Option<String>,
    /// Address to listen on [default: 0.0.0.0].
    #[arg(long)]
    pub addr: Option<IpAddr>,
    /// TCP port to listen on; 0 picks a free port [default: 30303].
    #[arg(long)]
    pub port: Option<u16>,
    /// Data directory (node key) [default: `$XDG_DATA_HOME/ethp2p/<chain>` or `~/.local/share/ethp2p/<chain>`].
    #[arg(long)]
    pub datadir: Option<PathBuf>,
    /// File holding the node secret key as 64 hex characters, as geth's --nodekey (overrides the data directory's key).
    #[arg(long, value_name = "FILE", conflicts_with = "nodekeyhex")]
    pub nodekey: Option<PathBuf>,
    /// Node secret key as 64 hex characters, as geth's --nodekeyhex (overrides the data directory's key).
    #[arg(long, value_name = "HEX", value_parser = parse_key)]
    pub nodekeyhex: Option<ethp2p_rlpx::SecretKey>,
    /// Static peer, dialed and redialed when lost (repeatable); the host may be an IP or a DNS name (resolved once, at start).
    #[arg(long = "peer", value_name = "ENODE")]
    pub peers: Vec<EnodeUrl>,
    /// Trusted peer: admitted even when the peer limits are full, and kept dialed (repeatable; IP or DNS name).
    #[arg(long = "trusted-peer", value_name = "ENODE")]
    pub trusted_peers: Vec<EnodeUrl>,
    /// Do not dial the chain's bootnodes.
    #[arg(long)]
    pub no_bootnodes: bool,
    /// Bootnodes, comma-separated enode URLs (IP or DNS name) or `enr:` records: replace the chain's list (discovery starts from them, and they are dialed).
    #[arg(long, value_name = "ENODES", value_delimiter = ',', value_parser = parse_bootnode)]
    pub bootnodes: Vec<EnodeUrl>,
    /// A custom chain from a geth-style genesis.json (network id = config.chainId, genesis hash computed, fork schedule from the config); replaces --chain.
    #[arg(long, value_name = "FILE")]
    pub genesis: Option<PathBuf>,
    /// Disable peer discovery (discv4, discv5 and DNS lists): only bootnodes, static and trusted peers are dialed.
    #[arg(long)]
    pub no_discovery: bool,
    /// UDP port of discv4 and discv5 [default: the listening port].
    #[arg(long, value_name = "PORT")]
    pub discovery_port: Option<u16>,
    /// Run discv5 next to discv4, on the same UDP port, with one ENR for both [default: on, as geth since 1.14].
    #[arg(long, overrides_with = "no_v5")]
    pub v5: bool,
    /// Do not run discv5: discv4 alone reads the discovery port.
    #[arg(long, overrides_with = "v5")]
    pub no_v5: bool,
    /// discv5 bootnodes, comma-separated `enr:` records (discv5 only; they are not dialed). discv5 also learns the records discv4 fetches.
    #[arg(long, value_name = "ENRS", value_delimiter = ',', value_parser = parse_enr)]
    pub v5_bootnodes: Vec<discv5::Enr>,
    /// EIP-1459 DNS node list to follow, `enrtree://<key>@<domain>` (repeatable; added to the chain's own list).
    #[arg(long = "dns", value_name = "URL")]
    pub dns: Vec<String>,
    /// Only peers in these networks, comma-separated CIDR (geth's --netrestrict), e.g. `10.0.0.0/8,2001:db8::/32`: applied to inbound connections, added peers and dials [default: all].
    #[arg(long, value_name = "CIDRS")]
    pub netrestrict: Option<String>,
    /// The external address to announce: `extip:<IP>` or `none` (no UPnP/NAT-PMP `any`) [default: the listening address when it is not 0.0.0.0, else none].
    #[arg(long, value_name = "extip:IP|none")]
    pub nat: Option<String>,
    /// Maximum established peers; a third of them outbound, as geth [default: 50].
    #[arg(long)]
    pub max_peers: Option<u32>,
    /// Maximum established inbound peers [default: max-peers minus max-outbound].
    #[arg(long)]
    pub max_inbound: Option<u32>,
    /// Maximum established outbound peers [default: max-peers / 3, at least 1].
    #[arg(long)]
    pub max_outbound: Option<u32>,
    /// Maximum inbound connections still authenticating [default: 50].
    #[arg(long)]
    pub max_pending_inbound: Option<u32>,
    /// Maximum outbound connections still authenticating [default: 16].
    #[arg(long)]
    pub max_pending_outbound: Option<u32>,
    /// JSON-RPC address (HTTP and WebSocket on one port); port 0 picks a free one [default: 127.0.0.1:8545].
    #[arg(long, value_name = "IP:PORT")]
    pub rpc_addr: Option<SocketAddr>,
    /// Allow --rpc-addr to be a non-loopback address (anyone who reaches it can add and drop peers).
    #[arg(long)]
    pub rpc_allow_external: bool,
    /// Do not serve JSON-RPC.
    #[arg(long)]
    pub no_rpc: bool,
    /// Serve Prometheus metrics at http://IP:PORT/metrics [default: off].
    #[arg(long, value_name = "IP:PORT")]
    pub metrics_addr: Option<SocketAddr>,
    /// First wait before redialing a lost static peer or bootnode, in seconds; doubles per failure up to 300 [default: 5].
    #[arg(long, value_name = "SECONDS", value_parser = parse_backoff)]
    pub redial_backoff: Option<f64>,
    /// Seconds a peer may stay silent before it is pinged (any message from it restarts the wait; no Pong within 20 s disconnects it) [default: 60].
    #[arg(long, value_name = "SECONDS", value_parser = parse_ping_interval)]
    pub ping_interval: Option<f64>,
    /// eth versions to advertise, comma-separated (66-72) [default: 69,68,67,66; add 70,71,72 to opt in].
    #[arg(long, value_name = "LIST", value_parser = parse_eth_versions)]
    pub eth_versions: Option<EthVersions>,
    /// Advertise snap/1 and snap/2 beside eth and answer peers' snap requests with the empty answers of a node without state (unknown root: empty range; missing codes skipped; unavailable access lists as 0x80) [default: off].
    #[arg(long)]
    pub snap: bool,
    /// Seconds a public source address must wait before connecting again (geth's inbound throttle; loopback and LAN addresses are exempt; 0 disables) [default: 30].
    #[arg(long, value_name = "SECONDS", value_parser = parse_throttle)]
    pub inbound_throttle: Option<f64>,
    // ----- transaction gossip -----
    /// Turn transaction gossip off (reth's flag): peers' announcements and broadcasts are ignored, nothing is relayed, GetPooledTransactions is answered empty; eth_sendRawTransaction still propagates.
    #[arg(long)]
    pub disable_tx_gossip: bool,
    /// Whose transaction announcements and broadcasts are taken in: all, trusted (--trusted-peer) or none [default: all].
    #[arg(long, value_name = "all|trusted|none", value_parser = parse_tx_policy)]
    pub tx_ingress_policy: Option<TxPolicy>,
    /// Which peers get the transactions we propagate (eth_sendRawTransaction and relayed ones): all, trusted (--trusted-peer) or none [default: all].
    #[arg(long, value_name = "all|trusted|none", value_parser = parse_tx_policy)]
    pub tx_propagation_policy: Option<TxPolicy>,
    /// Do not relay transactions received from peers (a listener that only watches); eth_sendRawTransaction still propagates.
    #[arg(long)]
    pub disable_tx_relay: bool,
    /// Listener mode: ignore each new peer's transaction announcements and broadcasts during its first SECONDS (the pool dump peers send right after connecting); 0 takes everything [default: 0].
    #[arg(long, value_name = "SECONDS", value_parser = parse_throttle)]
    pub tx_skip_initial: Option<f64>,
    /// Most announced transaction hashes tracked per peer, excess ignored (geth's maxTxAnnounces) [default: 4096].
    #[arg(long, value_name = "N", value_parser = parse_tx_cap)]
    pub max_tx_announces: Option<usize>,
    /// Most announced transaction hashes waiting to be fetched, all peers together (about 200 bytes each) [default: 262144].
    #[arg(long, value_name = "N", value_parser = parse_tx_cap)]
    pub max_tx_pending_fetch: Option<usize>,
    /// Transactions remembered per peer as known to it, never sent back to it (geth's maxKnownTxs) [default: 32768].
    #[arg(long, value_name = "N", value_parser = parse_tx_cap)]
    pub max_seen_tx_history: Option<usize>,
    /// The head to announce (Status, eth/69 BlockRangeUpdate), as `<NUMBER>:<HASH>[:<TIMESTAMP>]`; the timestamp (which picks the fork id) defaults to the start time [default: the genesis block].
    #[arg(long, value_name = "NUMBER:HASH[:TIME]", value_parser = parse_head)]
    pub head: Option<HeadArg>,
    /// Announce the head the peers announce: the highest block at least 2 eth/69 peers reached (1 when only 1 is connected); never moves back [default: off, the genesis or --head].
    #[arg(long)]
    pub follow_head: bool,
    /// Log format: text or json [default: text].
    #[arg(long, value_parser = ["text", "json"])]
    pub log_format: Option<String>,
    /// More logging (-v info about peers, -vv debug, -vvv trace).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Less logging (warnings and errors only).
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,
}

/// Options of `ethp2p handshake`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct HandshakeArgs {
    /// The node to check, as `enode://<id>@<ip>:<port>`.
    #[arg(value_name = "ENODE")]
    pub enode: NodeRecord,
    /// Chain whose Status we offer: mainnet, sepolia, holesky or hoodi.
    #[arg(long, default_value = "mainnet", value_parser = parse_chain)]
    pub chain: String,
    /// Seconds allowed for each stage (TCP connect, ECIES, Hello, Status).
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS", value_parser = parse_timeout)]
    pub timeout: f64,
}

/// Options of `ethp2p crawl`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct CrawlArgs {
    /// Start from these nodes, comma-separated enode URLs [default: the chain's bootnodes].
    #[arg(long, value_name = "ENODES", value_delimiter = ',')]
    pub bootnodes: Vec<NodeRecord>,
    /// Seconds to walk the network; dials in flight then get up to 10 s more.
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS", value_parser = parse_duration)]
    pub timeout: f64,
    /// Also dial each node that answered (RLPx, Hello, Status) for its client id, capabilities, network id and head.
    #[arg(long)]
    pub rlpx: bool,
    /// Chain whose bootnodes and Status are used: mainnet, sepolia, holesky or hoodi.
    #[arg(long, default_value = "mainnet", value_parser = parse_chain)]
    pub chain: String,
    /// Also write the nodes with an ENR as geth's `devp2p crawl` nodes.json (object keyed by node id: seq, record, score, firstResponse, lastResponse, lastCheck).
    #[arg(long, value_name = "FILE")]
    pub nodes_json: Option<PathBuf>,
    /// Write the JSON lines to FILE instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Options of `ethp2p txs`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct TxsArgs {
    /// Chain whose peers we want: mainnet, sepolia, holesky or hoodi.
    #[arg(long, default_value = "mainnet", value_parser = parse_chain)]
    pub chain: String,
    /// Peer to connect to and keep dialed (repeatable).
    #[arg(long = "peer", value_name = "ENODE")]
    pub peers: Vec<NodeRecord>,
    /// Do not dial the chain's bootnodes.
    #[arg(long)]
    pub no_bootnodes: bool,
    /// TCP port to listen on; 0 picks a free port.
    #[arg(long, default_value_t = 30303)]
    pub port: u16,
    /// Maximum established peers (a third of them outbound, as geth).
    #[arg(long, default_value_t = 50)]
    pub max_peers: usize,
    /// Include each transaction's raw EIP-2718 bytes (`raw`, hex) when its body arrived.
    #[arg(long)]
    pub raw: bool,
    /// Stop after this many seconds [default: run until Ctrl-C].
    #[arg(long, value_name = "SECONDS", value_parser = parse_duration)]
    pub duration: Option<f64>,
    /// Ignore what each peer announces during its first SECONDS (the pool dump peers send on connect).
    #[arg(long, default_value_t = 5.0, value_name = "SECONDS", value_parser = parse_throttle)]
    pub skip_initial: f64,
    /// Node secret key as 64 hex characters [default: a new random key].
    #[arg(long, value_parser = parse_key)]
    pub nodekey: Option<ethp2p_rlpx::SecretKey>,
    /// More logging on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// Options of `ethp2p probe`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ProbeArgs {
    /// The node to check, as `enode://<id>@<ip>:<port>`.
    #[arg(value_name = "ENODE")]
    pub enode: NodeRecord,
    /// Print one JSON object per check, then a summary object.
    #[arg(long, conflicts_with = "tap")]
    pub json: bool,
    /// Print TAP version 13, one test point per check (as hive reads it).
    #[arg(long)]
    pub tap: bool,
    /// Run only the checks whose name matches this regular expression (e.g. `BadStatus|Snap/`).
    #[arg(long, value_name = "REGEX", value_parser = parse_regex)]
    pub run: Option<regex_automata::meta::Regex>,
    /// Seconds allowed for each read and each connection stage.
    #[arg(long, default_value_t = 2.0, value_name = "SECONDS", value_parser = parse_timeout)]
    pub timeout: f64,
    /// Seed of the random values (keys, hashes, names) to replay a run [default: random, printed].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Also run the 15 discv4 checks of geth's `devp2p discv4 test` (bonding, expiry, amplification, ENRRequest) against the node's UDP port.
    #[arg(long)]
    pub discv4: bool,
    /// UDP port of the node's discv4, with --discv4 [default: the enode's discport, else its TCP port].
    #[arg(long, value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
    pub udp_port: Option<u16>,
    /// Seconds a discv4 check listens for a reply that must not come, with --discv4 (geth's tester: 0.3) [default: 0.3].
    #[arg(long, value_name = "SECONDS", value_parser = parse_timeout)]
    pub discv4_wait: Option<f64>,
}

/// An enode URL, or an `enr:` record as geth accepts in `--bootnodes` (its
/// ip and udp ports; the tcp port when the record has one, else the udp
/// port's number).
fn parse_bootnode(s: &str) -> Result<EnodeUrl, String> {
    let s = s.trim();
    if !s.starts_with("enr:") {
        return s.parse::<EnodeUrl>().map_err(|e| e.to_string());
    }
    let enr: ethp2p_discv4::Enr = s.parse().map_err(|e| format!("invalid ENR: {e}"))?;
    let (ip, udp, tcp) = match (enr.ip4(), enr.ip6()) {
        (Some(ip), _) => (IpAddr::V4(ip), enr.udp4(), enr.tcp4()),
        (None, Some(ip)) => (IpAddr::V6(ip), enr.udp6(), enr.tcp6()),
        (None, None) => return Err("the ENR has no IP address".into()),
    };
    let udp = udp.ok_or("the ENR has no udp port")?;
    let mut record = NodeRecord::new(
        ethp2p_discv4::enr::enr_peer_id(&enr),
        std::net::SocketAddr::new(ip, tcp.unwrap_or(udp)),
    );
    record.udp_port = udp;
    Ok(record.into())
}

fn parse_enr(s: &str) -> Result<discv5::Enr, String> {
    let s = s.trim();
    if !s.starts_with("enr:") {
        return Err(format!("{s:?} is not an `enr:` record"));
    }
    s.parse::<discv5::Enr>()
        .map_err(|e| format!("invalid ENR: {e}"))
}

fn parse_regex(s: &str) -> Result<regex_automata::meta::Regex, String> {
    regex_automata::meta::Regex::new(s).map_err(|e| format!("invalid regular expression: {e}"))
}

/// Parses a NodeArgs from `args` (without the program and subcommand names);
/// used for `--config` files, whose keys are turned into flags.
pub(crate) fn parse_node_args<I: IntoIterator<Item = String>>(
    args: I,
) -> Result<NodeArgs, clap::Error> {
    #[derive(Debug, Parser)]
    #[command(name = "config", no_binary_name = true)]
    struct Only {
        #[command(flatten)]
        args: NodeArgs,
    }
    Only::try_parse_from(args).map(|o| o.args)
}

/// A clap error as one line: its first paragraph, without the `error: `
/// prefix (the paragraph may list the missing arguments on further lines).
pub(crate) fn first_line(e: &clap::Error) -> String {
    let text = e.to_string();
    let paragraph: Vec<&str> = text
        .lines()
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    paragraph
        .join(" ")
        .trim_start_matches("error: ")
        .to_string()
}

pub(crate) fn parse_chain(s: &str) -> Result<String, String> {
    ethp2p_eth::chain::ChainSpec::by_name(s)
        .map(|c| c.name.clone())
        .ok_or_else(|| format!("unknown chain {s:?} (mainnet, sepolia, holesky, hoodi)"))
}

pub(crate) fn parse_key(s: &str) -> Result<ethp2p_rlpx::SecretKey, String> {
    let bytes =
        hex::decode(s.trim().trim_start_matches("0x")).map_err(|e| format!("not hex: {e}"))?;
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| "must be 32 bytes (64 hex characters)".to_string())?;
    ethp2p_rlpx::SecretKey::from_byte_array(arr).map_err(|e| e.to_string())
}

fn parse_seconds(s: &str, min: f64, max: f64) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !v.is_finite() || v < min || v > max {
        return Err(format!("must be between {min} and {max} seconds"));
    }
    Ok(v)
}

fn parse_backoff(s: &str) -> Result<f64, String> {
    parse_seconds(s, 0.05, 300.0)
}

fn parse_timeout(s: &str) -> Result<f64, String> {
    parse_seconds(s, 0.1, 600.0)
}

fn parse_duration(s: &str) -> Result<f64, String> {
    parse_seconds(s, 0.1, 365.0 * 86_400.0)
}

fn parse_ping_interval(s: &str) -> Result<f64, String> {
    parse_seconds(s, 1.0, 3600.0)
}

fn parse_throttle(s: &str) -> Result<f64, String> {
    parse_seconds(s, 0.0, 86_400.0)
}

/// A list of eth versions, highest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EthVersions(pub Vec<ethp2p_eth::version::EthVersion>);

fn parse_eth_versions(s: &str) -> Result<EthVersions, String> {
    let mut v = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let ver: ethp2p_eth::version::EthVersion = part
            .parse()
            .map_err(|_| format!("{part:?} is not an eth version between 66 and 72"))?;
        if !v.contains(&ver) {
            v.push(ver);
        }
    }
    if v.is_empty() {
        return Err("at least one eth version is needed".into());
    }
    v.sort_by(|a, b| b.cmp(a));
    Ok(EthVersions(v))
}

/// A transaction gossip peer policy (`--tx-ingress-policy`,
/// `--tx-propagation-policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TxPolicy(pub ethp2p_network::transactions::manager::PeerFilter);

fn parse_tx_policy(s: &str) -> Result<TxPolicy, String> {
    use ethp2p_network::transactions::manager::PeerFilter;
    match s.trim().to_ascii_lowercase().as_str() {
        "all" => Ok(TxPolicy(PeerFilter::All)),
        "trusted" => Ok(TxPolicy(PeerFilter::Trusted)),
        "none" => Ok(TxPolicy(PeerFilter::None)),
        _ => Err("expected all, trusted or none".into()),
    }
}

/// The largest value of a transaction gossip cap (16 Mi entries).
pub(crate) const MAX_TX_CAP: usize = 1 << 24;

fn parse_tx_cap(s: &str) -> Result<usize, String> {
    let n: usize = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a whole number"))?;
    if n == 0 || n > MAX_TX_CAP {
        return Err(format!("must be between 1 and {MAX_TX_CAP}"));
    }
    Ok(n)
}

/// `--head`: a block to announce as our head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HeadArg {
    /// Block number.
    pub number: u64,
    /// Block hash.
    pub hash: alloy_primitives::B256,
    /// Block timestamp (Unix seconds), if given.
    pub timestamp: Option<u64>,
}

fn parse_head(s: &str) -> Result<HeadArg, String> {
    let mut parts = s.trim().split(':');
    let (Some(number), Some(hash)) = (parts.next(), parts.next()) else {
        return Err("expected <NUMBER>:<HASH>[:<TIMESTAMP>]".into());
    };
    let number = number
        .parse()
        .map_err(|_| format!("{number:?} is not a block number"))?;
    let hash = hash
        .parse()
        .map_err(|_| format!("{hash:?} is not a 32-byte hex block hash"))?;
    let timestamp = match parts.next() {
        Some(t) => Some(
            t.parse()
                .map_err(|_| format!("{t:?} is not a Unix timestamp"))?,
        ),
        None => None,
    };
    if parts.next().is_some() {
        return Err("expected <NUMBER>:<HASH>[:<TIMESTAMP>]".into());
    }
    Ok(HeadArg {
        number,
        hash,
        timestamp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootnodes_take_enode_urls_and_enr_records() {
        // EIP-778's example record: ip 127.0.0.1, udp 30303, no tcp.
        let key = crate::enr::tests::example_key();
        let id = ethp2p_rlpx::key::peer_id_from_secret_key(&key);
        let r = parse_bootnode("enr:-IS4QHCYrYZbAKWCBRlAy5zzaDZXJBGkcnh4MHcBFZntXNFrdvJjX04jRzjzCBOonrkTfj499SZuOh8R33Ls8RRcy5wBgmlkgnY0gmlwhH8AAAGJc2VjcDI1NmsxoQPKY0yuDUmstAHYpMa2_oxVtw0RW_QAdpzBQA8yWM0xOIN1ZHCCdl8").unwrap();
        assert_eq!(r.id, id);
        assert_eq!(
            r.record().unwrap().tcp_addr(),
            "127.0.0.1:30303".parse().unwrap()
        );
        assert_eq!(r.udp_port, 30303);
        let enode = format!("enode://{}@10.0.0.1:30305", hex::encode(id));
        assert_eq!(parse_bootnode(&enode).unwrap().tcp_port, 30305);
        assert!(parse_bootnode("enr:AAAA").is_err());
        assert!(parse_bootnode("enode://zz@1.2.3.4:1").is_err());
    }
}
