//! The proxy speaks HTTP/1.1 on both sides whatever its peers speak (RFC 9110 §6.2: an
//! intermediary sends its own version): an HTTP/1.0 upstream response reaches the client with
//! a 1.1 status line, and an HTTP/1.0 client's requests go upstream as 1.1 (so the upstream
//! connection is kept and reused), unless a request without `Host` could not be valid 1.1.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use common::{raw_exchange_bytes, start_proxy, To};
use pingora_core::server::configuration::ServerConf;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What a raw origin saw: the request line of every request, and how many connections.
#[derive(Default)]
struct Seen {
    request_lines: Vec<String>,
    connections: usize,
}

/// An origin written on raw sockets that answers every request head with `response` (which
/// must frame its body) and keeps the connection for more.
async fn raw_origin(response: &'static [u8]) -> (SocketAddr, Arc<Mutex<Seen>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let seen = Arc::new(Mutex::new(Seen::default()));
    let record = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut tcp, _)) = listener.accept().await else {
                return;
            };
            record.lock().expect("seen lock").connections += 1;
            let record = record.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut piece = [0u8; 4096];
                loop {
                    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
                        let line = head.lines().next().unwrap_or_default().to_string();
                        record.lock().expect("seen lock").request_lines.push(line);
                        buf.drain(..end + 4);
                        if tcp.write_all(response).await.is_err() {
                            return;
                        }
                    }
                    match tcp.read(&mut piece).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&piece[..n]),
                    }
                }
            });
        }
    });
    (addr, seen)
}

fn status_line(response: &[u8]) -> String {
    let text = String::from_utf8_lossy(response);
    text.lines().next().unwrap_or_default().to_string()
}

#[tokio::test]
async fn an_http_1_0_upstream_response_goes_out_as_http_1_1() {
    let (origin, _) = raw_origin(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok").await;
    let (proxy, _) = start_proxy(To(origin), ServerConf::default()).await;
    let request = b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    let response = raw_exchange_bytes(proxy, request).await;
    assert_eq!(status_line(&response), "HTTP/1.1 200 OK");
    assert!(response.ends_with(b"\r\n\r\nok"));
}

#[tokio::test]
async fn http_1_0_clients_are_proxied_as_http_1_1_on_one_upstream_connection() {
    let (origin, seen) = raw_origin(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").await;
    let (proxy, _) = start_proxy(To(origin), ServerConf::default()).await;
    for _ in 0..3 {
        let response = raw_exchange_bytes(proxy, b"GET /a HTTP/1.0\r\nHost: a\r\n\r\n").await;
        assert_eq!(status_line(&response), "HTTP/1.1 200 OK");
        assert!(response.ends_with(b"\r\n\r\nok"));
    }
    let seen = seen.lock().expect("seen lock");
    assert_eq!(seen.request_lines, ["GET /a HTTP/1.1"; 3]);
    assert_eq!(seen.connections, 1);
}

#[tokio::test]
async fn an_http_1_0_request_without_host_stays_http_1_0() {
    let (origin, seen) = raw_origin(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").await;
    let (proxy, _) = start_proxy(To(origin), ServerConf::default()).await;
    let response = raw_exchange_bytes(proxy, b"GET /b HTTP/1.0\r\n\r\n").await;
    assert_eq!(status_line(&response), "HTTP/1.1 200 OK");
    assert_eq!(
        seen.lock().expect("seen lock").request_lines,
        ["GET /b HTTP/1.0"]
    );
}
