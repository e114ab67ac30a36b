//! [`PeerOptions`]: how to reach a peer and how long to wait for it.

use super::{CaType, ALPN};
use crate::connectors::l4::BindTo;
use crate::connectors::L4Connect;
use crate::protocols::TcpKeepalive;
use pingora_error::Result;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// A callback run on an upstream TCP socket after the options are set and before it connects.
pub type TcpSockTweakHook = Arc<dyn Fn(socket2::SockRef<'_>) -> Result<()> + Send + Sync>;

/// Watches the connections made to a peer (for example to count them in a metric).
pub trait Tracing: Send + Sync + fmt::Debug {
    /// A new connection to the peer was established (pooled reuses are not reported).
    fn on_connected(&self);
}

/// A shared [`Tracing`] handle stored in [`PeerOptions::tracer`].
pub type Tracer = Arc<dyn Tracing>;

/// Settings for connecting to a peer. Built with [`PeerOptions::new`], then adjusted field by field.
///
/// Every timeout is `None` (wait as long as the OS does) by default.
///
/// ```
/// use pingora_core::upstreams::peer::{PeerOptions, ALPN};
/// use std::time::Duration;
///
/// let mut options = PeerOptions::new();
/// options.connection_timeout = Some(Duration::from_secs(2));
/// options.idle_timeout = Some(Duration::from_secs(60));
/// options.set_http_version(2, 1);
/// assert_eq!(options.alpn, ALPN::H2H1);
/// assert!(options.verify_cert);
/// ```
#[non_exhaustive]
#[derive(Clone)]
pub struct PeerOptions {
    /// Local address to connect from. Default: none (the OS picks).
    pub bind_to: Option<BindTo>,
    /// Limit for establishing the TCP (or Unix) connection. Default: none.
    pub connection_timeout: Option<Duration>,
    /// Limit for the TCP connect and the TLS handshake together. Default: none.
    pub total_connection_timeout: Option<Duration>,
    /// Limit for each read from the peer. Default: none.
    pub read_timeout: Option<Duration>,
    /// How long a connection may wait in the pool before it is closed; `Some(0)` disables
    /// reuse. Default: none (until the peer closes it or the pool evicts it).
    pub idle_timeout: Option<Duration>,
    /// Limit for each write to the peer. Default: none.
    pub write_timeout: Option<Duration>,
    /// Verify the peer's certificate chain. Default: true.
    pub verify_cert: bool,
    /// Verify that the certificate matches the SNI (or `alternative_cn`). Default: true.
    pub verify_hostname: bool,
    /// Another name the certificate may carry instead of the SNI. Default: none.
    pub alternative_cn: Option<String>,
    /// HTTP versions to offer. Default: [`ALPN::H1`].
    pub alpn: ALPN,
    /// Trust anchors replacing the default store. Default: none.
    pub ca: Option<Arc<CaType>>,
    /// TCP keepalive probes. Default: none (off).
    pub tcp_keepalive: Option<TcpKeepalive>,
    /// `SO_RCVBUF` for the connection. Default: none (the OS default).
    pub tcp_recv_buf: Option<usize>,
    /// DSCP value for outgoing packets. Default: none.
    pub dscp: Option<u8>,
    /// Interval of HTTP/2 pings that keep a connection alive. Default: none.
    pub h2_ping_interval: Option<Duration>,
    /// Streams one HTTP/2 connection may carry at once. Default: 1.
    pub max_h2_streams: usize,
    /// HTTP/2 initial window size of each stream. Default: none (the codec's default).
    pub h2_initial_stream_window_size: Option<u32>,
    /// HTTP/2 initial window size of the connection. Default: none (the codec's default).
    pub h2_initial_connection_window_size: Option<u32>,
    /// Headers added to the `CONNECT` request when the peer is reached through a proxy.
    /// Default: empty.
    pub extra_proxy_headers: BTreeMap<String, Vec<u8>>,
    /// TLS key-exchange groups to offer, colon separated. Default: none (the backend's list).
    pub curves: Option<&'static str>,
    /// Send a second key share in the TLS client hello. Default: true.
    pub second_keyshare: bool,
    /// Use TCP Fast Open. Default: false.
    pub tcp_fast_open: bool,
    /// Observer of connection events. Default: none.
    pub tracer: Option<Tracer>,
    /// A connector used instead of the built-in TCP/Unix one. Default: none.
    pub custom_l4: Option<Arc<dyn L4Connect + Send + Sync>>,
    /// Run on the TCP socket before it connects. Default: none.
    pub upstream_tcp_sock_tweak_hook: Option<TcpSockTweakHook>,
}

impl PeerOptions {
    /// The defaults listed on each field.
    pub fn new() -> Self {
        PeerOptions {
            bind_to: None,
            connection_timeout: None,
            total_connection_timeout: None,
            read_timeout: None,
            idle_timeout: None,
            write_timeout: None,
            verify_cert: true,
            verify_hostname: true,
            alternative_cn: None,
            alpn: ALPN::H1,
            ca: None,
            tcp_keepalive: None,
            tcp_recv_buf: None,
            dscp: None,
            h2_ping_interval: None,
            max_h2_streams: 1,
            h2_initial_stream_window_size: None,
            h2_initial_connection_window_size: None,
            extra_proxy_headers: BTreeMap::new(),
            curves: None,
            second_keyshare: true,
            tcp_fast_open: false,
            tracer: None,
            custom_l4: None,
            upstream_tcp_sock_tweak_hook: None,
        }
    }

    /// Offers HTTP versions `min..=max` (see [`ALPN::new`]).
    pub fn set_http_version(&mut self, max: u8, min: u8) {
        self.alpn = ALPN::new(max, min);
    }
}

impl Default for PeerOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for PeerOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeerOptions")
            .field("bind_to", &self.bind_to)
            .field("connection_timeout", &self.connection_timeout)
            .field("total_connection_timeout", &self.total_connection_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("write_timeout", &self.write_timeout)
            .field("verify_cert", &self.verify_cert)
            .field("verify_hostname", &self.verify_hostname)
            .field("alternative_cn", &self.alternative_cn)
            .field("alpn", &self.alpn)
            .field("ca", &self.ca.as_ref().map(|ca| ca.len()))
            .field("tcp_keepalive", &self.tcp_keepalive)
            .field("tcp_recv_buf", &self.tcp_recv_buf)
            .field("dscp", &self.dscp)
            .field("h2_ping_interval", &self.h2_ping_interval)
            .field("max_h2_streams", &self.max_h2_streams)
            .field("curves", &self.curves)
            .field("second_keyshare", &self.second_keyshare)
            .field("tcp_fast_open", &self.tcp_fast_open)
            .field("tracer", &self.tracer)
            .field("custom_l4", &self.custom_l4)
            .field(
                "upstream_tcp_sock_tweak_hook",
                &self.upstream_tcp_sock_tweak_hook.as_ref().map(|_| "Fn"),
            )
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_verify_and_offer_http1_only() {
        let options = PeerOptions::new();
        assert!(options.verify_cert && options.verify_hostname && options.second_keyshare);
        assert_eq!(options.alpn, ALPN::H1);
        assert_eq!(options.max_h2_streams, 1);
        assert!(options.connection_timeout.is_none() && options.idle_timeout.is_none());
        assert!(!options.tcp_fast_open);
    }
}
