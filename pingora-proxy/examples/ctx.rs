//! Per-request state with `CTX`, next to state shared by all requests: every request counts
//! itself in a shared counter and remembers its number in its own `CTX`, which later phases
//! read (the response carries it as `X-Request-Number`).
//!
//! ```sh
//! cargo run -p pingora-proxy --example ctx
//! curl -i http://127.0.0.1:6190/    # X-Request-Number: 1, 2, 3, ...
//! ```
//!
//! Proxies to a small origin on a free loopback port; `CTX_ADDR` sets the listening address.

use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use pingora_core::apps::http_app::ServeHttp;
use pingora_core::prelude::*;
use pingora_core::protocols::http::ServerSession;
use pingora_core::services::listening::Service;
use pingora_http::ResponseHeader;
use pingora_proxy::{http_proxy_service, ProxyHttp, Session};

struct Counting {
    upstream: String,
    requests: AtomicUsize,
}

/// What one request remembers between phases.
struct RequestCtx {
    number: usize,
}

#[async_trait]
impl ProxyHttp for Counting {
    type CTX = RequestCtx;
    fn new_ctx(&self) -> RequestCtx {
        RequestCtx { number: 0 }
    }

    async fn request_filter(&self, _session: &mut Session, ctx: &mut RequestCtx) -> Result<bool> {
        ctx.number = self.requests.fetch_add(1, Ordering::Relaxed) + 1;
        Ok(false)
    }

    async fn upstream_peer(
        &self,
        _session: &mut Session,
        _ctx: &mut RequestCtx,
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
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        upstream_response.insert_header("X-Request-Number", ctx.number.to_string())
    }

    async fn logging(&self, session: &mut Session, _e: Option<&Error>, ctx: &mut RequestCtx) {
        println!(
            "request #{}: {}",
            ctx.number,
            self.request_summary(session, ctx)
        );
    }
}

struct Hello;

#[async_trait]
impl ServeHttp for Hello {
    async fn response(&self, _session: &mut ServerSession) -> http::Response<Vec<u8>> {
        http::Response::new(b"hello\n".to_vec())
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
    let mut origin = Service::new("origin".to_string(), Hello);
    origin.add_tcp(&upstream);
    server.add_service(origin);

    let listen = std::env::var("CTX_ADDR").unwrap_or_else(|_| "127.0.0.1:6190".to_string());
    let mut proxy = http_proxy_service(
        &server.configuration,
        Counting {
            upstream,
            requests: AtomicUsize::new(0),
        },
    );
    proxy.add_tcp(&listen);
    server.add_service(proxy);
    println!("try: curl -i http://{listen}/   (see X-Request-Number)");
    server.run_forever();
}
