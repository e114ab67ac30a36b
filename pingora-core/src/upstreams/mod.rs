//! Where requests go: the upstream servers ("peers") a connector dials, and what makes two
//! connections to them interchangeable.

pub mod peer;

/// Compiles the examples of the user guide page about upstreams.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/upstreams.md")]
struct GuideDoctests;
