//! `connectors::http::Connector` end to end against a real nginx: pooled connections are
//! reused (nginx's `$connection_requests`, echoed in a response header, counts the requests
//! each connection carried), non-reusable ones are not, and a connection nginx closed while
//! idle is never handed out.
//!
//! These tests need the `nginx` binary (Debian: `apt-get install -y nginx`) and fail if it is
//! missing. Set `NGINX` to the binary's path to use another one.

use pingora_core::connectors::http::Connector;
use pingora_core::connectors::ConnectorOptions;
use pingora_core::protocols::http::client::HttpSession;
use pingora_core::upstreams::peer::HttpPeer;
use pingora_http::RequestHeader;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn find_nginx() -> PathBuf {
    if let Some(path) = std::env::var_os("NGINX") {
        return PathBuf::from(path);
    }
    let in_path: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("nginx"))
                .collect()
        })
        .unwrap_or_default();
    in_path
        .into_iter()
        .chain(["/usr/sbin/nginx", "/usr/local/sbin/nginx"].map(PathBuf::from))
        .find(|candidate| candidate.is_file())
        .expect("nginx not found in PATH or /usr/sbin; install it or set NGINX=/path/to/nginx")
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener
        .local_addr()
        .expect("a bound socket has an address")
        .port()
}

/// An nginx in the foreground with its files in a scratch directory; killed by its own
/// handle (its PID) and its directory removed when dropped.
struct Nginx {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Nginx {
    /// Serves `200 ok` on every path, echoing `$connection_requests` in `X-Conn-Requests`.
    fn start(label: &str, keepalive_timeout: &str) -> Nginx {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "peers-nginx-{label}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("create a scratch directory");
        let root = dir.display();
        let port = free_port();
        let config = format!(
            "daemon off;
master_process off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 64; }}
http {{
    client_body_temp_path {root}/client_body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    access_log off;
    keepalive_timeout {keepalive_timeout};
    keepalive_requests 1000;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            add_header X-Conn-Requests $connection_requests always;
            return 200 ok;
        }}
    }}
}}
"
        );
        let config_path = dir.join("nginx.conf");
        std::fs::write(&config_path, config).expect("write nginx.conf");
        let binary = find_nginx();
        let child = Command::new(&binary)
            .arg("-p")
            .arg(&dir)
            .arg("-e")
            .arg(dir.join("error.log"))
            .arg("-c")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| panic!("could not start {}: {err}", binary.display()));
        let mut nginx = Nginx { child, port, dir };
        nginx.wait_until_listening();
        nginx
    }

    fn wait_until_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default();
                panic!("nginx exited at start ({status}):\n{log}");
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "nginx did not listen within 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn peer(&self) -> HttpPeer {
        let mut peer = HttpPeer::new(("127.0.0.1", self.port), false, String::new());
        peer.options.read_timeout = Some(Duration::from_secs(5));
        peer.options.write_timeout = Some(Duration::from_secs(5));
        peer
    }
}

/// Sends `GET /` (with `Connection: close` if asked), reads the whole response and returns
/// nginx's request count for the connection.
async fn get(session: &mut HttpSession, close: bool) -> u32 {
    let mut request = RequestHeader::build("GET", b"/", None).unwrap();
    request.insert_header("Host", "peers.test").unwrap();
    if close {
        request.insert_header("Connection", "close").unwrap();
    }
    session
        .write_request_header(Box::new(request))
        .await
        .unwrap();
    session.finish_request_body().await.unwrap();
    session.read_response_header().await.unwrap();
    let header = session.response_header().expect("header was read");
    assert_eq!(header.status.as_u16(), 200);
    let count = header
        .headers
        .get("X-Conn-Requests")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("nginx sends X-Conn-Requests");
    let mut body = Vec::new();
    while let Some(chunk) = session.read_response_body().await.unwrap() {
        body.extend_from_slice(&chunk);
    }
    assert_eq!(body, b"ok");
    count
}

#[tokio::test]
async fn released_session_is_reused_for_the_next_request() {
    let nginx = Nginx::start("reuse", "60s");
    let peer = nginx.peer();
    let connector = Connector::new(Some(ConnectorOptions::new(8)));
    for expected in 1..=3 {
        let (mut session, reused) = connector.get_http_session(&peer).await.unwrap();
        assert_eq!(reused, expected > 1);
        assert_eq!(get(&mut session, false).await, expected);
        connector
            .release_http_session(session, &peer, Some(Duration::from_secs(30)))
            .await;
    }
}

#[tokio::test]
async fn session_ending_with_connection_close_is_not_pooled() {
    let nginx = Nginx::start("close", "60s");
    let peer = nginx.peer();
    let connector = Connector::new(None);
    let (mut session, _) = connector.get_http_session(&peer).await.unwrap();
    assert_eq!(get(&mut session, true).await, 1);
    connector.release_http_session(session, &peer, None).await;
    let (mut session, reused) = connector.get_http_session(&peer).await.unwrap();
    assert!(!reused);
    assert_eq!(get(&mut session, false).await, 1);
}

#[tokio::test]
async fn unfinished_session_is_not_pooled() {
    let nginx = Nginx::start("unfinished", "60s");
    let peer = nginx.peer();
    let connector = Connector::new(None);
    let (mut session, _) = connector.get_http_session(&peer).await.unwrap();
    let mut request = RequestHeader::build("GET", b"/", None).unwrap();
    request.insert_header("Host", "peers.test").unwrap();
    session
        .write_request_header(Box::new(request))
        .await
        .unwrap();
    session.read_response_header().await.unwrap();
    // The body was never read: the connection is not at a request boundary.
    connector.release_http_session(session, &peer, None).await;
    let (_, reused) = connector.get_http_session(&peer).await.unwrap();
    assert!(!reused);
}

#[tokio::test]
async fn connection_nginx_closed_while_idle_is_not_reused() {
    let nginx = Nginx::start("idle-close", "100ms");
    let peer = nginx.peer();
    let connector = Connector::new(None);
    let (mut session, _) = connector.get_http_session(&peer).await.unwrap();
    assert_eq!(get(&mut session, false).await, 1);
    connector.release_http_session(session, &peer, None).await;
    // nginx closes idle keep-alive connections after 100 ms (its timers are coarse).
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (mut session, reused) = connector.get_http_session(&peer).await.unwrap();
    assert!(!reused);
    assert_eq!(get(&mut session, false).await, 1);
}

#[tokio::test]
async fn peer_idle_timeout_bounds_pooled_time() {
    let nginx = Nginx::start("idle-timeout", "60s");
    let peer = nginx.peer();
    let connector = Connector::new(None);
    let (mut session, _) = connector.get_http_session(&peer).await.unwrap();
    get(&mut session, false).await;
    connector
        .release_http_session(session, &peer, Some(Duration::from_millis(20)))
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (_, reused) = connector.get_http_session(&peer).await.unwrap();
    assert!(!reused);
}

#[tokio::test]
async fn http2_only_peer_is_refused_for_now() {
    let mut peer = HttpPeer::new("127.0.0.1:1", false, String::new());
    peer.options.set_http_version(2, 2);
    let err = Connector::new(None)
        .get_http_session(&peer)
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("HTTP/2"), "{err}");
}
