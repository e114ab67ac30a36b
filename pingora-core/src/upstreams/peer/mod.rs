//! Peers: the servers a proxy connects to, with the options that shape those connections.
//!
//! A [`Peer`] says where to connect ([`Peer::address`]), whether to speak TLS, and which
//! connections to it are interchangeable ([`Peer::reuse_hash`]): the pool hands a connection
//! only to a peer with the same hash. [`HttpPeer`] is the peer of the HTTP proxy,
//! [`BasicPeer`] a plain one for other protocols.
//!
//! ```
//! use pingora_core::upstreams::peer::{HttpPeer, Peer};
//! use std::time::Duration;
//!
//! let mut peer = HttpPeer::new("127.0.0.1:8080", false, String::new());
//! peer.options.connection_timeout = Some(Duration::from_secs(1));
//! assert!(!peer.tls());
//! assert_eq!(peer.connection_timeout(), Some(Duration::from_secs(1)));
//! ```

mod basic;
mod cert;
mod http;
mod options;

/// Re-exported from [`protocols::tls`](crate::protocols::tls), where ALPN lives.
pub use crate::protocols::tls::{CustomALPN, ALPN};
pub use basic::BasicPeer;
pub use cert::{CaType, CertKey};
pub use http::{HttpPeer, Scheme};
pub use options::{PeerOptions, TcpSockTweakHook, Tracer, Tracing};

use crate::connectors::l4::BindTo;
use crate::protocols::l4::socket::SocketAddr;
use crate::protocols::TcpKeepalive;
use std::collections::BTreeMap;
use std::fmt::Display;
use std::hash::Hash;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// An upstream server and how to reach it.
///
/// Implementors provide the four required methods and usually [`Peer::get_peer_options`]; every
/// other getter reads the options (falling back to [`PeerOptions::new`]'s defaults).
pub trait Peer: Display + Clone {
    /// Where to connect.
    fn address(&self) -> &SocketAddr;
    /// Whether to run TLS over the connection.
    fn tls(&self) -> bool;
    /// The server name sent in the TLS handshake (empty: none).
    fn sni(&self) -> &str;
    /// Two peers with the same hash may share pooled connections.
    fn reuse_hash(&self) -> u64;

    /// The options of this peer, if it has any.
    fn get_peer_options(&self) -> Option<&PeerOptions> {
        None
    }
    /// The options of this peer, for the connector to adjust (e.g. after an HTTP/2 failure).
    fn get_mut_peer_options(&mut self) -> Option<&mut PeerOptions> {
        None
    }
    /// The proxy to tunnel through, if any.
    fn get_proxy(&self) -> Option<&Proxy> {
        None
    }
    /// The client certificate to present, if any.
    fn get_client_cert_key(&self) -> Option<&Arc<CertKey>> {
        None
    }
    /// Whether to verify the peer's certificate chain.
    fn verify_cert(&self) -> bool {
        self.get_peer_options().is_none_or(|o| o.verify_cert)
    }
    /// Whether to check the certificate against the SNI.
    fn verify_hostname(&self) -> bool {
        self.get_peer_options().is_none_or(|o| o.verify_hostname)
    }
    /// Another name the certificate may carry.
    fn alternative_cn(&self) -> Option<&String> {
        self.get_peer_options()?.alternative_cn.as_ref()
    }
    /// Local address to connect from.
    fn bind_to(&self) -> Option<&BindTo> {
        self.get_peer_options()?.bind_to.as_ref()
    }
    /// Limit for the L4 connect.
    fn connection_timeout(&self) -> Option<Duration> {
        self.get_peer_options()?.connection_timeout
    }
    /// Limit for the L4 connect plus the TLS handshake.
    fn total_connection_timeout(&self) -> Option<Duration> {
        self.get_peer_options()?.total_connection_timeout
    }
    /// How long a connection may stay idle in the pool.
    fn idle_timeout(&self) -> Option<Duration> {
        self.get_peer_options()?.idle_timeout
    }
    /// Limit for each read.
    fn read_timeout(&self) -> Option<Duration> {
        self.get_peer_options()?.read_timeout
    }
    /// Limit for each write.
    fn write_timeout(&self) -> Option<Duration> {
        self.get_peer_options()?.write_timeout
    }
    /// The HTTP versions to offer.
    fn get_alpn(&self) -> Option<&ALPN> {
        self.get_peer_options().map(|o| &o.alpn)
    }
    /// Trust anchors replacing the default store.
    fn get_ca(&self) -> Option<&Arc<CaType>> {
        self.get_peer_options()?.ca.as_ref()
    }
    /// TCP keepalive probes.
    fn tcp_keepalive(&self) -> Option<&TcpKeepalive> {
        self.get_peer_options()?.tcp_keepalive.as_ref()
    }
    /// `SO_RCVBUF` size.
    fn tcp_recv_buf(&self) -> Option<usize> {
        self.get_peer_options()?.tcp_recv_buf
    }
    /// DSCP value for outgoing packets.
    fn dscp(&self) -> Option<u8> {
        self.get_peer_options()?.dscp
    }
    /// Whether to use TCP Fast Open.
    fn tcp_fast_open(&self) -> bool {
        self.get_peer_options().is_some_and(|o| o.tcp_fast_open)
    }
    /// HTTP/2 ping interval.
    fn h2_ping_interval(&self) -> Option<Duration> {
        self.get_peer_options()?.h2_ping_interval
    }
    /// Streams one HTTP/2 connection may carry.
    fn max_h2_streams(&self) -> usize {
        self.get_peer_options().map_or(1, |o| o.max_h2_streams)
    }
    /// The custom L4 connector, if one replaces the built-in one.
    fn custom_l4(&self) -> Option<&Arc<dyn crate::connectors::L4Connect + Send + Sync>> {
        self.get_peer_options()?.custom_l4.as_ref()
    }
    /// The hook run on the TCP socket before it connects.
    fn upstream_tcp_sock_tweak_hook(&self) -> Option<&TcpSockTweakHook> {
        self.get_peer_options()?
            .upstream_tcp_sock_tweak_hook
            .as_ref()
    }
    /// The observer of connection events.
    fn get_tracer(&self) -> Option<&Tracer> {
        self.get_peer_options()?.tracer.as_ref()
    }
}

/// An HTTP `CONNECT` proxy reached over a Unix socket, through which the peer is dialed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Proxy {
    /// The Unix socket of the proxy.
    pub next_hop: Box<Path>,
    /// Host named in the `CONNECT` request.
    pub host: String,
    /// Port named in the `CONNECT` request.
    pub port: u16,
    /// Extra headers of the `CONNECT` request.
    pub headers: BTreeMap<String, Vec<u8>>,
}

impl Display for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "proxy via {} to {}:{}",
            self.next_hop.display(),
            self.host,
            self.port
        )
    }
}

/// Hashes one value with the process-wide hasher used for reuse keys.
pub(crate) fn hash_one<T: Hash + ?Sized>(value: &T) -> u64 {
    // Seeded at random once per process: stable within it, which is all a pool key needs,
    // and not predictable from outside, so peers chosen from request data cannot be crafted
    // to share a key. aHash rather than SipHash: a peer is hashed on every checkout and
    // release, field by small field, where SipHash cost about 1,300 instructions a time.
    static HASHER: OnceLock<ahash::RandomState> = OnceLock::new();
    HASHER.get_or_init(ahash::RandomState::new).hash_one(value)
}
