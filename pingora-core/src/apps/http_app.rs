//! The simplest HTTP app: [`ServeHttp`] turns each request into a whole response; this crate
//! reads the request head, writes the response and keeps the connection alive.

use async_trait::async_trait;
use bytes::Bytes;
use http::header::CONTENT_LENGTH;
use http::Response;
use pingora_error::ErrorType;
use pingora_http::ResponseHeader;
use std::sync::Arc;

use super::{HttpPersistentSettings, HttpServerApp, HttpServerOptions, ReusedHttpStream};
use crate::protocols::http::ServerSession;
use crate::server::ShutdownWatch;

/// The keep-alive idle timeout, in seconds, a `ServeHttp` app gives its connections.
const KEEPALIVE_SECONDS: u64 = 60;

/// An HTTP app that answers each request with a whole, buffered response.
///
/// When [`response`](Self::response) is called the request head was read
/// ([`ServerSession::req_header`]); the body, if the app wants it, is read with
/// [`ServerSession::read_request_body`]. The response gets a `Content-Length` of its body
/// unless it has one (or is `Transfer-Encoding`-framed). A request whose head is malformed
/// never reaches the app: it is answered with 400 (or the status the codec chose, e.g. 414
/// or 431) and the connection is closed. The connection is kept alive for 60 s after each
/// response unless the request or the response said otherwise.
///
/// A `ServeHttp` type is an [`HttpServerApp`] and so a [`ServerApp`](super::ServerApp):
/// hand it straight to a [`listening::Service`](crate::services::listening::Service), or wrap
/// it in an [`HttpServer`] to give it [`HttpServerOptions`].
///
/// ```
/// use async_trait::async_trait;
/// use pingora_core::apps::http_app::ServeHttp;
/// use pingora_core::protocols::http::ServerSession;
/// use pingora_core::services::listening::Service;
///
/// struct Hello;
///
/// #[async_trait]
/// impl ServeHttp for Hello {
///     async fn response(&self, session: &mut ServerSession) -> http::Response<Vec<u8>> {
///         let body = format!("hello, {}\n", session.req_header().uri.path());
///         http::Response::builder()
///             .header("Content-Type", "text/plain")
///             .body(body.into_bytes())
///             .unwrap()
///     }
/// }
///
/// let mut service = Service::new("hello".to_string(), Hello);
/// service.add_tcp("127.0.0.1:6198");
/// ```
#[async_trait]
pub trait ServeHttp {
    /// The response to the request of `http_session`.
    async fn response(&self, http_session: &mut ServerSession) -> Response<Vec<u8>>;
}

#[async_trait]
impl<SV: ServeHttp + Send + Sync> HttpServerApp for SV {
    async fn process_new_http(
        self: &Arc<Self>,
        session: ServerSession,
        _shutdown: &ShutdownWatch,
    ) -> Option<ReusedHttpStream> {
        serve(&**self, session).await
    }
}

/// A [`ServeHttp`] app with options for the HTTP server that runs it.
///
/// ```
/// use async_trait::async_trait;
/// use pingora_core::apps::http_app::{HttpServer, ServeHttp};
/// use pingora_core::apps::HttpServerOptions;
/// use pingora_core::protocols::http::ServerSession;
/// use pingora_core::services::listening::Service;
///
/// struct Empty;
///
/// #[async_trait]
/// impl ServeHttp for Empty {
///     async fn response(&self, _session: &mut ServerSession) -> http::Response<Vec<u8>> {
///         http::Response::new(Vec::new())
///     }
/// }
///
/// let mut app = HttpServer::new_app(Empty);
/// let mut options = HttpServerOptions::default();
/// options.keepalive_request_limit = Some(100);
/// app.server_options = Some(options);
/// let service = Service::new("empty".to_string(), app);
/// ```
#[derive(Debug)]
pub struct HttpServer<SV> {
    app: SV,
    /// Options of the HTTP server (`None`: the defaults).
    pub server_options: Option<HttpServerOptions>,
}

impl<SV> HttpServer<SV> {
    /// Wraps `app`, with default options.
    pub fn new_app(app: SV) -> Self {
        HttpServer {
            app,
            server_options: None,
        }
    }
}

#[async_trait]
impl<SV: ServeHttp + Send + Sync> HttpServerApp for HttpServer<SV> {
    async fn process_new_http(
        self: &Arc<Self>,
        session: ServerSession,
        _shutdown: &ShutdownWatch,
    ) -> Option<ReusedHttpStream> {
        serve(&self.app, session).await
    }

    fn server_options(&self) -> Option<&HttpServerOptions> {
        self.server_options.as_ref()
    }
}

/// Reads the request, asks `app` for the response, writes it; returns the connection when it
/// can carry another request.
async fn serve<SV: ServeHttp + ?Sized>(
    app: &SV,
    mut session: ServerSession,
) -> Option<ReusedHttpStream> {
    match session.read_request().await {
        Ok(true) => {}
        Ok(false) => return None,
        Err(e) => {
            let status = match e.etype() {
                ErrorType::HTTPStatus(code) => Some(*code),
                ErrorType::InvalidHTTPHeader => Some(400),
                // Timeouts and a vanished client: nobody to answer, or no point.
                _ => None,
            };
            log::debug!("bad request from {:?}: {e}", session.client_addr());
            if let Some(status) = status {
                let _ = session.respond_error(status).await;
            }
            let _ = session.finish().await;
            return None;
        }
    }
    let response = app.response(&mut session).await;
    if let Err(e) = write_response(&mut session, response).await {
        log::debug!("cannot answer {}: {e}", session.request_summary());
        return None;
    }
    if session.get_keepalive().is_some() {
        session.set_keepalive(Some(KEEPALIVE_SECONDS));
    }
    let settings = HttpPersistentSettings::for_session(&session);
    match session.finish().await {
        Ok(Some(stream)) => Some(ReusedHttpStream::new(stream, Some(settings))),
        Ok(None) => None,
        Err(e) => {
            log::debug!("cannot finish the response: {e}");
            None
        }
    }
}

/// Writes `response` (head and whole body) to `session`.
async fn write_response(
    session: &mut ServerSession,
    response: Response<Vec<u8>>,
) -> pingora_error::Result<()> {
    let (parts, body) = response.into_parts();
    let mut header = ResponseHeader::from(parts);
    let framed = header.headers.contains_key(CONTENT_LENGTH)
        || header.headers.contains_key(http::header::TRANSFER_ENCODING);
    if !framed {
        header.set_content_length(body.len())?;
    }
    session.write_response_header(Box::new(header)).await?;
    session.write_response_body(Bytes::from(body), true).await
}
