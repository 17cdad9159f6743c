//! The recipient reading an auth message (EIP-8 or legacy) from arbitrary bytes.
#![no_main]
mod common;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let recipient = ethp2p_rlpx::Recipient::with_ephemeral(&common::key(1), common::key(2), Default::default());
    let mut buf = bytes::BytesMut::from(data);
    let _ = recipient.read_auth(&mut buf);
    let _ = ethp2p_rlpx::handshake::decode_auth(&common::key(1), data);
});
