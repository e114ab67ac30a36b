//! A programmable proxy framework.
//!
//! This is the crate applications depend on. It re-exports the framework's
//! parts so that one dependency line brings in all of them, and it offers a
//! [`prelude`] with the names most programs need.
//!
//! What is here today:
//! - everything of `pingora-core` at the root: the [`server`] (`Server`, `Opt`, `ServerConf`,
//!   signals, graceful upgrade, daemon mode), [`services`] (listening and background
//!   services), [`listeners`], [`apps`] (`ServerApp`) and [`protocols`] (`Stream`);
//! - the error type every fallible call returns: [`Error`], [`ErrorType`], [`Result`] and the
//!   [`OrErr`] family of context traits (all from `pingora-error`), with the
//!   [`ErrorType`] variants also at the root (`pingora::ConnectTimedout`);
//! - [`http`]: request and response headers that keep the wire case and order of header
//!   names (`pingora-http`);
//! - [`time`]: cheap timeouts and sleeps for code that sets a timeout on every read and
//!   write (`pingora-timeout`).
//!
//! The HTTP codecs, the proxy engine (`proxy` feature) and the load balancer (`lb` feature)
//! join this facade as they are built.
//!
//! ```
//! use pingora::prelude::*;
//! use pingora::http::ResponseHeader;
//!
//! fn not_found() -> Result<ResponseHeader> {
//!     let mut resp = ResponseHeader::build(404, None)?;
//!     resp.insert_header("X-Served-By", "pingora")?;
//!     Ok(resp)
//! }
//!
//! let resp = not_found().unwrap();
//! assert_eq!(resp.status.as_u16(), 404);
//!
//! // Every error carries a type that code can match on.
//! let e = Error::explain(HTTPStatus(403), "client is on the deny list");
//! assert_eq!(e.etype(), &HTTPStatus(403));
//! ```
//!
//! # Cargo features
//! None are enabled by default.
//! - `time`: accepted for compatibility; [`time`] is always available.
//! - `proxy`: `pingora::proxy` (the `pingora-proxy` crate) and its names in the [`prelude`]:
//!   `http_proxy`, `http_proxy_service`, `ProxyHttp`, `Session`.
//! - `lb` (implies `proxy`): `pingora::lb` (the `pingora-load-balancing` crate) and
//!   `LoadBalancer`, `RoundRobin`, `TcpHealthCheck` in the [`prelude`].
//! - `openssl`: TLS to upstream peers with OpenSSL (`HttpPeer::new(addr, true, sni)`,
//!   TLS health checks), forwarded to `pingora-core`, `pingora-proxy` and
//!   `pingora-load-balancing`; [`tls`] is then the `pingora-openssl` crate (without it,
//!   stand-in types). See the TLS page of the user guide.

#![warn(missing_docs, unreachable_pub)]

pub use pingora_core::*;

/// HTTP request and response headers that keep the case and order of header
/// names as they came off the wire. See the `pingora-http` crate.
pub mod http {
    pub use pingora_http::*;
}

/// Timeouts and sleeps that are cheap to create and cancel at a high rate.
/// See the `pingora-timeout` crate.
pub mod time {
    pub use pingora_timeout::*;
}

/// The HTTP proxy: the `ProxyHttp` trait and the services that run it (feature `proxy`).
/// See the `pingora-proxy` crate.
#[cfg(feature = "proxy")]
pub mod proxy {
    pub use pingora_proxy::*;
}

/// Load balancing: backends, discovery, health checks and selection algorithms (feature
/// `lb`). See the `pingora-load-balancing` crate.
#[cfg(feature = "lb")]
pub mod lb {
    pub use pingora_load_balancing::*;
}

/// The names most programs need, in one `use pingora::prelude::*;`.
///
/// Today: [`Server`](crate::server::Server), [`Opt`](crate::server::configuration::Opt),
/// [`background_service`](crate::services::background::background_service), the error types
/// and context traits, [`RequestHeader`](crate::http::RequestHeader) and
/// [`ResponseHeader`](crate::http::ResponseHeader), and the fast
/// [`timeout`](crate::time::timeout) and [`sleep`](crate::time::sleep).
pub mod prelude {
    pub use pingora_core::prelude::*;
    pub use pingora_http::prelude::*;
    #[cfg(feature = "lb")]
    pub use pingora_load_balancing::prelude::{LoadBalancer, RoundRobin, TcpHealthCheck};
    #[cfg(feature = "proxy")]
    pub use pingora_proxy::{http_proxy, http_proxy_service, ProxyHttp, Session};
    pub use pingora_timeout::*;
}

/// Keeps the examples of the workspace README and the user guide compiling:
/// `cargo test --doc -p pingora` runs each of them.
#[cfg(doctest)]
mod guide_doctests {
    // The README's example is a proxy: it needs the `proxy` feature.
    #[cfg(feature = "proxy")]
    #[doc = include_str!("../../README.md")]
    struct Readme;
    #[doc = include_str!("../../docs/errors.md")]
    struct Errors;
    #[doc = include_str!("../../docs/http-headers.md")]
    struct HttpHeaders;
    #[doc = include_str!("../../docs/timeouts.md")]
    struct Timeouts;
    #[doc = include_str!("../../docs/ketama.md")]
    struct Ketama;
    #[doc = include_str!("../../docs/rate-limiting.md")]
    struct RateLimiting;
    #[doc = include_str!("../../docs/memory-cache.md")]
    struct MemoryCache;
    #[doc = include_str!("../../docs/load-balancing.md")]
    struct LoadBalancing;
    // The compression page's examples are proxies: they need the `proxy` feature.
    #[cfg(feature = "proxy")]
    #[doc = include_str!("../../docs/compression.md")]
    struct Compression;
    // The gRPC-web page's example is a proxy: it needs the `proxy` feature.
    #[cfg(feature = "proxy")]
    #[doc = include_str!("../../docs/grpc-web.md")]
    struct GrpcWeb;
    // The TLS page uses `pingora::tls` and the TLS health checks.
    #[cfg(all(feature = "openssl", feature = "lb"))]
    #[doc = include_str!("../../docs/tls.md")]
    struct Tls;
}
