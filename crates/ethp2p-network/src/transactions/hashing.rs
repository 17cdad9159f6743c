//! Hash maps and sets keyed by values a peer chooses (transaction hashes),
//! hashed with a seeded hasher so that a peer cannot aim for collisions
//! without knowing the seed, and iteration order is reproducible for a seed.

/// A `HashSet` with a per-process random seed, for short-lived sets that are
/// never iterated.
pub(crate) type HashSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;
