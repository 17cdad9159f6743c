//! discv4 packet data without the envelope: byte 0 is the packet type, the
//! rest its RLP body (reaching the body decoders without a valid signature).
//! Every accepted message re-encodes, signed, to a packet that decodes to the
//! same message (the lenient parts — extra elements, trailing bytes, a
//! non-integer enr-seq — are what the re-encoding drops).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&packet_type, body)) = data.split_first() else {
        return;
    };
    if let Ok(m) = ethp2p_discv4::packet::decode_data(packet_type, body) {
        let key = ethp2p_rlpx::SecretKey::from_byte_array([7u8; 32]).expect("valid key");
        // Decoded input may not fit once re-encoded (an IPv4-mapped address
        // shrinks, leading zeros vanish), so only size is allowed to fail.
        if let Ok(p) = ethp2p_discv4::packet::encode(&key, &m) {
            let again = ethp2p_discv4::packet::decode(&p.bytes).expect("encoded packet decodes");
            assert_eq!(again.message, m);
        }
    }
});
