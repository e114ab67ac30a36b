//! Timeouts and sleeps on the shared, coarse [`timer`](crate::timer) wheel: cheap to
//! create and to cancel, precise to one [`TICK`](crate::timer::TICK) (10 ms).
//!
//! A fast timer does nothing until it is first polled while its future is pending: a
//! future that is ready at once never reads the clock or touches the wheel. Its deadline
//! counts from that first pending poll, rounded up to the next tick, so it never fires
//! early and fires at most about one tick late.
//!
//! ```
//! use std::time::Duration;
//! use pingora_timeout::fast_timeout::{fast_sleep, fast_timeout};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let slow = fast_sleep(Duration::from_secs(60));
//! assert!(fast_timeout(Duration::from_millis(20), slow).await.is_err());
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::timer::{TimerEntry, TimerManager};
use crate::{Timeout, ToTimeout};

/// Wraps `future` so that it fails with [`Elapsed`](crate::Elapsed) if it does not finish
/// within `duration`, using the shared fast timer.
///
/// The same as [`crate::timeout`].
///
/// ```
/// use std::time::Duration;
/// use pingora_timeout::fast_timeout::fast_timeout;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let answer = fast_timeout(Duration::from_secs(1), async { 42 }).await;
/// assert_eq!(answer, Ok(42));
/// # }
/// ```
pub fn fast_timeout<T: Future>(duration: Duration, future: T) -> Timeout<T, FastTimeout> {
    Timeout::new(duration, future)
}

/// Waits until `duration` has passed, on the shared fast timer: at least `duration`,
/// and about one [`TICK`](crate::timer::TICK) more at most.
///
/// The returned future is cheap to create and to drop before it completes.
///
/// ```
/// use std::time::{Duration, Instant};
/// use pingora_timeout::fast_timeout::fast_sleep;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let start = Instant::now();
/// fast_sleep(Duration::from_millis(30)).await;
/// assert!(start.elapsed() >= Duration::from_millis(30));
/// # }
/// ```
pub fn fast_sleep(duration: Duration) -> FastTimeout {
    FastTimeout::create(duration)
}

/// Stops the fast timer's background thread (waiting for it to exit) so that the process
/// can `fork()` — for example to daemonize — without a timer thread or a timer lock held.
///
/// Call [`unpause`] afterwards, in whichever process goes on using fast timers. Timers
/// armed while paused do not fire until then. Safe to call when no timer thread was ever
/// started, and more than once.
///
/// ```
/// use pingora_timeout::fast_timeout::{pause_for_fork, unpause};
///
/// pause_for_fork();
/// // fork() or daemonize here
/// unpause();
/// ```
pub fn pause_for_fork() {
    TimerManager::global().pause_for_fork();
}

/// Restarts the fast timer's background thread after [`pause_for_fork`]; does nothing if
/// the timer is not paused.
pub fn unpause() {
    TimerManager::global().unpause();
}

/// A timer on the shared fast wheel: the [`ToTimeout`] behind [`fast_timeout`] and the
/// future returned by [`fast_sleep`].
///
/// It arms itself on its first poll and disarms itself when dropped.
pub struct FastTimeout {
    duration: Duration,
    state: State,
}

enum State {
    /// Not polled yet: no clock read, nothing registered.
    Unarmed,
    Armed(TimerEntry),
    Fired,
}

impl ToTimeout for FastTimeout {
    fn create(duration: Duration) -> Self {
        FastTimeout {
            duration,
            state: State::Unarmed,
        }
    }
}

impl Future for FastTimeout {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let fired = match &this.state {
            State::Fired => return Poll::Ready(()),
            State::Armed(entry) => entry.poll_fired(cx).is_ready(),
            State::Unarmed => match TimerManager::global().arm(this.duration, cx.waker()) {
                Some(entry) => {
                    this.state = State::Armed(entry);
                    false
                }
                None => true,
            },
        };
        if fired {
            this.state = State::Fired;
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl fmt::Debug for FastTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Unarmed => "unarmed",
            State::Armed(_) => "armed",
            State::Fired => "fired",
        };
        f.debug_struct("FastTimeout")
            .field("duration", &self.duration)
            .field("state", &state)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    #[test]
    fn creating_a_timer_does_not_arm_it() {
        let timer = fast_sleep(Duration::from_secs(5));
        assert!(matches!(timer.state, State::Unarmed));
    }

    #[test]
    fn zero_duration_fires_on_first_poll_or_soon_after() {
        // A zero deadline is either already behind the driver (ready at once) or armed
        // for the current tick; both must resolve without waiting for another timer.
        let mut timer = fast_sleep(Duration::ZERO);
        let mut cx = Context::from_waker(Waker::noop());
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while Pin::new(&mut timer).poll(&mut cx).is_pending() {
            assert!(
                std::time::Instant::now() < deadline,
                "zero timer never fired"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(matches!(timer.state, State::Fired));
    }

    #[test]
    fn fast_timer_is_send_sync_and_unpin() {
        fn assert_traits<T: Send + Sync + Unpin>() {}
        assert_traits::<FastTimeout>();
    }
}
