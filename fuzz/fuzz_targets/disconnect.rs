//! Disconnect payload decoding (raw and snappy-compressed forms).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = ethp2p_wire::DisconnectReason::decode_payload(data);
    let mut framed = vec![0x01];
    framed.extend_from_slice(data);
    let _ = ethp2p_wire::p2p::decode_frame_body(&framed, 1 << 20);
});
