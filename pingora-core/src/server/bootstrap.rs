//! Bootstrap done as a service: receiving an old process's listening sockets after a daemon
//! forked, then telling a waiting launcher that the daemon is ready.

use async_trait::async_trait;
use tokio::sync::broadcast;

use super::{daemon, ExecutionPhase, Fds, ListenFds, ShutdownWatch};
use crate::services::background::BackgroundService;
use crate::services::ServiceReadyNotifier;

/// The work of [`Server::bootstrap`] done as a background service.
pub(crate) struct BootstrapTask {
    pub(crate) upgrade: bool,
    pub(crate) upgrade_sock: String,
    pub(crate) attempts: usize,
    pub(crate) fds: ListenFds,
    pub(crate) phase: broadcast::Sender<ExecutionPhase>,
}

#[async_trait]
impl BackgroundService for BootstrapTask {
    async fn start_with_ready_notifier(
        &self,
        mut shutdown: ShutdownWatch,
        ready: ServiceReadyNotifier,
    ) {
        let _ = self.phase.send(ExecutionPhase::Bootstrap);
        if self.upgrade {
            let (path, attempts) = (self.upgrade_sock.clone(), self.attempts);
            let received =
                tokio::task::spawn_blocking(move || Fds::receive_from_sock(&path, attempts)).await;
            match received {
                Ok(Ok(received)) => {
                    log::info!(
                        "received {} listening sockets from the old process",
                        received.len()
                    );
                    *self.fds.lock() = received;
                }
                Ok(Err(e)) => {
                    log::error!("graceful upgrade failed: {e}");
                    std::process::exit(1);
                }
                Err(e) => {
                    log::error!("graceful upgrade failed: {e}");
                    std::process::exit(1);
                }
            }
        }
        let _ = self.phase.send(ExecutionPhase::BootstrapComplete);
        daemon::notify_ready_parent();
        ready.notify_ready();
        let _ = shutdown.changed().await;
    }
}
