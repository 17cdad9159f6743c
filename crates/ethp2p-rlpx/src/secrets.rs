//! The secrets both sides derive from a completed handshake.

use crate::key::PeerId;
use alloy_primitives::{Keccak256, B256};

/// Session secrets of one side of an RLPx connection.
///
/// `aes` keys AES-256-CTR for frames (both directions, IV zero); `mac` keys the
/// AES block used by the frame MAC; `egress_mac` / `ingress_mac` are the
/// Keccak-256 states seeded as the spec describes.
#[derive(Clone)]
pub struct Secrets {
    /// The remote node's identity, as proven by the handshake.
    pub remote_id: PeerId,
    /// aes-secret.
    pub aes: B256,
    /// mac-secret.
    pub mac: B256,
    /// Keccak state for frames we send.
    pub egress_mac: Keccak256,
    /// Keccak state for frames we receive.
    pub ingress_mac: Keccak256,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("Secrets")
            .field("remote_id", &self.remote_id)
            .finish_non_exhaustive()
    }
}

/// Inputs of the secret derivation, named from the point of view of one side.
pub(crate) struct SecretInputs<'a> {
    pub remote_id: PeerId,
    /// ECDH x of our ephemeral key and the remote's ephemeral key.
    pub ephemeral_shared: [u8; 32],
    pub initiator_nonce: &'a B256,
    pub recipient_nonce: &'a B256,
    /// The auth message exactly as it crossed the wire (with its size prefix, if EIP-8).
    pub auth: &'a [u8],
    /// The ack message exactly as it crossed the wire.
    pub ack: &'a [u8],
    pub we_are_initiator: bool,
}

impl Secrets {
    pub(crate) fn derive(i: SecretInputs<'_>) -> Self {
        let h2 = |a: &[u8], b: &[u8]| {
            let mut h = Keccak256::new();
            h.update(a);
            h.update(b);
            h.finalize()
        };
        let nonce_hash = h2(i.recipient_nonce.as_slice(), i.initiator_nonce.as_slice());
        let shared = h2(&i.ephemeral_shared, nonce_hash.as_slice());
        let aes = h2(&i.ephemeral_shared, shared.as_slice());
        let mac = h2(&i.ephemeral_shared, aes.as_slice());

        let seeded = |nonce: &B256, msg: &[u8]| {
            let mut h = Keccak256::new();
            h.update((mac ^ *nonce).as_slice());
            h.update(msg);
            h
        };
        // Initiator: egress = (mac ^ recipient-nonce) || auth; ingress = (mac ^ initiator-nonce) || ack.
        let (egress_mac, ingress_mac) = if i.we_are_initiator {
            (
                seeded(i.recipient_nonce, i.auth),
                seeded(i.initiator_nonce, i.ack),
            )
        } else {
            (
                seeded(i.initiator_nonce, i.ack),
                seeded(i.recipient_nonce, i.auth),
            )
        };
        Secrets {
            remote_id: i.remote_id,
            aes,
            mac,
            egress_mac,
            ingress_mac,
        }
    }
}
