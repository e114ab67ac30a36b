//! [`HttpSession`]: a request to an upstream and its response, whatever the HTTP version
//! (HTTP/1 so far; HTTP/2 joins as another variant).

use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;
use pingora_error::Result;
use pingora_http::{RequestHeader, ResponseHeader};

use super::v1;
use crate::protocols::Digest;

/// A client-side HTTP session.
#[derive(Debug)]
pub enum HttpSession {
    /// An HTTP/1.x session.
    H1(v1::client::HttpSession),
}

impl HttpSession {
    /// Writes the request head.
    pub async fn write_request_header(&mut self, header: Box<RequestHeader>) -> Result<()> {
        match self {
            HttpSession::H1(s) => s.write_request_header(header).await,
        }
    }

    /// Writes request body bytes; `end` finishes the body.
    pub async fn write_request_body(&mut self, data: Bytes, end: bool) -> Result<()> {
        match self {
            HttpSession::H1(s) => s.write_request_body(data, end).await,
        }
    }

    /// Ends the request body.
    pub async fn finish_request_body(&mut self) -> Result<()> {
        match self {
            HttpSession::H1(s) => s.finish_request_body().await,
        }
    }

    /// Queues request body bytes (with `end`, the body's end) without waiting on the
    /// network; they go out with [`flush_request`](Self::flush_request),
    /// [`flush_request_or_read`](Self::flush_request_or_read), any other write, or while the
    /// response is read. So one task can stream a body up while the response comes down.
    pub async fn queue_request_body(&mut self, data: Bytes, end: bool) -> Result<()> {
        match self {
            HttpSession::H1(s) => s.queue_request_body(data, end).await,
        }
    }

    /// Queues the end of the request body with `trailers` (only chunked bodies carry them).
    pub async fn queue_request_trailers(&mut self, trailers: &HeaderMap) -> Result<()> {
        match self {
            HttpSession::H1(s) => s.queue_request_trailers(trailers).await,
        }
    }

    /// Whether queued request bytes wait to be written.
    pub fn has_queued_request(&self) -> bool {
        match self {
            HttpSession::H1(s) => s.has_queued_request(),
        }
    }

    /// Writes every queued request byte. Cancel-safe.
    pub async fn flush_request(&mut self) -> Result<()> {
        match self {
            HttpSession::H1(s) => s.flush_request().await,
        }
    }

    /// Writes queued request bytes while reading response bytes, until the queue is written
    /// or response bytes arrived (then the next response read finds them). Cancel-safe.
    pub async fn flush_request_or_read(&mut self) -> Result<()> {
        match self {
            HttpSession::H1(s) => s.flush_request_or_read().await,
        }
    }

    /// Reads the next response head (a 1xx one is interim: call again for the final head).
    pub async fn read_response_header(&mut self) -> Result<()> {
        match self {
            HttpSession::H1(s) => s.read_response_header().await,
        }
    }

    /// The next piece of the response body; `Ok(None)` at its end.
    pub async fn read_response_body(&mut self) -> Result<Option<Bytes>> {
        match self {
            HttpSession::H1(s) => s.read_response_body().await,
        }
    }

    /// Ends a chunked request body with `trailers` (other framings just end the body).
    pub async fn write_request_trailers(&mut self, trailers: &HeaderMap) -> Result<()> {
        match self {
            HttpSession::H1(s) => s.write_request_trailers(trailers).await,
        }
    }

    /// Whether the last head read is the final response (not an interim 1xx).
    pub fn is_final_response(&self) -> bool {
        match self {
            HttpSession::H1(s) => s.is_final_response(),
        }
    }

    /// The trailers of the response body, once it was read to its end.
    pub fn response_trailers(&self) -> Option<&HeaderMap> {
        match self {
            HttpSession::H1(s) => s.response_trailers(),
        }
    }

    /// Whether the final response body was read to its end.
    pub fn is_response_done(&self) -> bool {
        match self {
            HttpSession::H1(s) => s.is_response_done(),
        }
    }

    /// Whether bytes of the response are already read and waiting, so the next body read
    /// returns without waiting on the network.
    pub fn has_buffered_body(&self) -> bool {
        match self {
            HttpSession::H1(s) => s.has_buffered_body(),
        }
    }

    /// Whether the connection switched protocols after a `101`.
    pub fn is_upgraded(&self) -> bool {
        match self {
            HttpSession::H1(s) => s.is_upgraded(),
        }
    }

    /// Whether the connection can go back to the pool after this exchange.
    pub fn is_reusable(&self) -> bool {
        match self {
            HttpSession::H1(s) => s.is_reusable(),
        }
    }

    /// Sets the timeout of each write.
    pub fn set_write_timeout(&mut self, timeout: Option<Duration>) {
        match self {
            HttpSession::H1(s) => s.set_write_timeout(timeout),
        }
    }

    /// Response body bytes read so far.
    pub fn body_bytes_read(&self) -> usize {
        match self {
            HttpSession::H1(s) => s.body_bytes_read(),
        }
    }

    /// The last response head read.
    pub fn response_header(&self) -> Option<&ResponseHeader> {
        match self {
            HttpSession::H1(s) => s.response_header(),
        }
    }

    /// Moves the last response head read out of the session (no copy); afterwards
    /// [`response_header`](Self::response_header) returns `None` until the next head is read.
    pub fn take_response_header(&mut self) -> Option<Box<ResponseHeader>> {
        match self {
            HttpSession::H1(s) => s.take_response_header(),
        }
    }

    /// Sets the timeout of each read.
    pub fn set_read_timeout(&mut self, timeout: Option<Duration>) {
        match self {
            HttpSession::H1(s) => s.set_read_timeout(timeout),
        }
    }

    /// Closes the write side of the connection.
    pub async fn shutdown(&mut self) {
        match self {
            HttpSession::H1(s) => s.shutdown().await,
        }
    }

    /// Facts about the connection (addresses, establishment time); see [`Digest`] for what
    /// is filled today.
    pub fn digest(&self) -> Option<&Digest> {
        match self {
            HttpSession::H1(s) => Some(s.digest()),
        }
    }
}
