//! S3-FIFO's ghost set: the hashes of keys recently evicted from the small queue
//! unread, so that a key asked for again soon after goes straight to the main queue.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Slots in a bucket: eight 8-byte slots fill one 64-byte cache line.
const SLOTS_PER_BUCKET: usize = 8;
/// Slots per remembered key, in percent. Headroom keeps a bucket from overflowing
/// (an overflowing bucket forgets its oldest entry before its time) without
/// costing more than a few bytes per key.
const SLOTS_PER_ENTRY_PERCENT: usize = 150;
/// Attempts to claim a slot when racing other writers before the entry is dropped
/// (the ghost set is a hint; losing one entry only costs one promotion).
const INSERT_ATTEMPTS: usize = 3;

/// One cache line of slots. A slot holds a key's fingerprint (high 32 bits, never
/// zero) and the insertion stamp it was remembered at (low 32 bits); 0 is empty.
#[repr(align(64))]
struct Bucket([AtomicU64; SLOTS_PER_BUCKET]);

/// A bounded FIFO set of 64-bit key hashes, lock-free.
///
/// Aging needs no queue: every insertion takes the next stamp from a clock, and an
/// entry is alive while fewer than `capacity` insertions came after it, so at most
/// `capacity` entries are alive at once and the oldest one leaves as each new one
/// comes in. Entries live in a hashed array of cache-line buckets; taking a key out
/// clears its slot, and a dead slot is reused by the next insertion into its bucket.
pub(crate) struct GhostSet {
    buckets: Box<[Bucket]>,
    /// The stamp the next insertion takes (wraps around).
    clock: AtomicU32,
    /// How many of the latest insertions are remembered.
    capacity: u32,
}

/// The slot value remembering `fingerprint` at `stamp`.
fn pack(fingerprint: u32, stamp: u32) -> u64 {
    (u64::from(fingerprint) << 32) | u64::from(stamp)
}

fn fingerprint_of(slot: u64) -> u32 {
    (slot >> 32) as u32
}

fn stamp_of(slot: u64) -> u32 {
    slot as u32
}

impl GhostSet {
    /// A set remembering the last `capacity` keys inserted (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        // Stamps are compared by wrapping difference as `i32`, so the live window
        // must stay well inside 2^31.
        let capacity = capacity.clamp(1, 1 << 30);
        let slots = capacity.saturating_mul(SLOTS_PER_ENTRY_PERCENT) / 100;
        let buckets = slots.div_ceil(SLOTS_PER_BUCKET).max(1);
        GhostSet {
            buckets: (0..buckets)
                .map(|_| Bucket(std::array::from_fn(|_| AtomicU64::new(0))))
                .collect(),
            clock: AtomicU32::new(0),
            capacity: capacity as u32,
        }
    }

    /// The bucket for `hash` (chosen by its low 32 bits) and the fingerprint stored
    /// for it (its high 32 bits, never zero so that zero can mean empty).
    fn locate(&self, hash: u64) -> (&Bucket, u32) {
        let index = ((hash & 0xffff_ffff) * self.buckets.len() as u64) >> 32;
        let fingerprint = ((hash >> 32) as u32).max(1);
        (&self.buckets[index as usize], fingerprint)
    }

    /// Whether an entry stamped `stamp` is still among the last `capacity`
    /// insertions when the clock reads `now`. A stamp from the future (a racing
    /// insertion that took a later stamp) counts as alive.
    fn alive(&self, now: u32, slot: u64) -> bool {
        slot != 0 && (now.wrapping_sub(stamp_of(slot)) as i32) <= self.capacity as i32
    }

    /// Remembers `hash` as the newest entry, forgetting the oldest one if the set
    /// is full. Remembering a key already present moves it to the newest place.
    pub(crate) fn insert(&self, hash: u64) {
        let stamp = self.clock.fetch_add(1, Ordering::Relaxed);
        let now = stamp.wrapping_add(1);
        let (bucket, fingerprint) = self.locate(hash);
        let entry = pack(fingerprint, stamp);
        for _ in 0..INSERT_ATTEMPTS {
            // Prefer the key's own slot, then a dead or empty one, then the oldest.
            let mut chosen = None;
            let mut oldest_age = 0u32;
            for slot in &bucket.0 {
                let value = slot.load(Ordering::Relaxed);
                if value != 0 && fingerprint_of(value) == fingerprint {
                    chosen = Some((slot, value));
                    break;
                }
                let age = if self.alive(now, value) {
                    // A racing newer entry has a negative age: treat it as newest.
                    (now.wrapping_sub(stamp_of(value)) as i32).max(0) as u32
                } else {
                    u32::MAX
                };
                if chosen.is_none() || age > oldest_age {
                    chosen = Some((slot, value));
                    oldest_age = age;
                }
            }
            let Some((slot, seen)) = chosen else {
                return;
            };
            if slot
                .compare_exchange(seen, entry, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
            {
                return;
            }
        }
    }

    /// Whether `hash` is among the remembered keys.
    pub(crate) fn contains(&self, hash: u64) -> bool {
        let now = self.clock.load(Ordering::Relaxed);
        let (bucket, fingerprint) = self.locate(hash);
        bucket.0.iter().any(|slot| {
            let value = slot.load(Ordering::Relaxed);
            fingerprint_of(value) == fingerprint && self.alive(now, value)
        })
    }

    /// Forgets `hash`; returns whether it was remembered.
    pub(crate) fn remove(&self, hash: u64) -> bool {
        let now = self.clock.load(Ordering::Relaxed);
        let (bucket, fingerprint) = self.locate(hash);
        bucket.0.iter().any(|slot| {
            let value = slot.load(Ordering::Relaxed);
            fingerprint_of(value) == fingerprint
                && self.alive(now, value)
                && slot
                    .compare_exchange(value, 0, Ordering::Relaxed, Ordering::Relaxed)
                    .is_ok()
        })
    }

    /// How many keys are remembered now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        let now = self.clock.load(Ordering::Relaxed);
        self.buckets
            .iter()
            .flat_map(|bucket| &bucket.0)
            .filter(|slot| self.alive(now, slot.load(Ordering::Relaxed)))
            .count()
    }

    /// Bytes of slots (for the memory-use documentation and tests).
    #[cfg(test)]
    fn slot_bytes(&self) -> usize {
        std::mem::size_of_val(&*self.buckets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Well-spread 64-bit hashes, as the cache's hasher produces.
    fn hash(n: u64) -> u64 {
        let mut x = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^ (x >> 31)
    }

    #[test]
    fn inserted_keys_are_remembered_until_removed() {
        let ghost = GhostSet::new(100);
        ghost.insert(hash(1));
        ghost.insert(hash(2));
        assert!(ghost.contains(hash(1)));
        assert!(!ghost.contains(hash(3)));
        assert!(ghost.remove(hash(1)));
        assert!(!ghost.contains(hash(1)));
        assert!(!ghost.remove(hash(1)));
        assert!(ghost.contains(hash(2)));
        assert_eq!(ghost.len(), 1);
    }

    #[test]
    fn the_set_never_holds_more_than_its_capacity() {
        let ghost = GhostSet::new(100);
        for n in 0..10_000 {
            ghost.insert(hash(n));
            assert!(ghost.len() <= 100, "after {n} insertions");
        }
        // Headroom in the buckets keeps nearly all of the latest 100 remembered.
        let recent = (9_900..10_000).filter(|&n| ghost.contains(hash(n))).count();
        assert!(recent >= 90, "{recent} of the last 100 remembered");
    }

    #[test]
    fn entries_age_out_after_capacity_newer_insertions() {
        let ghost = GhostSet::new(50);
        ghost.insert(hash(7));
        for n in 100..149 {
            ghost.insert(hash(n));
        }
        // 49 newer entries: still within the last 50.
        assert!(ghost.contains(hash(7)));
        ghost.insert(hash(149));
        assert!(!ghost.contains(hash(7)));
        assert!(!ghost.remove(hash(7)));
    }

    #[test]
    fn reinserting_a_key_makes_it_the_newest_without_a_duplicate() {
        let ghost = GhostSet::new(10);
        ghost.insert(hash(1));
        for n in 100..105 {
            ghost.insert(hash(n));
        }
        ghost.insert(hash(1));
        for n in 200..209 {
            ghost.insert(hash(n));
        }
        // Nine insertions after the refresh: still remembered, and only once.
        assert!(ghost.contains(hash(1)));
        assert!(ghost.remove(hash(1)));
        assert!(!ghost.contains(hash(1)));
    }

    #[test]
    fn a_tiny_set_still_remembers_the_last_key() {
        let ghost = GhostSet::new(0);
        ghost.insert(hash(1));
        assert!(ghost.contains(hash(1)));
        ghost.insert(hash(2));
        assert!(!ghost.contains(hash(1)));
        assert!(ghost.contains(hash(2)));
    }

    #[test]
    fn concurrent_inserts_keep_the_bound() {
        let ghost = std::sync::Arc::new(GhostSet::new(200));
        let workers: Vec<_> = (0..4u64)
            .map(|thread| {
                let ghost = std::sync::Arc::clone(&ghost);
                std::thread::spawn(move || {
                    for n in 0..5_000 {
                        let key = hash(thread << 32 | n);
                        ghost.insert(key);
                        if n % 3 == 0 {
                            ghost.remove(key);
                        }
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.join().expect("a ghost writer panicked");
        }
        assert!(ghost.len() <= 200, "{} remembered", ghost.len());
    }

    #[test]
    fn slots_cost_twelve_bytes_per_remembered_key() {
        assert_eq!(GhostSet::new(1_600).slot_bytes(), 1_600 * 12);
    }
}
