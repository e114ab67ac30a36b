//! The HTTP proxy of the framework: implement [`ProxyHttp`] (pick the upstream, and filter
//! whatever passes through), hand it to [`http_proxy_service`], and add the service to a
//! [`Server`](pingora_core::server::Server).
//!
//! For every request the engine ([`HttpProxy`]) runs the phases of [`ProxyHttp`] in order:
//! the request filters, [`upstream_peer`](ProxyHttp::upstream_peer), the connection (pooled
//! first), then the request and response stream through at the same time, each piece of
//! body passing the body filters. Failures go through
//! [`fail_to_connect`](ProxyHttp::fail_to_connect) /
//! [`error_while_proxy`](ProxyHttp::error_while_proxy) (which may retry) and
//! [`fail_to_proxy`](ProxyHttp::fail_to_proxy) (the error page);
//! [`logging`](ProxyHttp::logging) runs last, once, whatever happened.
//!
//! ```no_run
//! use async_trait::async_trait;
//! use pingora_core::prelude::*;
//! use pingora_http::RequestHeader;
//! use pingora_proxy::{http_proxy_service, ProxyHttp, Session};
//!
//! struct ToOrigin;
//!
//! #[async_trait]
//! impl ProxyHttp for ToOrigin {
//!     type CTX = ();
//!     fn new_ctx(&self) {}
//!
//!     async fn upstream_peer(&self, _session: &mut Session, _ctx: &mut ()) -> Result<Box<HttpPeer>> {
//!         Ok(Box::new(HttpPeer::new("127.0.0.1:8000", false, String::new())))
//!     }
//!
//!     async fn upstream_request_filter(
//!         &self,
//!         _session: &mut Session,
//!         upstream_request: &mut RequestHeader,
//!         _ctx: &mut (),
//!     ) -> Result<()> {
//!         upstream_request.insert_header("Host", "origin.example")
//!     }
//! }
//!
//! fn main() {
//!     let mut server = Server::new(None).unwrap();
//!     server.bootstrap();
//!     let mut proxy = http_proxy_service(&server.configuration, ToOrigin);
//!     proxy.add_tcp("127.0.0.1:6188");
//!     server.add_service(proxy);
//!     server.run_forever();
//! }
//! ```
//!
//! Runnable programs are in `examples/`: `quickstart` (a proxy with its own origin),
//! `gateway` (routing and an auth check), `ctx` (a per-request counter) and
//! `modify_response` (rewriting a JSON body).
//!
//! # Cargo features
//!
//! - `openssl`: TLS to upstream peers (`HttpPeer::new(addr, true, sni)`), forwarded to
//!   `pingora-core`.
//!
//! HTTP/1.1 is spoken on both sides; HTTP/2 and caching are not part of this crate yet.
//! Response compression is installed, switched off, by
//! [`ProxyHttp::init_downstream_modules`]'s default.

#![warn(missing_docs, unreachable_pub)]

mod duplex;
mod engine;
mod hop_by_hop;
mod proxy_trait;
mod service;
mod session;

pub use proxy_trait::{FailToProxy, ProxyHttp};
pub use service::{
    http_proxy, http_proxy_service, http_proxy_service_with_name, HttpProxy, ProxyServiceBuilder,
};
pub use session::Session;

/// The names a proxy program needs: `use pingora_proxy::prelude::*;`.
pub mod prelude {
    pub use crate::{http_proxy, http_proxy_service, ProxyHttp, Session};
}

/// Compiles the examples of this crate's README and of the user guide's proxy page.
#[cfg(doctest)]
mod guide_doctests {
    #[doc = include_str!("../README.md")]
    struct Readme;
    #[doc = include_str!("../../docs/proxy.md")]
    struct ProxyGuide;
}
