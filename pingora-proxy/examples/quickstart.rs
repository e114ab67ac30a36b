//! The quick start: a reverse proxy on 127.0.0.1:6188 in front of one upstream.
//!
//! ```sh
//! cargo run -p pingora-proxy --example quickstart                    # with its own origin
//! cargo run -p pingora-proxy --example quickstart -- 127.0.0.1:8080  # in front of yours
//! UPSTREAM=127.0.0.1:8080 PROXY_ADDR=0.0.0.0:6188 PROXY_THREADS=2 \
//!     cargo run --release -p pingora-proxy --example quickstart -- -c conf.yaml
//! ```
//!
//! The upstream is the first argument or `UPSTREAM`; without one, a small origin starts on a
//! free loopback port inside the same server. `PROXY_ADDR` sets the listening address,
//! `PROXY_THREADS` the proxy's worker threads (else `threads` of the `-c` config, default 1).
//! The other arguments are the server's (`-c conf.yaml`, `-d`, `-t`, `-u`). Errors (a failed
//! upstream, with its cause) are logged to stderr; `RUST_LOG=info` shows more.

use async_trait::async_trait;
use mimalloc::MiMalloc;
use pingora_core::apps::http_app::ServeHttp;
use pingora_core::prelude::*;
use pingora_core::protocols::http::ServerSession;
use pingora_core::services::listening::Service;
use pingora_http::RequestHeader;
use pingora_proxy::{http_proxy_service, ProxyHttp, Session};

// A proxy allocates a few dozen short-lived blocks per request (header maps, boxed phase
// futures), some over the 1 KiB that glibc's per-thread cache serves quickly. mimalloc serves
// them from per-thread pages: 5 % fewer instructions per request, 5-8 % less CPU per request
// in the proxy benchmark (see docs/proxy.md, "Performance"). Any global allocator works; this
// is a choice of the program, not of the library.
#[global_allocator]
static GLOBAL: MiMalloc = MiMalloc;

/// Sends every request to one upstream.
struct QuickStart {
    /// Resolved once at start-up, not per request.
    upstream: std::net::SocketAddr,
}

#[async_trait]
impl ProxyHttp for QuickStart {
    type CTX = ();
    fn new_ctx(&self) {}

    async fn upstream_peer(&self, _session: &mut Session, _ctx: &mut ()) -> Result<Box<HttpPeer>> {
        Ok(Box::new(HttpPeer::new(self.upstream, false, String::new())))
    }

    async fn upstream_request_filter(
        &self,
        _session: &mut Session,
        upstream_request: &mut RequestHeader,
        _ctx: &mut (),
    ) -> Result<()> {
        upstream_request.insert_header("X-Forwarded-By", "quickstart")
    }
}

/// The built-in origin: a short greeting naming the path.
struct Hello;

#[async_trait]
impl ServeHttp for Hello {
    async fn response(&self, session: &mut ServerSession) -> http::Response<Vec<u8>> {
        // The body (if any) is read and dropped.
        while let Ok(Some(_)) = session.read_request_body().await {}
        let body = format!(
            "hello from the origin, you asked for {}\n",
            session.req_header().uri
        );
        http::Response::builder()
            .header("Content-Type", "text/plain")
            .body(body.into_bytes())
            .unwrap_or_default()
    }
}

fn free_loopback_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port (the OS assigns one)")
}

fn main() {
    // Errors (an upstream that failed, a request that could not be proxied) go to stderr;
    // RUST_LOG=info or RUST_LOG=debug shows more.
    env_logger::init();
    let mut args: Vec<String> = std::env::args().collect();
    let positional = args.get(1).filter(|a| !a.starts_with('-')).cloned();
    if positional.is_some() {
        args.remove(1);
    }
    let upstream = positional.or_else(|| std::env::var("UPSTREAM").ok());
    let listen = std::env::var("PROXY_ADDR").unwrap_or_else(|_| "127.0.0.1:6188".to_string());

    let mut server = Server::new(Some(Opt::parse_from_args(args))).expect("server configuration");
    server.bootstrap();

    let upstream = match upstream {
        Some(upstream) => upstream,
        None => {
            let origin_addr = format!("127.0.0.1:{}", free_loopback_port());
            let mut origin = Service::new("origin".to_string(), Hello);
            origin.add_tcp(&origin_addr);
            server.add_service(origin);
            println!("no upstream given: built-in origin on http://{origin_addr}");
            origin_addr
        }
    };

    let resolved = std::net::ToSocketAddrs::to_socket_addrs(upstream.as_str())
        .ok()
        .and_then(|mut addrs| addrs.next())
        .unwrap_or_else(|| panic!("cannot resolve the upstream {upstream}"));
    let mut proxy = http_proxy_service(&server.configuration, QuickStart { upstream: resolved });
    proxy.add_tcp(&listen);
    if let Some(threads) = std::env::var("PROXY_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
    {
        proxy.threads = Some(threads);
    }
    server.add_service(proxy);

    println!("proxy on http://{listen} -> http://{upstream}");
    println!("try: curl -i http://{listen}/hello");
    server.run_forever();
}
