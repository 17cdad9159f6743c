//! Known transactions of each type, field by field: the EIP-155 worked
//! example and a mainnet EIP-1559 transaction (values read from their RLP
//! and from the EIP), ethereumjs' EIP-2930 example, a Sepolia blob
//! transaction, and an EIP-7702 transaction signed here with fixed keys.
//! Senders are recovered with `secp256k1` (not alloy's k256 path the code
//! uses); hashes are Keccak-256 of the bytes and, where published, the
//! published hash.

use super::pending_transaction_json;
use alloy_consensus::{SignableTransaction, TxEip2930, TxEip7702};
use alloy_eips::{
    eip2718::Encodable2718,
    eip2930::{AccessList, AccessListItem},
    eip7702::{Authorization, SignedAuthorization},
};
use alloy_primitives::{keccak256, Address, Signature, TxKind, B256, U256};
use secp256k1::{
    ecdsa::{RecoverableSignature, RecoveryId},
    Message, SecretKey, SECP256K1,
};
use serde_json::{json, Value};

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).expect("hex")
}

fn address_of_public(public: &secp256k1::PublicKey) -> Address {
    Address::from_slice(&keccak256(&public.serialize_uncompressed()[1..])[12..])
}

/// The sender of `sighash` signed with `sig`, through libsecp256k1.
fn recover(sighash: B256, sig: &Signature) -> Address {
    let mut compact = [0u8; 64];
    compact[..32].copy_from_slice(&sig.r().to_be_bytes::<32>());
    compact[32..].copy_from_slice(&sig.s().to_be_bytes::<32>());
    let id = RecoveryId::try_from(i32::from(sig.v())).unwrap();
    let rs = RecoverableSignature::from_compact(&compact, id).unwrap();
    let public = SECP256K1
        .recover_ecdsa(Message::from_digest(sighash.0), &rs)
        .unwrap();
    address_of_public(&public)
}

fn sign(sighash: B256, key: u8) -> Signature {
    let sk = SecretKey::from_byte_array([key; 32]).unwrap();
    let (id, compact) = SECP256K1
        .sign_ecdsa_recoverable(Message::from_digest(sighash.0), &sk)
        .serialize_compact();
    Signature::new(
        U256::from_be_slice(&compact[..32]),
        U256::from_be_slice(&compact[32..]),
        i32::from(id) == 1,
    )
}

fn address_of_key(key: u8) -> Address {
    let sk = SecretKey::from_byte_array([key; 32]).unwrap();
    address_of_public(&sk.public_key(SECP256K1))
}

/// Checks every field of `got` against `want` and that no other is present.
fn assert_fields(got: &Value, want: &Value) {
    let (g, w) = (got.as_object().unwrap(), want.as_object().unwrap());
    for (k, v) in w {
        assert_eq!(g.get(k), Some(v), "field {k} of {got:#}");
    }
    for k in g.keys() {
        assert!(w.contains_key(k), "unexpected field {k} in {got:#}");
    }
}

#[test]
fn legacy_eip155_example() {
    let raw = unhex("f86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83");
    let got = pending_transaction_json(&raw).unwrap();
    assert_fields(
        &got,
        &json!({
            "blockHash": null, "blockNumber": null, "transactionIndex": null,
            "from": "0x9d8a62f656a8d1615c1294fd71e9cfb3e4855a4f",
            "gas": "0x5208",
            "gasPrice": "0x4a817c800",
            "hash": format!("{}", keccak256(&raw)),
            "input": "0x",
            "nonce": "0x9",
            "to": "0x3535353535353535353535353535353535353535",
            "value": "0xde0b6b3a7640000",
            "type": "0x0",
            "chainId": "0x1",
            "v": "0x25",
            "r": "0x28ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276",
            "s": "0x67cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83",
        }),
    );
}

#[test]
fn eip2930_ethereumjs_example() {
    let tx = TxEip2930 {
        chain_id: 1,
        nonce: 0,
        gas_price: 1,
        gas_limit: 0x0262_5a00,
        to: TxKind::Call(Address::repeat_byte(0xcc)),
        value: U256::from(0x0186a0),
        input: unhex("1a8451e600000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000").into(),
        access_list: AccessList(vec![AccessListItem {
            address: "0x0000000000000000000000000000000000000101".parse().unwrap(),
            storage_keys: vec![B256::ZERO, B256::from(U256::from(0x60a7))],
        }]),
    };
    let r = "afb6e247b1c490e284053c87ab5f6b59e219d51f743f7a4d83e400782bc7e4b9";
    let s = "479a268e0e0acd4de3f1e28e4fac2a6b32a4195e8dfa9d19147abe8807aa6f64";
    let sig = Signature::new(
        U256::from_be_slice(&unhex(r)),
        U256::from_be_slice(&unhex(s)),
        true,
    );
    let from = recover(tx.signature_hash(), &sig);
    let raw = tx.into_signed(sig).encoded_2718();
    let got = pending_transaction_json(&raw).unwrap();
    assert_fields(
        &got,
        &json!({
            "blockHash": null, "blockNumber": null, "transactionIndex": null,
            "from": format!("{from:#x}"),
            "gas": "0x2625a00",
            "gasPrice": "0x1",
            "hash": "0x9150cdebad74e88b038e6c6b964d99af705f9c0883d7f0bbc0f3e072358f5b1d",
            "input": "0x1a8451e600000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
            "nonce": "0x0",
            "to": "0xcccccccccccccccccccccccccccccccccccccccc",
            "value": "0x186a0",
            "type": "0x1",
            "chainId": "0x1",
            "accessList": [{
                "address": "0x0000000000000000000000000000000000000101",
                "storageKeys": [
                    "0x0000000000000000000000000000000000000000000000000000000000000000",
                    "0x00000000000000000000000000000000000000000000000000000000000060a7",
                ],
            }],
            "v": "0x1",
            "yParity": "0x1",
            "r": format!("0x{r}"),
            "s": format!("0x{s}"),
        }),
    );
}

#[test]
fn eip1559_mainnet_transaction() {
    let raw = unhex("02f86f0102843b9aca0085029e7822d68298f094d9e1459a7a482635700cbc20bbaf52d495ab9c9680841b55ba3ac080a0c199674fcb29f353693dd779c017823b954b3c69dffa3cd6b2a6ff7888798039a028ca912de909e7e6cdef9cdcaf24c54dd8c1032946dfa1d85c206b32a9064fe8");
    let got = pending_transaction_json(&raw).unwrap();
    assert_fields(
        &got,
        &json!({
            "blockHash": null, "blockNumber": null, "transactionIndex": null,
            "from": "0x001e2b7de757ba469a57bf6b23d982458a07efce",
            "gas": "0x98f0",
            // Outside a block: the fee cap, as geth.
            "gasPrice": "0x29e7822d6",
            "maxFeePerGas": "0x29e7822d6",
            "maxPriorityFeePerGas": "0x3b9aca00",
            "hash": "0xce4dc6d7a7549a98ee3b071b67e970879ff51b5b95d1c340bacd80fa1e1aab31",
            "input": "0x1b55ba3a",
            "nonce": "0x2",
            "to": "0xd9e1459a7a482635700cbc20bbaf52d495ab9c96",
            "value": "0x0",
            "type": "0x2",
            "chainId": "0x1",
            "accessList": [],
            "v": "0x0",
            "yParity": "0x0",
            "r": "0xc199674fcb29f353693dd779c017823b954b3c69dffa3cd6b2a6ff7888798039",
            "s": "0x28ca912de909e7e6cdef9cdcaf24c54dd8c1032946dfa1d85c206b32a9064fe8",
        }),
    );
}

#[test]
fn eip4844_sepolia_transaction() {
    let raw = unhex("03f9011d83aa36a7820fa28477359400852e90edd0008252089411e9ca82a3a762b4b5bd264d4173a242e7a770648080c08504a817c800f8a5a0012ec3d6f66766bedb002a190126b3549fce0047de0d4c25cffce0dc1c57921aa00152d8e24762ff22b1cfd9f8c0683786a7ca63ba49973818b3d1e9512cd2cec4a0013b98c6c83e066d5b14af2b85199e3d4fc7d1e778dd53130d180f5077e2d1c7a001148b495d6e859114e670ca54fb6e2657f0cbae5b08063605093a4b3dc9f8f1a0011ac212f13c5dff2b2c6b600a79635103d6f580a4221079951181b25c7e654901a0c8de4cced43169f9aa3d36506363b2d2c44f6c49fc1fd91ea114c86f3757077ea01e11fdd0d1934eda0492606ee0bb80a7bf8f35cc5f86ec60fe5031ba48bfd544");
    let envelope =
        <alloy_consensus::TxEnvelope as alloy_eips::eip2718::Decodable2718>::decode_2718_exact(
            &raw,
        )
        .unwrap();
    let alloy_consensus::TxEnvelope::Eip4844(signed) = &envelope else {
        panic!("not a blob transaction");
    };
    let from = recover(signed.signature_hash(), signed.signature());
    let got = pending_transaction_json(&raw).unwrap();
    assert_fields(
        &got,
        &json!({
            "blockHash": null, "blockNumber": null, "transactionIndex": null,
            "from": format!("{from:#x}"),
            "gas": "0x5208",
            "gasPrice": "0x2e90edd000",
            "maxFeePerGas": "0x2e90edd000",
            "maxPriorityFeePerGas": "0x77359400",
            "maxFeePerBlobGas": "0x4a817c800",
            "hash": "0x9a22ccb0029bc8b0ddd073be1a1d923b7ae2b2ea52100bae0db4424f9107e9c0",
            "input": "0x",
            "nonce": "0xfa2",
            "to": "0x11e9ca82a3a762b4b5bd264d4173a242e7a77064",
            "value": "0x0",
            "type": "0x3",
            "chainId": "0xaa36a7",
            "accessList": [],
            "blobVersionedHashes": [
                "0x012ec3d6f66766bedb002a190126b3549fce0047de0d4c25cffce0dc1c57921a",
                "0x0152d8e24762ff22b1cfd9f8c0683786a7ca63ba49973818b3d1e9512cd2cec4",
                "0x013b98c6c83e066d5b14af2b85199e3d4fc7d1e778dd53130d180f5077e2d1c7",
                "0x01148b495d6e859114e670ca54fb6e2657f0cbae5b08063605093a4b3dc9f8f1",
                "0x011ac212f13c5dff2b2c6b600a79635103d6f580a4221079951181b25c7e6549",
            ],
            "v": "0x1",
            "yParity": "0x1",
            "r": "0xc8de4cced43169f9aa3d36506363b2d2c44f6c49fc1fd91ea114c86f3757077e",
            "s": "0x1e11fdd0d1934eda0492606ee0bb80a7bf8f35cc5f86ec60fe5031ba48bfd544",
        }),
    );
}

#[test]
fn eip7702_signed_with_fixed_keys() {
    let auth = Authorization {
        chain_id: U256::from(1),
        address: Address::with_last_byte(0xaa),
        nonce: 7,
    };
    let a_sig = sign(auth.signature_hash(), 0x11);
    assert_eq!(recover(auth.signature_hash(), &a_sig), address_of_key(0x11));
    let signed_auth =
        SignedAuthorization::new_unchecked(auth, u8::from(a_sig.v()), a_sig.r(), a_sig.s());
    let tx = TxEip7702 {
        chain_id: 1,
        nonce: 3,
        gas_limit: 100_000,
        max_fee_per_gas: 30_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: Address::with_last_byte(0xbb),
        value: U256::from(5),
        access_list: AccessList::default(),
        authorization_list: vec![signed_auth],
        input: vec![0xde, 0xad].into(),
    };
    let sig = sign(tx.signature_hash(), 0x22);
    let raw = tx.into_signed(sig).encoded_2718();
    let got = pending_transaction_json(&raw).unwrap();
    let q = |u: U256| format!("{u:#x}");
    assert_fields(
        &got,
        &json!({
            "blockHash": null, "blockNumber": null, "transactionIndex": null,
            "from": format!("{:#x}", address_of_key(0x22)),
            "gas": "0x186a0",
            "gasPrice": "0x6fc23ac00",
            "maxFeePerGas": "0x6fc23ac00",
            "maxPriorityFeePerGas": "0x3b9aca00",
            "hash": format!("{}", keccak256(&raw)),
            "input": "0xdead",
            "nonce": "0x3",
            "to": "0x00000000000000000000000000000000000000bb",
            "value": "0x5",
            "type": "0x4",
            "chainId": "0x1",
            "accessList": [],
            "authorizationList": [{
                "chainId": "0x1",
                "address": "0x00000000000000000000000000000000000000aa",
                "nonce": "0x7",
                "yParity": format!("{:#x}", u8::from(a_sig.v())),
                "r": q(a_sig.r()),
                "s": q(a_sig.s()),
            }],
            "v": format!("{:#x}", u8::from(sig.v())),
            "yParity": format!("{:#x}", u8::from(sig.v())),
            "r": q(sig.r()),
            "s": q(sig.s()),
        }),
    );
}

#[test]
fn contract_creation_has_null_to_and_garbage_is_none() {
    let tx = alloy_consensus::TxLegacy {
        chain_id: None,
        nonce: 0,
        gas_price: 1,
        gas_limit: 53_000,
        to: TxKind::Create,
        value: U256::ZERO,
        input: vec![0x60, 0x00].into(),
    };
    let sig = sign(tx.signature_hash(), 0x33);
    let raw = tx.into_signed(sig).encoded_2718();
    let got = pending_transaction_json(&raw).unwrap();
    assert_eq!(got["to"], Value::Null);
    assert_eq!(got["from"], format!("{:#x}", address_of_key(0x33)));
    // Unprotected: v = 27 + parity, no chainId.
    assert_eq!(got["v"], format!("{:#x}", 27 + u8::from(sig.v())));
    assert!(got.get("chainId").is_none());
    assert!(got.get("yParity").is_none());
    for bad in [&[][..], &[0x02, 0xc0], &[0x05, 0x01], &raw[..raw.len() - 1]] {
        assert!(pending_transaction_json(bad).is_none(), "{bad:?}");
    }
}
