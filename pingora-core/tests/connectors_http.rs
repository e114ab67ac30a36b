//! `connectors::http::Connector` end to end against a real nginx: pooled connections are
//! reused (nginx's `$connection_requests`, echoed in a response header, counts the requests
//! each connection carried), non-reusable ones are not, and a connection nginx closed while
//! idle is never handed out.
//!
//! These tests need the `nginx` binary (Debian: `apt-get install -y nginx`) and fail if it is
//! missing. Set `NGINX` to the binary's path to use another one.

mod common {
    pub mod get;
    pub mod net;
    pub mod nginx;
    pub mod temp_dir;
}

use common::nginx::Nginx;
use pingora_core::connectors::http::Connector;
use pingora_core::connectors::ConnectorOptions;
use pingora_core::protocols::http::client::HttpSession;
use pingora_core::upstreams::peer::HttpPeer;
use pingora_http::RequestHeader;
use std::time::Duration;

/// An nginx serving `200 ok` on every path, echoing `$connection_requests` in
/// `X-Conn-Requests`, that closes idle keep-alive connections after `keepalive_timeout`.
fn start_nginx(label: &str, keepalive_timeout: &str) -> Nginx {
    Nginx::start(
        label,
        &[],
        &format!("keepalive_timeout {keepalive_timeout};\n    keepalive_requests 1000;"),
        "location / {
            add_header X-Conn-Requests $connection_requests always;
            return 200 ok;
        }",
    )
}

impl Nginx {
    fn peer(&self) -> HttpPeer {
        let mut peer = HttpPeer::new(("127.0.0.1", self.port()), false, String::new());
        peer.options.read_timeout = Some(Duration::from_secs(5));
        peer.options.write_timeout = Some(Duration::from_secs(5));
        peer
    }
}

/// Sends `GET /` (with `Connection: close` if asked), reads the whole response and returns
/// nginx's request count for the connection.
async fn get(session: &mut HttpSession, close: bool) -> u32 {
    let (status, count, body) = common::get::get(session, "peers.test", close).await;
    assert_eq!(status, 200);
    assert_eq!(body, b"ok");
    count.expect("nginx sends X-Conn-Requests")
}

#[tokio::test]
async fn released_session_is_reused_for_the_next_request() {
    let nginx = start_nginx("reuse", "60s");
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
    let nginx = start_nginx("close", "60s");
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
    let nginx = start_nginx("unfinished", "60s");
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
    let nginx = start_nginx("idle-close", "100ms");
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
    let nginx = start_nginx("idle-timeout", "60s");
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
