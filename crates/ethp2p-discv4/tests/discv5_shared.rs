//! discv4 and discv5 (the `discv5` crate) on one UDP port: discv5 owns the
//! socket's reads and hands what it cannot decode to discv4 through
//! [`SharedSocket`]. A plain discv4 node bonds with the shared port, and a
//! discv5 node pings it, both on loopback.

use ethp2p_discv4::{
    spawn, AcceptAll, Discv4, Discv4Config, Discv4Event, Discv4Params, DriverConfig, SharedSocket,
};
use ethp2p_rlpx::{generate_secret_key, key::peer_id_from_secret_key, NodeRecord};
use std::{sync::Arc, time::Duration};
use tokio::{
    net::UdpSocket,
    time::{timeout, Instant},
};

fn discv4_params(port: u16) -> (Discv4Params, NodeRecord) {
    let secret_key = generate_secret_key();
    let record = NodeRecord::new(
        peer_id_from_secret_key(&secret_key),
        format!("127.0.0.1:{port}").parse().unwrap(),
    );
    let params = Discv4Params {
        secret_key,
        external_ip: Some(record.address),
        udp_port: port,
        tcp_port: port,
        enr_seq: 1,
        fork_id: None,
        filter: Box::new(AcceptAll),
        config: Discv4Config::default(),
        rng_seed: 3,
    };
    (params, record)
}

fn unix_now() -> Duration {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
}

async fn discv5_node(listen: discv5::ListenConfig, port: u16) -> (discv5::Discv5, discv5::Enr) {
    let key = enr::CombinedKey::generate_secp256k1();
    let enr = enr::Enr::builder()
        .ip4("127.0.0.1".parse().unwrap())
        .udp4(port)
        .build(&key)
        .unwrap();
    let config = discv5::ConfigBuilder::new(listen).build();
    let mut node = discv5::Discv5::new(enr.clone(), key, config).unwrap();
    node.start().await.unwrap();
    (node, enr)
}

#[tokio::test]
async fn discv4_and_discv5_share_one_udp_port() {
    // The shared port: discv5 reads, discv4 gets the frames discv5 rejects.
    let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let port = socket.local_addr().unwrap().port();
    let (shared_v5, shared_enr) = discv5_node(
        discv5::ListenConfig::FromSockets {
            ipv4: Some(socket.clone()),
            ipv6: None,
        },
        port,
    )
    .await;
    let (transport, frames) = SharedSocket::new(socket, 1024);
    let mut v5_events = shared_v5.event_stream().await.unwrap();
    tokio::spawn(async move {
        while let Some(ev) = v5_events.recv().await {
            if let discv5::Event::UnrecognizedFrame(frame) = ev {
                frames.forward(frame.packet, frame.src_address);
            }
        }
    });
    let (params, shared_record) = discv4_params(port);
    let engine = Discv4::new(params, Instant::now(), unix_now()).unwrap();
    let (shared_v4, mut shared_v4_events, _t) =
        spawn(engine, transport, None, DriverConfig::default());

    // A plain discv4 node on its own socket bonds with the shared port.
    let own = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let own_port = own.local_addr().unwrap().port();
    let (params, plain_record) = discv4_params(own_port);
    let engine = Discv4::new(params, Instant::now(), unix_now()).unwrap();
    let (plain_v4, mut plain_events, _t2) = spawn(engine, own, None, DriverConfig::default());
    plain_v4.add_bootnode(shared_record).await.unwrap();

    let found = timeout(Duration::from_secs(10), async {
        loop {
            if let Some(Discv4Event::NodeFound { record, enr, .. }) = plain_events.recv().await {
                break (record, enr);
            }
        }
    })
    .await
    .expect("the plain discv4 node never found the shared one");
    assert_eq!(found.0.id, shared_record.id);
    // EIP-868 through the shared socket too.
    assert_eq!(found.1.and_then(|e| e.udp4()), Some(port));
    timeout(Duration::from_secs(10), async {
        loop {
            if let Some(Discv4Event::NodeFound { record, .. }) = shared_v4_events.recv().await {
                if record.id == plain_record.id {
                    break;
                }
            }
        }
    })
    .await
    .expect("the shared discv4 never found the plain node");
    assert!(shared_v4
        .table()
        .await
        .unwrap()
        .iter()
        .any(|r| r.id == plain_record.id));

    // discv5 on the same port still answers discv5.
    let (other_v5, _) = discv5_node(
        discv5::ListenConfig::Ipv4 {
            ip: "127.0.0.1".parse().unwrap(),
            port: 0,
        },
        0,
    )
    .await;
    other_v5.add_enr(shared_enr.clone()).unwrap();
    let pong = timeout(Duration::from_secs(10), other_v5.send_ping(shared_enr))
        .await
        .expect("discv5 ping timed out")
        .expect("discv5 ping failed");
    assert_eq!(pong.enr_seq, shared_v5.local_enr().seq());
}
