//! TLS to upstream peers (the `openssl` feature) end to end against a real nginx serving TLS
//! on a loopback port, with certificates made at run time (see `common/tls.rs`): handshake
//! and digests, certificate and hostname verification, ALPN, pooled reuse over TLS 1.3,
//! client certificates, and the typed errors of failed handshakes.
//!
//! These tests need the `nginx` binary (Debian: `apt-get install -y nginx`) and fail if it is
//! missing. Set `NGINX` to the binary's path to use another one.

#![cfg(feature = "openssl")]

mod common {
    pub mod get;
    pub mod net;
    pub mod nginx;
    pub mod temp_dir;
    pub mod tls;
}

use common::nginx::Nginx;
use common::tls::{as_files, TestPki};
use pingora_core::connectors::http::Connector;
use pingora_core::connectors::{ConnectorOptions, TransportConnector};
use pingora_core::protocols::http::client::HttpSession;
use pingora_core::protocols::tls::SslStream;
use pingora_core::protocols::{GetSocketDigest, GetTimingDigest, Stream};
use pingora_core::upstreams::peer::{HttpPeer, ALPN};
use pingora_core::ErrorType;
use std::time::Duration;
use tokio::net::TcpListener;

const LIMIT: Duration = Duration::from_secs(5);

/// nginx serving TLS 1.3 only with the PKI's server certificate; `/` answers `200 hello tls`
/// with `$connection_requests` in `X-Conn-Requests`. `extra` goes into the server block.
fn start_nginx(label: &str, pki: &TestPki, extra: &str) -> Nginx {
    let files = pki.nginx_files();
    Nginx::start_tls(
        label,
        &as_files(&files),
        "keepalive_timeout 60s;\n    keepalive_requests 1000;",
        &format!(
            "ssl_certificate cert.pem;
        ssl_certificate_key key.pem;
        ssl_protocols TLSv1.3;
        {extra}
        location / {{
            add_header X-Conn-Requests $connection_requests always;
            return 200 'hello tls';
        }}"
        ),
    )
}

/// A TLS peer for `localhost` on nginx's port, trusting `pki`'s CA.
fn peer(nginx: &Nginx, pki: &TestPki) -> HttpPeer {
    let mut peer = HttpPeer::new(("127.0.0.1", nginx.port()), true, "localhost".to_string());
    peer.options.ca = Some(pki.ca());
    peer.options.total_connection_timeout = Some(LIMIT);
    peer.options.read_timeout = Some(LIMIT);
    peer.options.write_timeout = Some(LIMIT);
    peer
}

fn tls_of(stream: &Stream) -> &SslStream<Stream> {
    stream
        .as_any()
        .downcast_ref::<SslStream<Stream>>()
        .expect("a TLS peer's stream is an SslStream")
}

/// Sends `GET /` to nginx's `localhost` and reads the whole response: status, nginx's request
/// count for the connection, body.
async fn get(session: &mut HttpSession) -> (u16, Option<u32>, Vec<u8>) {
    common::get::get(session, "localhost", false).await
}

#[tokio::test]
async fn handshake_with_the_peer_ca_reports_ssl_socket_and_timing_digests() {
    let pki = TestPki::new();
    let nginx = start_nginx("digest", &pki, "");
    let connector = TransportConnector::new(None);
    let stream = connector.new_stream(&peer(&nginx, &pki)).await.unwrap();

    let digest = tls_of(&stream)
        .ssl_digest()
        .expect("the handshake completed");
    assert_eq!(digest.version, "TLSv1.3");
    assert!(digest.cipher.starts_with("TLS_"), "{}", digest.cipher);
    assert_eq!(digest.organization.as_deref(), Some("Pingora Test"));
    let serial = pki
        .server
        .serial_number()
        .to_bn()
        .unwrap()
        .to_hex_str()
        .unwrap();
    assert_eq!(
        digest.serial_number.as_deref(),
        Some(serial.to_string().as_str())
    );
    assert_eq!(digest.cert_digest.len(), 32, "SHA-256 of the certificate");

    let socket = stream
        .get_socket_digest()
        .expect("the socket shows through TLS");
    let peer_addr = socket.peer_addr().and_then(|a| a.as_inet()).unwrap();
    assert_eq!(peer_addr.port(), nginx.port());
    assert_eq!(stream.get_timing_digest().len(), 2, "socket, then TLS");
}

#[tokio::test]
async fn http_request_over_tls_gets_200_and_the_session_digest_has_tls() {
    let pki = TestPki::new();
    let nginx = start_nginx("http", &pki, "");
    let connector = Connector::new(None);
    let (mut session, reused) = connector
        .get_http_session(&peer(&nginx, &pki))
        .await
        .unwrap();
    assert!(!reused);
    let (status, _, body) = get(&mut session).await;
    assert_eq!(status, 200);
    assert_eq!(body, b"hello tls");
    let digest = session.digest().expect("an HTTP/1 session has a digest");
    let ssl = digest
        .ssl_digest
        .as_ref()
        .expect("the session runs over TLS");
    assert_eq!(ssl.version, "TLSv1.3");
    assert!(digest.socket_digest.is_some());
}

#[tokio::test]
async fn certificate_from_an_unknown_ca_is_rejected_unless_verification_is_off() {
    let pki = TestPki::new();
    let nginx = start_nginx("untrusted", &pki, "");
    let connector = TransportConnector::new(None);
    let mut untrusted = peer(&nginx, &pki);
    untrusted.options.ca = None;
    let e = connector.new_stream(&untrusted).await.unwrap_err();
    assert_eq!(e.etype(), &ErrorType::InvalidCert, "{e}");
    let text = e.to_string();
    assert!(
        text.contains("local issuer certificate"),
        "says why: {text}"
    );
    assert!(
        text.contains(&nginx.port().to_string()),
        "names the peer: {text}"
    );
    assert!(!e.retry());

    untrusted.options.verify_cert = false;
    let stream = connector.new_stream(&untrusted).await.unwrap();
    assert!(tls_of(&stream).ssl_digest().is_some());
}

#[tokio::test]
async fn hostname_must_match_the_sni_or_the_alternative_cn() {
    let pki = TestPki::new();
    let nginx = start_nginx("hostname", &pki, "");
    let connector = TransportConnector::new(None);
    let mut wrong = peer(&nginx, &pki);
    wrong.sni = "wrong.example".to_string();
    let e = connector.new_stream(&wrong).await.unwrap_err();
    assert_eq!(e.etype(), &ErrorType::InvalidCert, "{e}");
    assert!(e.to_string().contains("mismatch"), "{e}");

    let mut alternative = wrong.clone();
    alternative.options.alternative_cn = Some("localhost".to_string());
    connector.new_stream(&alternative).await.unwrap();

    let mut unchecked = wrong.clone();
    unchecked.options.verify_hostname = false;
    connector.new_stream(&unchecked).await.unwrap();

    // An IP literal is not sent as SNI but is checked against the certificate's IP SANs.
    let mut by_ip = wrong;
    by_ip.sni = "127.0.0.1".to_string();
    connector.new_stream(&by_ip).await.unwrap();
}

#[tokio::test]
async fn alpn_offer_of_h2_and_http1_gets_http1_from_an_nginx_without_http2() {
    let pki = TestPki::new();
    let nginx = start_nginx("alpn", &pki, "");
    let connector = TransportConnector::new(None);
    let mut offer_both = peer(&nginx, &pki);
    offer_both.options.alpn = ALPN::H2H1;
    let stream = connector.new_stream(&offer_both).await.unwrap();
    assert_eq!(tls_of(&stream).selected_alpn(), Some(ALPN::H1));
    assert_eq!(
        tls_of(&stream).ssl().selected_alpn_protocol(),
        Some(&b"http/1.1"[..])
    );
}

#[tokio::test]
async fn http_connector_offers_only_http1_to_a_server_that_would_pick_h2() {
    let pki = TestPki::new();
    let files = pki.nginx_files();
    let nginx = Nginx::start_tls_h2(
        "alpn-h2",
        &as_files(&files),
        "",
        "ssl_certificate cert.pem;
        ssl_certificate_key key.pem;
        location / { return 200 'hello tls'; }",
    );
    let mut offer_both = peer(&nginx, &pki);
    offer_both.options.set_http_version(2, 1);
    // Offered h2, this server takes it...
    let stream = TransportConnector::new(None)
        .new_stream(&offer_both)
        .await
        .unwrap();
    assert_eq!(tls_of(&stream).selected_alpn(), Some(ALPN::H2));
    // ...so the HTTP/1.1-only connector must not offer it.
    let connector = Connector::new(None);
    let (mut session, reused) = connector.get_http_session(&offer_both).await.unwrap();
    assert!(!reused);
    let (status, _, body) = get(&mut session).await;
    assert_eq!((status, &body[..]), (200, &b"hello tls"[..]));
}

#[tokio::test]
async fn pooled_tls13_connection_is_reused_despite_session_tickets() {
    let pki = TestPki::new();
    let nginx = start_nginx("pool", &pki, "");
    let peer = peer(&nginx, &pki);
    let connector = Connector::new(Some(ConnectorOptions::new(8)));
    for expected in 1..=3 {
        let (mut session, reused) = connector.get_http_session(&peer).await.unwrap();
        assert_eq!(reused, expected > 1, "request {expected}");
        let (status, count, _) = get(&mut session).await;
        assert_eq!(status, 200);
        assert_eq!(
            count,
            Some(expected),
            "one TCP connection carries every request"
        );
        connector
            .release_http_session(session, &peer, Some(Duration::from_secs(30)))
            .await;
        // Let the pool's watcher take the connection over once (it reads through TLS).
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

#[tokio::test]
async fn client_certificate_is_presented_when_the_peer_requires_one() {
    let pki = TestPki::new();
    let nginx = start_nginx(
        "mtls",
        &pki,
        "ssl_client_certificate ca.pem;\n        ssl_verify_client on;",
    );
    let connector = Connector::new(None);
    let anonymous = peer(&nginx, &pki);
    let (mut session, _) = connector.get_http_session(&anonymous).await.unwrap();
    let (status, _, body) = get(&mut session).await;
    assert_eq!(status, 400);
    assert!(
        String::from_utf8_lossy(&body).contains("No required SSL certificate"),
        "{}",
        String::from_utf8_lossy(&body)
    );

    let mut mtls = HttpPeer::new_mtls(
        ("127.0.0.1", nginx.port()),
        "localhost".to_string(),
        pki.client_cert_key(),
    );
    mtls.options = anonymous.options.clone();
    let (mut session, reused) = connector.get_http_session(&mtls).await.unwrap();
    assert!(!reused, "a client certificate makes a separate pool");
    let (status, _, body) = get(&mut session).await;
    assert_eq!(status, 200);
    assert_eq!(body, b"hello tls");
}

#[tokio::test]
async fn peer_that_never_answers_the_hello_times_out_as_a_tls_handshake() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // Accept and hold the connection without answering.
    let holder = tokio::spawn(async move { listener.accept().await.map(|(conn, _)| conn) });
    let mut silent = HttpPeer::new(addr, true, "localhost".to_string());
    silent.options.total_connection_timeout = Some(Duration::from_millis(200));
    let e = TransportConnector::new(None)
        .new_stream(&silent)
        .await
        .unwrap_err();
    assert_eq!(e.etype(), &ErrorType::TLSHandshakeTimedout, "{e}");
    assert!(e.retry());
    drop(holder);
}

#[tokio::test]
async fn plain_http_peer_fails_the_handshake() {
    let pki = TestPki::new();
    let files = pki.nginx_files();
    let plain = Nginx::start("plain", &as_files(&files), "", "return 200 plain;");
    let mut peer = HttpPeer::new(("127.0.0.1", plain.port()), true, "localhost".to_string());
    peer.options.ca = Some(pki.ca());
    peer.options.total_connection_timeout = Some(LIMIT);
    let e = TransportConnector::new(None)
        .new_stream(&peer)
        .await
        .unwrap_err();
    assert_eq!(e.etype(), &ErrorType::TLSHandshakeFailure, "{e}");
    assert!(e.retry());
    assert!(e.to_string().contains(&plain.port().to_string()), "{e}");
}
