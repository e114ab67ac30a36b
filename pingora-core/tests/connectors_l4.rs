//! Fresh L4 connects through `TransportConnector`: error types, timeouts, bind addresses,
//! Unix sockets, custom connectors and `CONNECT` proxies. Loopback only.

mod common {
    pub mod temp_dir;
}

use async_trait::async_trait;
use common::temp_dir::TempDir;
use pingora_core::connectors::l4::BindTo;
use pingora_core::connectors::{ConnectorOptions, L4Connect, TransportConnector};
use pingora_core::prelude::*;
use pingora_core::protocols::l4::socket::SocketAddr;
use pingora_core::protocols::l4::stream::Stream;
use pingora_core::upstreams::peer::{BasicPeer, HttpPeer};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UnixListener};

const LIMIT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn refused_connect_is_a_retryable_upstream_connect_refused() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let peer = BasicPeer::new(&addr.to_string());
    let err = TransportConnector::new(None)
        .new_stream(&peer)
        .await
        .unwrap_err();
    assert_eq!(err.etype(), &ConnectRefused);
    assert_eq!(err.esource(), &ErrorSource::Upstream);
    assert!(err.retry());
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
}

/// A listener whose accept queue is full: the kernel drops further SYNs, so connects hang.
/// Returns the listener and the connections that fill its queue (both must stay alive).
fn saturated_listener() -> (socket2::Socket, Vec<socket2::Socket>) {
    use socket2::{Domain, Socket, Type};
    let listener = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    listener
        .bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .unwrap();
    listener.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..16 {
        let client = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        match client.connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(()) => fillers.push(client),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => return (listener, fillers),
            Err(e) => panic!("unexpected connect error while filling the backlog: {e}"),
        }
    }
    panic!("the accept queue never filled");
}

#[tokio::test]
async fn connect_past_connection_timeout_is_a_retryable_connect_timedout() {
    let (listener, _fillers) = saturated_listener();
    let addr = listener.local_addr().unwrap().as_socket().unwrap();
    let mut peer = BasicPeer::new(&addr.to_string());
    peer.options.connection_timeout = Some(Duration::from_millis(100));
    let started = std::time::Instant::now();
    let err = TransportConnector::new(None)
        .new_stream(&peer)
        .await
        .unwrap_err();
    assert_eq!(err.etype(), &ConnectTimedout, "{err}");
    assert_eq!(err.esource(), &ErrorSource::Upstream);
    assert!(err.retry());
    assert!(started.elapsed() < LIMIT);
}

#[tokio::test]
async fn total_connection_timeout_also_bounds_the_connect() {
    let (listener, _fillers) = saturated_listener();
    let addr = listener.local_addr().unwrap().as_socket().unwrap();
    let mut peer = HttpPeer::new(addr, false, String::new());
    peer.options.total_connection_timeout = Some(Duration::from_millis(100));
    let err = TransportConnector::new(None)
        .new_stream(&peer)
        .await
        .unwrap_err();
    assert_eq!(err.etype(), &ConnectTimedout, "{err}");
    assert!(err.retry());
}

async fn accepted_peer_ip(listener: &TcpListener) -> std::net::IpAddr {
    let (_, client) = tokio::time::timeout(LIMIT, listener.accept())
        .await
        .unwrap()
        .unwrap();
    client.ip()
}

#[tokio::test]
async fn peer_bind_to_sets_the_source_address() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut peer = BasicPeer::new(&listener.local_addr().unwrap().to_string());
    peer.options.bind_to = Some(BindTo::new("127.0.0.2:0".parse().unwrap()));
    let _stream = TransportConnector::new(None)
        .new_stream(&peer)
        .await
        .unwrap();
    assert_eq!(accepted_peer_ip(&listener).await.to_string(), "127.0.0.2");
}

#[tokio::test]
async fn connector_bind_addresses_apply_when_the_peer_has_none() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let peer = BasicPeer::new(&listener.local_addr().unwrap().to_string());
    let mut options = ConnectorOptions::new(8);
    options.bind_to_v4 = vec!["127.0.0.3:0".parse().unwrap()];
    let _stream = TransportConnector::new(Some(options))
        .new_stream(&peer)
        .await
        .unwrap();
    assert_eq!(accepted_peer_ip(&listener).await.to_string(), "127.0.0.3");
}

#[tokio::test]
async fn binding_an_unusable_local_address_is_a_bind_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut peer = BasicPeer::new(&listener.local_addr().unwrap().to_string());
    // Bound by the listener above, so the connecting socket cannot take it.
    peer.options.bind_to = Some(BindTo::new(listener.local_addr().unwrap()));
    let err = TransportConnector::new(None)
        .new_stream(&peer)
        .await
        .unwrap_err();
    assert_eq!(err.etype(), &BindError, "{err}");
    assert!(!err.retry());
}

#[tokio::test]
async fn unix_socket_peer_connects() {
    let dir = TempDir::new("uds");
    let path = dir.join("peer.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let server = tokio::spawn(async move {
        let (mut conn, _) = listener.accept().await.unwrap();
        conn.write_all(b"hello").await.unwrap();
    });
    let peer = BasicPeer::new_uds(&path).unwrap();
    let mut stream = TransportConnector::new(None)
        .new_stream(&peer)
        .await
        .unwrap();
    let mut buf = [0u8; 5];
    tokio::time::timeout(LIMIT, stream.read_exact(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf, b"hello");
    server.await.unwrap();
}

#[derive(Debug, Default)]
struct CountingConnector {
    calls: AtomicUsize,
}

#[async_trait]
impl L4Connect for CountingConnector {
    async fn connect(&self, addr: &SocketAddr) -> Result<Stream> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let inet = *addr.as_inet().expect("the test peer is an inet address");
        let stream = tokio::net::TcpStream::connect(inet)
            .await
            .or_err(ConnectError, "test connector")?;
        Ok(Stream::from(stream))
    }
}

#[tokio::test]
async fn custom_l4_connector_replaces_the_built_in_one() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let custom = Arc::new(CountingConnector::default());
    let mut peer = BasicPeer::new(&listener.local_addr().unwrap().to_string());
    peer.options.custom_l4 = Some(custom.clone());
    let _stream = TransportConnector::new(None)
        .new_stream(&peer)
        .await
        .unwrap();
    assert_eq!(custom.calls.load(Ordering::SeqCst), 1);
}

#[cfg(not(feature = "openssl"))] // with it, tests/tls_connect.rs covers TLS peers
#[tokio::test]
async fn tls_peer_is_refused_without_a_tls_backend() {
    let peer = HttpPeer::new("127.0.0.1:1", true, "example.com".into());
    let err = TransportConnector::new(None)
        .new_stream(&peer)
        .await
        .unwrap_err();
    assert_eq!(err.etype(), &InternalError);
    assert!(err.to_string().contains("TLS"), "{err}");
}

#[tokio::test]
async fn proxy_peer_is_tunneled_with_connect() {
    let dir = TempDir::new("proxy");
    let path = dir.join("peer.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let proxy = tokio::spawn(async move {
        let (mut conn, _) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            conn.read_exact(&mut byte).await.unwrap();
            head.push(byte[0]);
        }
        conn.write_all(b"HTTP/1.1 200 Connection established\r\n\r\ntunneled")
            .await
            .unwrap();
        String::from_utf8(head).unwrap()
    });
    let mut headers = BTreeMap::new();
    headers.insert(
        "proxy-authorization".to_string(),
        b"Basic dGVzdA==".to_vec(),
    );
    let peer = HttpPeer::new_proxy(
        path.to_str().unwrap(),
        [127, 0, 0, 1].into(),
        8443,
        false,
        "",
        headers,
    );
    let mut stream = TransportConnector::new(None)
        .new_stream(&peer)
        .await
        .unwrap();
    let mut buf = [0u8; 8];
    tokio::time::timeout(LIMIT, stream.read_exact(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf, b"tunneled");
    let head = proxy.await.unwrap();
    assert!(
        head.starts_with("CONNECT 127.0.0.1:8443 HTTP/1.1\r\n"),
        "{head}"
    );
    assert!(
        head.contains("proxy-authorization: Basic dGVzdA==\r\n"),
        "{head}"
    );
}

#[tokio::test]
async fn proxy_refusing_connect_is_a_connect_proxy_failure() {
    let dir = TempDir::new("proxy-403");
    let path = dir.join("peer.sock");
    let listener = UnixListener::bind(&path).unwrap();
    tokio::spawn(async move {
        let (mut conn, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 512];
        let _ = conn.read(&mut buf).await;
        let _ = conn.write_all(b"HTTP/1.1 403 Forbidden\r\n\r\n").await;
    });
    let peer = HttpPeer::new_proxy(
        path.to_str().unwrap(),
        [127, 0, 0, 1].into(),
        80,
        false,
        "",
        BTreeMap::new(),
    );
    let err = TransportConnector::new(None)
        .new_stream(&peer)
        .await
        .unwrap_err();
    assert_eq!(err.etype(), &ConnectProxyFailure, "{err}");
    assert!(err.to_string().contains("403"), "{err}");
}
