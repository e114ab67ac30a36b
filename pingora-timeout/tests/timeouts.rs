//! End-to-end behaviour of the fast timeouts on real tokio runtimes and the real driver
//! thread: precision, never firing early, races with the inner future, scale.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use pingora_timeout::fast_timeout::{fast_sleep, fast_timeout};
use pingora_timeout::timer::TICK;
use pingora_timeout::{sleep, timeout, tokio_timeout, Elapsed};

fn multi_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .expect("a 2-thread runtime can be built")
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a current-thread runtime can be built")
}

/// How late each of `count` timeouts of `duration` fired, measured by the task itself.
async fn lateness_of_concurrent_timeouts(count: usize, duration: Duration) -> Vec<Duration> {
    let mut tasks = Vec::new();
    for index in 0..count {
        tasks.push(tokio::spawn(async move {
            // Stagger the starts so that deadlines fall at different offsets in a tick.
            tokio::time::sleep(Duration::from_micros(700 * index as u64)).await;
            let start = Instant::now();
            let result = timeout(duration, std::future::pending::<()>()).await;
            let waited = start.elapsed();
            assert_eq!(result, Err(Elapsed));
            assert!(waited >= duration, "fired early: {waited:?} < {duration:?}");
            waited - duration
        }));
    }
    let mut lateness = Vec::new();
    for task in tasks {
        lateness.push(task.await.expect("timeout task does not panic"));
    }
    lateness.sort();
    lateness
}

#[test]
fn fires_within_one_tick_of_the_deadline() {
    let lateness = multi_thread().block_on(lateness_of_concurrent_timeouts(
        30,
        Duration::from_millis(35),
    ));
    // The deadline is rounded up to a tick boundary, so a timer is late by less than one
    // tick plus the driver's wake-up latency. The median ignores the odd sample that the
    // shared, busy test machine delays.
    let median = lateness[lateness.len() / 2];
    eprintln!("lateness past the deadline, sorted: {lateness:?}");
    assert!(
        median <= TICK + Duration::from_millis(5),
        "median lateness {median:?} is more than one tick; all: {lateness:?}"
    );
}

#[test]
fn never_fires_early_for_assorted_durations() {
    multi_thread().block_on(async {
        let mut tasks = Vec::new();
        for millis in [0u64, 1, 3, 9, 10, 11, 19, 20, 21, 29, 33, 47] {
            for _ in 0..4 {
                tasks.push(tokio::spawn(async move {
                    let duration = Duration::from_millis(millis);
                    let start = Instant::now();
                    sleep(duration).await;
                    let waited = start.elapsed();
                    assert!(waited >= duration, "{waited:?} < {duration:?}");
                }));
            }
        }
        for task in tasks {
            task.await.expect("sleep task does not panic");
        }
    });
}

#[test]
fn inner_future_that_finishes_first_wins() {
    for runtime in [multi_thread(), current_thread()] {
        runtime.block_on(async {
            let ready_at_once = timeout(Duration::ZERO, async { 1 }).await;
            assert_eq!(
                ready_at_once,
                Ok(1),
                "a ready future beats even a zero timeout"
            );

            let quick = async {
                tokio::time::sleep(Duration::from_millis(5)).await;
                2
            };
            assert_eq!(timeout(Duration::from_secs(5), quick).await, Ok(2));
        });
    }
}

#[test]
fn timer_that_fires_first_drops_the_inner_future() {
    struct SetOnDrop(Arc<AtomicBool>);
    impl Drop for SetOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    for runtime in [multi_thread(), current_thread()] {
        let dropped = Arc::new(AtomicBool::new(false));
        let guard = SetOnDrop(dropped.clone());
        let never = async move {
            let _guard = guard;
            std::future::pending::<()>().await
        };
        let result = runtime.block_on(timeout(Duration::from_millis(15), never));
        assert_eq!(result, Err(Elapsed));
        assert!(dropped.load(Ordering::SeqCst));
    }
}

#[test]
fn works_on_the_current_thread_runtime() {
    current_thread().block_on(async {
        let start = Instant::now();
        let result = fast_timeout(
            Duration::from_millis(20),
            fast_sleep(Duration::from_secs(30)),
        );
        assert_eq!(result.await, Err(Elapsed));
        assert!(start.elapsed() >= Duration::from_millis(20));

        // Many tasks on the one thread share its timers.
        let tasks: Vec<_> = (0..500)
            .map(|index| {
                tokio::spawn(async move {
                    let delay = Duration::from_millis(5 + index % 20);
                    timeout(delay, std::future::pending::<()>()).await
                })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.expect("task does not panic"), Err(Elapsed));
        }
    });
}

#[test]
fn thousands_of_concurrent_timeouts_resolve_correctly() {
    multi_thread().block_on(async {
        let started = Instant::now();
        let mut tasks = Vec::new();
        for index in 0..5_000u64 {
            tasks.push(tokio::spawn(async move {
                if index % 2 == 0 {
                    // Fires: the inner future never finishes.
                    let delay = Duration::from_millis(10 + index % 40);
                    timeout(delay, std::future::pending::<()>()).await.is_err()
                } else {
                    // Cancelled: the inner future finishes long before its deadline.
                    let work = async {
                        tokio::task::yield_now().await;
                        tokio::task::yield_now().await;
                    };
                    timeout(Duration::from_secs(30), work).await.is_ok()
                }
            }));
        }
        for task in tasks {
            assert!(task.await.expect("task does not panic"));
        }
        assert!(started.elapsed() < Duration::from_secs(10));
    });
}

/// A future that returns `Pending` once, waking itself, and is ready when polled again.
struct PendingOnce(bool);

impl Future for PendingOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

#[test]
fn timer_armed_and_cancelled_repeatedly_never_fires() {
    multi_thread().block_on(async {
        for _ in 0..10_000 {
            let result = timeout(Duration::from_millis(10), PendingOnce(false)).await;
            assert_eq!(result, Ok(()));
        }
    });
}

#[test]
fn tokio_timeout_is_a_working_fallback() {
    current_thread().block_on(async {
        assert_eq!(
            tokio_timeout(Duration::from_secs(1), async { 5 }).await,
            Ok(5)
        );
        let start = Instant::now();
        let never = std::future::pending::<()>();
        assert_eq!(
            tokio_timeout(Duration::from_millis(7), never).await,
            Err(Elapsed)
        );
        assert!(start.elapsed() >= Duration::from_millis(7));
    });
}

#[test]
fn timeouts_outside_tokio_work_with_any_executor() {
    // No tokio runtime here: the fast timer has its own thread and only needs a waker.
    let result = futures_lite_block_on(timeout(
        Duration::from_millis(12),
        std::future::pending::<()>(),
    ));
    assert_eq!(result, Err(Elapsed));
}

/// A minimal executor: parks the thread until the waker is called.
fn futures_lite_block_on<F: Future>(future: F) -> F::Output {
    struct ThreadWaker(std::thread::Thread);
    impl std::task::Wake for ThreadWaker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Arc::new(ThreadWaker(std::thread::current())).into();
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        std::thread::park();
    }
}
