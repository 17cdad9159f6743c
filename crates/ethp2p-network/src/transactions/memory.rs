//! Estimates of the bytes a collection's allocation holds, from its capacity.

/// Bytes of a SwissTable (`std` / `hashbrown` map or set) whose reported
/// capacity is `capacity`, holding elements of type `T`: one slot of
/// `size_of::<T>()` and one control byte per bucket, plus a group of trailing
/// control bytes. Buckets are a power of two at most 7/8 full.
pub(crate) fn table_bytes<T>(capacity: usize) -> usize {
    if capacity == 0 {
        return 0;
    }
    let buckets = if capacity < 8 {
        (capacity + 1).next_power_of_two()
    } else {
        (capacity * 8 / 7).next_power_of_two()
    };
    buckets * (size_of::<T>() + 1) + 16
}
