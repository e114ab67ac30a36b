//! The HTTP/1 keep-alive loop: what makes every [`HttpServerApp`] a [`ServerApp`].

use async_trait::async_trait;
use bytes::BytesMut;
use std::future::Future;
use std::pin::Pin;
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
        // One wait for shutdown for the whole connection: made afresh for every request, it
        // would register with (and leave) the watch's waiter list each time.
        let mut stop_signal = shutdown.clone();
        if *stop_signal.borrow_and_update() {
            return None;
        }
        let stopped = stop_signal.wait_for(|stopping| *stopping);
        tokio::pin!(stopped);
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
                wait_for_request(&mut io, idle_timeout, stopped.as_mut()).await?
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
            let reused = self.process_new_http_inline(session, shutdown).await?;
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

/// Waits for the first bytes of the next request, or for `stopped` (the server shutting
/// down, or gone) or the idle timeout: `None` then, and the connection is closed.
async fn wait_for_request<R>(
    io: &mut Stream,
    idle_timeout: Option<Duration>,
    stopped: Pin<&mut impl Future<Output = R>>,
) -> Option<BytesMut> {
    let mut buf = read_buffer::take(READ_BUFFER);
    let read = async {
        let read = io.read_buf(&mut buf);
        match idle_timeout {
            Some(limit) => pingora_timeout::timeout(limit, read).await.ok()?.ok(),
            None => read.await.ok(),
        }
    };
    // The read first: a request already waiting is served (the loop then closes the
    // connection after it when the server is stopping) and the shutdown wait is not polled.
    let read = tokio::select! {
        biased;
        read = read => read,
        _ = stopped => None,
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

    const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";

    /// A connection served by a [`NoContent`] app, its first request answered (the status line
    /// read): the shutdown sender, the client's end and the serving task.
    async fn first_request_served(
        app: &Arc<NoContent>,
    ) -> (
        tokio::sync::watch::Sender<bool>,
        tokio::io::DuplexStream,
        tokio::task::JoinHandle<Option<Stream>>,
    ) {
        let (sender, shutdown) = tokio::sync::watch::channel(false);
        let (mut client, server) = tokio::io::duplex(4096);
        client.write_all(REQUEST).await.unwrap();
        let serving = tokio::spawn({
            let app = app.clone();
            async move { app.process_new(Box::new(server), &shutdown).await }
        });
        let mut answer = [0u8; 12];
        tokio::io::AsyncReadExt::read_exact(&mut client, &mut answer)
            .await
            .unwrap();
        assert_eq!(&answer, b"HTTP/1.1 204");
        (sender, client, serving)
    }

    #[tokio::test]
    async fn shutdown_closes_a_connection_waiting_for_its_next_request() {
        let app = Arc::new(NoContent(Default::default()));
        // the first answer arrives, then the loop idles on the kept-alive connection
        let (sender, _client, serving) = first_request_served(&app).await;
        sender.send(true).unwrap();
        let ended = pingora_timeout::timeout(Duration::from_secs(5), serving).await;
        assert!(matches!(ended, Ok(Ok(None))), "the loop ended at shutdown");
        assert_eq!(app.0.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_request_already_waiting_at_shutdown_is_answered_then_the_connection_closes() {
        let app = Arc::new(NoContent(Default::default()));
        let (sender, mut client, serving) = first_request_served(&app).await;
        // Shutdown and the next request arrive together (this runtime has one thread, so the
        // loop sees both at once): the request is served, with `Connection: close`.
        sender.send(true).unwrap();
        client.write_all(REQUEST).await.unwrap();
        let mut rest = Vec::new();
        let read = tokio::io::AsyncReadExt::read_to_end(&mut client, &mut rest);
        pingora_timeout::timeout(Duration::from_secs(5), read)
            .await
            .expect("the connection closes")
            .unwrap();
        let rest = String::from_utf8_lossy(&rest).to_ascii_lowercase();
        assert_eq!(rest.matches("http/1.1 204").count(), 1, "{rest}");
        assert!(rest.contains("connection: close"), "{rest}");
        let ended = pingora_timeout::timeout(Duration::from_secs(5), serving).await;
        assert!(matches!(ended, Ok(Ok(None))));
        assert_eq!(app.0.load(std::sync::atomic::Ordering::SeqCst), 2);
    }
}
