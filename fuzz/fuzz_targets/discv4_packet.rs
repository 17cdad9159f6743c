//! discv4 datagrams: envelope (size, hash, signature recovery) and every
//! packet type behind it.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = ethp2p_discv4::packet::decode(data) {
        assert!(data.len() <= ethp2p_discv4::packet::MAX_PACKET_SIZE);
        assert_eq!(p.hash.as_slice(), &data[..32]);
    }
});
