//! Heap bytes per cached item, counted by a global allocator that tracks live bytes.
//!
//! Run with `cargo bench -p tinyufo --bench memory`. Items are `u64 -> u64`, weight 1,
//! in a cache sized for exactly that many items.

use std::alloc::{GlobalAlloc, Layout, System};
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Mutex;

use tinyufo::TinyUfo;

/// Passes every call to the system allocator and keeps a running total of live bytes.
struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the
// counter update has no effect on the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded as received; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded as received; `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: forwarded as received; the caller upholds `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Live heap bytes attributable to what `build` returns, divided by `items`.
fn bytes_per_item<C>(items: usize, build: impl FnOnce() -> C) -> f64 {
    let before = LIVE_BYTES.load(Ordering::Relaxed);
    let cache = build();
    let after = LIVE_BYTES.load(Ordering::Relaxed);
    drop(cache);
    (after - before) as f64 / items as f64
}

fn main() {
    println!("Live heap bytes per item (u64 keys and values), caches sized for the item count\n");
    println!("| items | TinyUFO | TinyUFO compact | lru (in a Mutex) | moka |");
    println!("|---|---|---|---|---|");
    for items in [100usize, 1_000, 10_000] {
        let keys = 0..items as u64;
        let ufo = bytes_per_item(items, || {
            let cache = TinyUfo::new(items, items);
            for key in keys.clone() {
                cache.force_put(key, key, 1);
            }
            cache
        });
        let compact = bytes_per_item(items, || {
            let cache = TinyUfo::new_compact(items, items);
            for key in keys.clone() {
                cache.force_put(key, key, 1);
            }
            cache
        });
        let lru = bytes_per_item(items, || {
            let size = NonZeroUsize::new(items).expect("item counts are positive");
            let cache = Mutex::new(lru::LruCache::new(size));
            for key in keys.clone() {
                if let Ok(mut cache) = cache.lock() {
                    cache.put(key, key);
                }
            }
            cache
        });
        let moka = bytes_per_item(items, || {
            let cache = moka::sync::Cache::new(items as u64);
            for key in keys.clone() {
                cache.insert(key, key);
            }
            cache.run_pending_tasks();
            cache
        });
        println!("| {items} | {ufo:.0} | {compact:.0} | {lru:.0} | {moka:.0} |");
    }
}
