//! The HTTP/1 client side: [`HttpSession`] writes one request to an upstream and reads its
//! response, then says whether the connection may go back to the pool.
//!
//! Responses are held to the same strict framing as requests on the server side; any
//! violation is an upstream error (a proxy answers 502) and the connection is not reused.

use std::io::IoSlice;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::header::{CONTENT_LENGTH, TRANSFER_ENCODING, UPGRADE};
use http::{HeaderMap, Method};
use pingora_error::{Error, ErrorType, Result, RetryType};
use pingora_http::{RequestHeader, ResponseHeader};
use tokio::io::AsyncWriteExt;

use super::body::{read_body, BodyReader, BodyWriter};
use super::chunked::ChunkedDecoder;
use super::framing::{self, Framing};
use super::head::{
    has_head_end, head_buffer, keep_head_buffer, parse_response, request_head_to_wire,
};
use super::io::{read_more, write_all};
use super::outgoing::{write_out_or_read, Outgoing, Progress, ReadWhileWriting};
use super::read_buffer;
use super::settings::H1Settings;
use crate::protocols::{Digest, Stream};

/// Room of a session's read buffer at the start: a response head and a body of up to about
/// 30 KiB that has already arrived are taken in one read, and so go downstream in one write.
/// (With 4 KiB, a 16 KiB response took two reads and two writes to the client, waking it
/// twice: 15 % more CPU per request for the proxy, measured under wrk.) Buffers are kept per
/// thread between sessions, so the room costs no allocation per request.
const RESPONSE_BUFFER: usize = 32 * 1024;

/// One HTTP/1 request to an upstream and its response.
///
/// Write the head with [`write_request_header`](Self::write_request_header), stream the body
/// with [`write_request_body`](Self::write_request_body), then call
/// [`read_response_header`](Self::read_response_header) until
/// [`is_final_response`](Self::is_final_response) (1xx heads are interim and may be
/// forwarded) and [`read_response_body`](Self::read_response_body) until `None`.
/// [`reuse`](Self::reuse) returns the connection when it can carry another request.
#[derive(Debug)]
pub struct HttpSession {
    io: Stream,
    settings: H1Settings,
    buf: BytesMut,
    /// Request bytes queued by the `queue_*` methods, written while the response is read.
    outgoing: Outgoing,
    /// The upstream closed its side (seen while writing queued bytes).
    read_closed: bool,
    request: Option<Box<RequestHeader>>,
    request_keepalive: bool,
    upgrade_requested: bool,
    body_writer: BodyWriter,
    request_body_complete: bool,
    response: Option<Box<ResponseHeader>>,
    /// A response head (interim or final) was read, even if since taken.
    head_received: bool,
    final_response: bool,
    response_keepalive: bool,
    body_reader: BodyReader,
    trailers: Option<Box<HeaderMap>>,
    upgraded: bool,
    /// A protocol or IO error happened: the connection is never reused.
    failed: bool,
    body_bytes_read: usize,
    body_bytes_sent: usize,
    /// Facts about the connection, read from the stream when the session was created.
    digest: Digest,
}

impl HttpSession {
    /// A session on `io` with the default [`H1Settings`].
    pub fn new(io: Stream) -> Self {
        Self::with_settings(io, H1Settings::default())
    }

    /// A session on `io` with `settings` (`read_timeout` and `write_timeout` bound each
    /// operation; the head limits apply to the response head).
    pub fn with_settings(io: Stream, settings: H1Settings) -> Self {
        let digest = Digest::of(&*io);
        HttpSession {
            io,
            settings,
            buf: read_buffer::take(RESPONSE_BUFFER),
            outgoing: Outgoing::default(),
            read_closed: false,
            request: None,
            request_keepalive: true,
            upgrade_requested: false,
            body_writer: BodyWriter::NoBody,
            request_body_complete: false,
            response: None,
            head_received: false,
            final_response: false,
            response_keepalive: false,
            body_reader: BodyReader::Done,
            trailers: None,
            upgraded: false,
            failed: false,
            body_bytes_read: 0,
            body_bytes_sent: 0,
            digest,
        }
    }

    fn fail(&mut self, e: Box<Error>) -> Box<Error> {
        self.failed = true;
        e.into_up()
    }

    /// Writes the request head, names spelled as in `header`. The body framing follows the
    /// head: `Transfer-Encoding` (chunked; a `Content-Length` beside it is dropped), else
    /// `Content-Length`, else no body. Fails with `InternalError` for a second head or a
    /// head whose framing headers are malformed, and with write errors.
    pub async fn write_request_header(&mut self, mut header: Box<RequestHeader>) -> Result<()> {
        if self.request.is_some() {
            return Err(
                Error::explain(ErrorType::InternalError, "request head already written").into_in(),
            );
        }
        if header.headers.contains_key(TRANSFER_ENCODING) {
            header.remove_header(&CONTENT_LENGTH);
        }
        let framing = framing::response_framing(header.version, &header.headers)
            .map_err(|e| e.more_context("request head to write").into_in())?;
        self.body_writer = match framing {
            Framing::Chunked => BodyWriter::Chunked,
            Framing::ContentLength(left) => {
                if !framing::is_plain_content_length(&header.headers.get_all(CONTENT_LENGTH)) {
                    header.insert_header(CONTENT_LENGTH, left)?;
                }
                BodyWriter::ContentLength { left }
            }
            Framing::Unframed => BodyWriter::NoBody,
        };
        self.request_keepalive = !framing::connection_has(&header.headers, "close");
        self.upgrade_requested = header.headers.contains_key(UPGRADE)
            && framing::connection_has(&header.headers, "upgrade");

        let mut head = head_buffer();
        request_head_to_wire(&header, &mut head);
        let written = write_all(
            &mut self.io,
            &mut [IoSlice::new(&head)],
            self.settings.write_timeout,
        )
        .await;
        keep_head_buffer(head);
        written.map_err(|e| self.fail(e))?;
        self.request = Some(header);
        Ok(())
    }

    /// Whether `data` may go out as request body now: after the head, and only as far as the
    /// head framed a body.
    fn check_body_allowed(&mut self, data: &[u8]) -> Result<()> {
        if self.request.is_none() {
            return Err(
                Error::explain(ErrorType::InternalError, "body before the request head").into_in(),
            );
        }
        if !data.is_empty() && self.body_writer == BodyWriter::NoBody {
            let e = Error::explain(
                ErrorType::H1Error,
                "request body without Content-Length or Transfer-Encoding",
            );
            return Err(self.fail(e));
        }
        Ok(())
    }

    /// Writes request body bytes; `end` finishes the body. Fails with `H1Error` for bytes the
    /// head did not frame (beyond Content-Length, or with no framing header at all).
    pub async fn write_request_body(&mut self, data: Bytes, end: bool) -> Result<()> {
        self.flush_request().await?;
        self.check_body_allowed(&data)?;
        match self
            .body_writer
            .write(&mut self.io, &data, self.settings.write_timeout)
            .await
        {
            Ok(written) => self.body_bytes_sent += written,
            Err(e) => return Err(self.fail(e)),
        }
        if end {
            self.finish_request_body().await?;
        }
        Ok(())
    }

    /// Ends the request body (the last chunk for chunked).
    pub async fn finish_request_body(&mut self) -> Result<()> {
        self.flush_request().await?;
        match self
            .body_writer
            .finish(&mut self.io, self.settings.write_timeout)
            .await
        {
            Ok(complete) => {
                self.request_body_complete = complete;
                Ok(())
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Ends a chunked request body with `trailers` (other framings cannot carry trailers:
    /// the body just ends).
    pub async fn write_request_trailers(&mut self, trailers: &HeaderMap) -> Result<()> {
        self.flush_request().await?;
        match self
            .body_writer
            .finish_with_trailers(&mut self.io, trailers, self.settings.write_timeout)
            .await
        {
            Ok(complete) => {
                self.request_body_complete = complete;
                Ok(())
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Queues request body bytes (and with `end`, the body's end) to be written later, by
    /// [`flush_request`](Self::flush_request), by any other write, or while the response is
    /// read. Never waits on the network. Fails as
    /// [`write_request_body`](Self::write_request_body) does for bytes the head did not frame.
    pub async fn queue_request_body(&mut self, data: Bytes, end: bool) -> Result<()> {
        self.check_body_allowed(&data)?;
        // Framing into the queue completes at once: the queue is always ready.
        match self
            .body_writer
            .write(&mut self.outgoing, &data, None)
            .await
        {
            Ok(written) => self.body_bytes_sent += written,
            Err(e) => return Err(self.fail(e)),
        }
        if end {
            match self.body_writer.finish(&mut self.outgoing, None).await {
                Ok(complete) => self.request_body_complete = complete,
                Err(e) => return Err(self.fail(e)),
            }
        }
        Ok(())
    }

    /// Queues the end of a chunked request body with `trailers` (other framings just end),
    /// like [`queue_request_body`](Self::queue_request_body).
    pub async fn queue_request_trailers(&mut self, trailers: &HeaderMap) -> Result<()> {
        let finished = self
            .body_writer
            .finish_with_trailers(&mut self.outgoing, trailers, None)
            .await;
        match finished {
            Ok(complete) => {
                self.request_body_complete = complete;
                Ok(())
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Whether queued request bytes wait to be written.
    pub fn has_queued_request(&self) -> bool {
        !self.outgoing.is_empty()
    }

    /// Writes every queued request byte. Cancel-safe: what was not written stays queued.
    pub async fn flush_request(&mut self) -> Result<()> {
        if self.outgoing.is_empty() {
            return Ok(());
        }
        let written = self
            .outgoing
            .write_out(&mut self.io, self.settings.write_timeout)
            .await;
        written.map_err(|e| self.fail(e))
    }

    /// Writes queued request bytes while reading response bytes into the session, until the
    /// queue is written or some response bytes (or the upstream's close) arrived: a caller
    /// that waits for room to queue more never stalls the response. Returns at once when
    /// nothing is queued. Cancel-safe. No progress either way within the write timeout fails
    /// with `WriteTimedout`.
    pub async fn flush_request_or_read(&mut self) -> Result<()> {
        if self.outgoing.is_empty() {
            return Ok(());
        }
        if self.read_closed {
            return self.flush_request().await;
        }
        let progress = write_out_or_read(
            &mut self.io,
            &mut self.outgoing,
            &mut self.buf,
            self.settings.write_timeout,
        )
        .await;
        match progress {
            Ok(Progress::Read(0)) => {
                self.read_closed = true;
                Ok(())
            }
            Ok(_) => Ok(()),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Reads the next response head. A 1xx head (but 101) is interim: it is available from
    /// [`response_header`](Self::response_header) and this must be called again for the final
    /// one. Errors are upstream errors: `InvalidHTTPHeader` for a malformed or ambiguous head
    /// (a proxy answers 502), `ReadTimedout`, `ConnectionClosed` (retryable on a reused
    /// connection when nothing was received), `H1Error` for a `101` nobody asked for.
    pub async fn read_response_header(&mut self) -> Result<()> {
        if self.final_response {
            return Err(
                Error::explain(ErrorType::InternalError, "final response already read").into_in(),
            );
        }
        let header = match self.read_head().await {
            Ok(header) => header,
            Err(e) => return Err(self.fail(e)),
        };
        self.head_received = true;
        let status = header.status.as_u16();
        if (100..200).contains(&status) && status != 101 {
            self.response = Some(header);
            return Ok(());
        }
        self.final_response = true;
        if status == 101 {
            if !self.upgrade_requested {
                let e = Error::explain(
                    ErrorType::H1Error,
                    "101 response to a request that did not upgrade",
                );
                return Err(self.fail(e));
            }
            self.upgraded = true;
            self.body_reader = BodyReader::UntilClose;
            // The connection now carries raw bytes both ways.
            self.body_writer = BodyWriter::UntilClose;
            self.response = Some(header);
            return Ok(());
        }
        let framing = match framing::response_framing(header.version, &header.headers) {
            Ok(framing) => framing,
            Err(e) => return Err(self.fail(e)),
        };
        self.response_keepalive = framing::wants_keepalive(header.version, &header.headers);
        let head_request = self
            .request
            .as_ref()
            .is_some_and(|r| r.method == Method::HEAD);
        self.body_reader = if head_request || status == 204 || status == 304 {
            BodyReader::Done
        } else {
            match framing {
                Framing::ContentLength(left) => BodyReader::ContentLength { left },
                Framing::Chunked => BodyReader::Chunked(ChunkedDecoder::new(
                    self.settings.max_chunk_line_size,
                    self.settings.max_trailer_size,
                )),
                Framing::Unframed => {
                    self.response_keepalive = false;
                    BodyReader::UntilClose
                }
            }
        };
        self.response = Some(header);
        Ok(())
    }

    async fn read_head(&mut self) -> Result<Box<ResponseHeader>> {
        let mut scanned: usize = 0;
        loop {
            let region = &self.buf[scanned.saturating_sub(2)..];
            // The first bytes are parsed straight away (a head usually arrives whole, and
            // httparse finds its end while parsing); later ones only once they may end it.
            if !self.buf.is_empty()
                && (scanned == 0
                    || has_head_end(region)
                    || self.buf.len() > self.settings.max_header_size)
            {
                if let Some((header, _)) = parse_response(&mut self.buf, &self.settings)? {
                    return Ok(header);
                }
            }
            scanned = self.buf.len();
            let mut io = ReadWhileWriting {
                io: &mut self.io,
                outgoing: &mut self.outgoing,
            };
            if read_more(&mut io, &mut self.buf, self.settings.read_timeout).await? == 0 {
                let mut e = Error::explain(
                    ErrorType::ConnectionClosed,
                    "upstream closed before the response head ended",
                );
                if self.buf.is_empty() && !self.head_received {
                    // Nothing came back: a pooled connection the upstream had closed.
                    e.retry = RetryType::ReusedOnly;
                }
                return Err(e);
            }
        }
    }

    /// The last response head read (interim or final), unless
    /// [`take_response_header`](Self::take_response_header) took it.
    pub fn response_header(&self) -> Option<&ResponseHeader> {
        self.response.as_deref()
    }

    /// Moves the last response head read out of the session, sparing a copy when it is
    /// forwarded as is. Afterwards [`response_header`](Self::response_header) returns `None`
    /// until the next head is read; the session's own state (framing, keep-alive,
    /// [`is_final_response`](Self::is_final_response)) is unaffected.
    pub fn take_response_header(&mut self) -> Option<Box<ResponseHeader>> {
        self.response.take()
    }

    /// Whether the head from [`response_header`](Self::response_header) is the final one.
    pub fn is_final_response(&self) -> bool {
        self.final_response
    }

    /// Reads the next piece of the response body; `Ok(None)` once it is complete (or before a
    /// final head). After a `101` this returns the raw bytes of the connection.
    pub async fn read_response_body(&mut self) -> Result<Option<Bytes>> {
        if !self.final_response {
            return Ok(None);
        }
        let mut io = ReadWhileWriting {
            io: &mut self.io,
            outgoing: &mut self.outgoing,
        };
        let read = read_body(
            &mut io,
            &mut self.buf,
            &mut self.body_reader,
            self.settings.read_timeout,
        )
        .await;
        match read {
            Ok(Some(data)) => {
                self.body_bytes_read += data.len();
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

    /// The trailers of a chunked response body, once it was read to the end.
    pub fn response_trailers(&self) -> Option<&HeaderMap> {
        self.trailers.as_deref()
    }

    /// Whether response bytes were read past the head and wait in the buffer (or the body is
    /// complete), so the next [`read_response_body`](Self::read_response_body) returns
    /// without waiting on the network.
    pub fn has_buffered_body(&self) -> bool {
        !self.buf.is_empty() || self.is_response_done()
    }

    /// Whether the connection switched protocols (a `101` answered an upgrade).
    pub fn is_upgraded(&self) -> bool {
        self.upgraded
    }

    /// Whether the final response body was read to its end.
    pub fn is_response_done(&self) -> bool {
        self.final_response && self.body_reader.is_done()
    }

    /// Response body bytes read so far.
    pub fn body_bytes_read(&self) -> usize {
        self.body_bytes_read
    }

    /// Request body bytes written so far.
    pub fn body_bytes_sent(&self) -> usize {
        self.body_bytes_sent
    }

    /// Sets the timeout of each read (`None`: wait forever).
    pub fn set_read_timeout(&mut self, timeout: Option<Duration>) {
        self.settings.read_timeout = timeout;
    }

    /// Sets the timeout of each write (`None`: wait forever).
    pub fn set_write_timeout(&mut self, timeout: Option<Duration>) {
        self.settings.write_timeout = timeout;
    }

    /// Facts about the connection (addresses, establishment time) for a stream this crate
    /// connected; empty for other transports.
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// Whether the connection can carry another request: both sides allow keep-alive, the
    /// request and response were complete as framed, nothing failed, no upgrade, and no stray
    /// bytes followed the response.
    pub fn is_reusable(&self) -> bool {
        !self.failed
            && !self.upgraded
            && self.request_keepalive
            && self.response_keepalive
            && self.request_body_complete_or_empty()
            && self.is_response_done()
            && self.buf.is_empty()
    }

    fn request_body_complete_or_empty(&self) -> bool {
        self.outgoing.is_empty()
            && (self.request_body_complete || self.body_writer == BodyWriter::NoBody)
    }

    /// The connection, if [`is_reusable`](Self::is_reusable); otherwise it is shut down and
    /// `None` is returned.
    pub async fn reuse(mut self) -> Option<Stream> {
        if self.is_reusable() {
            // Empty (see `is_reusable`): the next session on this thread can reuse it.
            read_buffer::give_back(self.buf);
            Some(self.io)
        } else {
            self.shutdown().await;
            None
        }
    }

    /// Closes the write side of the connection (request bytes still queued are dropped).
    pub async fn shutdown(&mut self) {
        let _ = self.io.shutdown().await;
    }
}
