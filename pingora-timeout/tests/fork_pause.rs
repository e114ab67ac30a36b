//! `pause_for_fork` / `unpause` against the real driver thread. One test, in its own process,
//! because pausing stops the timers of the whole process.

use std::time::{Duration, Instant};

use pingora_timeout::fast_timeout::{pause_for_fork, unpause};
use pingora_timeout::timer::TimerManager;
use pingora_timeout::{sleep, timeout};

/// Whether a thread named like the timer driver exists in this process.
#[cfg(target_os = "linux")]
fn timer_thread_exists() -> bool {
    let tasks = std::fs::read_dir("/proc/self/task").expect("procfs is mounted");
    tasks.flatten().any(|task| {
        std::fs::read_to_string(task.path().join("comm"))
            .map(|name| name.trim() == "pingora-timer")
            .unwrap_or(false)
    })
}

#[cfg(not(target_os = "linux"))]
fn timer_thread_exists() -> bool {
    TimerManager::global().armed_timers() > 0 || !TimerManager::global().is_paused_for_fork()
}

/// Polls until the driver thread exists (`true`) or not (`false`), for at most 5 s; whether
/// it then is as wanted. A new thread names itself shortly after it starts; a joined thread
/// leaves `/proc/self/task` shortly after the join returns (the kernel lets the joiner go when
/// the thread's memory is released, a moment before it removes the task).
fn timer_thread_becomes(wanted: bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5) {
        if timer_thread_exists() == wanted {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    false
}

#[test]
fn pause_stops_the_timer_thread_and_unpause_resumes_pending_timers() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .expect("a 2-thread runtime can be built");
    let manager = TimerManager::global();

    // Safe before any timer exists; arming while paused starts no thread.
    assert!(!timer_thread_exists());
    pause_for_fork();
    pause_for_fork();
    assert!(manager.is_paused_for_fork());
    let waiting = runtime.spawn(async {
        let start = Instant::now();
        sleep(Duration::from_millis(20)).await;
        start.elapsed()
    });
    let paused_at = Instant::now();
    while manager.armed_timers() == 0 {
        assert!(
            paused_at.elapsed() < Duration::from_secs(5),
            "sleep never armed"
        );
        std::thread::yield_now();
    }
    std::thread::sleep(Duration::from_millis(40));
    assert!(!waiting.is_finished(), "a paused timer does not fire");
    assert!(!timer_thread_exists());

    // Unpausing starts a driver that fires the timer armed meanwhile.
    unpause();
    assert!(!manager.is_paused_for_fork());
    let waited = runtime
        .block_on(waiting)
        .expect("the sleeping task does not panic");
    assert!(waited >= Duration::from_millis(40));
    assert!(timer_thread_becomes(true));

    // Pausing a running driver joins its thread; unpausing restarts it.
    pause_for_fork();
    assert!(timer_thread_becomes(false));
    unpause();
    assert!(timer_thread_becomes(true));
    let result = runtime.block_on(timeout(
        Duration::from_millis(15),
        std::future::pending::<()>(),
    ));
    assert!(result.is_err());

    // Unpausing when not paused does nothing.
    unpause();
    assert!(!manager.is_paused_for_fork());
}
