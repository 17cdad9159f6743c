//! The chain-less checks (reference `network-layer.md` §5; geth
//! `cmd/devp2p/internal/ethtest`), each against fresh connections.
//!
//! Every check fills a [`Record`]: what it sent, what the specification or
//! the reference client expects, what came back; and returns a [`Verdict`]
//! with the reason.
//!
//! - [`handshake`]: Status, Ping, malformed Hellos, wrong Status fields.
//! - [`eth`]: BlockRangeUpdate, request ids, header structure, unknown ids, announcements.
//! - [`snap`]: the chain-less snap answers and snap/2's reserved ids.

mod eth;
mod handshake;
mod snap;

use super::conn::{hello_for, probe_protocols, Conn, Event, ReadEnd};
use alloy_primitives::B256;
use ethp2p_eth::{snap::SnapMessageId, status::Status};
use ethp2p_rlpx::{NodeRecord, SecretKey};
use rand::{rngs::StdRng, RngCore};
use std::time::Duration;
use tokio::time::Instant;

/// The outcome of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub(super) enum Verdict {
    /// The remote behaved as expected.
    Pass,
    /// It did not.
    Fail,
    /// The check could not run against this remote (and why says why).
    Skip,
}

/// What a check sent, expected and got.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub(super) struct Record {
    /// What the probe sent.
    pub sent: String,
    /// What the spec / reference client expects in return.
    pub expected: String,
    /// What came back.
    pub got: String,
}

/// A verdict and its reason.
pub(super) type Outcome = (Verdict, String);

/// Everything the checks share: the target, the timeout and the RNG.
pub(super) struct Ctx {
    /// The node under test.
    pub target: NodeRecord,
    /// Time allowed for each read (and each connection stage).
    pub timeout: Duration,
    /// Source of every random value (keys, hashes, names): seeded for replay.
    pub rng: StdRng,
}

impl Ctx {
    /// A fresh node key, so that no connection is refused as already connected.
    pub(super) fn key(&mut self) -> SecretKey {
        loop {
            let mut b = [0u8; 32];
            self.rng.fill_bytes(&mut b);
            if let Ok(k) = SecretKey::from_byte_array(b) {
                return k;
            }
        }
    }

    pub(super) fn hash(&mut self) -> B256 {
        let mut b = [0u8; 32];
        self.rng.fill_bytes(&mut b);
        b[0] |= 1; // never zero
        B256::from(b)
    }

    pub(super) fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut b = vec![0u8; n];
        self.rng.fill_bytes(&mut b);
        b
    }

    pub(super) fn deadline(&self) -> Instant {
        Instant::now() + self.timeout
    }

    /// RLPx handshake, then the Hellos.
    pub(super) async fn hello(&mut self) -> Result<Conn, String> {
        let key = self.key();
        let mut conn = Conn::dial(&self.target, &key, self.timeout).await?;
        let protocols = probe_protocols();
        conn.hello(&hello_for(&key, &protocols), &protocols).await?;
        Ok(conn)
    }

    /// A full session: Hellos, then the remote's Status mirrored back.
    pub(super) async fn session(&mut self) -> Result<(Conn, Status), String> {
        let mut conn = self.hello().await?;
        let status = conn.read_status().await?;
        conn.send_status(&status).await?;
        Ok((conn, status))
    }
}

pub(super) fn fail(why: impl Into<String>) -> Outcome {
    (Verdict::Fail, why.into())
}

pub(super) fn pass(why: impl Into<String>) -> Outcome {
    (Verdict::Pass, why.into())
}

pub(super) fn skip(why: impl Into<String>) -> Outcome {
    (Verdict::Skip, why.into())
}

/// Every check, in the order they run.
pub(crate) const CHECKS: &[&str] = &[
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
    "RemovedMessageId",
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
pub(super) async fn run(name: &str, ctx: &mut Ctx, r: &mut Record) -> Outcome {
    match name {
        "Status" => handshake::status(ctx, r).await,
        "Ping" => handshake::ping(ctx, r).await,
        "MaliciousHandshake/LongCapName" => {
            handshake::malicious_hello(ctx, r, true, handshake::IdKind::Valid).await
        }
        "MaliciousHandshake/Id65Bytes" => {
            handshake::malicious_hello(ctx, r, false, handshake::IdKind::Extra(1)).await
        }
        "MaliciousHandshake/Id128Bytes" => {
            handshake::malicious_hello(ctx, r, false, handshake::IdKind::Doubled).await
        }
        "MaliciousHandshake/Id2KiB" => {
            handshake::malicious_hello(ctx, r, false, handshake::IdKind::Random(2048)).await
        }
        "MaliciousHandshake/LongCapNameAndId" => {
            handshake::malicious_hello(ctx, r, true, handshake::IdKind::Random(2048)).await
        }
        "BadStatus/NetworkId" => {
            handshake::bad_status(ctx, r, handshake::StatusField::NetworkId).await
        }
        "BadStatus/Genesis" => handshake::bad_status(ctx, r, handshake::StatusField::Genesis).await,
        "BadStatus/ForkId" => handshake::bad_status(ctx, r, handshake::StatusField::ForkId).await,
        "BadStatus/Version" => handshake::bad_status(ctx, r, handshake::StatusField::Version).await,
        "BlockRangeUpdateInvalid" => eth::block_range_invalid(ctx, r).await,
        "BlockRangeUpdateFuture" => eth::block_range_kept(ctx, r, true).await,
        "BlockRangeUpdateExpired" => eth::block_range_kept(ctx, r, false).await,
        "GetNonexistentBlockHeaders" => eth::nonexistent_headers(ctx, r).await,
        "SimultaneousRequests" => eth::header_requests(ctx, r, eth::Pairing::Simultaneous).await,
        "SameRequestID" => eth::header_requests(ctx, r, eth::Pairing::SameId).await,
        "ZeroRequestID" => eth::header_requests(ctx, r, eth::Pairing::Zero).await,
        "BlockHeadersFromGenesis" => eth::header_requests(ctx, r, eth::Pairing::FromGenesis).await,
        "UnknownMessageIdInRange" => eth::unknown_id(ctx, r, eth::UnknownId::InRange).await,
        "RemovedMessageId" => eth::unknown_id(ctx, r, eth::UnknownId::Removed).await,
        "UnknownMessageIdBeyondRange" => eth::unknown_id(ctx, r, eth::UnknownId::BeyondRange).await,
        "NewPooledTxs" => eth::new_pooled_txs(ctx, r).await,
        "Snap/AccountRangeUnknownRoot" => {
            snap::snap_empty(ctx, r, SnapMessageId::GetAccountRange).await
        }
        "Snap/StorageRangesUnknownRoot" => {
            snap::snap_empty(ctx, r, SnapMessageId::GetStorageRanges).await
        }
        "Snap/ByteCodesUnknown" => snap::snap_empty(ctx, r, SnapMessageId::GetByteCodes).await,
        "Snap/TrieNodesUnknownRoot" => snap::snap_empty(ctx, r, SnapMessageId::GetTrieNodes).await,
        "Snap/GetTrieNodesOnSnap2" => snap::snap_trie_nodes_on_snap2(ctx, r).await,
        "Snap/BlockAccessListsUnknown" => {
            snap::snap_empty(ctx, r, SnapMessageId::GetBlockAccessLists).await
        }
        other => fail(format!("no check called {other}")),
    }
}

pub(super) fn status_summary(s: &Status) -> String {
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
pub(super) async fn await_pong(conn: &mut Conn, deadline: Instant) -> Result<(), String> {
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
pub(super) async fn await_disconnect(
    conn: &mut Conn,
    deadline: Instant,
    r: &mut Record,
) -> Outcome {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn check_names_are_unique() {
        let set: HashSet<_> = CHECKS.iter().collect();
        assert_eq!(set.len(), CHECKS.len());
    }
}
