//! Rewriting a response body: the origin answers JSON `{"ip": "..."}` (`/ip`); the proxy
//! collects the body in `response_body_filter` (the body is small) and sends
//! `{"ip": "...", "proxied": true, "note": "rewritten by the proxy"}` instead. The original
//! `Content-Length` is removed in `response_filter`, so the new body goes out chunked.
//!
//! ```sh
//! cargo run -p pingora-proxy --example modify_response
//! curl -i http://127.0.0.1:6192/ip
//! ```
//!
//! `MODIFY_ADDR` sets the listening address.

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use pingora_core::apps::http_app::ServeHttp;
use pingora_core::prelude::*;
use pingora_core::protocols::http::ServerSession;
use pingora_core::services::listening::Service;
use pingora_http::ResponseHeader;
use pingora_proxy::{http_proxy_service, ProxyHttp, Session};
use std::time::Duration;

struct Rewrite {
    upstream: String,
}

/// The body so far, when it is JSON.
#[derive(Default)]
struct Json {
    is_json: bool,
    buffer: BytesMut,
}

/// Adds two fields before the closing brace of a JSON object (a real program would parse it
/// with a JSON library).
fn rewrite(json: &[u8]) -> Bytes {
    let text = String::from_utf8_lossy(json);
    let trimmed = text.trim_end();
    let Some(open) = trimmed.strip_suffix('}') else {
        return Bytes::copy_from_slice(json);
    };
    let separator = if open.trim_end().ends_with('{') {
        ""
    } else {
        ", "
    };
    Bytes::from(format!(
        "{open}{separator}\"proxied\": true, \"note\": \"rewritten by the proxy\"}}\n"
    ))
}

#[async_trait]
impl ProxyHttp for Rewrite {
    type CTX = Json;
    fn new_ctx(&self) -> Json {
        Json::default()
    }

    async fn upstream_peer(
        &self,
        _session: &mut Session,
        _ctx: &mut Json,
    ) -> Result<Box<HttpPeer>> {
        Ok(Box::new(HttpPeer::new(
            self.upstream.as_str(),
            false,
            String::new(),
        )))
    }

    async fn response_filter(
        &self,
        _session: &mut Session,
        upstream_response: &mut ResponseHeader,
        ctx: &mut Json,
    ) -> Result<()> {
        ctx.is_json = upstream_response
            .headers
            .get("Content-Type")
            .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
        if ctx.is_json {
            // The length changes: let the body go out chunked.
            upstream_response.remove_header("Content-Length");
        }
        Ok(())
    }

    fn response_body_filter(
        &self,
        _session: &mut Session,
        body: &mut Option<Bytes>,
        end_of_stream: bool,
        ctx: &mut Json,
    ) -> Result<Option<Duration>> {
        if !ctx.is_json {
            return Ok(None);
        }
        if let Some(piece) = body.take() {
            ctx.buffer.extend_from_slice(&piece);
        }
        if end_of_stream {
            *body = Some(rewrite(&ctx.buffer));
        }
        Ok(None)
    }
}

struct IpOrigin;

#[async_trait]
impl ServeHttp for IpOrigin {
    async fn response(&self, session: &mut ServerSession) -> http::Response<Vec<u8>> {
        let ip = session
            .client_addr()
            .and_then(|a| a.as_inet().map(|i| i.ip().to_string()))
            .unwrap_or_default();
        http::Response::builder()
            .header("Content-Type", "application/json")
            .body(format!("{{\"ip\": \"{ip}\"}}").into_bytes())
            .unwrap_or_default()
    }
}

fn main() {
    // Errors (an upstream that failed, a request that could not be proxied) go to stderr;
    // RUST_LOG=info or RUST_LOG=debug shows more.
    env_logger::init();
    let mut server = Server::new(Some(Opt::parse_args())).expect("server configuration");
    server.bootstrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port");
    let upstream = format!("127.0.0.1:{port}");
    let mut origin = Service::new("origin".to_string(), IpOrigin);
    origin.add_tcp(&upstream);
    server.add_service(origin);

    let listen = std::env::var("MODIFY_ADDR").unwrap_or_else(|_| "127.0.0.1:6192".to_string());
    let mut proxy = http_proxy_service(&server.configuration, Rewrite { upstream });
    proxy.add_tcp(&listen);
    server.add_service(proxy);
    println!("try: curl -i http://{listen}/ip");
    server.run_forever();
}

#[cfg(test)]
mod tests {
    use super::rewrite;

    #[test]
    fn fields_are_added_to_a_json_object() {
        assert_eq!(
            rewrite(br#"{"ip": "1.2.3.4"}"#),
            "{\"ip\": \"1.2.3.4\", \"proxied\": true, \"note\": \"rewritten by the proxy\"}\n"
        );
        assert_eq!(rewrite(b"not json"), "not json");
    }
}
