//! [`HttpHealthCheck`]: a backend is healthy when it answers a request as expected.

use super::{HealthCheck, HealthObserveCallback};
use crate::Backend;
use async_trait::async_trait;
use pingora_core::connectors::http::Connector;
use pingora_core::upstreams::peer::{HttpPeer, Peer};
use pingora_error::{Error, ErrorType, Result};
use pingora_http::{RequestHeader, ResponseHeader};
use std::time::Duration;

/// The connect and read limits of the default peer template.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);
/// How much response body a probe reads before it gives up on reusing the connection.
const MAX_DRAINED_BODY: usize = 64 * 1024;
/// How many interim (1xx) responses a probe skips before it calls the answer malformed.
const MAX_INTERIM_RESPONSES: usize = 8;

/// Decides whether a response header means healthy: `Ok` for yes, an error saying why not.
pub type Validator = Box<dyn Fn(&ResponseHeader) -> Result<()> + Send + Sync>;

/// Probes a backend with an HTTP/1.1 request (`GET /` by default) and expects `200`, or
/// whatever [`validator`](Self::validator) accepts.
///
/// ```
/// use pingora_load_balancing::health_check::HttpHealthCheck;
///
/// let mut check = HttpHealthCheck::new("backend.example", false);
/// check.req.set_raw_path(b"/healthz").unwrap();
/// check.validator = Some(Box::new(|resp| {
///     if resp.status.is_success() {
///         Ok(())
///     } else {
///         pingora_error::Error::e_explain(pingora_error::ErrorType::HTTPStatus(resp.status.as_u16()), "health probe")
///     }
/// }));
/// ```
pub struct HttpHealthCheck {
    /// Consecutive successful probes before an unhealthy backend is healthy again (1).
    pub consecutive_success: usize,
    /// Consecutive failed probes before a healthy backend is marked unhealthy (1).
    pub consecutive_failure: usize,
    /// The peer each probe connects with, its address replaced by the backend's. Its options
    /// carry the limits: `connection_timeout` and `read_timeout` are 1 s by default.
    pub peer_template: HttpPeer,
    /// Keep the connection between probes (false: a new connection per probe, which also
    /// tests that the backend accepts connections).
    pub reuse_connection: bool,
    /// The request sent: `GET /` with the `Host` given to [`new`](Self::new).
    pub req: RequestHeader,
    /// The connector probes go through (its own pool).
    pub connector: Connector,
    /// Judges the response header; `None` accepts exactly status 200.
    pub validator: Option<Validator>,
    /// Probe this port instead of the backend's (e.g. a separate admin port).
    pub port_override: Option<u16>,
    /// Told about every health flip.
    pub health_changed_callback: Option<HealthObserveCallback>,
}

impl HttpHealthCheck {
    /// A probe sending `GET /` with `Host: host`, over TLS (with `host` as SNI and as the
    /// name the certificate must carry) when `tls`. A TLS probe verifies the certificate
    /// against the system trust store, or `peer_template.options.ca`, and its connect plus
    /// handshake are limited to 2 s (`total_connection_timeout`).
    ///
    /// TLS needs the `openssl` feature: without it every probe with `tls = true` fails with
    /// `InternalError` (saying to enable it), so the backends it watches go unhealthy rather
    /// than being reported healthy untested.
    ///
    /// # Panics
    ///
    /// If `host` is not a valid header value (e.g. contains a newline).
    pub fn new(host: &str, tls: bool) -> Self {
        let mut req = RequestHeader::build("GET", b"/", None)
            .expect("invariant: GET / is a valid request line");
        req.insert_header("Host", host)
            .expect("HttpHealthCheck::new is given a host that is a valid header value");
        let mut peer_template = HttpPeer::new("0.0.0.0:1", tls, host.to_string());
        peer_template.options.connection_timeout = Some(DEFAULT_TIMEOUT);
        peer_template.options.read_timeout = Some(DEFAULT_TIMEOUT);
        if tls {
            peer_template.options.total_connection_timeout =
                Some(super::tcp::DEFAULT_TLS_CONNECT_TIMEOUT);
        }
        HttpHealthCheck {
            consecutive_success: 1,
            consecutive_failure: 1,
            peer_template,
            reuse_connection: false,
            req,
            connector: Connector::new(None),
            validator: None,
            port_override: None,
            health_changed_callback: None,
        }
    }

    fn judge(&self, response: &ResponseHeader) -> Result<()> {
        match &self.validator {
            Some(validator) => validator(response),
            None if response.status.as_u16() == 200 => Ok(()),
            None => Error::e_explain(
                ErrorType::HTTPStatus(response.status.as_u16()),
                "health check expected status 200",
            ),
        }
    }
}

#[async_trait]
impl HealthCheck for HttpHealthCheck {
    async fn check(&self, target: &Backend) -> Result<()> {
        let mut peer = self.peer_template.clone();
        peer._address = target.addr.clone();
        if let Some(port) = self.port_override {
            peer._address.set_port(port);
        }
        let (mut session, _reused) = self.connector.get_http_session(&peer).await?;
        session
            .write_request_header(Box::new(self.req.clone()))
            .await?;
        session.finish_request_body().await?;

        let mut interim = 0;
        loop {
            session.read_response_header().await?;
            let status = session.response_header().map(|r| r.status.as_u16());
            match status {
                Some(code) if (100..200).contains(&code) && code != 101 => {
                    interim += 1;
                    if interim > MAX_INTERIM_RESPONSES {
                        return Error::e_explain(
                            ErrorType::InvalidHTTPHeader,
                            "health check got only interim responses",
                        );
                    }
                }
                _ => break,
            }
        }
        let response = session.response_header().ok_or_else(|| {
            Error::explain(
                ErrorType::InternalError,
                "response header missing after read",
            )
        })?;
        self.judge(response)?;

        let mut drained = 0;
        while let Some(chunk) = session.read_response_body().await? {
            drained += chunk.len();
            if drained > MAX_DRAINED_BODY {
                // Enough to know the backend answers; the rest is not worth reading.
                return Ok(());
            }
        }
        if self.reuse_connection {
            self.connector
                .release_http_session(session, &peer, peer.idle_timeout())
                .await;
        }
        Ok(())
    }

    async fn health_status_change(&self, target: &Backend, healthy: bool) {
        if let Some(callback) = &self.health_changed_callback {
            callback.observe(target, healthy).await;
        }
    }

    fn health_threshold(&self, success: bool) -> usize {
        if success {
            self.consecutive_success
        } else {
            self.consecutive_failure
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A one-connection-at-a-time HTTP server answering every request with `response`.
    /// Returns its address and the request heads it has seen.
    async fn canned_server(
        response: &'static str,
    ) -> (SocketAddr, tokio::sync::mpsc::UnboundedReceiver<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (seen_tx, seen_rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let seen_tx = seen_tx.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    let mut head = Vec::new();
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let _ = seen_tx.send(String::from_utf8_lossy(&head).into_owned());
                    let _ = socket.write_all(response.as_bytes()).await;
                });
            }
        });
        (addr, seen_rx)
    }

    fn backend(addr: SocketAddr) -> Backend {
        Backend::new(&addr.to_string()).unwrap()
    }

    #[tokio::test]
    async fn status_200_is_healthy_and_request_carries_path_and_host() {
        let (addr, mut seen) =
            canned_server("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").await;
        let mut check = HttpHealthCheck::new("health.example", false);
        check.req.set_raw_path(b"/healthz").unwrap();
        check.check(&backend(addr)).await.unwrap();
        let head = seen.recv().await.unwrap();
        assert!(head.starts_with("GET /healthz HTTP/1.1\r\n"), "{head}");
        assert!(head.contains("Host: health.example\r\n"), "{head}");
    }

    #[tokio::test]
    async fn other_status_is_unhealthy_unless_the_validator_accepts_it() {
        let (addr, _seen) =
            canned_server("HTTP/1.1 503 Unavailable\r\nContent-Length: 0\r\n\r\n").await;
        let mut check = HttpHealthCheck::new("h", false);
        let err = check.check(&backend(addr)).await.unwrap_err();
        assert_eq!(err.etype(), &ErrorType::HTTPStatus(503));

        check.validator = Some(Box::new(|resp| {
            if resp.status.as_u16() == 503 {
                Ok(())
            } else {
                Error::e_explain(ErrorType::InternalError, "wanted 503")
            }
        }));
        check.check(&backend(addr)).await.unwrap();
    }

    #[tokio::test]
    async fn port_override_probes_another_port() {
        let (addr, _seen) = canned_server("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").await;
        let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let closed_addr = closed.local_addr().unwrap();
        drop(closed);
        let mut check = HttpHealthCheck::new("h", false);
        assert!(check.check(&backend(closed_addr)).await.is_err());
        check.port_override = Some(addr.port());
        check.check(&backend(closed_addr)).await.unwrap();
    }

    #[tokio::test]
    async fn silent_backend_fails_within_the_read_timeout() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let _keep = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let mut check = HttpHealthCheck::new("h", false);
        check.peer_template.options.read_timeout = Some(Duration::from_millis(50));
        let started = std::time::Instant::now();
        assert!(check.check(&backend(addr)).await.is_err());
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[cfg(not(feature = "openssl"))]
    #[tokio::test]
    async fn tls_probe_fails_honestly_without_a_tls_backend() {
        let (addr, _seen) = canned_server("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").await;
        let check = HttpHealthCheck::new("h", true);
        let err = check.check(&backend(addr)).await.unwrap_err();
        assert_eq!(err.etype(), &ErrorType::InternalError);
        assert!(err.to_string().contains("openssl"), "{err}");
    }

    #[cfg(feature = "openssl")]
    #[tokio::test]
    async fn tls_probe_of_a_plain_http_backend_fails_within_its_limit() {
        // The canned server waits for an HTTP head, which a TLS hello never completes.
        let (addr, _seen) = canned_server("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").await;
        let mut check = HttpHealthCheck::new("h", true);
        check.peer_template.options.total_connection_timeout = Some(Duration::from_millis(100));
        let err = check.check(&backend(addr)).await.unwrap_err();
        assert_eq!(err.etype(), &ErrorType::TLSHandshakeTimedout, "{err}");
    }
}
