//! EIP-1459 TXT records (root, branch, link, ENR).
#![no_main]
use ethp2p_dnsdisc::{parse_entry, parse_entry_checked, EntryHash};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = parse_entry_checked(text, &EntryHash::of_record(text));
    if let Ok(entry) = parse_entry(text) {
        // Whatever is accepted prints in a form that parses to the same entry.
        let printed = entry.to_string();
        let again = parse_entry(&printed).expect("printed entries parse");
        assert_eq!(again.to_string(), printed);
    }
});
