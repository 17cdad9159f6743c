use alloy_consensus::{
    BlobTransactionSidecar, BlobTransactionSidecarEip7594, Bytes48, SignableTransaction, Signed,
    TxEip1559, TxEip2930, TxEip4844, TxEip4844Variant, TxEip7702, TxLegacy,
};
use alloy_eips::{
    eip2930::{AccessList, AccessListItem},
    eip7702::{Authorization, SignedAuthorization},
};
use alloy_primitives::{address, b256, keccak256, Bytes as ABytes, Signature, TxKind, U256};
use secp256k1::{Message, SecretKey, SECP256K1};

use super::*;

fn hex_bytes(s: &str) -> Bytes {
    Bytes::from(hex::decode(s.trim_start_matches("0x")).expect("test hex"))
}

/// The network item for EIP-2718 bytes: a legacy list as is, typed envelopes
/// wrapped in an RLP string.
fn wrap(raw: &[u8]) -> Bytes {
    let mut out = Vec::new();
    if raw[0] < 0xc0 {
        Header {
            list: false,
            payload_length: raw.len(),
        }
        .encode(&mut out);
    }
    out.extend_from_slice(raw);
    Bytes::from(out)
}

fn sign(hash: B256, key: &SecretKey) -> Signature {
    let (recid, compact) = SECP256K1
        .sign_ecdsa_recoverable(Message::from_digest(hash.0), key)
        .serialize_compact();
    Signature::new(
        U256::from_be_slice(&compact[..32]),
        U256::from_be_slice(&compact[32..]),
        i32::from(recid) == 1,
    )
}

fn key(byte: u8) -> SecretKey {
    SecretKey::from_byte_array([byte; 32]).expect("valid key")
}

fn address_of(key: &SecretKey) -> Address {
    let public = key.public_key(SECP256K1).serialize_uncompressed();
    Address::from_slice(&keccak256(&public[1..])[12..])
}

const EIP155_SIGNED: &str = "f86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83";

/// EIP-155's worked example: the signing hash, the sender of key 0x46…46 and
/// the signed bytes are stated in the EIP.
#[test]
fn eip155_example_decodes_recovers_and_reencodes() {
    let item = hex_bytes(EIP155_SIGNED);
    let tx = decode_broadcast(item.clone(), &DecodeLimits::default()).unwrap();
    assert_eq!(tx.tx_type(), 0);
    assert_eq!(tx.size(), item.len());
    assert_eq!(tx.raw(), &item);
    assert_eq!(tx.hash(), keccak256(&item));
    let PooledTx::Legacy(signed) = tx.tx() else {
        panic!("not legacy")
    };
    assert_eq!(
        signed.signature_hash(),
        b256!("daf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53")
    );
    assert_eq!(
        tx.recover_sender().unwrap(),
        address!("9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F")
    );
    assert_eq!(tx.recover_sender().unwrap(), address_of(&key(0x46)));
    assert_eq!(tx.network_encoding(), item.to_vec());
}

/// Mainnet legacy transaction
/// 0x280cde7cdefe4b188750e76c888f13bd05ce9a4d7767730feefe8a0e50ca6fc4 (raw
/// bytes as served by any archive node / block explorer).
#[test]
fn mainnet_legacy_tx_hash() {
    let item = hex_bytes("f9015482078b8505d21dba0083022ef1947a250d5630b4cf539739df2c5dacb4c659f2488d880c46549a521b13d8b8e47ff36ab50000000000000000000000000000000000000000000066ab5a608bd00a23f2fe000000000000000000000000000000000000000000000000000000000000008000000000000000000000000048c04ed5691981c42154c6167398f95e8f38a7ff00000000000000000000000000000000000000000000000000000000632ceac70000000000000000000000000000000000000000000000000000000000000002000000000000000000000000c02aaa39b223fe8d0a0e5c4f27ead9083c756cc20000000000000000000000006c6ee5e31d828de241282b9606c8e98ea48526e225a0c9077369501641a92ef7399ff81c21639ed4fd8fc69cb793cfa1dbfab342e10aa0615facb2f1bcf3274a354cfe384a38d0cc008a11c2dd23a69111bc6930ba27a8");
    let tx = decode_pooled(item.clone(), &DecodeLimits::default()).unwrap();
    assert_eq!(
        tx.hash(),
        b256!("280cde7cdefe4b188750e76c888f13bd05ce9a4d7767730feefe8a0e50ca6fc4")
    );
    assert_eq!(tx.meta().ty, 0);
    assert_eq!(tx.meta().size as usize, item.len());
}

/// Mainnet EIP-1559 transaction
/// 0xce4dc6d7a7549a98ee3b071b67e970879ff51b5b95d1c340bacd80fa1e1aab31.
#[test]
fn mainnet_1559_tx_hash_type_size_and_sender() {
    let raw = hex_bytes("02f86f0102843b9aca0085029e7822d68298f094d9e1459a7a482635700cbc20bbaf52d495ab9c9680841b55ba3ac080a0c199674fcb29f353693dd779c017823b954b3c69dffa3cd6b2a6ff7888798039a028ca912de909e7e6cdef9cdcaf24c54dd8c1032946dfa1d85c206b32a9064fe8");
    let item = wrap(&raw);
    for tx in [
        decode_broadcast(item.clone(), &DecodeLimits::default()).unwrap(),
        decode_pooled(item.clone(), &DecodeLimits::default()).unwrap(),
    ] {
        assert_eq!(
            tx.hash(),
            b256!("ce4dc6d7a7549a98ee3b071b67e970879ff51b5b95d1c340bacd80fa1e1aab31")
        );
        assert_eq!(tx.tx_type(), 2);
        // The size is the EIP-2718 length, without the RLP string header.
        assert_eq!(tx.size(), raw.len());
        assert_eq!(tx.size() + 2, item.len());
        assert_eq!(tx.raw(), &raw);
        assert_eq!(tx.network_encoding(), item.to_vec());
        assert_eq!(
            tx.recover_sender().unwrap(),
            address!("001e2b7dE757bA469a57bF6b23d982458a07eFcE")
        );
    }
    // The bare envelope is the canonical form, not a network item.
    assert!(decode_pooled(raw, &DecodeLimits::default()).is_err());
}

/// The EIP-2930 example transaction of ethereumjs
/// (`packages/tx/examples/accessListTx.ts`), whose hash it prints:
/// 0x9150cdebad74e88b038e6c6b964d99af705f9c0883d7f0bbc0f3e072358f5b1d.
#[test]
fn eip2930_example_hash_and_roundtrip() {
    let tx = TxEip2930 {
        chain_id: 1,
        nonce: 0,
        gas_price: 1,
        gas_limit: 0x0262_5a00,
        to: TxKind::Call(address!("cccccccccccccccccccccccccccccccccccccccc")),
        value: U256::from(0x0186a0),
        input: ABytes::from(
            hex::decode("1a8451e600000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000").unwrap(),
        ),
        access_list: AccessList(vec![AccessListItem {
            address: address!("0000000000000000000000000000000000000101"),
            storage_keys: vec![
                B256::ZERO,
                b256!("00000000000000000000000000000000000000000000000000000000000060a7"),
            ],
        }]),
    };
    let signature = Signature::new(
        U256::from_be_bytes(
            b256!("afb6e247b1c490e284053c87ab5f6b59e219d51f743f7a4d83e400782bc7e4b9").0,
        ),
        U256::from_be_bytes(
            b256!("479a268e0e0acd4de3f1e28e4fac2a6b32a4195e8dfa9d19147abe8807aa6f64").0,
        ),
        true,
    );
    let signed = tx.into_signed(signature);
    let expected = b256!("9150cdebad74e88b038e6c6b964d99af705f9c0883d7f0bbc0f3e072358f5b1d");
    assert_eq!(*signed.hash(), expected);
    let built = DecodedTx::from_pooled(PooledTx::Eip2930(signed));
    let decoded = decode_broadcast(
        Bytes::from(built.network_encoding()),
        &DecodeLimits::default(),
    )
    .unwrap();
    assert_eq!(decoded.hash(), expected);
    assert_eq!(decoded.tx_type(), 1);
    assert_eq!(decoded.raw()[0], 1);
    assert_eq!(decoded, built);
}

/// Sepolia blob transaction
/// 0x9a22ccb0029bc8b0ddd073be1a1d923b7ae2b2ea52100bae0db4424f9107e9c0 in its
/// canonical form (five versioned hashes, no sidecar).
const SEPOLIA_BLOB_TX: &str = "03f9011d83aa36a7820fa28477359400852e90edd0008252089411e9ca82a3a762b4b5bd264d4173a242e7a770648080c08504a817c800f8a5a0012ec3d6f66766bedb002a190126b3549fce0047de0d4c25cffce0dc1c57921aa00152d8e24762ff22b1cfd9f8c0683786a7ca63ba49973818b3d1e9512cd2cec4a0013b98c6c83e066d5b14af2b85199e3d4fc7d1e778dd53130d180f5077e2d1c7a001148b495d6e859114e670ca54fb6e2657f0cbae5b08063605093a4b3dc9f8f1a0011ac212f13c5dff2b2c6b600a79635103d6f580a4221079951181b25c7e654901a0c8de4cced43169f9aa3d36506363b2d2c44f6c49fc1fd91ea114c86f3757077ea01e11fdd0d1934eda0492606ee0bb80a7bf8f35cc5f86ec60fe5031ba48bfd544";
const SEPOLIA_BLOB_HASH: B256 =
    b256!("9a22ccb0029bc8b0ddd073be1a1d923b7ae2b2ea52100bae0db4424f9107e9c0");

fn sepolia_blob_parts() -> (TxEip4844, Signature) {
    let envelope = decode_canonical(&hex_bytes(SEPOLIA_BLOB_TX), &DecodeLimits::default()).unwrap();
    let TxEnvelope::Eip4844(signed) = envelope else {
        panic!("not a blob transaction")
    };
    assert_eq!(*signed.hash(), SEPOLIA_BLOB_HASH);
    let signature = *signed.signature();
    let TxEip4844Variant::TxEip4844(tx) = signed.strip_signature() else {
        panic!("canonical form carries no sidecar")
    };
    (tx, signature)
}

fn pooled_blob(sidecar: BlobTransactionSidecarVariant) -> DecodedTx {
    let (tx, signature) = sepolia_blob_parts();
    let with_sidecar = TxEip4844WithSidecar::from_tx_and_sidecar(tx, sidecar);
    let signed = Signed::new_unchecked(with_sidecar, signature, SEPOLIA_BLOB_HASH);
    DecodedTx::from_pooled(PooledTx::Eip4844(signed))
}

fn eip7594_sidecar(blobs: usize, with_blob_data: bool) -> BlobTransactionSidecarVariant {
    BlobTransactionSidecarVariant::Eip7594(BlobTransactionSidecarEip7594 {
        blobs: if with_blob_data {
            vec![Default::default(); blobs]
        } else {
            Vec::new()
        },
        commitments: vec![Bytes48::repeat_byte(0xc0); blobs],
        cell_proofs: vec![Bytes48::repeat_byte(0xaa); blobs * 128],
    })
}

#[test]
fn blob_tx_canonical_form_hash() {
    let (tx, _) = sepolia_blob_parts();
    assert_eq!(tx.blob_versioned_hashes.len(), 5);
}

#[test]
fn blob_tx_pooled_form_keeps_the_canonical_hash_and_counts_the_sidecar() {
    let limits = DecodeLimits::default();
    let canonical_len = hex_bytes(SEPOLIA_BLOB_TX).len();
    for sidecar in [
        eip7594_sidecar(5, true),
        // eth/72 (EIP-8070) responses clear the blobs, keep commitments and proofs.
        eip7594_sidecar(5, false),
        BlobTransactionSidecarVariant::Eip4844(BlobTransactionSidecar {
            blobs: vec![Default::default(); 5],
            commitments: vec![Bytes48::repeat_byte(1); 5],
            proofs: vec![Bytes48::repeat_byte(2); 5],
        }),
    ] {
        let built = pooled_blob(sidecar);
        let item = Bytes::from(built.network_encoding());
        let tx = decode_pooled(item, &limits).unwrap();
        assert_eq!(tx.hash(), SEPOLIA_BLOB_HASH);
        assert_eq!(tx.tx_type(), 3);
        assert!(tx.is_blob());
        assert!(tx.size() > canonical_len, "size includes the sidecar");
        assert_eq!(tx.size(), built.raw().len());
        assert_eq!(tx, built);
    }
}

#[test]
fn blob_tx_in_broadcast_is_refused() {
    let item = Bytes::from(pooled_blob(eip7594_sidecar(1, false)).network_encoding());
    assert_eq!(
        decode_broadcast(item, &DecodeLimits::default()),
        Err(TxDecodeError::BlobInBroadcast)
    );
    // The canonical form too.
    let item = wrap(&hex_bytes(SEPOLIA_BLOB_TX));
    assert_eq!(
        decode_broadcast(item, &DecodeLimits::default()),
        Err(TxDecodeError::BlobInBroadcast)
    );
}

#[test]
fn blob_tx_without_sidecar_in_pooled_response_is_refused() {
    let item = wrap(&hex_bytes(SEPOLIA_BLOB_TX));
    assert_eq!(
        decode_pooled(item, &DecodeLimits::default()),
        Err(TxDecodeError::MissingSidecar)
    );
}

#[test]
fn blob_tx_size_bound_is_its_own() {
    let item = Bytes::from(pooled_blob(eip7594_sidecar(5, true)).network_encoding());
    let size = item.len() - 4;
    // Above the non-blob bound, within the blob bound.
    assert!(size > DecodeLimits::default().max_tx_size);
    assert!(decode_pooled(item.clone(), &DecodeLimits::default()).is_ok());
    let tight = DecodeLimits {
        max_blob_tx_size: size - 1,
        ..DecodeLimits::default()
    };
    assert_eq!(
        decode_pooled(item, &tight),
        Err(TxDecodeError::TooLarge {
            ty: 3,
            size,
            max: size - 1
        })
    );
}

/// An EIP-7702 transaction signed here with a fixed key: the hash is the
/// Keccak-256 of `0x04 ‖ rlp(fields)`, the sender and the authority recover
/// to the signing keys.
#[test]
fn eip7702_generated_hash_and_sender() {
    let authority_key = key(0x11);
    let auth = Authorization {
        chain_id: U256::from(1),
        address: address!("00000000000000000000000000000000000000aa"),
        nonce: 7,
    };
    let auth_sig = sign(auth.signature_hash(), &authority_key);
    let signed_auth = SignedAuthorization::new_unchecked(
        auth,
        u8::from(auth_sig.v()),
        auth_sig.r(),
        auth_sig.s(),
    );
    assert_eq!(
        signed_auth.recover_authority().unwrap(),
        address_of(&authority_key)
    );
    let tx = TxEip7702 {
        chain_id: 1,
        nonce: 3,
        gas_limit: 100_000,
        max_fee_per_gas: 30_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: address!("00000000000000000000000000000000000000bb"),
        value: U256::from(5),
        access_list: AccessList::default(),
        authorization_list: vec![signed_auth],
        input: ABytes::from_static(&[0xde, 0xad]),
    };
    let sender_key = key(0x22);
    let signature = sign(tx.signature_hash(), &sender_key);
    let built = DecodedTx::from_pooled(PooledTx::Eip7702(tx.into_signed(signature)));
    let item = Bytes::from(built.network_encoding());
    let decoded = decode_broadcast(item, &DecodeLimits::default()).unwrap();
    assert_eq!(decoded.tx_type(), 4);
    assert_eq!(decoded.raw()[0], 4);
    assert_eq!(decoded.hash(), keccak256(decoded.raw()));
    assert_eq!(decoded.recover_sender().unwrap(), address_of(&sender_key));
}

#[test]
fn generated_legacy_and_1559_hash_is_keccak_of_raw() {
    let sender = key(0x33);
    let legacy = TxLegacy {
        chain_id: Some(1),
        nonce: 1,
        gas_price: 2,
        gas_limit: 21_000,
        to: TxKind::Call(Address::repeat_byte(1)),
        value: U256::from(1),
        input: ABytes::new(),
    };
    let sig = sign(legacy.signature_hash(), &sender);
    let legacy = DecodedTx::from_pooled(PooledTx::Legacy(legacy.into_signed(sig)));
    let eip1559 = TxEip1559 {
        chain_id: 1,
        nonce: 2,
        gas_limit: 21_000,
        max_fee_per_gas: 3,
        max_priority_fee_per_gas: 1,
        to: TxKind::Create,
        value: U256::ZERO,
        access_list: AccessList::default(),
        input: ABytes::from_static(&[0x60, 0x00]),
    };
    let sig = sign(eip1559.signature_hash(), &sender);
    let eip1559 = DecodedTx::from_pooled(PooledTx::Eip1559(eip1559.into_signed(sig)));
    for built in [legacy, eip1559] {
        let decoded = decode_pooled(
            Bytes::from(built.network_encoding()),
            &DecodeLimits::default(),
        )
        .unwrap();
        assert_eq!(decoded.hash(), keccak256(built.raw()));
        assert_eq!(decoded.recover_sender().unwrap(), address_of(&sender));
    }
}

#[test]
fn unknown_type_and_malformed_items_are_typed_errors() {
    let limits = DecodeLimits::default();
    // Type 0x05 in an envelope.
    assert_eq!(
        decode_pooled(wrap(&[0x05, 0xc0]), &limits),
        Err(TxDecodeError::UnknownType(5))
    );
    // A type byte above 0x7f inside a string.
    assert_eq!(
        decode_pooled(Bytes::from_static(&[0x82, 0x80, 0xc0]), &limits),
        Err(TxDecodeError::UnknownType(0x80))
    );
    // An empty string.
    assert!(matches!(
        decode_pooled(Bytes::from_static(&[0x80]), &limits),
        Err(TxDecodeError::Rlp(_))
    ));
    // A header claiming more bytes than follow.
    assert!(matches!(
        decode_pooled(Bytes::from_static(&[0xb8, 0x40, 0x02]), &limits),
        Err(TxDecodeError::Rlp(_))
    ));
    // A 1559 envelope with garbage fields.
    assert!(matches!(
        decode_pooled(wrap(&[0x02, 0xc3, 0x01, 0x02, 0x03]), &limits),
        Err(TxDecodeError::Invalid { ty: 2, .. })
    ));
    // A legacy list too short to be a transaction.
    assert!(matches!(
        decode_broadcast(Bytes::from_static(&[0xc1, 0x01]), &limits),
        Err(TxDecodeError::Invalid { ty: 0, .. })
    ));
    assert!(matches!(
        decode_canonical(&[0x09, 0xc0], &limits),
        Err(TxDecodeError::UnknownType(9))
    ));
}

#[test]
fn size_bound_is_checked_before_decoding() {
    let item = hex_bytes(EIP155_SIGNED);
    let limits = DecodeLimits {
        max_tx_size: item.len() - 1,
        ..DecodeLimits::default()
    };
    assert_eq!(
        decode_broadcast(item.clone(), &limits),
        Err(TxDecodeError::TooLarge {
            ty: 0,
            size: item.len(),
            max: item.len() - 1
        })
    );
    // A 200 KiB string claiming to be a 1559 transaction is refused by size,
    // not decoded.
    let mut huge = vec![0x02];
    huge.resize(200 * 1024, 0);
    assert!(matches!(
        decode_pooled(wrap(&huge), &DecodeLimits::default()),
        Err(TxDecodeError::TooLarge { ty: 2, .. })
    ));
}

#[test]
fn lists_decode_all_or_nothing_with_index_and_count_bound() {
    let good = hex_bytes(EIP155_SIGNED);
    let blob = Bytes::from(pooled_blob(eip7594_sidecar(1, false)).network_encoding());
    let list = RawList::from_encoded_items([good.clone(), good.clone()]).unwrap();
    let txs = decode_broadcast_transactions(&list, &DecodeLimits::default()).unwrap();
    assert_eq!(txs.len(), 2);
    // Zero-copy: the raw bytes point into the message.
    let whole = list.as_bytes();
    let range = whole.as_ptr() as usize..whole.as_ptr() as usize + whole.len();
    assert!(range.contains(&(txs[1].raw().as_ptr() as usize)));

    let mixed = RawList::from_encoded_items([good.clone(), blob.clone()]).unwrap();
    assert_eq!(
        decode_broadcast_transactions(&mixed, &DecodeLimits::default()),
        Err(TxListError {
            index: 1,
            source: TxDecodeError::BlobInBroadcast
        })
    );
    let pooled = decode_pooled_transactions(&mixed, &DecodeLimits::default()).unwrap();
    assert_eq!(pooled[1].tx_type(), 3);

    let limits = DecodeLimits {
        max_items: 1,
        ..DecodeLimits::default()
    };
    assert_eq!(
        decode_pooled_transactions(&list, &limits),
        Err(TxListError {
            index: 2,
            source: TxDecodeError::TooMany { count: 2, max: 1 }
        })
    );
}

/// Hostile input: random and mutated items never panic, and whatever decodes
/// re-encodes to the bytes it came from.
#[test]
fn random_and_mutated_items_never_panic() {
    use rand::{rngs::StdRng, Rng, SeedableRng};
    let mut rng = StdRng::seed_from_u64(7);
    let limits = DecodeLimits::default();
    let seeds = [
        hex_bytes(EIP155_SIGNED).to_vec(),
        wrap(&hex_bytes(SEPOLIA_BLOB_TX)).to_vec(),
        pooled_blob(eip7594_sidecar(1, false)).network_encoding(),
    ];
    let mut decoded = 0;
    for i in 0..20_000 {
        let item: Vec<u8> = if i % 2 == 0 {
            let len = rng.random_range(0..300);
            (0..len).map(|_| rng.random()).collect()
        } else {
            let mut item = seeds[i % seeds.len()].clone();
            for _ in 0..rng.random_range(1..4) {
                let at = rng.random_range(0..item.len());
                item[at] = rng.random();
            }
            if rng.random_bool(0.2) {
                item.truncate(rng.random_range(0..item.len()));
            }
            item
        };
        let item = Bytes::from(item);
        let results = [
            decode_pooled(item.clone(), &limits),
            decode_broadcast(item.clone(), &limits),
        ];
        for tx in results.into_iter().flatten() {
            decoded += 1;
            assert_eq!(tx.network_encoding(), item.to_vec());
            // Canonical: the parsed fields re-encode to the same bytes.
            assert_eq!(tx.tx().encoded_2718(), tx.raw().to_vec());
        }
        let _ = decode_canonical(&item, &limits);
    }
    assert!(
        decoded > 100,
        "mutations of signatures still decode: {decoded}"
    );
}
