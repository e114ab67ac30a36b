//! [`Weighted`]: a selection that lists each backend as often as its weight and picks from
//! the list with a [`SelectionAlgorithm`].

use super::algorithms::FnvHasher;
use super::{BackendIter, BackendSelection, SelectionAlgorithm};
use crate::Backend;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Backends listed `weight` times each; the first pick is `list[algorithm(key) % len]`, later
/// picks (when the first is not ready) re-hash the previous pick over the distinct backends.
///
/// The list is laid out in rounds (every backend with weight > 0, then every backend with
/// weight > 1, …) so that round robin interleaves backends instead of sending a heavy
/// backend its whole share in a burst. Backends of weight 0 are left out. The list holds
/// the sum of all weights, so keep weights small (e.g. 1 to 100).
pub struct Weighted<H = FnvHasher> {
    backends: Box<[Backend]>,
    /// Indexes into `backends`, each backend as many times as its weight.
    weighted: Box<[u32]>,
    algorithm: H,
}

impl<H> std::fmt::Debug for Weighted<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Weighted")
            .field("backends", &self.backends)
            .field("slots", &self.weighted.len())
            .finish()
    }
}

impl<H: SelectionAlgorithm> BackendSelection for Weighted<H> {
    type Iter = WeightedIterator<H>;
    type Config = ();

    fn build(backends: &BTreeSet<Backend>) -> Self {
        let backends: Box<[Backend]> = backends
            .iter()
            .filter(|backend| backend.weight > 0)
            .cloned()
            .collect();
        let total: usize = backends.iter().map(|backend| backend.weight).sum();
        let mut weighted = Vec::with_capacity(total);
        let max_weight = backends.iter().map(|b| b.weight).max().unwrap_or(0);
        for round in 0..max_weight {
            for (index, backend) in backends.iter().enumerate() {
                if backend.weight > round {
                    weighted
                        .push(u32::try_from(index).expect("invariant: fewer than 2^32 backends"));
                }
            }
        }
        Weighted {
            backends,
            weighted: weighted.into_boxed_slice(),
            algorithm: H::new(),
        }
    }

    fn iter(self: &Arc<Self>, key: &[u8]) -> Self::Iter {
        WeightedIterator {
            pick: self.algorithm.next(key),
            first: true,
            selection: Arc::clone(self),
        }
    }
}

/// The candidates of a [`Weighted`] selection for one key. Never ends while there are
/// backends: the caller bounds how many it takes.
pub struct WeightedIterator<H> {
    pick: u64,
    first: bool,
    selection: Arc<Weighted<H>>,
}

impl<H: SelectionAlgorithm> BackendIter for WeightedIterator<H> {
    fn next(&mut self) -> Option<&Backend> {
        let selection = &*self.selection;
        if selection.backends.is_empty() {
            return None;
        }
        let index = if self.first {
            self.first = false;
            let slot = (self.pick % selection.weighted.len() as u64) as usize;
            selection.weighted[slot] as usize
        } else {
            self.pick = selection.algorithm.next(&self.pick.to_le_bytes());
            (self.pick % selection.backends.len() as u64) as usize
        };
        selection.backends.get(index)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{FNVHash, Random, RoundRobin};
    use super::*;
    use std::collections::HashMap;

    fn backends(weights: &[usize]) -> BTreeSet<Backend> {
        weights
            .iter()
            .enumerate()
            .map(|(i, w)| Backend::new_with_weight(&format!("127.0.0.1:{}", 8000 + i), *w).unwrap())
            .collect()
    }

    fn first_picks<S>(selection: &Arc<S>, rounds: usize) -> HashMap<String, usize>
    where
        S: BackendSelection,
        S::Iter: BackendIter,
    {
        let mut counts = HashMap::new();
        for i in 0..rounds {
            let key = format!("key-{i}");
            let mut iter = selection.iter(key.as_bytes());
            let backend = iter.next().unwrap().to_string();
            *counts.entry(backend).or_insert(0) += 1;
        }
        counts
    }

    #[test]
    fn round_robin_interleaves_by_weight() {
        let selection = Arc::new(RoundRobin::build(&backends(&[1, 2, 3])));
        let order: Vec<String> = (0..6)
            .map(|_| selection.iter(b"").next().unwrap().to_string())
            .collect();
        assert_eq!(
            order,
            [
                "127.0.0.1:8000",
                "127.0.0.1:8001",
                "127.0.0.1:8002",
                "127.0.0.1:8001",
                "127.0.0.1:8002",
                "127.0.0.1:8002"
            ]
        );
    }

    #[test]
    fn zero_weight_backends_are_never_picked() {
        let selection = Arc::new(FNVHash::build(&backends(&[0, 1])));
        let counts = first_picks(&selection, 1000);
        assert_eq!(counts.get("127.0.0.1:8001"), Some(&1000));
        let mut iter = selection.iter(b"k");
        for _ in 0..10 {
            assert_eq!(iter.next().unwrap().to_string(), "127.0.0.1:8001");
        }
    }

    #[test]
    fn empty_selection_yields_nothing() {
        let selection = Arc::new(Random::build(&BTreeSet::new()));
        assert!(selection.iter(b"k").next().is_none());
        let all_zero = Arc::new(RoundRobin::build(&backends(&[0, 0])));
        assert!(all_zero.iter(b"k").next().is_none());
    }

    #[test]
    fn hash_selection_is_stable_per_key() {
        let selection = Arc::new(FNVHash::build(&backends(&[1, 1, 1, 1])));
        let walk = |key: &[u8]| -> Vec<String> {
            let mut iter = selection.iter(key);
            (0..5).map(|_| iter.next().unwrap().to_string()).collect()
        };
        assert_eq!(walk(b"user-42"), walk(b"user-42"));
    }

    #[test]
    fn fallbacks_reach_every_backend() {
        let selection = Arc::new(FNVHash::build(&backends(&[1, 1, 1, 1, 1])));
        let mut iter = selection.iter(b"some key");
        let seen: BTreeSet<String> = (0..200).map(|_| iter.next().unwrap().to_string()).collect();
        assert_eq!(seen.len(), 5);
    }
}
