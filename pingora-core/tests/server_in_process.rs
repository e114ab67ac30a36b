//! A `Server` embedded in a test process: runtimes, services, panics, dependencies and
//! shutdown driven through `RunArgs` instead of signals.

mod common {
    pub mod net;
    pub mod server;
    pub mod temp_dir;
}

use async_trait::async_trait;
use common::net::free_port;
use common::server::Running;
use common::temp_dir::TempDir;
use pingora_core::apps::ServerApp;
use pingora_core::protocols::Stream;
use pingora_core::server::configuration::ServerConf;
use pingora_core::server::{Server, ShutdownSignal, ShutdownWatch};
use pingora_core::services::background::{background_service, BackgroundService};
use pingora_core::services::listening::Service;
use pingora_core::services::ServiceReadyNotifier;
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// Runs a server with `conf` whose one service, `name`, serves `app` on a free loopback port.
fn start_on_free_port<A>(name: &str, conf: ServerConf, app: A) -> (u16, Running)
where
    A: ServerApp + Send + Sync + 'static,
{
    let port = free_port();
    let mut server = Server::new_with_opt_and_conf(None, conf);
    let mut service = Service::new(name.to_string(), app);
    service.add_tcp(&format!("127.0.0.1:{port}"));
    server.add_service(service);
    (port, Running::start(server))
}

/// Connects, retrying while the server is still starting.
async fn connect(port: u16) -> tokio::net::TcpStream {
    let started = Instant::now();
    loop {
        match tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
            Ok(stream) => return stream,
            Err(e) if started.elapsed() < Duration::from_secs(10) => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(e) => panic!("cannot connect to 127.0.0.1:{port}: {e}"),
        }
    }
}

/// Echoes one line per connection (or sleeps/panics on request), recording thread names.
#[derive(Default)]
struct LineApp {
    thread_names: Mutex<HashSet<String>>,
    served: AtomicUsize,
    cleaned_up: AtomicUsize,
}

#[async_trait]
impl ServerApp for LineApp {
    async fn process_new(
        self: &Arc<Self>,
        io: Stream,
        _shutdown: &ShutdownWatch,
    ) -> Option<Stream> {
        let name = std::thread::current().name().unwrap_or("").to_string();
        self.thread_names.lock().unwrap().insert(name);
        let mut reader = BufReader::new(io);
        let mut line = String::new();
        reader.read_line(&mut line).await.ok()?;
        if line.trim() == "panic" {
            panic!("asked to panic");
        }
        if let Some(ms) = line.trim().strip_prefix("sleep ") {
            let ms = ms.split_whitespace().next().unwrap_or("0");
            tokio::time::sleep(Duration::from_millis(ms.parse().unwrap())).await;
        }
        let mut io = reader.into_inner();
        io.write_all(line.as_bytes()).await.ok()?;
        self.served.fetch_add(1, Ordering::SeqCst);
        None
    }

    async fn cleanup(&self) {
        self.cleaned_up.fetch_add(1, Ordering::SeqCst);
    }
}

async fn ask(port: u16, line: &str) -> std::io::Result<String> {
    let mut stream = connect(port).await;
    stream.write_all(format!("{line}\n").as_bytes()).await?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await?;
    Ok(answer)
}

fn client_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Sends `request` on a new connection, then gives the server a moment to accept and start
/// on it before the test asks it to stop; returns the connection to read the answer from.
fn send_in_flight(
    rt: &tokio::runtime::Runtime,
    port: u16,
    request: &[u8],
) -> tokio::net::TcpStream {
    let stream = rt.block_on(async {
        let mut stream = connect(port).await;
        stream.write_all(request).await.unwrap();
        stream
    });
    std::thread::sleep(Duration::from_millis(100));
    stream
}

fn serve_concurrently(work_stealing: bool, threads: usize) {
    let conf = ServerConf {
        threads,
        work_stealing,
        grace_period_seconds: Some(5),
        ..ServerConf::default()
    };
    let app = Arc::new(LineApp::default());
    let (port, running) = start_on_free_port("line-service", conf, SharedApp(app.clone()));

    const CLIENTS: usize = 32;
    let answers = client_runtime().block_on(async {
        let asks: Vec<_> = (0..CLIENTS)
            .map(|i| tokio::spawn(async move { ask(port, &format!("sleep 20 {i}")).await }))
            .collect();
        let mut answers = vec![];
        for task in asks {
            answers.push(task.await.unwrap().unwrap());
        }
        answers
    });
    for (i, answer) in answers.iter().enumerate() {
        assert_eq!(answer, &format!("sleep 20 {i}\n"));
    }
    running.stop(ShutdownSignal::GracefulTerminate, Duration::from_secs(20));
    assert_eq!(app.served.load(Ordering::SeqCst), CLIENTS);
    assert_eq!(app.cleaned_up.load(Ordering::SeqCst), 1);
    let names = app.thread_names.lock().unwrap().clone();
    assert!(
        names.iter().all(|n| n == "line-service"),
        "served on {names:?}"
    );
}

/// Lets the test keep a handle on the app the service owns.
struct SharedApp(Arc<LineApp>);

#[async_trait]
impl ServerApp for SharedApp {
    async fn process_new(self: &Arc<Self>, io: Stream, shutdown: &ShutdownWatch) -> Option<Stream> {
        // the inner app's methods take `self: &Arc<Self>`
        LineApp::process_new(&self.0, io, shutdown).await
    }
    async fn cleanup(&self) {
        self.0.cleanup().await
    }
}

#[test]
fn work_stealing_runtime_serves_concurrent_connections_on_one_thread() {
    serve_concurrently(true, 1);
}

#[test]
fn work_stealing_runtime_serves_concurrent_connections_on_two_threads() {
    serve_concurrently(true, 2);
}

#[test]
fn single_thread_runtimes_serve_concurrent_connections_on_one_thread() {
    serve_concurrently(false, 1);
}

#[test]
fn single_thread_runtimes_serve_concurrent_connections_on_two_threads() {
    serve_concurrently(false, 2);
}

#[test]
fn panic_in_a_connection_task_closes_only_that_connection() {
    let (port, running) = start_on_free_port("panicky", ServerConf::default(), LineApp::default());
    client_runtime().block_on(async {
        let answer = ask(port, "panic").await;
        assert!(matches!(answer.as_deref(), Ok("") | Err(_)), "{answer:?}");
        assert_eq!(ask(port, "still there").await.unwrap(), "still there\n");
    });
    running.stop(ShutdownSignal::FastShutdown, Duration::from_secs(10));
}

#[test]
fn graceful_terminate_finishes_in_flight_work_and_refuses_new_connections() {
    let conf = ServerConf {
        grace_period_seconds: Some(10),
        graceful_shutdown_timeout_seconds: Some(1),
        ..ServerConf::default()
    };
    let (port, running) = start_on_free_port("slow", conf, LineApp::default());
    let rt = client_runtime();
    let slow = send_in_flight(&rt, port, b"sleep 600\n");
    let stopper = std::thread::spawn(move || {
        running.stop(ShutdownSignal::GracefulTerminate, Duration::from_secs(15))
    });
    rt.block_on(async move {
        let started = Instant::now();
        loop {
            match tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => break,
                other => {
                    if let Err(e) = other {
                        // not seen to last; reported to help if it ever does
                        eprintln!("connect failed with {e}, expected a refusal; retrying");
                    }
                    assert!(
                        started.elapsed() < Duration::from_secs(5),
                        "still accepting"
                    );
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
        let mut slow = slow;
        let mut answer = String::new();
        slow.read_to_string(&mut answer).await.unwrap();
        assert_eq!(answer, "sleep 600\n");
    });
    let took = stopper.join().unwrap();
    // done as soon as the work finished, not after the whole grace period
    assert!(took < Duration::from_secs(8), "took {took:?}");
}

#[test]
fn fast_shutdown_cuts_in_flight_work() {
    let (port, running) = start_on_free_port("cut", ServerConf::default(), LineApp::default());
    let rt = client_runtime();
    let mut slow = send_in_flight(&rt, port, b"sleep 30000\n");
    let took = running.stop(ShutdownSignal::FastShutdown, Duration::from_secs(5));
    assert!(took < Duration::from_secs(3), "took {took:?}");
    rt.block_on(async move {
        let mut answer = String::new();
        let _ = slow.read_to_string(&mut answer).await;
        assert_eq!(answer, "");
    });
}

/// Records when it became ready and when its dependent started.
struct Step {
    order: Arc<Mutex<Vec<&'static str>>>,
    name: &'static str,
    delay: Duration,
}

#[async_trait]
impl BackgroundService for Step {
    async fn start_with_ready_notifier(
        &self,
        mut shutdown: ShutdownWatch,
        ready: ServiceReadyNotifier,
    ) {
        tokio::time::sleep(self.delay).await;
        self.order.lock().unwrap().push(self.name);
        ready.notify_ready();
        let _ = shutdown.changed().await;
    }
}

#[test]
fn a_service_starts_after_the_services_it_depends_on_are_ready() {
    let order = Arc::new(Mutex::new(vec![]));
    let mut server = Server::new_with_opt_and_conf(None, ServerConf::default());
    let step = |name, ms| Step {
        order: order.clone(),
        name,
        delay: Duration::from_millis(ms),
    };
    let last = server.add_service(background_service("last", step("last", 0)));
    let first = server.add_service(background_service("first", step("first", 150)));
    let middle = server.add_service(background_service("middle", step("middle", 0)));
    middle.add_dependency(&first);
    last.add_dependencies([&middle, &first]);
    let running = Running::start(server);
    let started = Instant::now();
    while order.lock().unwrap().len() < 3 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "services did not all start"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    running.stop(ShutdownSignal::GracefulTerminate, Duration::from_secs(10));
    assert_eq!(*order.lock().unwrap(), vec!["first", "middle", "last"]);
}

#[test]
fn unix_socket_endpoint_serves() {
    let dir = TempDir::new("e2e-uds");
    let path = dir.join("echo.sock");
    let mut server = Server::new_with_opt_and_conf(None, ServerConf::default());
    let mut service = Service::new("uds".to_string(), LineApp::default());
    service.add_uds(path.to_str().unwrap(), None);
    server.add_service(service);
    let running = Running::start(server);
    client_runtime().block_on(async {
        let started = Instant::now();
        let mut stream = loop {
            match tokio::net::UnixStream::connect(&path).await {
                Ok(stream) => break stream,
                Err(_) if started.elapsed() < Duration::from_secs(10) => {
                    tokio::time::sleep(Duration::from_millis(10)).await
                }
                Err(e) => panic!("cannot connect: {e}"),
            }
        };
        stream.write_all(b"over uds\n").await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        assert_eq!(answer, "over uds\n");
    });
    running.stop(ShutdownSignal::GracefulTerminate, Duration::from_secs(10));
}

#[test]
fn fast_shutdown_during_the_grace_period_cuts_it_short() {
    let conf = ServerConf {
        grace_period_seconds: Some(60),
        graceful_shutdown_timeout_seconds: Some(60),
        ..ServerConf::default()
    };
    let (port, running) = start_on_free_port("graceful", conf, LineApp::default());
    let rt = client_runtime();
    let _slow = send_in_flight(&rt, port, b"sleep 30000\n");
    running
        .signals
        .send(ShutdownSignal::GracefulTerminate)
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let took = running.stop(ShutdownSignal::FastShutdown, Duration::from_secs(5));
    assert!(took < Duration::from_secs(3), "took {took:?}");
}
