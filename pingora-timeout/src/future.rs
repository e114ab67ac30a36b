//! The [`Timeout`] future, the [`ToTimeout`] trait for the timers it can run on, and the
//! [`Elapsed`] error it fails with.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;

/// A timer that a [`Timeout`] can race its future against.
///
/// Implementations should do no work until first polled (a timeout whose future finishes
/// at once should cost nothing) and must release whatever they registered when dropped.
/// The crate provides [`FastTimeout`](crate::fast_timeout::FastTimeout) and
/// [`TokioTimeout`](crate::TokioTimeout).
pub trait ToTimeout: Future<Output = ()> {
    /// Creates a timer that completes `duration` after it is first polled.
    fn create(duration: Duration) -> Self;
}

/// The error of a [`Timeout`] whose timer fired before its future finished.
///
/// ```
/// use pingora_timeout::Elapsed;
///
/// assert_eq!(Elapsed.to_string(), "Timeout Elapsed");
/// let io: std::io::Error = Elapsed.into();
/// assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Elapsed;

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Timeout Elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(elapsed: Elapsed) -> Self {
        std::io::Error::new(std::io::ErrorKind::TimedOut, elapsed)
    }
}

pin_project! {
    /// A future that runs `T` against a timer `F`: it resolves to `Ok(output)` if `T`
    /// finishes first and to `Err(Elapsed)` if the timer fires first.
    ///
    /// Built by [`timeout`](crate::timeout) (fast timer),
    /// [`tokio_timeout`](crate::tokio_timeout) (tokio timer) or [`Timeout::new`] (any
    /// [`ToTimeout`]). `T` is always polled before the timer, so a future that is ready
    /// wins even if its deadline has passed. Dropping the `Timeout` cancels both.
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    #[derive(Debug)]
    pub struct Timeout<T, F> {
        #[pin]
        value: T,
        #[pin]
        delay: F,
    }
}

impl<T: Future, F: ToTimeout> Timeout<T, F> {
    /// Wraps `future` with a timer of type `F` that fires `duration` after the first poll.
    ///
    /// ```
    /// use std::time::Duration;
    /// use pingora_timeout::{fast_timeout::FastTimeout, Timeout};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let guarded = Timeout::<_, FastTimeout>::new(Duration::from_secs(1), async { "done" });
    /// assert_eq!(guarded.await, Ok("done"));
    /// # }
    /// ```
    pub fn new(duration: Duration, future: T) -> Self {
        Timeout {
            value: future,
            delay: F::create(duration),
        }
    }
}

impl<T, F> Timeout<T, F> {
    /// The wrapped future.
    pub fn get_ref(&self) -> &T {
        &self.value
    }

    /// The wrapped future, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.value
    }

    /// Gives the wrapped future back, cancelling the timer.
    pub fn into_inner(self) -> T {
        self.value
    }
}

impl<T: Future, F: ToTimeout> Future for Timeout<T, F> {
    type Output = Result<T::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(output) = this.value.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        match this.delay.poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed)),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    /// A timer that has always fired: isolates `Timeout`'s own logic.
    struct AlreadyFired;

    impl Future for AlreadyFired {
        type Output = ();
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            Poll::Ready(())
        }
    }

    impl ToTimeout for AlreadyFired {
        fn create(_: Duration) -> Self {
            AlreadyFired
        }
    }

    fn poll_once<T: Future + Unpin>(future: &mut T) -> Poll<T::Output> {
        Pin::new(future).poll(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn ready_future_wins_over_a_fired_timer() {
        let mut guarded = Timeout::<_, AlreadyFired>::new(Duration::ZERO, std::future::ready(7));
        assert_eq!(poll_once(&mut guarded), Poll::Ready(Ok(7)));
    }

    #[test]
    fn pending_future_loses_to_a_fired_timer() {
        let mut guarded =
            Timeout::<_, AlreadyFired>::new(Duration::ZERO, std::future::pending::<()>());
        assert_eq!(poll_once(&mut guarded), Poll::Ready(Err(Elapsed)));
    }

    #[test]
    fn elapsed_displays_as_specified_and_is_an_error() {
        let error: Box<dyn std::error::Error + Send + Sync> = Box::new(Elapsed);
        assert_eq!(error.to_string(), "Timeout Elapsed");
    }

    #[test]
    fn inner_future_can_be_taken_back() {
        let guarded = Timeout::<_, AlreadyFired>::new(Duration::ZERO, std::future::ready(3));
        assert_eq!(guarded.get_ref().clone().into_inner(), 3);
        assert_eq!(guarded.into_inner().into_inner(), 3);
    }
}
