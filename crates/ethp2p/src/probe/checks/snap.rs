//! snap checks: the answers of a node for state it does not have, and
//! snap/2's reserved `GetTrieNodes`.

use super::{await_disconnect, fail, pass, skip, Ctx, Outcome, Record};
use crate::probe::conn::{Conn, Event};
use alloy_primitives::B256;
use bytes::Bytes;
use ethp2p_eth::{
    message::RequestPair,
    snap::{
        limits::SOFT_RESPONSE_LIMIT, GetAccountRange, GetBlockAccessLists, GetByteCodes,
        GetStorageRanges, GetTrieNodes, SnapMessage, SnapMessageId, SnapVersion,
    },
};
use rand::Rng;

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

pub(super) async fn snap_empty(ctx: &mut Ctx, r: &mut Record, kind: SnapMessageId) -> Outcome {
    r.sent = format!("{} on snap", kind.name());
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

pub(super) async fn snap_trie_nodes_on_snap2(ctx: &mut Ctx, r: &mut Record) -> Outcome {
    r.sent = "GetTrieNodes (0x06, reserved in snap/2) on snap/2".into();
    r.expected = "Disconnect (the id is reserved and must not be used)".into();
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
    if let Err(e) = conn.send_snap_raw(0x06, &request.encoded()).await {
        return fail(e);
    }
    let deadline = ctx.deadline();
    await_disconnect(&mut conn, deadline, r).await
}
