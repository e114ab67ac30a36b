//! Backends the examples run inside their own server, so that they work with nothing else
//! running.

use async_trait::async_trait;
use pingora_core::apps::http_app::ServeHttp;
use pingora_core::apps::ServerApp;
use pingora_core::protocols::http::ServerSession;
use pingora_core::protocols::l4::stream::Stream as L4Stream;
use pingora_core::server::ShutdownWatch;
use pingora_core::services::background::{
    background_service, BackgroundService, GenBackgroundService,
};
use std::sync::Arc;

/// A tiny HTTP backend that names itself in every answer.
pub struct NamedBackend(pub String);

#[async_trait]
impl ServeHttp for NamedBackend {
    async fn response(&self, _session: &mut ServerSession) -> http::Response<Vec<u8>> {
        let body = format!("{}\n", self.0).into_bytes();
        http::Response::builder()
            .status(200)
            .header("Content-Length", body.len())
            .body(body)
            .unwrap_or_default()
    }
}

/// Named backends on sockets bound before the server starts, so that the first health
/// check already finds them listening.
pub struct EmbeddedBackends {
    backends: Vec<(std::net::TcpListener, Arc<NamedBackend>)>,
}

/// Binds one loopback port per name; returns the addresses and the service serving them.
pub fn embedded_backends(
    names: &[String],
) -> (Vec<String>, GenBackgroundService<EmbeddedBackends>) {
    let mut addrs = Vec::new();
    let mut backends = Vec::new();
    for name in names {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().expect("bound address").to_string();
        println!("embedded {name} on {addr}");
        addrs.push(addr);
        backends.push((listener, Arc::new(NamedBackend(name.clone()))));
    }
    (
        addrs,
        background_service("backends", EmbeddedBackends { backends }),
    )
}

#[async_trait]
impl BackgroundService for EmbeddedBackends {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        for (listener, app) in &self.backends {
            let listener = listener
                .try_clone()
                .and_then(|l| l.set_nonblocking(true).map(|_| l))
                .and_then(tokio::net::TcpListener::from_std);
            let listener = match listener {
                Ok(listener) => listener,
                Err(e) => {
                    eprintln!("backend {} cannot serve: {e}", app.0);
                    continue;
                }
            };
            let app = Arc::clone(app);
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                while let Ok((tcp, _)) = listener.accept().await {
                    let (app, shutdown) = (Arc::clone(&app), shutdown.clone());
                    tokio::spawn(async move {
                        app.process_new(Box::new(L4Stream::from(tcp)), &shutdown)
                            .await;
                    });
                }
            });
        }
        let _ = shutdown.changed().await;
    }
}
