//! A line echo server built on `ServerApp`.
//!
//! ```text
//! ECHO_ADDR=127.0.0.1:6142 cargo run -p pingora-core --example echo -- -c conf.yaml
//! printf 'hello\n' | nc 127.0.0.1 6142
//! ```
//!
//! Every line sent comes back. Two lines do more, for trying out the server's lifecycle:
//! `sleep <ms>` answers after that many milliseconds (a slow request) and `panic` panics
//! inside the connection task (only that connection closes). Options: `-c` config file,
//! `-d` daemon, `-u` take over the sockets of a running instance, `-t` test the config.
//! `ECHO_ADDR` is the TCP address (default `127.0.0.1:6142`); `ECHO_UDS` adds a Unix socket;
//! `ECHO_BOOTSTRAP_AS_SERVICE=1` bootstraps in a service (after a daemon forks).

use async_trait::async_trait;
use pingora_core::apps::ServerApp;
use pingora_core::prelude::*;
use pingora_core::protocols::Stream;
use pingora_core::server::ShutdownWatch;
use pingora_core::services::listening::Service;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Echoes lines; closes an idle connection once the server shuts down.
struct EchoApp;

#[async_trait]
impl ServerApp for EchoApp {
    async fn process_new(
        self: &Arc<Self>,
        mut io: Stream,
        shutdown: &ShutdownWatch,
    ) -> Option<Stream> {
        let mut shutdown = shutdown.clone();
        let mut line = Vec::with_capacity(256);
        let mut buf = [0u8; 4096];
        let mut answered = 0usize;
        loop {
            // A shutdown closes a kept-alive connection between requests. A new connection
            // still gets its first answer, and a request being read is finished.
            let idle = line.is_empty() && answered > 0;
            if idle && *shutdown.borrow_and_update() {
                return None;
            }
            let read = tokio::select! {
                read = io.read(&mut buf) => read,
                _ = shutdown.changed(), if idle => continue,
            };
            let n = match read {
                Ok(0) | Err(_) => return None,
                Ok(n) => n,
            };
            line.extend_from_slice(&buf[..n]);
            while let Some(end) = line.iter().position(|&b| b == b'\n') {
                let request: Vec<u8> = line.drain(..=end).collect();
                answer(&mut io, &request).await.ok()?;
                answered += 1;
            }
        }
    }
}

async fn answer(io: &mut Stream, request: &[u8]) -> std::io::Result<()> {
    let text = String::from_utf8_lossy(request);
    if let Some(ms) = text.trim().strip_prefix("sleep ") {
        let ms = ms.parse().unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(ms)).await;
    } else if text.trim() == "panic" {
        panic!("asked to panic");
    }
    io.write_all(request).await
}

/// Prints log lines to stderr (which daemon mode appends to `error_log`).
struct StderrLogger(log::LevelFilter);

impl log::Log for StderrLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= self.0
    }
    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            eprintln!(
                "[{} {} pid={}] {}",
                record.level(),
                record.target(),
                std::process::id(),
                record.args()
            );
        }
    }
    fn flush(&self) {}
}

fn main() {
    let level = std::env::var("RUST_LOG")
        .ok()
        .and_then(|l| l.parse().ok())
        .unwrap_or(log::LevelFilter::Info);
    let logger: &'static StderrLogger = Box::leak(Box::new(StderrLogger(level)));
    if log::set_logger(logger).is_ok() {
        log::set_max_level(level);
    }

    let opt = Opt::parse_args();
    let mut server = match Server::new(Some(opt)) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("cannot start: {e}");
            std::process::exit(1);
        }
    };
    // Bootstrapping as a service runs it after a daemon forked, which is what lets the
    // launching process wait for readiness (`daemon_wait_for_ready`).
    let bootstrap = if std::env::var_os("ECHO_BOOTSTRAP_AS_SERVICE").is_some() {
        Some(server.bootstrap_as_a_service())
    } else {
        server.bootstrap();
        None
    };

    let mut echo = Service::new("echo".to_string(), EchoApp);
    echo.add_tcp(&std::env::var("ECHO_ADDR").unwrap_or_else(|_| "127.0.0.1:6142".into()));
    if let Ok(path) = std::env::var("ECHO_UDS") {
        echo.add_uds(&path, None);
    }
    let echo = server.add_service(echo);
    if let Some(bootstrap) = bootstrap {
        echo.add_dependency(bootstrap);
    }
    server.run_forever();
}
