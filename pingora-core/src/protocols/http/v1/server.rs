//! The HTTP/1 server side: [`HttpSession`] reads one request from a client connection and
//! writes its response, then hands the connection back for the next request when both sides
//! allow it.

use std::any::Any;
use std::io::IoSlice;
use std::sync::OnceLock;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::header::{CONNECTION, EXPECT, UPGRADE};
use http::{HeaderMap, HeaderValue, Method, Version};
use pingora_error::{Error, ErrorType, Result};
use pingora_http::{RequestHeader, ResponseHeader};
use tokio::io::AsyncWriteExt;

use super::body::{read_body, BodyReader, BodyWriter};
use super::chunked::ChunkedDecoder;
use super::date;
use super::error_page;
use super::framing::{self, Framing};
use super::head::{head_buffer, keep_head_buffer, read_request_head, response_head_to_wire};
use super::io::write_all;
use super::read_buffer;
use super::retry_buffer::RetryBuffer;
use super::settings::H1Settings;
use crate::protocols::http::ReplayStream;
use crate::protocols::l4::socket::SocketAddr;
use crate::protocols::l4::stream::Stream as L4Stream;
use crate::protocols::{Digest, Stream};

/// Initial capacity of the read buffer: a typical request head fits.
const INITIAL_BUFFER: usize = 4 * 1024;
/// Most request-body bytes kept for a retry.
const RETRY_BUFFER_LIMIT: usize = 64 * 1024;

/// Where `Expect: 100-continue` stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Continue {
    /// Not asked for (or already answered).
    NotExpected,
    /// Asked for; `100 Continue` goes out when the body is first read.
    Pending,
    /// A final response went out instead: the client may or may not send the body.
    Refused,
}

/// Keep-alive as the application set it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeepAlive {
    Off,
    /// On, with the idle timeout for the next request in seconds (0 = none).
    On(u64),
}

/// One HTTP/1 request and its response on a client connection.
///
/// Call [`read_request`](Self::read_request), then read the body with
/// [`read_body_bytes`](Self::read_body_bytes) and answer with
/// [`write_response_header`](Self::write_response_header) and
/// [`write_body`](Self::write_body); [`finish`](Self::finish) returns the connection when it
/// can carry another request.
///
/// Request framing is strict (RFC 9112 §6): see the module docs of
/// [`v1`](super) and the errors of [`read_request`](Self::read_request).
#[derive(Debug)]
pub struct HttpSession {
    io: Stream,
    settings: H1Settings,
    buf: BytesMut,
    request: Option<Box<RequestHeader>>,
    request_keepalive: bool,
    upgrade_requested: bool,
    upgraded: bool,
    expect: Continue,
    body_reader: BodyReader,
    body_writer: BodyWriter,
    trailers: Option<Box<HeaderMap>>,
    response: Option<Box<ResponseHeader>>,
    keepalive: KeepAlive,
    /// A protocol error happened: the connection is never reused.
    failed: bool,
    body_bytes_read: usize,
    body_bytes_sent: usize,
    retry_buffer: Option<RetryBuffer>,
    /// What the app kept from the previous request on this connection.
    persisted_context: Option<Box<dyn Any + Send + Sync>>,
    /// Facts about the connection, read from the stream the first time they are asked for
    /// (most requests never ask, and building them allocates).
    digest: OnceLock<Box<Digest>>,
}

impl HttpSession {
    /// A session on `io` with the default [`H1Settings`].
    pub fn new(io: Stream) -> Self {
        Self::with_settings(io, H1Settings::default())
    }

    /// A session on `io` with `settings`.
    pub fn with_settings(io: Stream, settings: H1Settings) -> Self {
        Self::with_buffer(io, settings, Bytes::new())
    }

    /// A session on `io` whose first bytes are `buffered` (read from `io` earlier, e.g. left
    /// over by the previous request: see [`finish_with_buffer`](Self::finish_with_buffer)).
    ///
    /// A [`ReplayStream`] around `io` (what [`finish`](Self::finish) returns after pipelined
    /// bytes) is taken apart: its bytes follow `buffered` in this session's buffer and the
    /// stream under it becomes the session's, so replay layers never pile up.
    pub fn with_buffer(io: Stream, settings: H1Settings, buffered: Bytes) -> Self {
        let mut buf = read_buffer::take(INITIAL_BUFFER.max(buffered.len()));
        buf.extend_from_slice(&buffered);
        Self::with_read_buffer(io, settings, buf)
    }

    /// Like [`with_buffer`](Self::with_buffer), taking over `buf` as the read buffer.
    pub(crate) fn with_read_buffer(io: Stream, settings: H1Settings, mut buf: BytesMut) -> Self {
        let (io, replayed) = ReplayStream::unwrap_stream(io);
        buf.extend_from_slice(&replayed);
        HttpSession {
            io,
            settings,
            buf,
            request: None,
            request_keepalive: false,
            upgrade_requested: false,
            upgraded: false,
            expect: Continue::NotExpected,
            body_reader: BodyReader::Done,
            body_writer: BodyWriter::NoBody,
            trailers: None,
            response: None,
            keepalive: KeepAlive::On(0),
            failed: false,
            body_bytes_read: 0,
            body_bytes_sent: 0,
            retry_buffer: None,
            persisted_context: None,
            digest: OnceLock::new(),
        }
    }

    fn fail(&mut self, e: Box<Error>) -> Box<Error> {
        self.failed = true;
        e.into_down()
    }

    /// Reads the request head.
    ///
    /// Waits up to `idle_timeout` for a first byte; `Ok(None)` when the client closed (or the
    /// idle timeout passed) before sending one. From the first byte on, the whole head must
    /// arrive within `header_read_timeout`. `Ok(Some(n))`: the head (`n` bytes) was read.
    ///
    /// Errors (source downstream; the connection will not be reused): `HTTPStatus(414)` for an
    /// overlong request line, `HTTPStatus(431)` for an oversized head, `HTTPStatus(501)` for an
    /// unknown transfer coding, `ReadTimedout`, `ConnectionClosed` when the client left mid-head,
    /// and `InvalidHTTPHeader` (answer 400) for every malformed or ambiguous head.
    pub async fn read_request(&mut self) -> Result<Option<usize>> {
        let (header, head_len) = match self.read_head().await {
            Ok(Some(head)) => head,
            Ok(None) => return Ok(None),
            Err(e) => return Err(self.fail(e)),
        };
        let framing = match framing::request_framing(header.version, &header.headers) {
            Ok(framing) => framing,
            Err(e) => return Err(self.fail(e)),
        };
        let headers = &header.headers;
        self.request_keepalive = framing::wants_keepalive(header.version, headers);
        self.upgrade_requested = header.version == Version::HTTP_11
            && headers.contains_key(UPGRADE)
            && framing::connection_has(headers, "upgrade");
        self.expect = if header.version == Version::HTTP_11
            && headers
                .get(EXPECT)
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"))
        {
            Continue::Pending
        } else {
            Continue::NotExpected
        };
        self.body_reader = match framing {
            Framing::ContentLength(0) | Framing::Unframed => BodyReader::Done,
            Framing::ContentLength(left) => BodyReader::ContentLength { left },
            Framing::Chunked => BodyReader::Chunked(ChunkedDecoder::new(
                self.settings.max_chunk_line_size,
                self.settings.max_trailer_size,
            )),
        };
        if self.body_reader.is_done() {
            self.expect = Continue::NotExpected;
        }
        self.request = Some(header);
        Ok(Some(head_len))
    }

    async fn read_head(&mut self) -> Result<Option<(Box<RequestHeader>, usize)>> {
        read_request_head(&mut self.io, &mut self.buf, &self.settings).await
    }

    /// The request head. Panics if called before [`read_request`](Self::read_request)
    /// succeeded (an API-order invariant).
    pub fn req_header(&self) -> &RequestHeader {
        self.request
            .as_deref()
            .expect("invariant: req_header() is called after read_request() returned a request")
    }

    /// The request head, to change. Panics like [`req_header`](Self::req_header).
    pub fn req_header_mut(&mut self) -> &mut RequestHeader {
        self.request
            .as_deref_mut()
            .expect("invariant: req_header_mut() is called after read_request() returned a request")
    }

    /// Reads the next piece of the request body; `Ok(None)` once it is complete. Sends
    /// `100 Continue` first if the client asked for it and no response was written yet.
    /// After a `101 Switching Protocols` response this returns the raw bytes of the
    /// connection until the client closes.
    pub async fn read_body_bytes(&mut self) -> Result<Option<Bytes>> {
        if self.expect == Continue::Pending {
            self.expect = Continue::NotExpected;
            let wire = b"HTTP/1.1 100 Continue\r\n\r\n";
            if let Err(e) = write_all(
                &mut self.io,
                &mut [IoSlice::new(wire)],
                self.settings.write_timeout,
            )
            .await
            {
                return Err(self.fail(e));
            }
        }
        let read = read_body(
            &mut self.io,
            &mut self.buf,
            &mut self.body_reader,
            self.settings.read_timeout,
        )
        .await;
        match read {
            Ok(Some(data)) => {
                self.body_bytes_read += data.len();
                if let Some(retry) = self.retry_buffer.as_mut() {
                    retry.push(&data);
                }
                Ok(Some(data))
            }
            Ok(None) => {
                if self.trailers.is_none() {
                    self.trailers = self.body_reader.take_trailers();
                }
                Ok(None)
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    /// The trailers of a chunked request body, once it was read to the end.
    pub fn request_trailers(&self) -> Option<&HeaderMap> {
        self.trailers.as_deref()
    }

    /// Whether the request body was read to its end (true for a request without body).
    pub fn is_body_done(&self) -> bool {
        self.body_reader.is_done()
    }

    /// Whether the request has no body at all.
    pub fn is_body_empty(&self) -> bool {
        self.body_bytes_read == 0 && self.body_reader.is_done()
    }

    fn is_head_request(&self) -> bool {
        self.request
            .as_ref()
            .is_some_and(|r| r.method == Method::HEAD)
    }

    fn request_version(&self) -> Version {
        self.request
            .as_ref()
            .map_or(Version::HTTP_11, |r| r.version)
    }

    /// Whether the connection can carry another request, as things stand.
    fn will_keepalive(&self) -> bool {
        matches!(self.keepalive, KeepAlive::On(_))
            && self.request_keepalive
            && !self.failed
            && !self.upgraded
            && self.expect != Continue::Refused
    }

    /// Writes the response head. 1xx heads (but 101) are interim and may come before the
    /// final one (they are skipped for an HTTP/1.0 client; writing `100` answers
    /// `Expect: 100-continue`); `101` switches the connection to raw bytes both ways (only after an
    /// `Upgrade` request). The body framing follows the head: its Content-Length, else
    /// chunked for an HTTP/1.1 client (the header is added), else until close. HEAD
    /// requests and 204/304 responses get no body. `Connection: keep-alive|close` and, when
    /// missing, `Date` are set.
    ///
    /// Fails with `InternalError` when a final head was already written or `101` answers a
    /// request that did not ask to upgrade, `WriteTimedout`/`WriteError` on the wire.
    pub async fn write_response_header(&mut self, header: Box<ResponseHeader>) -> Result<()> {
        self.write_response_header_with_body(header, &[]).await?;
        Ok(())
    }

    /// Writes the response head and the first piece of its body in one vectored write (one
    /// system call for a small response); returns how many body bytes went out. Otherwise as
    /// [`write_response_header`](Self::write_response_header) followed by
    /// [`write_body`](Self::write_body) (for an interim head, `body` is ignored).
    pub async fn write_response_header_with_body(
        &mut self,
        mut header: Box<ResponseHeader>,
        body: &[u8],
    ) -> Result<usize> {
        if self.response.is_some() {
            return Error::e_explain(ErrorType::InternalError, "final response already written")
                .map_err(|e| e.into_in());
        }
        // This side speaks HTTP/1.1, whatever version the head was built or received with (a
        // proxied HTTP/1.0 upstream response included): RFC 9110 §6.2 has an intermediary
        // send its own version, and HTTP/1.0 clients take a 1.1 status line.
        header.set_version(Version::HTTP_11);
        let status = header.status.as_u16();
        if (100..200).contains(&status) && status != 101 {
            if self.request_version() == Version::HTTP_10 {
                // RFC 9110 §15.2: no interim responses to an HTTP/1.0 client.
                return Ok(0);
            }
            if status == 100 {
                self.expect = Continue::NotExpected;
            }
            self.write_head(&header).await?;
            return Ok(0);
        }
        if status == 101 {
            if !self.upgrade_requested {
                return Error::e_explain(
                    ErrorType::InternalError,
                    "101 response to a request that did not ask to upgrade",
                )
                .map_err(|e| e.into_in());
            }
            self.upgraded = true;
            self.body_writer = BodyWriter::UntilClose;
            self.body_reader = BodyReader::UntilClose;
            self.expect = Continue::NotExpected;
        } else {
            if self.expect == Continue::Pending {
                self.expect = Continue::Refused;
            }
            let client_11 = self.request_version() != Version::HTTP_10;
            let (writer, must_close) =
                framing::response_writer(&mut header, self.is_head_request(), client_11)
                    .map_err(|e| e.more_context("response head to write").into_in())?;
            self.body_writer = writer;
            if must_close {
                self.keepalive = KeepAlive::Off;
            }
            if framing::connection_has(&header.headers, "close") {
                self.keepalive = KeepAlive::Off;
            }
            let connection = if self.will_keepalive() {
                HeaderValue::from_static("keep-alive")
            } else {
                HeaderValue::from_static("close")
            };
            header.insert_header(CONNECTION, connection)?;
            if !header.headers.contains_key(http::header::DATE) {
                header.insert_header(http::header::DATE, date::now())?;
            }
        }
        if body.is_empty() {
            self.write_head(&header).await?;
            self.response = Some(header);
            return Ok(0);
        }
        let mut head = head_buffer();
        response_head_to_wire(&header, &mut head);
        let written = self
            .body_writer
            .write_with_prefix(&mut self.io, &head, body, self.settings.write_timeout)
            .await;
        keep_head_buffer(head);
        let written = written.map_err(|e| self.fail(e))?;
        self.body_bytes_sent += written;
        self.response = Some(header);
        Ok(written)
    }

    async fn write_head(&mut self, header: &ResponseHeader) -> Result<()> {
        let mut head = head_buffer();
        response_head_to_wire(header, &mut head);
        let result = write_all(
            &mut self.io,
            &mut [IoSlice::new(&head)],
            self.settings.write_timeout,
        )
        .await;
        keep_head_buffer(head);
        result.map_err(|e| self.fail(e))
    }

    /// Writes response body bytes; returns how many went out as body (0 for a response
    /// without body). Fails with `InternalError` before a final head, `H1Error` past the
    /// Content-Length, and with write errors.
    pub async fn write_body(&mut self, data: &[u8]) -> Result<usize> {
        if self.response.is_none() {
            return Error::e_explain(
                ErrorType::InternalError,
                "body written before the response head",
            )
            .map_err(|e| e.into_in());
        }
        match self
            .body_writer
            .write(&mut self.io, data, self.settings.write_timeout)
            .await
        {
            Ok(written) => {
                self.body_bytes_sent += written;
                Ok(written)
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Ends the response body (the last chunk for chunked). A body shorter than its
    /// Content-Length ends the connection after this response.
    pub async fn finish_body(&mut self) -> Result<()> {
        if self.response.is_none() {
            return Ok(());
        }
        match self
            .body_writer
            .finish(&mut self.io, self.settings.write_timeout)
            .await
        {
            Ok(true) => Ok(()),
            Ok(false) => {
                self.keepalive = KeepAlive::Off;
                Ok(())
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Ends a chunked response body with `trailers` (other framings cannot carry trailers:
    /// the body just ends). Fails like [`finish_body`](Self::finish_body).
    pub async fn write_trailers(&mut self, trailers: &HeaderMap) -> Result<()> {
        if self.response.is_none() {
            return Ok(());
        }
        match self
            .body_writer
            .finish_with_trailers(&mut self.io, trailers, self.settings.write_timeout)
            .await
        {
            Ok(true) => Ok(()),
            Ok(false) => {
                self.keepalive = KeepAlive::Off;
                Ok(())
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    /// The final response head written, if any.
    pub fn response_written(&self) -> Option<&ResponseHeader> {
        self.response.as_deref()
    }

    /// Turns keep-alive off (`None`) or on with an idle timeout for the next request in
    /// seconds (`Some(0)`: no timeout). Whether the connection is reused also depends on the
    /// request (`Connection: close`, HTTP/1.0) and on errors.
    pub fn set_keepalive(&mut self, seconds: Option<u64>) {
        self.keepalive = match seconds {
            None => KeepAlive::Off,
            Some(secs) => KeepAlive::On(secs),
        };
    }

    /// Takes the value the app kept for this connection after the previous request
    /// (`HttpPersistentSettings::set_user_context`), if any.
    pub fn take_persisted_context(&mut self) -> Option<Box<dyn Any + Send + Sync>> {
        self.persisted_context.take()
    }

    pub(crate) fn set_persisted_context(&mut self, context: Box<dyn Any + Send + Sync>) {
        self.persisted_context = Some(context);
    }

    /// The keep-alive setting: `None` when the connection will not be reused, else the idle
    /// timeout for the next request in seconds (0 = none).
    pub fn get_keepalive(&self) -> Option<u64> {
        match self.keepalive {
            KeepAlive::On(secs) if self.will_keepalive() => Some(secs),
            _ => None,
        }
    }

    /// Sets the timeout of each read (`None`: wait forever).
    pub fn set_read_timeout(&mut self, timeout: Option<Duration>) {
        self.settings.read_timeout = timeout;
    }

    /// Sets the timeout of each write (`None`: wait forever).
    pub fn set_write_timeout(&mut self, timeout: Option<Duration>) {
        self.settings.write_timeout = timeout;
    }

    /// The settings in force.
    pub fn settings(&self) -> &H1Settings {
        &self.settings
    }

    /// A response head for an error page: status `code`, `Server`, `Date`,
    /// `Content-Length: 0`, `Cache-Control: private, no-store`. An invalid code gives 500.
    pub fn generate_error(code: u16) -> ResponseHeader {
        error_page::generate(code)
    }

    /// Writes `header` and `body` as the whole response, with keep-alive off. Does nothing
    /// when a final response was already written.
    pub async fn write_error_response(
        &mut self,
        mut header: ResponseHeader,
        body: Bytes,
    ) -> Result<()> {
        if self.response.is_some() {
            return Ok(());
        }
        self.keepalive = KeepAlive::Off;
        header.set_content_length(body.len())?;
        self.write_response_header(Box::new(header)).await?;
        self.write_body(&body).await?;
        self.finish_body().await
    }

    /// Answers with the error page for `code` (see [`generate_error`](Self::generate_error))
    /// and turns keep-alive off.
    pub async fn respond_error(&mut self, code: u16) -> Result<()> {
        self.write_error_response(Self::generate_error(code), Bytes::new())
            .await
    }

    /// Like [`respond_error`](Self::respond_error) with `body` as the page.
    pub async fn respond_error_with_body(&mut self, code: u16, body: Bytes) -> Result<()> {
        self.write_error_response(Self::generate_error(code), body)
            .await
    }

    /// "METHOD path, Host: host" for logs.
    pub fn request_summary(&self) -> String {
        match self.request.as_deref() {
            Some(req) => format!(
                "{} {}, Host: {}",
                req.method,
                String::from_utf8_lossy(req.raw_path()),
                req.headers
                    .get(http::header::HOST)
                    .map(|h| String::from_utf8_lossy(h.as_bytes()))
                    .unwrap_or_default()
            ),
            None => String::new(),
        }
    }

    /// Request body bytes read so far.
    pub fn body_bytes_read(&self) -> usize {
        self.body_bytes_read
    }

    /// Response body bytes written so far.
    pub fn body_bytes_sent(&self) -> usize {
        self.body_bytes_sent
    }

    /// Keeps a copy of the request body as it is read (up to 64 KiB), so a failed upstream
    /// attempt can be retried.
    pub fn enable_retry_buffering(&mut self) {
        if self.retry_buffer.is_none() {
            self.retry_buffer = Some(RetryBuffer::new(RETRY_BUFFER_LIMIT));
        }
    }

    /// The request body read so far, when retry buffering is on and it was not truncated.
    pub fn get_retry_buffer(&self) -> Option<Bytes> {
        self.retry_buffer.as_ref().and_then(RetryBuffer::get)
    }

    /// Whether the body outgrew the retry buffer.
    pub fn retry_buffer_truncated(&self) -> bool {
        self.retry_buffer
            .as_ref()
            .is_some_and(RetryBuffer::is_truncated)
    }

    /// Facts about the connection: its socket (addresses) and when it was established, for a
    /// stream this crate accepted or connected; empty for other transports.
    pub fn digest(&self) -> &Digest {
        self.digest.get_or_init(|| Box::new(Digest::of(&*self.io)))
    }

    /// The client's address, when the stream has a socket.
    pub fn client_addr(&self) -> Option<&SocketAddr> {
        self.digest().socket_digest.as_ref()?.peer_addr()
    }

    /// The local address the connection arrived on, when the stream has a socket.
    pub fn server_addr(&self) -> Option<&SocketAddr> {
        self.digest().socket_digest.as_ref()?.local_addr()
    }

    /// Closes the write side of the connection.
    pub async fn shutdown(&mut self) {
        let _ = self.io.shutdown().await;
    }

    /// Ends the response and returns the connection with the bytes read past this request
    /// (a pipelined request), or `None` when it cannot carry another request: keep-alive off,
    /// an error, an upgrade, a body not framed to its end, or an unread request body larger
    /// than `max_drain_size`. A connection not returned is shut down.
    pub async fn finish_with_buffer(mut self) -> Result<Option<(Stream, Bytes)>> {
        if self.response.is_none() {
            // The client still waits for an answer: only a close tells it anything.
            self.keepalive = KeepAlive::Off;
        } else {
            self.finish_body().await?;
        }
        if self.will_keepalive() && !self.body_reader.is_done() {
            self.drain_request_body().await;
        }
        if !self.will_keepalive() || !self.body_reader.is_done() {
            // The session and its stream are dropped on return. A bare socket's close sends the
            // FIN itself, so shutting it down first would only cost a system call per closed
            // connection; other streams (TLS: its close_notify) are shut down.
            if !self.io.as_any().is::<L4Stream>() {
                self.shutdown().await;
            }
            return Ok(None);
        }
        if self.buf.is_empty() {
            // Nothing pipelined: the next session on this thread can reuse the buffer.
            read_buffer::give_back(std::mem::take(&mut self.buf));
        }
        Ok(Some((self.io, self.buf.freeze())))
    }

    async fn drain_request_body(&mut self) {
        let mut drained = 0;
        while drained <= self.settings.max_drain_size {
            match read_body(
                &mut self.io,
                &mut self.buf,
                &mut self.body_reader,
                self.settings.read_timeout,
            )
            .await
            {
                Ok(Some(data)) => drained += data.len(),
                Ok(None) => return,
                Err(_) => {
                    self.failed = true;
                    return;
                }
            }
        }
    }

    /// Like [`finish_with_buffer`](Self::finish_with_buffer), with the leftover bytes put
    /// back in front of the stream (a [`ReplayStream`]) when there are any.
    pub async fn finish(self) -> Result<Option<Stream>> {
        Ok(self.finish_with_buffer().await?.map(|(io, leftover)| {
            if leftover.is_empty() {
                io
            } else {
                Box::new(ReplayStream::new(leftover, io)) as Stream
            }
        }))
    }
}
