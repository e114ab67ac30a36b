//! Cost of case tracking, measured against the `http` crate alone doing the same work.
//!
//! Each group has a `http_only` baseline; read results as ratios to it.
//! Run: `cargo bench -p pingora-http --bench headers -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, Criterion};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use pingora_http::RequestHeader;

/// A typical browser request head: ten headers, all but two well-known and Title-Case.
const BROWSER: &[u8] = b"Host: www.example.com\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n\
Accept-Language: en-US,en;q=0.5\r\n\
Accept-Encoding: gzip, deflate, br\r\n\
Connection: keep-alive\r\n\
Cookie: session=abcdef0123456789; theme=dark\r\n\
Upgrade-Insecure-Requests: 1\r\n\
Sec-Fetch-Dest: document\r\n\
X-Request-ID: 6f1c2a9e-0c4b-4c1e-9d7a-3b2f0e8d1a55\r\n\r\n";

/// Header lines of `BROWSER` as (name, value) slices of one shared buffer, as an
/// HTTP/1 parser would hand them over.
fn parsed_lines(buffer: &Bytes) -> Vec<(Bytes, Bytes)> {
    let mut slots = [httparse::EMPTY_HEADER; 16];
    let parsed = httparse::parse_headers(buffer, &mut slots);
    let Ok(httparse::Status::Complete((_, headers))) = parsed else {
        panic!("benchmark input parses");
    };
    headers
        .iter()
        .map(|h| {
            (
                buffer.slice_ref(h.name.as_bytes()),
                buffer.slice_ref(h.value),
            )
        })
        .collect()
}

fn build_from_parser(c: &mut Criterion) {
    let buffer = Bytes::from_static(BROWSER);
    let lines = parsed_lines(&buffer);
    let mut group = c.benchmark_group("build_10_headers_from_parser");
    group.bench_function("http_only", |b| {
        b.iter(|| {
            // The same request head with `http` alone: method, URI and header map.
            let (mut parts, ()) = http::Request::new(()).into_parts();
            parts.method = Method::from_bytes(b"GET").unwrap();
            parts.uri = Uri::try_from(&b"/index.html"[..]).unwrap();
            parts.headers = HeaderMap::with_capacity(lines.len());
            for (name, value) in &lines {
                let name = HeaderName::from_bytes(name).unwrap();
                let value = HeaderValue::from_maybe_shared(value.clone()).unwrap();
                parts.headers.append(name, value);
            }
            black_box(parts)
        })
    });
    group.bench_function("request_header_with_case", |b| {
        b.iter(|| {
            let mut req = RequestHeader::build("GET", b"/index.html", Some(lines.len())).unwrap();
            for (name, value) in &lines {
                let value = HeaderValue::from_maybe_shared(value.clone()).unwrap();
                req.append_header(name.clone(), value).unwrap();
            }
            black_box(req)
        })
    });
    group.bench_function("request_header_no_case", |b| {
        b.iter(|| {
            let mut req =
                RequestHeader::build_no_case("GET", b"/index.html", Some(lines.len())).unwrap();
            for (name, value) in &lines {
                let value = HeaderValue::from_maybe_shared(value.clone()).unwrap();
                req.append_header(name.clone(), value).unwrap();
            }
            black_box(req)
        })
    });
    group.finish();
}

fn write_h1(c: &mut Criterion) {
    let buffer = Bytes::from_static(BROWSER);
    let lines = parsed_lines(&buffer);
    let mut req = RequestHeader::build("GET", b"/index.html", Some(lines.len())).unwrap();
    for (name, value) in &lines {
        let value = HeaderValue::from_maybe_shared(value.clone()).unwrap();
        req.append_header(name.clone(), value).unwrap();
    }
    // The same headers, every name lower-cased on the wire: each needs a stored spelling.
    let mut lower = RequestHeader::build("GET", b"/index.html", Some(lines.len())).unwrap();
    for (name, value) in &lines {
        let value = HeaderValue::from_maybe_shared(value.clone()).unwrap();
        lower
            .append_header(Bytes::from(name.to_ascii_lowercase()), value)
            .unwrap();
    }
    let mut out = BytesMut::with_capacity(4096);
    let mut group = c.benchmark_group("write_10_headers_h1");
    group.bench_function("http_only", |b| {
        b.iter(|| {
            out.clear();
            for (name, value) in req.headers.iter() {
                out.extend_from_slice(name.as_str().as_bytes());
                out.extend_from_slice(b": ");
                out.extend_from_slice(value.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            black_box(&out);
        })
    });
    group.bench_function("title_case_names", |b| {
        b.iter(|| {
            out.clear();
            req.header_to_h1_wire(&mut out);
            black_box(&out);
        })
    });
    group.bench_function("stored_spellings", |b| {
        b.iter(|| {
            out.clear();
            lower.header_to_h1_wire(&mut out);
            black_box(&out);
        })
    });
    group.finish();
}

criterion_group!(benches, build_from_parser, write_h1);
criterion_main!(benches);
