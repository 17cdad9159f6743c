//! The pending session task: TCP connect (outbound), ECIES, Hello, Status.

use crate::{
    config::SessionsConfig,
    error::PendingSessionError,
    handle::{Direction, SessionId},
};
use ethp2p_eth::{
    forkid::ForkFilter, handshake::status_exchange, status::Status, version::EthVersion,
};
use ethp2p_rlpx::{PeerId, SecretKey};
use ethp2p_wire::{DisconnectReason, HelloMessage, P2PStream, Protocol};
use std::{io, net::SocketAddr, sync::Arc};
use tokio::{
    net::TcpStream,
    sync::{mpsc, oneshot},
};
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
}

/// An authenticated connection, ready to become an active session.
pub(crate) struct Established {
    pub session_id: SessionId,
    pub direction: Direction,
    pub remote_addr: SocketAddr,
    pub local_addr: Option<SocketAddr>,
    pub conn: P2PStream<TcpStream>,
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
    Incoming(TcpStream),
    Outgoing(PeerId),
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

pub(crate) async fn run(
    ctx: Arc<PendingContext>,
    session_id: SessionId,
    remote_addr: SocketAddr,
    target: Target,
    abort: oneshot::Receiver<()>,
    tx: mpsc::UnboundedSender<PendingEvent>,
) {
    let direction = match target {
        Target::Incoming(_) => Direction::Incoming,
        Target::Outgoing(_) => Direction::Outgoing,
    };
    let span = tracing::debug_span!("pending", session = session_id.0, %remote_addr, dir = direction.as_str());
    let mut guard = ReportGuard {
        session_id,
        tx: Some(tx),
    };
    let timeout = ctx.config.pending_session_timeout;
    let work = authenticate(ctx, session_id, remote_addr, target);
    let outcome = tokio::select! {
        r = tokio::time::timeout(timeout, work) => match r {
            Ok(r) => r,
            Err(_) => Err(Failure::Session(PendingSessionError::Timeout)),
        },
        _ = abort => Err(Failure::Session(PendingSessionError::Aborted)),
    };
    let ev = match outcome {
        Ok(ev) => ev,
        Err(Failure::Connect(error)) => PendingEvent::ConnectError { session_id, error },
        Err(Failure::Session(error)) => {
            debug!(parent: &span, %error, "pending session failed");
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
) -> Result<PendingEvent, Failure> {
    let (direction, stream, dialed) = match target {
        Target::Incoming(s) => (Direction::Incoming, s, None),
        Target::Outgoing(id) => {
            let s = TcpStream::connect(remote_addr)
                .await
                .map_err(Failure::Connect)?;
            (Direction::Outgoing, s, Some(id))
        }
    };
    let _ = stream.set_nodelay(true);
    let local_addr = stream.local_addr().ok();
    let cfg = &ctx.config;
    // The pending timeout bounds everything; the per-stage timeouts only need to be at least as long.
    let rlpx = match dialed {
        // The ack leaves with our Hello, in one write.
        None => {
            ethp2p_rlpx::accept_unflushed(stream, &ctx.secret_key, cfg.pending_session_timeout)
                .await
        }
        Some(id) => {
            let (key, local_id, t) = (&ctx.secret_key, ctx.local_id, cfg.pending_session_timeout);
            ethp2p_rlpx::connect_with_id(stream, key, local_id, id, t).await
        }
    }
    .map_err(PendingSessionError::Ecies)?;
    let remote_id = rlpx.remote_id();
    let (mut p2p, hello) =
        // The Status follows at once: our Hello may ride with it.
        ethp2p_wire::handshake_unflushed(rlpx, &ctx.hello, &ctx.protocols, cfg.p2p.clone())
            .instrument(tracing::debug_span!("hello", peer = %remote_id))
            .await
            .map_err(PendingSessionError::P2P)?;
    if remote_id == ctx.local_id {
        let _ = tokio::time::timeout(
            cfg.p2p.hello_timeout,
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
