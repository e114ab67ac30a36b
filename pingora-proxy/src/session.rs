//! [`Session`]: the downstream request being proxied, plus the state the proxy keeps for it.

use std::ops::{Deref, DerefMut};

use bytes::{Bytes, BytesMut};
use http::header::CONTENT_LENGTH;
use pingora_core::modules::http::compression::ResponseCompressionCtx;
use pingora_core::modules::http::HttpModuleCtx;
use pingora_core::protocols::http::{HttpTask, ServerSession};
use pingora_core::protocols::Stream;
use pingora_core::server::ShutdownWatch;
use pingora_error::Result;
use pingora_http::ResponseHeader;

/// One proxied request: the downstream [`ServerSession`] (reachable through `Deref`, so
/// `session.req_header()` works) and the proxy's state for it.
///
/// The `write_*` and `respond_*` methods run the service's HTTP modules over what they write.
#[derive(Debug)]
pub struct Session {
    /// The client's side of the request.
    pub downstream_session: Box<ServerSession>,
    /// The HTTP modules of this request (see
    /// [`ProxyHttp::init_downstream_modules`](crate::ProxyHttp::init_downstream_modules)).
    pub downstream_modules_ctx: HttpModuleCtx,
    /// Compression of the upstream response before the proxy's response filters see it; off
    /// (level 0, no decompression) unless a phase turns it on.
    ///
    /// Its usual use is decompression, so that `upstream_response_filter`,
    /// `upstream_response_body_filter` and the filters after them work on the plain body
    /// (and the downstream compression module may encode it again for the client). It follows
    /// the rules of [`ResponseCompressionCtx`], with the request *sent upstream* in the role of
    /// the client's: it is given that request after `upstream_request_filter`, and a response
    /// in a coding that request does not accept is decoded. So remove `Accept-Encoding` from
    /// the upstream request to have every gzip, brotli or zstd response decoded, or keep it to
    /// decode only codings the upstream was not asked for. Turn it on before the response
    /// header arrives (in `request_filter` ... `upstream_request_filter`). A body that fails to
    /// decode is an upstream error: 502 when nothing was sent to the client yet.
    ///
    /// ```
    /// use async_trait::async_trait;
    /// use pingora_core::upstreams::peer::HttpPeer;
    /// use pingora_error::Result;
    /// use pingora_http::RequestHeader;
    /// use pingora_proxy::{ProxyHttp, Session};
    ///
    /// struct Rewriter;
    ///
    /// #[async_trait]
    /// impl ProxyHttp for Rewriter {
    ///     type CTX = ();
    ///     fn new_ctx(&self) {}
    ///
    ///     async fn upstream_peer(&self, _: &mut Session, _: &mut ()) -> Result<Box<HttpPeer>> {
    ///         Ok(Box::new(HttpPeer::new("127.0.0.1:8000", false, String::new())))
    ///     }
    ///
    ///     async fn upstream_request_filter(
    ///         &self,
    ///         session: &mut Session,
    ///         upstream_request: &mut RequestHeader,
    ///         _ctx: &mut (),
    ///     ) -> Result<()> {
    ///         // Whatever the origin sends, the body filters get it decoded.
    ///         session.upstream_compression.adjust_decompression(true);
    ///         upstream_request.remove_header("Accept-Encoding");
    ///         Ok(())
    ///     }
    /// }
    /// ```
    pub upstream_compression: ResponseCompressionCtx,
    shutdown: Option<ShutdownWatch>,
    upstream_body_bytes_received: usize,
}

impl Session {
    /// A session around a downstream session whose request was read.
    pub(crate) fn new(
        downstream_session: ServerSession,
        downstream_modules_ctx: HttpModuleCtx,
        shutdown: Option<ShutdownWatch>,
    ) -> Self {
        Session {
            downstream_session: Box::new(downstream_session),
            downstream_modules_ctx,
            upstream_compression: ResponseCompressionCtx::new(0, false, false),
            shutdown,
            upstream_body_bytes_received: 0,
        }
    }

    /// A session over an HTTP/1 stream, without modules (for tests: call
    /// [`read_request`](ServerSession::read_request) before using it).
    pub fn new_h1(stream: Stream) -> Self {
        Self::new(
            ServerSession::new_http1(stream),
            HttpModuleCtx::empty(),
            None,
        )
    }

    /// Answers with the error page for `code` (see
    /// [`ServerSession::generate_error`]) and turns keep-alive off.
    pub async fn respond_error(&mut self, code: u16) -> Result<()> {
        self.respond_error_with_body(code, Bytes::new()).await
    }

    /// Answers with the error page for `code` carrying `body`, keep-alive off. Does nothing
    /// when a final response header was already written.
    pub async fn respond_error_with_body(&mut self, code: u16, body: Bytes) -> Result<()> {
        if self.downstream_session.response_written().is_some() {
            return Ok(());
        }
        let mut header = ServerSession::generate_error(code);
        let end_of_stream = body.is_empty();
        if !end_of_stream {
            header.insert_header(CONTENT_LENGTH, body.len())?;
        }
        self.downstream_modules_ctx
            .response_header_filter(&mut header, end_of_stream)
            .await?;
        let body = if end_of_stream {
            body
        } else {
            // The page goes through the body filters too, so that what the header filters
            // announced (a Content-Encoding, say) is what the bytes are. The session sets
            // Content-Length from what comes out.
            let mut piece = Some(body);
            self.downstream_modules_ctx
                .response_body_filter(&mut piece, true)?;
            let mut page = BytesMut::from(piece.unwrap_or_default());
            if let Some(last) = self.downstream_modules_ctx.response_done_filter()? {
                page.extend_from_slice(&last);
            }
            page.freeze()
        };
        self.downstream_session
            .write_error_response(header, body)
            .await
    }

    /// Writes the response header (after the modules' header filters); `end_of_stream`
    /// finishes the response when it has no body.
    pub async fn write_response_header(
        &mut self,
        mut resp: Box<ResponseHeader>,
        end_of_stream: bool,
    ) -> Result<()> {
        self.downstream_modules_ctx
            .response_header_filter(&mut resp, end_of_stream)
            .await?;
        self.downstream_session.write_response_header(resp).await?;
        if end_of_stream {
            self.downstream_session.finish_body().await?;
        }
        Ok(())
    }

    /// Like [`write_response_header`](Self::write_response_header) from a reference.
    pub async fn write_response_header_ref(
        &mut self,
        resp: &ResponseHeader,
        end_of_stream: bool,
    ) -> Result<()> {
        self.write_response_header(Box::new(resp.clone()), end_of_stream)
            .await
    }

    /// Writes a piece of response body (after the modules' body filters); `end_of_stream`
    /// finishes the body.
    pub async fn write_response_body(
        &mut self,
        mut data: Option<Bytes>,
        end_of_stream: bool,
    ) -> Result<()> {
        self.downstream_modules_ctx
            .response_body_filter(&mut data, end_of_stream)?;
        if let Some(data) = data {
            if !data.is_empty() {
                self.downstream_session
                    .write_response_body(data, false)
                    .await?;
            }
        }
        if end_of_stream {
            if let Some(last) = self.downstream_modules_ctx.response_done_filter()? {
                self.downstream_session
                    .write_response_body(last, false)
                    .await?;
            }
            self.downstream_session.finish_body().await?;
        }
        Ok(())
    }

    /// Writes the response header and a first piece of body together (one system call for
    /// a small response), after the modules' header and body filters; `end_of_stream`
    /// finishes the body.
    pub(crate) async fn write_response_header_with_body(
        &mut self,
        mut resp: Box<ResponseHeader>,
        mut data: Option<Bytes>,
        end_of_stream: bool,
    ) -> Result<()> {
        self.downstream_modules_ctx
            .response_header_filter(&mut resp, false)
            .await?;
        self.downstream_modules_ctx
            .response_body_filter(&mut data, end_of_stream)?;
        let body = data.unwrap_or_default();
        if end_of_stream {
            if let Some(last) = self.downstream_modules_ctx.response_done_filter()? {
                self.downstream_session
                    .write_response_header_with_body(resp, body, false)
                    .await?;
                self.downstream_session
                    .write_response_body(last, false)
                    .await?;
                return self.downstream_session.finish_body().await;
            }
        }
        self.downstream_session
            .write_response_header_with_body(resp, body, end_of_stream)
            .await
    }

    /// Writes the tasks in order; returns whether the response is complete.
    pub async fn write_response_tasks(&mut self, tasks: Vec<HttpTask>) -> Result<bool> {
        for task in tasks {
            match task {
                HttpTask::Header(header, end) => {
                    self.write_response_header(header, end).await?;
                    if end {
                        return Ok(true);
                    }
                }
                HttpTask::Body(data, end) | HttpTask::UpgradedBody(data, end) => {
                    self.write_response_body(data, end).await?;
                    if end {
                        return Ok(true);
                    }
                }
                HttpTask::Trailer(trailers) => {
                    self.write_response_trailers(trailers).await?;
                    return Ok(true);
                }
                HttpTask::Done => {
                    self.write_response_body(None, true).await?;
                    return Ok(true);
                }
                HttpTask::Failed(e) => return Err(e),
            }
        }
        Ok(false)
    }

    /// Ends the response with `trailers` (after the modules' trailer filters).
    pub(crate) async fn write_response_trailers(
        &mut self,
        mut trailers: Option<Box<http::HeaderMap>>,
    ) -> Result<()> {
        if let Some(extra) = self
            .downstream_modules_ctx
            .response_trailer_filter(&mut trailers)?
        {
            self.downstream_session
                .write_response_body(extra, false)
                .await?;
        }
        match trailers {
            Some(trailers) => {
                self.downstream_session
                    .write_response_trailers(&trailers)
                    .await
            }
            None => self.downstream_session.finish_body().await,
        }
    }

    /// The downstream session.
    pub fn as_downstream(&self) -> &ServerSession {
        &self.downstream_session
    }

    /// The downstream session, to change.
    pub fn as_downstream_mut(&mut self) -> &mut ServerSession {
        &mut self.downstream_session
    }

    /// Whether the server is shutting down (new responses then close their connection).
    pub fn is_process_shutting_down(&self) -> bool {
        self.shutdown.as_ref().is_some_and(|s| *s.borrow())
    }

    /// Response body bytes received from upstream so far (over all attempts).
    pub fn upstream_body_bytes_received(&self) -> usize {
        self.upstream_body_bytes_received
    }

    pub(crate) fn add_upstream_body_bytes(&mut self, n: usize) {
        self.upstream_body_bytes_received += n;
    }
}

impl Deref for Session {
    type Target = ServerSession;
    fn deref(&self) -> &ServerSession {
        &self.downstream_session
    }
}

impl DerefMut for Session {
    fn deref_mut(&mut self) -> &mut ServerSession {
        &mut self.downstream_session
    }
}

impl AsRef<ServerSession> for Session {
    fn as_ref(&self) -> &ServerSession {
        &self.downstream_session
    }
}

impl AsMut<ServerSession> for Session {
    fn as_mut(&mut self) -> &mut ServerSession {
        &mut self.downstream_session
    }
}
