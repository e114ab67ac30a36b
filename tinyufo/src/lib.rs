//! A concurrent in-memory cache that decides what to keep with the TinyUFO policy.
//!
//! TinyUFO joins two ideas:
//! - **S3-FIFO eviction.** New items enter a *small* FIFO queue (10 % of the weight). An
//!   item read while there moves to the *main* queue when it reaches the head; one never
//!   read is evicted, and its key hash joins a *ghost* set that remembers about as many
//!   such evictions as the cache holds items. A key put again while its ghost is
//!   remembered goes straight into the main queue. The main queue is a FIFO where an
//!   item that was read since its last lap goes round again (up to three laps of credit).
//! - **TinyLFU admission.** A count-min sketch estimates how often every key was asked
//!   for recently, resident or not. When the cache is full, a new item gets in only if
//!   it was wanted more often than the item it would displace; a ghost hit must win
//!   admission too, and only then skips the small queue. A scan of one-time keys
//!   therefore cannot flush a hot working set.
//!
//! Items have a weight (`put(key, value, weight)`); the sum of the weights stays within
//! the limit given to [`TinyUfo::new`]. Reads take no lock: [`TinyUfo::new`] stores items
//! in a lock-free hash map and a read only bumps a counter inside the item.
//! [`TinyUfo::new_compact`] stores them inline in sharded hash maps under read-write
//! locks, which needs fewer bytes per item at some cost in read speed. Writes evict
//! through lock-free queues and never serialise the whole cache. While puts run
//! concurrently the total weight may briefly exceed the limit by the weight of the
//! puts in flight; each put evicts until the total is back within the limit.
//!
//! ```
//! use tinyufo::TinyUfo;
//!
//! // Room for a total weight of 3; about 3 items expected.
//! let cache = TinyUfo::new(3, 3);
//! for (key, value) in [("a", 1), ("b", 2), ("c", 3)] {
//!     assert!(cache.put(key, value, 1).is_empty());
//! }
//! assert_eq!(cache.get(&"a"), Some(1));
//!
//! // The cache is full: a newcomer seen once is not more popular than anything
//! // resident, so it is turned away and handed back.
//! let rejected = cache.put("d", 4, 1);
//! assert_eq!(rejected.len(), 1);
//! assert_eq!(rejected[0].data, 4);
//! assert_eq!(cache.get(&"d"), None);
//!
//! // `force_put` skips admission and evicts instead.
//! let evicted = cache.force_put("d", 4, 1);
//! assert_eq!(evicted.len(), 1);
//! assert_eq!(cache.get(&"d"), Some(4));
//! assert_eq!(cache.remove(&"d"), Some(4));
//! ```
//!
//! Keys are stored as 64-bit hashes (see [`KV::key`]); two keys whose hashes collide
//! share one slot. The hasher is seeded per cache.
//!
//! This crate has no Cargo features.

#![warn(missing_docs, unreachable_pub)]

mod ghost;
mod queues;
mod sketch;
mod store;

use std::hash::Hash;
use std::marker::PhantomData;

use ghost::GhostSet;
use queues::{Queue, QueueEntry, Queues};
use sketch::FrequencySketch;
use store::{Bucket, Store};

/// An item that left the cache (or was never let in), as returned by
/// [`TinyUfo::put`] and [`TinyUfo::force_put`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KV<T> {
    /// The hash the cache stored the item's key as.
    pub key: u64,
    /// The item's value.
    pub data: T,
    /// The item's weight.
    pub weight: u16,
}

/// A concurrent cache with S3-FIFO eviction and TinyLFU admission.
///
/// `K` is only hashed; the cache keeps the hash, not the key. `T` is cloned out on
/// every read, so it is usually small or an `Arc`.
pub struct TinyUfo<K, T> {
    hasher: ahash::RandomState,
    store: Store<T>,
    sketch: FrequencySketch,
    queues: Queues,
    /// Keys evicted from the small queue unread, remembered for about as many
    /// evictions as the cache holds items.
    ghost: GhostSet,
    // `fn(K)`: the cache owns no `K`, so its Send/Sync do not depend on `K`.
    _key: PhantomData<fn(K)>,
}

/// An entry taken off a queue that the eviction pass chose to evict.
struct Victim {
    queue: Queue,
    entry: QueueEntry,
}

impl<K: Hash, T: Clone + Send + Sync + 'static> TinyUfo<K, T> {
    /// A cache whose items' weights add up to at most `total_weight_limit`, sized
    /// for about `estimated_size` items. Reads are lock-free.
    pub fn new(total_weight_limit: usize, estimated_size: usize) -> Self {
        Self::with_store(
            total_weight_limit,
            estimated_size,
            Store::lock_free(estimated_size),
        )
    }

    /// Like [`TinyUfo::new`], but items are stored inline in sharded hash maps under
    /// read-write locks: fewer bytes per item, slower reads under contention.
    pub fn new_compact(total_weight_limit: usize, estimated_size: usize) -> Self {
        Self::with_store(
            total_weight_limit,
            estimated_size,
            Store::sharded(estimated_size),
        )
    }

    fn with_store(total_weight_limit: usize, estimated_size: usize, store: Store<T>) -> Self {
        TinyUfo {
            hasher: ahash::RandomState::new(),
            store,
            sketch: FrequencySketch::new(estimated_size),
            queues: Queues::new(total_weight_limit),
            ghost: GhostSet::new(estimated_size),
            _key: PhantomData,
        }
    }

    fn hash(&self, key: &K) -> u64 {
        self.hasher.hash_one(key)
    }

    /// A clone of the value cached under `key`, if any. Counts as a use of the item.
    pub fn get(&self, key: &K) -> Option<T> {
        self.store.get(self.hash(key))
    }

    /// Caches `data` under `key` with the given weight and returns what left the
    /// cache to make room.
    ///
    /// If `key` is cached already, its value and weight are replaced. Otherwise the
    /// new item must win admission: when the cache is full it is let in only if its
    /// key was asked for more often than each item it would evict. A rejected item
    /// is returned in the list (its [`KV::key`] is the hash of `key`); so is an item
    /// heavier than the whole cache. An admitted key that was recently evicted from
    /// the small queue unread enters the main queue directly.
    pub fn put(&self, key: K, data: T, weight: u16) -> Vec<KV<T>> {
        self.insert(self.hash(&key), data, weight, false)
    }

    /// Like [`TinyUfo::put`], but the new item skips admission: it always gets in
    /// (unless heavier than the whole cache) and whatever must go is evicted. Which
    /// queue it enters is decided as for `put`.
    pub fn force_put(&self, key: K, data: T, weight: u16) -> Vec<KV<T>> {
        self.insert(self.hash(&key), data, weight, true)
    }

    /// Removes `key`, returning its value if it was cached.
    pub fn remove(&self, key: &K) -> Option<T> {
        let (data, weight) = self.store.remove(self.hash(key))?;
        self.queues.release(weight);
        Some(data)
    }

    fn insert(&self, key: u64, data: T, weight: u16, force: bool) -> Vec<KV<T>> {
        let mut evicted = Vec::new();
        // The update counts as a use of the item (like a read), which reaches the
        // frequency sketch when an eviction pass next examines it.
        if let Some(old_weight) = self.store.update(key, &data, weight) {
            self.queues.reserve(weight);
            self.queues.release(old_weight);
            while self.queues.over_limit() {
                let Some(victim) = self.next_victim() else {
                    break;
                };
                evicted.extend(self.evict(victim));
            }
            return evicted;
        }

        let frequency = self.sketch.record(key, 1);
        if usize::from(weight) > self.queues.limit() {
            evicted.push(KV { key, data, weight });
            return evicted;
        }
        // A key evicted from the small queue unread and asked for again within about
        // a cache's worth of evictions has shown it is wanted beyond the small queue's
        // short window: if admitted, it skips the small queue.
        let ghost_hit = self.ghost.contains(key);
        // Reserve first, so that concurrent puts each make room for their own weight.
        self.queues.reserve(weight);
        while self.queues.over_limit() {
            let Some(victim) = self.next_victim() else {
                // Only weight of puts still in progress is left to evict.
                break;
            };
            // A ghost hit still has to win admission: the ghost set knows one bit
            // (asked for twice lately), the sketch how often, and a resident asked
            // for more often should not make way for it.
            if !force && frequency <= self.sketch.estimate(victim.entry.key) {
                // The resident is at least as popular: it stays, the newcomer goes.
                self.queues.push(victim.queue, victim.entry);
                self.queues.release(weight);
                evicted.push(KV { key, data, weight });
                return evicted;
            }
            evicted.extend(self.evict(victim));
        }

        let entry = self.queues.new_entry(key, weight);
        if let Some(displaced_weight) = self
            .store
            .insert(key, Bucket::new(entry.id(), weight, data))
        {
            // Another put of the same key won the race; its queue entry is now stale.
            self.queues.release(displaced_weight);
        }
        if ghost_hit {
            self.ghost.remove(key);
            self.queues.push(Queue::Main, entry);
        } else {
            self.queues.push(Queue::Small, entry);
        }
        evicted
    }

    /// Walks the queues until S3-FIFO picks an item to evict, promoting items read
    /// in the small queue and giving items read in the main queue another lap.
    /// `None` when the queues are empty.
    fn next_victim(&self) -> Option<Victim> {
        // Readers could keep every item busy forever; after a couple of full laps
        // the head is taken regardless.
        let mut laps_left = self.queues.len().saturating_mul(4).max(16);
        loop {
            let (queue, entry) = self.queues.pop()?;
            let Some(examined) = self.store.inspect(entry.key, entry.id(), |bucket| {
                bucket.examine(queue == Queue::Small)
            }) else {
                // Removed or replaced since it was queued.
                continue;
            };
            self.sketch.record(entry.key, examined.pending_reads);
            laps_left -= 1;
            if !examined.was_used || laps_left == 0 {
                return Some(Victim { queue, entry });
            }
            self.queues.push(Queue::Main, entry);
        }
    }

    fn evict(&self, victim: Victim) -> Option<KV<T>> {
        let key = victim.entry.key;
        // `None`: a concurrent `remove` took it first and released its weight.
        let (data, weight) = self.store.remove_insertion(key, victim.entry.id())?;
        self.queues.release(weight);
        if victim.queue == Queue::Small {
            // Left the small queue without earning promotion: remember it, so that
            // a second chance soon after lands it in the main queue.
            self.ghost.insert(key);
        }
        Some(KV { key, data, weight })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both(limit: usize) -> [TinyUfo<u64, u64>; 2] {
        [
            TinyUfo::new(limit, limit),
            TinyUfo::new_compact(limit, limit),
        ]
    }

    #[test]
    fn put_then_get_returns_the_value() {
        for cache in both(10) {
            assert!(cache.put(1, 100, 1).is_empty());
            assert_eq!(cache.get(&1), Some(100));
            assert_eq!(cache.get(&2), None);
        }
    }

    #[test]
    fn put_on_a_cached_key_replaces_value_and_weight() {
        for cache in both(10) {
            cache.put(1, 100, 2);
            assert!(cache.put(1, 101, 5).is_empty());
            assert_eq!(cache.get(&1), Some(101));
            assert_eq!(cache.queues.total_weight(), 5);
        }
    }

    #[test]
    fn weight_limit_holds_after_every_put() {
        for cache in both(100) {
            for i in 0..2_000u64 {
                let weight = (i % 7 + 1) as u16;
                let evicted = if i % 3 == 0 {
                    cache.force_put(i % 300, i, weight)
                } else {
                    cache.put(i % 300, i, weight)
                };
                assert!(cache.queues.total_weight() <= 100, "after put {i}");
                for kv in evicted {
                    assert!(kv.weight >= 1);
                }
                if i % 5 == 0 {
                    cache.get(&(i % 50));
                }
            }
        }
    }

    #[test]
    fn force_put_returns_the_evicted_items() {
        for cache in both(3) {
            for key in 0..3 {
                cache.put(key, key * 10, 1);
            }
            let evicted = cache.force_put(9, 90, 2);
            assert_eq!(evicted.len(), 2);
            for kv in &evicted {
                assert_eq!(kv.key, cache.hash(&(kv.data / 10)));
                assert_eq!(cache.get(&(kv.data / 10)), None);
            }
            assert_eq!(cache.get(&9), Some(90));
            assert_eq!(cache.queues.total_weight(), 3);
        }
    }

    #[test]
    fn an_item_heavier_than_the_cache_is_rejected() {
        for cache in both(10) {
            let rejected = cache.force_put(1, 1, 11);
            assert_eq!(
                rejected,
                vec![KV {
                    key: cache.hash(&1),
                    data: 1,
                    weight: 11
                }]
            );
            assert_eq!(cache.get(&1), None);
            assert_eq!(cache.queues.total_weight(), 0);
        }
    }

    #[test]
    fn a_more_frequent_newcomer_displaces_a_resident() {
        for cache in both(2) {
            cache.put(1, 1, 1);
            cache.put(2, 2, 1);
            // Seen once, key 3 is no more popular than the residents: rejected.
            let rejected = cache.put(3, 3, 1);
            assert_eq!(rejected.len(), 1);
            assert_eq!(rejected[0].data, 3);
            // Seen twice, it beats a resident seen once.
            let evicted = cache.put(3, 3, 1);
            assert_eq!(evicted.len(), 1);
            assert_ne!(evicted[0].data, 3);
            assert_eq!(cache.get(&3), Some(3));
        }
    }

    #[test]
    fn remove_frees_the_weight() {
        for cache in both(10) {
            cache.put(1, 1, 4);
            assert_eq!(cache.remove(&1), Some(1));
            assert_eq!(cache.remove(&1), None);
            assert_eq!(cache.queues.total_weight(), 0);
            // The stale queue entry is skipped, and a re-put is a fresh item.
            cache.put(1, 2, 4);
            for key in 2..20 {
                cache.force_put(key, key, 1);
            }
            assert!(cache.queues.total_weight() <= 10);
        }
    }

    #[test]
    fn items_read_in_the_small_queue_survive_a_wave_of_new_items() {
        for cache in both(20) {
            for key in 0..20 {
                cache.put(key, key, 1);
            }
            for _ in 0..3 {
                for key in 0..5 {
                    assert_eq!(cache.get(&key), Some(key));
                }
            }
            for key in 100..140 {
                cache.force_put(key, key, 1);
            }
            for key in 0..5 {
                assert_eq!(cache.get(&key), Some(key), "key {key}");
            }
        }
    }

    /// Caches of 100 weight whose sketch (and ghost set) is sized for 1,000 items:
    /// with 8,000 columns a row, a one-time key looks asked for twice only if all
    /// four of its counters collide (odds about (300 / 8,000)^4 here).
    fn both_with_a_wide_sketch() -> [TinyUfo<u64, u64>; 2] {
        [TinyUfo::new(100, 1_000), TinyUfo::new_compact(100, 1_000)]
    }

    /// Fills a cache of 100 with `key` first and one-time keys after it, until `key`
    /// is evicted from the small queue unread; returns the next unused one-time key.
    fn evict_unread_from_small(cache: &TinyUfo<u64, u64>, key: u64) -> u64 {
        cache.put(key, key, 1);
        let mut next = 1_000_000;
        let hash = cache.hash(&key);
        loop {
            let evicted = cache.force_put(next, next, 1);
            next += 1;
            if evicted.iter().any(|kv| kv.key == hash) {
                return next;
            }
            assert!(next < 1_000_200, "key {key} was never evicted");
        }
    }

    #[test]
    fn a_key_evicted_from_small_and_put_again_enters_main_and_survives_a_scan() {
        for cache in both_with_a_wide_sketch() {
            let next = evict_unread_from_small(&cache, 7);
            assert!(cache.ghost.contains(cache.hash(&7)));
            // Asked for twice, key 7 beats the one-time key at the small queue's head.
            let evicted = cache.put(7, 70, 1);
            assert_eq!(evicted.len(), 1);
            assert_ne!(evicted[0].data, 70);
            assert_eq!(cache.get(&7), Some(70));
            assert!(
                !cache.ghost.contains(cache.hash(&7)),
                "re-admission clears the ghost"
            );
            // Twice the cache's size in one-time keys: all of them churn through
            // the small queue, while key 7 waits in the main queue.
            for key in next..next + 200 {
                cache.force_put(key, key, 1);
            }
            assert_eq!(cache.get(&7), Some(70));
        }
    }

    #[test]
    fn a_key_put_again_after_its_ghost_aged_out_is_flushed_by_a_scan() {
        for cache in both(100) {
            let next = evict_unread_from_small(&cache, 7);
            // 150 more evictions from the small queue: more than the ghost set's
            // 100 entries, so key 7 is forgotten.
            for key in next..next + 150 {
                cache.force_put(key, key, 1);
            }
            assert!(!cache.ghost.contains(cache.hash(&7)));
            cache.force_put(7, 70, 1);
            // Back in the small queue, unread, it goes with the next scan.
            for key in next + 150..next + 350 {
                cache.force_put(key, key, 1);
            }
            assert_eq!(cache.get(&7), None);
        }
    }

    #[test]
    fn a_ghost_hit_must_still_win_admission() {
        for cache in both_with_a_wide_sketch() {
            let next = evict_unread_from_small(&cache, 7);
            // Every resident is now asked for more often than key 7 ever was.
            for key in next - 100..next {
                cache.sketch.record(cache.hash(&key), 5);
            }
            let rejected = cache.put(7, 70, 1);
            assert_eq!(rejected.len(), 1);
            assert_eq!(rejected[0].data, 70);
            assert_eq!(cache.get(&7), None);
            // Still remembered: a later, more convincing put can use it.
            assert!(cache.ghost.contains(cache.hash(&7)));
        }
    }

    #[test]
    fn the_ghost_set_stays_within_the_expected_item_count() {
        for cache in both(100) {
            for key in 0..10_000u64 {
                cache.force_put(key, key, 1);
                if key % 3 == 0 {
                    // Some keys come back while remembered and leave the ghost set.
                    cache.put(key / 2, key, 1);
                }
            }
            let remembered = cache.ghost.len();
            assert!(remembered <= 100, "{remembered} ghosts");
            assert!(remembered >= 50, "{remembered} ghosts");
        }
    }

    #[test]
    fn weight_limit_holds_once_concurrent_puts_finish() {
        for cache in both(200) {
            let cache = std::sync::Arc::new(cache);
            let workers: Vec<_> = (0..4u64)
                .map(|thread| {
                    let cache = std::sync::Arc::clone(&cache);
                    std::thread::spawn(move || {
                        for i in 0..5_000u64 {
                            let key = (i * 13 + thread) % 1_000;
                            let weight = (i % 5 + 1) as u16;
                            if i % 2 == 0 {
                                cache.force_put(key, i, weight);
                            } else if cache.get(&key).is_none() {
                                cache.put(key, i, weight);
                            }
                        }
                    })
                })
                .collect();
            for worker in workers {
                worker.join().expect("a writer panicked");
            }
            assert!(cache.queues.total_weight() <= 200);
        }
    }
}
