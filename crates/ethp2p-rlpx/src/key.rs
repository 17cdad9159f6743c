//! Node identities: secp256k1 keys and the 64-byte `PeerId`.

use alloy_primitives::B512;
use rand::RngCore;
use secp256k1::{All, PublicKey, Secp256k1, SecretKey};

/// A node's identity on the wire: its uncompressed secp256k1 public key without
/// the `0x04` prefix (64 bytes).
pub type PeerId = B512;

thread_local! {
    /// A signing context per thread, randomized once (side-channel blinding)
    /// so that no call pays the re-randomization cost.
    static CONTEXT: Secp256k1<All> = {
        let mut ctx = Secp256k1::new();
        let mut seed = [0u8; 32];
        rand::rng().fill_bytes(&mut seed);
        ctx.seeded_randomize(&seed);
        ctx
    };
}

/// Runs `f` with this thread's secp256k1 context.
pub(crate) fn with_context<R>(f: impl FnOnce(&Secp256k1<All>) -> R) -> R {
    CONTEXT.with(f)
}

/// Generates a new random secret key.
pub fn generate_secret_key() -> SecretKey {
    generate_secret_key_with(&mut rand::rng())
}

/// Generates a secret key from `rng` (seed it for reproducible tests).
pub fn generate_secret_key_with(rng: &mut dyn RngCore) -> SecretKey {
    loop {
        let mut bytes = [0u8; 32];
        rng.fill_bytes(&mut bytes);
        // The chance of an invalid scalar is ~2^-128; loop anyway.
        if let Ok(key) = SecretKey::from_byte_array(bytes) {
            return key;
        }
    }
}

/// The public key of `secret`.
pub fn public_key(secret: &SecretKey) -> PublicKey {
    with_context(|ctx| PublicKey::from_secret_key(ctx, secret))
}

/// The `PeerId` of a public key.
pub fn peer_id_from_public_key(key: &PublicKey) -> PeerId {
    let full = key.serialize_uncompressed();
    PeerId::from_slice(&full[1..])
}

thread_local! {
    /// The last secret key whose id was computed, and that id: a node dials
    /// with the same key every time, so its id is derived once, not per dial.
    static LAST_ID: std::cell::Cell<Option<([u8; 32], PeerId)>> = const { std::cell::Cell::new(None) };
}

/// The `PeerId` of a secret key.
pub fn peer_id_from_secret_key(secret: &SecretKey) -> PeerId {
    let bytes = secret.secret_bytes();
    if let Some((k, id)) = LAST_ID.with(|c| c.get()) {
        if k == bytes {
            return id;
        }
    }
    let id = peer_id_from_public_key(&public_key(secret));
    LAST_ID.with(|c| c.set(Some((bytes, id))));
    id
}

/// Parses a `PeerId` back into a public key; fails if it is not on the curve.
pub fn public_key_from_peer_id(id: &PeerId) -> Result<PublicKey, secp256k1::Error> {
    let mut full = [0u8; 65];
    full[0] = 4;
    full[1..].copy_from_slice(id.as_slice());
    PublicKey::from_byte_array_uncompressed(full)
}

/// The x coordinate of `secret * public`: the ECDH agreement RLPx uses (unhashed).
pub(crate) fn ecdh_x(public: &PublicKey, secret: &SecretKey) -> [u8; 32] {
    let point = secp256k1::ecdh::shared_secret_point(public, secret);
    let mut x = [0u8; 32];
    x.copy_from_slice(&point[..32]);
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_id_round_trips_through_public_key() {
        let sk = generate_secret_key();
        let id = peer_id_from_secret_key(&sk);
        let pk = public_key_from_peer_id(&id).unwrap();
        assert_eq!(pk, public_key(&sk));
    }

    #[test]
    fn invalid_peer_id_is_rejected() {
        assert!(public_key_from_peer_id(&PeerId::ZERO).is_err());
    }

    #[test]
    fn ecdh_agrees_both_ways() {
        let a = generate_secret_key();
        let b = generate_secret_key();
        assert_eq!(ecdh_x(&public_key(&b), &a), ecdh_x(&public_key(&a), &b));
    }
}

/// A node's id as geth prints it (`admin_peers` `id`, enode ids in logs):
/// keccak256 of the 64-byte public key, in lowercase hex without `0x`.
/// ethp2p prints peers this way everywhere (logs, RPC, events), so an id
/// taken from `admin_peers` can be searched for in the logs.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub alloy_primitives::B256);

impl NodeId {
    /// The id of `peer`.
    pub fn of(peer: &PeerId) -> Self {
        Self(alloy_primitives::keccak256(peer.as_slice()))
    }
}

impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for b in self.0.as_slice() {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl std::fmt::Debug for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// Shorthand for [`NodeId::of`]: `tracing::info!(peer = %node_id(&id))`.
pub fn node_id(peer: &PeerId) -> NodeId {
    NodeId::of(peer)
}
