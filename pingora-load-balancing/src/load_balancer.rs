//! [`LoadBalancer`]: picks a ready backend per request; as a background service it keeps the
//! backend set and health current.

use crate::backends::Backends;
use crate::discovery::{resolve, Static};
use crate::health_check::HealthCheck;
use crate::selection::{BackendIter, BackendSelection};
use crate::Backend;
use arc_swap::ArcSwap;
use async_trait::async_trait;
use pingora_core::server::ShutdownWatch;
use pingora_core::services::background::BackgroundService;
use pingora_core::services::ServiceReadyNotifier;
use pingora_error::Result;
use std::collections::{BTreeSet, HashMap};
use std::net::ToSocketAddrs;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A set of backends, their health, and a selection algorithm `S` over them.
///
/// [`select`](Self::select) reads an immutable snapshot of the selection and of the health
/// table (atomic pointer loads, no lock), so it is cheap on the request path. The snapshot is
/// replaced when [`update`](Self::update) finds a new backend set; health flips are seen at
/// once.
///
/// Without a background service nothing is refreshed: backends stay as resolved and all are
/// ready. Hand the balancer to
/// [`background_service`](pingora_core::services::background::background_service) to run
/// discovery and health checks at [`update_frequency`](Self::update_frequency) and
/// [`health_check_frequency`](Self::health_check_frequency), and keep the service's
/// `task()` to select from.
///
/// ```
/// use pingora_load_balancing::{health_check::TcpHealthCheck, selection::RoundRobin, LoadBalancer};
/// use std::time::Duration;
///
/// let mut upstreams =
///     LoadBalancer::<RoundRobin>::try_from_iter(["127.0.0.1:8001", "127.0.0.1:8002"]).unwrap();
/// upstreams.set_health_check(TcpHealthCheck::new());
/// upstreams.health_check_frequency = Some(Duration::from_secs(1));
///
/// let first = upstreams.select(b"", 256).unwrap();
/// let second = upstreams.select(b"", 256).unwrap();
/// assert_ne!(first, second);
/// ```
pub struct LoadBalancer<S: BackendSelection> {
    backends: Backends,
    selector: ArcSwap<S>,
    config: Option<S::Config>,
    last_update: parking_lot::Mutex<Option<Instant>>,
    /// How often the background service probes backends; `None` probes once at start.
    pub health_check_frequency: Option<Duration>,
    /// How often the background service asks the discovery for backends; `None` asks once
    /// at start.
    pub update_frequency: Option<Duration>,
    /// Probe all backends at once (true) or one after another (false, the default).
    pub parallel_health_check: bool,
}

impl<S> LoadBalancer<S>
where
    S: BackendSelection + 'static,
    S::Iter: BackendIter,
{
    /// A balancer over a fixed list, resolved now (host names may block on DNS), each
    /// backend with weight 1. The backend set is in place when this returns.
    ///
    /// Fails when an item does not resolve.
    pub fn try_from_iter<A, T>(iter: T) -> std::io::Result<Self>
    where
        A: ToSocketAddrs,
        T: IntoIterator<Item = A>,
    {
        let resolved = resolve(iter)?;
        let balancer = Self::from_backends(Backends::new(Static::new(resolved.clone())));
        balancer.install(resolved, &HashMap::new());
        Ok(balancer)
    }

    /// A balancer over `backends`, with the selection's default settings. The set is empty
    /// until the first [`update`](Self::update).
    pub fn from_backends(backends: Backends) -> Self {
        Self::from_backends_with_config(backends, None)
    }

    /// A balancer over `backends`, building the selection with `config` (or its defaults
    /// when `None`).
    pub fn from_backends_with_config(backends: Backends, config: Option<S::Config>) -> Self {
        let empty = match &config {
            Some(config) => S::build_with_config(&BTreeSet::new(), config),
            None => S::build(&BTreeSet::new()),
        };
        LoadBalancer {
            backends,
            selector: ArcSwap::from_pointee(empty),
            config,
            last_update: parking_lot::Mutex::new(None),
            health_check_frequency: None,
            update_frequency: None,
            parallel_health_check: false,
        }
    }

    fn build_selection(&self, backends: &BTreeSet<Backend>) -> S {
        match &self.config {
            Some(config) => S::build_with_config(backends, config),
            None => S::build(backends),
        }
    }

    fn install(&self, backends: BTreeSet<Backend>, enabled: &HashMap<u64, bool>) {
        self.backends.apply(backends, enabled, |set| {
            self.selector.store(Arc::new(self.build_selection(&set)));
        });
        *self.last_update.lock() = Some(Instant::now());
    }

    /// Asks the discovery for the backend set and rebuilds the selection if it changed.
    ///
    /// Fails with the discovery's error; the previous set stays in use.
    pub async fn update(&self) -> Result<()> {
        self.backends
            .update(|set| self.selector.store(Arc::new(self.build_selection(&set))))
            .await?;
        *self.last_update.lock() = Some(Instant::now());
        Ok(())
    }

    /// The first ready (healthy and enabled) backend for `key`, trying at most
    /// `max_iterations` candidates of the selection (repeats included). `None` when no ready
    /// backend was found within that budget.
    ///
    /// The key matters only to the hashing selections; round robin and random ignore it.
    pub fn select(&self, key: &[u8], max_iterations: usize) -> Option<Backend> {
        self.select_with(key, max_iterations, |_, ready| ready)
    }

    /// Like [`select`](Self::select), but `accept(backend, ready)` decides: the first
    /// candidate it accepts is returned. A candidate already refused is not offered again.
    ///
    /// ```
    /// use pingora_load_balancing::{selection::RoundRobin, LoadBalancer};
    ///
    /// let upstreams =
    ///     LoadBalancer::<RoundRobin>::try_from_iter(["127.0.0.1:8001", "127.0.0.1:8002"]).unwrap();
    /// // Never the backend that just failed, and only ready ones.
    /// let failed = upstreams.select(b"", 8).unwrap();
    /// let retry = upstreams.select_with(b"", 8, |backend, ready| ready && *backend != failed);
    /// assert_ne!(retry, Some(failed));
    /// ```
    pub fn select_with<F>(&self, key: &[u8], max_iterations: usize, accept: F) -> Option<Backend>
    where
        F: Fn(&Backend, bool) -> bool,
    {
        let selection = self.selector.load();
        let mut candidates = selection.iter(key);
        // Allocated only once a candidate is refused, which the common path never does.
        let mut refused: Vec<Backend> = Vec::new();
        for _ in 0..max_iterations {
            let backend = candidates.next()?;
            if refused.contains(backend) {
                continue;
            }
            if accept(backend, self.backends.ready(backend)) {
                return Some(backend.clone());
            }
            refused.push(backend.clone());
        }
        None
    }

    /// Sets the probe the background service runs on each backend.
    pub fn set_health_check(&mut self, health_check: Box<dyn HealthCheck + Send + Sync + 'static>) {
        self.backends.set_health_check(health_check);
    }

    /// The backend set and its health state.
    pub fn backends(&self) -> &Backends {
        &self.backends
    }

    /// When the backend set was last refreshed (by [`update`](Self::update) or at
    /// construction from a list); `None` before the first refresh.
    pub fn last_update_timing(&self) -> Option<Instant> {
        *self.last_update.lock()
    }

    /// The refresh loop of the background service.
    async fn run(&self, mut shutdown: ShutdownWatch, mut ready: Option<ServiceReadyNotifier>) {
        let mut next_update = Some(Instant::now());
        let mut next_check = Some(Instant::now());
        loop {
            if *shutdown.borrow() {
                return;
            }
            let now = Instant::now();
            if next_update.is_some_and(|due| due <= now) {
                if let Err(e) = self.update().await {
                    log::error!("load balancer failed to update its backends: {e}");
                }
                next_update = self.update_frequency.map(|every| now + every);
                if let Some(ready) = ready.take() {
                    ready.notify_ready();
                }
            }
            if next_check.is_some_and(|due| due <= now) {
                self.backends
                    .run_health_check(self.parallel_health_check)
                    .await;
                next_check = self.health_check_frequency.map(|every| now + every);
            }
            let wake_at = match (next_update, next_check) {
                (None, None) => return,
                (Some(update), Some(check)) => update.min(check),
                (Some(due), None) | (None, Some(due)) => due,
            };
            tokio::select! {
                _ = tokio::time::sleep_until(wake_at.into()) => {}
                _ = shutdown.changed() => return,
            }
        }
    }
}

#[async_trait]
impl<S> BackgroundService for LoadBalancer<S>
where
    S: BackendSelection + Send + Sync + 'static,
    S::Iter: BackendIter,
    S::Config: Send + Sync,
{
    /// Updates the backend set (signalling ready after the first update) and runs health
    /// checks, each at its frequency (once when it has none), until shutdown. Returns early
    /// when neither has a frequency.
    async fn start_with_ready_notifier(
        &self,
        shutdown: ShutdownWatch,
        ready_notifier: ServiceReadyNotifier,
    ) {
        self.run(shutdown, Some(ready_notifier)).await
    }

    async fn start(&self, shutdown: ShutdownWatch) {
        self.run(shutdown, None).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health_check::TcpHealthCheck;
    use crate::selection::{Consistent, FNVHash, Random, RoundRobin};
    use tokio::net::TcpListener;

    #[test]
    fn round_robin_cycles_through_the_resolved_list() {
        let lb = LoadBalancer::<RoundRobin>::try_from_iter([
            "127.0.0.1:1",
            "127.0.0.1:2",
            "127.0.0.1:3",
        ])
        .unwrap();
        assert!(lb.last_update_timing().is_some());
        let picks: Vec<String> = (0..6)
            .map(|_| lb.select(b"", 1).unwrap().to_string())
            .collect();
        assert_eq!(picks[..3], picks[3..]);
        let distinct: BTreeSet<_> = picks.iter().collect();
        assert_eq!(distinct.len(), 3);
    }

    #[test]
    fn every_algorithm_builds_from_an_iterator_and_selects() {
        let addrs = ["127.0.0.1:1", "127.0.0.1:2"];
        assert!(LoadBalancer::<Random>::try_from_iter(addrs)
            .unwrap()
            .select(b"k", 4)
            .is_some());
        assert!(LoadBalancer::<FNVHash>::try_from_iter(addrs)
            .unwrap()
            .select(b"k", 4)
            .is_some());
        assert!(LoadBalancer::<Consistent>::try_from_iter(addrs)
            .unwrap()
            .select(b"k", 4)
            .is_some());
    }

    #[test]
    fn select_skips_disabled_backends_and_gives_up_after_the_budget() {
        let lb = LoadBalancer::<RoundRobin>::try_from_iter(["127.0.0.1:1", "127.0.0.1:2"]).unwrap();
        let off = Backend::new("127.0.0.1:1").unwrap();
        lb.backends().set_enable(&off, false);
        for _ in 0..10 {
            assert_eq!(lb.select(b"", 4).unwrap().to_string(), "127.0.0.1:2");
        }
        lb.backends()
            .set_enable(&Backend::new("127.0.0.1:2").unwrap(), false);
        assert!(lb.select(b"", 16).is_none());
        assert!(lb.select(b"", 0).is_none());
    }

    #[test]
    fn select_with_never_offers_a_refused_backend_twice() {
        let lb = LoadBalancer::<Consistent>::try_from_iter(["127.0.0.1:1", "127.0.0.1:2"]).unwrap();
        let offered = parking_lot::Mutex::new(Vec::new());
        let picked = lb.select_with(b"key", 1000, |backend, _| {
            offered.lock().push(backend.to_string());
            false
        });
        assert!(picked.is_none());
        let offered = offered.into_inner();
        assert_eq!(offered.len(), 2, "{offered:?}");
    }

    #[test]
    fn empty_balancer_selects_nothing() {
        let lb =
            LoadBalancer::<RoundRobin>::from_backends(Backends::new(Static::new(BTreeSet::new())));
        assert!(lb.select(b"", 10).is_none());
        assert!(lb.last_update_timing().is_none());
    }

    #[tokio::test]
    async fn background_service_updates_checks_and_stops_on_shutdown() {
        let live = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let dead = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let live_addr = live.local_addr().unwrap();
        let dead_addr = dead.local_addr().unwrap();
        drop(dead);

        let backends = Backends::new(Static::try_from_iter([live_addr, dead_addr]).unwrap());
        let mut lb = LoadBalancer::<RoundRobin>::from_backends(backends);
        lb.set_health_check(TcpHealthCheck::new());
        lb.health_check_frequency = Some(Duration::from_millis(20));
        let lb = Arc::new(lb);

        let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
        let (ready_tx, mut ready_rx) = tokio::sync::watch::channel(false);
        let task = {
            let lb = lb.clone();
            tokio::spawn(async move {
                lb.start_with_ready_notifier(shutdown_rx, ServiceReadyNotifier::new(ready_tx))
                    .await
            })
        };
        ready_rx.wait_for(|ready| *ready).await.unwrap();
        assert_eq!(lb.backends().get_backend().len(), 2);

        let deadline = Instant::now() + Duration::from_secs(5);
        let dead = Backend::from_addr(dead_addr.into(), 1);
        while lb.backends().ready(&dead) {
            assert!(
                Instant::now() < deadline,
                "dead backend never went unhealthy"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        for _ in 0..10 {
            assert_eq!(lb.select(b"", 8).unwrap().as_inet(), Some(&live_addr));
        }

        shutdown_tx.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("service stops at shutdown")
            .unwrap();
    }

    #[tokio::test]
    async fn background_service_without_frequencies_runs_once_and_returns() {
        let lb = LoadBalancer::<RoundRobin>::from_backends(Backends::new(
            Static::try_from_iter(["127.0.0.1:1"]).unwrap(),
        ));
        let (_shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
        tokio::time::timeout(Duration::from_secs(5), lb.start(shutdown_rx))
            .await
            .expect("returns after one round");
        assert_eq!(lb.backends().get_backend().len(), 1);
    }
}
