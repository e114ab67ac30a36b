//! [`HttpPeer`]: an HTTP(S) server to proxy to.

use super::{hash_one, CertKey, Peer, PeerOptions, Proxy};
use crate::protocols::l4::socket::SocketAddr;
use pingora_error::Result;
use std::collections::BTreeMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, ToSocketAddrs};
use std::path::Path;
use std::sync::Arc;

/// Plain HTTP or HTTP over TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(clippy::upper_case_acronyms)]
pub enum Scheme {
    /// Cleartext.
    HTTP,
    /// TLS.
    HTTPS,
}

impl Scheme {
    /// Whether this scheme runs over TLS.
    pub fn is_tls(&self) -> bool {
        matches!(self, Scheme::HTTPS)
    }

    /// The scheme for a `tls` flag.
    pub fn from_tls_bool(tls: bool) -> Self {
        if tls {
            Scheme::HTTPS
        } else {
            Scheme::HTTP
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scheme::HTTP => "HTTP",
            Scheme::HTTPS => "HTTPS",
        })
    }
}

/// An HTTP server to send requests to.
///
/// Two `HttpPeer`s share pooled connections exactly when they hash the same: address, scheme,
/// SNI, client certificate, `verify_cert`, `verify_hostname`, `alternative_cn`, proxy,
/// `group_key`, `bind_to`, trust anchors, `max_h2_streams` and `curves` all take part.
///
/// ```
/// use pingora_core::upstreams::peer::{HttpPeer, Peer};
///
/// let a = HttpPeer::new(("127.0.0.1", 443), true, "example.com".to_string());
/// let mut b = a.clone();
/// assert_eq!(a.reuse_hash(), b.reuse_hash());
/// b.group_key = 7; // a separate set of connections to the same server
/// assert_ne!(a.reuse_hash(), b.reuse_hash());
/// ```
#[derive(Debug, Clone)]
pub struct HttpPeer {
    /// Where to connect.
    pub _address: SocketAddr,
    /// HTTP or HTTPS.
    pub scheme: Scheme,
    /// The TLS server name (empty: none).
    pub sni: String,
    /// A `CONNECT` proxy to tunnel through.
    pub proxy: Option<Proxy>,
    /// A client certificate for mutual TLS.
    pub client_cert_key: Option<Arc<CertKey>>,
    /// Separates otherwise identical peers into different connection pools.
    pub group_key: u64,
    /// Connection settings.
    pub options: PeerOptions,
}

impl HttpPeer {
    fn with_address(address: SocketAddr, tls: bool, sni: String) -> Self {
        HttpPeer {
            _address: address,
            scheme: Scheme::from_tls_bool(tls),
            sni,
            proxy: None,
            client_cert_key: None,
            group_key: 0,
            options: PeerOptions::new(),
        }
    }

    /// A peer at the first address `address` resolves to (`"1.2.3.4:80"`, `("host", 443)`,
    /// a `std::net::SocketAddr`, ...). A host name is resolved with blocking DNS.
    ///
    /// # Panics
    ///
    /// If `address` resolves to nothing or fails to resolve.
    pub fn new<A: ToSocketAddrs>(address: A, tls: bool, sni: String) -> Self {
        let first = address
            .to_socket_addrs()
            .ok()
            .and_then(|mut addrs| addrs.next())
            .expect(
                "HttpPeer::new is given an address that resolves to at least one socket address",
            );
        Self::with_address(SocketAddr::from(first), tls, sni)
    }

    /// A peer listening on the Unix socket at `path`.
    ///
    /// Fails with `InternalError` if `path` is not a valid Unix socket path (e.g. too long).
    #[cfg(unix)]
    pub fn new_uds(path: &str, tls: bool, sni: String) -> Result<Self> {
        let addr = crate::connectors::l4::unix_socket_addr(std::path::Path::new(path))?;
        Ok(Self::with_address(addr, tls, sni))
    }

    /// A peer at `ip_addr:port` reached through the `CONNECT` proxy listening on the Unix socket
    /// `next_hop`; `headers` are added to the `CONNECT` request.
    pub fn new_proxy(
        next_hop: &str,
        ip_addr: IpAddr,
        port: u16,
        tls: bool,
        sni: &str,
        headers: BTreeMap<String, Vec<u8>>,
    ) -> Self {
        let mut peer = Self::with_address(
            SocketAddr::from(std::net::SocketAddr::new(ip_addr, port)),
            tls,
            sni.to_string(),
        );
        peer.proxy = Some(Proxy {
            next_hop: Path::new(next_hop).into(),
            host: ip_addr.to_string(),
            port,
            headers,
        });
        peer
    }

    /// A TLS peer that is shown `client_cert_key` when it asks for a client certificate.
    ///
    /// # Panics
    ///
    /// As [`HttpPeer::new`].
    pub fn new_mtls<A: ToSocketAddrs>(
        address: A,
        sni: String,
        client_cert_key: Arc<CertKey>,
    ) -> Self {
        let mut peer = Self::new(address, true, sni);
        peer.client_cert_key = Some(client_cert_key);
        peer
    }

    /// Whether the connection runs TLS.
    pub fn is_tls(&self) -> bool {
        self.scheme.is_tls()
    }
}

impl Hash for HttpPeer {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self._address.hash(state);
        self.scheme.hash(state);
        self.sni.hash(state);
        self.proxy.hash(state);
        self.client_cert_key.hash(state);
        self.group_key.hash(state);
        let options = &self.options;
        options.verify_cert.hash(state);
        options.verify_hostname.hash(state);
        options.alternative_cn.hash(state);
        options.bind_to.hash(state);
        super::cert::hash_ca(options.ca.as_deref(), state);
        options.max_h2_streams.hash(state);
        options.curves.hash(state);
    }
}

impl fmt::Display for HttpPeer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "addr: {}, scheme: {}", self._address, self.scheme)?;
        if !self.sni.is_empty() {
            write!(f, ", sni: {}", self.sni)?;
        }
        if let Some(proxy) = &self.proxy {
            write!(f, ", {proxy}")?;
        }
        Ok(())
    }
}

impl Peer for HttpPeer {
    fn address(&self) -> &SocketAddr {
        &self._address
    }
    fn tls(&self) -> bool {
        self.is_tls()
    }
    fn sni(&self) -> &str {
        &self.sni
    }
    fn reuse_hash(&self) -> u64 {
        hash_one(self)
    }
    fn get_peer_options(&self) -> Option<&PeerOptions> {
        Some(&self.options)
    }
    fn get_mut_peer_options(&mut self) -> Option<&mut PeerOptions> {
        Some(&mut self.options)
    }
    fn get_proxy(&self) -> Option<&Proxy> {
        self.proxy.as_ref()
    }
    fn get_client_cert_key(&self) -> Option<&Arc<CertKey>> {
        self.client_cert_key.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::l4::BindTo;

    fn peer() -> HttpPeer {
        HttpPeer::new("127.0.0.1:443", true, "example.com".to_string())
    }

    #[test]
    fn every_identity_field_changes_the_reuse_hash() {
        let base = peer().reuse_hash();
        type Change = Box<dyn Fn(&mut HttpPeer)>;
        let changes: Vec<Change> = vec![
            Box::new(|p| {
                p._address = SocketAddr::from(std::net::SocketAddr::from(([127, 0, 0, 1], 444)))
            }),
            Box::new(|p| p.scheme = Scheme::HTTP),
            Box::new(|p| p.sni = "other.example".into()),
            Box::new(|p| p.group_key = 1),
            Box::new(|p| p.client_cert_key = Some(Arc::new(super::super::cert::test_cert_key()))),
            Box::new(|p| p.options.verify_cert = false),
            Box::new(|p| p.options.verify_hostname = false),
            Box::new(|p| p.options.alternative_cn = Some("alt".into())),
            Box::new(|p| p.options.max_h2_streams = 5),
            Box::new(|p| p.options.curves = Some("X25519")),
            Box::new(|p| p.options.bind_to = Some(BindTo::new(([127, 0, 0, 2], 0).into()))),
            Box::new(|p| {
                p.proxy = Some(Proxy {
                    next_hop: Path::new("/tmp/proxy.sock").into(),
                    host: "127.0.0.1".into(),
                    port: 443,
                    headers: BTreeMap::new(),
                })
            }),
        ];
        for (i, change) in changes.iter().enumerate() {
            let mut p = peer();
            change(&mut p);
            assert_ne!(p.reuse_hash(), base, "change #{i} kept the hash");
        }
    }

    #[test]
    fn timeouts_do_not_split_the_pool() {
        let mut p = peer();
        p.options.read_timeout = Some(std::time::Duration::from_secs(1));
        p.options.idle_timeout = Some(std::time::Duration::from_secs(1));
        assert_eq!(p.reuse_hash(), peer().reuse_hash());
    }

    #[test]
    fn new_accepts_tuples_strings_and_socket_addrs() {
        let a = HttpPeer::new(("127.0.0.1", 80), false, String::new());
        let b = HttpPeer::new("127.0.0.1:80", false, String::new());
        let c = HttpPeer::new(
            std::net::SocketAddr::from(([127, 0, 0, 1], 80)),
            false,
            String::new(),
        );
        assert_eq!(a.reuse_hash(), b.reuse_hash());
        assert_eq!(b.reuse_hash(), c.reuse_hash());
        assert!(!a.is_tls() && !a.tls());
    }

    #[test]
    #[should_panic(expected = "resolves to at least one")]
    fn new_panics_on_an_unparsable_address() {
        HttpPeer::new("not an address", false, String::new());
    }

    #[test]
    fn proxy_peer_targets_the_ip_through_the_socket() {
        let p = HttpPeer::new_proxy(
            "/tmp/p.sock",
            [10, 0, 0, 1].into(),
            8443,
            true,
            "a.example",
            BTreeMap::new(),
        );
        let proxy = p.get_proxy().expect("new_proxy sets a proxy");
        assert_eq!(proxy.host, "10.0.0.1");
        assert_eq!(proxy.port, 8443);
        assert!(p.to_string().contains("proxy via /tmp/p.sock"));
    }
}
