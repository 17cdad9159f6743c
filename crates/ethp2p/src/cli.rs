//! Command-line arguments.

use clap::{Parser, Subcommand};

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
    /// Generate a new node secret key and print it with its enode id.
    Keygen,
    /// Benchmark the RLPx transport against the limits of its primitives; prints JSON lines.
    Bench(crate::bench::BenchArgs),
}
