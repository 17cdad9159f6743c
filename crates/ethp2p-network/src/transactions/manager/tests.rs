use super::*;
use crate::transactions::decode::DecodeLimits;
use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope, TxLegacy};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Signature, TxKind, U256};

fn sig() -> Signature {
    Signature::new(U256::from(1), U256::from(2), false)
}

fn legacy() -> Bytes {
    let t = TxLegacy {
        chain_id: Some(1),
        gas_limit: 21_000,
        to: TxKind::Call(Default::default()),
        ..Default::default()
    };
    Bytes::from(TxEnvelope::Legacy(t.into_signed(sig())).encoded_2718())
}

fn eip1559() -> Bytes {
    let t = TxEip1559 {
        chain_id: 1,
        gas_limit: 21_000,
        to: TxKind::Call(Default::default()),
        ..Default::default()
    };
    Bytes::from(TxEnvelope::Eip1559(t.into_signed(sig())).encoded_2718())
}

#[test]
fn raw_bytes_become_the_network_item_and_decode() {
    let limits = DecodeLimits::default();
    for raw in [legacy(), eip1559()] {
        let tx = decode_pooled(as_rlp_item(raw.clone()), &limits).unwrap();
        assert_eq!(tx.raw(), &raw);
    }
    // A typed transaction handed over unwrapped is not a valid RLP item by itself.
    assert!(decode_pooled(eip1559(), &limits).is_err());
}

#[test]
fn announcement_follows_the_version_shape() {
    let limits = DecodeLimits::default();
    let txs = [
        decode_pooled(as_rlp_item(legacy()), &limits).unwrap(),
        decode_pooled(as_rlp_item(eip1559()), &limits).unwrap(),
    ];
    for v in [
        EthVersion::Eth66,
        EthVersion::Eth67,
        EthVersion::Eth68,
        EthVersion::Eth69,
        EthVersion::Eth70,
        EthVersion::Eth71,
        EthVersion::Eth72,
    ] {
        let a = announcement(txs.iter(), v);
        assert!(a.is_shape_of(v), "{v:?}");
        assert_eq!(a.hashes(), &[txs[0].hash(), txs[1].hash()]);
        if let Some(types) = a.types() {
            assert_eq!(types, &[0, 2]);
            assert_eq!(
                a.sizes().unwrap(),
                &[txs[0].size() as u64, txs[1].size() as u64]
            );
        }
        let checked = check_announcement(&a, v, Default::default(), &limits);
        assert_eq!(checked.bad, None, "{v:?}");
        assert_eq!(checked.accepted.len(), 2);
    }
}
