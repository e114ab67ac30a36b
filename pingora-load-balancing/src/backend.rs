//! [`Backend`]: one upstream server a load balancer can pick.

use http::Extensions;
use pingora_core::protocols::l4::socket::SocketAddr;
use pingora_error::{ErrorType, OrErr, Result};
use std::cmp::Ordering;
use std::hash::{Hash, Hasher};
use std::net::ToSocketAddrs;
use std::ops::Deref;

/// An upstream server: its address, its weight, and any data the user attaches.
///
/// Two backends are the same backend when their address and weight are equal; `ext` takes no
/// part in equality, ordering or hashing.
///
/// ```
/// use pingora_load_balancing::Backend;
///
/// let backend = Backend::new_with_weight("127.0.0.1:8080", 3).unwrap();
/// assert_eq!(backend.weight, 3);
/// // Deref gives the address, so a backend can be used where a socket address is wanted.
/// assert_eq!(backend.to_string(), "127.0.0.1:8080");
/// assert!(Backend::new("not an address").is_err());
/// ```
#[derive(Clone, Debug)]
pub struct Backend {
    /// Where the server listens (an internet or a Unix socket address).
    pub addr: SocketAddr,
    /// The relative share of traffic the weighted algorithms send to this backend. A weight of
    /// 0 takes the backend out of the weighted and consistent-hash selections.
    pub weight: usize,
    /// Free-form data attached to the backend, e.g. by a service discovery (a zone, a TLS
    /// server name). Ignored by comparisons.
    pub ext: Extensions,
}

impl Backend {
    /// A backend at `addr` (`ip:port`, `[ipv6]:port` or `unix:/path`) with weight 1.
    ///
    /// Fails with `SocketError` if `addr` is not such an address; host names are not resolved
    /// here (use [`LoadBalancer::try_from_iter`](crate::LoadBalancer::try_from_iter) for that).
    pub fn new(addr: &str) -> Result<Self> {
        Self::new_with_weight(addr, 1)
    }

    /// A backend at `addr` with the given `weight`; fails as [`Backend::new`].
    pub fn new_with_weight(addr: &str, weight: usize) -> Result<Self> {
        let addr: SocketAddr = addr
            .parse()
            .or_err(ErrorType::SocketError, "parsing a backend address")?;
        Ok(Self::from_addr(addr, weight))
    }

    pub(crate) fn from_addr(addr: SocketAddr, weight: usize) -> Self {
        Backend {
            addr,
            weight,
            ext: Extensions::new(),
        }
    }

    /// A stable 64-bit identity of this backend (address and weight), the key of the enable
    /// flags a [`ServiceDiscovery`](crate::discovery::ServiceDiscovery) returns.
    pub fn hash_key(&self) -> u64 {
        // DefaultHasher::new() has fixed keys, so the value is the same in every process.
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.hash(&mut hasher);
        hasher.finish()
    }
}

impl PartialEq for Backend {
    fn eq(&self, other: &Self) -> bool {
        self.addr == other.addr && self.weight == other.weight
    }
}

impl Eq for Backend {}

impl Hash for Backend {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.addr.hash(state);
        self.weight.hash(state);
    }
}

impl PartialOrd for Backend {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Backend {
    fn cmp(&self, other: &Self) -> Ordering {
        self.addr
            .cmp(&other.addr)
            .then(self.weight.cmp(&other.weight))
    }
}

impl Deref for Backend {
    type Target = SocketAddr;

    fn deref(&self) -> &SocketAddr {
        &self.addr
    }
}

impl ToSocketAddrs for Backend {
    type Iter = std::option::IntoIter<std::net::SocketAddr>;

    /// The internet address; a Unix backend fails with `InvalidInput`.
    fn to_socket_addrs(&self) -> std::io::Result<Self::Iter> {
        self.addr.to_socket_addrs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn extensions_take_no_part_in_identity() {
        let plain = Backend::new("127.0.0.1:80").unwrap();
        let mut tagged = plain.clone();
        tagged.ext.insert("zone-a");
        assert_eq!(plain, tagged);
        assert_eq!(plain.hash_key(), tagged.hash_key());
        assert_eq!(plain.cmp(&tagged), Ordering::Equal);
    }

    #[test]
    fn weight_is_part_of_identity() {
        let one = Backend::new("127.0.0.1:80").unwrap();
        let two = Backend::new_with_weight("127.0.0.1:80", 2).unwrap();
        assert_ne!(one, two);
        assert_ne!(one.hash_key(), two.hash_key());
        let set: BTreeSet<_> = [one, two].into_iter().collect();
        assert_eq!(set.len(), 2);
    }

    #[test]
    fn unix_and_inet_addresses_parse_and_bad_ones_fail() {
        assert!(Backend::new("[::1]:443").is_ok());
        let unix = Backend::new("unix:/tmp/backend.sock").unwrap();
        assert!(unix.as_unix().is_some());
        assert!(unix.to_socket_addrs().is_err());
        let err = Backend::new("example.com:80").unwrap_err();
        assert_eq!(err.etype(), &ErrorType::SocketError);
    }

    #[test]
    fn backend_resolves_to_its_internet_address() {
        let backend = Backend::new("127.0.0.1:8080").unwrap();
        let addrs: Vec<_> = backend.to_socket_addrs().unwrap().collect();
        assert_eq!(addrs, vec!["127.0.0.1:8080".parse().unwrap()]);
    }
}
