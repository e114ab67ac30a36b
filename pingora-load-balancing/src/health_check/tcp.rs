//! [`TcpHealthCheck`]: a backend is healthy when a connection to it can be opened.

use super::{HealthCheck, HealthObserveCallback};
use crate::Backend;
use async_trait::async_trait;
use pingora_core::connectors::TransportConnector;
use pingora_core::upstreams::peer::BasicPeer;
use pingora_error::Result;
use std::time::Duration;

/// The connect limit of the default peer template.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// The limit for connect plus TLS handshake of a TLS probe.
pub(super) const DEFAULT_TLS_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Probes a backend by opening a TCP connection to it (then TLS, when the template has an SNI)
/// and closing it at once.
///
/// ```
/// use pingora_load_balancing::health_check::TcpHealthCheck;
///
/// let mut check = TcpHealthCheck::new();
/// check.consecutive_failure = 2; // two refused connects in a row before a backend goes down
/// ```
pub struct TcpHealthCheck {
    /// Consecutive successful probes before an unhealthy backend is healthy again (1).
    pub consecutive_success: usize,
    /// Consecutive failed probes before a healthy backend is marked unhealthy (1).
    pub consecutive_failure: usize,
    /// The peer each probe connects with, its address replaced by the backend's: set
    /// `options.connection_timeout` (1 s by default) or `sni` here.
    pub peer_template: BasicPeer,
    /// Told about every health flip.
    pub health_changed_callback: Option<HealthObserveCallback>,
    connector: TransportConnector,
}

impl TcpHealthCheck {
    /// A plain TCP probe with a 1 s connect limit, flipping state after one result.
    pub fn new() -> Box<Self> {
        let mut peer_template = BasicPeer::new("0.0.0.0:1");
        peer_template.options.connection_timeout = Some(DEFAULT_CONNECT_TIMEOUT);
        Box::new(TcpHealthCheck {
            consecutive_success: 1,
            consecutive_failure: 1,
            peer_template,
            health_changed_callback: None,
            connector: TransportConnector::new(None),
        })
    }

    /// A probe that also completes a TLS handshake with `sni`: the backend is healthy when
    /// its certificate verifies (system trust store, or `peer_template.options.ca`) and names
    /// `sni`. Connect plus handshake are limited to 2 s (`total_connection_timeout`).
    ///
    /// Needs the `openssl` feature: without it every probe fails with `InternalError`
    /// (saying to enable it) and the backends it watches go unhealthy; the check never
    /// pretends a handshake succeeded.
    ///
    /// ```
    /// use pingora_load_balancing::health_check::TcpHealthCheck;
    ///
    /// let check = TcpHealthCheck::new_tls("backend.example");
    /// assert_eq!(check.peer_template.sni, "backend.example");
    /// ```
    pub fn new_tls(sni: &str) -> Box<Self> {
        let mut check = Self::new();
        check.peer_template.sni = sni.to_string();
        check.peer_template.options.total_connection_timeout = Some(DEFAULT_TLS_CONNECT_TIMEOUT);
        check
    }

    /// Replaces the connector the probes dial with (e.g. one with bind addresses).
    pub fn set_connector(&mut self, connector: TransportConnector) {
        self.connector = connector;
    }
}

#[async_trait]
impl HealthCheck for TcpHealthCheck {
    async fn check(&self, target: &Backend) -> Result<()> {
        let mut peer = self.peer_template.clone();
        peer._address = target.addr.clone();
        // A fresh connection every time: a pooled one would say nothing about the backend now.
        self.connector.new_stream(&peer).await.map(drop)
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
    use tokio::net::TcpListener;

    #[tokio::test]
    async fn listening_backend_is_healthy_and_closed_port_is_not() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let live = Backend::new(&listener.local_addr().unwrap().to_string()).unwrap();
        let check = TcpHealthCheck::new();
        check.check(&live).await.unwrap();

        let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let closed_addr = closed.local_addr().unwrap().to_string();
        drop(closed);
        let dead = Backend::new(&closed_addr).unwrap();
        assert!(check.check(&dead).await.is_err());
    }

    #[cfg(not(feature = "openssl"))]
    #[tokio::test]
    async fn tls_probe_fails_honestly_without_a_tls_backend() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let backend = Backend::new(&listener.local_addr().unwrap().to_string()).unwrap();
        let err = TcpHealthCheck::new_tls("example.com")
            .check(&backend)
            .await
            .unwrap_err();
        assert_eq!(err.etype(), &pingora_error::ErrorType::InternalError);
        assert!(err.to_string().contains("openssl"), "{err}");
    }

    #[cfg(feature = "openssl")]
    #[tokio::test]
    async fn tls_probe_of_a_silent_backend_fails_within_its_limit() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let backend = Backend::new(&listener.local_addr().unwrap().to_string()).unwrap();
        let _held = tokio::spawn(async move { listener.accept().await.map(|(conn, _)| conn) });
        let mut check = TcpHealthCheck::new_tls("example.com");
        check.peer_template.options.total_connection_timeout = Some(Duration::from_millis(100));
        let err = check.check(&backend).await.unwrap_err();
        assert_eq!(err.etype(), &pingora_error::ErrorType::TLSHandshakeTimedout);
    }

    #[test]
    fn thresholds_follow_the_fields() {
        let mut check = TcpHealthCheck::new();
        check.consecutive_success = 3;
        check.consecutive_failure = 2;
        assert_eq!(check.health_threshold(true), 3);
        assert_eq!(check.health_threshold(false), 2);
    }
}
