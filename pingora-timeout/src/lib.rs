//! Cheap timeouts for async code that sets one on almost every operation.
//!
//! A proxy puts a timeout on every read, write and connect, and almost none of them ever
//! fires. This crate's [`timeout`] is a drop-in for `tokio::time::timeout` built for that
//! pattern:
//!
//! - a future that is ready at once costs nothing beyond its own poll — no clock read, no
//!   timer registration;
//! - a timer is armed only when the future first returns `Pending`, in a timer wheel
//!   shard owned by the current thread, without allocating or taking a global lock, and
//!   cancelling it is an O(1) unlink;
//! - deadlines are rounded up to 10 ms [ticks](timer::TICK), all timers due in the same
//!   tick are fired by the same step of one background thread, and a timer never fires
//!   early.
//!
//! [`tokio_timeout`] keeps tokio's own 1 ms timer for the rare caller that needs it.
//!
//! ```
//! use std::time::Duration;
//! use pingora_timeout::{sleep, timeout, Elapsed};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // The future finishes first: its output comes back.
//! let fast = timeout(Duration::from_secs(1), async { "response" }).await;
//! assert_eq!(fast, Ok("response"));
//!
//! // The timer fires first: the future is dropped and `Elapsed` comes back.
//! let slow = timeout(Duration::from_millis(20), sleep(Duration::from_secs(60))).await;
//! assert_eq!(slow, Err(Elapsed));
//! # }
//! ```
//!
//! The fast timers work on any executor, and on tokio's multi-thread and current-thread
//! runtimes alike: a task may arm a timer on one thread and be woken, polled or dropped on
//! another. A process that forks (for example to daemonize) should call
//! [`fast_timeout::pause_for_fork`] before and [`fast_timeout::unpause`] after.
//!
//! # Cargo features
//!
//! None. The crate depends on `tokio` (feature `time`, for [`TokioTimeout`]) and
//! `pin-project-lite`.

#![warn(missing_docs, unreachable_pub)]

pub mod fast_timeout;
mod future;
pub mod timer;
mod tokio_timer;

use std::future::Future;
use std::time::Duration;

use fast_timeout::FastTimeout;
pub use future::{Elapsed, Timeout, ToTimeout};
pub use tokio_timer::TokioTimeout;

/// Wraps `future` so that it fails with [`Elapsed`] if it does not finish within
/// `duration`, using the shared fast timer (10 ms resolution, never early).
///
/// The clock starts when the returned future is first polled and `future` is not ready.
///
/// ```
/// use std::time::Duration;
/// use pingora_timeout::timeout;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let read = async { Ok::<_, std::io::Error>(512) };
/// match timeout(Duration::from_secs(30), read).await {
///     Ok(Ok(bytes)) => assert_eq!(bytes, 512),
///     Ok(Err(io_error)) => panic!("read failed: {io_error}"),
///     Err(elapsed) => panic!("{elapsed}"),
/// }
/// # }
/// ```
pub fn timeout<T: Future>(duration: Duration, future: T) -> Timeout<T, FastTimeout> {
    fast_timeout::fast_timeout(duration, future)
}

/// Waits until `duration` has passed, on the shared fast timer: at least `duration`, and
/// at most about one 10 ms tick more.
///
/// ```
/// use std::time::{Duration, Instant};
/// use pingora_timeout::sleep;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let start = Instant::now();
/// sleep(Duration::from_millis(25)).await;
/// assert!(start.elapsed() >= Duration::from_millis(25));
/// # }
/// ```
pub async fn sleep(duration: Duration) {
    fast_timeout::fast_sleep(duration).await
}

/// Wraps `future` so that it fails with [`Elapsed`] if it does not finish within
/// `duration`, using tokio's timer (1 ms resolution; one tokio timer per call).
///
/// Must be polled inside a tokio runtime with the time driver enabled.
///
/// ```
/// use std::time::Duration;
/// use pingora_timeout::tokio_timeout;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let never = std::future::pending::<()>();
/// assert!(tokio_timeout(Duration::from_millis(5), never).await.is_err());
/// # }
/// ```
pub fn tokio_timeout<T: Future>(duration: Duration, future: T) -> Timeout<T, TokioTimeout> {
    Timeout::new(duration, future)
}
