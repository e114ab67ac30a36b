//! Selection: how a load balancer orders its backends for one request.
//!
//! A [`BackendSelection`] is built from the backend set each time the set changes and is then
//! read-only; [`BackendSelection::iter`] yields candidates for one key, best first, and the
//! [`LoadBalancer`](crate::LoadBalancer) takes the first ready one.
//!
//! | type | first pick | honours `weight` |
//! |---|---|---|
//! | [`RoundRobin`] | the next backend in turn (key ignored) | yes |
//! | [`Random`] | a uniformly random backend (key ignored) | yes |
//! | [`FNVHash`] | FNV-1a hash of the key | yes |
//! | [`Consistent`] | ketama ring, nginx-compatible | yes |
//!
//! ```
//! use pingora_load_balancing::selection::{BackendIter, BackendSelection, RoundRobin};
//! use pingora_load_balancing::Backend;
//! use std::collections::BTreeSet;
//! use std::sync::Arc;
//!
//! let backends = BTreeSet::from([
//!     Backend::new("127.0.0.1:8001").unwrap(),
//!     Backend::new("127.0.0.1:8002").unwrap(),
//! ]);
//! let selection = Arc::new(RoundRobin::build(&backends));
//! let first = selection.iter(b"").next().unwrap().to_string();
//! let second = selection.iter(b"").next().unwrap().to_string();
//! assert_ne!(first, second);
//! ```

pub mod algorithms;
pub mod consistent;
pub mod weighted;

use crate::Backend;
use std::collections::BTreeSet;
use std::hash::Hasher;
use std::sync::Arc;

pub use consistent::{KetamaConfig, KetamaHashing};
pub use weighted::Weighted;

/// An ordering of backends, rebuilt whenever the backend set changes.
pub trait BackendSelection: Sized {
    /// The candidates for one key.
    type Iter;
    /// Settings for [`build_with_config`](Self::build_with_config) (`()` for most).
    type Config: Send + Sync;

    /// Builds the selection over `backends` with `config`. By default `config` is ignored
    /// and [`build`](Self::build) is used.
    fn build_with_config(backends: &BTreeSet<Backend>, _config: &Self::Config) -> Self {
        Self::build(backends)
    }

    /// Builds the selection over `backends` with the default settings.
    fn build(backends: &BTreeSet<Backend>) -> Self;

    /// The candidates for `key`, best first. The iterator may repeat backends or run
    /// forever; callers bound how many items they pull.
    fn iter(self: &Arc<Self>, key: &[u8]) -> Self::Iter
    where
        Self::Iter: BackendIter;
}

/// Candidates for one key, yielded by reference into the selection.
pub trait BackendIter {
    /// The next candidate, or `None` when there are no more.
    fn next(&mut self) -> Option<&Backend>;
}

/// A source of 64-bit picks for the [`Weighted`] selection: a hash of the key, a counter,
/// or a random number.
///
/// Every `Hasher + Default` (e.g. [`std::collections::hash_map::DefaultHasher`]) is one: the
/// pick is the hash of the key.
pub trait SelectionAlgorithm {
    /// A fresh algorithm.
    fn new() -> Self;
    /// The pick for `key`.
    fn next(&self, key: &[u8]) -> u64;
}

impl<H: Hasher + Default> SelectionAlgorithm for H {
    fn new() -> Self {
        H::default()
    }

    fn next(&self, key: &[u8]) -> u64 {
        let mut hasher = H::default();
        hasher.write(key);
        hasher.finish()
    }
}

/// Round robin in proportion to weight.
pub type RoundRobin = Weighted<algorithms::RoundRobin>;
/// Uniformly random in proportion to weight.
pub type Random = Weighted<algorithms::Random>;
/// The FNV-1a hash of the key, in proportion to weight.
pub type FNVHash = Weighted<algorithms::FnvHasher>;
/// Ketama consistent hashing: removing a backend moves only the keys it owned.
pub type Consistent = KetamaHashing;
