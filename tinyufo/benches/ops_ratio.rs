//! Operation rates of TinyUFO relative to `lru` behind a `Mutex` and to `moka`, measured
//! in interleaved rounds so that background load hits every cache alike.
//!
//! Each round runs the same number of operations on every cache, one after the other;
//! the table reports each cache's median rate over the rounds and the median of the
//! per-round ratios. Run with `cargo bench -p tinyufo --bench ops_ratio`
//! (`OPS_RATIO_ROUNDS` changes the round count, default 21).

use std::hint::black_box;
use std::num::NonZeroUsize;
use std::sync::{Barrier, Mutex};
use std::time::Instant;

use tinyufo::TinyUfo;

#[path = "common/caches.rs"]
mod caches;
use caches::{keys, Cache, CACHE_SIZE, KEY_SPACE};

/// Operations per cache per round, split between the threads.
const OPS_PER_ROUND: usize = 400_000;

/// Millions of operations per second for one burst on `threads` threads.
fn burst(cache: &dyn Cache, keys: &[u64], threads: usize, write_every_tenth: bool) -> f64 {
    let barrier = Barrier::new(threads + 1);
    let per_thread = OPS_PER_ROUND / threads;
    let elapsed = std::thread::scope(|scope| {
        for thread in 0..threads {
            let barrier = &barrier;
            scope.spawn(move || {
                let start = thread * keys.len() / threads;
                barrier.wait();
                for op in 0..per_thread {
                    let key = keys[(start + op) % keys.len()];
                    if write_every_tenth && op % 10 == 9 {
                        cache.write(key, key);
                    } else {
                        black_box(cache.read(key));
                    }
                }
                barrier.wait();
            });
        }
        barrier.wait();
        let start = Instant::now();
        barrier.wait();
        start.elapsed()
    });
    (per_thread * threads) as f64 / elapsed.as_secs_f64() / 1e6
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let rounds: usize = std::env::var("OPS_RATIO_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(21);
    let keys = keys();
    let lru_size = NonZeroUsize::new(CACHE_SIZE).expect("the cache size is positive");
    println!(
        "Zipf(1.0) keys over {KEY_SPACE}, caches of {CACHE_SIZE}; {rounds} interleaved rounds"
    );
    println!("Rates in million operations per second (median over rounds).\n");
    println!("| workload | threads | TinyUFO | TinyUFO compact | lru (Mutex) | moka | TinyUFO / lru | TinyUFO / moka | compact / lru |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for (workload, write_every_tenth) in [("reads", false), ("90% reads, 10% puts", true)] {
        for threads in [1, 2] {
            let caches: [Box<dyn Cache>; 4] = [
                Box::new(TinyUfo::new(CACHE_SIZE, CACHE_SIZE)),
                Box::new(TinyUfo::new_compact(CACHE_SIZE, CACHE_SIZE)),
                Box::new(Mutex::new(lru::LruCache::new(lru_size))),
                Box::new(moka::sync::Cache::new(CACHE_SIZE as u64)),
            ];
            for cache in &caches {
                for _ in 0..3 {
                    for key in &keys {
                        if cache.read(*key).is_none() {
                            cache.write(*key, *key);
                        }
                    }
                }
            }
            let mut rates: [Vec<f64>; 4] = Default::default();
            for _ in 0..rounds {
                for (cache, rates) in caches.iter().zip(rates.iter_mut()) {
                    rates.push(burst(cache.as_ref(), &keys, threads, write_every_tenth));
                }
            }
            let ratio = |a: usize, b: usize| {
                median(rates[a].iter().zip(&rates[b]).map(|(x, y)| x / y).collect())
            };
            let [ufo, compact, lru, moka] = rates.clone().map(median);
            println!(
                "| {workload} | {threads} | {ufo:.1} | {compact:.1} | {lru:.1} | {moka:.1} | {:.2} | {:.2} | {:.2} |",
                ratio(0, 2),
                ratio(0, 3),
                ratio(1, 2)
            );
        }
    }
}
