//! What tells a running server to stop or upgrade: Unix signals, or any source a user plugs in.

use async_trait::async_trait;
use tokio::signal::unix::{signal, SignalKind};

/// How the server should stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownSignal {
    /// Hand the listening sockets to a new process, keep serving a short while, then stop gracefully.
    GracefulUpgrade,
    /// Stop accepting, let in-flight work finish within the grace period, then stop.
    GracefulTerminate,
    /// Stop at once, cutting in-flight work.
    FastShutdown,
}

/// A source of the shutdown decision; [`Server::run`](super::Server::run) waits on it.
///
/// Tests and embedding programs implement it over a channel to stop a server without signals:
///
/// ```
/// use async_trait::async_trait;
/// use pingora_core::server::{ShutdownSignal, ShutdownSignalWatch};
/// use tokio::sync::Mutex;
/// use tokio::sync::mpsc::Receiver;
///
/// struct Remote(Mutex<Receiver<ShutdownSignal>>);
///
/// #[async_trait]
/// impl ShutdownSignalWatch for Remote {
///     async fn recv(&self) -> ShutdownSignal {
///         // a dropped sender means nobody can ask anymore: stop gracefully
///         self.0.lock().await.recv().await.unwrap_or(ShutdownSignal::GracefulTerminate)
///     }
/// }
/// ```
#[async_trait]
pub trait ShutdownSignalWatch {
    /// Waits for the next shutdown decision. Its first poll happens before any service starts,
    /// so registration done then cannot miss an early signal.
    async fn recv(&self) -> ShutdownSignal;
}

/// The default signal source: SIGQUIT upgrades, SIGTERM stops gracefully, SIGINT stops at once.
#[derive(Debug, Default, Clone, Copy)]
pub struct UnixShutdownSignalWatch;

#[async_trait]
impl ShutdownSignalWatch for UnixShutdownSignalWatch {
    async fn recv(&self) -> ShutdownSignal {
        let streams = (
            signal(SignalKind::quit()),
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        );
        let (Ok(mut quit), Ok(mut terminate), Ok(mut interrupt)) = streams else {
            log::error!(
                "cannot install signal handlers; only an external stop will end the server"
            );
            return std::future::pending().await;
        };
        tokio::select! {
            _ = quit.recv() => {
                log::info!("SIGQUIT received: graceful upgrade");
                ShutdownSignal::GracefulUpgrade
            }
            _ = terminate.recv() => {
                log::info!("SIGTERM received: graceful shutdown");
                ShutdownSignal::GracefulTerminate
            }
            _ = interrupt.recv() => {
                log::info!("SIGINT received: fast shutdown");
                ShutdownSignal::FastShutdown
            }
        }
    }
}
