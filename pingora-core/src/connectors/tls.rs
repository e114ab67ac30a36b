//! The TLS step of a connect (OpenSSL): one client context per
//! [`TransportConnector`](super::TransportConnector), configured per peer for each connection
//! (server name, verification, trust anchors, client certificate, ALPN), then the handshake.

use crate::protocols::tls::client::handshake;
use crate::protocols::Stream;
use crate::upstreams::peer::Peer;
use pingora_error::{Error, ErrorType, OrErr, Result};
use pingora_openssl::ssl::{Ssl, SslConnector, SslMethod, SslVerifyMode};
use pingora_openssl::x509::store::X509StoreBuilder;
use pingora_openssl::x509::verify::X509CheckFlags;
use std::io::Write;
use std::net::IpAddr;
use std::sync::OnceLock;

/// Builds the shared client context on first use and runs handshakes with it.
pub(crate) struct TlsConnector {
    ca_file: Option<String>,
    keylog: bool,
    /// The context, or why it could not be built; built once, on the first TLS connect.
    context: OnceLock<std::result::Result<SslConnector, String>>,
}

impl TlsConnector {
    /// A connector trusting the system store plus `ca_file`, logging session keys to the file
    /// named by `SSLKEYLOGFILE` when `keylog` is set.
    pub(crate) fn new(ca_file: Option<String>, keylog: bool) -> Self {
        TlsConnector {
            ca_file,
            keylog,
            context: OnceLock::new(),
        }
    }

    fn context(&self) -> Result<&SslConnector> {
        self.context
            .get_or_init(|| build_context(self.ca_file.as_deref(), self.keylog))
            .as_ref()
            .map_err(|why| Error::explain(ErrorType::InternalError, why.clone()))
    }

    /// Runs the TLS handshake with `peer` over `stream`.
    pub(crate) async fn connect<P: Peer>(&self, stream: Stream, peer: &P) -> Result<Stream> {
        let ssl = self
            .context()
            .and_then(|context| configure(context, peer))
            .map_err(|e| e.more_context(format!("preparing TLS for {peer}")))?;
        match handshake(ssl, stream, peer.verify_cert()).await {
            Ok(tls) => Ok(Box::new(tls)),
            Err(mut e) => {
                if e.etype() == &ErrorType::TLSHandshakeFailure {
                    // Nothing of a request was sent; another attempt may succeed.
                    e.set_retry(true);
                }
                Err(e.more_context(format!("TLS handshake with {peer}")))
            }
        }
    }
}

fn build_context(ca_file: Option<&str>, keylog: bool) -> std::result::Result<SslConnector, String> {
    // The builder starts from OpenSSL's defaults: the system trust store, peer verification on.
    let mut builder = SslConnector::builder(SslMethod::tls_client())
        .map_err(|e| format!("cannot create the TLS client context: {e}"))?;
    if let Some(path) = ca_file {
        builder
            .set_ca_file(path)
            .map_err(|e| format!("cannot load the CA file {path}: {e}"))?;
    }
    if keylog {
        match std::env::var_os("SSLKEYLOGFILE") {
            Some(path) => builder.set_keylog_callback(move |_, line| {
                let written = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .and_then(|mut file| writeln!(file, "{line}"));
                if let Err(e) = written {
                    log::warn!("cannot write the TLS key log: {e}");
                }
            }),
            None => log::warn!("upstream_debug_ssl_keylog is set but SSLKEYLOGFILE is not"),
        }
    }
    Ok(builder.build())
}

/// The TLS session for one connection to `peer`.
fn configure<P: Peer>(context: &SslConnector, peer: &P) -> Result<Ssl> {
    let mut ssl = Ssl::new(context.context()).or_err(ErrorType::InternalError, "new session")?;
    let sni = peer.sni();
    let sni_is_ip = parse_ip(sni).is_some();
    if !sni.is_empty() && !sni_is_ip {
        ssl.set_hostname(sni)
            .or_err(ErrorType::InternalError, "setting SNI")?;
    }
    if peer.verify_cert() {
        ssl.set_verify(SslVerifyMode::PEER);
        let name = peer.alternative_cn().map_or(sni, String::as_str);
        if peer.verify_hostname() && !name.is_empty() {
            let param = ssl.param_mut();
            param.set_hostflags(X509CheckFlags::NO_PARTIAL_WILDCARDS);
            match parse_ip(name) {
                Some(ip) => param.set_ip(ip),
                None => param.set_host(name),
            }
            .or_err(ErrorType::InternalError, "setting the name to verify")?;
        }
    } else {
        ssl.set_verify(SslVerifyMode::NONE);
    }
    if let Some(ca) = peer.get_ca() {
        let mut store =
            X509StoreBuilder::new().or_err(ErrorType::InternalError, "new trust store")?;
        for cert in ca.iter() {
            store
                .add_cert(cert.clone())
                .or_err(ErrorType::InternalError, "adding a trust anchor")?;
        }
        ssl.set_verify_cert_store(store.build())
            .or_err(ErrorType::InternalError, "setting the trust store")?;
    }
    if let Some(cert_key) = peer.get_client_cert_key() {
        let mut chain = cert_key.certs().iter();
        if let Some(leaf) = chain.next() {
            ssl.set_certificate(leaf)
                .or_err(ErrorType::InternalError, "setting the client certificate")?;
        }
        for cert in chain {
            ssl.add_chain_cert(cert.clone()).or_err(
                ErrorType::InternalError,
                "adding a client chain certificate",
            )?;
        }
        ssl.set_private_key(cert_key.key())
            .or_err(ErrorType::InternalError, "setting the client key")?;
    }
    if let Some(alpn) = peer.get_alpn() {
        ssl.set_alpn_protos(alpn.to_wire_preference())
            .or_err(ErrorType::InternalError, "setting ALPN")?;
    }
    Ok(ssl)
}

/// `name` as an IP address literal (IPv6 with or without brackets).
fn parse_ip(name: &str) -> Option<IpAddr> {
    let bare = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name);
    bare.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstreams::peer::HttpPeer;
    use pingora_openssl::ssl::NameType;

    fn session(peer: &HttpPeer) -> Ssl {
        let context = build_context(None, false).unwrap();
        configure(&context, peer).unwrap()
    }

    #[test]
    fn sni_is_sent_for_names_only() {
        let named = HttpPeer::new("127.0.0.1:443", true, "example.com".into());
        assert_eq!(
            session(&named).servername(NameType::HOST_NAME),
            Some("example.com")
        );
        for ip in ["127.0.0.1", "::1", "[::1]", ""] {
            let peer = HttpPeer::new("127.0.0.1:443", true, ip.into());
            assert_eq!(session(&peer).servername(NameType::HOST_NAME), None, "{ip}");
        }
    }

    #[test]
    fn an_unreadable_ca_file_fails_the_connect_not_the_constructor() {
        let connector = TlsConnector::new(Some("/nonexistent/ca.pem".into()), false);
        let Err(e) = connector.context() else {
            panic!("the CA file does not exist, so the context cannot be built");
        };
        assert_eq!(e.etype(), &ErrorType::InternalError);
        assert!(e.to_string().contains("/nonexistent/ca.pem"), "{e}");
    }

    #[test]
    fn ip_literals_are_recognised_with_or_without_brackets() {
        assert!(parse_ip("10.1.2.3").is_some());
        assert!(parse_ip("[::1]").is_some());
        assert!(parse_ip("::1").is_some());
        assert!(parse_ip("example.com").is_none());
    }
}
