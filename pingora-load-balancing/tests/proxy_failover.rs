//! End to end on loopback: three real HTTP backends behind the `load_balancer` example's
//! proxy logic, with its TCP health check running as the background service does. One
//! backend stops: within two health-check intervals no request goes to it, and (the proxy
//! retrying failed connects) no client request fails meanwhile. It starts again: it comes back.

#[path = "../examples/load_balancer.rs"]
#[allow(dead_code)]
mod example;

use async_trait::async_trait;
use example::common::NamedBackend;
use pingora_core::apps::ServerApp;
use pingora_core::prelude::*;
use pingora_core::protocols::l4::stream::Stream as L4Stream;
use pingora_core::server::configuration::ServerConf;
use pingora_core::services::background::BackgroundService;
use pingora_http::RequestHeader;
use pingora_load_balancing::discovery::Static;
use pingora_load_balancing::prelude::*;
use pingora_load_balancing::{Backend, Backends};
use pingora_proxy::{http_proxy, ProxyHttp, Session};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

const CHECK_INTERVAL: Duration = Duration::from_millis(250);

/// A backend answering with its name; stopping it closes its listener and every connection.
struct TestBackend {
    addr: SocketAddr,
    name: String,
    task: Option<JoinHandle<()>>,
}

impl TestBackend {
    async fn start(addr: &str, name: &str) -> TestBackend {
        let listener = TcpListener::bind(addr).await.expect("bind loopback");
        let addr = listener.local_addr().expect("bound address");
        let app = Arc::new(NamedBackend(name.to_string()));
        let task = tokio::spawn(async move {
            let (_keep, shutdown) = tokio::sync::watch::channel(false);
            // Connections live in this set: aborting the task drops it and closes them all.
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((tcp, _)) = listener.accept().await {
                let (app, shutdown) = (app.clone(), shutdown.clone());
                connections.spawn(async move {
                    app.process_new(Box::new(L4Stream::from(tcp)), &shutdown)
                        .await;
                });
            }
        });
        TestBackend {
            addr,
            name: name.to_string(),
            task: Some(task),
        }
    }

    async fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    async fn restart(&mut self) {
        *self = TestBackend::start(&self.addr.to_string(), &self.name).await;
    }
}

/// The example's proxy logic, recording when each upstream was picked.
struct RecordingLb {
    inner: example::LB,
    picks: Arc<Mutex<Vec<(Instant, SocketAddr)>>>,
}

#[async_trait]
impl ProxyHttp for RecordingLb {
    type CTX = ();
    fn new_ctx(&self) {}

    async fn upstream_peer(&self, session: &mut Session, ctx: &mut ()) -> Result<Box<HttpPeer>> {
        let peer = self.inner.upstream_peer(session, ctx).await?;
        if let Some(addr) = peer._address.as_inet() {
            self.picks.lock().unwrap().push((Instant::now(), *addr));
        }
        Ok(peer)
    }

    async fn upstream_request_filter(
        &self,
        session: &mut Session,
        upstream_request: &mut RequestHeader,
        ctx: &mut (),
    ) -> Result<()> {
        self.inner
            .upstream_request_filter(session, upstream_request, ctx)
            .await
    }

    fn error_while_proxy(
        &self,
        peer: &HttpPeer,
        session: &mut Session,
        e: Box<Error>,
        ctx: &mut (),
        client_reused: bool,
    ) -> Box<Error> {
        self.inner
            .error_while_proxy(peer, session, e, ctx, client_reused)
    }
}

/// Serves `proxy` on a loopback port.
async fn start_proxy(proxy: RecordingLb) -> SocketAddr {
    let conf = Arc::new(ServerConf::new().expect("default configuration"));
    let app = Arc::new(http_proxy(&conf, proxy));
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("bound address");
    tokio::spawn(async move {
        let (_keep, shutdown) = tokio::sync::watch::channel(false);
        while let Ok((tcp, _)) = listener.accept().await {
            let (app, shutdown) = (app.clone(), shutdown.clone());
            tokio::spawn(async move {
                app.process_new(Box::new(L4Stream::from(tcp)), &shutdown)
                    .await;
            });
        }
    });
    addr
}

/// One request through the proxy on a fresh connection; the body if the status was 200.
async fn get(proxy: SocketAddr) -> std::result::Result<String, String> {
    let exchange = async {
        let mut stream = TcpStream::connect(proxy).await.map_err(|e| e.to_string())?;
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: lb.test\r\nConnection: close\r\n\r\n")
            .await
            .map_err(|e| e.to_string())?;
        let mut response = Vec::new();
        stream
            .read_to_end(&mut response)
            .await
            .map_err(|e| e.to_string())?;
        let response = String::from_utf8_lossy(&response).into_owned();
        if !response.starts_with("HTTP/1.1 200") {
            return Err(response);
        }
        let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
        Ok(body.trim().to_string())
    };
    tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .unwrap_or_else(|_| Err("timed out".to_string()))
}

/// Waits until `condition` holds, polling every 5 ms; returns how long that took, or `None`
/// if it did not hold within `limit`.
async fn wait_for(limit: Duration, condition: impl Fn() -> bool) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() <= limit {
        if condition() {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_backend_is_skipped_without_failed_requests_and_comes_back() {
    let mut backends = Vec::new();
    for id in 1..=3 {
        backends.push(TestBackend::start("127.0.0.1:0", &format!("backend {id}")).await);
    }
    let addrs: Vec<SocketAddr> = backends.iter().map(|b| b.addr).collect();

    let mut lb = LoadBalancer::<RoundRobin>::from_backends(Backends::new(
        Static::try_from_iter(&addrs).unwrap(),
    ));
    lb.set_health_check(TcpHealthCheck::new());
    lb.health_check_frequency = Some(CHECK_INTERVAL);
    let lb = Arc::new(lb);
    let (stop_lb, lb_shutdown) = tokio::sync::watch::channel(false);
    let lb_task = {
        let lb = lb.clone();
        tokio::spawn(async move { lb.start(lb_shutdown).await })
    };
    wait_for(Duration::from_secs(5), || {
        lb.backends().get_backend().len() == 3
    })
    .await
    .expect("first update");

    let picks = Arc::new(Mutex::new(Vec::new()));
    let proxy = start_proxy(RecordingLb {
        inner: example::LB(lb.clone()),
        picks: picks.clone(),
    })
    .await;

    // Two clients sending requests back to back for the whole test.
    let running = Arc::new(AtomicBool::new(true));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let answered_by = Arc::new(Mutex::new(Vec::<(Instant, String)>::new()));
    let served = Arc::new(AtomicUsize::new(0));
    let mut clients = Vec::new();
    for _ in 0..2 {
        let (running, failures, answered_by, served) = (
            running.clone(),
            failures.clone(),
            answered_by.clone(),
            served.clone(),
        );
        clients.push(tokio::spawn(async move {
            while running.load(Ordering::Relaxed) {
                match get(proxy).await {
                    Ok(name) => {
                        served.fetch_add(1, Ordering::Relaxed);
                        answered_by.lock().unwrap().push((Instant::now(), name));
                    }
                    Err(e) => failures.lock().unwrap().push(e),
                }
            }
        }));
    }
    wait_for(Duration::from_secs(10), || {
        let seen = answered_by.lock().unwrap();
        (1..=3).all(|id| {
            seen.iter()
                .any(|(_, name)| *name == format!("backend {id}"))
        })
    })
    .await
    .expect("all three backends answer at first");

    // Stop backend 2.
    let stopped = addrs[1];
    backends[1].stop().await;
    let stopped_at = Instant::now();
    let stopped_backend = Backend::new(&stopped.to_string()).unwrap();
    let detected = wait_for(2 * CHECK_INTERVAL, || {
        !lb.backends().ready(&stopped_backend)
    })
    .await
    .expect("the stopped backend is found unhealthy within two intervals");
    println!("stopped backend marked unhealthy after {detected:?}");

    // Keep traffic going, then check that nothing was sent to it after two intervals.
    tokio::time::sleep(3 * CHECK_INTERVAL).await;
    let cutoff = stopped_at + 2 * CHECK_INTERVAL;
    let late_picks = picks
        .lock()
        .unwrap()
        .iter()
        .filter(|(at, addr)| *at > cutoff && *addr == stopped)
        .count();
    assert_eq!(
        late_picks, 0,
        "requests went to the stopped backend after two intervals"
    );
    let served_while_down = answered_by
        .lock()
        .unwrap()
        .iter()
        .filter(|(at, _)| *at > stopped_at)
        .count();
    assert!(
        served_while_down > 10,
        "traffic kept flowing: {served_while_down}"
    );

    // Start it again: it is healthy within two intervals and answers requests.
    backends[1].restart().await;
    let restarted_at = Instant::now();
    wait_for(2 * CHECK_INTERVAL, || lb.backends().ready(&stopped_backend))
        .await
        .expect("the restarted backend is healthy again within two intervals");
    wait_for(Duration::from_secs(5), || {
        answered_by
            .lock()
            .unwrap()
            .iter()
            .any(|(at, name)| *at > restarted_at && name == "backend 2")
    })
    .await
    .expect("the restarted backend serves requests again");

    running.store(false, Ordering::Relaxed);
    for client in clients {
        client.await.unwrap();
    }
    let failures = std::mem::take(&mut *failures.lock().unwrap());
    assert!(
        failures.is_empty(),
        "{} of {} requests failed: {:?}",
        failures.len(),
        served.load(Ordering::Relaxed) + failures.len(),
        &failures[..failures.len().min(3)]
    );
    println!("{} requests, none failed", served.load(Ordering::Relaxed));

    stop_lb.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), lb_task)
        .await
        .expect("the health-check service stops at shutdown")
        .unwrap();
    for backend in &mut backends {
        backend.stop().await;
    }
}
