//! HTTP/1.x: the server side ([`server::HttpSession`]) reads requests and writes responses,
//! the client side ([`client::HttpSession`]) writes requests to an upstream and reads its
//! responses. Both frame bodies strictly (RFC 9112 §6), because a proxy that guesses where a
//! message ends is a request-smuggling hole.
//!
//! One concern per file: `head` parses heads, `framing` decides body lengths, `chunked` and
//! `body` are the body state machines, `io` the timed reads and writes, `read_buffer` keeps read buffers for reuse, `settings`
//! the limits.

mod body;
mod chunked;
pub mod client;
mod date;
mod error_page;
mod framing;
mod head;
mod io;
mod outgoing;
pub(crate) mod read_buffer;
mod retry_buffer;
pub mod server;
mod settings;

pub use settings::{H1Settings, MAX_HEADERS_CAP};

#[cfg(test)]
mod proptests;
