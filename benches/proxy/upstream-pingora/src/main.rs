//! Baseline for `benches/proxy/run.sh`: the smallest reverse proxy that can be
//! written on the published `pingora` crate. Every request goes to one
//! upstream over plain HTTP/1.1, reusing pooled connections, with the header the
//! quick-start example adds (`X-Forwarded-By: quickstart`), so that every proxy
//! in the benchmark does the same work.
//!
//! Knobs (environment):
//! - `UPSTREAM`: backend `host:port` (required)
//! - `LISTEN`: address to listen on (default `127.0.0.1:6190`)
//! - `THREADS`: worker threads of the proxy service (default 1)
//! - `WORK_STEALING`: `0` for one single-threaded runtime per thread, else one work-stealing
//!   runtime (the server's `work_stealing` setting; default `1`)

use async_trait::async_trait;
use pingora::http::RequestHeader;
use pingora::prelude::*;
use pingora::server::configuration::ServerConf;

// The same global allocator as the quick-start example, so the proxies compare like with like.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Forwards every request to one fixed backend.
struct Forward {
    backend: std::net::SocketAddr,
}

#[async_trait]
impl ProxyHttp for Forward {
    type CTX = ();

    fn new_ctx(&self) -> Self::CTX {}

    async fn upstream_peer(&self, _session: &mut Session, _ctx: &mut ()) -> Result<Box<HttpPeer>> {
        Ok(Box::new(HttpPeer::new(self.backend, false, String::new())))
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

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

fn main() {
    let backend = match env_or("UPSTREAM", "").parse() {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("UPSTREAM must be a socket address such as 127.0.0.1:8000 ({e})");
            std::process::exit(2);
        }
    };
    let threads: usize = match env_or("THREADS", "1").parse() {
        Ok(n) if n > 0 => n,
        _ => {
            eprintln!("THREADS must be a positive integer");
            std::process::exit(2);
        }
    };
    let listen = env_or("LISTEN", "127.0.0.1:6190");

    let conf = ServerConf {
        work_stealing: env_or("WORK_STEALING", "1") != "0",
        ..ServerConf::default()
    };
    let mut server = Server::new_with_opt_and_conf(None, conf);
    server.bootstrap();

    let mut proxy = http_proxy_service(&server.configuration, Forward { backend });
    proxy.threads = Some(threads);
    proxy.add_tcp(&listen);
    server.add_service(proxy);
    server.run_forever();
}
