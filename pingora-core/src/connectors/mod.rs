//! Connectors: how the proxy reaches its peers. A connector dials a fresh connection
//! (L4, then TLS), or hands out an idle one from its pool when the peer allows reuse.
//!
//! ```no_run
//! use pingora_core::connectors::TransportConnector;
//! use pingora_core::upstreams::peer::{BasicPeer, Peer};
//! use tokio::io::AsyncWriteExt;
//!
//! # async fn run() -> pingora_core::Result<()> {
//! let connector = TransportConnector::new(None);
//! let peer = BasicPeer::new("127.0.0.1:6379");
//! let (mut stream, reused) = connector.get_stream(&peer).await?;
//! stream.write_all(b"PING\r\n").await.unwrap();
//! // ... read the answer, then give the connection back for the next caller:
//! connector.release_stream(stream, peer.reuse_hash(), peer.idle_timeout());
//! # Ok(())
//! # }
//! ```

pub mod http;
pub mod l4;
mod pool;
#[cfg(feature = "openssl")]
mod tls;

pub use l4::Connect as L4Connect;

use crate::protocols::Stream;
use crate::server::configuration::ServerConf;
use crate::upstreams::peer::Peer;
use l4::BindTo;
use pingora_error::{Error, ErrorType, Result};
use pool::ConnectionPool;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// Settings shared by all connections a connector makes. The fields mirror the upstream keys of
/// [`ServerConf`].
///
/// ```
/// use pingora_core::connectors::ConnectorOptions;
///
/// let options = ConnectorOptions::new(32);
/// assert_eq!(options.keepalive_pool_size, 32);
/// assert!(options.bind_to_v4.is_empty());
/// ```
#[non_exhaustive]
#[derive(Clone, Debug)]
pub struct ConnectorOptions {
    /// Idle connections kept over all peers (`upstream_keepalive_pool_size`); 0 disables pooling.
    pub keepalive_pool_size: usize,
    /// Local IPv4 addresses to connect from, one picked per connection (`client_bind_to_ipv4`).
    /// A peer's own `bind_to` takes precedence.
    pub bind_to_v4: Vec<SocketAddr>,
    /// Local IPv6 addresses to connect from (`client_bind_to_ipv6`).
    pub bind_to_v6: Vec<SocketAddr>,
    /// Trust anchors file for TLS peers (`ca_file`); read by the TLS connector.
    pub ca_file: Option<String>,
    /// Thread pools to run connects on, as (pools, threads per pool)
    /// (`upstream_connect_offload_threadpools`, `upstream_connect_offload_thread_per_pool`).
    /// Accepted but not used yet: connects run on the caller's runtime.
    pub offload_threadpool: Option<(usize, usize)>,
    /// Log TLS session keys for debugging (`upstream_debug_ssl_keylog`); read by the TLS connector.
    pub debug_ssl_keylog: bool,
}

impl ConnectorOptions {
    /// Options with a pool of `keepalive_pool_size` connections and nothing else set.
    pub fn new(keepalive_pool_size: usize) -> Self {
        ConnectorOptions {
            keepalive_pool_size,
            bind_to_v4: Vec::new(),
            bind_to_v6: Vec::new(),
            ca_file: None,
            offload_threadpool: None,
            debug_ssl_keylog: false,
        }
    }

    /// Options from a server configuration. Bind addresses are IPs (port 0 is implied) or
    /// `ip:port`; an entry that parses as neither, or is of the wrong family, is logged and skipped.
    ///
    /// ```
    /// use pingora_core::connectors::ConnectorOptions;
    /// use pingora_core::server::configuration::ServerConf;
    ///
    /// let mut conf = ServerConf::default();
    /// conf.upstream_keepalive_pool_size = 7;
    /// conf.client_bind_to_ipv4 = vec!["127.0.0.2".to_string()];
    /// let options = ConnectorOptions::from_server_conf(&conf);
    /// assert_eq!(options.keepalive_pool_size, 7);
    /// assert_eq!(options.bind_to_v4, vec!["127.0.0.2:0".parse().unwrap()]);
    /// ```
    pub fn from_server_conf(conf: &ServerConf) -> Self {
        let offload_threadpool = conf
            .upstream_connect_offload_threadpools
            .zip(conf.upstream_connect_offload_thread_per_pool)
            .filter(|(pools, threads)| *pools > 0 && *threads > 0);
        ConnectorOptions {
            keepalive_pool_size: conf.upstream_keepalive_pool_size,
            bind_to_v4: parse_bind_addresses(&conf.client_bind_to_ipv4, true),
            bind_to_v6: parse_bind_addresses(&conf.client_bind_to_ipv6, false),
            ca_file: conf.ca_file.clone(),
            offload_threadpool,
            debug_ssl_keylog: conf.upstream_debug_ssl_keylog,
        }
    }
}

fn parse_bind_addresses(entries: &[String], ipv4: bool) -> Vec<SocketAddr> {
    entries
        .iter()
        .filter_map(|entry| {
            let parsed = entry
                .parse::<SocketAddr>()
                .ok()
                .or_else(|| {
                    entry
                        .parse::<IpAddr>()
                        .ok()
                        .map(|ip| SocketAddr::new(ip, 0))
                })
                .filter(|addr| addr.is_ipv4() == ipv4);
            if parsed.is_none() {
                log::error!(
                    "ignoring client bind address {entry:?}: not an IPv{} address",
                    if ipv4 { 4 } else { 6 }
                );
            }
            parsed
        })
        .collect()
}

/// Default pool size when no [`ConnectorOptions`] are given.
const DEFAULT_POOL_SIZE: usize = 128;

/// Dials L4 (and, with a TLS backend, TLS) connections to peers and pools idle ones.
///
/// One connector is usually shared by all requests of a service. With the `openssl` feature it
/// holds one TLS client context (the system trust store plus
/// [`ca_file`](ConnectorOptions::ca_file)), built on the first TLS connect and configured per
/// connection for each peer.
pub struct TransportConnector {
    pool: ConnectionPool,
    bind_to_v4: Vec<SocketAddr>,
    bind_to_v6: Vec<SocketAddr>,
    next_bind: AtomicUsize,
    #[cfg(feature = "openssl")]
    tls: tls::TlsConnector,
}

impl TransportConnector {
    /// A connector with `options` (default: a pool of 128 connections, no bind addresses).
    pub fn new(options: Option<ConnectorOptions>) -> Self {
        let options = options.unwrap_or_else(|| ConnectorOptions::new(DEFAULT_POOL_SIZE));
        TransportConnector {
            pool: ConnectionPool::new(options.keepalive_pool_size),
            bind_to_v4: options.bind_to_v4,
            bind_to_v6: options.bind_to_v6,
            next_bind: AtomicUsize::new(0),
            #[cfg(feature = "openssl")]
            tls: tls::TlsConnector::new(options.ca_file, options.debug_ssl_keylog),
        }
    }

    /// Opens a fresh connection to `peer`, never a pooled one: the L4 connect, then, for a TLS
    /// peer, the TLS handshake.
    ///
    /// The L4 connect is bounded by the peer's `connection_timeout` and the whole connect by
    /// `total_connection_timeout`. Errors are upstream errors naming the peer:
    /// `ConnectRefused`, `ConnectTimedout`, `ConnectNoRoute` and `ConnectError` for the L4
    /// step (all retryable); for the TLS step `InvalidCert` when the peer's certificate is
    /// rejected (the context gives OpenSSL's reason), `TLSHandshakeFailure` otherwise
    /// (retryable), and `TLSHandshakeTimedout` (retryable) when the total limit runs out
    /// during the handshake.
    ///
    /// The TLS handshake sends the peer's SNI (unless empty or an IP address), verifies the
    /// certificate chain unless `verify_cert` is off (against the peer's `ca` when set, else
    /// the system store plus [`ConnectorOptions::ca_file`]), checks the certificate names
    /// `alternative_cn` or else the SNI unless `verify_hostname` is off (no name, no check),
    /// presents the peer's client certificate, and offers its ALPN. Without a TLS backend (the
    /// `openssl` feature) a TLS peer fails with `InternalError` before anything is dialed.
    pub async fn new_stream<P: Peer + Send + Sync + 'static>(&self, peer: &P) -> Result<Stream> {
        let deadline = peer
            .total_connection_timeout()
            .map(|limit| (Instant::now() + limit, limit));
        let stream = self.connect(peer, deadline).await?;
        if let Some(tracer) = peer.get_tracer() {
            tracer.on_connected();
        }
        Ok(stream)
    }

    async fn connect<P: Peer + Send + Sync + 'static>(
        &self,
        peer: &P,
        deadline: Option<(Instant, Duration)>,
    ) -> Result<Stream> {
        #[cfg(not(feature = "openssl"))]
        if peer.tls() {
            return Err(Error::explain(
                ErrorType::InternalError,
                format!(
                    "cannot connect to {peer}: TLS peers need a TLS backend; \
                     enable the `openssl` feature"
                ),
            )
            .into_up());
        }
        let bind_to = match peer.bind_to() {
            Some(bind) => Some(bind.clone()),
            None => self.pick_bind_address(peer),
        };
        let l4 = l4::connect(peer, bind_to.as_ref());
        let stream = within(deadline, l4, || {
            (
                ErrorType::ConnectTimedout,
                format!("connecting to {peer} took longer than the total limit"),
            )
        })
        .await?;
        #[cfg(feature = "openssl")]
        if peer.tls() {
            let handshake = self.tls.connect(stream, peer);
            return within(deadline, handshake, || {
                (
                    ErrorType::TLSHandshakeTimedout,
                    format!("TLS handshake with {peer} not done within the total connect limit"),
                )
            })
            .await
            .map_err(|mut e| {
                e.as_up();
                e
            });
        }
        Ok(stream)
    }

    /// A configured local address of the peer's address family, rotating between them.
    fn pick_bind_address<P: Peer>(&self, peer: &P) -> Option<BindTo> {
        let ipv4 = l4::is_ipv4(peer.address())?;
        let choices = if ipv4 {
            &self.bind_to_v4
        } else {
            &self.bind_to_v6
        };
        if choices.is_empty() {
            return None;
        }
        let index = self.next_bind.fetch_add(1, Ordering::Relaxed) % choices.len();
        Some(BindTo::new(choices[index]))
    }

    /// An idle pooled connection for `peer`, if one is healthy.
    pub async fn reused_stream<P: Peer + Send + Sync>(&self, peer: &P) -> Option<Stream> {
        self.pool.checkout(peer.reuse_hash()).await
    }

    /// Returns `stream` to the pool under `key` (a peer's [`Peer::reuse_hash`]) for at most
    /// `idle_timeout`. Only give back connections that are clean: nothing left to read,
    /// no request half sent.
    pub fn release_stream(&self, stream: Stream, key: u64, idle_timeout: Option<Duration>) {
        self.pool.release(key, stream, idle_timeout);
    }

    /// A pooled connection if there is one, else a fresh one; the flag says whether it was reused.
    pub async fn get_stream<P: Peer + Send + Sync + 'static>(
        &self,
        peer: &P,
    ) -> Result<(Stream, bool)> {
        if let Some(stream) = self.reused_stream(peer).await {
            return Ok((stream, true));
        }
        self.new_stream(peer).await.map(|stream| (stream, false))
    }
}

/// Runs `step` until `deadline` (none: without limit); past it, fails with the retryable
/// upstream error that `timed_out` describes.
async fn within<T>(
    deadline: Option<(Instant, Duration)>,
    step: impl std::future::Future<Output = Result<T>>,
    timed_out: impl FnOnce() -> (ErrorType, String),
) -> Result<T> {
    let Some((at, limit)) = deadline else {
        return step.await;
    };
    match tokio::time::timeout_at(at, step).await {
        Ok(result) => result,
        Err(_) => {
            let (etype, what) = timed_out();
            let mut e = Error::explain(etype, format!("{what} ({limit:?})"));
            e.set_retry(true);
            Err(e.into_up())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstreams::peer::{BasicPeer, HttpPeer};

    fn assert_send_sync<T: Send + Sync>() {}
    fn assert_send<T: Send>(_: &T) {}

    #[test]
    fn connectors_are_shareable_and_their_futures_can_be_spawned() {
        assert_send_sync::<TransportConnector>();
        assert_send_sync::<http::Connector>();
        let transport = TransportConnector::new(None);
        let basic = BasicPeer::new("127.0.0.1:1");
        assert_send(&transport.get_stream(&basic));
        let connector = http::Connector::new(None);
        let peer = HttpPeer::new("127.0.0.1:1", false, String::new());
        assert_send(&connector.get_http_session(&peer));
    }

    #[test]
    fn bind_addresses_from_the_config_are_checked_per_family() {
        let entries = ["127.0.0.2", "127.0.0.3:4000", "::1", "nonsense"].map(String::from);
        assert_eq!(
            parse_bind_addresses(&entries, true),
            vec![
                "127.0.0.2:0".parse::<SocketAddr>().unwrap(),
                "127.0.0.3:4000".parse().unwrap()
            ]
        );
        assert_eq!(
            parse_bind_addresses(&entries, false),
            vec!["[::1]:0".parse::<SocketAddr>().unwrap()]
        );
    }

    #[test]
    fn bind_address_rotates_over_the_configured_ones() {
        let mut options = ConnectorOptions::new(1);
        options.bind_to_v4 = vec![
            "127.0.0.2:0".parse().unwrap(),
            "127.0.0.3:0".parse().unwrap(),
        ];
        let connector = TransportConnector::new(Some(options));
        let peer = BasicPeer::new("127.0.0.1:80");
        let picks: Vec<_> = (0..3)
            .map(|_| connector.pick_bind_address(&peer).and_then(|b| b.addr))
            .collect();
        assert_eq!(picks[0], picks[2]);
        assert_ne!(picks[0], picks[1]);
        let v6_peer = BasicPeer::new("[::1]:80");
        assert!(connector.pick_bind_address(&v6_peer).is_none());
    }
}
