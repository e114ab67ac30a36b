//! What an HTTP app hands back after a request when the connection may carry another:
//! [`ReusedHttpStream`], with the [`HttpPersistentSettings`] to carry into the next session.

use std::any::Any;

use crate::protocols::http::ServerSession;
use crate::protocols::Stream;

/// A connection handed back by [`HttpServerApp::process_new_http`](super::HttpServerApp::process_new_http)
/// to serve another request, with the settings the next session should start with.
///
/// ```
/// use pingora_core::apps::ReusedHttpStream;
/// use pingora_core::protocols::Stream;
///
/// let (pipe, _other_end) = tokio::io::duplex(64);
/// let reused = ReusedHttpStream::new(Box::new(pipe) as Stream, None);
/// let (_stream, settings) = reused.consume();
/// assert!(settings.is_none());
/// ```
#[derive(Debug)]
pub struct ReusedHttpStream {
    stream: Stream,
    persistent_settings: Option<HttpPersistentSettings>,
}

impl ReusedHttpStream {
    /// `stream`, to be served again; `persistent_settings` (if any) are applied to the next
    /// session on it.
    pub fn new(stream: Stream, persistent_settings: Option<HttpPersistentSettings>) -> Self {
        ReusedHttpStream {
            stream,
            persistent_settings,
        }
    }

    /// The stream and the settings for its next session.
    pub fn consume(self) -> (Stream, Option<HttpPersistentSettings>) {
        (self.stream, self.persistent_settings)
    }
}

/// Settings of a session that carry over to the next request on the same connection.
///
/// Today that is the keep-alive setting: the idle timeout a session was given with
/// [`ServerSession::set_keepalive`] also bounds the wait for the next request, and the next
/// session starts with it. An app may also park a value of its own here
/// ([`set_user_context`](Self::set_user_context)): the keep-alive loop hands it to the next
/// request's session, where [`ServerSession::take_persisted_context`] takes it (the proxy
/// passes it to `ProxyHttp::on_connection_reuse`).
///
/// ```
/// use pingora_core::apps::HttpPersistentSettings;
/// use pingora_core::protocols::http::ServerSession;
/// use tokio::io::AsyncWriteExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> pingora_core::Result<()> {
/// let (mut client, server) = tokio::io::duplex(4096);
/// client.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").await.unwrap();
/// let mut first = ServerSession::new_http1(Box::new(server));
/// assert!(first.read_request().await?);
/// first.set_keepalive(Some(30));
/// let mut settings = HttpPersistentSettings::for_session(&first);
/// assert_eq!(settings.keepalive_timeout(), Some(30));
///
/// settings.set_user_context(Box::new("seen before"));
/// let context = settings.take_user_context().unwrap();
/// assert_eq!(context.downcast_ref::<&str>(), Some(&"seen before"));
///
/// let (_client, server) = tokio::io::duplex(64);
/// let mut next = ServerSession::new_http1(Box::new(server));
/// settings.apply_to_session(&mut next);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Default)]
pub struct HttpPersistentSettings {
    keepalive_timeout: Option<u64>,
    user_context: Option<Box<dyn Any + Send + Sync>>,
}

impl HttpPersistentSettings {
    /// The settings of `session` worth carrying over: its keep-alive idle timeout.
    pub fn for_session(session: &ServerSession) -> Self {
        HttpPersistentSettings {
            keepalive_timeout: session.get_keepalive(),
            user_context: None,
        }
    }

    /// The keep-alive idle timeout in seconds (`Some(0)`: none), or `None` when keep-alive
    /// was off.
    pub fn keepalive_timeout(&self) -> Option<u64> {
        self.keepalive_timeout
    }

    /// Parks a value of the app's own, to be taken back by whoever reads these settings.
    pub fn set_user_context(&mut self, context: Box<dyn Any + Send + Sync>) {
        self.user_context = Some(context);
    }

    /// Takes the parked value, if any.
    pub fn take_user_context(&mut self) -> Option<Box<dyn Any + Send + Sync>> {
        self.user_context.take()
    }

    /// Gives `session` these settings (its keep-alive setting).
    pub fn apply_to_session(&self, session: &mut ServerSession) {
        session.set_keepalive(self.keepalive_timeout);
    }
}
