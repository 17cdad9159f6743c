//! A fixed amount of work for instruction counting, e.g.
//! `valgrind --tool=callgrind target/release/examples/drive p2p 0 1024 20000 1`.
//!
//! `drive p2p <workers> <len> <count> <flush_every>` or
//! `drive sessions <workers> <dialers> <per_dialer>`.

use ethp2p_bench::drive;

fn arg(args: &[String], i: usize) -> usize {
    args.get(i).and_then(|a| a.parse().ok()).unwrap_or_else(|| {
        eprintln!("usage: drive p2p <workers> <len> <count> <flush_every> | drive sessions <workers> <dialers> <per_dialer>");
        std::process::exit(2)
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let result = match args.get(1).map(String::as_str) {
        Some("p2p") => {
            drive::p2p_messages(arg(&args, 2), arg(&args, 3), arg(&args, 4), arg(&args, 5))
        }
        Some("sessions") => drive::sessions(arg(&args, 2), arg(&args, 3), arg(&args, 4)),
        _ => {
            arg(&args, usize::MAX);
            unreachable!()
        }
    };
    match result {
        Ok(n) => println!("{n}"),
        Err(e) => {
            eprintln!("drive: {e}");
            std::process::exit(1)
        }
    }
}
