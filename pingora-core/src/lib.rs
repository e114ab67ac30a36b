//! The process side of the proxy framework: a [`Server`](server::Server) that loads its
//! configuration, runs services on their own worker threads, and handles signals, graceful
//! shutdown, graceful upgrade (listening sockets handed to a new process) and daemon mode.
//!
//! A service is either a [`listening::Service`](services::listening::Service) that serves
//! connections with an app, or a background task
//! ([`background_service`](services::background::background_service)). Apps come in three
//! levels ([`apps`]): [`ServerApp`](apps::ServerApp) on raw byte streams,
//! [`HttpServerApp`](apps::HttpServerApp) with one HTTP session per request (the keep-alive
//! loop is provided), and [`ServeHttp`](apps::http_app::ServeHttp), a request in and a whole
//! response out.
//!
//! The modules:
//!
//! - [`server`]: `Server`, configuration, signals, graceful upgrade, daemon mode.
//! - [`services`]: listening and background services.
//! - [`listeners`]: TCP and Unix endpoints and their socket options.
//! - [`apps`]: the application traits above.
//! - [`protocols`]: the byte streams ([`protocols::l4`]: TCP / Unix streams and socket
//!   addresses), the HTTP/1 codec ([`protocols::http`]: server and client sessions with
//!   strict framing) and connection digests.
//! - [`upstreams`] and [`connectors`]: the peers to proxy to and how connections reach them.
//! - [`modules`]: filters a service runs over every HTTP request and response, among them
//!   response compression with gzip, brotli and zstd ([`modules::http::compression`]).
//!
//! A raw-stream echo server:
//!
//! ```no_run
//! use async_trait::async_trait;
//! use pingora_core::apps::ServerApp;
//! use pingora_core::prelude::*;
//! use pingora_core::protocols::Stream;
//! use pingora_core::server::ShutdownWatch;
//! use pingora_core::services::listening::Service;
//! use std::sync::Arc;
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! struct Echo;
//!
//! #[async_trait]
//! impl ServerApp for Echo {
//!     async fn process_new(self: &Arc<Self>, mut io: Stream, _shutdown: &ShutdownWatch) -> Option<Stream> {
//!         let mut buf = [0u8; 1024];
//!         loop {
//!             match io.read(&mut buf).await {
//!                 Ok(0) | Err(_) => return None,
//!                 Ok(n) => io.write_all(&buf[..n]).await.ok()?,
//!             }
//!         }
//!     }
//! }
//!
//! let mut server = Server::new(Some(Opt::parse_args())).unwrap();
//! server.bootstrap();
//! let mut echo = Service::new("echo".to_string(), Echo);
//! echo.add_tcp("127.0.0.1:6142");
//! server.add_service(echo);
//! server.run_forever();
//! ```
//!
//! An HTTP server: see [`ServeHttp`](apps::http_app::ServeHttp) and the `http_server` example.
//!
//! # Cargo features
//!
//! - `openssl`: TLS to upstream peers with OpenSSL (`HttpPeer::new(addr, true, sni)` connects
//!   over TLS, with certificate and hostname verification, client certificates and ALPN), and
//!   [`tls`] is the `pingora_openssl` crate. Without it [`tls`] holds stand-in types and TLS
//!   peers fail to connect with an error that says to enable it. TLS listeners are not built
//!   yet.

#![warn(missing_docs, unreachable_pub)]

pub mod apps;
pub mod connectors;
pub mod listeners;
pub mod modules;
pub mod protocols;
pub mod server;
pub mod services;
pub mod upstreams;

/// The TLS backend's types: the `pingora_openssl` crate with the `openssl` feature.
#[cfg(feature = "openssl")]
pub use pingora_openssl as tls;
/// The TLS backend's types; without a backend, stand-ins (see the `openssl` feature).
#[cfg(not(feature = "openssl"))]
pub use protocols::tls::noop_tls as tls;

pub use pingora_error::{ErrorType::*, *};

/// The names most programs need: `use pingora_core::prelude::*;`.
pub mod prelude {
    pub use crate::server::{configuration::Opt, Server};
    pub use crate::services::background::background_service;
    pub use crate::upstreams::peer::HttpPeer;
    pub use pingora_error::{ErrorType::*, *};
}

/// Compiles the example in this crate's README.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// Compiles the examples of the user guide pages about the server.
#[cfg(doctest)]
#[doc = include_str!("../../docs/server.md")]
#[doc = include_str!("../../docs/graceful-restart.md")]
#[doc = include_str!("../../docs/http1.md")]
struct GuideDoctests;
