//! Auth bodies that pass ECIES: the input is the plaintext, sealed in the EIP-8
//! format to the recipient, so the fuzzer explores the RLP and signature checks.
#![no_main]
mod common;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let b = common::key(1);
    let Ok(b_pub) = ethp2p_rlpx::key::public_key_from_peer_id(&ethp2p_rlpx::key::peer_id_from_secret_key(&b)) else {
        return;
    };
    let size = ((data.len() + ethp2p_rlpx::ecies::OVERHEAD) as u16).to_be_bytes();
    let mut wire = size.to_vec();
    ethp2p_rlpx::ecies::encrypt_with(&b_pub, &common::key(9), [7u8; 16], data, &size, &mut wire);
    let recipient = ethp2p_rlpx::Recipient::with_ephemeral(&b, common::key(2), Default::default());
    let _ = recipient.read_auth(&mut bytes::BytesMut::from(&wire[..]));
});
