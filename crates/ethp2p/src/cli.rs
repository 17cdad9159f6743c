//! Command-line arguments.

use clap::{Parser, Subcommand};
use ethp2p_rlpx::NodeRecord;
use std::{net::IpAddr, path::PathBuf};

/// ethp2p: an Ethereum devp2p node and networking toolkit.
#[derive(Debug, Parser)]
#[command(name = "ethp2p", version, about, long_about = None)]
pub struct Cli {
    /// What to run; `node` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the node (the default).
    Node(NodeArgs),
    /// Generate a new node secret key and print it with its enode id.
    Keygen,
    /// Benchmark the RLPx transport against the limits of its primitives; prints JSON lines.
    Bench(crate::bench::BenchArgs),
}

/// Options of `ethp2p node`.
#[derive(Debug, Clone, clap::Args)]
pub struct NodeArgs {
    /// Chain to follow: mainnet, sepolia, holesky or hoodi.
    #[arg(long, default_value = "mainnet", value_parser = parse_chain)]
    pub chain: String,
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0")]
    pub addr: IpAddr,
    /// TCP port to listen on.
    #[arg(long, default_value_t = 30303)]
    pub port: u16,
    /// Data directory (node key); default `$XDG_DATA_HOME/ethp2p/<chain>` or `~/.local/share/ethp2p/<chain>`.
    #[arg(long)]
    pub datadir: Option<PathBuf>,
    /// Node secret key as 64 hex characters (overrides the key file).
    #[arg(long, value_parser = parse_key)]
    pub nodekey: Option<ethp2p_rlpx::SecretKey>,
    /// Static peer, redialed when lost (repeatable).
    #[arg(long = "peer", value_name = "ENODE")]
    pub peers: Vec<NodeRecord>,
    /// Do not dial the chain's bootnodes.
    #[arg(long)]
    pub no_bootnodes: bool,
    /// Maximum established peers (geth default 50; a third of them outbound).
    #[arg(long, default_value_t = 50)]
    pub max_peers: u32,
    /// Maximum inbound connections still authenticating.
    #[arg(long, default_value_t = 50)]
    pub max_pending_inbound: u32,
    /// Maximum outbound connections still authenticating.
    #[arg(long, default_value_t = 16)]
    pub max_pending_outbound: u32,
    /// Log format.
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
    /// More logging (-v info about peers, -vv debug, -vvv trace).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Less logging.
    #[arg(short, long)]
    pub quiet: bool,
}

impl Default for NodeArgs {
    fn default() -> Self {
        // Parsing no arguments gives the documented defaults.
        match <NodeArgsOnly as Parser>::try_parse_from(["node"]) {
            Ok(a) => a.args,
            Err(e) => e.exit(),
        }
    }
}

#[derive(Debug, Parser)]
struct NodeArgsOnly {
    #[command(flatten)]
    args: NodeArgs,
}

fn parse_chain(s: &str) -> Result<String, String> {
    ethp2p_eth::chain::ChainSpec::by_name(s)
        .map(|c| c.name.clone())
        .ok_or_else(|| format!("unknown chain {s:?} (mainnet, sepolia, holesky, hoodi)"))
}

fn parse_key(s: &str) -> Result<ethp2p_rlpx::SecretKey, String> {
    let bytes = hex::decode(s.trim_start_matches("0x")).map_err(|e| format!("not hex: {e}"))?;
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| "must be 32 bytes (64 hex characters)".to_string())?;
    ethp2p_rlpx::SecretKey::from_byte_array(arr).map_err(|e| e.to_string())
}
