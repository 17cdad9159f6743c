// Shared fixed keys so that inputs found by the fuzzer stay meaningful.
#![allow(dead_code)]

use ethp2p_rlpx::SecretKey;

pub fn key(byte: u8) -> SecretKey {
    SecretKey::from_byte_array([byte; 32]).expect("valid scalar")
}
