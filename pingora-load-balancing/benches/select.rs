//! `LoadBalancer::select` per algorithm over 3 and 1,000 backends, against a hand-written
//! baseline: a `Vec<Backend>` indexed by an atomic counter, with no health lookup.
//!
//! `cargo bench -p pingora-load-balancing --bench select -- --warm-up-time 1 --measurement-time 3`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use pingora_load_balancing::selection::{
    BackendIter, BackendSelection, Consistent, FNVHash, Random, RoundRobin,
};
use pingora_load_balancing::{Backend, LoadBalancer};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};

fn addresses(count: usize) -> Vec<String> {
    (0..count)
        .map(|i| format!("10.{}.{}.{}:80", i / 65536, (i / 256) % 256, i % 256))
        .collect()
}

fn bench_algorithm<S>(c: &mut Criterion, name: &str)
where
    S: BackendSelection + 'static,
    S::Iter: BackendIter,
{
    let mut group = c.benchmark_group("select");
    for count in [3usize, 1000] {
        let lb = LoadBalancer::<S>::try_from_iter(addresses(count)).expect("literal addresses");
        let mut key = 0u64;
        group.bench_with_input(BenchmarkId::new(name, count), &lb, |b, lb| {
            b.iter(|| {
                key = key.wrapping_add(1);
                black_box(lb.select(&key.to_le_bytes(), 256))
            })
        });
    }
    group.finish();
}

fn baseline(c: &mut Criterion) {
    let mut group = c.benchmark_group("select");
    for count in [3usize, 1000] {
        let backends: Vec<Backend> = addresses(count)
            .iter()
            .map(|a| Backend::new(a).expect("literal addresses"))
            .collect();
        let counter = AtomicUsize::new(0);
        group.bench_with_input(
            BenchmarkId::new("baseline_vec", count),
            &backends,
            |b, v| {
                b.iter(|| {
                    let i = counter.fetch_add(1, Ordering::Relaxed) % v.len();
                    black_box(v[i].clone())
                })
            },
        );
    }
    group.finish();
}

fn algorithms(c: &mut Criterion) {
    baseline(c);
    bench_algorithm::<RoundRobin>(c, "round_robin");
    bench_algorithm::<Random>(c, "random");
    bench_algorithm::<FNVHash>(c, "fnv_hash");
    bench_algorithm::<Consistent>(c, "consistent");
}

criterion_group!(benches, algorithms);
criterion_main!(benches);
