//! The pending session task: connect (outbound), ECIES, Hello, Status, under
//! one timeout and inside one tracing span.

use crate::{
    config::SessionsConfig,
    error::PendingSessionError,
    handle::{Direction, SessionId},
    transport::{BoxedTransport, Dialer},
};
use ethp2p_eth::{
    exchange::status_exchange, forkid::ForkFilter, status::Status, version::EthVersion,
};
use ethp2p_rlpx::{PeerId, SecretKey};
use ethp2p_wire::{DisconnectReason, HelloMessage, P2PStream, Protocol};
use rand::{rngs::StdRng, SeedableRng};
use std::{io, net::SocketAddr, sync::Arc};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, Instrument};

/// What a pending session needs, fixed when it starts.
pub(crate) struct PendingContext {
    pub secret_key: SecretKey,
    pub local_id: PeerId,
    pub hello: HelloMessage,
    pub protocols: Vec<Protocol>,
    pub status: Status,
    pub fork_filter: ForkFilter,
    pub config: Arc<SessionsConfig>,
    pub dialer: Arc<dyn Dialer>,
}

/// An authenticated connection, ready to become an active session.
pub(crate) struct Established {
    pub session_id: SessionId,
    pub direction: Direction,
    pub remote_addr: SocketAddr,
    pub local_addr: Option<SocketAddr>,
    pub conn: P2PStream<BoxedTransport>,
    pub hello: HelloMessage,
    pub version: EthVersion,
    pub status: Status,
}

/// How a pending session ended. Exactly one is sent per pending session.
pub(crate) enum PendingEvent {
    Established(Box<Established>),
    Closed {
        session_id: SessionId,
        error: PendingSessionError,
    },
    ConnectError {
        session_id: SessionId,
        error: io::Error,
    },
}

/// What to authenticate.
pub(crate) enum Target {
    Incoming {
        stream: BoxedTransport,
        local_addr: Option<SocketAddr>,
    },
    Outgoing(PeerId),
}

impl Target {
    pub(crate) fn direction(&self) -> Direction {
        match self {
            Target::Incoming { .. } => Direction::Incoming,
            Target::Outgoing(_) => Direction::Outgoing,
        }
    }
}

/// Sends `Closed { Aborted }` if the task is dropped before reporting (runtime
/// shutdown, abort), so the manager's counters always get their decrement.
struct ReportGuard {
    session_id: SessionId,
    tx: Option<mpsc::UnboundedSender<PendingEvent>>,
}

impl ReportGuard {
    fn report(&mut self, ev: PendingEvent) {
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(ev);
        }
    }
}

impl Drop for ReportGuard {
    fn drop(&mut self) {
        let id = self.session_id;
        self.report(PendingEvent::Closed {
            session_id: id,
            error: PendingSessionError::Aborted,
        });
    }
}

enum Failure {
    Connect(io::Error),
    Session(PendingSessionError),
}

impl From<PendingSessionError> for Failure {
    fn from(e: PendingSessionError) -> Self {
        Failure::Session(e)
    }
}

/// Everything one pending session starts from.
pub(crate) struct PendingStart {
    pub ctx: Arc<PendingContext>,
    pub session_id: SessionId,
    pub remote_addr: SocketAddr,
    pub target: Target,
    /// Seeds the handshake's randomness (ephemeral key, nonce, padding).
    pub rng_seed: u64,
    pub abort: oneshot::Receiver<()>,
    pub tx: mpsc::UnboundedSender<PendingEvent>,
}

/// Runs one pending session to its single report, inside its span.
pub(crate) async fn run(start: PendingStart) {
    let direction = start.target.direction();
    let span = tracing::debug_span!(
        "pending",
        session = start.session_id.0,
        remote_addr = %start.remote_addr,
        dir = direction.as_str(),
        peer = tracing::field::Empty,
    );
    run_inner(start).instrument(span).await
}

async fn run_inner(start: PendingStart) {
    let PendingStart {
        ctx,
        session_id,
        remote_addr,
        target,
        rng_seed,
        abort,
        tx,
    } = start;
    let mut guard = ReportGuard {
        session_id,
        tx: Some(tx),
    };
    let timeout = ctx.config.pending_session_timeout;
    let work = authenticate(ctx, session_id, remote_addr, target, rng_seed);
    let outcome = tokio::select! {
        biased;
        _ = abort => Err(Failure::Session(PendingSessionError::Aborted)),
        r = tokio::time::timeout(timeout, work) => match r {
            Ok(r) => r,
            Err(_) => Err(Failure::Session(PendingSessionError::Timeout)),
        },
    };
    let ev = match outcome {
        Ok(ev) => ev,
        Err(Failure::Connect(error)) => {
            debug!(%error, "connect failed");
            PendingEvent::ConnectError { session_id, error }
        }
        Err(Failure::Session(error)) => {
            debug!(%error, "pending session failed");
            PendingEvent::Closed { session_id, error }
        }
    };
    guard.report(ev);
}

async fn authenticate(
    ctx: Arc<PendingContext>,
    session_id: SessionId,
    remote_addr: SocketAddr,
    target: Target,
    rng_seed: u64,
) -> Result<PendingEvent, Failure> {
    let direction = target.direction();
    let (stream, local_addr, dialed) = match target {
        Target::Incoming { stream, local_addr } => (stream, local_addr, None),
        Target::Outgoing(id) => {
            let d = ctx
                .dialer
                .dial(remote_addr)
                .await
                .map_err(Failure::Connect)?;
            (d.stream, d.local_addr, Some(id))
        }
    };
    let cfg = &ctx.config;
    let mut rng = StdRng::seed_from_u64(rng_seed);
    // The pending timeout bounds everything; the per-stage timeouts only need to be at least as long.
    let t = cfg.pending_session_timeout;
    let rlpx = match dialed {
        // The ack leaves with our Hello, in one write.
        None => ethp2p_rlpx::accept_unflushed_with_rng(stream, &ctx.secret_key, t, &mut rng).await,
        Some(id) => {
            let (key, local_id) = (&ctx.secret_key, ctx.local_id);
            ethp2p_rlpx::connect_with_rng(stream, key, local_id, id, t, &mut rng).await
        }
    }
    .map_err(PendingSessionError::Ecies)?;
    let remote_id = rlpx.remote_id();
    tracing::Span::current().record(
        "peer",
        tracing::field::display(ethp2p_rlpx::node_id(&remote_id)),
    );
    // The Status follows at once: our Hello may ride with it.
    let (mut p2p, hello) =
        ethp2p_wire::handshake_unflushed(rlpx, &ctx.hello, &ctx.protocols, cfg.p2p.clone())
            .await
            .map_err(PendingSessionError::P2P)?;
    if remote_id == ctx.local_id {
        let _ = tokio::time::timeout(
            cfg.p2p.goodbye_timeout,
            p2p.disconnect(DisconnectReason::ConnectedToSelf),
        )
        .await;
        return Err(PendingSessionError::ConnectedToSelf.into());
    }
    let (version, status) =
        status_exchange(&mut p2p, &ctx.status, &ctx.fork_filter, cfg.status_timeout)
            .await
            .map_err(PendingSessionError::Eth)?;
    // The handshakes are over: the session may now sit idle for a long time.
    p2p.release_buffers();
    Ok(PendingEvent::Established(Box::new(Established {
        session_id,
        direction,
        remote_addr,
        local_addr,
        conn: p2p,
        hello,
        version,
        status,
    })))
}
