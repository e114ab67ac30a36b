//! `Estimator::incr` throughput on 1 and 2 threads, against a `Mutex<HashMap>` of exact
//! counts (hashed with the same ahash, so the difference is the locking and the table).
//!
//! Run: `cargo bench -p pingora-limits --bench incr -- --warm-up-time 1 --measurement-time 3`

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use pingora_limits::estimator::Estimator;

/// Distinct keys cycled through; about what a limiter sees from active clients.
const KEYS: u64 = 10_000;

/// Runs `iters` calls of `op` split over `threads` threads and returns the wall time.
fn run_split<F: Fn(u64) + Sync>(threads: u64, iters: u64, op: &F) -> Duration {
    let per_thread = iters.div_ceil(threads);
    let start = Instant::now();
    std::thread::scope(|scope| {
        for thread in 0..threads {
            scope.spawn(move || {
                // Threads start at different keys, as different clients would.
                let mut key = thread * (KEYS / threads);
                for _ in 0..per_thread {
                    op(key);
                    key += 1;
                    if key == KEYS {
                        key = 0;
                    }
                }
            });
        }
    });
    start.elapsed()
}

fn incr(c: &mut Criterion) {
    let mut group = c.benchmark_group("incr");
    group.throughput(Throughput::Elements(1));
    for threads in [1u64, 2] {
        let exact: Mutex<HashMap<u64, isize, ahash::RandomState>> =
            Mutex::new(HashMap::with_hasher(ahash::RandomState::new()));
        let baseline = |key: u64| {
            let mut counts = exact
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let count = counts.entry(key).or_insert(0);
            *count += 1;
            black_box(*count);
        };
        group.bench_function(format!("mutex_hashmap_{threads}_threads"), |b| {
            b.iter_custom(|iters| run_split(threads, iters, &baseline))
        });

        let estimator = Estimator::new(4, 1024);
        let sketch = |key: u64| {
            black_box(estimator.incr(key, 1));
        };
        group.bench_function(format!("estimator_{threads}_threads"), |b| {
            b.iter_custom(|iters| run_split(threads, iters, &sketch))
        });
    }
    group.finish();
}

criterion_group!(benches, incr);
criterion_main!(benches);
