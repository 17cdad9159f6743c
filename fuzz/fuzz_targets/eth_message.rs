//! Every eth message of every version: byte 0 picks the version, byte 1 the id.
#![no_main]
use ethp2p_eth::{message::EthMessage, status::Status, version::EthVersion};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let version = EthVersion::ALL[data[0] as usize % EthVersion::ALL.len()];
    let id = data[1] % 0x18;
    let payload = &data[2..];
    if let Ok(m) = EthMessage::decode(version, id, payload) {
        // Anything accepted re-encodes to the same bytes.
        assert_eq!(&m.encoded()[..], payload);
    }
    let _ = EthMessage::decode_bytes(version, id, bytes::Bytes::copy_from_slice(payload));
    let _ = Status::decode(version, payload);
});
