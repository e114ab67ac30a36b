//! One shard's hashed timer wheel: armed timers live in a reusable slab and are
//! chained, per deadline tick, into one of [`BUCKETS`] doubly linked buckets.
//!
//! The wheel is a plain single-threaded structure; the shard around it supplies the lock.
//! Inserting and removing are O(1) and do not allocate once the slab has grown to the
//! shard's peak number of armed timers.

use std::task::Waker;

/// Number of buckets in one revolution of the wheel. A timer whose tick is more than one
/// revolution away sits in its bucket and is skipped until its tick comes round.
pub(crate) const BUCKETS: usize = 512;

/// The "no entry" link.
const NIL: u32 = u32::MAX;

/// Identifies one armed timer. The generation tells a live entry from a later timer that
/// reuses the same slab slot after the first one fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EntryKey {
    index: u32,
    generation: u32,
}

/// One slab slot. A vacant slot has no waker and uses `next` as the free-list link.
#[derive(Debug)]
struct Entry {
    waker: Option<Waker>,
    tick: u64,
    generation: u32,
    prev: u32,
    next: u32,
}

/// The timers of one shard, hashed by deadline tick.
#[derive(Debug)]
pub(crate) struct Wheel {
    entries: Vec<Entry>,
    free_head: u32,
    heads: [u32; BUCKETS],
    armed: usize,
}

const fn bucket_of(tick: u64) -> usize {
    // BUCKETS is a power of two, so this is `tick % BUCKETS`.
    (tick as usize) & (BUCKETS - 1)
}

impl Wheel {
    /// An empty wheel; `const` so that shards can live in a `static`.
    pub(crate) const fn new() -> Self {
        Wheel {
            entries: Vec::new(),
            free_head: NIL,
            heads: [NIL; BUCKETS],
            armed: 0,
        }
    }

    /// Number of armed timers.
    pub(crate) fn len(&self) -> usize {
        self.armed
    }

    /// Arms a timer that wakes `waker` once the driver reaches `tick`.
    pub(crate) fn insert(&mut self, tick: u64, waker: &Waker) -> EntryKey {
        // Clone first: a waker's clone is foreign code, and if it panics the wheel must
        // be left untouched.
        let waker = waker.clone();
        let index = if self.free_head != NIL {
            let index = self.free_head;
            let entry = &mut self.entries[index as usize];
            self.free_head = entry.next;
            entry.waker = Some(waker);
            entry.tick = tick;
            index
        } else {
            let index = u32::try_from(self.entries.len())
                .ok()
                .filter(|index| *index != NIL)
                .expect("invariant: fewer than 2^32 - 1 timers are armed in one shard");
            self.entries.push(Entry {
                waker: Some(waker),
                tick,
                generation: 0,
                prev: NIL,
                next: NIL,
            });
            index
        };
        self.link(index, bucket_of(tick));
        self.armed += 1;
        EntryKey {
            index,
            generation: self.entries[index as usize].generation,
        }
    }

    /// Makes a still-armed timer wake `waker` instead of the waker it was armed with.
    ///
    /// Returns `None` when the timer is no longer armed (the driver has fired it), else
    /// `Some` with the replaced waker, if any, for the caller to drop after unlocking.
    pub(crate) fn update_waker(&mut self, key: EntryKey, waker: &Waker) -> Option<Option<Waker>> {
        let entry = self.live_entry(key)?;
        match &mut entry.waker {
            Some(stored) if stored.will_wake(waker) => Some(None),
            stored => Some(stored.replace(waker.clone())),
        }
    }

    /// Disarms a timer. Returns its waker (so that the caller can drop it after releasing
    /// the lock), or `None` when the driver already fired it.
    pub(crate) fn remove(&mut self, key: EntryKey) -> Option<Waker> {
        self.live_entry(key)?;
        Some(self.release(key.index))
    }

    /// Fires every timer in the bucket that `bucket_tick` hashes to whose deadline is at
    /// or before `now_tick`, pushing their wakers onto `fired`.
    pub(crate) fn fire_bucket(&mut self, bucket_tick: u64, now_tick: u64, fired: &mut Vec<Waker>) {
        let mut cursor = self.heads[bucket_of(bucket_tick)];
        while cursor != NIL {
            let entry = &self.entries[cursor as usize];
            let next = entry.next;
            if entry.tick <= now_tick {
                fired.push(self.release(cursor));
            }
            cursor = next;
        }
    }

    fn live_entry(&mut self, key: EntryKey) -> Option<&mut Entry> {
        self.entries
            .get_mut(key.index as usize)
            .filter(|entry| entry.generation == key.generation && entry.waker.is_some())
    }

    /// Unlinks an armed entry, bumps its generation and puts it on the free list.
    fn release(&mut self, index: u32) -> Waker {
        let (prev, next, tick) = {
            let entry = &self.entries[index as usize];
            (entry.prev, entry.next, entry.tick)
        };
        if prev == NIL {
            self.heads[bucket_of(tick)] = next;
        } else {
            self.entries[prev as usize].next = next;
        }
        if next != NIL {
            self.entries[next as usize].prev = prev;
        }
        let free_head = self.free_head;
        let entry = &mut self.entries[index as usize];
        entry.generation = entry.generation.wrapping_add(1);
        entry.prev = NIL;
        entry.next = free_head;
        self.free_head = index;
        self.armed -= 1;
        entry
            .waker
            .take()
            .expect("invariant: an armed entry holds a waker")
    }

    fn link(&mut self, index: u32, bucket: usize) {
        let head = self.heads[bucket];
        if head != NIL {
            self.entries[head as usize].prev = index;
        }
        let entry = &mut self.entries[index as usize];
        entry.prev = NIL;
        entry.next = head;
        self.heads[bucket] = index;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn waker() -> (Arc<CountingWaker>, Waker) {
        let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
        (counter.clone(), Waker::from(counter))
    }

    fn fire_all(wheel: &mut Wheel, now_tick: u64) -> Vec<Waker> {
        let mut fired = Vec::new();
        for bucket in 0..BUCKETS as u64 {
            wheel.fire_bucket(bucket, now_tick, &mut fired);
        }
        fired
    }

    #[test]
    fn fires_only_entries_whose_tick_has_come() {
        let (_, waker) = waker();
        let mut wheel = Wheel::new();
        wheel.insert(5, &waker);
        wheel.insert(5 + BUCKETS as u64, &waker);
        wheel.insert(6, &waker);

        let mut fired = Vec::new();
        wheel.fire_bucket(5, 5, &mut fired);
        assert_eq!(fired.len(), 1, "the entry one revolution later stays");
        assert_eq!(wheel.len(), 2);

        wheel.fire_bucket(5, 5 + BUCKETS as u64, &mut fired);
        assert_eq!(fired.len(), 2);
        assert_eq!(wheel.len(), 1);
    }

    #[test]
    fn removed_entry_is_not_fired_and_slot_is_reused() {
        let (counter, waker) = waker();
        let mut wheel = Wheel::new();
        let first = wheel.insert(3, &waker);
        assert!(wheel.remove(first).is_some());
        assert!(
            wheel.remove(first).is_none(),
            "a second remove finds nothing"
        );
        assert_eq!(wheel.len(), 0);

        let second = wheel.insert(3, &waker);
        assert_eq!(wheel.entries.len(), 1, "the freed slot is reused");
        assert_ne!(first, second, "a reused slot gets a new generation");
        assert!(
            wheel.remove(first).is_none(),
            "a stale key cannot remove the new timer"
        );

        for fired in fire_all(&mut wheel, 3) {
            fired.wake();
        }
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn removing_from_the_middle_of_a_bucket_keeps_the_rest_linked() {
        let (_, waker) = waker();
        let mut wheel = Wheel::new();
        let keys: Vec<_> = (0..5).map(|_| wheel.insert(9, &waker)).collect();
        wheel.remove(keys[2]);
        wheel.remove(keys[4]);
        wheel.remove(keys[0]);
        assert_eq!(fire_all(&mut wheel, 9).len(), 2);
        assert_eq!(wheel.len(), 0);
        assert!(wheel.heads.iter().all(|head| *head == NIL));
    }

    #[test]
    fn update_waker_reports_a_fired_timer() {
        let (first_counter, first) = waker();
        let (second_counter, second) = waker();
        let mut wheel = Wheel::new();
        let key = wheel.insert(1, &first);
        assert!(wheel.update_waker(key, &second).is_some());
        for fired in fire_all(&mut wheel, 1) {
            fired.wake();
        }
        assert_eq!(first_counter.0.load(Ordering::SeqCst), 0);
        assert_eq!(second_counter.0.load(Ordering::SeqCst), 1);
        assert!(wheel.update_waker(key, &second).is_none());
    }
}
