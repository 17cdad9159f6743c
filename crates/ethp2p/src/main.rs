//! The `ethp2p` binary.

mod bench;
mod cli;
mod node;

use clap::Parser;
use cli::{Cli, Command};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Bench(args)) => bench::run(args),
        Some(Command::Keygen) => {
            let key = ethp2p_rlpx::generate_secret_key();
            let id = ethp2p_rlpx::key::peer_id_from_secret_key(&key);
            println!("secret: {}", hex::encode(key.secret_bytes()));
            println!("id:     {}", hex::encode(id));
            ExitCode::SUCCESS
        }
        Some(Command::Node(args)) => node::run(args),
        None => node::run(cli::NodeArgs::default()),
    }
}
