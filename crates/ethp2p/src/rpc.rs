//! The admin JSON-RPC (HTTP and WebSocket on one port, via jsonrpsee), in
//! go-ethereum's method names and result shapes.
//!
//! The handlers own nothing of the node: they send a [`NodeCommand`] down a
//! channel to the node loop (which owns the `SessionManager`) and wait for
//! the answer. Peer events arrive on a broadcast channel the loop feeds.

use ethp2p_rlpx::NodeRecord;
use jsonrpsee::{
    core::{async_trait, to_json_raw_value, RpcResult, SubscriptionResult},
    proc_macros::rpc,
    server::{middleware::http::HostFilterLayer, PendingSubscriptionSink, Server, ServerHandle},
    types::{ErrorObject, ErrorObjectOwned},
};
use serde::Serialize;
use std::{collections::BTreeMap, net::SocketAddr, sync::Arc};
use tokio::sync::{broadcast, mpsc, oneshot};
use tracing::debug;

/// geth's generic server error code.
const SERVER_ERROR: i32 = -32000;
/// geth's code for an unknown subscription name.
const METHOD_NOT_FOUND: i32 = -32601;

/// A request from an RPC handler to the node loop.
#[derive(Debug)]
pub(crate) enum NodeCommand {
    /// `admin_peers`.
    Peers(oneshot::Sender<Vec<PeerInfo>>),
    /// `net_peerCount`.
    PeerCount(oneshot::Sender<usize>),
    /// `admin_addPeer`: dial and keep redialing.
    AddPeer(NodeRecord, oneshot::Sender<Result<bool, String>>),
    /// `admin_removePeer`: stop redialing and disconnect.
    RemovePeer(NodeRecord, oneshot::Sender<Result<bool, String>>),
    /// `admin_addTrustedPeer`.
    AddTrustedPeer(NodeRecord, oneshot::Sender<Result<bool, String>>),
    /// `admin_removeTrustedPeer`.
    RemoveTrustedPeer(NodeRecord, oneshot::Sender<Result<bool, String>>),
}

/// `admin_peers` entry (geth's `p2p.PeerInfo`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct PeerInfo {
    /// `enode://` URL.
    pub enode: String,
    /// Node id: keccak256 of the public key, hex without `0x`.
    pub id: String,
    /// Client name from the Hello.
    pub name: String,
    /// Capabilities the peer announced, as `name/version`.
    pub caps: Vec<String>,
    /// Connection details.
    pub network: PeerNetwork,
    /// Per-protocol information.
    pub protocols: BTreeMap<String, serde_json::Value>,
}

/// `admin_peers[].network`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PeerNetwork {
    /// Our side of the socket.
    pub local_address: String,
    /// The peer's side.
    pub remote_address: String,
    /// Whether the peer dialed us.
    pub inbound: bool,
    /// Whether the peer is trusted.
    pub trusted: bool,
    /// Whether the peer is a static peer.
    #[serde(rename = "static")]
    pub is_static: bool,
}

/// `admin_peers[].protocols.eth`: the version and, from eth/69 on, the
/// peer's block range (geth's `ethPeerInfo`).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct EthPeerInfo {
    /// Negotiated version.
    pub version: u8,
    /// eth/69+: earliest block served.
    #[serde(rename = "earliestBlock", skip_serializing_if = "Option::is_none")]
    pub earliest_block: Option<u64>,
    /// eth/69+: latest block.
    #[serde(rename = "latestBlock", skip_serializing_if = "Option::is_none")]
    pub latest_block: Option<u64>,
    /// eth/69+: hash of the latest block.
    #[serde(rename = "latestBlockHash", skip_serializing_if = "Option::is_none")]
    pub latest_block_hash: Option<String>,
}

/// `admin_nodeInfo` (geth's `p2p.NodeInfo`).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct NodeInfo {
    /// keccak256 of the public key.
    pub id: String,
    /// Client name.
    pub name: String,
    /// `enode://` URL.
    pub enode: String,
    /// Signed node record.
    pub enr: String,
    /// Announced IP.
    pub ip: String,
    /// Ports.
    pub ports: NodePorts,
    /// The listening socket.
    #[serde(rename = "listenAddr")]
    pub listen_addr: String,
    /// Per-protocol information.
    pub protocols: BTreeMap<String, serde_json::Value>,
}

/// `admin_nodeInfo.ports`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct NodePorts {
    /// UDP discovery port (0: this node runs no discovery).
    pub discovery: u16,
    /// TCP RLPx port.
    pub listener: u16,
}

/// One `admin_peerEvents` notification (geth's `p2p.PeerEvent`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct PeerEvent {
    /// `add`, `drop`, `msgsend` or `msgrecv`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Node id (keccak256 of the public key, hex).
    pub peer: String,
    /// Why the peer dropped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Sub-protocol of a message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Message code, relative to the protocol.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msg_code: Option<u64>,
    /// Uncompressed payload size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msg_size: Option<u32>,
    /// Our address on the connection.
    #[serde(rename = "local", skip_serializing_if = "Option::is_none")]
    pub local_address: Option<String>,
    /// The peer's address.
    #[serde(rename = "remote", skip_serializing_if = "Option::is_none")]
    pub remote_address: Option<String>,
}

/// The `admin_` namespace.
#[rpc(server, namespace = "admin")]
pub trait AdminApi {
    /// This node's identity, addresses and protocols.
    #[method(name = "nodeInfo")]
    async fn node_info(&self) -> RpcResult<NodeInfo>;

    /// Every connected peer.
    #[method(name = "peers")]
    async fn peers(&self) -> RpcResult<Vec<PeerInfo>>;

    /// Adds a static peer: dialed now and redialed whenever lost.
    #[method(name = "addPeer")]
    async fn add_peer(&self, enode: String) -> RpcResult<bool>;

    /// Removes a static peer and disconnects it.
    #[method(name = "removePeer")]
    async fn remove_peer(&self, enode: String) -> RpcResult<bool>;

    /// Admits a peer even when the limits are full.
    #[method(name = "addTrustedPeer")]
    async fn add_trusted_peer(&self, enode: String) -> RpcResult<bool>;

    /// Takes a peer off the trusted list.
    #[method(name = "removeTrustedPeer")]
    async fn remove_trusted_peer(&self, enode: String) -> RpcResult<bool>;

    /// geth's form: `admin_subscribe("peerEvents")`, notifications as `admin_subscription`.
    #[subscription(name = "subscribe" => "subscription", unsubscribe = "unsubscribe", item = PeerEvent)]
    async fn subscribe(&self, kind: String) -> SubscriptionResult;

    /// The same feed under its own name: `admin_peerEvents`.
    #[subscription(name = "peerEvents", unsubscribe = "unsubscribePeerEvents", item = PeerEvent)]
    async fn peer_events(&self) -> SubscriptionResult;
}

/// The `net_` namespace.
#[rpc(server, namespace = "net")]
pub trait NetApi {
    /// Connected peers as a hex quantity.
    #[method(name = "peerCount")]
    async fn peer_count(&self) -> RpcResult<String>;

    /// Whether the node accepts connections (always true while it runs).
    #[method(name = "listening")]
    fn listening(&self) -> RpcResult<bool>;

    /// The network id, as a decimal string.
    #[method(name = "version")]
    fn version(&self) -> RpcResult<String>;
}

/// The `eth_` namespace: what a chain-less node can do with transactions.
#[rpc(server, namespace = "eth")]
pub trait EthApi {
    /// Decodes a signed transaction (EIP-2718 bytes, or the network form of
    /// a blob transaction), propagates it to the peers and returns its hash.
    #[method(name = "sendRawTransaction")]
    async fn send_raw_transaction(
        &self,
        raw: alloy_primitives::Bytes,
    ) -> RpcResult<alloy_primitives::B256>;

    /// geth's `eth_subscribe("newPendingTransactions")`: the hash of every
    /// transaction first seen from the peers (WebSocket only); with `true`,
    /// geth's full transaction object (see [`crate::rpc_tx`]).
    #[subscription(name = "subscribe" => "subscription", unsubscribe = "unsubscribe", item = serde_json::Value)]
    async fn subscribe(&self, kind: String, full: Option<bool>) -> SubscriptionResult;
}

/// The `ethp2p_` namespace.
#[rpc(server, namespace = "ethp2p")]
pub trait Ethp2pApi {
    /// `ethp2p_subscribe("transactions")`: one record per transaction first
    /// seen, `{hash, type, size, raw, firstSeen, peer, client, via, announcers}`.
    #[subscription(name = "subscribe" => "subscription", unsubscribe = "unsubscribe", item = serde_json::Value)]
    async fn subscribe(&self, kind: String) -> SubscriptionResult;
}

/// The `web3_` namespace.
#[rpc(server, namespace = "web3")]
pub trait Web3Api {
    /// The client name sent in Hello.
    #[method(name = "clientVersion")]
    fn client_version(&self) -> RpcResult<String>;
}

/// What the handlers need; cheap to clone.
#[derive(Clone)]
pub(crate) struct RpcContext {
    /// Commands to the node loop.
    pub commands: mpsc::Sender<NodeCommand>,
    /// Peer events from the node loop.
    pub events: broadcast::Sender<Arc<PeerEvent>>,
    /// Fixed for the node's life.
    pub node_info: Arc<NodeInfo>,
    /// Network id.
    pub network_id: u64,
    /// Client name.
    pub client_version: String,
    /// Transaction gossip.
    pub txs: ethp2p_network::transactions::manager::TransactionsHandle,
}

fn server_error(msg: impl Into<String>) -> ErrorObjectOwned {
    ErrorObject::owned(SERVER_ERROR, msg.into(), None::<()>)
}

/// Parses an enode URL, resolving a DNS host name (geth accepts names).
async fn parse_enode(s: &str) -> RpcResult<NodeRecord> {
    let url: ethp2p_rlpx::EnodeUrl = s
        .trim()
        .parse()
        .map_err(|e| server_error(format!("invalid enode: {e}")))?;
    crate::resolve::resolve(&url)
        .await
        .map_err(|e| server_error(format!("invalid enode: {e}")))
}

impl RpcContext {
    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> NodeCommand) -> RpcResult<T> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(make(tx))
            .await
            .map_err(|_| server_error("node is shutting down"))?;
        rx.await.map_err(|_| server_error("node is shutting down"))
    }

    async fn forward_events(&self, pending: PendingSubscriptionSink) -> SubscriptionResult {
        let mut rx = self.events.subscribe();
        let sink = pending.accept().await?;
        loop {
            tokio::select! {
                _ = sink.closed() => break,
                ev = rx.recv() => match ev {
                    Ok(ev) => sink.send(to_json_raw_value(&*ev)?).await?,
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        debug!(missed = n, "peer event subscriber lagging; events dropped");
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
            }
        }
        Ok(())
    }
}

#[async_trait]
impl AdminApiServer for RpcContext {
    async fn node_info(&self) -> RpcResult<NodeInfo> {
        Ok((*self.node_info).clone())
    }

    async fn peers(&self) -> RpcResult<Vec<PeerInfo>> {
        self.ask(NodeCommand::Peers).await
    }

    async fn add_peer(&self, enode: String) -> RpcResult<bool> {
        let r = parse_enode(&enode).await?;
        self.ask(|tx| NodeCommand::AddPeer(r, tx))
            .await?
            .map_err(server_error)
    }

    async fn remove_peer(&self, enode: String) -> RpcResult<bool> {
        let r = parse_enode(&enode).await?;
        self.ask(|tx| NodeCommand::RemovePeer(r, tx))
            .await?
            .map_err(server_error)
    }

    async fn add_trusted_peer(&self, enode: String) -> RpcResult<bool> {
        let r = parse_enode(&enode).await?;
        self.ask(|tx| NodeCommand::AddTrustedPeer(r, tx))
            .await?
            .map_err(server_error)
    }

    async fn remove_trusted_peer(&self, enode: String) -> RpcResult<bool> {
        let r = parse_enode(&enode).await?;
        self.ask(|tx| NodeCommand::RemoveTrustedPeer(r, tx))
            .await?
            .map_err(server_error)
    }

    async fn subscribe(
        &self,
        pending: PendingSubscriptionSink,
        kind: String,
    ) -> SubscriptionResult {
        if kind != "peerEvents" {
            pending
                .reject(ErrorObject::owned(
                    METHOD_NOT_FOUND,
                    format!("no {kind:?} subscription in admin namespace"),
                    None::<()>,
                ))
                .await;
            return Ok(());
        }
        self.forward_events(pending).await
    }

    async fn peer_events(&self, pending: PendingSubscriptionSink) -> SubscriptionResult {
        self.forward_events(pending).await
    }
}

#[async_trait]
impl NetApiServer for RpcContext {
    async fn peer_count(&self) -> RpcResult<String> {
        let n = self.ask(NodeCommand::PeerCount).await?;
        Ok(format!("{n:#x}"))
    }

    fn listening(&self) -> RpcResult<bool> {
        Ok(true)
    }

    fn version(&self) -> RpcResult<String> {
        Ok(self.network_id.to_string())
    }
}

impl RpcContext {
    async fn forward_records(
        &self,
        pending: PendingSubscriptionSink,
        make: impl Fn(
            &ethp2p_network::transactions::stream::FirstSeenRecord,
        ) -> Option<serde_json::Value>,
    ) -> SubscriptionResult {
        let mut rx = self.txs.subscribe();
        let sink = pending.accept().await?;
        loop {
            tokio::select! {
                _ = sink.closed() => break,
                rec = rx.recv() => match rec {
                    Ok(r) => {
                        if let Some(v) = make(&r) {
                            sink.send(to_json_raw_value(&v)?).await?;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        debug!(missed = n, "transaction subscriber lagging; records dropped");
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
            }
        }
        Ok(())
    }
}

async fn reject(pending: PendingSubscriptionSink, msg: String) -> SubscriptionResult {
    pending
        .reject(ErrorObject::owned(METHOD_NOT_FOUND, msg, None::<()>))
        .await;
    Ok(())
}

#[async_trait]
impl EthApiServer for RpcContext {
    async fn send_raw_transaction(
        &self,
        raw: alloy_primitives::Bytes,
    ) -> RpcResult<alloy_primitives::B256> {
        self.txs
            .submit_raw(raw)
            .await
            .map_err(|e| server_error(e.to_string()))
    }

    async fn subscribe(
        &self,
        pending: PendingSubscriptionSink,
        kind: String,
        full: Option<bool>,
    ) -> SubscriptionResult {
        if kind != "newPendingTransactions" {
            return reject(
                pending,
                format!(
                    "no {kind:?} subscription: a chain-less node offers newPendingTransactions"
                ),
            )
            .await;
        }
        if full == Some(true) {
            // geth's RPCTransaction, from the body; a transaction whose body
            // did not arrive within the stream's window is not sent.
            return self
                .forward_records(pending, |r| {
                    r.raw
                        .as_deref()
                        .and_then(|raw| crate::rpc_tx::pending_transaction_json(raw))
                })
                .await;
        }
        self.forward_records(pending, |r| Some(serde_json::json!(r.hash)))
            .await
    }
}

#[async_trait]
impl Ethp2pApiServer for RpcContext {
    async fn subscribe(
        &self,
        pending: PendingSubscriptionSink,
        kind: String,
    ) -> SubscriptionResult {
        if kind != "transactions" {
            return reject(
                pending,
                format!("no {kind:?} subscription in ethp2p namespace (transactions)"),
            )
            .await;
        }
        self.forward_records(pending, |r| serde_json::to_value(r).ok())
            .await
    }
}

impl Web3ApiServer for RpcContext {
    fn client_version(&self) -> RpcResult<String> {
        Ok(self.client_version.clone())
    }
}

type HttpLayers = tower::layer::util::Stack<
    crate::rpc_transport::MarkPlainHttpLayer,
    tower::layer::util::Stack<HostFilterLayer, tower::layer::util::Identity>,
>;
type RpcLayers = tower::layer::util::Stack<
    crate::rpc_transport::SubscriptionsNeedWsLayer,
    tower::layer::util::Identity,
>;

/// A bound, not yet serving, RPC server.
pub(crate) struct BoundRpc {
    server: Server<HttpLayers, RpcLayers>,
    /// The address it listens on (the real port when 0 was asked).
    pub local_addr: SocketAddr,
}

/// Binds the RPC address; errors name `--rpc-addr`.
///
/// On loopback, HTTP and WebSocket requests must name a loopback host
/// (`localhost`, `127.0.0.1`, `[::1]`) in their `Host` header, as geth's
/// default `--http.vhosts=localhost` does: a web page cannot reach the
/// admin API by rebinding its own name to 127.0.0.1.
pub(crate) async fn bind(addr: SocketAddr, external: bool) -> Result<BoundRpc, String> {
    let filter = if external {
        HostFilterLayer::disable()
    } else {
        HostFilterLayer::new([
            "localhost",
            "localhost:*",
            "127.0.0.1",
            "127.0.0.1:*",
            "[::1]",
            "[::1]:*",
        ])
        .map_err(|e| format!("--rpc-addr: host filter: {e}"))?
    };
    let server = Server::builder()
        .set_http_middleware(
            tower::ServiceBuilder::new()
                .layer(filter)
                .layer(crate::rpc_transport::MarkPlainHttpLayer),
        )
        // Subscriptions asked over HTTP: "subscriptions need WebSocket".
        .set_rpc_middleware(
            jsonrpsee::server::middleware::rpc::RpcServiceBuilder::new()
                .layer(crate::rpc_transport::SubscriptionsNeedWsLayer),
        )
        .build(addr)
        .await
        .map_err(|e| format!("--rpc-addr: cannot listen on {addr}: {e}"))?;
    let local_addr = server
        .local_addr()
        .map_err(|e| format!("--rpc-addr: {addr}: {e}"))?;
    Ok(BoundRpc { server, local_addr })
}

impl BoundRpc {
    /// Starts serving every namespace.
    pub(crate) fn start(self, ctx: RpcContext) -> Result<ServerHandle, String> {
        let mut module = AdminApiServer::into_rpc(ctx.clone());
        module
            .merge(NetApiServer::into_rpc(ctx.clone()))
            .map_err(|e| e.to_string())?;
        module
            .merge(EthApiServer::into_rpc(ctx.clone()))
            .map_err(|e| e.to_string())?;
        module
            .merge(Ethp2pApiServer::into_rpc(ctx.clone()))
            .map_err(|e| e.to_string())?;
        module
            .merge(Web3ApiServer::into_rpc(ctx))
            .map_err(|e| e.to_string())?;
        Ok(self.server.start(module))
    }
}
