//! Arming and disarming bookkeeping, checked through the global armed-timer count. This file
//! holds one test so that no other test in its process arms timers meanwhile.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use pingora_timeout::fast_timeout::{fast_sleep, FastTimeout};
use pingora_timeout::timer::TimerManager;

struct CountingWaker {
    wakes: AtomicUsize,
    thread: std::thread::Thread,
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
        self.thread.unpark();
    }
}

fn counting_waker() -> (Arc<CountingWaker>, Waker) {
    let counter = Arc::new(CountingWaker {
        wakes: AtomicUsize::new(0),
        thread: std::thread::current(),
    });
    (counter.clone(), Waker::from(counter))
}

fn poll(timer: &mut FastTimeout, waker: &Waker) -> Poll<()> {
    Pin::new(timer).poll(&mut Context::from_waker(waker))
}

#[test]
fn timers_are_disarmed_by_drop_or_firing_on_any_thread() {
    let manager = TimerManager::global();
    assert_eq!(manager.armed_timers(), 0);

    // Creating a timer arms nothing; the first pending poll arms it.
    let mut timers: Vec<FastTimeout> = (0..100)
        .map(|_| fast_sleep(Duration::from_secs(60)))
        .collect();
    assert_eq!(manager.armed_timers(), 0);
    for timer in &mut timers {
        assert!(poll(timer, Waker::noop()).is_pending());
    }
    assert_eq!(manager.armed_timers(), 100);

    // Dropping on another thread disarms in the shard the timer was armed in.
    let moved: Vec<FastTimeout> = timers.drain(50..).collect();
    std::thread::spawn(move || drop(moved))
        .join()
        .expect("the dropping thread does not panic");
    assert_eq!(manager.armed_timers(), 50);
    drop(timers);
    assert_eq!(manager.armed_timers(), 0);

    // A timer armed on one thread and then polled on another wakes the newer waker.
    let mut timer = fast_sleep(Duration::from_millis(20));
    let (first, first_waker) = counting_waker();
    assert!(poll(&mut timer, &first_waker).is_pending());
    let second_wakes = std::thread::spawn(move || {
        let (second, second_waker) = counting_waker();
        let deadline = Instant::now() + Duration::from_secs(5);
        while poll(&mut timer, &second_waker).is_pending() {
            assert!(Instant::now() < deadline, "migrated timer never fired");
            std::thread::park_timeout(Duration::from_millis(100));
        }
        second.wakes.load(Ordering::SeqCst)
    })
    .join()
    .expect("the polling thread does not panic");
    assert_eq!(second_wakes, 1, "the thread that polled last is woken");
    assert_eq!(
        first.wakes.load(Ordering::SeqCst),
        0,
        "the stale waker is not"
    );
    // The driver removed the fired timer itself.
    assert_eq!(manager.armed_timers(), 0);
}
