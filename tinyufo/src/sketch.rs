//! The TinyLFU frequency sketch: a count-min sketch of 4-bit saturating counters that
//! forgets old history by halving every counter once enough events were recorded.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Rows of the count-min sketch; each key touches one counter per row.
const ROWS: usize = 4;
/// Counters are 4 bits wide, sixteen to a word, and saturate at 15. A small
/// ceiling keeps one burst of popularity from outliving the aging period for long.
const MAX_COUNT: u8 = 15;
const COUNTERS_PER_WORD: usize = 16;
/// Columns per row for each item the cache is expected to hold. Wide rows keep
/// the collisions between the many cold keys from inflating their estimates.
const COLUMNS_PER_ITEM: usize = 8;
/// Events recorded between two halvings, per item the cache is expected to hold.
/// The TinyLFU paper samples ten per item; a longer memory ranks keys near the
/// admission boundary, which are asked for rarely, more reliably, at the cost of
/// following a change of popularity more slowly.
const AGING_EVENTS_PER_ITEM: usize = 50;
/// Odd multipliers that derive one independent-looking column per row from the key hash.
const ROW_MIXERS: [u64; ROWS] = [
    0x9e37_79b9_7f4a_7c15,
    0xc2b2_ae3d_27d4_eb4f,
    0x1656_67b1_9e37_79f9,
    0xd6e8_feb8_6659_fd93,
];

/// A concurrent approximate frequency counter keyed by 64-bit hashes.
///
/// Increments use conservative update (only the counters below the new estimate
/// grow), which keeps the over-estimate caused by collisions small.
pub(crate) struct FrequencySketch {
    words: Box<[AtomicU64]>,
    row_width: usize,
    /// Events recorded since the last aging pass.
    recorded: AtomicUsize,
    /// After this many recorded events every counter is halved.
    aging_period: usize,
}

impl FrequencySketch {
    /// A sketch sized for a cache expected to hold about `estimated_items` items.
    pub(crate) fn new(estimated_items: usize) -> Self {
        let items = estimated_items.max(16);
        // A whole number of words per row, and few enough columns for 32-bit math.
        let row_width = items
            .saturating_mul(COLUMNS_PER_ITEM)
            .next_multiple_of(COUNTERS_PER_WORD)
            .min(1 << 31);
        let words = (0..ROWS * row_width / COUNTERS_PER_WORD)
            .map(|_| AtomicU64::new(0))
            .collect();
        FrequencySketch {
            words,
            row_width,
            recorded: AtomicUsize::new(0),
            aging_period: items.saturating_mul(AGING_EVENTS_PER_ITEM),
        }
    }

    /// The word and bit offset of `hash`'s counter in `row`.
    fn counter(&self, hash: u64, row: usize) -> (&AtomicU64, u32) {
        let mixed = (hash ^ (hash >> 29)).wrapping_mul(ROW_MIXERS[row]) >> 32;
        // Maps the top 32 mixed bits onto 0..row_width without a division.
        let column = (mixed * self.row_width as u64) >> 32;
        let index = row * self.row_width + column as usize;
        let shift = (index % COUNTERS_PER_WORD) as u32 * 4;
        (&self.words[index / COUNTERS_PER_WORD], shift)
    }

    fn read(&self, hash: u64, row: usize) -> u8 {
        let (word, shift) = self.counter(hash, row);
        ((word.load(Ordering::Relaxed) >> shift) & 0xf) as u8
    }

    /// The estimated number of recent events for `hash`.
    pub(crate) fn estimate(&self, hash: u64) -> u8 {
        (0..ROWS).map(|row| self.read(hash, row)).min().unwrap_or(0)
    }

    /// Records `events` events for `hash` and returns the new estimate.
    pub(crate) fn record(&self, hash: u64, events: u8) -> u8 {
        if events == 0 {
            return self.estimate(hash);
        }
        let target = self.estimate(hash).saturating_add(events).min(MAX_COUNT);
        for row in 0..ROWS {
            let (word, shift) = self.counter(hash, row);
            let _ = word.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |value| {
                let current = ((value >> shift) & 0xf) as u8;
                (current < target).then(|| (value & !(0xf << shift)) | (u64::from(target) << shift))
            });
        }
        let seen = self.recorded.fetch_add(events.into(), Ordering::Relaxed) + usize::from(events);
        if seen >= self.aging_period {
            self.age(seen);
        }
        target
    }

    /// Halves every counter. Only the thread that resets the event count does the
    /// work; the others go on counting meanwhile (an increment lost to the race
    /// is within the sketch's error anyway).
    fn age(&self, seen: usize) {
        if self
            .recorded
            .compare_exchange(seen, 0, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return;
        }
        for word in self.words.iter() {
            let value = word.load(Ordering::Relaxed);
            if value != 0 {
                word.store((value >> 1) & 0x7777_7777_7777_7777, Ordering::Relaxed);
            }
        }
    }

    /// Bytes of counters (for the memory-use documentation and tests).
    #[cfg(test)]
    fn counter_bytes(&self) -> usize {
        self.words.len() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_counts_recorded_events() {
        let sketch = FrequencySketch::new(1000);
        assert_eq!(sketch.estimate(42), 0);
        assert_eq!(sketch.record(42, 1), 1);
        assert_eq!(sketch.record(42, 2), 3);
        assert_eq!(sketch.estimate(42), 3);
        assert_eq!(sketch.estimate(43), 0);
    }

    #[test]
    fn counters_saturate_at_the_ceiling() {
        let sketch = FrequencySketch::new(1000);
        for _ in 0..100 {
            sketch.record(7, 1);
        }
        assert_eq!(sketch.estimate(7), MAX_COUNT);
        // Neighbouring counters in the same words are untouched.
        assert_eq!(sketch.estimate(8), 0);
    }

    #[test]
    fn aging_halves_counts_after_the_period() {
        let sketch = FrequencySketch::new(16);
        sketch.record(1, 10);
        // Fill the rest of the period with other keys; the last one triggers aging.
        let period = sketch.aging_period;
        for key in 0..(period - 10) as u64 {
            sketch.record(1_000_000 + key * 7919, 1);
        }
        assert!(
            sketch.estimate(1) <= MAX_COUNT / 2,
            "got {}",
            sketch.estimate(1)
        );
    }

    #[test]
    fn size_is_four_bytes_per_expected_item() {
        assert_eq!(FrequencySketch::new(1000).counter_bytes(), 1000 * 4 * 8 / 2);
    }
}
