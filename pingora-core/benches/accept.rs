//! Cost of serving a short connection (connect, 16-byte echo, close) through a
//! `listening::Service`, against a bare tokio accept loop doing the same work.
//!
//! ```text
//! cargo bench -p pingora-core --bench accept -- --warm-up-time 1 --measurement-time 3
//! ```

use async_trait::async_trait;
use criterion::{criterion_group, criterion_main, Criterion};
use pingora_core::apps::ServerApp;
use pingora_core::protocols::Stream;
use pingora_core::server::configuration::ServerConf;
use pingora_core::server::{RunArgs, Server, ShutdownSignal, ShutdownSignalWatch, ShutdownWatch};
use pingora_core::services::listening::Service;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, Mutex};

const MESSAGE: &[u8; 16] = b"0123456789abcdef";

async fn echo_once<S: AsyncReadExt + AsyncWriteExt + Unpin>(io: &mut S) {
    let mut buf = [0u8; 16];
    if io.read_exact(&mut buf).await.is_ok() {
        let _ = io.write_all(&buf).await;
    }
}

struct Echo;

#[async_trait]
impl ServerApp for Echo {
    async fn process_new(
        self: &Arc<Self>,
        mut io: Stream,
        _shutdown: &ShutdownWatch,
    ) -> Option<Stream> {
        echo_once(&mut io).await;
        None
    }
}

struct Stop(Mutex<mpsc::Receiver<ShutdownSignal>>);

#[async_trait]
impl ShutdownSignalWatch for Stop {
    async fn recv(&self) -> ShutdownSignal {
        self.0
            .lock()
            .await
            .recv()
            .await
            .unwrap_or(ShutdownSignal::FastShutdown)
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts a server with one echo service; returns its port and the means to stop it.
fn start_server(
    work_stealing: bool,
) -> (
    u16,
    mpsc::Sender<ShutdownSignal>,
    std::thread::JoinHandle<()>,
) {
    let port = free_port();
    let conf = ServerConf {
        threads: 1,
        work_stealing,
        ..ServerConf::default()
    };
    let mut server = Server::new_with_opt_and_conf(None, conf);
    let mut service = Service::new("bench echo".to_string(), Echo);
    service.add_tcp(&format!("127.0.0.1:{port}"));
    server.add_service(service);
    let (stop, rx) = mpsc::channel(1);
    let thread = std::thread::spawn(move || {
        server.run(RunArgs {
            shutdown_signal: Box::new(Stop(Mutex::new(rx))),
        })
    });
    (port, stop, thread)
}

/// A baseline: a bare accept loop on a one-worker runtime of the given flavour, on its own thread.
fn start_bare(
    multi_thread: bool,
) -> (
    u16,
    tokio::sync::oneshot::Sender<()>,
    std::thread::JoinHandle<()>,
) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let rt = if multi_thread {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
        } else {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
        }
        .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let accept = async move {
                while let Ok((mut stream, _)) = listener.accept().await {
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(async move { echo_once(&mut stream).await });
                }
            };
            tokio::select! {
                _ = accept => {}
                _ = stopped => {}
            }
        });
    });
    (port, stop, thread)
}

async fn one_connection(port: u16) {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    stream.set_nodelay(true).unwrap();
    stream.write_all(MESSAGE).await.unwrap();
    let mut buf = [0u8; 16];
    stream.read_exact(&mut buf).await.unwrap();
}

fn wait_until_listening(client: &tokio::runtime::Runtime, port: u16) {
    let started = Instant::now();
    client.block_on(async {
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "server did not start"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
}

fn short_connections(c: &mut Criterion) {
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("connect_echo_close");

    // Each server is measured right after its baseline of the same runtime flavour.
    let variants = [
        (
            "bare accept loop, multi-thread runtime (baseline)",
            None,
            true,
        ),
        ("listening::Service, work stealing", Some(true), true),
        (
            "bare accept loop, current-thread runtime (baseline)",
            None,
            false,
        ),
        ("listening::Service, no stealing", Some(false), false),
    ];
    for (label, server, multi_thread) in variants {
        match server {
            None => {
                let (port, stop, thread) = start_bare(multi_thread);
                wait_until_listening(&client, port);
                group.bench_function(label, |b| b.iter(|| client.block_on(one_connection(port))));
                let _ = stop.send(());
                thread.join().unwrap();
            }
            Some(work_stealing) => {
                let (port, stop, thread) = start_server(work_stealing);
                wait_until_listening(&client, port);
                group.bench_function(label, |b| b.iter(|| client.block_on(one_connection(port))));
                stop.blocking_send(ShutdownSignal::FastShutdown).unwrap();
                thread.join().unwrap();
            }
        }
    }
    group.finish();
}

criterion_group!(benches, short_connections);
criterion_main!(benches);
