//! TLS health checks (the `openssl` feature) against a real nginx serving TLS on a loopback
//! port, with certificates made at run time: a TLS backend whose certificate verifies is
//! healthy; a plain-HTTP backend, or one whose certificate does not verify, is not.
//!
//! Needs the `nginx` binary (Debian: `apt-get install -y nginx`), or `NGINX=/path`.

#![cfg(feature = "openssl")]

// The same helpers pingora-core's tests use, compiled from one copy.
#[path = "../../pingora-core/tests/common/net.rs"]
mod net;
#[path = "../../pingora-core/tests/common/nginx.rs"]
mod nginx;
#[path = "../../pingora-core/tests/common/temp_dir.rs"]
mod temp_dir;
#[path = "../../pingora-core/tests/common/tls.rs"]
mod tls;

use nginx::Nginx;
use pingora_error::ErrorType;
use pingora_load_balancing::health_check::{HealthCheck, HttpHealthCheck, TcpHealthCheck};
use pingora_load_balancing::Backend;
use tls::{as_files, TestPki};

fn tls_nginx(pki: &TestPki) -> Nginx {
    let files = pki.nginx_files();
    Nginx::start_tls(
        "lb-tls",
        &as_files(&files),
        "",
        "ssl_certificate cert.pem;
        ssl_certificate_key key.pem;
        location / { return 200 healthy; }",
    )
}

fn plain_nginx() -> Nginx {
    Nginx::start("lb-plain", &[], "", "location / { return 200 plain; }")
}

fn backend(nginx: &Nginx) -> Backend {
    Backend::new(&format!("127.0.0.1:{}", nginx.port())).unwrap()
}

#[tokio::test]
async fn tcp_tls_check_passes_a_verified_backend_and_fails_plain_or_untrusted_ones() {
    let pki = TestPki::new();
    let tls = tls_nginx(&pki);
    let plain = plain_nginx();

    let mut check = TcpHealthCheck::new_tls("localhost");
    check.peer_template.options.ca = Some(pki.ca());
    check.check(&backend(&tls)).await.unwrap();

    let e = check.check(&backend(&plain)).await.unwrap_err();
    assert_eq!(e.etype(), &ErrorType::TLSHandshakeFailure, "{e}");

    let untrusting = TcpHealthCheck::new_tls("localhost");
    let e = untrusting.check(&backend(&tls)).await.unwrap_err();
    assert_eq!(e.etype(), &ErrorType::InvalidCert, "{e}");
}

#[tokio::test]
async fn http_tls_check_passes_a_verified_backend_and_fails_plain_or_untrusted_ones() {
    let pki = TestPki::new();
    let tls = tls_nginx(&pki);
    let plain = plain_nginx();

    let mut check = HttpHealthCheck::new("localhost", true);
    check.peer_template.options.ca = Some(pki.ca());
    check.check(&backend(&tls)).await.unwrap();
    assert!(check.check(&backend(&plain)).await.is_err());

    let mut wrong_name = HttpHealthCheck::new("other.example", true);
    wrong_name.peer_template.options.ca = Some(pki.ca());
    let e = wrong_name.check(&backend(&tls)).await.unwrap_err();
    assert_eq!(e.etype(), &ErrorType::InvalidCert, "{e}");

    let untrusting = HttpHealthCheck::new("localhost", true);
    let e = untrusting.check(&backend(&tls)).await.unwrap_err();
    assert_eq!(e.etype(), &ErrorType::InvalidCert, "{e}");
}
