//! Background services: one long-running task (health checks, cache warmers, log shippers).

use async_trait::async_trait;
use std::sync::Arc;

use super::{ServiceReadyNotifier, ServiceWithDependents};
#[cfg(unix)]
use crate::server::ListenFds;
use crate::server::ShutdownWatch;

/// A task that runs for the life of the server.
///
/// Implement [`start`](Self::start); it should return once `shutdown` turns `true`.
#[async_trait]
pub trait BackgroundService {
    /// Runs the task, calling `ready_notifier` when dependents may start. By default the
    /// service is ready at once and [`start`](Self::start) runs.
    async fn start_with_ready_notifier(
        &self,
        shutdown: ShutdownWatch,
        ready_notifier: ServiceReadyNotifier,
    ) {
        ready_notifier.notify_ready();
        self.start(shutdown).await
    }

    /// Runs the task until `shutdown` turns `true`. Does nothing by default.
    async fn start(&self, mut _shutdown: ShutdownWatch) {}
}

/// A [`BackgroundService`] wrapped as a service the server can run.
///
/// The task is shared: keep [`task`](Self::task) to reach it from other services.
pub struct GenBackgroundService<A> {
    name: String,
    task: Arc<A>,
    /// Worker threads of this service (1 by default).
    pub threads: Option<usize>,
}

impl<A> GenBackgroundService<A> {
    /// Wraps `task` under `name`.
    pub fn new(name: String, task: Arc<A>) -> Self {
        GenBackgroundService {
            name,
            task,
            threads: Some(1),
        }
    }

    /// The shared task.
    pub fn task(&self) -> Arc<A> {
        self.task.clone()
    }
}

#[async_trait]
impl<A> ServiceWithDependents for GenBackgroundService<A>
where
    A: BackgroundService + Send + Sync + 'static,
{
    async fn start_service(
        &mut self,
        #[cfg(unix)] _fds: Option<ListenFds>,
        shutdown: ShutdownWatch,
        _listeners_per_fd: usize,
        ready_notifier: ServiceReadyNotifier,
    ) {
        self.task
            .start_with_ready_notifier(shutdown, ready_notifier)
            .await
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn threads(&self) -> Option<usize> {
        self.threads
    }
}

/// Wraps `task` as a background service named `"BG {name}"`.
///
/// ```
/// use async_trait::async_trait;
/// use pingora_core::server::ShutdownWatch;
/// use pingora_core::services::background::{background_service, BackgroundService};
/// use pingora_core::services::ServiceWithDependents;
///
/// struct Heartbeat;
///
/// #[async_trait]
/// impl BackgroundService for Heartbeat {
///     async fn start(&self, mut shutdown: ShutdownWatch) {
///         let mut ticks = tokio::time::interval(std::time::Duration::from_secs(1));
///         loop {
///             tokio::select! {
///                 _ = shutdown.changed() => return,
///                 _ = ticks.tick() => log::info!("still alive"),
///             }
///         }
///     }
/// }
///
/// let service = background_service("heartbeat", Heartbeat);
/// assert_eq!(service.name(), "BG heartbeat");
/// ```
pub fn background_service<SV>(name: &str, task: SV) -> GenBackgroundService<SV> {
    GenBackgroundService::new(format!("BG {name}"), Arc::new(task))
}
