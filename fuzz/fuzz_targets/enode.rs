//! enode:// URL parsing.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(r) = s.parse::<ethp2p_rlpx::NodeRecord>() {
            let again: ethp2p_rlpx::NodeRecord = r.to_string().parse().expect("printed records parse");
            assert_eq!(r.id, again.id);
            assert_eq!(r.tcp_port, again.tcp_port);
        }
    }
});
