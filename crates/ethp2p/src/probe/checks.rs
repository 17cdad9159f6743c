//! The chain-less checks (reference `network-layer.md` §5; geth
//! `cmd/devp2p/internal/ethtest`), each against fresh connections.
//!
//! Every check fills a [`Record`]: what it sent, what the specification or
//! the reference client expects, what came back; and returns a [`Verdict`]
//! with the reason.

use super::conn::{describe, hello_for, probe_protocols, Conn, Event, Frame, ReadEnd};
use alloy_primitives::{keccak256, B256};
use alloy_rlp::{Encodable, Header};
use bytes::Bytes;
use ethp2p_eth::{
    forkid::{ForkHash, ForkId},
    message::{
        BlockHashOrNumber, BlockRangeUpdate, EthMessage, GetBlockHeaders,
        NewPooledTransactionHashes, NewPooledTransactionHashes68, NewPooledTransactionHashes72,
        RawList, RequestPair,
    },
    snap::{
        limits::SOFT_RESPONSE_LIMIT, GetAccountRange, GetBlockAccessLists, GetByteCodes,
        GetStorageRanges, GetTrieNodes, SnapMessage, SnapMessageId, SnapVersion,
    },
    status::Status,
    version::EthVersion,
};
use ethp2p_rlpx::{NodeRecord, SecretKey};
use rand::{rngs::StdRng, Rng, RngCore};
use std::{collections::HashSet, time::Duration};
use tokio::time::Instant;

/// The outcome of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verdict {
    /// The remote behaved as expected.
    Pass,
    /// It did not.
    Fail,
    /// The check could not run against this remote (and why says why).
    Skip,
}

/// What a check sent, expected and got.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Record {
    /// What the probe sent.
    pub sent: String,
    /// What the spec / reference client expects in return.
    pub expected: String,
    /// What came back.
    pub got: String,
}

/// A verdict and its reason.
pub type Outcome = (Verdict, String);

/// Everything the checks share: the target, the timeout and the RNG.
pub struct Ctx {
    /// The node under test.
    pub target: NodeRecord,
    /// Time allowed for each read (and each connection stage).
    pub timeout: Duration,
    /// Source of every random value (keys, hashes, names): seeded for replay.
    pub rng: StdRng,
}

impl Ctx {
    /// A fresh node key, so that no connection is refused as already connected.
    fn key(&mut self) -> SecretKey {
        loop {
            let mut b = [0u8; 32];
            self.rng.fill_bytes(&mut b);
            if let Ok(k) = SecretKey::from_byte_array(b) {
                return k;
            }
        }
    }

    fn hash(&mut self) -> B256 {
        let mut b = [0u8; 32];
        self.rng.fill_bytes(&mut b);
        b[0] |= 1; // never zero
        B256::from(b)
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut b = vec![0u8; n];
        self.rng.fill_bytes(&mut b);
        b
    }

    fn deadline(&self) -> Instant {
        Instant::now() + self.timeout
    }

    /// RLPx handshake, then the Hellos.
    async fn hello(&mut self) -> Result<Conn, String> {
        let key = self.key();
        let mut conn = Conn::dial(&self.target, &key, self.timeout).await?;
        let protocols = probe_protocols();
        conn.hello(&hello_for(&key, &protocols), &protocols).await?;
        Ok(conn)
    }

    /// A full session: Hellos, then the remote's Status mirrored back.
    async fn session(&mut self) -> Result<(Conn, Status), String> {
        let mut conn = self.hello().await?;
        let status = conn.read_status().await?;
        conn.send_status(&status).await?;
        Ok((conn, status))
    }
}

fn fail(why: impl Into<String>) -> Outcome {
    (Verdict::Fail, why.into())
}

fn pass(why: impl Into<String>) -> Outcome {
    (Verdict::Pass, why.into())
}

fn skip(why: impl Into<String>) -> Outcome {
    (Verdict::Skip, why.into())
}

/// Every check, in the order they run.
pub const CHECKS: &[&str] = &[
    "Status",
    "Ping",
    "MaliciousHandshake/LongCapName",
    "MaliciousHandshake/Id65Bytes",
    "MaliciousHandshake/Id128Bytes",
    "MaliciousHandshake/Id2KiB",
    "MaliciousHandshake/LongCapNameAndId",
    "BadStatus/NetworkId",
    "BadStatus/Genesis",
    "BadStatus/ForkId",
    "BadStatus/Version",
    "BlockRangeUpdateInvalid",
    "BlockRangeUpdateFuture",
    "BlockRangeUpdateExpired",
    "GetNonexistentBlockHeaders",
    "SimultaneousRequests",
    "SameRequestID",
    "ZeroRequestID",
    "BlockHeadersFromGenesis",
    "UnknownMessageIdInRange",
    "UnknownMessageIdBeyondRange",
    "NewPooledTxs",
    "Snap/AccountRangeUnknownRoot",
    "Snap/StorageRangesUnknownRoot",
    "Snap/ByteCodesUnknown",
    "Snap/TrieNodesUnknownRoot",
    "Snap/GetTrieNodesOnSnap2",
    "Snap/BlockAccessListsUnknown",
];

/// Runs the check called `name`.
pub async fn run(name: &str, ctx: &mut Ctx, r: &mut Record) -> Outcome {
    match name {
        "Status" => status(ctx, r).await,
        "Ping" => ping(ctx, r).await,
        "MaliciousHandshake/LongCapName" => malicious_hello(ctx, r, true, IdKind::Valid).await,
        "MaliciousHandshake/Id65Bytes" => malicious_hello(ctx, r, false, IdKind::Extra(1)).await,
        "MaliciousHandshake/Id128Bytes" => malicious_hello(ctx, r, false, IdKind::Doubled).await,
        "MaliciousHandshake/Id2KiB" => malicious_hello(ctx, r, false, IdKind::Random(2048)).await,
        "MaliciousHandshake/LongCapNameAndId" => {
            malicious_hello(ctx, r, true, IdKind::Random(2048)).await
        }
        "BadStatus/NetworkId" => bad_status(ctx, r, StatusField::NetworkId).await,
        "BadStatus/Genesis" => bad_status(ctx, r, StatusField::Genesis).await,
        "BadStatus/ForkId" => bad_status(ctx, r, StatusField::ForkId).await,
        "BadStatus/Version" => bad_status(ctx, r, StatusField::Version).await,
        "BlockRangeUpdateInvalid" => block_range_invalid(ctx, r).await,
        "BlockRangeUpdateFuture" => block_range_kept(ctx, r, true).await,
        "BlockRangeUpdateExpired" => block_range_kept(ctx, r, false).await,
        "GetNonexistentBlockHeaders" => nonexistent_headers(ctx, r).await,
        "SimultaneousRequests" => header_requests(ctx, r, Pairing::Simultaneous).await,
        "SameRequestID" => header_requests(ctx, r, Pairing::SameId).await,
        "ZeroRequestID" => header_requests(ctx, r, Pairing::Zero).await,
        "BlockHeadersFromGenesis" => header_requests(ctx, r, Pairing::FromGenesis).await,
        "UnknownMessageIdInRange" => unknown_id(ctx, r, true).await,
        "UnknownMessageIdBeyondRange" => unknown_id(ctx, r, false).await,
        "NewPooledTxs" => new_pooled_txs(ctx, r).await,
        "Snap/AccountRangeUnknownRoot" => snap_empty(ctx, r, SnapMessageId::GetAccountRange).await,
        "Snap/StorageRangesUnknownRoot" => {
            snap_empty(ctx, r, SnapMessageId::GetStorageRanges).await
        }
        "Snap/ByteCodesUnknown" => snap_empty(ctx, r, SnapMessageId::GetByteCodes).await,
        "Snap/TrieNodesUnknownRoot" => snap_empty(ctx, r, SnapMessageId::GetTrieNodes).await,
        "Snap/GetTrieNodesOnSnap2" => snap_trie_nodes_on_snap2(ctx, r).await,
        "Snap/BlockAccessListsUnknown" => {
            snap_empty(ctx, r, SnapMessageId::GetBlockAccessLists).await
        }
        other => fail(format!("no check called {other}")),
    }
}

fn status_summary(s: &Status) -> String {
    let head = if s.is_legacy() {
        format!("best {}", s.best_hash)
    } else {
        format!(
            "blocks {}..={} (head {})",
            s.earliest_block, s.latest_block, s.latest_block_hash
        )
    };
    format!(
        "Status eth/{} network {} genesis {} fork id {} {head}",
        s.version, s.network_id, s.genesis, s.fork_id
    )
}

/// Waits for a Pong, skipping unrelated messages.
async fn await_pong(conn: &mut Conn, deadline: Instant) -> Result<(), String> {
    loop {
        match conn.next_event(deadline).await {
            Event::Pong => return Ok(()),
            Event::Eth(_) | Event::Snap(_) | Event::Other => continue,
            Event::Disconnect(r) => return Err(format!("Disconnect ({r})")),
            Event::End(e) => return Err(e.to_string()),
        }
    }
}

/// Waits for a Disconnect, skipping unrelated messages; a bare close, a
/// failure or a timeout fail.
async fn await_disconnect(conn: &mut Conn, deadline: Instant, r: &mut Record) -> Outcome {
    loop {
        match conn.next_event(deadline).await {
            Event::Disconnect(reason) => {
                r.got = format!("Disconnect ({reason})");
                return pass(format!("disconnected with {reason}"));
            }
            Event::Eth(_) | Event::Snap(_) | Event::Pong | Event::Other => continue,
            Event::End(ReadEnd::Timeout) => {
                r.got = "no Disconnect".into();
                return fail("the connection stayed open: the message was accepted");
            }
            Event::End(e) => {
                r.got = e.to_string();
                return fail(format!("{e}: a Disconnect message was expected"));
            }
        }
    }
}

async fn status(ctx: &mut Ctx, r: &mut Record) -> Outcome {
    r.sent =
        "Hello (eth/66-72, snap/1-2), the remote's own Status mirrored back, then a Ping".into();
    r.expected =
        "peering succeeds: the Ping after the Status is answered with a Pong, no Disconnect".into();
    let (mut conn, status) = match ctx.session().await {
        Ok(s) => s,
        Err(e) => {
            r.got = e.clone();
            return fail(format!("no session: {e}"));
        }
    };
    let caps: Vec<String> = conn.shared.iter().map(|c| c.cap.to_string()).collect();
    r.got = format!("shared {}; {}", caps.join(","), status_summary(&status));
    if let Err(e) = conn.ping().await {
        return fail(e);
    }
    let result = await_pong(&mut conn, ctx.deadline()).await;
    conn.close().await;
    match result {
        Ok(()) => {
            r.got.push_str("; Pong");
            pass("the remote accepted its own Status")
        }
        Err(e) => {
            r.got.push_str(&format!("; {e}"));
            fail(format!("after the Status exchange: {e}"))
        }
    }
}

async fn ping(ctx: &mut Ctx, r: &mut Record) -> Outcome {
    r.sent = "Ping (0x02) after the Status exchange".into();
    r.expected = "Pong (0x03)".into();
    let (mut conn, _) = match ctx.session().await {
        Ok(s) => s,
        Err(e) => return fail(format!("no session: {e}")),
    };
    if let Err(e) = conn.ping().await {
        return fail(e);
    }
    let result = await_pong(&mut conn, ctx.deadline()).await;
    conn.close().await;
    match result {
        Ok(()) => {
            r.got = "Pong".into();
            pass("answered")
        }
        Err(e) => {
            r.got = e.clone();
            fail(format!("no Pong: {e}"))
        }
    }
}

#[derive(Clone, Copy)]
enum IdKind {
    Valid,
    Extra(usize),
    Doubled,
    Random(usize),
}

/// Encodes a Hello by hand, so that its node id may have any length and its
/// capability names any bytes.
fn raw_hello(client: &str, caps: &[(Vec<u8>, u32)], id: &[u8]) -> Vec<u8> {
    let mut caps_payload = Vec::new();
    for (name, version) in caps {
        let inner = name.as_slice().length() + version.length();
        Header {
            list: true,
            payload_length: inner,
        }
        .encode(&mut caps_payload);
        name.as_slice().encode(&mut caps_payload);
        version.encode(&mut caps_payload);
    }
    let mut body = Vec::new();
    ethp2p_wire::P2P_VERSION.encode(&mut body);
    client.as_bytes().encode(&mut body);
    Header {
        list: true,
        payload_length: caps_payload.len(),
    }
    .encode(&mut body);
    body.extend_from_slice(&caps_payload);
    0u16.encode(&mut body);
    id.encode(&mut body);
    let mut out = Vec::new();
    Header {
        list: true,
        payload_length: body.len(),
    }
    .encode(&mut out);
    out.extend_from_slice(&body);
    out
}

async fn malicious_hello(
    ctx: &mut Ctx,
    r: &mut Record,
    long_cap: bool,
    id_kind: IdKind,
) -> Outcome {
    let key = ctx.key();
    let id = ethp2p_rlpx::key::peer_id_from_secret_key(&key);
    let mut caps: Vec<(Vec<u8>, u32)> = probe_protocols()
        .iter()
        .map(|p| (p.cap.name.clone().into_bytes(), p.cap.version))
        .collect();
    let mut what = Vec::new();
    if long_cap {
        caps.insert(0, (ctx.bytes(2048), 66));
        what.push("a capability with a 2 KiB random name".to_string());
    }
    let id_bytes: Vec<u8> = match id_kind {
        IdKind::Valid => id.to_vec(),
        IdKind::Extra(n) => {
            let mut v = id.to_vec();
            v.extend(std::iter::repeat_n(0u8, n));
            v
        }
        IdKind::Doubled => [id.as_slice(), id.as_slice()].concat(),
        IdKind::Random(n) => ctx.bytes(n),
    };
    if !matches!(id_kind, IdKind::Valid) {
        what.push(format!("a node id of {} bytes", id_bytes.len()));
    }
    r.sent = format!("Hello with {}", what.join(" and "));
    r.expected = "only Hello or Disconnect back, or the connection closed (geth ethtest)".into();
    let mut conn = match Conn::dial(&ctx.target, &key, ctx.timeout).await {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let body = raw_hello("ethp2p-probe", &caps, &id_bytes);
    if let Err(e) = conn.send_hello_raw(&body).await {
        return fail(e);
    }
    let deadline = ctx.deadline();
    let mut seen = Vec::new();
    loop {
        match conn.read_frame(deadline).await {
            Ok(Frame::Hello(h)) => seen.push(describe(&Frame::Hello(h))),
            Ok(Frame::Ping) => seen.push("Ping".into()),
            Ok(Frame::Disconnect(reason)) => {
                seen.push(format!("Disconnect ({reason})"));
                r.got = seen.join(", ");
                return pass(format!("refused with {reason}"));
            }
            Ok(other) => {
                seen.push(describe(&other));
                r.got = seen.join(", ");
                return fail("the remote went on with the session after an invalid Hello");
            }
            Err(ReadEnd::Timeout) => {
                seen.push("no Disconnect".into());
                r.got = seen.join(", ");
                return fail("the connection stayed open after an invalid Hello");
            }
            Err(end) => {
                seen.push(end.to_string());
                r.got = seen.join(", ");
                return pass("the connection was closed");
            }
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum StatusField {
    NetworkId,
    Genesis,
    ForkId,
    Version,
}

async fn bad_status(ctx: &mut Ctx, r: &mut Record, field: StatusField) -> Outcome {
    let mut conn = match ctx.hello().await {
        Ok(c) => c,
        Err(e) => return fail(format!("no session: {e}")),
    };
    let theirs = match conn.read_status().await {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let mut ours = theirs;
    let change = match field {
        StatusField::NetworkId => {
            ours.network_id = theirs.network_id.wrapping_add(1);
            format!("network id {}", ours.network_id)
        }
        StatusField::Genesis => {
            ours.genesis = ctx.hash();
            format!("genesis {}", ours.genesis)
        }
        StatusField::ForkId => {
            let h = theirs.fork_id.hash.0;
            ours.fork_id = ForkId {
                hash: ForkHash([!h[0], !h[1], !h[2], !h[3]]),
                next: 0,
            };
            format!("fork id {}", ours.fork_id)
        }
        StatusField::Version => {
            // Another version of the same Status format.
            ours.version = match theirs.version {
                69 => 70,
                v if v >= 70 => 69,
                68 => 67,
                _ => 68,
            };
            format!("version {} on eth/{}", ours.version, theirs.version)
        }
    };
    r.sent = format!("the remote's Status with {change}");
    r.expected = "Disconnect (geth: 0x10 subprotocol error)".into();
    if let Err(e) = conn.send_status(&ours).await {
        return fail(e);
    }
    let deadline = ctx.deadline();
    await_disconnect(&mut conn, deadline, r).await
}

fn block_range_session_version(conn: &Conn) -> Option<EthVersion> {
    conn.eth_version().filter(|v| v.has_block_range())
}

async fn block_range_invalid(ctx: &mut Ctx, r: &mut Record) -> Outcome {
    let (mut conn, _) = match ctx.session().await {
        Ok(s) => s,
        Err(e) => return fail(format!("no session: {e}")),
    };
    if block_range_session_version(&conn).is_none() {
        return skip("BlockRangeUpdate needs eth/69 or later");
    }
    let update = BlockRangeUpdate {
        earliest: 10,
        latest: 8,
        latest_hash: ctx.hash(),
    };
    r.sent = "BlockRangeUpdate earliest 10, latest 8".into();
    r.expected = "Disconnect (geth: 0x10; a bare TCP close fails)".into();
    if let Err(e) = conn.send_eth(&EthMessage::BlockRangeUpdate(update)).await {
        return fail(e);
    }
    let deadline = ctx.deadline();
    await_disconnect(&mut conn, deadline, r).await
}

async fn block_range_kept(ctx: &mut Ctx, r: &mut Record, future: bool) -> Outcome {
    let (mut conn, status) = match ctx.session().await {
        Ok(s) => s,
        Err(e) => return fail(format!("no session: {e}")),
    };
    if block_range_session_version(&conn).is_none() {
        return skip("BlockRangeUpdate needs eth/69 or later");
    }
    let head = status.latest_block;
    let (earliest, latest) = if future {
        (head.saturating_add(10), head.saturating_add(50))
    } else {
        (head.saturating_sub(10), head)
    };
    let update = BlockRangeUpdate {
        earliest,
        latest,
        latest_hash: ctx.hash(),
    };
    r.sent = format!(
        "BlockRangeUpdate {earliest}..={latest} (remote head {head}), then 10 × (100 ms, Ping)"
    );
    r.expected = "a Pong to every Ping, no Disconnect (the range is valid)".into();
    if let Err(e) = conn.send_eth(&EthMessage::BlockRangeUpdate(update)).await {
        return fail(e);
    }
    for i in 1..=10 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if let Err(e) = conn.ping().await {
            r.got = format!("{i} Pings; then {e}");
            return fail(e);
        }
        if let Err(e) = await_pong(&mut conn, ctx.deadline()).await {
            r.got = format!("{} Pongs, then {e}", i - 1);
            return fail(format!("after a valid BlockRangeUpdate: {e}"));
        }
    }
    conn.close().await;
    r.got = "10 Pongs".into();
    pass("the connection stayed up")
}

async fn nonexistent_headers(ctx: &mut Ctx, r: &mut Record) -> Outcome {
    r.sent = "10 × GetBlockHeaders for block 2^64-1, request ids 0-9".into();
    r.expected = "no Disconnect (empty BlockHeaders answers are fine)".into();
    let (mut conn, _) = match ctx.session().await {
        Ok(s) => s,
        Err(e) => return fail(format!("no session: {e}")),
    };
    for id in 0..10u64 {
        let m = EthMessage::GetBlockHeaders(RequestPair::new(
            id,
            GetBlockHeaders {
                start: BlockHashOrNumber::Number(u64::MAX),
                limit: 1,
                skip: 0,
                reverse: false,
            },
        ));
        if let Err(e) = conn.send_eth(&m).await {
            return fail(e);
        }
    }
    let deadline = ctx.deadline();
    let mut answered = HashSet::new();
    let mut non_empty = 0;
    while answered.len() < 10 {
        match conn.next_event(deadline).await {
            Event::Eth(EthMessage::BlockHeaders(p)) if p.request_id < 10 => {
                answered.insert(p.request_id);
                if !p.message.is_empty() {
                    non_empty += 1;
                }
            }
            Event::Eth(_) | Event::Snap(_) | Event::Pong | Event::Other => {}
            Event::Disconnect(reason) => {
                r.got = format!("{} answers, then Disconnect ({reason})", answered.len());
                return fail(format!("disconnected with {reason}"));
            }
            Event::End(ReadEnd::Timeout) => break,
            Event::End(e) => {
                r.got = format!("{} answers, then {e}", answered.len());
                return fail(e.to_string());
            }
        }
    }
    // Still alive?
    let alive = match conn.ping().await {
        Ok(()) => await_pong(&mut conn, ctx.deadline()).await,
        Err(e) => Err(e),
    };
    conn.close().await;
    r.got = format!("{} of 10 answered ({non_empty} not empty)", answered.len());
    if let Err(e) = alive {
        r.got.push_str(&format!("; Ping: {e}"));
        return fail(format!("the connection did not survive: {e}"));
    }
    if non_empty > 0 {
        return fail("headers returned for block 2^64-1, which cannot exist");
    }
    pass("the connection stayed up")
}

/// What a header answer must satisfy, whatever chain the remote has.
struct HeaderRequest {
    id: u64,
    start: u64,
    limit: u64,
}

/// Number, parent hash and hash of an encoded header.
fn header_info(raw: &[u8]) -> Result<(u64, B256, B256), String> {
    let mut buf = raw;
    let mut fields = Header::decode_bytes(&mut buf, true).map_err(|e| e.to_string())?;
    let parent: B256 = alloy_rlp::Decodable::decode(&mut fields).map_err(|e| e.to_string())?;
    // ommers, coinbase, state root, tx root, receipts root, bloom, difficulty
    for _ in 0..7 {
        let h = Header::decode(&mut fields).map_err(|e| e.to_string())?;
        fields = fields.get(h.payload_length..).ok_or("truncated header")?;
    }
    let number: u64 = alloy_rlp::Decodable::decode(&mut fields).map_err(|e| e.to_string())?;
    Ok((number, parent, keccak256(raw)))
}

/// Structural checks of one answer: count, first number, consecutive
/// numbers and parent links, genesis hash.
fn check_headers(req: &HeaderRequest, headers: &RawList, genesis: B256) -> Result<String, String> {
    if headers.len() as u64 > req.limit {
        return Err(format!(
            "{} headers for a limit of {}",
            headers.len(),
            req.limit
        ));
    }
    let mut prev: Option<(u64, B256)> = None;
    for (i, raw) in headers.iter().enumerate() {
        let (number, parent, hash) = header_info(raw).map_err(|e| format!("header {i}: {e}"))?;
        match prev {
            None if number != req.start => {
                return Err(format!(
                    "first header is block {number}, {} was asked",
                    req.start
                ))
            }
            None if number == 0 && hash != genesis => {
                return Err(format!(
                    "block 0 hashes to {hash}, the Status genesis is {genesis}"
                ))
            }
            Some((pn, ph)) if number != pn + 1 || parent != ph => {
                return Err(format!(
                    "header {i} (block {number}) does not follow block {pn}"
                ))
            }
            _ => {}
        }
        prev = Some((number, hash));
    }
    Ok(match headers.len() {
        0 => "empty".into(),
        n => format!("{n} headers from block {}", req.start),
    })
}

#[derive(Clone, Copy)]
enum Pairing {
    Simultaneous,
    SameId,
    Zero,
    FromGenesis,
}

async fn header_requests(ctx: &mut Ctx, r: &mut Record, pairing: Pairing) -> Outcome {
    let requests = match pairing {
        Pairing::Simultaneous => vec![
            HeaderRequest {
                id: 111,
                start: 0,
                limit: 2,
            },
            HeaderRequest {
                id: 222,
                start: 1,
                limit: 1,
            },
        ],
        Pairing::SameId => vec![
            HeaderRequest {
                id: 1234,
                start: 0,
                limit: 1,
            },
            HeaderRequest {
                id: 1234,
                start: 1,
                limit: 1,
            },
        ],
        Pairing::Zero => vec![HeaderRequest {
            id: 0,
            start: 0,
            limit: 1,
        }],
        Pairing::FromGenesis => vec![HeaderRequest {
            id: ctx.rng.random(),
            start: 0,
            limit: 16,
        }],
    };
    r.sent = requests
        .iter()
        .map(|q| {
            format!(
                "GetBlockHeaders id {} from block {} limit {}",
                q.id, q.start, q.limit
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    r.sent.push_str(" (back to back)");
    r.expected = format!(
        "{} BlockHeaders, each with its request's id (any order); at most limit headers, \
         starting at the asked block, consecutive, parent-linked, block 0 = Status genesis",
        requests.len()
    );
    let (mut conn, status) = match ctx.session().await {
        Ok(s) => s,
        Err(e) => return fail(format!("no session: {e}")),
    };
    for q in &requests {
        let m = EthMessage::GetBlockHeaders(RequestPair::new(
            q.id,
            GetBlockHeaders {
                start: BlockHashOrNumber::Number(q.start),
                limit: q.limit,
                skip: 0,
                reverse: false,
            },
        ));
        if let Err(e) = conn.send_eth(&m).await {
            return fail(e);
        }
    }
    let deadline = ctx.deadline();
    let mut open: Vec<&HeaderRequest> = requests.iter().collect();
    let mut got = Vec::new();
    while !open.is_empty() {
        match conn.next_event(deadline).await {
            Event::Eth(EthMessage::BlockHeaders(p)) => {
                // The first still-open request with this id the answer fits.
                let mut errors = Vec::new();
                let fit = open.iter().position(|q| {
                    q.id == p.request_id
                        && match check_headers(q, &p.message, status.genesis) {
                            Ok(_) => true,
                            Err(e) => {
                                errors.push(e);
                                false
                            }
                        }
                });
                match fit {
                    Some(i) => {
                        let q = open.remove(i);
                        let summary =
                            check_headers(q, &p.message, status.genesis).unwrap_or_default();
                        got.push(format!("id {}: {summary}", p.request_id));
                    }
                    None if errors.is_empty() => {
                        got.push(format!("id {}: not asked", p.request_id));
                        r.got = got.join("; ");
                        return fail(format!(
                            "an answer with request id {}, which no open request has",
                            p.request_id
                        ));
                    }
                    None => {
                        got.push(format!("id {}: {}", p.request_id, errors.join(", ")));
                        r.got = got.join("; ");
                        return fail(format!("malformed answer: {}", errors.join(", ")));
                    }
                }
            }
            Event::Eth(_) | Event::Snap(_) | Event::Pong | Event::Other => {}
            Event::Disconnect(reason) => {
                got.push(format!("Disconnect ({reason})"));
                r.got = got.join("; ");
                return fail(format!("disconnected with {reason}"));
            }
            Event::End(e) => {
                got.push(e.to_string());
                r.got = got.join("; ");
                return fail(format!(
                    "{} of {} requests unanswered",
                    open.len(),
                    requests.len()
                ));
            }
        }
    }
    conn.close().await;
    r.got = got.join("; ");
    pass("every request answered with its id")
}

async fn unknown_id(ctx: &mut Ctx, r: &mut Record, in_range: bool) -> Outcome {
    let (mut conn, _) = match ctx.session().await {
        Ok(s) => s,
        Err(e) => return fail(format!("no session: {e}")),
    };
    let sent = if in_range {
        // 0x0b is inside every eth version's range and assigned in none.
        r.sent = format!(
            "eth message 0x0b (unassigned, inside the eth/{} range) with payload 0xc0",
            conn.eth_version().map(|v| v.as_u8()).unwrap_or(0)
        );
        conn.send_eth_raw(0x0b, &[alloy_rlp::EMPTY_LIST_CODE]).await
    } else {
        let id = conn.first_unused_id();
        r.sent = format!("message id {id:#04x}, the first beyond every shared capability");
        conn.send_raw(id, &[alloy_rlp::EMPTY_LIST_CODE]).await
    };
    r.expected = "Disconnect (geth: 0x10 subprotocol error)".into();
    if let Err(e) = sent {
        return fail(e);
    }
    let deadline = ctx.deadline();
    await_disconnect(&mut conn, deadline, r).await
}

async fn new_pooled_txs(ctx: &mut Ctx, r: &mut Record) -> Outcome {
    let (mut conn, _) = match ctx.session().await {
        Ok(s) => s,
        Err(e) => return fail(format!("no session: {e}")),
    };
    let Some(version) = conn.eth_version() else {
        return fail("eth is not shared");
    };
    let hashes: Vec<B256> = (0..50).map(|_| ctx.hash()).collect();
    let types = Bytes::from(vec![2u8; 50]);
    let sizes = vec![200u64; 50];
    let announcement = if version < EthVersion::Eth68 {
        NewPooledTransactionHashes::Eth66(hashes.clone())
    } else if version < EthVersion::Eth72 {
        NewPooledTransactionHashes::Eth68(NewPooledTransactionHashes68 {
            types,
            sizes,
            hashes: hashes.clone(),
        })
    } else {
        NewPooledTransactionHashes::Eth72(NewPooledTransactionHashes72 {
            types,
            sizes,
            hashes: hashes.clone(),
            cell_mask: None,
        })
    };
    r.sent = format!(
        "NewPooledTransactionHashes: 50 type-2 hashes (eth/{})",
        version.as_u8()
    );
    r.expected = "GetPooledTransactions for all 50 (geth ethtest, synced node)".into();
    if let Err(e) = conn
        .send_eth(&EthMessage::NewPooledTransactionHashes(announcement))
        .await
    {
        return fail(e);
    }
    let announced: HashSet<B256> = hashes.into_iter().collect();
    let mut requested = HashSet::new();
    let deadline = ctx.deadline();
    while requested.len() < announced.len() {
        match conn.next_event(deadline).await {
            Event::Eth(EthMessage::GetPooledTransactions(p)) => {
                for h in p.message {
                    if !announced.contains(&h) {
                        r.got = format!("a request for {h}, never announced");
                        return fail("requested a transaction that was never announced");
                    }
                    requested.insert(h);
                }
            }
            Event::Eth(_) | Event::Snap(_) | Event::Pong | Event::Other => {}
            Event::Disconnect(reason) => {
                r.got = format!("Disconnect ({reason})");
                return fail(format!("disconnected with {reason}"));
            }
            Event::End(ReadEnd::Timeout) => break,
            Event::End(e) => {
                r.got = e.to_string();
                return fail(e.to_string());
            }
        }
    }
    conn.close().await;
    r.got = format!("{} of 50 hashes requested", requested.len());
    match requested.len() {
        0 => skip(format!(
            "the node requested none of the 50 hashes within {:?}: a node that keeps no \
             transaction pool (or is not synced) need not",
            ctx.timeout
        )),
        50 => pass("every announced hash requested"),
        n => fail(format!("only {n} of the 50 announced hashes requested")),
    }
}

async fn snap_session(ctx: &mut Ctx) -> Result<(Conn, SnapVersion), Outcome> {
    let (conn, _) = ctx
        .session()
        .await
        .map_err(|e| fail(format!("no session: {e}")))?;
    match conn.snap {
        Some((_, v)) => Ok((conn, v)),
        None => {
            let caps = conn
                .remote_hello
                .as_ref()
                .map(|h| {
                    h.capabilities
                        .iter()
                        .map(|c| c.to_string())
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default();
            Err(skip(format!(
                "snap is not negotiated (the remote offers {caps})"
            )))
        }
    }
}

async fn snap_empty(ctx: &mut Ctx, r: &mut Record, kind: SnapMessageId) -> Outcome {
    let (mut conn, version) = match snap_session(ctx).await {
        Ok(s) => s,
        Err(o) => return o,
    };
    if !kind.is_valid_for(version) {
        return skip(format!("{} does not exist in {version}", kind.name()));
    }
    let id: u64 = ctx.rng.random();
    let root = ctx.hash();
    let request = match kind {
        SnapMessageId::GetAccountRange => SnapMessage::GetAccountRange(RequestPair::new(
            id,
            GetAccountRange {
                root_hash: root,
                starting_hash: B256::ZERO,
                limit_hash: B256::repeat_byte(0xff),
                response_bytes: SOFT_RESPONSE_LIMIT,
            },
        )),
        SnapMessageId::GetStorageRanges => SnapMessage::GetStorageRanges(RequestPair::new(
            id,
            GetStorageRanges {
                root_hash: root,
                account_hashes: vec![ctx.hash()],
                starting_hash: Bytes::new(),
                limit_hash: Bytes::copy_from_slice(B256::repeat_byte(0xff).as_slice()),
                response_bytes: SOFT_RESPONSE_LIMIT,
            },
        )),
        SnapMessageId::GetByteCodes => SnapMessage::GetByteCodes(RequestPair::new(
            id,
            GetByteCodes {
                hashes: vec![ctx.hash(), ctx.hash(), ctx.hash()],
                bytes: SOFT_RESPONSE_LIMIT,
            },
        )),
        SnapMessageId::GetTrieNodes => SnapMessage::GetTrieNodes(RequestPair::new(
            id,
            GetTrieNodes {
                root_hash: root,
                paths: vec![vec![Bytes::from_static(&[0x00])]],
                bytes: SOFT_RESPONSE_LIMIT,
            },
        )),
        _ => SnapMessage::GetBlockAccessLists(RequestPair::new(
            id,
            GetBlockAccessLists {
                hashes: vec![ctx.hash(), ctx.hash(), ctx.hash()],
                bytes: SOFT_RESPONSE_LIMIT,
            },
        )),
    };
    r.sent = match kind {
        SnapMessageId::GetByteCodes => format!("{} for 3 random code hashes, id {id}", kind.name()),
        SnapMessageId::GetBlockAccessLists => {
            format!("{} for 3 random block hashes, id {id}", kind.name())
        }
        _ => format!("{} with a random (unknown) root, id {id}", kind.name()),
    };
    r.expected = match kind {
        SnapMessageId::GetByteCodes => {
            "ByteCodes with the same id and no codes (missing codes are skipped)".into()
        }
        SnapMessageId::GetBlockAccessLists => {
            "BlockAccessLists with the same id and 3 entries, each 0x80 (positions kept)".into()
        }
        _ => format!(
            "{} with the same id, empty (unknown root → empty reply)",
            kind.response().map(|k| k.name()).unwrap_or_default()
        ),
    };
    if let Err(e) = conn.send_snap(&request).await {
        return fail(e);
    }
    let deadline = ctx.deadline();
    loop {
        match conn.next_event(deadline).await {
            Event::Snap(m) if m.is_response() => {
                r.got = format!("{} id {}", m.id().name(), m.request_id());
                if Some(m.id()) != kind.response() {
                    return fail(format!("answered with {}", m.id().name()));
                }
                if m.request_id() != id {
                    return fail(format!(
                        "answered with request id {}, {id} was asked",
                        m.request_id()
                    ));
                }
                let verdict = match &m {
                    SnapMessage::AccountRange(p) => (
                        p.message.is_empty(),
                        format!(
                            "{} accounts, {} proof nodes",
                            p.message.accounts.len(),
                            p.message.proof.len()
                        ),
                    ),
                    SnapMessage::StorageRanges(p) => (
                        p.message.is_empty(),
                        format!(
                            "{} slot lists, {} proof nodes",
                            p.message.slots.len(),
                            p.message.proof.len()
                        ),
                    ),
                    SnapMessage::ByteCodes(p) => (
                        p.message.codes.is_empty(),
                        format!("{} codes", p.message.codes.len()),
                    ),
                    SnapMessage::TrieNodes(p) => (
                        p.message.nodes.is_empty(),
                        format!("{} nodes", p.message.nodes.len()),
                    ),
                    SnapMessage::BlockAccessLists(p) => {
                        let avail: Vec<bool> = p.message.availability().collect();
                        (
                            avail.len() == 3 && avail.iter().all(|a| !a),
                            format!(
                                "{} entries, {} unavailable",
                                avail.len(),
                                avail.iter().filter(|a| !**a).count()
                            ),
                        )
                    }
                    _ => (false, "unexpected".into()),
                };
                r.got.push_str(&format!(": {}", verdict.1));
                conn.close().await;
                return if verdict.0 {
                    pass("the chain-less answer")
                } else {
                    fail(format!("not the expected answer: {}", verdict.1))
                };
            }
            Event::Eth(_) | Event::Snap(_) | Event::Pong | Event::Other => {}
            Event::Disconnect(reason) => {
                r.got = format!("Disconnect ({reason})");
                return fail(format!("disconnected with {reason}"));
            }
            Event::End(e) => {
                r.got = e.to_string();
                return fail(format!(
                    "no answer: {e} (snap requests must always be answered)"
                ));
            }
        }
    }
}

async fn snap_trie_nodes_on_snap2(ctx: &mut Ctx, r: &mut Record) -> Outcome {
    let (mut conn, version) = match snap_session(ctx).await {
        Ok(s) => s,
        Err(o) => return o,
    };
    if version != SnapVersion::Snap2 {
        return skip(format!(
            "{version} negotiated: GetTrieNodes is only reserved in snap/2"
        ));
    }
    let request = SnapMessage::GetTrieNodes(RequestPair::new(
        1,
        GetTrieNodes {
            root_hash: ctx.hash(),
            paths: vec![vec![Bytes::from_static(&[0x00])]],
            bytes: SOFT_RESPONSE_LIMIT,
        },
    ));
    r.sent = "GetTrieNodes (0x06, reserved in snap/2) on snap/2".into();
    r.expected = "Disconnect (the id is reserved and must not be used)".into();
    if let Err(e) = conn.send_snap_raw(0x06, &request.encoded()).await {
        return fail(e);
    }
    let deadline = ctx.deadline();
    await_disconnect(&mut conn, deadline, r).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_hello_matches_the_typed_encoder() {
        let key = SecretKey::from_byte_array([7; 32]).unwrap();
        let protocols = probe_protocols();
        let hello = hello_for(&key, &protocols);
        let caps: Vec<(Vec<u8>, u32)> = hello
            .capabilities
            .iter()
            .map(|c| (c.name.clone().into_bytes(), c.version))
            .collect();
        let mut typed = Vec::new();
        hello.encode(&mut typed);
        assert_eq!(
            raw_hello(&hello.client_id, &caps, hello.id.as_slice()),
            typed
        );
    }

    #[test]
    fn header_structure_is_checked() {
        // Minimal 9-field headers: parent, 6 filler fields, difficulty, number.
        let header = |parent: B256, number: u64| {
            let mut body = Vec::new();
            parent.encode(&mut body);
            for _ in 0..6 {
                B256::ZERO.encode(&mut body);
            }
            0u64.encode(&mut body);
            number.encode(&mut body);
            let mut out = Vec::new();
            Header {
                list: true,
                payload_length: body.len(),
            }
            .encode(&mut out);
            out.extend_from_slice(&body);
            out
        };
        let g = header(B256::ZERO, 0);
        let genesis = keccak256(&g);
        let one = header(genesis, 1);
        let req = HeaderRequest {
            id: 1,
            start: 0,
            limit: 2,
        };
        let list = RawList::from_encoded_items([&g, &one]).unwrap();
        assert_eq!(
            check_headers(&req, &list, genesis),
            Ok("2 headers from block 0".into())
        );
        // wrong genesis
        assert!(check_headers(&req, &list, B256::ZERO).is_err());
        // broken parent link
        let bad = RawList::from_encoded_items([&g, &header(B256::ZERO, 1)]).unwrap();
        assert!(check_headers(&req, &bad, genesis).is_err());
        // gap in numbers
        let gap = RawList::from_encoded_items([&g, &header(genesis, 2)]).unwrap();
        assert!(check_headers(&req, &gap, genesis).is_err());
        // more than the limit
        let one_only = HeaderRequest {
            id: 1,
            start: 0,
            limit: 1,
        };
        assert!(check_headers(&one_only, &list, genesis).is_err());
        // wrong first block
        let from_one = HeaderRequest {
            id: 1,
            start: 1,
            limit: 2,
        };
        assert!(check_headers(&from_one, &list, genesis).is_err());
        assert_eq!(
            check_headers(&req, &RawList::empty(), genesis),
            Ok("empty".into())
        );
    }

    #[test]
    fn check_names_are_unique() {
        let set: HashSet<_> = CHECKS.iter().collect();
        assert_eq!(set.len(), CHECKS.len());
    }
}
