//! Ack bodies that pass ECIES (the input is the plaintext), for the RLP checks.
#![no_main]
mod common;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let a = common::key(1);
    let Ok(a_pub) = ethp2p_rlpx::key::public_key_from_peer_id(&ethp2p_rlpx::key::peer_id_from_secret_key(&a)) else {
        return;
    };
    let size = ((data.len() + ethp2p_rlpx::ecies::OVERHEAD) as u16).to_be_bytes();
    let mut wire = size.to_vec();
    ethp2p_rlpx::ecies::encrypt_with(&a_pub, &common::key(9), [7u8; 16], data, &size, &mut wire);
    let _ = ethp2p_rlpx::handshake::decode_ack(&a, &wire);
});
