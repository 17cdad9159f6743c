//! The `ethp2p` binary.

// clap turns the flags' doc comments into `--help`, where `[default: …]` is
// plain text; rustdoc would read the brackets as links.
#![allow(rustdoc::broken_intra_doc_links)]

mod cli;
mod config;
mod crawl;
// Not yet used by the node; the node wiring comes separately.
mod datadir;
mod discovery;
mod discovery_metrics;
mod discovery_v5;
mod enr;
mod handshake;
mod metrics;
mod node;
mod probe;
mod resolve;
mod rpc;
mod rpc_transport;
mod rpc_tx;
mod txs;

use clap::{error::ErrorKind, Parser};
use cli::{Cli, Command};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => match e.kind() {
            ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.exit(),
            _ => {
                // One line, naming the flag; `--help` has the rest.
                eprintln!("error: {} (see --help)", cli::first_line(&e));
                return ExitCode::from(2);
            }
        },
    };
    match cli.command {
        // The two-process experiments start `<this executable> bench --peer ...`.
        Some(Command::Bench(args)) => {
            ethp2p_bench::run(args, &ethp2p_bench::PeerCommand::current_exe(["bench"]))
        }
        Some(Command::Handshake(args)) => handshake::run(args),
        Some(Command::Crawl(args)) => crawl::run(args),
        Some(Command::Probe(args)) => probe::run(args),
        Some(Command::Txs(args)) => txs::run(args),
        Some(Command::Keygen) => {
            let key = ethp2p_rlpx::generate_secret_key();
            let id = ethp2p_rlpx::key::peer_id_from_secret_key(&key);
            println!("secret: {}", hex::encode(key.secret_bytes()));
            println!("id:     {}", hex::encode(id));
            ExitCode::SUCCESS
        }
        Some(Command::Node(args)) => node::run(*args),
        None => node::run(*cli.node),
    }
}

/// A tokio runtime for a subcommand (multi-thread, or current-thread), or the
/// exit code after telling the user why there is none.
fn runtime_or_exit(multi_thread: bool) -> Result<tokio::runtime::Runtime, ExitCode> {
    let mut b = if multi_thread {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    b.enable_all().build().map_err(|e| {
        eprintln!("error: cannot start the runtime: {e}");
        ExitCode::FAILURE
    })
}
