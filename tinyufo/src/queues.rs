//! The two S3-FIFO queues (small, for newcomers; main, for items that proved useful)
//! and the weight accounting that decides when and from which queue to evict.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crossbeam_queue::SegQueue;

/// The share of the total weight the small queue may hold before it is evicted from first.
const SMALL_QUEUE_PERCENT: usize = 10;
/// Insertion ids use the bits above the weight in a packed entry.
const ID_BITS: u32 = 48;

/// A key's place in a queue: its hash, which insertion it is, and the weight it
/// was queued with (packed so that an entry is two words).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct QueueEntry {
    pub(crate) key: u64,
    id_and_weight: u64,
}

impl QueueEntry {
    pub(crate) fn id(&self) -> u64 {
        self.id_and_weight >> 16
    }

    pub(crate) fn weight(&self) -> u16 {
        self.id_and_weight as u16
    }
}

/// Which queue an entry was taken from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Queue {
    Small,
    Main,
}

/// The queues and the cache's weight counters.
pub(crate) struct Queues {
    small: SegQueue<QueueEntry>,
    main: SegQueue<QueueEntry>,
    /// Sum of the weights the small queue's entries were queued with.
    small_weight: AtomicUsize,
    /// Weight of every stored item plus the reservations of puts in progress.
    total_weight: AtomicUsize,
    next_id: AtomicU64,
    limit: usize,
    small_limit: usize,
}

impl Queues {
    pub(crate) fn new(limit: usize) -> Self {
        Queues {
            small: SegQueue::new(),
            main: SegQueue::new(),
            small_weight: AtomicUsize::new(0),
            total_weight: AtomicUsize::new(0),
            next_id: AtomicU64::new(0),
            limit,
            small_limit: (limit * SMALL_QUEUE_PERCENT / 100).max(1),
        }
    }

    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// A fresh entry for a new insertion of `key`.
    pub(crate) fn new_entry(&self, key: u64, weight: u16) -> QueueEntry {
        // Ids wrap after 2^48 insertions; a stale entry could then only be mistaken
        // for an insertion 2^48 puts younger, which is long gone from the queues.
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) & ((1 << ID_BITS) - 1);
        QueueEntry {
            key,
            id_and_weight: (id << 16) | u64::from(weight),
        }
    }

    pub(crate) fn push(&self, queue: Queue, entry: QueueEntry) {
        match queue {
            Queue::Small => {
                self.small_weight
                    .fetch_add(entry.weight().into(), Ordering::Relaxed);
                self.small.push(entry);
            }
            Queue::Main => self.main.push(entry),
        }
    }

    /// Takes the next entry to examine: from the small queue while it holds more
    /// than its share (or the main queue is empty), else from the main queue.
    pub(crate) fn pop(&self) -> Option<(Queue, QueueEntry)> {
        let small_first = self.small_weight.load(Ordering::Relaxed) > self.small_limit;
        let order = if small_first {
            [Queue::Small, Queue::Main]
        } else {
            [Queue::Main, Queue::Small]
        };
        order.into_iter().find_map(|queue| match queue {
            Queue::Small => self.small.pop().map(|entry| {
                self.small_weight
                    .fetch_sub(entry.weight().into(), Ordering::Relaxed);
                (Queue::Small, entry)
            }),
            Queue::Main => self.main.pop().map(|entry| (Queue::Main, entry)),
        })
    }

    /// Upper bound of entries worth examining in one eviction pass.
    pub(crate) fn len(&self) -> usize {
        self.small.len() + self.main.len()
    }

    /// Accounts `weight` more to the cache.
    pub(crate) fn reserve(&self, weight: u16) {
        self.total_weight
            .fetch_add(weight.into(), Ordering::Relaxed);
    }

    /// Accounts `weight` less to the cache.
    pub(crate) fn release(&self, weight: u16) {
        self.total_weight
            .fetch_sub(weight.into(), Ordering::Relaxed);
    }

    pub(crate) fn over_limit(&self) -> bool {
        self.total_weight.load(Ordering::Relaxed) > self.limit
    }

    #[cfg(test)]
    pub(crate) fn total_weight(&self) -> usize {
        self.total_weight.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_keep_id_and_weight() {
        let queues = Queues::new(100);
        let first = queues.new_entry(11, 7);
        let second = queues.new_entry(11, u16::MAX);
        assert_eq!((first.key, first.id(), first.weight()), (11, 0, 7));
        assert_eq!((second.id(), second.weight()), (1, u16::MAX));
    }

    #[test]
    fn small_queue_is_drained_first_only_while_over_its_share() {
        let queues = Queues::new(100); // small share: 10
        queues.push(Queue::Main, queues.new_entry(1, 1));
        queues.push(Queue::Small, queues.new_entry(2, 5));
        // Small holds 5 <= 10: main goes first.
        assert_eq!(
            queues.pop().map(|(q, e)| (q, e.key)),
            Some((Queue::Main, 1))
        );
        queues.push(Queue::Main, queues.new_entry(3, 1));
        queues.push(Queue::Small, queues.new_entry(4, 6));
        // Small holds 11 > 10: small goes first.
        assert_eq!(
            queues.pop().map(|(q, e)| (q, e.key)),
            Some((Queue::Small, 2))
        );
        assert_eq!(
            queues.pop().map(|(q, e)| (q, e.key)),
            Some((Queue::Main, 3))
        );
        // Main is empty: small serves.
        assert_eq!(
            queues.pop().map(|(q, e)| (q, e.key)),
            Some((Queue::Small, 4))
        );
        assert_eq!(queues.pop(), None);
    }

    #[test]
    fn weight_accounting_tracks_the_limit() {
        let queues = Queues::new(10);
        queues.reserve(10);
        assert!(!queues.over_limit());
        queues.reserve(1);
        assert!(queues.over_limit());
        queues.release(1);
        assert_eq!(queues.total_weight(), 10);
    }
}
