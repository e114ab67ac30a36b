//! A gateway: routes by path (`/api/...` and everything else) to two upstreams and refuses
//! requests to `/api` without the right `Authorization` header with a 403 from
//! `request_filter`, before any upstream is contacted.
//!
//! ```sh
//! cargo run -p pingora-proxy --example gateway
//! curl -i http://127.0.0.1:6191/api/users                          # 403
//! curl -i -H 'Authorization: password' http://127.0.0.1:6191/api/users
//! curl -i http://127.0.0.1:6191/                                   # the site upstream
//! ```
//!
//! Two small origins start on free loopback ports; `GATEWAY_ADDR` sets the listening address.

use async_trait::async_trait;
use pingora_core::apps::http_app::ServeHttp;
use pingora_core::prelude::*;
use pingora_core::protocols::http::ServerSession;
use pingora_core::services::listening::Service;
use pingora_http::{RequestHeader, ResponseHeader};
use pingora_proxy::{http_proxy_service, ProxyHttp, Session};

struct Gateway {
    api: String,
    site: String,
}

fn is_api(session: &Session) -> bool {
    session.req_header().uri.path().starts_with("/api")
}

#[async_trait]
impl ProxyHttp for Gateway {
    type CTX = ();
    fn new_ctx(&self) {}

    async fn request_filter(&self, session: &mut Session, _ctx: &mut ()) -> Result<bool> {
        let authorized = session
            .req_header()
            .headers
            .get("Authorization")
            .is_some_and(|v| v.as_bytes() == b"password");
        if is_api(session) && !authorized {
            session.respond_error(403).await?;
            return Ok(true); // answered: no upstream
        }
        Ok(false)
    }

    async fn upstream_peer(&self, session: &mut Session, _ctx: &mut ()) -> Result<Box<HttpPeer>> {
        let addr = if is_api(session) {
            &self.api
        } else {
            &self.site
        };
        Ok(Box::new(HttpPeer::new(addr.as_str(), false, String::new())))
    }

    async fn upstream_request_filter(
        &self,
        _session: &mut Session,
        upstream_request: &mut RequestHeader,
        _ctx: &mut (),
    ) -> Result<()> {
        upstream_request.insert_header("Host", "backend.internal")
    }

    async fn response_filter(
        &self,
        _session: &mut Session,
        upstream_response: &mut ResponseHeader,
        _ctx: &mut (),
    ) -> Result<()> {
        upstream_response.insert_header("Server", "MyGateway")?;
        upstream_response.remove_header("X-Internal");
        Ok(())
    }

    async fn logging(&self, session: &mut Session, e: Option<&Error>, _ctx: &mut ()) {
        let status = session.response_written().map_or(0, |r| r.status.as_u16());
        println!(
            "{} -> {status}{}",
            self.request_summary(session, &()),
            e.map(|e| format!(" ({e})")).unwrap_or_default()
        );
    }
}

/// A named origin.
struct Named(&'static str);

#[async_trait]
impl ServeHttp for Named {
    async fn response(&self, session: &mut ServerSession) -> http::Response<Vec<u8>> {
        while let Ok(Some(_)) = session.read_request_body().await {}
        let body = format!("{} answered {}\n", self.0, session.req_header().uri);
        http::Response::builder()
            .header("X-Internal", "hidden by the gateway")
            .body(body.into_bytes())
            .unwrap_or_default()
    }
}

fn origin(server: &mut Server, name: &'static str) -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port");
    let addr = format!("127.0.0.1:{port}");
    let mut service = Service::new(name.to_string(), Named(name));
    service.add_tcp(&addr);
    server.add_service(service);
    addr
}

fn main() {
    // Errors (an upstream that failed, a request that could not be proxied) go to stderr;
    // RUST_LOG=info or RUST_LOG=debug shows more.
    env_logger::init();
    let mut server = Server::new(Some(Opt::parse_args())).expect("server configuration");
    server.bootstrap();
    let api = origin(&mut server, "api");
    let site = origin(&mut server, "site");
    let listen = std::env::var("GATEWAY_ADDR").unwrap_or_else(|_| "127.0.0.1:6191".to_string());
    let mut gateway = http_proxy_service(&server.configuration, Gateway { api, site });
    gateway.add_tcp(&listen);
    server.add_service(gateway);
    println!("gateway on http://{listen}");
    println!("try: curl -i http://{listen}/api/users   (403)");
    println!("     curl -i -H 'Authorization: password' http://{listen}/api/users");
    println!("     curl -i http://{listen}/");
    server.run_forever();
}
