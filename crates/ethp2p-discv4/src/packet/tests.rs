use super::*;
use ethp2p_rlpx::key::peer_id_from_secret_key;
use proptest::prelude::*;
use std::str::FromStr;

const SIGNER: &str = "b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291";
const VECTOR_EXPIRATION: u64 = 1136239445;

const PING_V4: &str = "e9614ccfd9fc3e74360018522d30e1419a143407ffcce748de3e22116b7e8dc92ff74788c0b6663aaa3d67d641936511c8f8d6ad8698b820a7cf9e1be7155e9a241f556658c55428ec0563514365799a4be2be5a685a80971ddcfa80cb422cdd0101ec04cb847f000001820cfa8215a8d790000000000000000000000000000000018208ae820d058443b9a3550102";
const PING_V555: &str = "577be4349c4dd26768081f58de4c6f375a7a22f3f7adda654d1428637412c3d7fe917cadc56d4e5e7ffae1dbe3efffb9849feb71b262de37977e7c7a44e677295680e9e38ab26bee2fcbae207fba3ff3d74069a50b902a82c9903ed37cc993c50001f83e82022bd79020010db83c4d001500000000abcdef12820cfa8215a8d79020010db885a308d313198a2e037073488208ae82823a8443b9a355c5010203040531b9019afde696e582a78fa8d95ea13ce3297d4afb8ba6433e4154caa5ac6431af1b80ba76023fa4090c408f6b4bc3701562c031041d4702971d102c9ab7fa5eed4cd6bab8f7af956f7d565ee1917084a95398b6a21eac920fe3dd1345ec0a7ef39367ee69ddf092cbfe5b93e5e568ebc491983c09c76d922dc3";
const PONG: &str = "09b2428d83348d27cdf7064ad9024f526cebc19e4958f0fdad87c15eb598dd61d08423e0bf66b2069869e1724125f820d851c136684082774f870e614d95a2855d000f05d1648b2d5945470bc187c2d2216fbe870f43ed0909009882e176a46b0102f846d79020010db885a308d313198a2e037073488208ae82823aa0fbc914b16819237dcd8801d7e53f69e9719adecb3cc0e790c57e91ca4461c9548443b9a355c6010203c2040506a0c969a58f6f9095004c0177a6b47f451530cab38966a25cca5cb58f055542124e";
const FIND_NODE: &str = "c7c44041b9f7c7e41934417ebac9a8e1a4c6298f74553f2fcfdcae6ed6fe53163eb3d2b52e39fe91831b8a927bf4fc222c3902202027e5e9eb812195f95d20061ef5cd31d502e47ecb61183f74a504fe04c51e73df81f25c4d506b26db4517490103f84eb840ca634cae0d49acb401d8a4c6b6fe8c55b70d115bf400769cc1400f3258cd31387574077f301b421bc84df7266c44e9e6d569fc56be00812904767bf5ccd1fc7f8443b9a35582999983999999280dc62cc8255c73471e0a61da0c89acdc0e035e260add7fc0c04ad9ebf3919644c91cb247affc82b69bd2ca235c71eab8e49737c937a2c396";
const NEIGHBOURS: &str = "c679fc8fe0b8b12f06577f2e802d34f6fa257e6137a995f6f4cbfc9ee50ed3710faf6e66f932c4c8d81d64343f429651328758b47d3dbc02c4042f0fff6946a50f4a49037a72bb550f3a7872363a83e1b9ee6469856c24eb4ef80b7535bcf99c0004f9015bf90150f84d846321163782115c82115db8403155e1427f85f10a5c9a7755877748041af1bcd8d474ec065eb33df57a97babf54bfd2103575fa829115d224c523596b401065a97f74010610fce76382c0bf32f84984010203040101b840312c55512422cf9b8a4097e9a6ad79402e87a15ae909a4bfefa22398f03d20951933beea1e4dfa6f968212385e829f04c2d314fc2d4e255e0d3bc08792b069dbf8599020010db83c4d001500000000abcdef12820d05820d05b84038643200b172dcfef857492156971f0e6aa2c538d8b74010f8e140811d53b98c765dd2d96126051913f44582e8c199ad7c6d6819e9a56483f637feaac9448aacf8599020010db885a308d313198a2e037073488203e78203e8b8408dcab8618c3253b558d459da53bd8fa68935a719aff8b811197101a4b2b47dd2d47295286fc00cc081bb542d760717d1bdd6bec2c37cd72eca367d6dd3b9df738443b9a355010203b525a138aa34383fec3d2719a0";
const GETH_PING: &str = "71dbda3a79554728d4f94411e42ee1f8b0d561c10e1e5f5893367948c6a7d70bb87b235fa28a77070271b6c164a2dce8c7e13a5739b53b5e96f2e5acb0e458a02902f5965d55ecbeb2ebb6cabb8b2b232896a36b737666c55265ad0a68412f250001ea04cb847f000001820cfa8215a8d790000000000000000000000000000000018208ae820d058443b9a355";

fn signer() -> SecretKey {
    SecretKey::from_str(SIGNER).unwrap()
}

fn decode_vector(hex_str: &str) -> Packet {
    let bytes = hex::decode(hex_str).unwrap();
    let packet = decode(&bytes).unwrap();
    assert_eq!(packet.node_id, peer_id_from_secret_key(&signer()));
    assert_eq!(packet.hash.as_slice(), &bytes[..32]);
    packet
}

fn ep(ip: &str, udp: u16, tcp: u16) -> Endpoint {
    Endpoint {
        ip: ip.parse().unwrap(),
        udp,
        tcp,
    }
}

#[test]
fn eip8_ping_v4_with_extra_elements() {
    let Message::Ping(p) = decode_vector(PING_V4).message else {
        panic!("not a ping")
    };
    assert_eq!(p.version, 4);
    assert_eq!(p.from, ep("127.0.0.1", 3322, 5544));
    assert_eq!(p.to, ep("::1", 2222, 3333));
    assert_eq!(p.expiration, VECTOR_EXPIRATION);
    // The first extra element sits in the enr-seq slot (geth decodes ENRSeq 1).
    assert_eq!(p.enr_seq, Some(1));
}

#[test]
fn eip8_ping_v555_with_list_in_enr_seq_slot_decodes_without_seq() {
    let Message::Ping(p) = decode_vector(PING_V555).message else {
        panic!("not a ping")
    };
    assert_eq!(p.version, 555);
    assert_eq!(p.from, ep("2001:db8:3c4d:15::abcd:ef12", 3322, 5544));
    assert_eq!(
        p.to,
        ep("2001:db8:85a3:8d3:1319:8a2e:370:7348", 2222, 33338)
    );
    assert_eq!(p.expiration, VECTOR_EXPIRATION);
    // The enr-seq slot holds the list [1,2,3,4,5]: taken as "no seq announced".
    assert_eq!(p.enr_seq, None);
}

#[test]
fn eip8_pong_with_list_in_enr_seq_slot_decodes_without_seq() {
    let Message::Pong(p) = decode_vector(PONG).message else {
        panic!("not a pong")
    };
    assert_eq!(
        p.to,
        ep("2001:db8:85a3:8d3:1319:8a2e:370:7348", 2222, 33338)
    );
    assert_eq!(
        p.ping_hash,
        B256::from_str("fbc914b16819237dcd8801d7e53f69e9719adecb3cc0e790c57e91ca4461c954").unwrap()
    );
    assert_eq!(p.expiration, VECTOR_EXPIRATION);
    // The slot holds [1,2,3,[4,5]].
    assert_eq!(p.enr_seq, None);
}

#[test]
fn eip8_find_node_with_extra_elements_and_trailing_data() {
    let Message::FindNode(f) = decode_vector(FIND_NODE).message else {
        panic!("not a findnode")
    };
    assert_eq!(
        f.target,
        PeerId::from_str("ca634cae0d49acb401d8a4c6b6fe8c55b70d115bf400769cc1400f3258cd31387574077f301b421bc84df7266c44e9e6d569fc56be00812904767bf5ccd1fc7f").unwrap()
    );
    assert_eq!(f.expiration, VECTOR_EXPIRATION);
}

#[test]
fn eip8_neighbours_with_extra_elements() {
    let Message::Neighbours(n) = decode_vector(NEIGHBOURS).message else {
        panic!("not neighbours")
    };
    let addrs: Vec<(IpAddr, u16, u16)> = n
        .nodes
        .iter()
        .map(|r| (r.address, r.udp_port, r.tcp_port))
        .collect();
    assert_eq!(
        addrs,
        vec![
            ("99.33.22.55".parse().unwrap(), 4444, 4445),
            ("1.2.3.4".parse().unwrap(), 1, 1),
            ("2001:db8:3c4d:15::abcd:ef12".parse().unwrap(), 3333, 3333),
            (
                "2001:db8:85a3:8d3:1319:8a2e:370:7348".parse().unwrap(),
                999,
                1000
            ),
        ]
    );
    assert_eq!(n.expiration, VECTOR_EXPIRATION);
}

#[test]
fn geth_plain_ping() {
    let Message::Ping(p) = decode_vector(GETH_PING).message else {
        panic!("not a ping")
    };
    assert_eq!(p.version, 4);
    assert_eq!(p.enr_seq, None);
    assert_eq!(p.from, ep("127.0.0.1", 3322, 5544));
}

#[test]
fn vectors_are_expired_today() {
    // 2006: decode-only vectors.
    assert!(is_expired(VECTOR_EXPIRATION, 1_700_000_000));
}

#[test]
fn expiration_rules() {
    let now = 1_800_000_000;
    assert!(!is_expired(now, now));
    assert!(!is_expired(now + 20, now));
    assert!(is_expired(now - 1, now));
    assert!(!is_expired(i64::MAX as u64, now));
    assert!(is_expired(i64::MAX as u64 + 1, now));
    // geth's Ping/PastExpiration: 2^64 - now.
    assert!(is_expired(0u64.wrapping_sub(now), now));
}

fn sign_raw(packet_type: u8, data: &[u8]) -> Vec<u8> {
    let mut body = vec![packet_type];
    body.extend_from_slice(data);
    let signed_hash = keccak256(&body);
    let (recid, sig) = SECP256K1
        .sign_ecdsa_recoverable(SecpMessage::from_digest(signed_hash.0), &signer())
        .serialize_compact();
    let mut out = vec![0u8; 32];
    out.extend_from_slice(&sig);
    out.push(i32::from(recid) as u8);
    out.extend_from_slice(&body);
    let hash = keccak256(&out[32..]);
    out[..32].copy_from_slice(hash.as_slice());
    out
}

#[test]
fn unknown_packet_type_is_reported_as_such() {
    let bytes = sign_raw(0x07, &[0xc1, 0x01]);
    assert_eq!(decode(&bytes), Err(PacketError::UnknownType(0x07)));
    let bytes = sign_raw(0x00, &[0xc0]);
    assert_eq!(decode(&bytes), Err(PacketError::UnknownType(0x00)));
}

#[test]
fn encode_raw_signs_the_bytes_as_given() {
    // Identical to the hand-signed packet (RFC 6979 signatures are deterministic).
    let data = [0xc3, 0x04, 0x05, 0x06];
    let raw = encode_raw(&signer(), 0x42, &data).unwrap();
    assert_eq!(raw.bytes.as_ref(), sign_raw(0x42, &data).as_slice());
    assert_eq!(raw.hash.as_slice(), &raw.bytes[..32]);
    assert_eq!(decode(&raw.bytes), Err(PacketError::UnknownType(0x42)));
    // A Ping with two extra list elements decodes as a Ping (EIP-8).
    let ping = encode(&signer(), &all_messages()[0]).unwrap();
    let Message::Ping(want) = decode(&ping.bytes).unwrap().message else {
        panic!("not a ping");
    };
    let mut rest = &ping.bytes[98..];
    let outer = Header::decode(&mut rest).unwrap();
    let mut body = rest[..outer.payload_length].to_vec();
    body.extend_from_slice(&[0x2a, 0x82, 0x09, 0x08]);
    let mut data = Vec::new();
    Header {
        list: true,
        payload_length: body.len(),
    }
    .encode(&mut data);
    data.extend_from_slice(&body);
    let junk = encode_raw(&signer(), 0x01, &data).unwrap();
    assert_eq!(decode(&junk.bytes).unwrap().message, Message::Ping(want));
    assert_eq!(
        encode_raw(&signer(), 0x01, &[0u8; 1200]),
        Err(PacketError::TooLarge(1298))
    );
}

#[test]
fn size_limits() {
    assert_eq!(decode(&[0u8; 97]), Err(PacketError::TooShort(97)));
    assert_eq!(decode(&[0u8; 1281]), Err(PacketError::TooLarge(1281)));
    // A 98-byte packet passes the size check (and fails later on its hash).
    assert_eq!(decode(&[0u8; 98]), Err(PacketError::HashMismatch));
}

#[test]
fn tampered_packet_fails_hash_check() {
    let mut bytes = hex::decode(GETH_PING).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    assert_eq!(decode(&bytes), Err(PacketError::HashMismatch));
}

#[test]
fn non_integer_enr_seq_is_absent_but_integer_is_read() {
    // [4, from, to, exp, [1]] and [4, from, to, exp, 7, extra]
    let from = [0xc7, 0x84, 127, 0, 0, 1, 0x01, 0x02];
    let mut with_list = vec![];
    with_list.extend_from_slice(&[0x04]);
    with_list.extend_from_slice(&from);
    with_list.extend_from_slice(&from);
    with_list.extend_from_slice(&[0x84, 0x70, 0, 0, 0]);
    let mut with_int = with_list.clone();
    with_list.extend_from_slice(&[0xc1, 0x01]);
    with_int.extend_from_slice(&[0x07, 0x09]);
    for (payload, seq) in [(with_list, None), (with_int, Some(7))] {
        let mut data = vec![0xc0 + payload.len() as u8];
        data.extend_from_slice(&payload);
        let Message::Ping(p) = decode(&sign_raw(0x01, &data)).unwrap().message else {
            panic!()
        };
        assert_eq!(p.enr_seq, seq);
        assert_eq!(p.expiration, 0x7000_0000);
    }
}

fn key(n: u8) -> SecretKey {
    SecretKey::from_byte_array([n; 32]).unwrap()
}

fn record(n: u8, ip: IpAddr, udp: u16, tcp: u16) -> NodeRecord {
    NodeRecord {
        id: peer_id_from_secret_key(&key(n)),
        address: ip,
        tcp_port: tcp,
        udp_port: udp,
    }
}

fn sample_enr() -> Enr {
    let k = crate::enr::signing_key(&key(9)).unwrap();
    ::enr::Enr::builder()
        .ip4("10.0.0.1".parse().unwrap())
        .udp4(30303)
        .build(&k)
        .unwrap()
}

fn all_messages() -> Vec<Message> {
    let v6: IpAddr = "2001:db8::1".parse().unwrap();
    vec![
        Message::Ping(Ping {
            version: PING_VERSION,
            from: ep("10.0.0.1", 30303, 30303),
            to: ep("2001:db8::2", 1, 0),
            expiration: 1_800_000_020,
            enr_seq: Some(u64::MAX),
        }),
        Message::Ping(Ping {
            version: PING_VERSION,
            from: ep("10.0.0.1", 30303, 30303),
            to: ep("10.0.0.2", 30304, 0),
            expiration: 1_800_000_020,
            enr_seq: None,
        }),
        Message::Pong(Pong {
            to: ep("192.168.1.1", 65535, 0),
            ping_hash: B256::repeat_byte(0xab),
            expiration: 1_800_000_020,
            enr_seq: Some(0),
        }),
        Message::FindNode(FindNode {
            target: peer_id_from_secret_key(&key(3)),
            expiration: 1,
        }),
        Message::Neighbours(Neighbours {
            nodes: (1..=12).map(|i| record(i, v6, 65535, 65535)).collect(),
            expiration: u64::MAX,
        }),
        Message::Neighbours(Neighbours {
            nodes: vec![],
            expiration: 5,
        }),
        Message::EnrRequest(EnrRequest { expiration: 42 }),
        Message::EnrResponse(EnrResponse {
            request_hash: B256::repeat_byte(7),
            enr: sample_enr(),
        }),
    ]
}

#[test]
fn every_message_round_trips() {
    let sk = key(1);
    for m in all_messages() {
        let encoded = encode(&sk, &m).unwrap();
        assert!(encoded.bytes.len() <= MAX_PACKET_SIZE, "{}", m.name());
        let p = decode(&encoded.bytes).unwrap();
        assert_eq!(p.message, m);
        assert_eq!(p.hash, encoded.hash);
        assert_eq!(p.node_id, peer_id_from_secret_key(&sk));
    }
}

#[test]
fn twelve_ipv6_neighbours_fit_thirteen_do_not() {
    let v6: IpAddr = "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff".parse().unwrap();
    let twelve = Message::Neighbours(Neighbours {
        nodes: (1..=12).map(|i| record(i, v6, 65535, 65535)).collect(),
        expiration: u64::MAX,
    });
    assert!(encode(&key(1), &twelve).unwrap().bytes.len() <= MAX_PACKET_SIZE);
    let thirteen = Message::Neighbours(Neighbours {
        nodes: (1..=13).map(|i| record(i, v6, 65535, 65535)).collect(),
        expiration: u64::MAX,
    });
    assert!(matches!(
        encode(&key(1), &thirteen),
        Err(PacketError::TooLarge(_))
    ));
}

#[test]
fn enr_response_with_record_of_another_key_still_decodes_record_signature() {
    // The decoder verifies the record's own signature; matching it to the
    // sender is the engine's job. A record with a broken signature is refused.
    let m = Message::EnrResponse(EnrResponse {
        request_hash: B256::repeat_byte(7),
        enr: sample_enr(),
    });
    let mut bytes = encode(&key(1), &m).unwrap().bytes.to_vec();
    // Flip a byte inside the record's signature (after the 33-byte hash item
    // and the record's list header) and re-sign the envelope.
    let data_start = 98;
    let body = bytes[data_start..].to_vec();
    let mut body = body;
    let sig_byte = 3 + 33 + 3 + 2;
    body[sig_byte] ^= 0x01;
    bytes = sign_raw(0x06, &body);
    assert!(matches!(
        decode(&bytes),
        Err(PacketError::Malformed {
            reason: "invalid ENR",
            ..
        })
    ));
}

proptest! {
    #[test]
    fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..1400)) {
        let _ = decode(&data);
    }

    #[test]
    fn garbage_with_valid_envelope_never_panics(
        packet_type in 0u8..8,
        data in proptest::collection::vec(any::<u8>(), 0..1100),
    ) {
        let _ = decode(&sign_raw(packet_type, &data));
        let _ = decode_data(packet_type, &data);
    }

    /// The fuzz target `discv4_message`'s property: whatever body decodes
    /// re-encodes to a packet that decodes to the same message.
    #[test]
    fn accepted_bodies_round_trip(
        which in 0usize..8,
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
    ) {
        let m = &all_messages()[which];
        let encoded = encode(&key(1), m).unwrap();
        let mut body = encoded.bytes[98..].to_vec();
        for (pos, val) in flips {
            let len = body.len();
            body[pos % len] = val;
        }
        if let Ok(decoded) = decode_data(m.packet_type(), &body) {
            if let Ok(p) = encode(&key(2), &decoded) {
                prop_assert_eq!(decode(&p.bytes).unwrap().message, decoded);
            }
        }
    }

    #[test]
    fn mutated_valid_packets_never_panic(
        which in 0usize..8,
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
    ) {
        let m = &all_messages()[which];
        let encoded = encode(&key(1), m).unwrap();
        let mut body = encoded.bytes[98..].to_vec();
        for (pos, val) in flips {
            let len = body.len();
            body[pos % len] = val;
        }
        let _ = decode(&sign_raw(m.packet_type(), &body));
    }
}
