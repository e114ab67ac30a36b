//! A future wrapper that turns a panic inside a task into a logged error.

use std::any::Any;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// Runs a future; if polling it panics, logs the panic with `what` and completes.
///
/// Only that task's resources (its sockets) are dropped; the runtime and the process go on.
pub(crate) struct CatchPanic<F> {
    inner: Pin<Box<F>>,
    what: &'static str,
    name: Arc<str>,
}

impl<F: Future<Output = ()>> CatchPanic<F> {
    /// Wraps `inner`; `what` and `name` describe the task in the log line.
    pub(crate) fn new(inner: F, what: &'static str, name: Arc<str>) -> Self {
        CatchPanic {
            inner: Box::pin(inner),
            what,
            name,
        }
    }
}

impl<F: Future<Output = ()>> Future for CatchPanic<F> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        // The future is dropped right after a panic and never polled again, so no broken
        // state it might hold can be observed.
        match catch_unwind(AssertUnwindSafe(|| this.inner.as_mut().poll(cx))) {
            Ok(poll) => poll,
            Err(payload) => {
                log::error!(
                    "{} of service {} panicked: {}",
                    this.what,
                    this.name,
                    panic_message(payload.as_ref())
                );
                Poll::Ready(())
            }
        }
    }
}

/// The text of a panic payload, when it has one.
fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(text) = payload.downcast_ref::<&'static str>() {
        text
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text
    } else {
        "(non-text panic payload)"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_task_completes_instead_of_unwinding() {
        let ok = tokio::spawn(CatchPanic::new(
            async { panic!("boom") },
            "connection task",
            "test".into(),
        ))
        .await;
        assert!(ok.is_ok());
    }
}
