//! eth checks: BlockRangeUpdate, request ids, header structure, unknown ids, announcements.

use super::{await_disconnect, await_pong, fail, pass, skip, Ctx, Outcome, Record};
use crate::probe::conn::{Conn, Event, ReadEnd};
use alloy_primitives::{keccak256, B256};
use alloy_rlp::Header;
use bytes::Bytes;
use ethp2p_eth::{
    message::{
        BlockHashNumber, BlockHashOrNumber, BlockRangeUpdate, EthMessage, GetBlockHeaders,
        NewBlockHashes, NewPooledTransactionHashes, NewPooledTransactionHashes68,
        NewPooledTransactionHashes72, RawList, RequestPair,
    },
    version::EthVersion,
};
use rand::Rng;
use std::{collections::HashSet, time::Duration};

fn block_range_session_version(conn: &Conn) -> Option<EthVersion> {
    conn.eth_version().filter(|v| v.has_block_range())
}

pub(super) async fn block_range_invalid(ctx: &mut Ctx, r: &mut Record) -> Outcome {
    r.sent = "BlockRangeUpdate earliest 10, latest 8".into();
    r.expected = "Disconnect (geth: 0x10; a bare TCP close fails)".into();
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
    if let Err(e) = conn.send_eth(&EthMessage::BlockRangeUpdate(update)).await {
        return fail(e);
    }
    let deadline = ctx.deadline();
    await_disconnect(&mut conn, deadline, r).await
}

pub(super) async fn block_range_kept(ctx: &mut Ctx, r: &mut Record, future: bool) -> Outcome {
    r.expected = "a Pong to every Ping, no Disconnect (the range is valid)".into();
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

pub(super) async fn nonexistent_headers(ctx: &mut Ctx, r: &mut Record) -> Outcome {
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
pub(super) enum Pairing {
    Simultaneous,
    SameId,
    Zero,
    FromGenesis,
}

pub(super) async fn header_requests(ctx: &mut Ctx, r: &mut Record, pairing: Pairing) -> Outcome {
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

/// Which id the unknown-id checks send.
#[derive(Clone, Copy)]
pub(super) enum UnknownId {
    /// 0x0b: inside every eth version's range, assigned in none.
    InRange,
    /// A message the negotiated version removed (well-formed for the version that had it).
    Removed,
    /// The first id after every shared capability.
    BeyondRange,
}

pub(super) async fn unknown_id(ctx: &mut Ctx, r: &mut Record, which: UnknownId) -> Outcome {
    r.expected = "Disconnect (geth: 0x10 subprotocol error)".into();
    let (mut conn, _) = match ctx.session().await {
        Ok(s) => s,
        Err(e) => return fail(format!("no session: {e}")),
    };
    let Some(version) = conn.eth_version() else {
        return fail("eth is not shared");
    };
    let v = version.as_u8();
    let sent = match which {
        UnknownId::InRange => {
            r.sent =
                format!("eth message 0x0b (unassigned, inside the eth/{v} range), payload 0xc0");
            conn.send_eth_raw(0x0b, &[alloy_rlp::EMPTY_LIST_CODE]).await
        }
        UnknownId::Removed => {
            let removed = if version.has_block_range() {
                // NewBlockHashes, gone since eth/69 (EIP-7642).
                EthMessage::NewBlockHashes(NewBlockHashes(vec![BlockHashNumber {
                    hash: ctx.hash(),
                    number: 1,
                }]))
            } else if version > EthVersion::Eth66 {
                // GetNodeData, gone since eth/67 (EIP-4938).
                EthMessage::GetNodeData(RequestPair::new(1, vec![ctx.hash()]))
            } else {
                return skip("eth/66 removed no message");
            };
            r.sent = format!(
                "{} (well-formed, removed before eth/{v}) on eth/{v}",
                removed.id()
            );
            conn.send_eth(&removed).await
        }
        UnknownId::BeyondRange => {
            let id = conn.first_unused_id();
            r.sent = format!("message id {id:#04x}, the first beyond every shared capability");
            conn.send_raw(id, &[alloy_rlp::EMPTY_LIST_CODE]).await
        }
    };
    if let Err(e) = sent {
        return fail(e);
    }
    let deadline = ctx.deadline();
    await_disconnect(&mut conn, deadline, r).await
}

pub(super) async fn new_pooled_txs(ctx: &mut Ctx, r: &mut Record) -> Outcome {
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

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_rlp::Encodable;

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
}
