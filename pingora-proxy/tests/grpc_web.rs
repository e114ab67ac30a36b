//! End to end through the proxy over loopback with the gRPC-web bridge installed and switched
//! on in `early_request_filter`: raw-socket gRPC-web clients downstream; upstream the shared
//! in-process origin and a tiny gRPC-shaped origin of this file (an HTTP/1.1 answer with
//! `Content-Type: application/grpc+proto`, one message frame and `grpc-status` trailers).

mod common;

use std::net::SocketAddr;

use async_trait::async_trait;
use bytes::Bytes;
use common::Origin;
use pingora_core::modules::http::grpc_web::{GrpcWeb, GrpcWebBridge};
use pingora_core::modules::http::HttpModules;
use pingora_core::protocols::http::ServerSession;
use pingora_core::protocols::l4::stream::Stream as L4Stream;
use pingora_core::protocols::Stream;
use pingora_core::server::configuration::ServerConf;
use pingora_core::upstreams::peer::HttpPeer;
use pingora_error::Result;
use pingora_http::ResponseHeader;
use pingora_proxy::{ProxyHttp, Session};
use tokio::net::TcpListener;

/// One gRPC message frame: flag 0, length 2, `hi`.
const MESSAGE: &[u8] = b"\x00\x00\x00\x00\x02hi";

struct GrpcWebProxy {
    origin: SocketAddr,
    grpc_origin: SocketAddr,
}

#[async_trait]
impl ProxyHttp for GrpcWebProxy {
    type CTX = ();
    fn new_ctx(&self) {}

    fn init_downstream_modules(&self, modules: &mut HttpModules) {
        modules.add_module(Box::new(GrpcWeb));
    }

    async fn early_request_filter(&self, session: &mut Session, _ctx: &mut ()) -> Result<()> {
        session
            .downstream_modules_ctx
            .get_mut::<GrpcWebBridge>()
            .expect("installed in init_downstream_modules")
            .init();
        Ok(())
    }

    async fn upstream_peer(&self, session: &mut Session, _ctx: &mut ()) -> Result<Box<HttpPeer>> {
        let to = if session.req_header().uri.path().starts_with("/pkg.") {
            self.grpc_origin
        } else {
            self.origin
        };
        Ok(Box::new(HttpPeer::new(to, false, String::new())))
    }
}

/// An origin answering every request like a gRPC server over HTTP/1.1 would: the request
/// header echoed into `x-seen-content-type`, one message, then `grpc-status: 0` trailers.
async fn start_grpc_origin() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("bound address");
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let stream: Stream = Box::new(L4Stream::from(tcp));
                let mut session = ServerSession::new_http1(stream);
                if !matches!(session.read_request().await, Ok(true)) {
                    return;
                }
                let _ = grpc_answer(&mut session).await;
            });
        }
    });
    addr
}

async fn grpc_answer(session: &mut ServerSession) -> Result<()> {
    while session.read_request_body().await?.is_some() {}
    let seen = session
        .req_header()
        .headers
        .get("content-type")
        .cloned()
        .unwrap_or_else(|| http::HeaderValue::from_static("none"));
    let mut header = ResponseHeader::build(200, None)?;
    header.insert_header("Content-Type", "application/grpc+proto")?;
    header.insert_header("x-seen-content-type", seen)?;
    session.write_response_header(Box::new(header)).await?;
    session
        .write_response_body(Bytes::from_static(MESSAGE), false)
        .await?;
    let mut trailers = http::HeaderMap::new();
    trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
    trailers.insert("grpc-message", http::HeaderValue::from_static("fine"));
    session.write_response_trailers(&trailers).await
}

async fn setup() -> SocketAddr {
    let origin = Origin::start().await;
    let grpc_origin = start_grpc_origin().await;
    let inner = GrpcWebProxy {
        origin: origin.addr,
        grpc_origin,
    };
    common::start_proxy(inner, ServerConf::default()).await.0
}

use common::raw_exchange_bytes as raw_exchange;

/// A POST of one gRPC-web message to `path`, `Connection: close`.
fn grpc_web_post(path: &str, content_type: &str) -> Vec<u8> {
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: origin\r\nConnection: close\r\n\
         Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        MESSAGE.len()
    )
    .into_bytes();
    request.extend_from_slice(MESSAGE);
    request
}

/// Splits a raw HTTP/1.1 response into its head (as text) and its body, decoding chunked
/// framing; the third part is what came after the last chunk (the HTTP trailers, if any).
fn split_response(raw: &[u8]) -> (String, Vec<u8>, Vec<u8>) {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete head")
        + 4;
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut rest = &raw[end..];
    if !head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked\r\n")
    {
        return (head, rest.to_vec(), Vec::new());
    }
    let mut body = Vec::new();
    loop {
        let line_end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("a chunk size line");
        let size_text = std::str::from_utf8(&rest[..line_end]).expect("ascii size");
        let size = usize::from_str_radix(size_text.trim(), 16).expect("hex size");
        rest = &rest[line_end + 2..];
        if size == 0 {
            return (head, body, rest.to_vec());
        }
        body.extend_from_slice(&rest[..size]);
        assert_eq!(&rest[size..size + 2], b"\r\n", "chunk ends with CRLF");
        rest = &rest[size + 2..];
    }
}

/// The gRPC-web trailer frame for the `name:value` lines `payload`.
fn trailer_frame(payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![0x80];
    frame.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    frame.extend_from_slice(payload);
    frame
}

#[tokio::test]
async fn the_origin_sees_a_grpc_request_with_its_subtype_and_length() {
    let proxy = setup().await;
    let raw = raw_exchange(proxy, &grpc_web_post("/head", "application/grpc-web+proto")).await;
    let (head, body, _) = split_response(&raw);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let seen = String::from_utf8_lossy(&body).to_ascii_lowercase();
    assert!(
        seen.contains("content-type: application/grpc+proto\r\n"),
        "{seen}"
    );
    assert!(seen.contains("content-length: 7\r\n"), "{seen}");
    // The module sets `TE: trailers`; of the hop-by-hop headers, that one goes upstream
    // (gRPC needs it).
    assert!(
        seen.to_ascii_lowercase().contains("te: trailers\r\n"),
        "{seen}"
    );
}

#[tokio::test]
async fn response_trailers_reach_the_client_as_a_trailer_frame_in_the_body() {
    let proxy = setup().await;
    let raw = raw_exchange(
        proxy,
        &grpc_web_post("/trailers", "application/grpc-web+proto"),
    )
    .await;
    let (head, body, after_last_chunk) = split_response(&raw);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let mut expected = b"hello".to_vec();
    expected.extend_from_slice(&trailer_frame(b"x-checksum:abc\r\n"));
    assert_eq!(body, expected, "{}", String::from_utf8_lossy(&raw));
    // No HTTP trailers: the chunked body ends with an empty trailer section.
    assert_eq!(after_last_chunk, b"\r\n");
}

#[tokio::test]
async fn a_grpc_response_becomes_grpc_web_with_its_status_in_the_body() {
    let proxy = setup().await;
    let raw = raw_exchange(
        proxy,
        &grpc_web_post("/pkg.Echo/Say", "application/grpc-web+proto"),
    )
    .await;
    let (head, body, after_last_chunk) = split_response(&raw);
    let lower = head.to_ascii_lowercase();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        lower.contains("content-type: application/grpc-web+proto\r\n"),
        "{head}"
    );
    assert!(
        lower.contains("x-seen-content-type: application/grpc+proto\r\n"),
        "{head}"
    );
    assert!(!lower.contains("content-length"), "{head}");
    let mut expected = MESSAGE.to_vec();
    expected.extend_from_slice(&trailer_frame(b"grpc-status:0\r\ngrpc-message:fine\r\n"));
    assert_eq!(body, expected);
    assert_eq!(after_last_chunk, b"\r\n");
}

#[tokio::test]
async fn grpc_web_text_requests_pass_through_unchanged() {
    let proxy = setup().await;
    let raw = raw_exchange(
        proxy,
        &grpc_web_post("/pkg.Echo/Say", "application/grpc-web-text"),
    )
    .await;
    let (head, body, after_last_chunk) = split_response(&raw);
    let lower = head.to_ascii_lowercase();
    assert!(
        lower.contains("x-seen-content-type: application/grpc-web-text\r\n"),
        "{head}"
    );
    assert!(
        lower.contains("content-type: application/grpc+proto\r\n"),
        "{head}"
    );
    assert_eq!(body, MESSAGE);
    // Not bridged: the trailers go out as HTTP trailers.
    let trailers = String::from_utf8_lossy(&after_last_chunk).to_ascii_lowercase();
    assert!(trailers.contains("grpc-status: 0\r\n"), "{trailers}");
}
