//! Load balancing for the proxy framework: which upstream server gets the next request.
//!
//! A [`LoadBalancer`] holds a set of [`Backend`]s (from a
//! [`ServiceDiscovery`](discovery::ServiceDiscovery), e.g. a [`Static`](discovery::Static)
//! list), their health (from a [`HealthCheck`](health_check::HealthCheck) such as
//! [`TcpHealthCheck`](health_check::TcpHealthCheck) or
//! [`HttpHealthCheck`](health_check::HttpHealthCheck)), and a selection algorithm
//! ([`RoundRobin`](selection::RoundRobin), [`Random`](selection::Random),
//! [`FNVHash`](selection::FNVHash), [`Consistent`](selection::Consistent) ketama hashing),
//! all honouring backend weights. `select` returns the first ready backend for a key without
//! taking a lock. Run the balancer as a background service to refresh discovery and health
//! while the server runs.
//!
//! ```
//! use pingora_core::services::background::background_service;
//! use pingora_load_balancing::prelude::*;
//! use std::time::Duration;
//!
//! let mut upstreams =
//!     LoadBalancer::<RoundRobin>::try_from_iter(["127.0.0.1:8001", "127.0.0.1:8002"]).unwrap();
//! upstreams.set_health_check(TcpHealthCheck::new());
//! upstreams.health_check_frequency = Some(Duration::from_secs(1));
//!
//! // Add `background` to the server; select through its shared task.
//! let background = background_service("health check", upstreams);
//! let upstreams = background.task();
//! let backend = upstreams.select(b"", 256).unwrap();
//! assert!(backend.to_string().starts_with("127.0.0.1:800"));
//! ```
//!
//! In a proxy, `upstream_peer` turns the pick into an `HttpPeer`
//! (`HttpPeer::new(backend, false, host)`); see the `load_balancer` and `multi_lb` examples.
//!
//! # Cargo features
//!
//! - `openssl`: TLS health checks (`TcpHealthCheck::new_tls`, `HttpHealthCheck::new(host,
//!   true)`) handshake with OpenSSL (enables `pingora-core/openssl`). Without it such probes
//!   fail with `InternalError` saying to enable the feature, so the backends they watch go
//!   unhealthy rather than being reported healthy untested.

#![warn(missing_docs, unreachable_pub)]

mod backend;
mod backends;
pub mod discovery;
pub mod health_check;
mod load_balancer;
pub mod selection;

pub use backend::Backend;
pub use backends::Backends;
pub use http::Extensions;
pub use load_balancer::LoadBalancer;

/// The names a proxy with a load balancer needs: `use pingora_load_balancing::prelude::*;`.
pub mod prelude {
    pub use crate::health_check::TcpHealthCheck;
    pub use crate::selection::RoundRobin;
    pub use crate::LoadBalancer;
}
