//! The frame decoder on arbitrary bytes after a real handshake, with a small limit.
#![no_main]
mod common;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let b_key = common::key(4);
    let init = match ethp2p_rlpx::Initiator::with_ephemeral(
        &common::key(1),
        ethp2p_rlpx::key::peer_id_from_secret_key(&b_key),
        common::key(2),
        Default::default(),
    ) {
        Ok(i) => i,
        Err(_) => return,
    };
    let mut buf = bytes::BytesMut::from(init.auth_message());
    let Ok(Some((_, secrets))) = ethp2p_rlpx::Recipient::with_ephemeral(&b_key, common::key(5), Default::default()).read_auth(&mut buf) else {
        return;
    };
    let mut codec = ethp2p_rlpx::FrameCodec::new(&secrets);
    codec.set_max_frame_size(1 << 16);
    let mut src = bytes::BytesMut::from(data);
    while let Ok(Some(_)) = codec.decode_frame(&mut src) {}
});
