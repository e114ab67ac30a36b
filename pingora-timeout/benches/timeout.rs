//! The fast timeout against `tokio::time::timeout`, on the same 2-thread tokio runtime and
//! in the same loops:
//! (a) around a future that is ready at once;
//! (b) around a future that is pending once, then ready (a timer is armed and cancelled);
//! (c) 10,000 concurrent tasks, each doing (b) 20 times.
//!
//! Run: `cargo bench -p pingora-timeout --bench timeout -- --warm-up-time 1 --measurement-time 3`
//!
//! After the criterion groups, a paired pass prints tokio's time / ours for each case:
//! it alternates short runs of the two (tokio, fast, fast, tokio, ...) and reports the
//! median ratio of neighbouring runs, so that load from other processes on a shared
//! machine hits both sides alike. Skipped when a criterion filter
//! argument is given, unless it is `paired` (which runs only this pass).

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use criterion::{criterion_group, BenchmarkId, Criterion};
use tokio::runtime::Runtime;

/// Long enough never to fire during a benchmark.
const DEADLINE: Duration = Duration::from_secs(5);
const TASKS: usize = 10_000;
const ROUNDS_PER_TASK: usize = 20;

/// Returns `Pending` once (waking itself at once), then `Ready`.
struct PendingOnce(bool);

impl Future for PendingOnce {
    type Output = u32;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        if self.0 {
            Poll::Ready(1)
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .expect("a 2-thread runtime can be built")
}

/// Which timeout implementation a loop uses. A macro keeps both loops identical.
#[derive(Clone, Copy, Debug)]
enum Timer {
    Tokio,
    Fast,
}

impl Timer {
    const ALL: [Timer; 2] = [Timer::Tokio, Timer::Fast];

    fn name(self) -> &'static str {
        match self {
            Timer::Tokio => "tokio::time::timeout",
            Timer::Fast => "pingora_timeout::timeout",
        }
    }
}

macro_rules! with_timeout {
    ($timer:expr, $future:expr) => {
        match $timer {
            Timer::Tokio => tokio::time::timeout(DEADLINE, $future).await.is_ok(),
            Timer::Fast => pingora_timeout::timeout(DEADLINE, $future).await.is_ok(),
        }
    };
}

/// Runs `iters` timeouts in one task on a runtime worker and returns the time they took.
fn sequential(runtime: &Runtime, timer: Timer, iters: u64, pending_once: bool) -> Duration {
    let task = runtime.spawn(async move {
        let start = Instant::now();
        for _ in 0..iters {
            let ok = if pending_once {
                with_timeout!(timer, PendingOnce(false))
            } else {
                with_timeout!(timer, std::future::ready(1u32))
            };
            black_box(ok);
        }
        start.elapsed()
    });
    runtime
        .block_on(task)
        .expect("benchmark task does not panic")
}

/// Runs `TASKS` tasks, each doing `ROUNDS_PER_TASK` pending-once timeouts, `iters` times.
fn concurrent(runtime: &Runtime, timer: Timer, iters: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        runtime.block_on(async {
            let tasks: Vec<_> = (0..TASKS)
                .map(|_| {
                    tokio::spawn(async move {
                        for _ in 0..ROUNDS_PER_TASK {
                            black_box(with_timeout!(timer, PendingOnce(false)));
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await.expect("benchmark task does not panic");
            }
        });
    }
    start.elapsed()
}

fn bench_timeouts(c: &mut Criterion) {
    let runtime = runtime();

    let mut group = c.benchmark_group("a_ready_at_once");
    for timer in Timer::ALL {
        group.bench_function(BenchmarkId::from_parameter(timer.name()), |b| {
            b.iter_custom(|iters| sequential(&runtime, timer, iters, false))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("b_pending_once");
    for timer in Timer::ALL {
        group.bench_function(BenchmarkId::from_parameter(timer.name()), |b| {
            b.iter_custom(|iters| sequential(&runtime, timer, iters, true))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("c_10k_tasks_x20_pending_once");
    group.sample_size(10);
    for timer in Timer::ALL {
        group.bench_function(BenchmarkId::from_parameter(timer.name()), |b| {
            b.iter_custom(|iters| concurrent(&runtime, timer, iters))
        });
    }
    group.finish();
}

/// Median over `pairs` of (tokio time / fast time), each pair run in alternating order.
fn paired_ratio(pairs: usize, mut run: impl FnMut(Timer) -> Duration) -> f64 {
    let mut ratios: Vec<f64> = (0..pairs)
        .map(|pair| {
            let (tokio, fast) = if pair % 2 == 0 {
                let tokio = run(Timer::Tokio);
                (tokio, run(Timer::Fast))
            } else {
                let fast = run(Timer::Fast);
                (run(Timer::Tokio), fast)
            };
            tokio.as_secs_f64() / fast.as_secs_f64()
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    ratios[ratios.len() / 2]
}

fn print_paired_ratios() {
    let runtime = runtime();
    let ready = paired_ratio(41, |timer| sequential(&runtime, timer, 200_000, false));
    let pending = paired_ratio(41, |timer| sequential(&runtime, timer, 50_000, true));
    let concurrent = paired_ratio(15, |timer| concurrent(&runtime, timer, 1));
    println!("paired median ratio, tokio::time::timeout time / pingora_timeout::timeout time:");
    println!("  (a) ready at once:                {ready:.2}");
    println!("  (b) pending once:                 {pending:.2}");
    println!("  (c) 10,000 tasks x 20 (b):        {concurrent:.2}");
}

criterion_group!(benches, bench_timeouts);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    // A positional argument is a criterion filter: the caller wants a subset only, which
    // includes the paired pass only if the filter is `paired`.
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with('-') && arg.parse::<f64>().is_err())
        .collect();
    if filters.is_empty() || filters.iter().any(|filter| filter == "paired") {
        print_paired_ratios();
    }
}
