//! Service discovery: where a load balancer learns its set of backends.
//!
//! [`Static`] holds a list the program gives it (and may change at run time); implement
//! [`ServiceDiscovery`] to read backends from DNS, a file, or a registry.

use crate::Backend;
use arc_swap::ArcSwap;
use async_trait::async_trait;
use pingora_core::protocols::l4::socket::SocketAddr;
use pingora_error::Result;
use std::collections::{BTreeSet, HashMap};
use std::net::ToSocketAddrs;
use std::sync::Arc;

/// A source of backends.
///
/// ```
/// use async_trait::async_trait;
/// use pingora_load_balancing::discovery::ServiceDiscovery;
/// use pingora_load_balancing::Backend;
/// use std::collections::{BTreeSet, HashMap};
///
/// /// Two fixed backends; the second one is drained (known but not to be picked).
/// struct Fixed;
///
/// #[async_trait]
/// impl ServiceDiscovery for Fixed {
///     async fn discover(&self) -> pingora_error::Result<(BTreeSet<Backend>, HashMap<u64, bool>)> {
///         let live = Backend::new("127.0.0.1:8001")?;
///         let drained = Backend::new("127.0.0.1:8002")?;
///         let enabled = HashMap::from([(drained.hash_key(), false)]);
///         Ok((BTreeSet::from([live, drained]), enabled))
///     }
/// }
/// ```
#[async_trait]
pub trait ServiceDiscovery {
    /// The current backends, plus enable flags keyed by [`Backend::hash_key`]. A backend
    /// missing from the map keeps its flag (new backends start enabled); a disabled backend is
    /// never selected but keeps its health state.
    async fn discover(&self) -> Result<(BTreeSet<Backend>, HashMap<u64, bool>)>;
}

/// A backend list held in memory: what the program put there, nothing more.
///
/// The list can be replaced while the load balancer runs ([`Static::set`], [`Static::add`],
/// [`Static::remove`]); the change shows at the balancer's next
/// [`update`](crate::LoadBalancer::update).
#[derive(Default, Debug)]
pub struct Static {
    backends: ArcSwap<BTreeSet<Backend>>,
}

impl Static {
    /// A discovery that always returns `backends`.
    pub fn new(backends: BTreeSet<Backend>) -> Box<Self> {
        Box::new(Static {
            backends: ArcSwap::new(Arc::new(backends)),
        })
    }

    /// Resolves every item (an `"ip:port"` string, a `(host, port)` pair, a socket address, …)
    /// now, with weight 1 each. Host names go through the system resolver and may block.
    ///
    /// ```
    /// use pingora_load_balancing::discovery::Static;
    ///
    /// let discovery = Static::try_from_iter(["127.0.0.1:8001", "127.0.0.1:8002"]).unwrap();
    /// assert_eq!(discovery.get().len(), 2);
    /// ```
    pub fn try_from_iter<A, T>(iter: T) -> std::io::Result<Box<Self>>
    where
        A: ToSocketAddrs,
        T: IntoIterator<Item = A>,
    {
        Ok(Self::new(resolve(iter)?))
    }

    /// A copy of the current list.
    pub fn get(&self) -> BTreeSet<Backend> {
        BTreeSet::clone(&self.backends.load())
    }

    /// Replaces the list.
    pub fn set(&self, backends: BTreeSet<Backend>) {
        self.backends.store(Arc::new(backends));
    }

    /// Adds `backend` to the list.
    pub fn add(&self, backend: Backend) {
        self.backends.rcu(|current| {
            let mut next = BTreeSet::clone(current);
            next.insert(backend.clone());
            next
        });
    }

    /// Removes `backend` from the list.
    pub fn remove(&self, backend: &Backend) {
        self.backends.rcu(|current| {
            let mut next = BTreeSet::clone(current);
            next.remove(backend);
            next
        });
    }
}

#[async_trait]
impl ServiceDiscovery for Static {
    async fn discover(&self) -> Result<(BTreeSet<Backend>, HashMap<u64, bool>)> {
        Ok((self.get(), HashMap::new()))
    }
}

/// Resolves each item into backends of weight 1.
pub(crate) fn resolve<A, T>(iter: T) -> std::io::Result<BTreeSet<Backend>>
where
    A: ToSocketAddrs,
    T: IntoIterator<Item = A>,
{
    let mut backends = BTreeSet::new();
    for item in iter {
        for addr in item.to_socket_addrs()? {
            backends.insert(Backend::from_addr(SocketAddr::Inet(addr), 1));
        }
    }
    Ok(backends)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_discovery_returns_what_was_set() {
        let discovery = Static::try_from_iter(["127.0.0.1:1", "127.0.0.1:2"]).unwrap();
        let extra = Backend::new("127.0.0.1:3").unwrap();
        discovery.add(extra.clone());
        assert_eq!(discovery.get().len(), 3);
        discovery.remove(&extra);
        let listed: Vec<String> = discovery.get().iter().map(|b| b.to_string()).collect();
        assert_eq!(listed, ["127.0.0.1:1", "127.0.0.1:2"]);
    }

    #[test]
    fn pairs_and_socket_addresses_resolve() {
        let addr: std::net::SocketAddr = "127.0.0.1:9".parse().unwrap();
        let from_pair = resolve([("127.0.0.1", 9)]).unwrap();
        let from_addr = resolve([addr]).unwrap();
        assert_eq!(from_pair, from_addr);
    }

    #[test]
    fn unresolvable_items_fail() {
        assert!(Static::try_from_iter(["no port here"]).is_err());
    }

    #[tokio::test]
    async fn discover_reports_no_enable_flags() {
        let discovery = Static::try_from_iter(["127.0.0.1:1"]).unwrap();
        let (backends, enabled) = discovery.discover().await.unwrap();
        assert_eq!(backends.len(), 1);
        assert!(enabled.is_empty());
    }
}
