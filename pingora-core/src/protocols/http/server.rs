//! [`ServerSession`]: one request from a client and its response, whatever the HTTP version.
//! Applications and the proxy use this type; HTTP/1 is the only version so far (HTTP/2 joins
//! as another variant).

use std::any::Any;
use std::time::Duration;

use bytes::Bytes;
use http::header::AsHeaderName;
use http::{HeaderMap, HeaderValue};
use pingora_error::Result;
use pingora_http::{RequestHeader, ResponseHeader};

use super::v1;
use crate::protocols::l4::socket::SocketAddr;
use crate::protocols::{Digest, Stream};

/// A server-side HTTP session: read the request, write the response.
///
/// ```
/// use bytes::Bytes;
/// use pingora_core::protocols::http::ServerSession;
/// use pingora_http::ResponseHeader;
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> pingora_error::Result<()> {
/// let (mut client, server) = tokio::io::duplex(4096);
/// client
///     .write_all(b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
///     .await
///     .unwrap();
///
/// let mut session = ServerSession::new_http1(Box::new(server));
/// assert!(session.read_request().await?);
/// let mut body = Vec::new();
/// while let Some(chunk) = session.read_request_body().await? {
///     body.extend_from_slice(&chunk);
/// }
/// assert_eq!(body, b"abc");
///
/// // No Content-Length: the body goes out chunked to this HTTP/1.1 client.
/// session.write_response_header(Box::new(ResponseHeader::build(200, None)?)).await?;
/// session.write_response_body(Bytes::from(body), true).await?;
/// session.finish().await?;
///
/// let mut wire = vec![0; 512];
/// let n = client.read(&mut wire).await.unwrap();
/// let text = String::from_utf8_lossy(&wire[..n]);
/// assert!(text.contains("Transfer-Encoding: chunked\r\n"));
/// assert!(text.ends_with("\r\n\r\n3\r\nabc\r\n0\r\n\r\n"));
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub enum ServerSession {
    /// An HTTP/1.x session.
    H1(v1::server::HttpSession),
}

impl ServerSession {
    /// An HTTP/1 session on `stream`, default settings.
    pub fn new_http1(stream: Stream) -> Self {
        ServerSession::H1(v1::server::HttpSession::new(stream))
    }

    /// An HTTP/1 session on `stream` with `settings`.
    pub fn new_http1_with_settings(stream: Stream, settings: v1::H1Settings) -> Self {
        ServerSession::H1(v1::server::HttpSession::with_settings(stream, settings))
    }

    /// Reads the request head. `Ok(false)`: the client left (or idled out) without sending
    /// anything. Errors are as for [`v1::server::HttpSession::read_request`]; answer them with
    /// [`respond_error`](Self::respond_error) (the status: `HTTPStatus(c)` → c, else 400).
    pub async fn read_request(&mut self) -> Result<bool> {
        match self {
            ServerSession::H1(s) => Ok(s.read_request().await?.is_some()),
        }
    }

    /// The request head (after [`read_request`](Self::read_request) returned `true`).
    pub fn req_header(&self) -> &RequestHeader {
        match self {
            ServerSession::H1(s) => s.req_header(),
        }
    }

    /// The request head, to change.
    pub fn req_header_mut(&mut self) -> &mut RequestHeader {
        match self {
            ServerSession::H1(s) => s.req_header_mut(),
        }
    }

    /// The first value of request header `name`.
    pub fn get_header<K: AsHeaderName>(&self, name: K) -> Option<&HeaderValue> {
        self.req_header().headers.get(name)
    }

    /// The next piece of the request body; `Ok(None)` at its end.
    pub async fn read_request_body(&mut self) -> Result<Option<Bytes>> {
        match self {
            ServerSession::H1(s) => s.read_body_bytes().await,
        }
    }

    /// The trailers of the request body, once it was read to its end.
    pub fn request_trailers(&self) -> Option<&HeaderMap> {
        match self {
            ServerSession::H1(s) => s.request_trailers(),
        }
    }

    /// Writes the response head (1xx heads are interim and may precede the final one).
    pub async fn write_response_header(&mut self, header: Box<ResponseHeader>) -> Result<()> {
        match self {
            ServerSession::H1(s) => s.write_response_header(header).await,
        }
    }

    /// Writes the response head and the first piece of body in one write (a small response
    /// then costs one system call); `end` finishes the body.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use pingora_core::protocols::http::ServerSession;
    /// use pingora_http::ResponseHeader;
    /// use tokio::io::{AsyncReadExt, AsyncWriteExt};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> pingora_error::Result<()> {
    /// let (mut client, server) = tokio::io::duplex(4096);
    /// client.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").await.unwrap();
    /// let mut session = ServerSession::new_http1(Box::new(server));
    /// assert!(session.read_request().await?);
    ///
    /// let mut header = ResponseHeader::build(200, None)?;
    /// header.insert_header("Content-Length", "5")?;
    /// session
    ///     .write_response_header_with_body(Box::new(header), Bytes::from_static(b"hello"), true)
    ///     .await?;
    ///
    /// let mut wire = vec![0; 512];
    /// let n = client.read(&mut wire).await.unwrap();
    /// let text = String::from_utf8_lossy(&wire[..n]);
    /// assert!(text.starts_with("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"));
    /// assert!(text.ends_with("\r\n\r\nhello"));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn write_response_header_with_body(
        &mut self,
        header: Box<ResponseHeader>,
        body: Bytes,
        end: bool,
    ) -> Result<()> {
        match self {
            ServerSession::H1(s) => {
                s.write_response_header_with_body(header, &body).await?;
                if end {
                    s.finish_body().await?;
                }
                Ok(())
            }
        }
    }

    /// Writes response body bytes; `end` finishes the body.
    pub async fn write_response_body(&mut self, data: Bytes, end: bool) -> Result<()> {
        match self {
            ServerSession::H1(s) => {
                s.write_body(&data).await?;
                if end {
                    s.finish_body().await?;
                }
                Ok(())
            }
        }
    }

    /// Ends the response body with `trailers` (sent only when the body is chunked).
    pub async fn write_response_trailers(&mut self, trailers: &HeaderMap) -> Result<()> {
        match self {
            ServerSession::H1(s) => s.write_trailers(trailers).await,
        }
    }

    /// Ends the response body.
    pub async fn finish_body(&mut self) -> Result<()> {
        match self {
            ServerSession::H1(s) => s.finish_body().await,
        }
    }

    /// Ends the response and returns the connection if it can serve another request (with any
    /// pipelined bytes replayed in front of it), else `None`.
    pub async fn finish(self) -> Result<Option<Stream>> {
        match self {
            ServerSession::H1(s) => s.finish().await,
        }
    }

    /// Keep-alive off (`None`) or on with an idle timeout in seconds (`Some(0)`: none).
    pub fn set_keepalive(&mut self, seconds: Option<u64>) {
        match self {
            ServerSession::H1(s) => s.set_keepalive(seconds),
        }
    }

    /// Takes the value the app kept for this connection after the previous request
    /// ([`HttpPersistentSettings::set_user_context`](crate::apps::HttpPersistentSettings::set_user_context)):
    /// the keep-alive loop hands it to the next request's session. `None` on a new
    /// connection, or when nothing was kept.
    pub fn take_persisted_context(&mut self) -> Option<Box<dyn Any + Send + Sync>> {
        match self {
            ServerSession::H1(s) => s.take_persisted_context(),
        }
    }

    pub(crate) fn set_persisted_context(&mut self, context: Box<dyn Any + Send + Sync>) {
        match self {
            ServerSession::H1(s) => s.set_persisted_context(context),
        }
    }

    /// `None` when the connection will not be reused, else the idle timeout in seconds.
    pub fn get_keepalive(&self) -> Option<u64> {
        match self {
            ServerSession::H1(s) => s.get_keepalive(),
        }
    }

    /// Sets the timeout of each read.
    pub fn set_read_timeout(&mut self, timeout: Option<Duration>) {
        match self {
            ServerSession::H1(s) => s.set_read_timeout(timeout),
        }
    }

    /// Sets the timeout of each write.
    pub fn set_write_timeout(&mut self, timeout: Option<Duration>) {
        match self {
            ServerSession::H1(s) => s.set_write_timeout(timeout),
        }
    }

    /// "METHOD path, Host: host" for logs.
    pub fn request_summary(&self) -> String {
        match self {
            ServerSession::H1(s) => s.request_summary(),
        }
    }

    /// The final response head written, if any.
    pub fn response_written(&self) -> Option<&ResponseHeader> {
        match self {
            ServerSession::H1(s) => s.response_written(),
        }
    }

    /// Closes the write side of the connection.
    pub async fn shutdown(&mut self) {
        match self {
            ServerSession::H1(s) => s.shutdown().await,
        }
    }

    /// Answers with the error page for `code` and turns keep-alive off. Does nothing if a
    /// final response was already written.
    pub async fn respond_error(&mut self, code: u16) -> Result<()> {
        match self {
            ServerSession::H1(s) => s.respond_error(code).await,
        }
    }

    /// Like [`respond_error`](Self::respond_error) with `body` as the page.
    pub async fn respond_error_with_body(&mut self, code: u16, body: Bytes) -> Result<()> {
        match self {
            ServerSession::H1(s) => s.respond_error_with_body(code, body).await,
        }
    }

    /// Writes `header` and `body` as the whole response, keep-alive off.
    pub async fn write_error_response(
        &mut self,
        header: ResponseHeader,
        body: Bytes,
    ) -> Result<()> {
        match self {
            ServerSession::H1(s) => s.write_error_response(header, body).await,
        }
    }

    /// The error page head for `code`: `Server: Pingora`, `Date`, `Content-Length: 0`,
    /// `Cache-Control: private, no-store`.
    ///
    /// ```
    /// use pingora_core::protocols::http::ServerSession;
    ///
    /// let page = ServerSession::generate_error(404);
    /// assert_eq!(page.status, 404);
    /// assert_eq!(page.headers["server"], "Pingora");
    /// assert_eq!(page.headers["content-length"], "0");
    /// ```
    pub fn generate_error(code: u16) -> ResponseHeader {
        v1::server::HttpSession::generate_error(code)
    }

    /// Whether the request body was read to its end.
    pub fn is_body_done(&self) -> bool {
        match self {
            ServerSession::H1(s) => s.is_body_done(),
        }
    }

    /// Whether the request has no body.
    pub fn is_body_empty(&self) -> bool {
        match self {
            ServerSession::H1(s) => s.is_body_empty(),
        }
    }

    /// Facts about the connection (addresses, establishment time); see
    /// [`Digest`] for what is filled today.
    pub fn digest(&self) -> Option<&Digest> {
        match self {
            ServerSession::H1(s) => Some(s.digest()),
        }
    }

    /// The client's address (`None` for a transport without a socket, e.g. an in-memory pipe).
    pub fn client_addr(&self) -> Option<&SocketAddr> {
        match self {
            ServerSession::H1(s) => s.client_addr(),
        }
    }

    /// The local address the connection arrived on (`None` without a socket).
    pub fn server_addr(&self) -> Option<&SocketAddr> {
        match self {
            ServerSession::H1(s) => s.server_addr(),
        }
    }

    /// Response body bytes written so far.
    pub fn body_bytes_sent(&self) -> usize {
        match self {
            ServerSession::H1(s) => s.body_bytes_sent(),
        }
    }

    /// Request body bytes read so far.
    pub fn body_bytes_read(&self) -> usize {
        match self {
            ServerSession::H1(s) => s.body_bytes_read(),
        }
    }

    /// Keeps a copy of the request body (up to 64 KiB) for retries.
    pub fn enable_retry_buffering(&mut self) {
        match self {
            ServerSession::H1(s) => s.enable_retry_buffering(),
        }
    }

    /// The buffered request body, unless it outgrew the buffer.
    pub fn get_retry_buffer(&self) -> Option<Bytes> {
        match self {
            ServerSession::H1(s) => s.get_retry_buffer(),
        }
    }

    /// Whether the request body outgrew the retry buffer.
    pub fn retry_buffer_truncated(&self) -> bool {
        match self {
            ServerSession::H1(s) => s.retry_buffer_truncated(),
        }
    }
}
