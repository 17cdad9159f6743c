//! The frame decoder on arbitrary bytes after a real handshake, with a small limit.
#![no_main]
mod common;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// Both sides' secrets of one fixed handshake: (initiator, recipient).
fn secrets() -> Option<&'static (ethp2p_rlpx::Secrets, ethp2p_rlpx::Secrets)> {
    static S: OnceLock<Option<(ethp2p_rlpx::Secrets, ethp2p_rlpx::Secrets)>> = OnceLock::new();
    S.get_or_init(|| {
        let b_key = common::key(4);
        let init = ethp2p_rlpx::Initiator::with_ephemeral(
            &common::key(1),
            ethp2p_rlpx::key::peer_id_from_secret_key(&b_key),
            common::key(2),
            Default::default(),
        )
        .ok()?;
        let mut buf = bytes::BytesMut::from(init.auth_message());
        let r = ethp2p_rlpx::Recipient::with_ephemeral(&b_key, common::key(5), Default::default());
        let (ack, b_secrets) = r.read_auth(&mut buf).ok()??;
        let a_secrets = init.read_ack(&mut bytes::BytesMut::from(&ack[..])).ok()??;
        Some((a_secrets, b_secrets))
    })
    .as_ref()
}

fuzz_target!(|data: &[u8]| {
    let Some((a, b)) = secrets() else { return };
    let Some((&mode, rest)) = data.split_first() else { return };
    let mut codec = ethp2p_rlpx::FrameCodec::new(b);
    codec.set_max_frame_size(1 << 16);
    let mut src = if mode & 1 == 0 {
        // Raw bytes: exercises the header/MAC checks.
        bytes::BytesMut::from(rest)
    } else {
        // A correctly sealed frame carrying the input: exercises everything after the MAC.
        let mut wire = bytes::BytesMut::new();
        let _ = ethp2p_rlpx::FrameCodec::new(a).encode_parts(&[rest], &mut wire);
        wire
    };
    while let Ok(Some(frame)) = codec.decode_frame(&mut src) {
        let _ = ethp2p_wire::p2p::decode_frame_body(&frame, 1 << 20);
    }
});
