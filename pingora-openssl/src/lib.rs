//! OpenSSL as the proxy framework uses it.
//!
//! This crate re-exports the modules of the [`openssl`] crate that the framework's TLS code and
//! its users name ([`ssl`], [`x509`], [`pkey`], ..., and [`asn1`], [`bn`], [`ec`], [`rsa`] to
//! build certificates and keys), the raw bindings as [`ssl_sys`] and the
//! tokio adapter as [`tokio_ssl`], so that a program needs only one dependency to write
//! certificate callbacks or build client certificates. [`ext`] adds a few small helpers the
//! `openssl` crate does not offer in this shape.
//!
//! With its `openssl` feature, `pingora_core::tls` (and `pingora::tls`) is this crate.
//!
//! ```
//! use pingora_openssl::ssl::{SslConnector, SslMethod};
//!
//! let connector = SslConnector::builder(SslMethod::tls_client()).unwrap().build();
//! let mut config = connector.configure().unwrap();
//! config.set_use_server_name_indication(false);
//! let mut ssl = config.into_ssl("unused").unwrap();
//! pingora_openssl::ext::add_host(&mut ssl, "example.com").unwrap();
//! assert_eq!(ssl.servername(pingora_openssl::ssl::NameType::HOST_NAME), Some("example.com"));
//! ```
//!
//! # Cargo features
//!
//! None.

#![warn(missing_docs, unreachable_pub)]

/// Compiles the example in this crate's README.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub mod ext;

pub use openssl::{asn1, bn, dh, ec, error, hash, nid, pkey, rsa, ssl, x509};
/// The raw C bindings (`openssl-sys`).
pub use openssl_sys as ssl_sys;
/// The tokio adapter: [`SslStream`](tokio_ssl::SslStream) over any async stream.
pub use tokio_openssl as tokio_ssl;
