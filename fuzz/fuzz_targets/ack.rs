//! The initiator reading an ack message from arbitrary bytes.
#![no_main]
mod common;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let remote = ethp2p_rlpx::key::peer_id_from_secret_key(&common::key(3));
    if let Ok(init) = ethp2p_rlpx::Initiator::with_ephemeral(&common::key(1), remote, common::key(2), Default::default()) {
        let mut buf = bytes::BytesMut::from(data);
        let _ = init.read_ack(&mut buf);
    }
    let _ = ethp2p_rlpx::handshake::decode_ack(&common::key(1), data);
});
