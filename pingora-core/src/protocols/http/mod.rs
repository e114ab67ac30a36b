//! HTTP sessions, whatever the version: [`ServerSession`] for requests from clients,
//! [`client::HttpSession`] for requests to upstreams; the per-version codecs live in [`v1`]
//! (HTTP/2 joins later).

pub mod client;
mod replay;
pub mod server;
pub mod v1;

use bytes::Bytes;
use http::HeaderMap;
use pingora_error::BError;
use pingora_http::ResponseHeader;

pub use replay::ReplayStream;
pub use server::ServerSession;

/// The `Server` header value of responses the framework generates (error pages).
pub const SERVER_NAME: &[u8] = b"Pingora";

/// One step of a response as it moves through a proxy: the tasks a session produces and
/// consumes, so that header, body and trailers can be handled in one loop.
#[derive(Debug)]
pub enum HttpTask {
    /// The response header, and whether it ends the response.
    Header(Box<ResponseHeader>, bool),
    /// A piece of body (`None`: no bytes this time), and whether it ends the response.
    Body(Option<Bytes>, bool),
    /// Raw bytes of an upgraded connection (after 101), and whether they end it.
    UpgradedBody(Option<Bytes>, bool),
    /// The trailers, which end the response.
    Trailer(Option<Box<HeaderMap>>),
    /// The response is complete.
    Done,
    /// The response failed.
    Failed(BError),
}

impl HttpTask {
    /// Whether this task ends the response.
    ///
    /// ```
    /// use pingora_core::protocols::http::HttpTask;
    ///
    /// assert!(HttpTask::Done.is_end());
    /// assert!(!HttpTask::Body(None, false).is_end());
    /// ```
    pub fn is_end(&self) -> bool {
        match self {
            HttpTask::Header(_, end) | HttpTask::Body(_, end) | HttpTask::UpgradedBody(_, end) => {
                *end
            }
            HttpTask::Trailer(_) | HttpTask::Done | HttpTask::Failed(_) => true,
        }
    }
}
