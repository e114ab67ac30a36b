//! Applications: what a listening service does with each accepted connection.

use async_trait::async_trait;
use std::sync::Arc;

use crate::protocols::Stream;
use crate::server::ShutdownWatch;

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
