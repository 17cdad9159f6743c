//! Hello decoding.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = <ethp2p_wire::HelloMessage as alloy_rlp::Decodable>::decode(&mut &data[..]) {
        let mut out = Vec::new();
        alloy_rlp::Encodable::encode(&h, &mut out);
        let again = <ethp2p_wire::HelloMessage as alloy_rlp::Decodable>::decode(&mut &out[..]).expect("re-decodes");
        assert_eq!(h.id, again.id);
    }
});
