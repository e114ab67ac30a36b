//! Where cached values live: a map from key hash to [`Bucket`], either a lock-free
//! hash map (fast reads) or sharded read-write-locked hash maps (less memory per item).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU8, Ordering};

use parking_lot::RwLock;

/// Bits of [`Bucket::state`] holding the S3-FIFO use count (0..=3).
const USES_MASK: u8 = 0b0000_0011;
const MAX_USES: u8 = 3;
/// Bits of [`Bucket::state`] holding reads not yet told to the frequency sketch (0..=15).
const PENDING_SHIFT: u32 = 2;
const MAX_PENDING: u8 = 15;

/// One cached value with its bookkeeping.
pub(crate) struct Bucket<T> {
    /// Which insertion this is: queue entries carry it, so an entry left behind by a
    /// removed (or removed and re-inserted) key is recognised as stale.
    pub(crate) id: u64,
    /// Use count and pending reads, packed so that a read changes one byte.
    state: AtomicU8,
    pub(crate) weight: u16,
    pub(crate) data: T,
}

/// What an eviction pass learns from a bucket at the head of a queue.
pub(crate) struct Examined {
    /// Whether the bucket was read since it was last examined.
    pub(crate) was_used: bool,
    /// Reads since the last examination, to be recorded in the frequency sketch.
    pub(crate) pending_reads: u8,
}

impl<T> Bucket<T> {
    pub(crate) fn new(id: u64, weight: u16, data: T) -> Self {
        Bucket {
            id,
            state: AtomicU8::new(0),
            weight,
            data,
        }
    }

    fn with_state(id: u64, state: u8, weight: u16, data: T) -> Self {
        Bucket {
            id,
            state: AtomicU8::new(state),
            weight,
            data,
        }
    }

    /// Notes one read. Once both counters saturate a read writes nothing, so hot
    /// items cost readers no cache-line traffic. The update is a plain store, not a
    /// read-modify-write: racing reads may count once for two, and a read racing an
    /// eviction pass may restore the count that pass just lowered. Both counters are
    /// estimates, and a locked instruction on every read costs more than that
    /// precision is worth.
    pub(crate) fn touch(&self) {
        let state = self.state.load(Ordering::Relaxed);
        let uses = (state & USES_MASK).saturating_add(1).min(MAX_USES);
        let pending = (state >> PENDING_SHIFT).saturating_add(1).min(MAX_PENDING);
        let next = uses | (pending << PENDING_SHIFT);
        if next != state {
            self.state.store(next, Ordering::Relaxed);
        }
    }

    /// Takes the pending reads and lowers the use count: by one in the main queue
    /// (the item gets another lap per recent use), to zero when leaving the small queue.
    pub(crate) fn examine(&self, in_small_queue: bool) -> Examined {
        let mut seen = 0;
        let _ = self
            .state
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |state| {
                seen = state;
                let uses = state & USES_MASK;
                Some(if in_small_queue {
                    0
                } else {
                    uses.saturating_sub(1)
                })
            });
        Examined {
            was_used: seen & USES_MASK > 0,
            pending_reads: seen >> PENDING_SHIFT,
        }
    }
}

/// A hasher for keys that already are well-mixed 64-bit hashes.
#[derive(Default, Clone, Copy)]
pub(crate) struct PassThroughHasher(u64);

impl Hasher for PassThroughHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `u64` keys are stored; fold anything else in rather than lose it.
        for byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

type PassThrough = BuildHasherDefault<PassThroughHasher>;

/// Items per shard the sharded layout aims for.
const ITEMS_PER_SHARD: usize = 96;
type Shard<T> = RwLock<HashMap<u64, Bucket<T>, PassThrough>>;

/// The map of buckets, in one of two layouts.
pub(crate) enum Store<T> {
    /// A lock-free map: reads never block and never write shared memory, but each
    /// entry is its own heap allocation with reclamation bookkeeping.
    LockFree(scc::HashIndex<u64, Bucket<T>, PassThrough>),
    /// Buckets stored inline in ordinary hash maps, one read-write lock per shard:
    /// fewer bytes per item, while a read takes a shared lock.
    Sharded(Box<[Shard<T>]>),
}

impl<T: Clone + Send + Sync + 'static> Store<T> {
    pub(crate) fn lock_free(estimated_size: usize) -> Self {
        Store::LockFree(scc::HashIndex::with_capacity_and_hasher(
            estimated_size,
            PassThrough::default(),
        ))
    }

    pub(crate) fn sharded(estimated_size: usize) -> Self {
        // Hash tables have power-of-two slot counts and grow past 7/8 full: about 96
        // items a shard fills 128 slots well while leaving room for uneven spread.
        let shards = estimated_size.div_ceil(ITEMS_PER_SHARD).max(1);
        let per_shard = estimated_size.div_ceil(shards);
        Store::Sharded(
            (0..shards)
                .map(|_| {
                    RwLock::new(HashMap::with_capacity_and_hasher(
                        per_shard,
                        PassThrough::default(),
                    ))
                })
                .collect(),
        )
    }

    /// The shard holding `hash`. Bits 32.. pick it: the maps inside use the low
    /// bits for the slot and the top bits for the tag.
    fn shard(shards: &[Shard<T>], hash: u64) -> &Shard<T> {
        &shards[(hash >> 32) as usize % shards.len()]
    }

    /// The value under `hash`, noting the read.
    pub(crate) fn get(&self, hash: u64) -> Option<T> {
        match self {
            Store::LockFree(map) => map.peek_with(&hash, |_, bucket| {
                bucket.touch();
                bucket.data.clone()
            }),
            Store::Sharded(shards) => Self::shard(shards, hash).read().get(&hash).map(|bucket| {
                bucket.touch();
                bucket.data.clone()
            }),
        }
    }

    /// Runs `inspect` on the bucket under `hash` if it is insertion `id`.
    pub(crate) fn inspect<R>(
        &self,
        hash: u64,
        id: u64,
        inspect: impl FnOnce(&Bucket<T>) -> R,
    ) -> Option<R> {
        match self {
            Store::LockFree(map) => map
                .peek_with(&hash, |_, b| (b.id == id).then(|| inspect(b)))
                .flatten(),
            Store::Sharded(shards) => Self::shard(shards, hash)
                .read()
                .get(&hash)
                .filter(|b| b.id == id)
                .map(inspect),
        }
    }

    /// Replaces the value and weight of an existing key, keeping its place in the
    /// queues and noting a use. Returns the old weight, or `None` if the key is absent.
    pub(crate) fn update(&self, hash: u64, data: &T, weight: u16) -> Option<u16> {
        match self {
            Store::LockFree(map) => {
                let mut entry = map.get_sync(&hash)?;
                let old = entry.get();
                let old_weight = old.weight;
                let bucket = Bucket::with_state(
                    old.id,
                    old.state.load(Ordering::Relaxed),
                    weight,
                    data.clone(),
                );
                bucket.touch();
                entry.update(bucket);
                Some(old_weight)
            }
            Store::Sharded(shards) => {
                let mut shard = Self::shard(shards, hash).write();
                let bucket = shard.get_mut(&hash)?;
                let old_weight = std::mem::replace(&mut bucket.weight, weight);
                bucket.data = data.clone();
                bucket.touch();
                Some(old_weight)
            }
        }
    }

    /// Inserts a new bucket. Returns the weight of a bucket it displaced (another
    /// writer inserted the same key at the same time).
    pub(crate) fn insert(&self, hash: u64, bucket: Bucket<T>) -> Option<u16> {
        match self {
            Store::LockFree(map) => match map.entry_sync(hash) {
                scc::hash_index::Entry::Occupied(mut entry) => {
                    let old_weight = entry.get().weight;
                    entry.update(bucket);
                    Some(old_weight)
                }
                scc::hash_index::Entry::Vacant(entry) => {
                    entry.insert_entry(bucket);
                    None
                }
            },
            Store::Sharded(shards) => Self::shard(shards, hash)
                .write()
                .insert(hash, bucket)
                .map(|old| old.weight),
        }
    }

    /// Removes the key, returning its value and weight.
    pub(crate) fn remove(&self, hash: u64) -> Option<(T, u16)> {
        match self {
            Store::LockFree(map) => {
                let entry = map.get_sync(&hash)?;
                let removed = (entry.get().data.clone(), entry.get().weight);
                entry.remove_entry();
                Some(removed)
            }
            Store::Sharded(shards) => Self::shard(shards, hash)
                .write()
                .remove(&hash)
                .map(|b| (b.data, b.weight)),
        }
    }

    /// Removes the key only if it still is insertion `id`.
    pub(crate) fn remove_insertion(&self, hash: u64, id: u64) -> Option<(T, u16)> {
        match self {
            Store::LockFree(map) => {
                let entry = map.get_sync(&hash).filter(|e| e.get().id == id)?;
                let removed = (entry.get().data.clone(), entry.get().weight);
                entry.remove_entry();
                Some(removed)
            }
            Store::Sharded(shards) => {
                let mut shard = Self::shard(shards, hash).write();
                if shard.get(&hash).is_some_and(|b| b.id == id) {
                    shard.remove(&hash).map(|b| (b.data, b.weight))
                } else {
                    None
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both() -> [Store<u32>; 2] {
        [Store::lock_free(100), Store::sharded(100)]
    }

    #[test]
    fn insert_get_update_remove_round_trip() {
        for store in both() {
            assert_eq!(store.insert(5, Bucket::new(1, 2, 50)), None);
            assert_eq!(store.get(5), Some(50));
            assert_eq!(store.update(5, &51, 3), Some(2));
            assert_eq!(store.get(5), Some(51));
            assert_eq!(store.inspect(5, 1, |b| b.weight), Some(3));
            assert_eq!(store.update(6, &1, 1), None);
            assert_eq!(store.remove(5), Some((51, 3)));
            assert_eq!(store.get(5), None);
        }
    }

    #[test]
    fn remove_insertion_ignores_other_insertions() {
        for store in both() {
            store.insert(9, Bucket::new(7, 1, 90));
            assert_eq!(store.remove_insertion(9, 6), None);
            assert_eq!(store.inspect(9, 6, |_| ()), None);
            assert_eq!(store.remove_insertion(9, 7), Some((90, 1)));
        }
    }

    #[test]
    fn examine_reports_and_consumes_reads() {
        let bucket = Bucket::new(1, 1, ());
        let fresh = bucket.examine(false);
        assert!(!fresh.was_used);
        for _ in 0..20 {
            bucket.touch();
        }
        let read = bucket.examine(false);
        assert!(read.was_used);
        assert_eq!(read.pending_reads, MAX_PENDING);
        // Two more laps in the main queue remain, then none.
        assert!(bucket.examine(false).was_used);
        assert!(bucket.examine(false).was_used);
        assert!(!bucket.examine(false).was_used);
        bucket.touch();
        assert!(bucket.examine(true).was_used);
        assert!(!bucket.examine(true).was_used);
    }
}
