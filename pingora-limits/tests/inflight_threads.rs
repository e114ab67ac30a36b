//! Guards taken and dropped from many threads at once leave every count back at zero.

use std::sync::{Arc, Barrier};
use std::thread;

use pingora_limits::inflight::Inflight;

const THREADS: usize = 8;
const ROUNDS: usize = 5_000;
const KEYS: usize = 16;

#[test]
fn counts_return_to_zero_after_concurrent_guards() {
    let inflight = Arc::new(Inflight::new());
    let start = Arc::new(Barrier::new(THREADS));
    let workers: Vec<_> = (0..THREADS)
        .map(|worker| {
            let inflight = inflight.clone();
            let start = start.clone();
            thread::spawn(move || {
                start.wait();
                let mut held = Vec::new();
                for round in 0..ROUNDS {
                    let key = (worker + round) % KEYS;
                    let (guard, count) = inflight.incr(key, 1);
                    // This guard and any still held by this thread for the key are counted.
                    assert!(count >= 1);
                    if round % 3 == 0 {
                        guard.incr();
                    }
                    held.push(guard);
                    if held.len() > 4 {
                        held.remove(0);
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("worker thread panicked");
    }
    for key in 0..KEYS {
        let (guard, count) = inflight.incr(key, 1);
        assert_eq!(
            count, 1,
            "key {key} kept a count after every guard was dropped"
        );
        drop(guard);
    }
}

#[test]
fn guards_may_be_dropped_on_another_thread() {
    let inflight = Inflight::new();
    let guards: Vec<_> = (0..100).map(|_| inflight.incr("moved", 1).0).collect();
    assert_eq!(guards[0].get(), 100);
    thread::spawn(move || drop(guards))
        .join()
        .expect("dropping thread panicked");
    assert_eq!(inflight.incr("moved", 1).1, 1);
}
