//! A small HTTP server built on `ServeHttp`: one response per request, keep-alive handled by
//! the framework.
//!
//! ```text
//! cargo run -p pingora-core --example http_server
//! curl -v http://127.0.0.1:6145/hello http://127.0.0.1:6145/again   # one connection, two requests
//! curl --data-binary 'some bytes' http://127.0.0.1:6145/echo           # the body comes back
//! curl -I http://127.0.0.1:6145/                                      # HEAD: headers only
//! ```
//!
//! `HTTP_ADDR` sets the address (default `127.0.0.1:6145`). Options as for any server: `-c`
//! config file, `-d` daemon, `-t` test the config. SIGTERM stops it gracefully (idle
//! keep-alive connections close at once), SIGINT at once.

use async_trait::async_trait;
use pingora_core::apps::http_app::{HttpServer, ServeHttp};
use pingora_core::apps::HttpServerOptions;
use pingora_core::prelude::*;
use pingora_core::protocols::http::ServerSession;
use pingora_core::services::listening::Service;

/// `POST /echo` returns the request body; anything else greets the path and the client.
struct Greeter;

#[async_trait]
impl ServeHttp for Greeter {
    async fn response(&self, session: &mut ServerSession) -> http::Response<Vec<u8>> {
        let request = session.req_header();
        if request.method == http::Method::POST && request.uri.path() == "/echo" {
            let mut body = Vec::new();
            loop {
                match session.read_request_body().await {
                    Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                    Ok(None) => break,
                    Err(_) => return status(400),
                }
            }
            return http::Response::new(body);
        }
        let client = session
            .client_addr()
            .map_or_else(|| "someone".to_string(), |a| a.to_string());
        let body = format!("hello {client}, you asked for {}\n", request.uri.path());
        http::Response::builder()
            .header(http::header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(body.into_bytes())
            .unwrap_or_else(|_| status(500))
    }
}

/// An empty response with `code`.
fn status(code: u16) -> http::Response<Vec<u8>> {
    let mut response = http::Response::new(Vec::new());
    *response.status_mut() = http::StatusCode::from_u16(code).unwrap_or_default();
    response
}

fn main() {
    let addr = std::env::var("HTTP_ADDR").unwrap_or_else(|_| "127.0.0.1:6145".to_string());
    let mut server = match Server::new(Some(Opt::parse_args())) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("cannot start: {e}");
            std::process::exit(1);
        }
    };
    server.bootstrap();

    let mut app = HttpServer::new_app(Greeter);
    let mut options = HttpServerOptions::default();
    options.keepalive_request_limit = Some(1000);
    app.server_options = Some(options);
    let mut service = Service::new("http".to_string(), app);
    service.add_tcp(&addr);
    server.add_service(service);

    println!("listening on http://{addr}; try:");
    println!("  curl -v http://{addr}/hello http://{addr}/again");
    println!("  curl --data-binary 'some bytes' http://{addr}/echo");
    println!("  curl -I http://{addr}/");
    server.run_forever();
}
