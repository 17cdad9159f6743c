//! Secret keys from a seed: the same seed gives the same node id.

use ethp2p_rlpx::{generate_secret_key_with, SecretKey};
use rand::{rngs::StdRng, SeedableRng};

/// The secret key for `seed`.
pub fn secret_key(seed: u64) -> SecretKey {
    generate_secret_key_with(&mut StdRng::seed_from_u64(seed))
}
