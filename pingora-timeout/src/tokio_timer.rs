//! [`TokioTimeout`]: the plain fallback timer, one `tokio::time::Sleep` per timeout.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;
use tokio::time::Sleep;

use crate::ToTimeout;

pin_project! {
    /// A timer backed by tokio's own timer, with tokio's 1 ms resolution; the
    /// [`ToTimeout`] behind [`tokio_timeout`](crate::tokio_timeout).
    ///
    /// The `tokio::time::Sleep` is created on the first poll, which must happen inside a
    /// tokio runtime with the time driver enabled (tokio panics otherwise).
    #[derive(Debug)]
    pub struct TokioTimeout {
        duration: Duration,
        #[pin]
        sleep: Option<Sleep>,
    }
}

impl ToTimeout for TokioTimeout {
    fn create(duration: Duration) -> Self {
        TokioTimeout {
            duration,
            sleep: None,
        }
    }
}

impl Future for TokioTimeout {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        if this.sleep.is_none() {
            this.sleep.set(Some(tokio::time::sleep(*this.duration)));
        }
        match this.sleep.as_pin_mut() {
            Some(sleep) => sleep.poll(cx),
            // Unreachable: the timer was created just above.
            None => Poll::Ready(()),
        }
    }
}
