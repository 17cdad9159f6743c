//! A pending transaction as go-ethereum's JSON-RPC shows it
//! (`RPCTransaction`, what `eth_subscribe("newPendingTransactions", true)`
//! sends), built from its EIP-2718 bytes.
//!
//! | field | legacy | 2930 | 1559 | 4844 | 7702 |
//! |---|---|---|---|---|---|
//! | `blockHash`, `blockNumber`, `transactionIndex` | null | null | null | null | null |
//! | `from` (recovered), `gas`, `gasPrice`, `hash`, `input`, `nonce`, `to`, `value`, `type`, `v`, `r`, `s` | ✓ | ✓ | ✓ | ✓ | ✓ |
//! | `chainId` | when EIP-155 protected | ✓ | ✓ | ✓ | ✓ |
//! | `accessList`, `yParity` | | ✓ | ✓ | ✓ | ✓ |
//! | `maxFeePerGas`, `maxPriorityFeePerGas` | | | ✓ | ✓ | ✓ |
//! | `maxFeePerBlobGas`, `blobVersionedHashes` | | | | ✓ | |
//! | `authorizationList` | | | | | ✓ |
//!
//! As geth does for a transaction outside a block, `gasPrice` of a
//! dynamic-fee transaction is its `maxFeePerGas`; `v` of a typed transaction
//! is its y parity, of a legacy one `27 + parity` or, EIP-155,
//! `chainId * 2 + 35 + parity`. Quantities are hex without leading zeros;
//! `to` is null for a contract creation. A blob transaction's sidecar is not
//! shown.

use alloy_consensus::{transaction::SignerRecoverable, Transaction, TxEnvelope};
use alloy_eips::eip2718::{Decodable2718, Typed2718};
use alloy_primitives::{Signature, U256};
use ethp2p_network::transactions::decode::PooledTx;
use serde_json::{json, Map, Value};

/// geth's `RPCTransaction` of the transaction whose EIP-2718 bytes are `raw`
/// (a blob transaction with or without its sidecar); `None` if the bytes do
/// not decode or the signature recovers no sender.
pub(crate) fn pending_transaction_json(raw: &[u8]) -> Option<Value> {
    if let Ok(tx) = PooledTx::decode_2718_exact(raw) {
        let from = tx.recover_signer().ok()?;
        return Some(shape(&tx, *tx.tx_hash(), *tx.signature(), from));
    }
    let tx = TxEnvelope::decode_2718_exact(raw).ok()?;
    let from = tx.recover_signer().ok()?;
    Some(shape(&tx, *tx.tx_hash(), *tx.signature(), from))
}

fn q64(n: u64) -> Value {
    Value::String(format!("{n:#x}"))
}

fn q128(n: u128) -> Value {
    Value::String(format!("{n:#x}"))
}

fn q256(n: U256) -> Value {
    Value::String(format!("{n:#x}"))
}

fn shape<T: Transaction + Typed2718>(
    tx: &T,
    hash: alloy_primitives::B256,
    sig: Signature,
    from: alloy_primitives::Address,
) -> Value {
    let ty = tx.ty();
    let parity = u64::from(sig.v());
    let mut m = Map::new();
    m.insert("blockHash".into(), Value::Null);
    m.insert("blockNumber".into(), Value::Null);
    m.insert("transactionIndex".into(), Value::Null);
    m.insert("from".into(), json!(from));
    m.insert("gas".into(), q64(tx.gas_limit()));
    // Outside a block geth shows a dynamic-fee transaction's fee cap.
    m.insert(
        "gasPrice".into(),
        q128(tx.gas_price().unwrap_or_else(|| tx.max_fee_per_gas())),
    );
    m.insert("hash".into(), json!(hash));
    m.insert("input".into(), json!(tx.input()));
    m.insert("nonce".into(), q64(tx.nonce()));
    m.insert("to".into(), tx.to().map_or(Value::Null, |a| json!(a)));
    m.insert("value".into(), q256(tx.value()));
    m.insert("type".into(), q64(u64::from(ty)));
    if ty == 0 {
        let v = match tx.chain_id() {
            Some(c) => U256::from(c) * U256::from(2) + U256::from(35 + parity),
            None => U256::from(27 + parity),
        };
        if let Some(c) = tx.chain_id() {
            m.insert("chainId".into(), q64(c));
        }
        m.insert("v".into(), q256(v));
    } else {
        if let Some(c) = tx.chain_id() {
            m.insert("chainId".into(), q64(c));
        }
        m.insert("v".into(), q64(parity));
        m.insert("yParity".into(), q64(parity));
        let list: Vec<Value> = tx
            .access_list()
            .map(|l| {
                l.iter()
                    .map(|item| json!({"address": item.address, "storageKeys": item.storage_keys}))
                    .collect()
            })
            .unwrap_or_default();
        m.insert("accessList".into(), Value::Array(list));
    }
    m.insert("r".into(), q256(sig.r()));
    m.insert("s".into(), q256(sig.s()));
    if ty >= 2 {
        m.insert("maxFeePerGas".into(), q128(tx.max_fee_per_gas()));
        m.insert(
            "maxPriorityFeePerGas".into(),
            q128(tx.max_priority_fee_per_gas().unwrap_or_default()),
        );
    }
    if let Some(fee) = tx.max_fee_per_blob_gas() {
        m.insert("maxFeePerBlobGas".into(), q128(fee));
    }
    if let Some(hashes) = tx.blob_versioned_hashes() {
        m.insert("blobVersionedHashes".into(), json!(hashes));
    }
    if let Some(auths) = tx.authorization_list() {
        let list: Vec<Value> = auths
            .iter()
            .map(|a| {
                json!({
                    "chainId": q256(*a.chain_id()),
                    "address": a.address(),
                    "nonce": q64(a.nonce()),
                    "yParity": q64(u64::from(a.y_parity())),
                    "r": q256(a.r()),
                    "s": q256(a.s()),
                })
            })
            .collect();
        m.insert("authorizationList".into(), Value::Array(list));
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests;
