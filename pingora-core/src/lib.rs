//! The process side of the proxy framework: a [`Server`](server::Server) that loads its
//! configuration, runs services on their own worker threads, and handles signals, graceful
//! shutdown, graceful upgrade (listening sockets handed to a new process) and daemon mode.
//!
//! A service is either a [`listening::Service`](services::listening::Service) that serves
//! connections with an [`apps::ServerApp`], or a background task
//! ([`background_service`](services::background::background_service)).
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
//! # Cargo features
//!
//! None yet: TLS backends (`openssl`, `boringssl`, `rustls`) arrive with the TLS listeners.

#![warn(missing_docs, unreachable_pub)]

pub mod apps;
pub mod listeners;
pub mod protocols;
pub mod server;
pub mod services;

pub use pingora_error::{ErrorType::*, *};

/// The names most programs need: `use pingora_core::prelude::*;`.
pub mod prelude {
    pub use crate::server::{configuration::Opt, Server};
    pub use crate::services::background::background_service;
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
struct GuideDoctests;
