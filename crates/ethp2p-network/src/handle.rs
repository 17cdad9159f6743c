//! [`NetworkHandle`]: the cloneable handle embedders drive the network with,
//! and [`FetchClient`]: requests routed to the best peer.

use crate::{
    event::NetworkEvent,
    fetch::{FetchError, FetchRequest, Priority},
    peers::{CandidateEvent, KnownPeer, PeerCommandError, PeerKind, ReputationChangeKind},
    transport_io::IncomingStream,
};
use ethp2p_eth::{
    forkid::{ForkTransition, Head},
    message::{EthMessage, RequestPair},
    snap::{AccountRange, ByteCodes, GetAccountRange, GetByteCodes, SnapMessage},
};
use ethp2p_rlpx::{NodeRecord, PeerId};
use ethp2p_session::{PeerInfo, RequestError, SendError};
use ethp2p_wire::DisconnectReason;
use std::{
    net::{IpAddr, SocketAddr},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
};
use tokio::sync::{broadcast, mpsc, oneshot};

/// A connected peer, as the network sees it.
#[derive(Debug, Clone)]
pub struct PeerSummary {
    /// The session.
    pub info: Arc<PeerInfo>,
    /// What the peers manager knows (kind, reputation), if it tracks the peer.
    pub known: Option<KnownPeer>,
}

/// The network has shut down: the command could not be delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the network has shut down")]
pub struct NetworkShutDown;

/// Why a routed request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FetchClientError {
    /// The router refused or gave up on it.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The network has shut down.
    #[error(transparent)]
    ShutDown(#[from] NetworkShutDown),
}

/// An answer to a routed request.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The peer that answered.
    pub peer_id: PeerId,
    /// The answer (structurally checked: counts, first block, header links).
    pub message: EthMessage,
}

pub(crate) enum Command {
    AddPeer(
        NodeRecord,
        PeerKind,
        oneshot::Sender<Result<(), PeerCommandError>>,
    ),
    RemovePeer(PeerId, Option<PeerKind>),
    Connect(NodeRecord, oneshot::Sender<Result<(), PeerCommandError>>),
    Disconnect(PeerId, DisconnectReason),
    BanPeer(PeerId, oneshot::Sender<Result<(), PeerCommandError>>),
    UnbanPeer(PeerId),
    BanIp(IpAddr),
    UnbanIp(IpAddr),
    Reputation(PeerId, ReputationChangeKind),
    GetReputation(PeerId, oneshot::Sender<Option<i32>>),
    Peers(oneshot::Sender<Vec<PeerSummary>>),
    KnownPeers(PeerKind, oneshot::Sender<Vec<(PeerId, KnownPeer)>>),
    SendMessage(
        PeerId,
        Box<EthMessage>,
        oneshot::Sender<Result<(), SendError>>,
    ),
    SendRequest(
        PeerId,
        Box<EthMessage>,
        oneshot::Sender<oneshot::Receiver<Result<EthMessage, RequestError>>>,
    ),
    SendSnapRequest(
        PeerId,
        Box<SnapMessage>,
        oneshot::Sender<oneshot::Receiver<Result<SnapMessage, RequestError>>>,
    ),
    SendProtocol(
        PeerId,
        String,
        u8,
        bytes::Bytes,
        oneshot::Sender<Result<(), SendError>>,
    ),
    UpdateHead(Head, oneshot::Sender<Option<ForkTransition>>),
    Fetch(
        FetchRequest,
        Priority,
        oneshot::Sender<Result<Fetched, FetchError>>,
    ),
    ReportBadData(PeerId, ReputationChangeKind),
    Incoming(IncomingStream),
    Candidate(CandidateEvent),
    Shutdown(oneshot::Sender<()>),
}

pub(crate) struct Shared {
    pub local_id: PeerId,
    pub local_addr: Option<SocketAddr>,
    pub num_peers: AtomicUsize,
    pub events: broadcast::Sender<NetworkEvent>,
}

/// Drives a running [`NetworkManager`](crate::NetworkManager): cheap to
/// clone, usable from any task. Every method fails with [`NetworkShutDown`]
/// once the manager has stopped.
#[derive(Clone)]
pub struct NetworkHandle {
    pub(crate) tx: mpsc::Sender<Command>,
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for NetworkHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetworkHandle")
            .field("local_id", &self.shared.local_id)
            .finish_non_exhaustive()
    }
}

impl NetworkHandle {
    async fn send(&self, cmd: Command) -> Result<(), NetworkShutDown> {
        self.tx.send(cmd).await.map_err(|_| NetworkShutDown)
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, NetworkShutDown> {
        let (tx, rx) = oneshot::channel();
        self.send(make(tx)).await?;
        rx.await.map_err(|_| NetworkShutDown)
    }

    /// This node's id.
    pub fn local_id(&self) -> PeerId {
        self.shared.local_id
    }

    /// The address the listener is bound to, if it listens.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.shared.local_addr
    }

    /// Established sessions right now.
    pub fn num_connected_peers(&self) -> usize {
        self.shared.num_peers.load(Ordering::Relaxed)
    }

    /// A new subscription to [`NetworkEvent`]s (from now on).
    pub fn event_listener(&self) -> broadcast::Receiver<NetworkEvent> {
        self.shared.events.subscribe()
    }

    /// Adds a peer of `kind` (static and trusted peers are kept dialed).
    pub async fn add_peer(
        &self,
        record: NodeRecord,
        kind: PeerKind,
    ) -> Result<Result<(), PeerCommandError>, NetworkShutDown> {
        self.ask(|tx| Command::AddPeer(record, kind, tx)).await
    }

    /// Takes `kind` away from a peer (it stays known as basic), or, with
    /// `None`, forgets it and disconnects it.
    pub async fn remove_peer(
        &self,
        peer_id: PeerId,
        kind: Option<PeerKind>,
    ) -> Result<(), NetworkShutDown> {
        self.send(Command::RemovePeer(peer_id, kind)).await
    }

    /// Dials a peer now, whatever the slots.
    pub async fn connect(
        &self,
        record: NodeRecord,
    ) -> Result<Result<(), PeerCommandError>, NetworkShutDown> {
        self.ask(|tx| Command::Connect(record, tx)).await
    }

    /// Disconnects a peer with `reason`.
    pub async fn disconnect(
        &self,
        peer_id: PeerId,
        reason: DisconnectReason,
    ) -> Result<(), NetworkShutDown> {
        self.send(Command::Disconnect(peer_id, reason)).await
    }

    /// Bans a peer id (refused for trusted peers).
    pub async fn ban_peer(
        &self,
        peer_id: PeerId,
    ) -> Result<Result<(), PeerCommandError>, NetworkShutDown> {
        self.ask(|tx| Command::BanPeer(peer_id, tx)).await
    }

    /// Lifts a peer id's ban.
    pub async fn unban_peer(&self, peer_id: PeerId) -> Result<(), NetworkShutDown> {
        self.send(Command::UnbanPeer(peer_id)).await
    }

    /// Bans an IP address (non-trusted peers there are disconnected).
    pub async fn ban_ip(&self, ip: IpAddr) -> Result<(), NetworkShutDown> {
        self.send(Command::BanIp(ip)).await
    }

    /// Lifts an IP's ban.
    pub async fn unban_ip(&self, ip: IpAddr) -> Result<(), NetworkShutDown> {
        self.send(Command::UnbanIp(ip)).await
    }

    /// Applies a reputation change to a peer.
    pub async fn reputation_change(
        &self,
        peer_id: PeerId,
        kind: ReputationChangeKind,
    ) -> Result<(), NetworkShutDown> {
        self.send(Command::Reputation(peer_id, kind)).await
    }

    /// A peer's reputation, if it is known.
    pub async fn reputation(&self, peer_id: PeerId) -> Result<Option<i32>, NetworkShutDown> {
        self.ask(|tx| Command::GetReputation(peer_id, tx)).await
    }

    /// Every connected peer, ordered by id.
    pub async fn peers(&self) -> Result<Vec<PeerSummary>, NetworkShutDown> {
        self.ask(Command::Peers).await
    }

    /// One connected peer.
    pub async fn peer(&self, peer_id: PeerId) -> Result<Option<PeerSummary>, NetworkShutDown> {
        Ok(self
            .peers()
            .await?
            .into_iter()
            .find(|p| p.info.remote_id == peer_id))
    }

    /// Known peers of a kind (connected or not).
    pub async fn peers_by_kind(
        &self,
        kind: PeerKind,
    ) -> Result<Vec<(PeerId, KnownPeer)>, NetworkShutDown> {
        self.ask(|tx| Command::KnownPeers(kind, tx)).await
    }

    /// Queues an eth message (broadcast or response) for a peer.
    pub async fn send_message(
        &self,
        peer_id: PeerId,
        message: EthMessage,
    ) -> Result<Result<(), SendError>, NetworkShutDown> {
        self.ask(|tx| Command::SendMessage(peer_id, Box::new(message), tx))
            .await
    }

    /// Sends a message of an extra sub-protocol (one of
    /// [`NetworkConfig::extra_protocols`](crate::NetworkConfig), shared with
    /// the peer) to one peer: `id` is relative to the protocol's message-id
    /// range, `payload` the uncompressed body. Messages of these protocols
    /// from peers arrive on the message stream as
    /// [`PeerMessage::Protocol`](ethp2p_session::PeerMessage).
    pub async fn send_protocol_message(
        &self,
        peer_id: PeerId,
        protocol: &str,
        id: u8,
        payload: bytes::Bytes,
    ) -> Result<Result<(), SendError>, NetworkShutDown> {
        let name = protocol.to_owned();
        self.ask(|tx| Command::SendProtocol(peer_id, name, id, payload, tx))
            .await
    }

    /// Sends an eth request to one peer and waits for its answer.
    pub async fn send_request(
        &self,
        peer_id: PeerId,
        request: EthMessage,
    ) -> Result<Result<EthMessage, RequestError>, NetworkShutDown> {
        let rx = self
            .ask(|tx| Command::SendRequest(peer_id, Box::new(request), tx))
            .await?;
        Ok(rx.await.unwrap_or(Err(RequestError::ConnectionClosed)))
    }

    /// Sends a snap request to one peer and waits for its answer. Its
    /// request id comes from the session's id space (shared with eth); the
    /// session's request timeout and breach rule apply. Fails with
    /// `RequestError::Unsupported` when snap is not shared with the peer or
    /// the request is not in the negotiated snap version (`GetTrieNodes`
    /// only on snap/1, `GetBlockAccessLists` only on snap/2).
    pub async fn send_snap_request(
        &self,
        peer_id: PeerId,
        request: SnapMessage,
    ) -> Result<Result<SnapMessage, RequestError>, NetworkShutDown> {
        let rx = self
            .ask(|tx| Command::SendSnapRequest(peer_id, Box::new(request), tx))
            .await?;
        Ok(rx.await.unwrap_or(Err(RequestError::ConnectionClosed)))
    }

    /// Asks one peer for a range of accounts (snap `GetAccountRange`).
    pub async fn get_account_range(
        &self,
        peer_id: PeerId,
        request: GetAccountRange,
    ) -> Result<Result<AccountRange, RequestError>, NetworkShutDown> {
        let msg = SnapMessage::GetAccountRange(RequestPair::new(0, request));
        Ok(self
            .send_snap_request(peer_id, msg)
            .await?
            .and_then(|m| match m {
                SnapMessage::AccountRange(p) => Ok(p.message),
                _ => Err(RequestError::BadResponse),
            }))
    }

    /// Asks one peer for contract codes by hash (snap `GetByteCodes`); the
    /// answer holds the codes it has, in request order, missing ones skipped.
    pub async fn get_byte_codes(
        &self,
        peer_id: PeerId,
        request: GetByteCodes,
    ) -> Result<Result<ByteCodes, RequestError>, NetworkShutDown> {
        let msg = SnapMessage::GetByteCodes(RequestPair::new(0, request));
        Ok(self
            .send_snap_request(peer_id, msg)
            .await?
            .and_then(|m| match m {
                SnapMessage::ByteCodes(p) => Ok(p.message),
                _ => Err(RequestError::BadResponse),
            }))
    }

    /// The local head moved: the Status offered to new peers and the fork
    /// filter follow; returns the fork transition, if any.
    pub async fn update_head(&self, head: Head) -> Result<Option<ForkTransition>, NetworkShutDown> {
        self.ask(|tx| Command::UpdateHead(head, tx)).await
    }

    /// Hands an inbound connection over any transport to the network, as if
    /// the listener had accepted it (admission rules apply).
    pub async fn incoming(&self, stream: IncomingStream) -> Result<(), NetworkShutDown> {
        self.send(Command::Incoming(stream)).await
    }

    /// A node discovery found (with the fork id of its record, if any): a
    /// dial candidate, checked against our fork filter first.
    pub async fn discovered(&self, candidate: CandidateEvent) -> Result<(), NetworkShutDown> {
        self.send(Command::Candidate(candidate)).await
    }

    /// Requests routed to the best capable peer.
    pub fn fetch_client(&self) -> FetchClient {
        FetchClient {
            handle: self.clone(),
        }
    }

    /// Says goodbye to every peer (ClientQuitting) and stops the manager;
    /// returns once it has.
    pub async fn shutdown(&self) -> Result<(), NetworkShutDown> {
        self.ask(Command::Shutdown).await
    }
}

/// Header, body and receipt requests routed to the best idle capable peer
/// (eth/69 block range covering the request, then fewest recent bad
/// answers, then lowest round-trip time), one in flight per peer and kind,
/// with structural checks on the answers.
#[derive(Debug, Clone)]
pub struct FetchClient {
    handle: NetworkHandle,
}

impl FetchClient {
    /// Routes `request`; resolves with the checked answer and who gave it.
    pub async fn fetch(
        &self,
        request: FetchRequest,
        priority: Priority,
    ) -> Result<Fetched, FetchClientError> {
        let r = self
            .handle
            .ask(|tx| Command::Fetch(request, priority, tx))
            .await?;
        Ok(r?)
    }

    /// Headers, as `GetBlockHeaders` asks for them.
    pub async fn get_headers(
        &self,
        request: ethp2p_eth::message::GetBlockHeaders,
    ) -> Result<Fetched, FetchClientError> {
        self.fetch(FetchRequest::Headers(request), Priority::Normal)
            .await
    }

    /// Tells the network that a peer's answer held bad data (something only
    /// a chain can check): the peer is marked and loses reputation.
    pub async fn report_bad_data(
        &self,
        peer_id: PeerId,
        change: ReputationChangeKind,
    ) -> Result<(), NetworkShutDown> {
        self.handle
            .send(Command::ReportBadData(peer_id, change))
            .await
    }
}
