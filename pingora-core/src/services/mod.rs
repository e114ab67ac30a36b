//! Services: the units of work a [`Server`](crate::server::Server) runs, each on its own threads.
//!
//! A [`listening::Service`] accepts connections and hands them to an app; a
//! [`background::GenBackgroundService`] runs one long task. Anything else implements
//! [`Service`] (or [`ServiceWithDependents`] when other services wait for it to be ready).

pub mod background;
mod catch_panic;
mod handle;
pub mod listening;

use async_trait::async_trait;
use std::time::Duration;
use tokio::sync::watch;

#[cfg(unix)]
use crate::server::ListenFds;
use crate::server::ShutdownWatch;

pub(crate) use catch_panic::CatchPanic;
pub(crate) use handle::DependencyGraph;
pub use handle::ServiceHandle;

/// A unit of work the server starts on its own runtime and stops at shutdown.
///
/// ```
/// use async_trait::async_trait;
/// use pingora_core::server::{ListenFds, ShutdownWatch};
/// use pingora_core::services::Service;
///
/// struct Ticker;
///
/// #[async_trait]
/// impl Service for Ticker {
///     async fn start_service(
///         &mut self,
///         _fds: Option<ListenFds>,
///         mut shutdown: ShutdownWatch,
///         _listeners_per_fd: usize,
///     ) {
///         // work until the server shuts down
///         let _ = shutdown.changed().await;
///     }
///     fn name(&self) -> &str {
///         "ticker"
///     }
/// }
/// ```
#[async_trait]
pub trait Service: Sync + Send {
    /// Runs the service until `shutdown` turns `true`, then returns once its work is done.
    ///
    /// `fds` holds the listening sockets inherited from an old process (graceful upgrade) and
    /// collects the ones this service binds. `listeners_per_fd` is the configured number of
    /// accept tasks per listening socket.
    async fn start_service(
        &mut self,
        #[cfg(unix)] _fds: Option<ListenFds>,
        _shutdown: ShutdownWatch,
        _listeners_per_fd: usize,
    ) {
    }

    /// The service's name; its first 16 characters name its threads.
    fn name(&self) -> &str;

    /// Worker threads this service wants; `None` uses the configured `threads`.
    fn threads(&self) -> Option<usize> {
        None
    }

    /// Called when the service had to wait this long for the services it depends on.
    fn on_startup_delay(&self, time_waited: Duration) {
        log::info!(
            "service {} waited {time_waited:?} for its dependencies",
            self.name()
        );
    }
}

/// A service that tells the server when it is ready, so that services depending on it start
/// only afterwards.
///
/// Every [`Service`] is one of these, ready as soon as it starts.
#[async_trait]
pub trait ServiceWithDependents: Send + Sync {
    /// Runs the service until `shutdown` turns `true`; calls (or drops) `ready_notifier` once
    /// dependents may start.
    async fn start_service(
        &mut self,
        #[cfg(unix)] fds: Option<ListenFds>,
        shutdown: ShutdownWatch,
        listeners_per_fd: usize,
        ready_notifier: ServiceReadyNotifier,
    );

    /// The service's name; its first 16 characters name its threads.
    fn name(&self) -> &str;

    /// Worker threads this service wants; `None` uses the configured `threads`.
    fn threads(&self) -> Option<usize> {
        None
    }

    /// Called when the service had to wait this long for the services it depends on.
    fn on_startup_delay(&self, time_waited: Duration) {
        log::info!(
            "service {} waited {time_waited:?} for its dependencies",
            self.name()
        );
    }
}

#[async_trait]
impl<S: Service> ServiceWithDependents for S {
    async fn start_service(
        &mut self,
        #[cfg(unix)] fds: Option<ListenFds>,
        shutdown: ShutdownWatch,
        listeners_per_fd: usize,
        ready_notifier: ServiceReadyNotifier,
    ) {
        ready_notifier.notify_ready();
        Service::start_service(
            self,
            #[cfg(unix)]
            fds,
            shutdown,
            listeners_per_fd,
        )
        .await
    }

    fn name(&self) -> &str {
        Service::name(self)
    }

    fn threads(&self) -> Option<usize> {
        Service::threads(self)
    }

    fn on_startup_delay(&self, time_waited: Duration) {
        Service::on_startup_delay(self, time_waited)
    }
}

/// Tells the server that a service is ready; dropping it without calling
/// [`notify_ready`](Self::notify_ready) counts as ready too.
#[derive(Debug)]
pub struct ServiceReadyNotifier {
    sender: watch::Sender<bool>,
}

impl ServiceReadyNotifier {
    /// Wraps the sender whose value turns `true` when the service is ready.
    pub fn new(sender: watch::Sender<bool>) -> Self {
        ServiceReadyNotifier { sender }
    }

    /// Marks the service ready, releasing the services that depend on it.
    pub fn notify_ready(self) {
        // Drop does the work, so that forgetting to call this cannot block dependents.
    }
}

impl Drop for ServiceReadyNotifier {
    fn drop(&mut self) {
        self.sender.send_replace(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifier_signals_ready_when_called_or_dropped() {
        let (tx, rx) = watch::channel(false);
        ServiceReadyNotifier::new(tx).notify_ready();
        assert!(*rx.borrow());
        let (tx, rx) = watch::channel(false);
        drop(ServiceReadyNotifier::new(tx));
        assert!(*rx.borrow());
    }
}
