//! Health checks: probes that decide whether a backend may receive traffic.
//!
//! A [`HealthCheck`] probes one backend at a time; [`Backends`](crate::Backends) keeps the
//! verdicts and flips a backend between healthy and unhealthy only after
//! [`HealthCheck::health_threshold`] consecutive results that disagree with its current state.
//! Backends start healthy. Two probes come with the crate: [`TcpHealthCheck`] (a connection
//! can be opened) and [`HttpHealthCheck`] (a request gets the expected response).

mod http;
mod tcp;

pub use self::http::{HttpHealthCheck, Validator};
pub use tcp::TcpHealthCheck;

use crate::Backend;
use async_trait::async_trait;
use pingora_error::Result;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// A probe of one backend's health.
///
/// ```
/// use async_trait::async_trait;
/// use pingora_load_balancing::health_check::HealthCheck;
/// use pingora_load_balancing::Backend;
///
/// /// Marks every backend on an even port as down.
/// struct OddPortsOnly;
///
/// #[async_trait]
/// impl HealthCheck for OddPortsOnly {
///     async fn check(&self, target: &Backend) -> pingora_error::Result<()> {
///         match target.as_inet().map(|a| a.port() % 2) {
///             Some(1) => Ok(()),
///             _ => pingora_error::Error::e_explain(pingora_error::ErrorType::ConnectRefused, "even port"),
///         }
///     }
///     fn health_threshold(&self, _success: bool) -> usize {
///         1
///     }
/// }
/// ```
#[async_trait]
pub trait HealthCheck {
    /// Probes `target`: `Ok` means healthy. The probe should bound its own time (the built-in
    /// ones use their peer's connect and read timeouts).
    async fn check(&self, target: &Backend) -> Result<()>;

    /// Called after `target` flipped to `healthy`. Does nothing by default.
    async fn health_status_change(&self, _target: &Backend, _healthy: bool) {}

    /// How the backend is named in logs. Its address by default.
    fn backend_summary(&self, target: &Backend) -> String {
        target.to_string()
    }

    /// How many consecutive successes (`success = true`) turn an unhealthy backend healthy,
    /// or consecutive failures turn a healthy one unhealthy. A value of 0 counts as 1.
    fn health_threshold(&self, success: bool) -> usize;
}

/// An observer told about every health flip, e.g. to export a metric or page someone.
///
/// Set one as `health_changed_callback` of [`TcpHealthCheck`] or [`HttpHealthCheck`].
#[async_trait]
pub trait HealthObserve {
    /// Called after `target` flipped to `healthy`.
    async fn observe(&self, target: &Backend, healthy: bool);
}

/// The boxed observer the built-in health checks hold.
pub type HealthObserveCallback = Box<dyn HealthObserve + Send + Sync>;

/// The health and enable state of one backend, shared between the health checker (writer)
/// and the request path (reader).
#[derive(Debug)]
pub(crate) struct Health {
    healthy: AtomicBool,
    enabled: AtomicBool,
    /// Consecutive probe results that disagreed with `healthy`. Only the health-check task
    /// writes it, one probe per backend at a time.
    disagreeing: AtomicUsize,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            healthy: AtomicBool::new(true),
            enabled: AtomicBool::new(true),
            disagreeing: AtomicUsize::new(0),
        }
    }
}

impl Health {
    pub(crate) fn ready(&self) -> bool {
        self.healthy.load(Ordering::Relaxed) && self.enabled.load(Ordering::Relaxed)
    }

    pub(crate) fn healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    pub(crate) fn set_enabled(&self, enabled: bool) {
        self.enabled.store(enabled, Ordering::Relaxed);
    }

    /// Records one probe result; returns `true` when it flipped the state.
    pub(crate) fn observe(&self, success: bool, threshold: usize) -> bool {
        if self.healthy() == success {
            self.disagreeing.store(0, Ordering::Relaxed);
            return false;
        }
        let disagreeing = self.disagreeing.fetch_add(1, Ordering::Relaxed) + 1;
        if disagreeing < threshold.max(1) {
            return false;
        }
        self.disagreeing.store(0, Ordering::Relaxed);
        self.healthy.store(success, Ordering::Relaxed);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backend_starts_healthy_and_enabled() {
        assert!(Health::default().ready());
    }

    #[test]
    fn state_flips_only_after_the_threshold_of_consecutive_results() {
        let health = Health::default();
        assert!(!health.observe(false, 3));
        assert!(!health.observe(false, 3));
        // A success in between resets the count.
        assert!(!health.observe(true, 3));
        assert!(!health.observe(false, 3));
        assert!(!health.observe(false, 3));
        assert!(health.healthy());
        assert!(health.observe(false, 3));
        assert!(!health.healthy());
        assert!(!health.observe(true, 2));
        assert!(health.observe(true, 2));
        assert!(health.ready());
    }

    #[test]
    fn threshold_zero_flips_at_once() {
        let health = Health::default();
        assert!(health.observe(false, 0));
        assert!(!health.ready());
    }

    #[test]
    fn disabled_backend_is_not_ready_but_keeps_its_health() {
        let health = Health::default();
        health.set_enabled(false);
        assert!(!health.ready());
        assert!(health.healthy());
        health.set_enabled(true);
        assert!(health.ready());
    }
}
