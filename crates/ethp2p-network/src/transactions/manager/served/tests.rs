use super::*;
use crate::transactions::decode::{decode_pooled, DecodeLimits};
use alloy_consensus::{SignableTransaction, TxLegacy};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Signature, TxKind, U256};
use bytes::Bytes;

/// A legacy transaction with nonce `nonce` and `data` bytes of input (the
/// signature is arbitrary: the cache never recovers senders).
fn tx(nonce: u64, data: usize) -> DecodedTx {
    let t = TxLegacy {
        chain_id: Some(1),
        nonce,
        gas_price: 1,
        gas_limit: 21_000,
        to: TxKind::Call(Default::default()),
        value: U256::ZERO,
        input: vec![0u8; data].into(),
    };
    let sig = Signature::new(U256::from(1), U256::from(2), false);
    let signed = t.into_signed(sig);
    let raw = Bytes::from(alloy_consensus::TxEnvelope::Legacy(signed).encoded_2718());
    decode_pooled(raw, &DecodeLimits::default()).unwrap()
}

#[test]
fn oldest_forgotten_at_the_entry_bound() {
    let mut c = ServedCache::new(2, usize::MAX, 1);
    let (a, b, d) = (tx(1, 0), tx(2, 0), tx(3, 0));
    assert!(c.insert(a.clone(), false));
    assert!(c.insert(b.clone(), true));
    assert!(!c.insert(b.clone(), true));
    assert!(c.insert(d.clone(), false));
    assert_eq!(c.len(), 2);
    assert!(!c.contains(&a.hash()));
    assert!(c.is_local(&b.hash()));
    assert_eq!(c.get(&d.hash()).map(DecodedTx::hash), Some(d.hash()));
}

#[test]
fn byte_bound_holds_and_oversized_are_not_kept() {
    let one = tx(1, 1000).size();
    let mut c = ServedCache::new(100, 2 * one + 10, 1);
    for n in 0..10 {
        c.insert(tx(n, 1000), false);
        assert!(c.bytes() <= 2 * one + 10);
    }
    assert_eq!(c.len(), 2);
    let big = tx(99, 5000);
    assert!(c.insert(big.clone(), false));
    assert!(!c.contains(&big.hash()));
    assert!(c.bytes() <= 2 * one + 10);
}
