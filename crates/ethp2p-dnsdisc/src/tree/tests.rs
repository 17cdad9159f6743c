use super::*;
use proptest::prelude::*;

/// EIP-1459's example zone (also in devp2p `dnsdisc.md`).
pub(crate) const EXAMPLE_ROOT: &str = "enrtree-root:v1 e=JWXYDBPXYWG6FX3GMDIBFA6CJ4 l=C7HRFPF3BLGF3YR4DY5KX3SMBE seq=1 sig=o908WmNp7LibOfPsr4btQwatZJ5URBr2ZAuxvK4UWHlsB9sUOTJQaGAlLPVAhM__XJesCHxLISo94z5Z2a463gA";
pub(crate) const EXAMPLE_RECORDS: [(&str, &str); 5] = [
    ("C7HRFPF3BLGF3YR4DY5KX3SMBE", "enrtree://AM5FCQLWIZX2QFPNJAP7VUERCCRNGRHWZG3YYHIUV7BVDQ5FDPRT2@morenodes.example.org"),
    ("JWXYDBPXYWG6FX3GMDIBFA6CJ4", "enrtree-branch:2XS2367YHAXJFGLZHVAWLQD4ZY,H4FHT4B454P6UXFD7JCYQ5PWDY,MHTDO6TMUBRIA2XWG5LUDACK24"),
    ("2XS2367YHAXJFGLZHVAWLQD4ZY", "enr:-HW4QOFzoVLaFJnNhbgMoDXPnOvcdVuj7pDpqRvh6BRDO68aVi5ZcjB3vzQRZH2IcLBGHzo8uUN3snqmgTiE56CH3AMBgmlkgnY0iXNlY3AyNTZrMaECC2_24YYkYHEgdzxlSNKQEnHhuNAbNlMlWJxrJxbAFvA"),
    ("H4FHT4B454P6UXFD7JCYQ5PWDY", "enr:-HW4QAggRauloj2SDLtIHN1XBkvhFZ1vtf1raYQp9TBW2RD5EEawDzbtSmlXUfnaHcvwOizhVYLtr7e6vw7NAf6mTuoCgmlkgnY0iXNlY3AyNTZrMaECjrXI8TLNXU0f8cthpAMxEshUyQlK-AM0PW2wfrnacNI"),
    ("MHTDO6TMUBRIA2XWG5LUDACK24", "enr:-HW4QLAYqmrwllBEnzWWs7I5Ev2IAs7x_dZlbYdRdMUx5EyKHDXp7AV5CkuPGUPdvbv1_Ms1CPfhcGCvSElSosZmyoqAgmlkgnY0iXNlY3AyNTZrMaECriawHKWdDRk2xeZkrOXBQ0dfMFLHY4eENZwdufn1S1o"),
];
/// The key that verifies the example root (geth `client_test.go`); the EIP's
/// own URL key `AM5FCQLW…` does not.
pub(crate) const EXAMPLE_KEY: &str = "AKPYQIUQIL7PSIACI32J7FGZW56E5FKHEFCCOFHILBIMW3M6LWXS2";
pub(crate) const EXAMPLE_SECRET: &str =
    "dc599867fc513f8f5e2c2c9c489cde5e71362d1d9ec6e693e0de063236ed1240";

fn key_of(base32: &str) -> PublicKey {
    let link: LinkEntry = format!("enrtree://{base32}@x.example").parse().unwrap();
    link.public_key
}

fn secret(byte: u8) -> SecretKey {
    SecretKey::from_byte_array([byte; 32]).unwrap()
}

fn root_of(text: &str) -> RootEntry {
    match parse_entry(text).unwrap() {
        Entry::Root(r) => r,
        other => panic!("not a root: {other:?}"),
    }
}

#[test]
fn example_root_verifies_under_the_geth_test_key_only() {
    let root = root_of(EXAMPLE_ROOT);
    assert_eq!(root.seq, 1);
    assert_eq!(root.enr_root.to_string(), "JWXYDBPXYWG6FX3GMDIBFA6CJ4");
    assert_eq!(root.link_root.to_string(), "C7HRFPF3BLGF3YR4DY5KX3SMBE");
    root.verify(&key_of(EXAMPLE_KEY)).unwrap();
    assert_eq!(
        root.verify(&key_of(
            "AM5FCQLWIZX2QFPNJAP7VUERCCRNGRHWZG3YYHIUV7BVDQ5FDPRT2"
        )),
        Err(EntryError::BadSignature)
    );
    // Re-encoding gives the published text back.
    assert_eq!(root.to_string(), EXAMPLE_ROOT);
}

#[test]
fn example_key_is_the_secret_keys_public_key() {
    let sk = SecretKey::from_byte_array(hex::decode(EXAMPLE_SECRET).unwrap().try_into().unwrap())
        .unwrap();
    assert_eq!(sk.public_key(SECP256K1), key_of(EXAMPLE_KEY));
}

#[test]
fn example_records_hash_to_their_names_and_parse() {
    for (label, text) in EXAMPLE_RECORDS {
        let hash: EntryHash = label.parse().unwrap();
        assert_eq!(EntryHash::of_record(text), hash, "{label}");
        let entry = parse_entry_checked(text, &hash).unwrap();
        // Every kind re-encodes to exactly the published text.
        assert_eq!(entry.to_string(), text);
    }
}

#[test]
fn spec_hex_key_is_the_root_signing_key_not_the_url_key() {
    // dnsdisc.md prints this uncompressed key for its example URL, but it is
    // the key that signs the example root; the URL's base32 key is another.
    let spec = "049f88229042fef9200246f49f94d9b77c4e954721442714e85850cb6d9e5daf2d880ea0e53cb3ac1a75f9923c2726a4f941f7d326781baa6380754a360de5c2b6";
    assert_eq!(
        hex::encode(key_of(EXAMPLE_KEY).serialize_uncompressed()),
        spec
    );
    let Entry::Link(link) = parse_entry(EXAMPLE_RECORDS[0].1).unwrap() else {
        panic!("not a link")
    };
    assert_eq!(link.domain, "morenodes.example.org");
    assert_ne!(hex::encode(link.public_key.serialize_uncompressed()), spec);
    assert_eq!(
        BASE32_NOPAD.encode(&link.public_key.serialize()),
        "AM5FCQLWIZX2QFPNJAP7VUERCCRNGRHWZG3YYHIUV7BVDQ5FDPRT2"
    );
}

#[test]
fn example_branch_lists_the_three_leaves() {
    let Entry::Branch(b) = parse_entry(EXAMPLE_RECORDS[1].1).unwrap() else {
        panic!("not a branch")
    };
    let want: Vec<EntryHash> = EXAMPLE_RECORDS[2..]
        .iter()
        .map(|(l, _)| l.parse().unwrap())
        .collect();
    assert_eq!(b.children, want);
}

#[test]
fn signed_root_round_trips_and_tampering_breaks_it() {
    let sk = secret(7);
    let pk = sk.public_key(SECP256K1);
    let root = RootEntry::sign(
        EntryHash::of_record("a"),
        EntryHash::of_record("b"),
        42,
        &sk,
    );
    let text = root.to_string();
    let parsed = root_of(&text);
    assert_eq!(parsed, root);
    parsed.verify(&pk).unwrap();
    let mut bumped = parsed.clone();
    bumped.seq = 43;
    assert_eq!(bumped.verify(&pk), Err(EntryError::BadSignature));
    assert_eq!(
        parsed.verify(&secret(8).public_key(SECP256K1)),
        Err(EntryError::BadSignature)
    );
}

#[test]
fn high_s_signature_is_refused() {
    // (r, n - s) verifies under lax rules; libsecp256k1 and geth refuse it.
    let sk = secret(7);
    let mut root = RootEntry::sign(EntryHash::of_record("a"), EntryHash::of_record("b"), 1, &sk);
    let mut sig = Signature::from_compact(&root.signature[..64]).unwrap();
    sig.normalize_s();
    let low = sig.serialize_compact();
    // n - s, big-endian subtraction.
    let n =
        hex::decode("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141").unwrap();
    let mut high = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let d = i16::from(n[i]) - i16::from(low[32 + i]) - borrow;
        borrow = i16::from(d < 0);
        high[i] = (d + 256 * borrow) as u8;
    }
    root.signature[32..64].copy_from_slice(&high);
    assert_eq!(
        root.verify(&sk.public_key(SECP256K1)),
        Err(EntryError::BadSignature)
    );
}

#[test]
fn malformed_roots_are_refused_with_the_broken_part() {
    let good = root_of(EXAMPLE_ROOT);
    let sig = BASE64URL_NOPAD.encode(&good.signature);
    let e = "JWXYDBPXYWG6FX3GMDIBFA6CJ4";
    let l = "C7HRFPF3BLGF3YR4DY5KX3SMBE";
    let cases: Vec<(String, EntryError)> = vec![
        (
            format!("enrtree-root:v1  e={e} l={l} seq=1 sig={sig}"),
            EntryError::MalformedRoot("e="),
        ),
        (
            format!("enrtree-root:v1 l={l} e={e} seq=1 sig={sig}"),
            EntryError::MalformedRoot("e="),
        ),
        (
            format!("enrtree-root:v1 e={e} l={l} sig={sig}"),
            EntryError::MalformedRoot("seq="),
        ),
        (
            format!("enrtree-root:v1 e={e} l={l} seq=-1 sig={sig}"),
            EntryError::MalformedRoot("seq="),
        ),
        (
            format!("enrtree-root:v1 e={e} l={l} seq=+1 sig={sig}"),
            EntryError::MalformedRoot("seq="),
        ),
        (
            format!("enrtree-root:v1 e={e} l={l} seq=18446744073709551616 sig={sig}"),
            EntryError::MalformedRoot("seq="),
        ),
        (
            format!("enrtree-root:v1 e={e} l={l} seq=1"),
            EntryError::MalformedRoot("sig="),
        ),
        (
            format!("enrtree-root:v1 e={e} l={l} seq=1 sig={sig} x=1"),
            EntryError::MalformedRoot("trailing fields"),
        ),
        (
            format!("enrtree-root:v1 e={e} l={l} seq=1 sig={}", &sig[1..]),
            EntryError::MalformedSignature,
        ),
        (
            format!("enrtree-root:v1 e={e} l={l} seq=1 sig={}=", &sig[1..]),
            EntryError::MalformedSignature,
        ),
        (
            format!("enrtree-root:v1 e=jwxydbpxywg6fx3gmdibfa6cj4 l={l} seq=1 sig={sig}"),
            EntryError::InvalidHash,
        ),
        (
            format!("enrtree-root:v1e={e} l={l} seq=1 sig={sig}"),
            EntryError::MalformedRoot("prefix"),
        ),
    ];
    for (text, want) in cases {
        assert_eq!(parse_entry(&text).unwrap_err(), want, "{text}");
    }
    // The largest seq parses.
    let max = RootEntry::sign(good.enr_root, good.link_root, u64::MAX, &secret(1));
    assert_eq!(root_of(&max.to_string()).seq, u64::MAX);
}

#[test]
fn hashes_are_bounded_base32() {
    assert_eq!(EntryHash::of_record("x").to_string().len(), 26);
    let h12 = BASE32_NOPAD.encode(&[1u8; 12]);
    let h32 = BASE32_NOPAD.encode(&[1u8; 32]);
    assert_eq!(h12.parse::<EntryHash>().unwrap().as_bytes(), &[1u8; 12]);
    assert_eq!(h32.parse::<EntryHash>().unwrap().as_bytes(), &[1u8; 32]);
    for bad in [
        BASE32_NOPAD.encode(&[1u8; 11]),
        BASE32_NOPAD.encode(&[1u8; 33]),
        "2XS2367YHAXJFGLZHVAWLQD4Z1".into(), // '1' is not base32
        "2xs2367yhaxjfglzhvawlqd4zy".into(), // lowercase
        "2XS2367YHAXJFGLZHVAWLQD4ZY======".into(),
        String::new(),
    ] {
        assert_eq!(
            bad.parse::<EntryHash>(),
            Err(EntryError::InvalidHash),
            "{bad}"
        );
    }
}

#[test]
fn branch_width_is_bounded() {
    let child = EntryHash::of_record("c").to_string();
    let at_limit = format!("enrtree-branch:{}", vec![child.as_str(); 18].join(","));
    assert!(at_limit.len() <= MAX_RECORD_LEN);
    assert!(matches!(parse_entry(&at_limit), Ok(Entry::Branch(b)) if b.children.len() == 18));
    // With the shortest (20-character) hashes, 23 children fit in 512 bytes;
    // the width bound guards the branch parser on its own.
    let short = BASE32_NOPAD.encode(&[3u8; 12]);
    let fits = format!("enrtree-branch:{}", vec![short.as_str(); 23].join(","));
    assert!(fits.len() <= MAX_RECORD_LEN);
    assert!(matches!(parse_entry(&fits), Ok(Entry::Branch(b)) if b.children.len() == 23));
    let wide = vec![short.as_str(); 25].join(",");
    assert_eq!(
        BranchEntry::parse(&wide).unwrap_err(),
        EntryError::BranchTooWide {
            width: 25,
            max: MAX_BRANCH_WIDTH
        }
    );
    assert!(BranchEntry::parse(&vec![short.as_str(); 24].join(",")).is_ok());
    assert!(
        matches!(parse_entry("enrtree-branch:"), Ok(Entry::Branch(b)) if b.children.is_empty())
    );
    assert_eq!(
        parse_entry(&format!("enrtree-branch:{child},")).unwrap_err(),
        EntryError::InvalidHash
    );
}

#[test]
fn records_over_512_bytes_are_refused_before_parsing() {
    let long = format!("enr:{}", "A".repeat(MAX_RECORD_LEN));
    assert_eq!(
        parse_entry(&long).unwrap_err(),
        EntryError::TooLong {
            len: MAX_RECORD_LEN + 4,
            max: MAX_RECORD_LEN
        }
    );
    let hash = EntryHash::of_record(&long);
    assert!(matches!(
        parse_entry_checked(&long, &hash),
        Err(EntryError::TooLong { .. })
    ));
}

#[test]
fn wrong_hash_is_refused() {
    let (label, text) = EXAMPLE_RECORDS[2];
    let other: EntryHash = EXAMPLE_RECORDS[3].0.parse().unwrap();
    assert_eq!(
        parse_entry_checked(text, &other).unwrap_err(),
        EntryError::HashMismatch
    );
    // A longer (full) hash matches only if its every byte does.
    let full = keccak256(text.as_bytes());
    let hash: EntryHash = BASE32_NOPAD.encode(&full[..]).parse().unwrap();
    assert!(parse_entry_checked(text, &hash).is_ok(), "{label}");
    let mut wrong = full;
    wrong[31] ^= 1;
    let hash: EntryHash = BASE32_NOPAD.encode(&wrong[..]).parse().unwrap();
    assert_eq!(
        parse_entry_checked(text, &hash).unwrap_err(),
        EntryError::HashMismatch
    );
}

#[test]
fn bad_links_are_refused() {
    let good_key = EXAMPLE_KEY;
    let not_a_point = BASE32_NOPAD.encode(&[2u8; 33]);
    let x_too_big = BASE32_NOPAD.encode(&[[2u8].as_slice(), &[0xff; 32]].concat());
    let cases = [
        (
            format!("enrtree://{good_key}"),
            EntryError::InvalidPublicKey,
        ),
        (
            format!("enrtree://{}@a.org", &good_key[1..]),
            EntryError::InvalidPublicKey,
        ),
        (
            format!("enrtree://{x_too_big}@a.org"),
            EntryError::InvalidPublicKey,
        ),
        (format!("enrtree://{good_key}@"), EntryError::InvalidDomain),
        (
            format!("enrtree://{good_key}@a..org"),
            EntryError::InvalidDomain,
        ),
        (
            format!("enrtree://{good_key}@a org"),
            EntryError::InvalidDomain,
        ),
        (
            format!("enrtree://{good_key}@{}.org", "a".repeat(64)),
            EntryError::InvalidDomain,
        ),
        (
            format!("enrtree://{good_key}@{}", ["abc"; 64].join(".")),
            EntryError::InvalidDomain,
        ),
    ];
    for (text, want) in cases {
        assert_eq!(parse_entry(&text).unwrap_err(), want, "{text}");
    }
    // A 33-byte string that is not on the curve (prefix 2, x = 0x0202…) may or
    // may not be a point; it must never panic.
    let _ = parse_entry(&format!("enrtree://{not_a_point}@a.org"));
    // One trailing dot is dropped; the URL prints without it.
    let link: LinkEntry = format!("enrtree://{good_key}@a.org.").parse().unwrap();
    assert_eq!(link.to_string(), format!("enrtree://{good_key}@a.org"));
}

#[test]
fn bad_enrs_are_refused() {
    let (_, text) = EXAMPLE_RECORDS[2];
    let raw = BASE64URL_NOPAD.decode(&text.as_bytes()[4..]).unwrap();
    // Trailing bytes after the record's RLP list.
    let trailing = format!(
        "enr:{}",
        BASE64URL_NOPAD.encode(&[raw.as_slice(), &[0x80]].concat())
    );
    assert!(matches!(
        parse_entry(&trailing),
        Err(EntryError::InvalidEnr(_))
    ));
    // A flipped signature byte.
    let mut forged = raw.clone();
    forged[5] ^= 1;
    let forged = format!("enr:{}", BASE64URL_NOPAD.encode(&forged));
    assert!(matches!(
        parse_entry(&forged),
        Err(EntryError::InvalidEnr(_))
    ));
    // Not base64url.
    assert!(matches!(
        parse_entry("enr:+/+/"),
        Err(EntryError::InvalidEnr(_))
    ));
    // Over 300 bytes of base64.
    let big = format!("enr:{}", "A".repeat(404));
    assert!(matches!(parse_entry(&big), Err(EntryError::InvalidEnr(_))));
    assert_eq!(
        parse_entry("enrtree-leaf:x").unwrap_err(),
        EntryError::UnknownKind
    );
    assert_eq!(parse_entry("").unwrap_err(), EntryError::UnknownKind);
}

proptest! {
    #[test]
    fn parsing_arbitrary_text_never_panics(s in ".{0,600}") {
        let _ = parse_entry(&s);
        let _ = parse_entry_checked(&s, &EntryHash::of_record(&s));
        let _ = s.parse::<EntryHash>();
        let _ = s.parse::<LinkEntry>();
    }

    #[test]
    fn parsing_prefixed_text_never_panics(
        prefix in prop::sample::select(vec!["enrtree-root:v1 ", "enrtree-branch:", "enrtree://", "enr:", "enrtree-root:v1 e="]),
        body in "[A-Za-z0-9_=,@:. -]{0,520}",
    ) {
        let text = format!("{prefix}{body}");
        let _ = parse_entry(&text);
    }

    #[test]
    fn parsed_roots_reencode_exactly(seq in any::<u64>(), a in any::<[u8; 16]>(), b in any::<[u8; 16]>()) {
        let e: EntryHash = BASE32_NOPAD.encode(&a).parse().unwrap();
        let l: EntryHash = BASE32_NOPAD.encode(&b).parse().unwrap();
        let root = RootEntry::sign(e, l, seq, &secret(9));
        let text = root.to_string();
        prop_assert_eq!(parse_entry(&text).unwrap().to_string(), text);
    }
}
