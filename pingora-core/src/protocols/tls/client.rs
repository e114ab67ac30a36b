//! The client side of the TLS handshake (OpenSSL), and the typed errors it fails with.

use pingora_error::{Error, ErrorType, Result};
use pingora_openssl::ssl::Ssl;
use pingora_openssl::x509::X509VerifyResult;
use tokio::io::{AsyncRead, AsyncWrite};

use super::SslStream;

/// Runs the TLS session `ssl` (already configured for the peer) over `inner` as the client.
///
/// Fails with `InvalidCert` when `verify_cert` is on and the peer's certificate was rejected
/// (the context says why, in OpenSSL's words), else with `TLSHandshakeFailure` carrying
/// OpenSSL's error as the cause. Neither is marked retryable here.
pub(crate) async fn handshake<T>(ssl: Ssl, inner: T, verify_cert: bool) -> Result<SslStream<T>>
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    let mut stream = SslStream::new(ssl, inner)?;
    match stream.connect().await {
        Ok(()) => Ok(stream),
        Err(e) => {
            let verdict = stream.ssl().verify_result();
            if verify_cert && verdict != X509VerifyResult::OK {
                return Error::e_explain(
                    ErrorType::InvalidCert,
                    format!("certificate rejected: {}", verdict.error_string()),
                );
            }
            Err(Error::because(
                ErrorType::TLSHandshakeFailure,
                "TLS handshake failed",
                e,
            ))
        }
    }
}
