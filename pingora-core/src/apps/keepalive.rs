//! The HTTP/1 keep-alive loop: what makes every [`HttpServerApp`] a [`ServerApp`].

use async_trait::async_trait;
use bytes::BytesMut;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncReadExt;

use super::{HttpPersistentSettings, HttpServerApp, ServerApp};
use crate::protocols::http::v1::server::HttpSession;
use crate::protocols::http::v1::{read_buffer, H1Settings};
use crate::protocols::http::{ReplayStream, ServerSession};
use crate::protocols::Stream;
use crate::server::ShutdownWatch;

/// How long a new connection may stay silent before its first request.
const FIRST_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Capacity of the read buffer a waiting connection reads its next request into.
const READ_BUFFER: usize = 4 * 1024;

#[async_trait]
impl<T: HttpServerApp + Send + Sync + 'static> ServerApp for T {
    /// Serves HTTP/1 requests on `stream` until the app or the client ends the connection,
    /// it idles out, the request limit is reached, or the server shuts down. Always returns
    /// `None`: the loop itself serves every request of the connection.
    async fn process_new(
        self: &Arc<Self>,
        mut stream: Stream,
        shutdown: &ShutdownWatch,
    ) -> Option<Stream> {
        let request_limit = self
            .server_options()
            .and_then(|options| options.keepalive_request_limit);
        let mut persistent: Option<HttpPersistentSettings> = None;
        let mut served: u32 = 0;
        loop {
            // Pipelined bytes come back in a replay layer; take them out so that layers never
            // nest, however many requests the connection carries.
            let (mut io, pending) = ReplayStream::unwrap_stream(stream);
            let buf = if pending.is_empty() {
                let idle_timeout = if served == 0 {
                    Some(FIRST_REQUEST_TIMEOUT)
                } else {
                    next_request_timeout(persistent.as_ref())
                };
                wait_for_request(&mut io, idle_timeout, shutdown).await?
            } else {
                BytesMut::from(&pending[..])
            };
            let session = HttpSession::with_read_buffer(io, H1Settings::default(), buf);
            let mut session = ServerSession::H1(session);
            if let Some(settings) = persistent.as_mut() {
                settings.apply_to_session(&mut session);
                if let Some(context) = settings.take_user_context() {
                    session.set_persisted_context(context);
                }
            }
            served = served.saturating_add(1);
            let last_request = request_limit.is_some_and(|limit| served >= limit);
            if last_request || *shutdown.borrow() {
                session.set_keepalive(None);
            }
            let reused = self.process_new_http(session, shutdown).await?;
            if last_request || *shutdown.borrow() {
                return None;
            }
            (stream, persistent) = reused.consume();
        }
    }

    async fn cleanup(&self) {
        self.http_cleanup().await
    }
}

/// The wait allowed for the request after one that left `settings`: its keep-alive timeout
/// in seconds, none for `Some(0)` or when the app left nothing.
fn next_request_timeout(settings: Option<&HttpPersistentSettings>) -> Option<Duration> {
    match settings.and_then(HttpPersistentSettings::keepalive_timeout) {
        Some(0) | None => None,
        Some(seconds) => Some(Duration::from_secs(seconds)),
    }
}

/// Waits for the first bytes of the next request. `None` (close the connection) when the
/// client closes or errs, `idle_timeout` passes, or the server is shutting down.
async fn wait_for_request(
    io: &mut Stream,
    idle_timeout: Option<Duration>,
    shutdown: &ShutdownWatch,
) -> Option<BytesMut> {
    let mut shutdown = shutdown.clone();
    if *shutdown.borrow_and_update() {
        return None;
    }
    let mut buf = read_buffer::take(READ_BUFFER);
    let read = async {
        let read = io.read_buf(&mut buf);
        match idle_timeout {
            Some(limit) => pingora_timeout::timeout(limit, read).await.ok()?.ok(),
            None => read.await.ok(),
        }
    };
    let read = tokio::select! {
        biased;
        // An error means the server is gone: close as for a shutdown.
        _ = shutdown.wait_for(|stopping| *stopping) => None,
        read = read => read,
    };
    match read {
        Some(n) if n > 0 => Some(buf),
        _ => {
            read_buffer::give_back(buf);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apps::ReusedHttpStream;
    use tokio::io::AsyncWriteExt;

    #[test]
    fn next_request_waits_for_the_keepalive_timeout_or_without_limit() {
        assert_eq!(next_request_timeout(None), None);
        assert_eq!(
            next_request_timeout(Some(&HttpPersistentSettings::default())),
            None
        );
    }

    /// Answers 204 and counts the sessions it saw.
    struct NoContent(std::sync::atomic::AtomicUsize);

    #[async_trait]
    impl HttpServerApp for NoContent {
        async fn process_new_http(
            self: &Arc<Self>,
            mut session: ServerSession,
            _shutdown: &ShutdownWatch,
        ) -> Option<ReusedHttpStream> {
            session.read_request().await.ok()?;
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let header = pingora_http::ResponseHeader::build(204, None).ok()?;
            session.write_response_header(Box::new(header)).await.ok()?;
            let stream = session.finish().await.ok()??;
            Some(ReusedHttpStream::new(stream, None))
        }
    }

    #[tokio::test]
    async fn shutdown_closes_a_connection_waiting_for_its_next_request() {
        let app = Arc::new(NoContent(Default::default()));
        let (sender, shutdown) = tokio::sync::watch::channel(false);
        let (mut client, server) = tokio::io::duplex(4096);
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            .await
            .unwrap();
        let serving = tokio::spawn({
            let app = app.clone();
            async move { app.process_new(Box::new(server), &shutdown).await }
        });
        // the first answer arrives, then the loop idles on the kept-alive connection
        let mut answer = [0u8; 12];
        tokio::io::AsyncReadExt::read_exact(&mut client, &mut answer)
            .await
            .unwrap();
        assert_eq!(&answer, b"HTTP/1.1 204");
        sender.send(true).unwrap();
        let ended = pingora_timeout::timeout(Duration::from_secs(5), serving).await;
        assert!(matches!(ended, Ok(Ok(None))), "the loop ended at shutdown");
        assert_eq!(app.0.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
