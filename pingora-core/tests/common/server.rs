//! A `Server` run on its own thread inside the test process, told to shut down through
//! `RunArgs` by the test instead of by process signals.

use async_trait::async_trait;
use pingora_core::server::{RunArgs, Server, ShutdownSignal, ShutdownSignalWatch};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Shutdown decisions sent by the test instead of signals.
struct TestSignal(tokio::sync::Mutex<mpsc::UnboundedReceiver<ShutdownSignal>>);

#[async_trait]
impl ShutdownSignalWatch for TestSignal {
    async fn recv(&self) -> ShutdownSignal {
        let next = self.0.lock().await.recv().await;
        next.unwrap_or(ShutdownSignal::FastShutdown)
    }
}

/// A server running on its own thread, stopped through `stop`.
pub struct Running {
    /// Delivers shutdown decisions to the server, as signals would.
    pub signals: mpsc::UnboundedSender<ShutdownSignal>,
    thread: JoinHandle<()>,
}

impl Running {
    /// Runs `server` on a new thread.
    pub fn start(server: Server) -> Self {
        let (signals, rx) = mpsc::unbounded_channel();
        let thread = std::thread::spawn(move || {
            server.run(RunArgs {
                shutdown_signal: Box::new(TestSignal(tokio::sync::Mutex::new(rx))),
            })
        });
        Running { signals, thread }
    }

    /// Sends `signal` and waits (bounded) for `run` to return; returns how long it took.
    pub fn stop(self, signal: ShutdownSignal, limit: Duration) -> Duration {
        let started = Instant::now();
        self.signals.send(signal).unwrap();
        while !self.thread.is_finished() {
            assert!(
                started.elapsed() < limit,
                "server did not stop within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        self.thread.join().unwrap();
        started.elapsed()
    }
}
