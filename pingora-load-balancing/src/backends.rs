//! [`Backends`]: the current backend set from a discovery, with the health and enable state
//! of each backend.

use crate::discovery::ServiceDiscovery;
use crate::health_check::{Health, HealthCheck};
use crate::Backend;
use arc_swap::ArcSwap;
use pingora_error::Result;
use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

/// Health by [`Backend::hash_key`]. The keys are hashes already, so the map uses them as
/// they are instead of hashing them again on every `ready` lookup.
type HealthMap = HashMap<u64, Arc<Health>, BuildHasherDefault<KeyIsHash>>;

/// A `Hasher` for `u64` keys that are already well-mixed hashes.
#[derive(Default)]
struct KeyIsHash(u64);

impl Hasher for KeyIsHash {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is expected; fold anything else in so the hasher stays correct.
        for byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

/// A backend set kept up to date from a [`ServiceDiscovery`], and the health of each backend
/// kept up to date by an optional [`HealthCheck`].
///
/// Reads ([`ready`](Self::ready), [`get_backend`](Self::get_backend)) take no lock: the set
/// and the health table are snapshots swapped atomically by [`update`](Self::update).
///
/// ```
/// use pingora_load_balancing::discovery::Static;
/// use pingora_load_balancing::{Backend, Backends};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let backends = Backends::new(Static::try_from_iter(["127.0.0.1:8001"]).unwrap());
/// backends.update(|set| println!("now {} backends", set.len())).await.unwrap();
/// let backend = Backend::new("127.0.0.1:8001").unwrap();
/// assert!(backends.ready(&backend));
/// backends.set_enable(&backend, false);
/// assert!(!backends.ready(&backend));
/// # }
/// ```
pub struct Backends {
    discovery: Box<dyn ServiceDiscovery + Send + Sync + 'static>,
    health_check: Option<Arc<dyn HealthCheck + Send + Sync + 'static>>,
    backends: ArcSwap<BTreeSet<Backend>>,
    health: ArcSwap<HealthMap>,
}

impl Backends {
    /// An empty set fed by `discovery`; call [`update`](Self::update) to fill it.
    pub fn new(discovery: Box<dyn ServiceDiscovery + Send + Sync + 'static>) -> Self {
        Backends {
            discovery,
            health_check: None,
            backends: ArcSwap::default(),
            health: ArcSwap::default(),
        }
    }

    /// Sets the probe [`run_health_check`](Self::run_health_check) runs.
    pub fn set_health_check(&mut self, health_check: Box<dyn HealthCheck + Send + Sync + 'static>) {
        self.health_check = Some(Arc::from(health_check));
    }

    /// Whether `backend` may receive traffic: it is in the current set, healthy and enabled.
    pub fn ready(&self, backend: &Backend) -> bool {
        self.health
            .load()
            .get(&backend.hash_key())
            .is_some_and(|health| health.ready())
    }

    /// Enables or disables `backend` (a disabled backend is never selected; its health is
    /// still tracked). Backends not in the current set are ignored.
    pub fn set_enable(&self, backend: &Backend, enabled: bool) {
        if let Some(health) = self.health.load().get(&backend.hash_key()) {
            health.set_enabled(enabled);
        }
    }

    /// The current backend set.
    pub fn get_backend(&self) -> Arc<BTreeSet<Backend>> {
        self.backends.load_full()
    }

    /// Asks the discovery for the backend set. When it differs from the current one, the new
    /// set replaces it (known backends keep their health, new ones start healthy) and
    /// `on_change` is called with it. The discovery's enable flags are then applied.
    ///
    /// Fails with the discovery's error, leaving the current set in place.
    pub async fn update<F>(&self, on_change: F) -> Result<()>
    where
        F: Fn(Arc<BTreeSet<Backend>>),
    {
        let (backends, enabled) = self.discovery.discover().await?;
        self.apply(backends, &enabled, on_change);
        Ok(())
    }

    /// Installs `backends` (if changed) and the enable flags, as [`update`](Self::update).
    pub(crate) fn apply<F>(
        &self,
        backends: BTreeSet<Backend>,
        enabled: &HashMap<u64, bool>,
        on_change: F,
    ) where
        F: Fn(Arc<BTreeSet<Backend>>),
    {
        if **self.backends.load() != backends {
            let old_health = self.health.load();
            let health: HealthMap = backends
                .iter()
                .map(|backend| {
                    let key = backend.hash_key();
                    let state = old_health.get(&key).cloned().unwrap_or_default();
                    (key, state)
                })
                .collect();
            let backends = Arc::new(backends);
            // Health first: a selection built from the new set must find every backend in it.
            self.health.store(Arc::new(health));
            self.backends.store(Arc::clone(&backends));
            on_change(backends);
        }
        let health = self.health.load();
        for (key, enabled) in enabled {
            if let Some(state) = health.get(key) {
                state.set_enabled(*enabled);
            }
        }
    }

    /// Probes every backend once with the health check (if one is set) and records the
    /// results; a backend flips after the check's threshold of consecutive opposite results.
    /// With `parallel`, all probes run at once as tasks on the current runtime; otherwise one
    /// after another.
    pub async fn run_health_check(&self, parallel: bool) {
        let Some(health_check) = &self.health_check else {
            return;
        };
        let backends = self.backends.load_full();
        let health = self.health.load_full();
        let targets = backends.iter().filter_map(|backend| {
            Some((backend.clone(), health.get(&backend.hash_key())?.clone()))
        });
        if parallel {
            let mut probes = tokio::task::JoinSet::new();
            for (backend, state) in targets {
                let health_check = Arc::clone(health_check);
                probes.spawn(async move { probe(&*health_check, &backend, &state).await });
            }
            while let Some(joined) = probes.join_next().await {
                if let Err(e) = joined {
                    log::error!("health check task failed: {e}");
                }
            }
        } else {
            for (backend, state) in targets {
                probe(&**health_check, &backend, &state).await;
            }
        }
    }
}

/// Probes one backend and records the result.
async fn probe(health_check: &(dyn HealthCheck + Send + Sync), backend: &Backend, state: &Health) {
    let result = health_check.check(backend).await;
    let success = result.is_ok();
    if !state.observe(success, health_check.health_threshold(success)) {
        if let Err(e) = &result {
            log::debug!(
                "health check of {} failed: {e}",
                health_check.backend_summary(backend)
            );
        }
        return;
    }
    match &result {
        Ok(()) => log::info!("{} is healthy again", health_check.backend_summary(backend)),
        Err(e) => log::warn!(
            "{} is unhealthy: {e}",
            health_check.backend_summary(backend)
        ),
    }
    health_check.health_status_change(backend, success).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::Static;
    use crate::health_check::{HealthObserve, TcpHealthCheck};
    use async_trait::async_trait;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::net::TcpListener;

    /// A static list the test can still change after handing it to `Backends`.
    struct SharedStatic(Arc<Static>);

    #[async_trait]
    impl ServiceDiscovery for SharedStatic {
        async fn discover(&self) -> Result<(BTreeSet<Backend>, HashMap<u64, bool>)> {
            self.0.discover().await
        }
    }

    fn set(addrs: &[&str]) -> BTreeSet<Backend> {
        addrs.iter().map(|a| Backend::new(a).unwrap()).collect()
    }

    #[tokio::test]
    async fn update_reports_only_changes_and_keeps_health_of_known_backends() {
        let discovery: Arc<Static> = Static::new(set(&["127.0.0.1:1", "127.0.0.1:2"])).into();
        let backends = Backends::new(Box::new(SharedStatic(discovery.clone())));
        let changes = AtomicUsize::new(0);
        let count = |_: Arc<BTreeSet<Backend>>| {
            changes.fetch_add(1, Ordering::Relaxed);
        };
        backends.update(count).await.unwrap();
        backends.update(count).await.unwrap();
        assert_eq!(changes.load(Ordering::Relaxed), 1);

        let first = Backend::new("127.0.0.1:1").unwrap();
        backends.set_enable(&first, false);
        discovery.add(Backend::new("127.0.0.1:3").unwrap());
        backends.update(count).await.unwrap();
        assert_eq!(changes.load(Ordering::Relaxed), 2);
        assert_eq!(backends.get_backend().len(), 3);
        assert!(
            !backends.ready(&first),
            "state of a known backend survives an update"
        );
        assert!(backends.ready(&Backend::new("127.0.0.1:3").unwrap()));
    }

    #[test]
    fn enable_flags_from_discovery_apply_and_unknown_backends_are_not_ready() {
        let backends = Backends::new(Static::new(BTreeSet::new()));
        let a = Backend::new("127.0.0.1:1").unwrap();
        let b = Backend::new("127.0.0.1:2").unwrap();
        let flags = HashMap::from([(b.hash_key(), false)]);
        backends.apply(set(&["127.0.0.1:1", "127.0.0.1:2"]), &flags, |_| {});
        assert!(backends.ready(&a));
        assert!(!backends.ready(&b));
        assert!(!backends.ready(&Backend::new("127.0.0.1:9").unwrap()));
    }

    /// A discovery that lists one backend the first time and fails afterwards.
    struct FailsAfterFirst(AtomicUsize);

    #[async_trait]
    impl ServiceDiscovery for FailsAfterFirst {
        async fn discover(&self) -> Result<(BTreeSet<Backend>, HashMap<u64, bool>)> {
            if self.0.fetch_add(1, Ordering::Relaxed) == 0 {
                Ok((set(&["127.0.0.1:1"]), HashMap::new()))
            } else {
                pingora_error::Error::e_explain(
                    pingora_error::ErrorType::ConnectError,
                    "registry down",
                )
            }
        }
    }

    #[tokio::test]
    async fn failed_discovery_keeps_the_current_set() {
        let backends = Backends::new(Box::new(FailsAfterFirst(AtomicUsize::new(0))));
        backends.update(|_| {}).await.unwrap();
        let err = backends
            .update(|_| panic!("nothing changed"))
            .await
            .unwrap_err();
        assert_eq!(err.etype(), &pingora_error::ErrorType::ConnectError);
        assert_eq!(backends.get_backend().len(), 1);
        assert!(backends.ready(&Backend::new("127.0.0.1:1").unwrap()));
    }

    struct CountFlips(Arc<AtomicUsize>);

    #[async_trait]
    impl HealthObserve for CountFlips {
        async fn observe(&self, _target: &Backend, _healthy: bool) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[tokio::test]
    async fn health_check_marks_a_dead_backend_after_its_threshold_and_tells_the_observer() {
        let live = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let dead = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let live_addr = live.local_addr().unwrap().to_string();
        let dead_addr = dead.local_addr().unwrap().to_string();
        drop(dead);

        let flips = Arc::new(AtomicUsize::new(0));
        let mut check = TcpHealthCheck::new();
        check.consecutive_failure = 2;
        check.health_changed_callback = Some(Box::new(CountFlips(flips.clone())));
        let mut backends = Backends::new(Static::new(set(&[&live_addr, &dead_addr])));
        backends.set_health_check(check);
        backends.update(|_| {}).await.unwrap();

        let dead = Backend::new(&dead_addr).unwrap();
        backends.run_health_check(false).await;
        assert!(
            backends.ready(&dead),
            "one failure is below the threshold of 2"
        );
        backends.run_health_check(true).await;
        assert!(!backends.ready(&dead));
        assert!(backends.ready(&Backend::new(&live_addr).unwrap()));
        assert_eq!(flips.load(Ordering::Relaxed), 1);
    }
}
