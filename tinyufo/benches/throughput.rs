//! Operations per second of TinyUFO against `lru` behind a `Mutex` and `moka`, for pure
//! reads and a 90 % read / 10 % write mix, with 1 and 2 threads.
//!
//! `cargo bench -p tinyufo --bench throughput -- --warm-up-time 1 --measurement-time 3`
//! Criterion reports elements per second; one element is one cache operation.

use std::hint::black_box;
use std::num::NonZeroUsize;
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tinyufo::TinyUfo;

#[path = "common/caches.rs"]
mod caches;
use caches::{keys, Cache, CACHE_SIZE, KEY_SPACE};

/// Operations per measured iteration, split between the threads.
const BATCH: usize = 4_096;

fn caches() -> Vec<(&'static str, Box<dyn Cache>)> {
    let lru_size = NonZeroUsize::new(CACHE_SIZE).expect("the cache size is positive");
    vec![
        ("tinyufo", Box::new(TinyUfo::new(CACHE_SIZE, CACHE_SIZE))),
        (
            "tinyufo_compact",
            Box::new(TinyUfo::new_compact(CACHE_SIZE, CACHE_SIZE)),
        ),
        (
            "lru_mutex",
            Box::new(Mutex::new(lru::LruCache::new(lru_size))),
        ),
        ("moka", Box::new(moka::sync::Cache::new(CACHE_SIZE as u64))),
    ]
}

/// Runs `iters` batches on `threads` threads; every tenth operation is a write when
/// `write_every_tenth`. Returns the wall time from the common start to the last finish.
fn run(
    cache: &dyn Cache,
    keys: &[u64],
    threads: usize,
    iters: u64,
    write_every_tenth: bool,
) -> Duration {
    let barrier = Barrier::new(threads + 1);
    let per_thread = BATCH / threads;
    std::thread::scope(|scope| {
        for thread in 0..threads {
            let barrier = &barrier;
            scope.spawn(move || {
                let mut at = thread * keys.len() / threads;
                barrier.wait();
                for _ in 0..iters {
                    for op in 0..per_thread {
                        let key = keys[at % keys.len()];
                        at += 1;
                        if write_every_tenth && op % 10 == 9 {
                            cache.write(key, key);
                        } else {
                            black_box(cache.read(key));
                        }
                    }
                }
                barrier.wait();
            });
        }
        barrier.wait();
        let start = Instant::now();
        barrier.wait();
        start.elapsed()
    })
}

fn throughput(c: &mut Criterion) {
    let keys = keys();
    for (name, write_every_tenth) in [("reads", false), ("reads90_writes10", true)] {
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Elements(BATCH as u64));
        for threads in [1, 2] {
            for (cache_name, cache) in caches() {
                // Fill the cache first: reads then mostly hit.
                for key in 0..KEY_SPACE as u64 {
                    if cache.read(key).is_none() {
                        cache.write(key, key);
                    }
                }
                for key in &keys[..8_192] {
                    if cache.read(*key).is_none() {
                        cache.write(*key, *key);
                    }
                }
                group.bench_function(
                    BenchmarkId::new(cache_name, format!("{threads}_threads")),
                    |b| {
                        b.iter_custom(|iters| {
                            run(cache.as_ref(), &keys, threads, iters, write_every_tenth)
                        })
                    },
                );
            }
        }
        group.finish();
    }
}

criterion_group!(benches, throughput);
criterion_main!(benches);
