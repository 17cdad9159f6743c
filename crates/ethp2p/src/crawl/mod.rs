//! `ethp2p crawl`: walk the discv4 network from the chain's bootnodes (or
//! `--bootnodes`) until `--timeout`, fetch every node's ENR (EIP-868) and,
//! with `--rlpx`, dial it for its Hello and Status; then print one JSON line
//! per node (and, with `--nodes-json`, geth's `devp2p crawl` node set).
//!
//! How it walks: a discv4 service on an ephemeral UDP port, accepting every
//! node (no fork-id filter), runs lookups for random targets, a few at a
//! time. Every node named in a Neighbours packet from a node the crawl knows
//! is learnt (see [`sniff`]) and pinged; a node that answers gets an
//! ENRRequest, and the engine reports it with its record (or without one
//! after the request timed out: a pre-EIP-868 node).
//!
//! Bounds: at most [`record::MAX_NODES`] nodes; at most
//! [`dial::DIAL_CONCURRENCY`] dials in flight, each within
//! [`dial::DIAL_TIMEOUT`]; the sighting channel holds
//! [`SIGHTINGS_CAPACITY`] packets (more are dropped, as a full socket buffer
//! would drop them).

mod dial;
mod record;
mod sniff;

use crate::{cli::CrawlArgs, node::client_version};
use dial::{DialOutcome, DialSetup, DIAL_CONCURRENCY, DIAL_TIMEOUT};
use ethp2p_discv4::{AcceptAll, Discv4Config, Discv4Event, Discv4Params, DriverConfig};
use ethp2p_eth::chain::ChainSpec;
use ethp2p_rlpx::{NodeRecord, PeerId};
use record::{NodeSet, MAX_NODES};
use std::{
    collections::VecDeque,
    io::Write,
    process::ExitCode,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};
use tokio::{task::JoinSet, time::Instant};

/// Lookups in flight.
const LOOKUP_PARALLELISM: usize = 3;
/// Pause between two lookup starts (the network is not hammered: geth's
/// per-IP limits drop packets of a node asking too often).
const LOOKUP_SPACING: Duration = Duration::from_millis(500);
/// Interval of the progress line on stderr.
const PROGRESS_EVERY: Duration = Duration::from_secs(2);
/// Neighbours packets waiting to be read by the crawl.
const SIGHTINGS_CAPACITY: usize = 4096;

/// Runs the command; returns the process exit code.
pub(crate) fn run(args: CrawlArgs) -> ExitCode {
    let rt = match crate::runtime_or_exit(false) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    match rt.block_on(crawl(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn random_target() -> PeerId {
    let mut b = [0u8; 64];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut b);
    PeerId::from(b)
}

/// The counters of the progress line.
#[derive(Debug, Default)]
struct Progress {
    lookups: u64,
    answered: u64,
    with_enr: u64,
    dialed: u64,
    dial_ok: u64,
}

async fn crawl(args: CrawlArgs) -> Result<(), String> {
    let chain = ChainSpec::by_name(&args.chain).ok_or("--chain: unknown chain")?;
    let bootnodes: Vec<NodeRecord> = if args.bootnodes.is_empty() {
        chain
            .bootnodes
            .iter()
            .filter_map(|b| b.parse().ok())
            .collect()
    } else {
        args.bootnodes.clone()
    };
    if bootnodes.is_empty() {
        return Err(format!(
            "--bootnodes: none given and chain {} has none",
            chain.name
        ));
    }
    // Open the outputs first, so a bad path fails before the crawl.
    let mut output: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .map_err(|e| format!("--output: cannot create {}: {e}", path.display()))?,
        )),
        None => Box::new(std::io::stdout().lock()),
    };
    let nodes_json = match &args.nodes_json {
        Some(path) => Some((
            std::fs::File::create(path)
                .map_err(|e| format!("--nodes-json: cannot create {}: {e}", path.display()))?,
            path,
        )),
        None => None,
    };

    let socket = tokio::net::UdpSocket::bind("0.0.0.0:0")
        .await
        .map_err(|e| format!("cannot bind a UDP socket: {e}"))?;
    let udp_port = socket.local_addr().map_err(|e| e.to_string())?.port();
    let (sightings_tx, mut sightings) = tokio::sync::mpsc::channel(SIGHTINGS_CAPACITY);
    let config = Discv4Config {
        // Every node is reported once, however many the crawl sees.
        max_reported: MAX_NODES,
        max_enr_requests: 64,
        max_enr_queue: 8192,
        // Many nodes may share one IP (e.g. loopback in tests).
        max_packets_per_ip: 10_000,
        ..Discv4Config::default()
    };
    let params = Discv4Params {
        secret_key: ethp2p_rlpx::generate_secret_key(),
        external_ip: None,
        udp_port,
        tcp_port: 0,
        enr_seq: ethp2p_discv4::unix_time_now().as_millis() as u64,
        fork_id: None,
        filter: Box::new(AcceptAll),
        config,
        rng_seed: rand::random(),
    };
    let driver = DriverConfig {
        event_capacity: 65_536,
        ..DriverConfig::default()
    };
    let (handle, mut events, discv4_task) = ethp2p_discv4::start(
        params,
        sniff::SniffSocket::new(socket, sightings_tx),
        None,
        driver,
    )
    .map_err(|e| format!("discovery: {e}"))?;

    let local_id = handle
        .local_record()
        .await
        .map_err(|e| format!("discovery: {e}"))?
        .id;
    let mut nodes = NodeSet::new(MAX_NODES);
    let start_unix = unix_now();
    for b in &bootnodes {
        nodes.learn(*b, start_unix);
        handle
            .add_bootnode(*b)
            .await
            .map_err(|e| format!("discovery: {e}"))?;
    }

    let setup = Arc::new(DialSetup::new(&chain, client_version()));
    let mut dial_queue: VecDeque<NodeRecord> = VecDeque::new();
    let mut dials: JoinSet<(PeerId, DialOutcome)> = JoinSet::new();
    let mut lookups: JoinSet<usize> = JoinSet::new();
    let mut progress = Progress::default();
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(args.timeout);
    let mut next_lookup = started;
    let mut next_progress = started + PROGRESS_EVERY;

    loop {
        let now = Instant::now();
        while lookups.len() < LOOKUP_PARALLELISM && now >= next_lookup {
            let h = handle.clone();
            lookups.spawn(async move { h.lookup(random_target()).await.map_or(0, |r| r.len()) });
            next_lookup = now + LOOKUP_SPACING;
        }
        while dials.len() < DIAL_CONCURRENCY {
            let Some(target) = dial_queue.pop_front() else {
                break;
            };
            let setup = setup.clone();
            dials.spawn(async move { (target.id, dial::dial(&setup, target).await) });
        }
        let lookup_wake = if lookups.len() < LOOKUP_PARALLELISM {
            next_lookup
        } else {
            deadline
        };
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => break,
            _ = tokio::time::sleep_until(next_progress) => {
                next_progress += PROGRESS_EVERY;
                print_progress(started, &nodes, &progress);
            }
            ev = events.recv() => {
                let Some(ev) = ev else { return Err("discovery stopped".into()) };
                if let Discv4Event::NodeFound { record, enr, fork_id } = ev {
                    let t = unix_now();
                    nodes.learn(record, t);
                    if let Some(n) = nodes.get_mut(&record.id) {
                        progress.answered += u64::from(n.last_response.is_none());
                        progress.with_enr += u64::from(enr.is_some() && n.enr.is_none());
                        n.record = record;
                        n.responded(t);
                        if enr.is_none() && n.enr.is_none() {
                            n.error = Some("enr: no ENRResponse (pre-EIP-868 node?)".into());
                        }
                        if enr.is_some() {
                            n.enr = enr;
                            n.fork_id = fork_id;
                        }
                        if args.rlpx && n.hello.is_none() && n.status.is_none() {
                            dial_queue.push_back(n.record);
                        }
                    }
                }
            }
            Some((from, seen)) = sightings.recv() => {
                // Only answers of nodes we asked (or at least know) count.
                if nodes.contains(&from) {
                    let t = unix_now();
                    for r in seen.into_iter().filter(|r| r.id != local_id) {
                        if nodes.learn(r, t) && handle.add_node(r).await.is_err() {
                            return Err("discovery stopped".into());
                        }
                    }
                }
            }
            Some(_) = lookups.join_next(), if !lookups.is_empty() => progress.lookups += 1,
            Some(done) = dials.join_next(), if !dials.is_empty() => {
                if let Ok((id, outcome)) = done {
                    note_dial(&mut nodes, &mut progress, id, outcome);
                }
            }
            _ = tokio::time::sleep_until(lookup_wake) => {}
        }
    }
    lookups.abort_all();
    drop(handle);
    discv4_task.abort();
    // Dials in flight finish (each within its timeout); queued ones are not started.
    let grace = Instant::now() + DIAL_TIMEOUT;
    while !dials.is_empty() {
        match tokio::time::timeout_at(grace, dials.join_next()).await {
            Ok(Some(Ok((id, outcome)))) => note_dial(&mut nodes, &mut progress, id, outcome),
            Ok(_) => {}
            Err(_) => break,
        }
    }
    for target in dial_queue {
        if let Some(n) = nodes.get_mut(&target.id) {
            n.error = Some("rlpx: not dialed before --timeout".into());
        }
    }
    let now = unix_now();
    for n in nodes.iter().map(|n| n.record.id).collect::<Vec<_>>() {
        if let Some(n) = nodes.get_mut(&n) {
            if n.last_response.is_none() && n.error.is_none() {
                n.error = Some("ping: no answer".into());
                n.last_check = Some(now);
            }
        }
    }
    print_progress(started, &nodes, &progress);

    let write_err = |e: std::io::Error| format!("--output: {e}");
    for n in nodes.iter() {
        writeln!(output, "{}", n.to_line()).map_err(write_err)?;
    }
    output.flush().map_err(write_err)?;
    if let Some((file, path)) = nodes_json {
        let text = serde_json::to_string_pretty(&nodes.nodes_json()).map_err(|e| e.to_string())?;
        let mut w = std::io::BufWriter::new(file);
        w.write_all(text.as_bytes())
            .and_then(|()| w.write_all(b"\n"))
            .and_then(|()| w.flush())
            .map_err(|e| format!("--nodes-json: cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

fn note_dial(nodes: &mut NodeSet, progress: &mut Progress, id: PeerId, outcome: DialOutcome) {
    progress.dialed += 1;
    progress.dial_ok += u64::from(outcome.status.is_some());
    if let Some(n) = nodes.get_mut(&id) {
        if outcome.hello.is_some() {
            n.responded(unix_now());
        }
        n.hello = outcome.hello;
        n.status = outcome.status;
        if outcome.error.is_some() {
            n.error = outcome.error;
        }
    }
}

fn print_progress(started: Instant, nodes: &NodeSet, p: &Progress) {
    let overflow = if nodes.overflow > 0 {
        format!(", {} not kept (cap {MAX_NODES})", nodes.overflow)
    } else {
        String::new()
    };
    eprintln!(
        "crawl: {:.0} s, {} nodes seen, {} answered, {} with ENR, {} dialed ({} with Status), {} lookups{overflow}",
        started.elapsed().as_secs_f64(),
        nodes.len(),
        p.answered,
        p.with_enr,
        p.dialed,
        p.dial_ok,
        p.lookups,
    );
}
