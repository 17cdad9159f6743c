//! A frame body as the p2p layer reads it: message id, then snappy payload.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = ethp2p_wire::p2p::decode_frame_body(data, 1 << 20);
});
