//! Hash maps and sets keyed by values a peer chooses (transaction hashes,
//! peer ids), hashed with a seeded hasher so that a peer cannot aim for
//! collisions without knowing the seed, and iteration order is reproducible
//! for a seed.

/// The seedable hasher every long-lived map of this module uses (foldhash).
pub(crate) type SeededState = foldhash::fast::FixedState;

/// A `HashMap` with [`SeededState`].
pub(crate) type HashMap<K, V> = std::collections::HashMap<K, V, SeededState>;

/// A `HashSet` with a per-process random seed, for short-lived sets that are
/// never iterated.
pub(crate) type HashSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

/// The hasher state for `seed`.
pub(crate) const fn seeded(seed: u64) -> SeededState {
    SeededState::with_seed(seed)
}
