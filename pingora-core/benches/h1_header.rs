//! Parsing + serialising a typical request head (10 headers) through the server session, next
//! to `httparse` alone on the same bytes as the floor.
//!
//! The middle entry builds pingora-http's `RequestHeader` straight from httparse's slices: the
//! cost of the header type, which any session pays.
//!
//! `cargo bench --bench h1_header -- --warm-up-time 1 --measurement-time 3`

use std::future::Future;
use std::hint::black_box;
use std::pin::{pin, Pin};
use std::task::{Context, Poll, Waker};

use criterion::{criterion_group, criterion_main, Criterion};
use http::HeaderValue;
use pingora_core::protocols::http::v1::server::HttpSession;
use pingora_http::RequestHeader;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

const REQUEST: &[u8] = b"GET /api/v1/items?id=42&sort=desc HTTP/1.1\r\n\
Host: www.example.com\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n\
Accept-Language: en-US,en;q=0.5\r\n\
Accept-Encoding: gzip, deflate, br\r\n\
Connection: keep-alive\r\n\
Cookie: session=0123456789abcdef; theme=dark\r\n\
Upgrade-Insecure-Requests: 1\r\n\
X-Request-ID: 6f1c2a9e-8d7b-4e5f-9a0b-1c2d3e4f5a6b\r\n\
Cache-Control: max-age=0\r\n\r\n";

/// A connection that delivers one request head and swallows writes.
#[derive(Debug)]
struct OneRequest(&'static [u8]);

impl AsyncRead for OneRequest {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let n = self.0.len().min(buf.remaining());
        buf.put_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for OneRequest {
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

/// Runs a future that never waits (the in-memory connection is always ready).
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the in-memory connection never blocks"),
    }
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("request_head_10_headers");
    group.bench_function("httparse_only", |b| {
        b.iter(|| {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut req = httparse::Request::new(&mut headers);
            black_box(req.parse(black_box(REQUEST)).unwrap());
        })
    });
    let mut wire = Vec::with_capacity(1024);
    group.bench_function("session_parse_and_serialise", |b| {
        b.iter(|| {
            let mut session = HttpSession::new(Box::new(OneRequest(REQUEST)));
            ready(session.read_request()).unwrap();
            wire.clear();
            let req = session.req_header();
            req.request_line_to_h1_wire(&mut wire);
            req.header_to_h1_wire(&mut wire);
            black_box(&wire);
        })
    });
    group.bench_function("session_parse_only", |b| {
        b.iter(|| {
            let mut session = HttpSession::new(Box::new(OneRequest(REQUEST)));
            ready(session.read_request()).unwrap();
            black_box(&session);
        })
    });
    // httparse plus building pingora-http's RequestHeader from the parsed slices: the cost of
    // the header type itself, which the session cannot avoid.
    group.bench_function("httparse_and_request_header_build", |b| {
        let wire = bytes::Bytes::from_static(REQUEST);
        let slice = |part: &[u8]| {
            let start = part.as_ptr() as usize - REQUEST.as_ptr() as usize;
            wire.slice(start..start + part.len())
        };
        b.iter(|| {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut req = httparse::Request::new(&mut headers);
            req.parse(black_box(REQUEST)).unwrap();
            let (method, path) = (req.method.unwrap(), req.path.unwrap());
            let mut header = RequestHeader::build(method, path.as_bytes(), Some(16)).unwrap();
            for field in req.headers.iter() {
                let value = HeaderValue::from_maybe_shared(slice(field.value)).unwrap();
                header
                    .append_header(slice(field.name.as_bytes()), value)
                    .unwrap();
            }
            black_box(header);
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
