//! Checks of the session set-up: Status, Ping, malformed Hellos, wrong Status fields.

use super::{await_disconnect, await_pong, fail, pass, status_summary, Ctx, Outcome, Record};
use crate::probe::conn::{describe, probe_protocols, Conn, Frame, ReadEnd};
use alloy_rlp::{Encodable, Header};
use ethp2p_eth::forkid::{ForkHash, ForkId};

pub(super) async fn status(ctx: &mut Ctx, r: &mut Record) -> Outcome {
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

pub(super) async fn ping(ctx: &mut Ctx, r: &mut Record) -> Outcome {
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
pub(super) enum IdKind {
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

pub(super) async fn malicious_hello(
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
pub(super) enum StatusField {
    NetworkId,
    Genesis,
    ForkId,
    Version,
}

pub(super) async fn bad_status(ctx: &mut Ctx, r: &mut Record, field: StatusField) -> Outcome {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::conn::hello_for;
    use ethp2p_rlpx::SecretKey;

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
}
