//! Per-connection cost of the HTTP/1 keep-alive loop (`ServeHttp` app → `HttpServerApp` →
//! `ServerApp`) next to a hand-written loop over the same `ServerSession` calls, both serving
//! 100 pipelined requests from an in-memory stream.
//!
//! `cargo bench -p pingora-core --bench http_keepalive -- --warm-up-time 1 --measurement-time 3`

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use async_trait::async_trait;
use bytes::{Buf, Bytes};
use criterion::{criterion_group, criterion_main, Criterion};
use pingora_core::apps::http_app::ServeHttp;
use pingora_core::apps::ServerApp;
use pingora_core::protocols::http::ServerSession;
use pingora_core::protocols::Stream;
use pingora_http::ResponseHeader;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

const REQUESTS: usize = 100;
const REQUEST: &[u8] =
    b"GET /item HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n";
const BODY: &[u8] = b"hello";

/// A connection that delivers `data` (in reads of at most 4 KiB, like a socket would) and
/// swallows writes.
#[derive(Debug)]
struct Pipeline(Bytes);

impl AsyncRead for Pipeline {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let n = self.0.len().min(buf.remaining()).min(4096);
        buf.put_slice(&self.0[..n]);
        self.0.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Pipeline {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

struct Hello;

#[async_trait]
impl ServeHttp for Hello {
    async fn response(&self, _session: &mut ServerSession) -> http::Response<Vec<u8>> {
        http::Response::new(BODY.to_vec())
    }
}

/// The same work by hand: one session per request, 200 with a 5-byte body, reuse.
async fn hand_loop(mut stream: Stream) -> usize {
    let mut served = 0;
    loop {
        let mut session = ServerSession::new_http1(stream);
        if !session.read_request().await.unwrap_or(false) {
            return served;
        }
        let mut header = ResponseHeader::build(200, None).unwrap();
        header.set_content_length(BODY.len()).unwrap();
        session
            .write_response_header(Box::new(header))
            .await
            .unwrap();
        session
            .write_response_body(Bytes::from_static(BODY), true)
            .await
            .unwrap();
        served += 1;
        match session.finish().await.unwrap() {
            Some(next) => stream = next,
            None => return served,
        }
    }
}

fn keepalive(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let pipeline = Bytes::from(REQUEST.repeat(REQUESTS));
    let app = Arc::new(Hello);
    let (_keep_sender, shutdown) = tokio::sync::watch::channel(false);

    let mut group = c.benchmark_group("keepalive_100_pipelined_requests");
    group.bench_function("hand_written_session_loop", |b| {
        b.iter(|| {
            let stream: Stream = Box::new(Pipeline(pipeline.clone()));
            assert_eq!(rt.block_on(hand_loop(stream)), REQUESTS);
        })
    });
    group.bench_function("serve_http_keepalive_loop", |b| {
        b.iter(|| {
            let stream: Stream = Box::new(Pipeline(pipeline.clone()));
            assert!(rt.block_on(app.process_new(stream, &shutdown)).is_none());
        })
    });
    group.finish();
}

criterion_group!(benches, keepalive);
criterion_main!(benches);
