//! The `eth` ENR entry (`[[fork-hash, fork-next], ...]`) of remote records.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(id) = ethp2p_discv4::enr::decode_eth_entry(data) {
        let again = ethp2p_discv4::enr::decode_eth_entry(&ethp2p_discv4::enr::encode_eth_entry(id))
            .expect("re-decodes");
        assert_eq!(again, id);
    }
});
