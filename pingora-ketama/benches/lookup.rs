//! Lookup cost of `Continuum::node` for small and large rings, against one CRC32 of the key.
//!
//! Run: `cargo bench -p pingora-ketama --bench lookup -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::net::SocketAddr;

use criterion::{criterion_group, criterion_main, Criterion};
use pingora_ketama::{Bucket, Continuum};

fn ring(servers: u32) -> Continuum {
    let buckets: Vec<_> = (0..servers)
        .map(|i| {
            let octets = (i + 1).to_be_bytes();
            let addr = SocketAddr::from(([127, octets[1], octets[2], octets[3]], 8080));
            Bucket::new(addr, 1 + i % 3)
        })
        .collect();
    Continuum::new(&buckets)
}

fn keys() -> Vec<String> {
    (0..1024).map(|i| format!("/static/img/{i}.png")).collect()
}

fn lookup(c: &mut Criterion) {
    let keys = keys();
    let mut group = c.benchmark_group("ketama");

    let mut next = 0usize;
    group.bench_function("baseline_crc32_of_key", |b| {
        b.iter(|| {
            next = (next + 1) % keys.len();
            crc32fast::hash(black_box(keys[next].as_bytes()))
        })
    });

    for servers in [10, 1_000] {
        let continuum = ring(servers);
        let mut next = 0usize;
        group.bench_function(format!("node_{servers}_servers"), |b| {
            b.iter(|| {
                next = (next + 1) % keys.len();
                continuum.node(black_box(keys[next].as_bytes()))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, lookup);
criterion_main!(benches);
