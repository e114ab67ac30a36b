//! The quick start's load balancer: a proxy on 127.0.0.1:6188 that spreads requests round
//! robin over its backends, skipping the ones a TCP health check finds down.
//!
//! ```text
//! cargo run -p pingora-load-balancing --example load_balancer
//! curl 127.0.0.1:6188 -v        # answered by "backend 1", "backend 2", "backend 3" in turn
//! ```
//!
//! With no `LB_BACKENDS` set, three small HTTP backends start inside the same server on free
//! loopback ports, so the example works with nothing else running. Point it at your own with
//! `LB_BACKENDS=127.0.0.1:8001,127.0.0.1:8002`; `LB_LISTEN` changes the proxy's address.

use async_trait::async_trait;
use pingora_core::prelude::*;
use pingora_http::RequestHeader;
use pingora_load_balancing::prelude::*;
use pingora_proxy::{http_proxy_service, ProxyHttp, Session};
use std::sync::Arc;
use std::time::Duration;

pub mod common;

/// The proxy logic: pick a backend, send the request there with its `Host` header.
pub struct LB(pub Arc<LoadBalancer<RoundRobin>>);

/// The `Host` the backends are asked for.
pub const UPSTREAM_HOST: &str = "backend.local";

#[async_trait]
impl ProxyHttp for LB {
    type CTX = ();
    fn new_ctx(&self) {}

    async fn upstream_peer(&self, _session: &mut Session, _ctx: &mut ()) -> Result<Box<HttpPeer>> {
        // The key is ignored by round robin. A failed connection is retried (it is a
        // retryable error) and the retry lands here again, on the next backend.
        let upstream = self.0.select(b"", 256).ok_or_else(|| {
            Error::explain(HTTPStatus(502), "no healthy backend to send the request to")
        })?;
        let peer = HttpPeer::new(upstream, false, UPSTREAM_HOST.to_string());
        Ok(Box::new(peer))
    }

    async fn upstream_request_filter(
        &self,
        _session: &mut Session,
        upstream_request: &mut RequestHeader,
        _ctx: &mut (),
    ) -> Result<()> {
        upstream_request.insert_header("Host", UPSTREAM_HOST)
    }

    fn error_while_proxy(
        &self,
        peer: &HttpPeer,
        session: &mut Session,
        e: Box<Error>,
        _ctx: &mut (),
        client_reused: bool,
    ) -> Box<Error> {
        let mut e = e.more_context(format!("Peer: {peer}"));
        // A backend that dies mid-request (a deploy, a crash) should not cost the client its
        // answer: a GET or HEAD that got no response yet is safe to send to another backend.
        // Anything else keeps the default rule (retry only on a pooled connection the backend
        // had closed).
        let idempotent = matches!(
            session.req_header().method,
            pingora_http::Method::GET | pingora_http::Method::HEAD
        );
        if idempotent && session.response_written().is_none() {
            e.set_retry(true);
        } else {
            let truncated = session.as_ref().retry_buffer_truncated();
            e.retry.decide_reuse(client_reused && !truncated);
        }
        e
    }
}

fn main() {
    // Errors (an upstream that failed, a request that could not be proxied) go to stderr;
    // RUST_LOG=info or RUST_LOG=debug shows more.
    env_logger::init();
    let mut server = Server::new(Some(Opt::parse_args())).expect("server configuration loads");
    server.bootstrap();

    let backends: Vec<String> = match std::env::var("LB_BACKENDS") {
        Ok(list) => list.split(',').map(|s| s.trim().to_string()).collect(),
        Err(_) => {
            // Nothing given: run three backends in this process.
            let names: Vec<String> = (1..=3).map(|id| format!("backend {id}")).collect();
            let (addrs, backends) = common::embedded_backends(&names);
            server.add_service(backends);
            addrs
        }
    };

    let mut upstreams = LoadBalancer::try_from_iter(&backends).expect("backend addresses resolve");
    upstreams.set_health_check(TcpHealthCheck::new());
    upstreams.health_check_frequency = Some(Duration::from_secs(1));

    let background = background_service("health check", upstreams);
    let upstreams = background.task();

    let listen = std::env::var("LB_LISTEN").unwrap_or_else(|_| "127.0.0.1:6188".to_string());
    let mut lb = http_proxy_service(&server.configuration, LB(upstreams));
    lb.add_tcp(&listen);
    println!("load balancer on {listen}, backends {backends:?}");

    server.add_service(background);
    server.add_service(lb);
    server.run_forever();
}
