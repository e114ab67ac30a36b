//! Applications: what a listening service does with each accepted connection.
//!
//! Three levels, each implemented by the one below for free, so a type implements only one:
//! [`ServerApp`] works on raw byte streams; [`HttpServerApp`] gets one
//! [`ServerSession`] per HTTP request (this crate runs the HTTP/1 keep-alive loop around
//! it); [`http_app::ServeHttp`] only turns a request into a whole response.

pub mod http_app;
mod keepalive;
mod reuse;

use async_trait::async_trait;
use std::future::Future;
use std::sync::Arc;

use crate::protocols::http::ServerSession;
use crate::protocols::Stream;
use crate::server::ShutdownWatch;

pub use reuse::{HttpPersistentSettings, ReusedHttpStream};

/// An application that works on raw byte streams.
///
/// The server calls [`process_new`](Self::process_new) once per accepted connection, each on
/// its own task. Returning `Some(stream)` hands the stream back for another round (a kept-alive
/// connection); `None` closes it. Watch `shutdown`: once it is `true` the server is stopping,
/// and an app should finish what it is doing and not wait for more.
///
/// ```
/// use async_trait::async_trait;
/// use pingora_core::apps::ServerApp;
/// use pingora_core::protocols::Stream;
/// use pingora_core::server::ShutdownWatch;
/// use std::sync::Arc;
/// use tokio::io::AsyncWriteExt;
///
/// struct Hello;
///
/// #[async_trait]
/// impl ServerApp for Hello {
///     async fn process_new(self: &Arc<Self>, mut io: Stream, _shutdown: &ShutdownWatch) -> Option<Stream> {
///         let _ = io.write_all(b"hello\n").await;
///         None // close the connection
///     }
/// }
/// ```
#[async_trait]
pub trait ServerApp {
    /// Serves one connection; returns it to be served again, or `None` to close it.
    async fn process_new(
        self: &Arc<Self>,
        mut session: Stream,
        shutdown: &ShutdownWatch,
    ) -> Option<Stream>;

    /// Called once when the service stops, after its last connection finished.
    async fn cleanup(&self) {}
}

/// An application that serves HTTP requests, one [`ServerSession`] at a time.
///
/// Every `HttpServerApp` is a [`ServerApp`]: this crate runs the connection for it. On each
/// connection (HTTP/1; HTTP/2 is not there yet) it waits for a request, hands the app a
/// session whose request head the app reads with
/// [`read_request`](ServerSession::read_request), and, when the app returns the connection
/// as a [`ReusedHttpStream`], waits for the next request:
///
/// - the first request must start within 60 s of the connection's arrival; later ones within
///   the keep-alive timeout the previous session had ([`ServerSession::set_keepalive`]:
///   `Some(0)` or unset waits without limit);
/// - once `shutdown` flips to `true`, new sessions have keep-alive off (their responses say
///   `Connection: close`) and idle connections are closed at once;
/// - [`HttpServerOptions::keepalive_request_limit`] caps the requests per connection;
/// - bytes a client pipelined after a request are kept for the next session.
///
/// ```
/// use async_trait::async_trait;
/// use pingora_core::apps::{HttpServerApp, ReusedHttpStream};
/// use pingora_core::protocols::http::ServerSession;
/// use pingora_core::server::ShutdownWatch;
/// use pingora_core::services::listening::Service;
/// use std::sync::Arc;
///
/// struct NotFound;
///
/// #[async_trait]
/// impl HttpServerApp for NotFound {
///     async fn process_new_http(
///         self: &Arc<Self>,
///         mut session: ServerSession,
///         _shutdown: &ShutdownWatch,
///     ) -> Option<ReusedHttpStream> {
///         if !session.read_request().await.ok()? {
///             return None; // the client left without asking anything
///         }
///         session.respond_error(404).await.ok()?;
///         // respond_error turned keep-alive off: finish closes the connection.
///         let stream = session.finish().await.ok()??;
///         Some(ReusedHttpStream::new(stream, None))
///     }
/// }
///
/// let mut service = Service::new("not found".to_string(), NotFound);
/// service.add_tcp("127.0.0.1:6199");
/// ```
#[async_trait]
pub trait HttpServerApp {
    /// Serves one request on `session` (its head not read yet). Returns the connection to
    /// serve another request on it, or `None` to close it. `shutdown` turns `true` when the
    /// server is stopping.
    async fn process_new_http(
        self: &Arc<Self>,
        mut session: ServerSession,
        shutdown: &ShutdownWatch,
    ) -> Option<ReusedHttpStream>;

    /// [`process_new_http`](Self::process_new_http) as the keep-alive loop calls it, once per
    /// request. Default: `process_new_http`, a boxed future. An app may return its own
    /// future type instead, which the loop then holds inline, saving a heap allocation and a
    /// copy of the future per request (the proxy does); it must behave exactly like
    /// `process_new_http`.
    #[doc(hidden)]
    fn process_new_http_inline<'a>(
        self: &'a Arc<Self>,
        session: ServerSession,
        shutdown: &'a ShutdownWatch,
    ) -> impl Future<Output = Option<ReusedHttpStream>> + Send + 'a
    where
        Self: Sized + Sync,
    {
        self.process_new_http(session, shutdown)
    }

    /// Options of the HTTP server around this app (`None`: the defaults).
    fn server_options(&self) -> Option<&HttpServerOptions> {
        None
    }

    /// Called once when the service stops, after its last connection finished.
    async fn http_cleanup(&self) {}
}

/// Options of the HTTP server that runs an [`HttpServerApp`].
///
/// ```
/// use pingora_core::apps::HttpServerOptions;
///
/// let mut options = HttpServerOptions::default();
/// options.keepalive_request_limit = Some(1000);
/// assert!(!options.h2c);
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, Default)]
pub struct HttpServerOptions {
    /// Accept HTTP/2 without TLS when a connection starts with the HTTP/2 preface. Default
    /// `false`. Not acted on yet: HTTP/2 is not implemented, so connections are HTTP/1.
    pub h2c: bool,
    /// Let the proxy forward `CONNECT` requests instead of answering them with 405. Default
    /// `false`. Read by the proxy; the keep-alive loop and `ServeHttp` apps ignore it.
    pub allow_connect_method_proxying: bool,
    /// Most requests served on one connection; the response to the last one says
    /// `Connection: close`. Default `None`: no limit.
    pub keepalive_request_limit: Option<u32>,
    #[doc(hidden)]
    pub force_custom: bool,
}
