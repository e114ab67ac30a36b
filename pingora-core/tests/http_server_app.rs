//! A `ServeHttp` app in a `listening::Service` inside an in-process `Server`, driven by curl
//! and raw sockets over loopback: keep-alive reuse, bodies, HEAD, malformed requests, the
//! request limit, pipelining, and shutdown closing idle keep-alive connections.

mod common {
    pub mod net;
    pub mod server;
}

use async_trait::async_trait;
use common::net::free_port;
use common::server::Running;
use pingora_core::apps::http_app::{HttpServer, ServeHttp};
use pingora_core::apps::HttpServerOptions;
use pingora_core::protocols::http::ServerSession;
use pingora_core::server::configuration::ServerConf;
use pingora_core::server::{Server, ShutdownSignal};
use pingora_core::services::listening::Service;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

/// Answers `GET /<x>` with `hello /<x>`, any other method with the request body, and reports
/// the client address the session saw in `X-Client-Addr`.
struct Hello;

#[async_trait]
impl ServeHttp for Hello {
    async fn response(&self, session: &mut ServerSession) -> http::Response<Vec<u8>> {
        let body = if session.req_header().method == http::Method::POST {
            let mut body = Vec::new();
            while let Ok(Some(chunk)) = session.read_request_body().await {
                body.extend_from_slice(&chunk);
            }
            body
        } else {
            format!("hello {}", session.req_header().uri.path()).into_bytes()
        };
        let client = session
            .client_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        http::Response::builder()
            .header("X-Client-Addr", client)
            .body(body)
            .expect("invariant: the header value is a printable address")
    }
}

/// The `Hello` app served on a free loopback port by a server on its own thread.
struct HelloServer {
    port: u16,
    running: Running,
}

impl HelloServer {
    fn start(options: Option<HttpServerOptions>) -> Self {
        let port = free_port();
        let conf = ServerConf {
            grace_period_seconds: Some(30),
            graceful_shutdown_timeout_seconds: Some(1),
            ..ServerConf::default()
        };
        let mut server = Server::new_with_opt_and_conf(None, conf);
        let mut app = HttpServer::new_app(Hello);
        app.server_options = options;
        let mut service = Service::new("http".to_string(), app);
        service.add_tcp(&format!("127.0.0.1:{port}"));
        server.add_service(service);
        let running = Running::start(server);
        let server = HelloServer { port, running };
        server.wait_listening();
        server
    }

    fn wait_listening(&self) {
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "server never listened"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream
    }

    /// Sends `signal` and waits (bounded) for the server to stop; returns how long it took.
    fn stop(self, signal: ShutdownSignal, limit: Duration) -> Duration {
        self.running.stop(signal, limit)
    }
}

fn curl(args: &[&str]) -> String {
    let output = Command::new("/usr/bin/curl")
        .args(["-s", "--max-time", "10"])
        .args(args)
        .output()
        .expect("curl runs");
    assert!(output.status.success(), "curl {args:?}: {output:?}");
    String::from_utf8(output.stdout).unwrap()
}

/// Reads one response with a Content-Length body from `stream`.
fn read_response(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(
            stream.read(&mut byte).unwrap(),
            1,
            "closed mid-head: {head:?}"
        );
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .map_or(0, |v| v.trim().parse().unwrap());
    let mut body = vec![0; length];
    stream.read_exact(&mut body).unwrap();
    head + &String::from_utf8(body).unwrap()
}

/// Whether the server closed `stream`: a read sees the end (or a reset), not a timeout.
fn is_closed(stream: &mut TcpStream) -> bool {
    let mut rest = Vec::new();
    match stream.read_to_end(&mut rest) {
        Ok(_) => rest.is_empty(),
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
    }
}

#[test]
fn curl_reuses_one_connection_for_two_urls() {
    let server = HelloServer::start(None);
    let out = curl(&[
        "-w",
        " connects=%{num_connects}\n",
        &server.url("/a"),
        &server.url("/b"),
    ]);
    assert_eq!(out, "hello /a connects=1\nhello /b connects=0\n");
    server.stop(ShutdownSignal::FastShutdown, Duration::from_secs(10));
}

#[test]
fn post_body_is_read_by_the_app_and_echoed() {
    let server = HelloServer::start(None);
    let out = curl(&["--data-binary", "some payload", &server.url("/echo")]);
    assert_eq!(out, "some payload");
    // chunked upload too
    let out = curl(&[
        "-H",
        "Transfer-Encoding: chunked",
        "--data-binary",
        "chunked payload",
        &server.url("/echo"),
    ]);
    assert_eq!(out, "chunked payload");
    server.stop(ShutdownSignal::FastShutdown, Duration::from_secs(10));
}

#[test]
fn head_gets_the_headers_without_the_body() {
    let server = HelloServer::start(None);
    let out = curl(&["-I", &server.url("/abc")]);
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    assert!(out.contains("Content-Length: 10\r\n"), "{out}");
    assert!(out.ends_with("\r\n\r\n"), "{out}");
    server.stop(ShutdownSignal::FastShutdown, Duration::from_secs(10));
}

#[test]
fn session_reports_the_client_address() {
    let server = HelloServer::start(None);
    let mut stream = server.connect();
    let local = stream.local_addr().unwrap();
    stream
        .write_all(b"GET /who HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    let response = read_response(&mut stream);
    // names from `http::Response` are lower case on the wire
    assert!(
        response.contains(&format!("x-client-addr: {local}\r\n")),
        "{response}"
    );
    server.stop(ShutdownSignal::FastShutdown, Duration::from_secs(10));
}

#[test]
fn malformed_request_gets_400_and_a_closed_connection() {
    let server = HelloServer::start(None);
    let mut stream = server.connect();
    stream
        .write_all(
            b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        )
        .unwrap();
    let response = read_response(&mut stream);
    assert!(response.starts_with("HTTP/1.1 400 "), "{response}");
    assert!(response.contains("Connection: close\r\n"), "{response}");
    assert!(is_closed(&mut stream));
    // curl sees the 400 too
    let status = curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-H",
        "Bad Name: x",
        &server.url("/"),
    ]);
    assert_eq!(status, "400");
    server.stop(ShutdownSignal::FastShutdown, Duration::from_secs(10));
}

#[test]
fn request_limit_closes_the_connection_after_the_last_request() {
    let mut options = HttpServerOptions::default();
    options.keepalive_request_limit = Some(2);
    let server = HelloServer::start(Some(options));
    let mut stream = server.connect();
    stream
        .write_all(b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    assert!(read_response(&mut stream).contains("Connection: keep-alive\r\n"));
    stream
        .write_all(b"GET /2 HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    assert!(read_response(&mut stream).contains("Connection: close\r\n"));
    assert!(is_closed(&mut stream));
    server.stop(ShutdownSignal::FastShutdown, Duration::from_secs(10));
}

#[test]
fn ten_thousand_pipelined_requests_get_ten_thousand_answers() {
    const REQUESTS: usize = 10_000;
    let server = HelloServer::start(None);
    let mut stream = server.connect();
    let mut writer = stream.try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        let all = b"GET /p HTTP/1.1\r\nHost: a\r\n\r\n".repeat(REQUESTS);
        writer.write_all(&all).unwrap();
    });
    let answer = b"HTTP/1.1 200 OK\r\n";
    let mut seen = 0;
    let mut buf = vec![0u8; 64 * 1024];
    let mut carry = Vec::new();
    while seen < REQUESTS {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "closed after {seen} answers");
        carry.extend_from_slice(&buf[..n]);
        // count whole answers; keep a possible partial one for the next read
        let mut start = 0;
        while let Some(at) = carry[start..]
            .windows(answer.len())
            .position(|w| w == answer)
        {
            seen += 1;
            start += at + answer.len();
        }
        carry.drain(..start);
    }
    sender.join().unwrap();
    assert_eq!(seen, REQUESTS);
    server.stop(ShutdownSignal::FastShutdown, Duration::from_secs(10));
}

#[test]
fn graceful_shutdown_closes_idle_keepalive_connections_at_once() {
    let server = HelloServer::start(None);
    let silent = server.connect(); // connected, never asks anything
    let mut idle = server.connect();
    idle.write_all(b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    assert!(read_response(&mut idle).contains("Connection: keep-alive\r\n"));
    let took = server.stop(ShutdownSignal::GracefulTerminate, Duration::from_secs(20));
    // the grace period is 30 s: the server only stops this early because both connections
    // were closed when shutdown started
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(is_closed(&mut idle));
    let mut silent = silent;
    assert!(is_closed(&mut silent));
}

#[test]
fn a_rejected_upload_still_gets_its_400_when_the_client_keeps_sending() {
    // The head is refused (both Content-Length and Transfer-Encoding) while the client goes on
    // sending its body, a megabyte of it: the answer is still the 400, never a hang or a
    // reset in its place, every time.
    let server = HelloServer::start(None);
    for _ in 0..20 {
        let mut stream = server.connect();
        let mut writer = stream.try_clone().unwrap();
        let sender = std::thread::spawn(move || {
            let head =
                b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\nTransfer-Encoding: chunked\r\n\r\n";
            let _ = writer.write_all(head);
            let body = vec![b'x'; 64 * 1024];
            // Keep sending a while after the server has answered.
            for _ in 0..16 {
                if writer.write_all(&body).is_err() {
                    break;
                }
            }
            let _ = writer.shutdown(std::net::Shutdown::Write);
        });
        let response = read_response(&mut stream);
        assert!(response.starts_with("HTTP/1.1 400 "), "{response}");
        sender.join().unwrap();
    }
    server.stop(ShutdownSignal::FastShutdown, Duration::from_secs(10));
}
