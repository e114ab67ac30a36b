//! HTTP request and response heads for the proxy framework.
//!
//! [`RequestHeader`] and [`ResponseHeader`] wrap the `http` crate's
//! [`request::Parts`](http::request::Parts) and [`response::Parts`](http::response::Parts)
//! (and dereference to them), adding what a proxy needs on top:
//!
//! - **the wire spelling of header names.** `http` stores names in lower case; these types
//!   also remember how each name was spelled, so a header received as `X-CamelCase` is
//!   forwarded as `X-CamelCase`. The last spelling given for a name is used for all its
//!   values. Names without a recorded spelling (HTTP/2 headers, heads made with
//!   `build_no_case` or from `Parts`, names given as [`http::HeaderName`]) are written
//!   Title-Case when well-known (`content-length` → `Content-Length`), else as stored.
//! - **the request target as received**, byte for byte, even when it is not a valid URI
//!   ([`RequestHeader::raw_path`]).
//! - **strict checks**: header names must be RFC 9110 tokens; values may not hold control
//!   bytes (other than HTAB) or DEL, nor start or end with whitespace. Anything else is
//!   refused with an [`InvalidHTTPHeader`](pingora_error::ErrorType::InvalidHTTPHeader)
//!   error whose context says what was wrong.
//! - **HTTP/1 serialisation** of the start line and the header block.
//!
//! ```
//! use pingora_http::{RequestHeader, ResponseHeader};
//!
//! let mut req = RequestHeader::build("GET", b"/status", None)?;
//! req.insert_header("Host", "example.com")?;
//! req.append_header("X-Request-ID", "42")?;
//! assert_eq!(req.headers["x-request-id"], "42");
//!
//! let mut wire = Vec::new();
//! req.header_to_h1_wire(&mut wire);
//! assert_eq!(wire, b"Host: example.com\r\nX-Request-ID: 42\r\n");
//!
//! let mut resp = ResponseHeader::build(200, None)?;
//! resp.set_content_length(2)?;
//! assert!(resp.insert_header("X-Bad", "line\r\nbreak").is_err());
//! # Ok::<(), pingora_error::BError>(())
//! ```
//!
//! This crate has no Cargo features.

#![warn(missing_docs, unreachable_pub)]

mod case_name;
mod request;
mod request_target;
mod response;
mod spellings;
mod title_case;
mod validate;
mod wire_names;

pub use case_name::{CaseHeaderName, IntoCaseHeaderName};
pub use http::{HeaderMap as HMap, Method, StatusCode, Version};
pub use request::RequestHeader;
pub use response::ResponseHeader;

/// The header types most programs need: `use pingora_http::prelude::*;`.
pub mod prelude {
    pub use crate::{RequestHeader, ResponseHeader};
}
