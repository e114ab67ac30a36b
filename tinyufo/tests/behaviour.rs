//! End-to-end behaviour of TinyUFO: concurrency and scan resistance.

use std::sync::Arc;
use std::thread;

use tinyufo::TinyUfo;

const THREADS: u64 = 8;

fn both(limit: usize) -> [Arc<TinyUfo<u64, u64>>; 2] {
    [
        Arc::new(TinyUfo::new(limit, limit)),
        Arc::new(TinyUfo::new_compact(limit, limit)),
    ]
}

#[test]
fn concurrent_writers_to_disjoint_keys_lose_no_update() {
    for cache in both(100_000) {
        let workers: Vec<_> = (0..THREADS)
            .map(|thread| {
                let cache = Arc::clone(&cache);
                thread::spawn(move || {
                    for round in 0..5u64 {
                        for i in 0..2_000u64 {
                            let key = thread * 1_000_000 + i;
                            let value = round * 10_000_000 + key;
                            // Room for everything: force_put must never evict.
                            assert!(cache.force_put(key, value, 1).is_empty());
                            assert_eq!(cache.get(&key), Some(value));
                        }
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.join().expect("a writer panicked");
        }
        for thread in 0..THREADS {
            for i in 0..2_000u64 {
                let key = thread * 1_000_000 + i;
                assert_eq!(cache.get(&key), Some(4 * 10_000_000 + key));
            }
        }
    }
}

#[test]
fn concurrent_gets_and_puts_on_shared_keys_stay_consistent() {
    for cache in both(500) {
        let workers: Vec<_> = (0..THREADS)
            .map(|thread| {
                let cache = Arc::clone(&cache);
                thread::spawn(move || {
                    let mut evicted = 0usize;
                    for i in 0..20_000u64 {
                        // Values encode their key, so any value read must match it.
                        let key = (i * 31 + thread * 7) % 2_000;
                        match cache.get(&key) {
                            Some(value) => assert_eq!(value % 10_000, key),
                            None => {
                                let weight = (i % 3 + 1) as u16;
                                for kv in cache.put(key, i * 10_000 + key, weight) {
                                    assert!(kv.data % 10_000 < 2_000);
                                    evicted += 1;
                                }
                            }
                        }
                        if i % 97 == 0 {
                            cache.remove(&key);
                        }
                    }
                    evicted
                })
            })
            .collect();
        let evicted: usize = workers
            .into_iter()
            .map(|w| w.join().expect("a worker panicked"))
            .sum();
        assert!(evicted > 0);
        // After the storm the cache still works and still holds the limit.
        let mut resident_weight = 0;
        for key in 0..2_000u64 {
            if cache.get(&key).is_some() {
                resident_weight += 1;
            }
        }
        assert!(resident_weight <= 500, "{resident_weight} items resident");
    }
}

#[test]
fn admission_keeps_a_hot_set_alive_during_a_scan_of_one_time_keys() {
    for cache in both(100) {
        let hot = 0..50u64;
        // Warm up: the hot keys are asked for repeatedly.
        for _ in 0..20 {
            for key in hot.clone() {
                if cache.get(&key).is_none() {
                    cache.put(key, key, 1);
                }
            }
        }
        // A scan of 10,000 keys, each asked for once, interleaved with hot traffic.
        let mut hot_hits = 0;
        let mut hot_requests = 0;
        for (i, key) in (1_000_000..1_010_000u64).enumerate() {
            if cache.get(&key).is_none() {
                cache.put(key, key, 1);
            }
            if i % 10 == 0 {
                let hot_key = (i / 10) as u64 % 50;
                hot_requests += 1;
                if cache.get(&hot_key).is_some() {
                    hot_hits += 1;
                } else {
                    cache.put(hot_key, hot_key, 1);
                }
            }
        }
        assert!(
            hot_hits * 100 >= hot_requests * 95,
            "hot set hit ratio {hot_hits}/{hot_requests}"
        );
        for key in hot {
            assert_eq!(cache.get(&key), Some(key));
        }
    }
}
