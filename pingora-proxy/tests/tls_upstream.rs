//! A TLS upstream through the proxy (the `openssl` feature): `upstream_peer` returns a TLS
//! `HttpPeer` trusting a CA made at run time, nginx serves TLS with a certificate from that
//! CA, and curl talks plain HTTP to the proxy. The proxy code is the same as for plain
//! upstreams; the connector hands it a TLS stream, which is pooled like any other.
//!
//! Needs the `nginx` and `curl` binaries (Debian: `apt-get install -y nginx curl`).

#![cfg(feature = "openssl")]

mod common;
#[path = "../../pingora-core/tests/common/tls.rs"]
mod tls;

use async_trait::async_trait;
use common::nginx::Nginx;
use common::start_proxy;
use pingora_core::server::configuration::ServerConf;
use pingora_core::upstreams::peer::{CaType, HttpPeer};
use pingora_error::Result;
use pingora_proxy::{ProxyHttp, Session};
use std::net::SocketAddr;
use std::sync::Arc;
use tls::{as_files, TestPki};

/// Proxies everything to one TLS upstream named `localhost`.
struct ToTls {
    addr: SocketAddr,
    ca: Arc<CaType>,
}

#[async_trait]
impl ProxyHttp for ToTls {
    type CTX = ();
    fn new_ctx(&self) {}
    async fn upstream_peer(&self, _session: &mut Session, _ctx: &mut ()) -> Result<Box<HttpPeer>> {
        let mut peer = HttpPeer::new(self.addr, true, "localhost".to_string());
        peer.options.ca = Some(self.ca.clone());
        Ok(Box::new(peer))
    }
}

async fn curl(url: &str) -> String {
    let out = tokio::process::Command::new("curl")
        .args(["-sS", "--max-time", "10", url])
        .output()
        .await
        .expect("run curl");
    assert!(
        out.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("nginx answers text")
}

#[tokio::test]
async fn tls_upstream_serves_through_the_proxy_and_its_connection_is_reused() {
    let pki = TestPki::new();
    let files = pki.nginx_files();
    let nginx = Nginx::start_tls(
        "proxy-tls",
        &as_files(&files),
        "keepalive_requests 1000;",
        "ssl_certificate cert.pem;
        ssl_certificate_key key.pem;
        location = /count { return 200 \"tls $ssl_protocol $connection_requests\"; }",
    );
    let upstream = ToTls {
        addr: SocketAddr::from(([127, 0, 0, 1], nginx.port())),
        ca: pki.ca(),
    };
    let (proxy, _) = start_proxy(upstream, ServerConf::default()).await;
    let url = format!("http://{proxy}/count");
    let first = curl(&url).await;
    assert!(first.starts_with("tls TLSv1."), "{first}");
    assert!(first.ends_with(" 1"), "{first}");
    // A new downstream connection; the upstream one comes from the pool.
    let second = curl(&url).await;
    assert!(
        second.ends_with(" 2"),
        "reused upstream connection: {second}"
    );
}
