//! The proxy speaks HTTP/1.1 on both sides whatever its peers speak (RFC 9110 §6.2: an
//! intermediary sends its own version): an HTTP/1.0 upstream response reaches the client with
//! a 1.1 status line, and an HTTP/1.0 client's requests go upstream as 1.1 (so the upstream
//! connection is kept and reused), unless a request without `Host` could not be valid 1.1.

mod common;

use common::{raw_exchange_bytes, raw_origin, start_proxy, To};
use pingora_core::server::configuration::ServerConf;

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
    assert_eq!(seen.request_lines(), ["GET /a HTTP/1.1"; 3]);
    assert_eq!(seen.connections, 1);
}

#[tokio::test]
async fn an_http_1_0_request_without_host_stays_http_1_0() {
    let (origin, seen) = raw_origin(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").await;
    let (proxy, _) = start_proxy(To(origin), ServerConf::default()).await;
    let response = raw_exchange_bytes(proxy, b"GET /b HTTP/1.0\r\n\r\n").await;
    assert_eq!(status_line(&response), "HTTP/1.1 200 OK");
    assert_eq!(
        seen.lock().expect("seen lock").request_lines(),
        ["GET /b HTTP/1.0"]
    );
}
