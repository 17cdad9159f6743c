//! Every snap message of both versions: byte 0 picks the version, byte 1 the id.
#![no_main]
use ethp2p_eth::snap::{SnapMessage, SnapVersion};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let version = SnapVersion::ALL[data[0] as usize % SnapVersion::ALL.len()];
    let id = data[1] % 0x0c;
    let payload = &data[2..];
    let copied = SnapMessage::decode(version, id, payload);
    if let Ok(m) = &copied {
        // Anything accepted re-encodes to the same bytes and passes its own checks.
        assert_eq!(&m.encoded()[..], payload);
        assert_eq!(m.length(), payload.len());
        assert!(m.validate_for(version).is_ok());
    }
    let shared = SnapMessage::decode_bytes(version, id, bytes::Bytes::copy_from_slice(payload));
    assert_eq!(copied, shared);
});
