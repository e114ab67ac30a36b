//! Modules: reusable request and response filters a service installs once and runs for
//! every request, in a fixed order. [`http`] holds the HTTP ones, among them response
//! compression ([`http::compression`]).

pub mod http;
