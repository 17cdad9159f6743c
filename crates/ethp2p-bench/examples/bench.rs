//! `ethp2p bench` without the rest of the node: the same arguments and
//! output, for quick builds while iterating (`cargo run --release -p
//! ethp2p-bench --example bench -- --only frame.p2p`). The two-process
//! experiments start this example again as their children.

use clap::Parser;
use ethp2p_bench::{BenchArgs, PeerCommand};

/// `ethp2p bench`'s arguments.
#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: BenchArgs,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    ethp2p_bench::run(cli.args, &PeerCommand::current_exe(Vec::<String>::new()))
}
