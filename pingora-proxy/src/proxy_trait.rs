//! [`ProxyHttp`]: the phases of a proxied request a user can take part in, each with a
//! default that does the ordinary thing, and [`FailToProxy`], what the error phase reports.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use log::error;
use pingora_core::modules::http::compression::ResponseCompressionBuilder;
use pingora_core::modules::http::HttpModules;
use pingora_core::protocols::Digest;
use pingora_core::upstreams::peer::HttpPeer;
use pingora_error::{Error, ErrorSource, ErrorType, Result};
use pingora_http::{RequestHeader, ResponseHeader};

use crate::session::Session;

/// What [`ProxyHttp::fail_to_proxy`] did about a fatal error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailToProxy {
    /// The status sent downstream, for logs; 0 when nothing was sent.
    pub error_code: u16,
    /// Whether the downstream connection may carry another request. Honoured only for
    /// errors that happen before a peer was chosen.
    pub can_reuse_downstream: bool,
}

/// The status [`ProxyHttp::fail_to_proxy`] answers `e` with by default (0: answer nothing).
///
/// `HTTPStatus(c)` → c; an upstream error → 502; a downstream error → 0 when the client went
/// away (`ReadError`, `WriteError`, `ConnectionClosed`), else 400 (a malformed request);
/// anything else → 500.
pub(crate) fn error_status(e: &Error) -> u16 {
    if let ErrorType::HTTPStatus(code) = e.etype() {
        return *code;
    }
    match e.esource() {
        ErrorSource::Upstream => 502,
        ErrorSource::Downstream => match e.etype() {
            ErrorType::ReadError | ErrorType::WriteError | ErrorType::ConnectionClosed => 0,
            _ => 400,
        },
        ErrorSource::Internal | ErrorSource::Unset => 500,
    }
}

/// The future of an `async` phase, in the form `#[async_trait]` gives an `async fn`.
type Phase<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The future of a phase whose default is a constant: ready at once with what `make` returns.
///
/// A default phase written as an `async fn` would box a future holding its arguments, one
/// heap allocation per phase per request even when nobody overrides it. `make` must capture
/// nothing, so this future has no size and boxing it allocates nothing (checked when it is
/// compiled).
fn ready<'a, T: 'a, F>(make: F) -> Phase<'a, T>
where
    F: Fn() -> T + Send + Unpin + 'a,
{
    const {
        assert!(
            std::mem::size_of::<F>() == 0,
            "a constant phase captures nothing"
        )
    };
    Box::pin(Ready(make))
}

/// See [`ready`].
struct Ready<F>(F);

impl<T, F: Fn() -> T + Unpin> Future for Ready<F> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<T> {
        Poll::Ready((self.0)())
    }
}

/// A programmable HTTP proxy: one method per phase of a request.
///
/// Only [`new_ctx`](Self::new_ctx) and [`upstream_peer`](Self::upstream_peer) are required.
/// The phases run in this order for each request (see the user guide's proxy page):
///
/// `early_request_filter` → (module request filters) → `request_filter` (→ `logging` if it
/// answered) → `proxy_upstream_filter` → `upstream_peer` → connect → `connected_to_upstream` |
/// `fail_to_connect` (retry → `upstream_peer`) → `upstream_request_filter` →
/// `request_body_filter` (each chunk) while the response comes back:
/// `upstream_response_filter` → `response_filter` → `upstream_response_body_filter` →
/// `response_body_filter` (each chunk) → trailer filters; errors after connecting →
/// `error_while_proxy` (retry → `upstream_peer`), fatal errors → `fail_to_proxy`; last,
/// always, `logging`.
///
/// Methods with a `where Self::CTX: Send + Sync` clause need it on the impl as well.
///
/// Implement it with `#[async_trait]` and write the phases as `async fn`s. The trait spells
/// out the phases whose default is a constant in the form `#[async_trait]` gives an
/// `async fn` (an explicit lifetime per reference and a boxed future): those defaults then
/// cost no allocation per request, and an override written as an `async fn` fits them as it
/// fits the others.
#[async_trait]
pub trait ProxyHttp {
    /// Per-request state handed to every phase.
    type CTX;

    /// A fresh state for a request, made after its header was read.
    fn new_ctx(&self) -> Self::CTX;

    /// Installs the service's HTTP modules, once, when the service is built.
    ///
    /// Default: the response-compression module switched off
    /// (`ResponseCompressionBuilder::enable(0)`), so that a phase can switch it on for a
    /// request through `session.downstream_modules_ctx.get_mut::<ResponseCompression>()`.
    /// An override that installs its own modules should add compression itself if it wants
    /// it, e.g. `modules.add_module(ResponseCompressionBuilder::enable(6))` (see
    /// [`compression`](pingora_core::modules::http::compression)).
    fn init_downstream_modules(&self, modules: &mut HttpModules) {
        modules.add_module(ResponseCompressionBuilder::enable(0));
    }

    /// Called for a request on a reused downstream connection with the value
    /// [`persist_connection_context`](Self::persist_connection_context) kept from the previous
    /// request, first of all the phases (before
    /// [`early_request_filter`](Self::early_request_filter)). Default: nothing.
    fn on_connection_reuse(
        &self,
        _session: &mut Session,
        _ctx: &mut Self::CTX,
        _persisted: Box<dyn Any + Send + Sync>,
    ) {
    }

    /// The first phase, before the modules see the request. Default: `Ok(())`.
    fn early_request_filter<'life0, 'life1, 'life2, 'async_trait>(
        &'life0 self,
        _session: &'life1 mut Session,
        _ctx: &'life2 mut Self::CTX,
    ) -> Phase<'async_trait, Result<()>>
    where
        Self::CTX: Send + Sync,
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: Sync + 'async_trait,
    {
        ready(|| Ok(()))
    }

    /// Whether this request may spawn subrequests. Default: false (subrequests are not
    /// supported yet).
    fn allow_spawning_subrequest(&self, _session: &Session, _ctx: &Self::CTX) -> bool
    where
        Self::CTX: Send + Sync,
    {
        false
    }

    /// Inspect or answer the request. `Ok(true)` means this filter already wrote the whole
    /// response (e.g. a 403 or a redirect): no upstream is contacted and `logging` runs next.
    /// An `Err` is answered by [`fail_to_proxy`](Self::fail_to_proxy). Default: `Ok(false)`.
    fn request_filter<'life0, 'life1, 'life2, 'async_trait>(
        &'life0 self,
        _session: &'life1 mut Session,
        _ctx: &'life2 mut Self::CTX,
    ) -> Phase<'async_trait, Result<bool>>
    where
        Self::CTX: Send + Sync,
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: Sync + 'async_trait,
    {
        ready(|| Ok(false))
    }

    /// Whether to go upstream at all; `Ok(false)` answers 502 with an empty body.
    /// Default: `Ok(true)`.
    fn proxy_upstream_filter<'life0, 'life1, 'life2, 'async_trait>(
        &'life0 self,
        _session: &'life1 mut Session,
        _ctx: &'life2 mut Self::CTX,
    ) -> Phase<'async_trait, Result<bool>>
    where
        Self::CTX: Send + Sync,
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: Sync + 'async_trait,
    {
        ready(|| Ok(true))
    }

    /// The upstream for this attempt; called again for every retry (switch peers through
    /// `ctx`). An error ends the attempt; it is retried only if marked retryable.
    async fn upstream_peer(
        &self,
        session: &mut Session,
        ctx: &mut Self::CTX,
    ) -> Result<Box<HttpPeer>>;

    /// A connection to `peer` is ready (`reused`: it came from the pool). An `Err` fails the
    /// attempt like an error while proxying. Default: `Ok(())`.
    #[allow(clippy::too_many_arguments)]
    fn connected_to_upstream<'life0, 'life1, 'life2, 'life3, 'life4, 'async_trait>(
        &'life0 self,
        _session: &'life1 mut Session,
        _reused: bool,
        _peer: &'life2 HttpPeer,
        #[cfg(unix)] _fd: std::os::unix::io::RawFd,
        #[cfg(windows)] _sock: std::os::windows::io::RawSocket,
        _digest: Option<&'life3 Digest>,
        _ctx: &'life4 mut Self::CTX,
    ) -> Phase<'async_trait, Result<()>>
    where
        Self::CTX: Send + Sync,
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        'life3: 'async_trait,
        'life4: 'async_trait,
        Self: Sync + 'async_trait,
    {
        ready(|| Ok(()))
    }

    /// Connecting to `peer` failed with `e` (nothing was sent, so a retry is always safe).
    /// The attempt is retried if the returned error says so (`e.set_retry(true)`).
    /// Default: `e` unchanged.
    fn fail_to_connect(
        &self,
        _session: &mut Session,
        _peer: &HttpPeer,
        _ctx: &mut Self::CTX,
        e: Box<Error>,
    ) -> Box<Error> {
        e
    }

    /// Change the request header before it goes upstream (it starts as a copy of the
    /// downstream request without hop-by-hop headers; set `Host` here). Default: `Ok(())`.
    fn upstream_request_filter<'life0, 'life1, 'life2, 'life3, 'async_trait>(
        &'life0 self,
        _session: &'life1 mut Session,
        _upstream_request: &'life2 mut RequestHeader,
        _ctx: &'life3 mut Self::CTX,
    ) -> Phase<'async_trait, Result<()>>
    where
        Self::CTX: Send + Sync,
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        'life3: 'async_trait,
        Self: Sync + 'async_trait,
    {
        ready(|| Ok(()))
    }

    /// Each piece of the request body on its way upstream (after the modules' filters);
    /// set `body` to `None` to drop it or replace it. `end_of_stream` marks the last call.
    /// Default: `Ok(())`.
    fn request_body_filter<'life0, 'life1, 'life2, 'life3, 'async_trait>(
        &'life0 self,
        _session: &'life1 mut Session,
        _body: &'life2 mut Option<Bytes>,
        _end_of_stream: bool,
        _ctx: &'life3 mut Self::CTX,
    ) -> Phase<'async_trait, Result<()>>
    where
        Self::CTX: Send + Sync,
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        'life3: 'async_trait,
        Self: Sync + 'async_trait,
    {
        ready(|| Ok(()))
    }

    /// The response header as it came from upstream. Default: `Ok(())`.
    fn upstream_response_filter<'life0, 'life1, 'life2, 'life3, 'async_trait>(
        &'life0 self,
        _session: &'life1 mut Session,
        _upstream_response: &'life2 mut ResponseHeader,
        _ctx: &'life3 mut Self::CTX,
    ) -> Phase<'async_trait, Result<()>>
    where
        Self::CTX: Send + Sync,
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        'life3: 'async_trait,
        Self: Sync + 'async_trait,
    {
        ready(|| Ok(()))
    }

    /// The response header on its way downstream (the modules run after it).
    /// Default: `Ok(())`.
    fn response_filter<'life0, 'life1, 'life2, 'life3, 'async_trait>(
        &'life0 self,
        _session: &'life1 mut Session,
        _upstream_response: &'life2 mut ResponseHeader,
        _ctx: &'life3 mut Self::CTX,
    ) -> Phase<'async_trait, Result<()>>
    where
        Self::CTX: Send + Sync,
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        'life3: 'async_trait,
        Self: Sync + 'async_trait,
    {
        ready(|| Ok(()))
    }

    /// Each piece of the response body as it came from upstream. `Ok(Some(d))` delays the
    /// piece by `d` (rate limiting). Default: `Ok(None)`.
    fn upstream_response_body_filter(
        &self,
        _session: &mut Session,
        _body: &mut Option<Bytes>,
        _end_of_stream: bool,
        _ctx: &mut Self::CTX,
    ) -> Result<Option<Duration>> {
        Ok(None)
    }

    /// Each piece of the response body on its way downstream; set `body` to `None` to drop
    /// it or replace it. `Ok(Some(d))` delays the piece by `d`. Default: `Ok(None)`.
    fn response_body_filter(
        &self,
        _session: &mut Session,
        _body: &mut Option<Bytes>,
        _end_of_stream: bool,
        _ctx: &mut Self::CTX,
    ) -> Result<Option<Duration>>
    where
        Self::CTX: Send + Sync,
    {
        Ok(None)
    }

    /// The response trailers as they came from upstream. Default: `Ok(())`.
    fn upstream_response_trailer_filter(
        &self,
        _session: &mut Session,
        _upstream_trailers: &mut http::HeaderMap,
        _ctx: &mut Self::CTX,
    ) -> Result<()> {
        Ok(())
    }

    /// The response trailers on their way downstream. `Ok(Some(bytes))` sends `bytes` as the
    /// last body piece instead of the trailers. Default: `Ok(None)`.
    fn response_trailer_filter<'life0, 'life1, 'life2, 'life3, 'async_trait>(
        &'life0 self,
        _session: &'life1 mut Session,
        _upstream_trailers: &'life2 mut http::HeaderMap,
        _ctx: &'life3 mut Self::CTX,
    ) -> Phase<'async_trait, Result<Option<Bytes>>>
    where
        Self::CTX: Send + Sync,
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        'life3: 'async_trait,
        Self: Sync + 'async_trait,
    {
        ready(|| Ok(None))
    }

    /// An error `e` after the connection to `peer` was made (`client_reused`: the connection
    /// came from the pool). The attempt is retried if the returned error says so.
    ///
    /// Default: adds the context `"Peer: {peer}"` and settles a "reused only" retry: retry
    /// when the connection was reused and the request body is still replayable (the retry
    /// buffer, 64 KiB, did not overflow).
    fn error_while_proxy(
        &self,
        peer: &HttpPeer,
        session: &mut Session,
        e: Box<Error>,
        _ctx: &mut Self::CTX,
        client_reused: bool,
    ) -> Box<Error> {
        let mut e = e.more_context(format!("Peer: {peer}"));
        e.retry
            .decide_reuse(client_reused && !session.as_ref().retry_buffer_truncated());
        e
    }

    /// A fatal error: answer the client. Default: the error page for the status of
    /// the error (`HTTPStatus(c)` → c, upstream → 502, a client that went away → no
    /// answer, other downstream errors → 400, anything else → 500), no downstream reuse.
    async fn fail_to_proxy(
        &self,
        session: &mut Session,
        e: &Error,
        _ctx: &mut Self::CTX,
    ) -> FailToProxy
    where
        Self::CTX: Send + Sync,
    {
        let code = error_status(e);
        if code > 0 {
            if let Err(write_err) = session.respond_error(code).await {
                error!("failed to send error response to downstream: {write_err}");
            }
        }
        FailToProxy {
            error_code: code,
            can_reuse_downstream: false,
        }
    }

    /// Whether to skip the error log line for `e`. Default: false.
    fn suppress_error_log(&self, _session: &Session, _ctx: &Self::CTX, _error: &Error) -> bool {
        false
    }

    /// The request's description in error logs. Default: `"METHOD path, Host: host"`.
    fn request_summary(&self, session: &Session, _ctx: &Self::CTX) -> String {
        session.as_ref().request_summary()
    }

    /// The last phase, run exactly once per request whatever happened; `e` is the fatal
    /// error, if any (with its cause chain). Default: nothing.
    fn logging<'life0, 'life1, 'life2, 'life3, 'async_trait>(
        &'life0 self,
        _session: &'life1 mut Session,
        _e: Option<&'life2 Error>,
        _ctx: &'life3 mut Self::CTX,
    ) -> Phase<'async_trait, ()>
    where
        Self::CTX: Send + Sync,
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        'life3: 'async_trait,
        Self: Sync + 'async_trait,
    {
        ready(|| ())
    }

    /// A value to keep with a downstream connection that carries another request (see
    /// [`on_connection_reuse`](Self::on_connection_reuse)). Default: `None`.
    fn persist_connection_context(
        &self,
        _session: &Session,
        _ctx: &Self::CTX,
    ) -> Option<Box<dyn Any + Send + Sync>> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_status_follows_the_documented_mapping() {
        assert_eq!(error_status(&Error::new(ErrorType::HTTPStatus(403))), 403);
        assert_eq!(error_status(&Error::new_up(ErrorType::ConnectRefused)), 502);
        assert_eq!(error_status(&Error::new_up(ErrorType::ReadTimedout)), 502);
        assert_eq!(
            error_status(&Error::new_down(ErrorType::InvalidHTTPHeader)),
            400
        );
        assert_eq!(
            error_status(&Error::new_down(ErrorType::ConnectionClosed)),
            0
        );
        assert_eq!(error_status(&Error::new_down(ErrorType::WriteError)), 0);
        assert_eq!(error_status(&Error::new_in(ErrorType::InternalError)), 500);
        assert_eq!(error_status(&Error::new(ErrorType::new("custom"))), 500);
    }
}
