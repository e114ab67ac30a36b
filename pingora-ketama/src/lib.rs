//! Ketama consistent hashing that agrees with nginx.
//!
//! A [`Continuum`] spreads keys over a weighted list of servers so that adding or removing
//! one server moves only the keys that belong to it. The ring is built point for point the
//! way nginx's `hash $key consistent` upstream builds its own, so for the same server list
//! and weights both pick the same server for every key: a fleet can move traffic from nginx
//! to a proxy built on this crate (or run both side by side) without reshuffling caches.
//!
//! ```
//! use pingora_ketama::{Bucket, Continuum};
//!
//! // upstream { hash $request_uri consistent;
//! //            server 127.0.0.2:9001 weight=3; server 127.0.0.3:9001; }
//! let ring = Continuum::new(&[
//!     Bucket::new("127.0.0.2:9001".parse().unwrap(), 3),
//!     Bucket::new("127.0.0.3:9001".parse().unwrap(), 1),
//! ]);
//!
//! let owner = ring.node(b"/images/cat.png").unwrap();
//!
//! // If the owner is down, try the next servers on the ring.
//! let fallback = ring
//!     .node_iter(b"/images/cat.png")
//!     .find(|addr| **addr != owner)
//!     .unwrap();
//! assert_ne!(*fallback, owner);
//! ```
//!
//! # Compatibility with nginx
//!
//! nginx hashes the `server` text as written in its configuration. Write each server in
//! nginx as `host:port` with the address in its canonical form (IPv6 in brackets, e.g.
//! `[::1]:8080`) so that the text nginx hashes is the text this crate derives from a
//! [`std::net::SocketAddr`]. A `server` line without a port, or with a host name, hashes
//! differently and cannot be matched.
//!
//! # Cargo features
//!
//! None. Only the nginx-compatible ring layout, [`Version::V1`], is provided.

#![warn(missing_docs, unreachable_pub)]

mod bucket;
mod continuum;

pub use bucket::Bucket;
pub use continuum::{Continuum, NodeIterator, Version, DEFAULT_POINT_MULTIPLE};
