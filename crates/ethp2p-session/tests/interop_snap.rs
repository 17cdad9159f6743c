//! An eth + snap session with an independent client: @ethereumjs/devp2p
//! (interop/peer.mjs `--snap`, which speaks snap/1 only) dials our session
//! manager; snap/1 rides as a satellite after eth/68, and snap requests flow
//! both ways.

use alloy_primitives::B256;
use ethp2p_eth::{
    message::RequestPair,
    snap::{snap_protocols, GetAccountRange, SnapMessage, SnapVersion},
    version::EthVersion,
};
use ethp2p_rlpx::{generate_secret_key, NodeRecord};
use ethp2p_session::{PeerMessage, SessionEvent, SessionManager, SessionManagerParams};
use ethp2p_testing::jspeer::{genesis_status_eth68, JsPeer, STEP};
use futures::StreamExt;
use serde_json::json;
use tokio::net::TcpListener;

const NETWORK_ID: u64 = 1337;

/// The manager's next event, before `deadline`.
async fn next(mgr: &mut SessionManager, deadline: tokio::time::Instant) -> SessionEvent {
    tokio::time::timeout_at(deadline, mgr.next())
        .await
        .expect("event in time")
        .unwrap()
}

#[tokio::test]
async fn ethereumjs_with_snap1_runs_snap_beside_eth68() {
    let genesis = B256::from(rand::random::<[u8; 32]>());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (status, filter) = genesis_status_eth68(genesis, NETWORK_ID);
    let mut mgr = SessionManager::new(SessionManagerParams {
        secret_key: generate_secret_key(),
        config: Default::default(),
        status,
        client_id: "ethp2p-snap-interop".into(),
        listen_port: addr.port(),
        fork_filter: filter,
        eth_versions: EthVersion::DEFAULT_ADVERTISED.to_vec(),
        extra_protocols: snap_protocols(&SnapVersion::ALL),
        spawner: None,
        dialer: None,
        rng_seed: None,
    });
    let mut js = JsPeer::spawn(vec![
        "--mode".into(),
        "dial".into(),
        "--network-id".into(),
        NETWORK_ID.to_string(),
        "--genesis".into(),
        format!("0x{}", hex::encode(genesis)),
        "--eth-versions".into(),
        "68".into(),
        "--snap".into(),
        "--remote".into(),
        NodeRecord::new(mgr.local_id(), addr).to_string(),
    ]);
    let (stream, remote) = tokio::time::timeout(STEP, listener.accept())
        .await
        .expect("the JS peer dialed")
        .unwrap();
    mgr.on_incoming(stream, remote, None).unwrap();
    let deadline = tokio::time::Instant::now() + STEP;
    let info = loop {
        if let SessionEvent::SessionEstablished { info, .. } = next(&mut mgr, deadline).await {
            break info;
        }
    };
    let peer = info.remote_id;
    assert_eq!(info.eth_version, EthVersion::Eth68);
    assert_eq!(info.snap_version(), Some(SnapVersion::Snap1));
    let p = js.expect("peer", |_| true).await;
    assert_eq!(p["snapVersion"], 1, "{p}");

    // Their request: GetByteCodes with id 4242; our owner drops the
    // responder, they get an empty ByteCodes with their id.
    let get_codes = format!(
        "0x{}",
        hex::encode(
            SnapMessage::GetByteCodes(RequestPair::new(
                4242,
                ethp2p_eth::snap::GetByteCodes {
                    hashes: vec![B256::repeat_byte(9)],
                    bytes: 1 << 19,
                },
            ))
            .encoded()
        )
    );
    js.cmd(json!({"cmd": "snap", "code": 4, "payload": get_codes}))
        .await;
    let request = loop {
        if let SessionEvent::ValidMessage {
            message: PeerMessage::SnapRequest { request, responder },
            ..
        } = next(&mut mgr, deadline).await
        {
            drop(responder);
            break request;
        }
    };
    assert_eq!(request.request_id(), 4242);
    // Keep the manager polled while the JS peer reads the answer.
    let (codes, rx) = {
        let rx = mgr.send_snap_request(
            &peer,
            SnapMessage::GetAccountRange(RequestPair::new(0, GetAccountRange::default())),
        );
        let codes = tokio::select! {
            v = js.expect("snap", |v| v["name"] == "ByteCodes") => v,
            _ = async { loop { next(&mut mgr, deadline).await; } } => unreachable!(),
        };
        (codes, rx)
    };
    assert_eq!(codes["reqId"], "4242", "{codes}");
    assert_eq!(codes["payload"], "0xc4821092c0", "{codes}");

    // Our request: the JS peer answers an empty AccountRange with our id
    // (the session's first request id, 0).
    let seen = tokio::select! {
        v = js.expect("snap", |v| v["name"] == "GetAccountRange") => v,
        _ = async { loop { next(&mut mgr, deadline).await; } } => unreachable!(),
    };
    assert_eq!(seen["reqId"], "0");
    let answer = tokio::select! {
        r = rx => r.unwrap(),
        _ = async { loop { next(&mut mgr, deadline).await; } } => unreachable!(),
    };
    match answer {
        Ok(SnapMessage::AccountRange(p)) => assert!(p.message.is_empty()),
        other => panic!("{other:?}"),
    }
    assert!(js.errors().is_empty(), "{:?}", js.errors());
}
