//! Two clusters behind one proxy: requests under `/api/` go round robin to one
//! `LoadBalancer`, everything else to another, each with its own health check.
//!
//! ```text
//! cargo run -p pingora-load-balancing --example multi_lb
//! curl 127.0.0.1:6189/api/users   # "api 1" / "api 2"
//! curl 127.0.0.1:6189/index.html  # "web 1" / "web 2"
//! ```
//!
//! The four backends run inside the same server on loopback ports; `LB_LISTEN` changes the
//! proxy's address.

use async_trait::async_trait;
use pingora_core::prelude::*;
use pingora_core::services::background::GenBackgroundService;
use pingora_load_balancing::prelude::*;
use pingora_proxy::{http_proxy_service, ProxyHttp, Session};
use std::sync::Arc;
use std::time::Duration;

mod common;

/// Routes by path prefix to one of two clusters.
struct Router {
    api: Arc<LoadBalancer<RoundRobin>>,
    web: Arc<LoadBalancer<RoundRobin>>,
}

#[async_trait]
impl ProxyHttp for Router {
    type CTX = ();
    fn new_ctx(&self) {}

    async fn upstream_peer(&self, session: &mut Session, _ctx: &mut ()) -> Result<Box<HttpPeer>> {
        let cluster = if session.req_header().uri.path().starts_with("/api/") {
            &self.api
        } else {
            &self.web
        };
        let upstream = cluster
            .select(b"", 256)
            .ok_or_else(|| Error::explain(HTTPStatus(502), "cluster has no healthy backend"))?;
        Ok(Box::new(HttpPeer::new(upstream, false, String::new())))
    }
}

/// Starts `count` named backends in `server`; builds a health-checked cluster over them.
fn cluster(
    server: &mut Server,
    name: &str,
    count: usize,
) -> GenBackgroundService<LoadBalancer<RoundRobin>> {
    let names: Vec<String> = (1..=count).map(|id| format!("{name} {id}")).collect();
    let (addrs, backends) = common::embedded_backends(&names);
    server.add_service(backends);
    println!("cluster {name}: {addrs:?}");
    let mut upstreams = LoadBalancer::try_from_iter(&addrs).expect("loopback addresses resolve");
    upstreams.set_health_check(TcpHealthCheck::new());
    upstreams.health_check_frequency = Some(Duration::from_secs(1));
    background_service(&format!("{name} health"), upstreams)
}

fn main() {
    // Errors (an upstream that failed, a request that could not be proxied) go to stderr;
    // RUST_LOG=info or RUST_LOG=debug shows more.
    env_logger::init();
    let mut server = Server::new(Some(Opt::parse_args())).expect("server configuration loads");
    server.bootstrap();

    let api = cluster(&mut server, "api", 2);
    let web = cluster(&mut server, "web", 2);
    let router = Router {
        api: api.task(),
        web: web.task(),
    };
    let mut proxy = http_proxy_service(&server.configuration, router);
    let listen = std::env::var("LB_LISTEN").unwrap_or_else(|_| "127.0.0.1:6189".to_string());
    proxy.add_tcp(&listen);

    server.add_service(api);
    server.add_service(web);
    server.add_service(proxy);
    server.run_forever();
}
