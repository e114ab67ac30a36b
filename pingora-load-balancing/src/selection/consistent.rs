//! [`KetamaHashing`]: consistent hashing on a ketama ring (the nginx-compatible one of
//! `pingora-ketama`), so that losing a backend moves only the keys it owned.

use super::{BackendIter, BackendSelection};
use crate::Backend;
use pingora_ketama::{Bucket, Continuum, DEFAULT_POINT_MULTIPLE};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// Settings of [`KetamaHashing`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KetamaConfig {
    /// Ring points per unit of weight; `None` means 160, nginx's figure, with which a key
    /// goes to the same server as with nginx's `hash $key consistent`. More points spread
    /// keys more evenly across backends (the imbalance shrinks roughly with the square root
    /// of the point count) but no longer match nginx.
    pub point_multiple: Option<u32>,
}

/// A ketama ring over the backends' internet addresses, `weight` × 160 points each (or
/// `weight` × [`KetamaConfig::point_multiple`]).
///
/// Unix-socket backends and backends of weight 0 are left out of the ring (ketama hashes
/// `ip:port`). For the same backends and weights the ring equals nginx's
/// `hash $key consistent`, so both send a key to the same server.
pub struct KetamaHashing {
    ring: Continuum,
    backends: HashMap<std::net::SocketAddr, Backend>,
}

impl std::fmt::Debug for KetamaHashing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KetamaHashing")
            .field("ring", &self.ring)
            .finish()
    }
}

impl BackendSelection for KetamaHashing {
    type Iter = KetamaIterator;
    type Config = KetamaConfig;

    fn build_with_config(backends: &BTreeSet<Backend>, config: &KetamaConfig) -> Self {
        let mut buckets = Vec::with_capacity(backends.len());
        let mut by_addr = HashMap::with_capacity(backends.len());
        for backend in backends {
            let Some(addr) = backend.as_inet() else {
                continue;
            };
            // Ketama weights are u32; larger weights are clamped, 0 leaves the ring.
            let weight = u32::try_from(backend.weight).unwrap_or(u32::MAX);
            if weight == 0 {
                continue;
            }
            // The same address listed twice (with two weights) takes the ring once.
            if by_addr.insert(*addr, backend.clone()).is_none() {
                buckets.push(Bucket::new(*addr, weight));
            }
        }
        KetamaHashing {
            ring: Continuum::new_with_point_multiple(
                &buckets,
                config.point_multiple.unwrap_or(DEFAULT_POINT_MULTIPLE),
            ),
            backends: by_addr,
        }
    }

    fn build(backends: &BTreeSet<Backend>) -> Self {
        Self::build_with_config(backends, &KetamaConfig::default())
    }

    fn iter(self: &Arc<Self>, key: &[u8]) -> KetamaIterator {
        KetamaIterator {
            idx: self.ring.node_idx(key),
            selection: Arc::clone(self),
        }
    }
}

/// The ring walk from a key's point onwards: the owner first, then the servers of the
/// following points (with repeats). Never ends on a non-empty ring.
pub struct KetamaIterator {
    idx: usize,
    selection: Arc<KetamaHashing>,
}

impl BackendIter for KetamaIterator {
    fn next(&mut self) -> Option<&Backend> {
        let selection = &*self.selection;
        let addr = selection.ring.get_addr(&mut self.idx)?;
        selection.backends.get(addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backends(count: usize) -> BTreeSet<Backend> {
        (0..count)
            .map(|i| Backend::new(&format!("10.0.0.{}:80", i + 1)).unwrap())
            .collect()
    }

    #[test]
    fn owner_agrees_with_the_ketama_ring() {
        let set = backends(4);
        let selection = Arc::new(KetamaHashing::build(&set));
        let buckets: Vec<Bucket> = set
            .iter()
            .map(|b| Bucket::new(*b.as_inet().unwrap(), 1))
            .collect();
        let ring = Continuum::new(&buckets);
        for i in 0..100 {
            let key = format!("k{i}");
            let picked = *selection
                .iter(key.as_bytes())
                .next()
                .unwrap()
                .as_inet()
                .unwrap();
            assert_eq!(Some(picked), ring.node(key.as_bytes()));
        }
    }

    #[test]
    fn unix_and_zero_weight_backends_stay_off_the_ring() {
        let set = BTreeSet::from([
            Backend::new("unix:/tmp/x.sock").unwrap(),
            Backend::new_with_weight("10.0.0.1:80", 0).unwrap(),
        ]);
        let selection = Arc::new(KetamaHashing::build(&set));
        assert!(selection.iter(b"k").next().is_none());
    }

    #[test]
    fn point_multiple_sets_the_ring_density() {
        let set = backends(2);
        let nginx_ring = KetamaHashing::build(&set);
        let explicit_160 = KetamaHashing::build_with_config(
            &set,
            &KetamaConfig {
                point_multiple: Some(160),
            },
        );
        let sparse = KetamaHashing::build_with_config(
            &set,
            &KetamaConfig {
                point_multiple: Some(10),
            },
        );
        // The ring's Debug output counts its points: weight 1 × multiple per backend.
        let points = |ring: &KetamaHashing| format!("{ring:?}");
        assert!(
            points(&nginx_ring).contains("points: 320"),
            "{}",
            points(&nginx_ring)
        );
        assert_eq!(points(&explicit_160), points(&nginx_ring));
        assert!(
            points(&sparse).contains("points: 20"),
            "{}",
            points(&sparse)
        );
    }
}
