//! [`BasicPeer`]: a peer for protocols other than HTTP.

use super::{hash_one, Peer, PeerOptions};
use crate::protocols::l4::socket::SocketAddr;
use pingora_error::Result;
use std::fmt;

/// A server reached over TCP (or a Unix socket), with TLS when `sni` is not empty.
///
/// Connections are shared by peers with the same address.
///
/// ```
/// use pingora_core::upstreams::peer::{BasicPeer, Peer};
///
/// let peer = BasicPeer::new("127.0.0.1:6379");
/// assert!(!peer.tls());
/// assert_eq!(peer.to_string(), "127.0.0.1:6379");
/// ```
#[derive(Debug, Clone)]
pub struct BasicPeer {
    /// Where to connect.
    pub _address: SocketAddr,
    /// The TLS server name; empty means no TLS.
    pub sni: String,
    /// Connection settings.
    pub options: PeerOptions,
}

impl BasicPeer {
    /// A peer at `address`, written `ip:port`.
    ///
    /// # Panics
    ///
    /// If `address` is not an `ip:port` literal (host names are not resolved here).
    pub fn new(address: &str) -> Self {
        let addr: std::net::SocketAddr = address
            .parse()
            .expect("BasicPeer::new is given an ip:port literal");
        BasicPeer {
            _address: SocketAddr::from(addr),
            sni: String::new(),
            options: PeerOptions::new(),
        }
    }

    /// A peer listening on the Unix socket at `path`.
    ///
    /// Fails with `InternalError` if `path` is not a valid Unix socket path.
    #[cfg(unix)]
    pub fn new_uds<P: AsRef<std::path::Path>>(path: P) -> Result<Self> {
        let addr = crate::connectors::l4::unix_socket_addr(path.as_ref())?;
        Ok(BasicPeer {
            _address: addr,
            sni: String::new(),
            options: PeerOptions::new(),
        })
    }
}

impl fmt::Display for BasicPeer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self._address)
    }
}

impl Peer for BasicPeer {
    fn address(&self) -> &SocketAddr {
        &self._address
    }
    fn tls(&self) -> bool {
        !self.sni.is_empty()
    }
    fn sni(&self) -> &str {
        &self.sni
    }
    fn reuse_hash(&self) -> u64 {
        hash_one(&self._address)
    }
    fn get_peer_options(&self) -> Option<&PeerOptions> {
        Some(&self.options)
    }
    fn get_mut_peer_options(&mut self) -> Option<&mut PeerOptions> {
        Some(&mut self.options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_follows_sni() {
        let mut peer = BasicPeer::new("127.0.0.1:443");
        assert!(!peer.tls());
        peer.sni = "example.com".into();
        assert!(peer.tls());
    }

    #[test]
    fn reuse_hash_is_the_address() {
        let a = BasicPeer::new("127.0.0.1:1");
        let mut b = BasicPeer::new("127.0.0.1:1");
        b.sni = "x".into();
        assert_eq!(a.reuse_hash(), b.reuse_hash());
        assert_ne!(a.reuse_hash(), BasicPeer::new("127.0.0.1:2").reuse_hash());
    }

    #[test]
    #[should_panic(expected = "ip:port literal")]
    fn new_panics_on_a_host_name() {
        BasicPeer::new("localhost:80");
    }

    #[cfg(unix)]
    #[test]
    fn unix_peer_displays_its_path() {
        let peer = BasicPeer::new_uds("/tmp/basic-peer.sock").unwrap();
        assert!(peer.to_string().contains("/tmp/basic-peer.sock"));
    }
}
