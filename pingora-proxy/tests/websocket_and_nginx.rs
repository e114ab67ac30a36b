//! A WebSocket echo through the proxy (tokio-tungstenite on both ends: the upgrade passes
//! through as raw bytes both ways), and nginx as the upstream.

mod common;

use std::net::SocketAddr;

use common::nginx::Nginx;
use common::{checksum, start_proxy, To};
use futures_util::{SinkExt, StreamExt};
use pingora_core::server::configuration::ServerConf;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;

async fn websocket_echo_origin() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return;
                };
                while let Some(Ok(message)) = ws.next().await {
                    if message.is_close() {
                        let _ = ws.close(None).await;
                        return;
                    }
                    if ws.send(message).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn a_websocket_echo_passes_through_the_proxy() {
    let origin = websocket_echo_origin().await;
    let (proxy, _) = start_proxy(To(origin), ServerConf::default()).await;
    let tcp = TcpStream::connect(proxy).await.expect("connect");
    let (mut ws, response) = tokio_tungstenite::client_async(format!("ws://{proxy}/chat"), tcp)
        .await
        .expect("websocket handshake through the proxy");
    assert_eq!(response.status(), 101);
    for text in ["hello", "through", "the proxy"] {
        ws.send(Message::text(text)).await.expect("send");
        let echoed = ws.next().await.expect("a message").expect("no error");
        assert_eq!(echoed.into_text().expect("text").as_str(), text);
    }
    let big = vec![7u8; 256 * 1024];
    ws.send(Message::binary(big.clone())).await.expect("send");
    let echoed = ws.next().await.expect("a message").expect("no error");
    assert_eq!(checksum(&echoed.into_data()), checksum(&big));
    ws.close(None).await.expect("close");
}

#[tokio::test]
async fn nginx_upstream_serves_through_the_proxy_on_one_pooled_connection() {
    let nginx = Nginx::start(
        "proxy",
        &[("html/big.txt", &"0123456789abcdef".repeat(64 * 1024))],
        "keepalive_requests 1000;",
        "root html;
        location = /count { return 200 \"$connection_requests\"; }",
    );
    let upstream = SocketAddr::from(([127, 0, 0, 1], nginx.port()));
    let (proxy, _) = start_proxy(To(upstream), ServerConf::default()).await;
    let mut tcp = TcpStream::connect(proxy).await.expect("connect");
    let mut last = String::new();
    for _ in 0..3 {
        tcp.write_all(b"GET /count HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .expect("send");
        let mut buf = vec![0u8; 4096];
        let n = tcp.read(&mut buf).await.expect("read");
        last = String::from_utf8_lossy(&buf[..n]).into_owned();
    }
    // nginx saw the third request on the same upstream connection.
    assert!(last.ends_with("\r\n\r\n3"), "{last}");

    // 1 MiB file from nginx, through curl.
    let url = format!("http://{proxy}/big.txt");
    let out = tokio::process::Command::new("curl")
        .args(["-sS", "--max-time", "10", &url])
        .output()
        .await
        .expect("run curl");
    assert!(out.status.success());
    assert_eq!(out.stdout.len(), 1024 * 1024);
}

/// The header names of a raw response, in order, without `Connection` (which each side writes
/// for its own connection).
fn header_names(response: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(response);
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    head.lines()
        .skip(1)
        .filter_map(|line| line.split(':').next())
        .filter(|name| !name.eq_ignore_ascii_case("connection"))
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn nginx_response_headers_keep_their_order_through_the_proxy() {
    let nginx = Nginx::start("order", &[("html/page.txt", "hello")], "", "root html;");
    let upstream = SocketAddr::from(([127, 0, 0, 1], nginx.port()));
    let (proxy, _) = start_proxy(To(upstream), ServerConf::default()).await;
    let request = b"GET /page.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    let direct = common::raw_exchange_bytes(upstream, request).await;
    let proxied = common::raw_exchange_bytes(proxy, request).await;
    let names = header_names(&direct);
    // nginx writes its hop-by-hop Connection between Last-Modified and ETag: taking it out must
    // not move the headers after it.
    assert_eq!(
        names,
        [
            "Server",
            "Date",
            "Content-Type",
            "Content-Length",
            "Last-Modified",
            "ETag",
            "Accept-Ranges"
        ]
    );
    assert_eq!(header_names(&proxied), names);
}
