//! [`SslStream`]: a TLS connection over another stream (OpenSSL), with the facts of its
//! handshake recorded once it completes.

use std::fmt;
use std::io::IoSlice;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::SystemTime;

use pingora_error::{ErrorType, OrErr, Result};
use pingora_openssl::hash::MessageDigest;
use pingora_openssl::nid::Nid;
use pingora_openssl::ssl::{self, Ssl, SslRef};
use pingora_openssl::tokio_ssl;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::{SslDigest, ALPN};
use crate::protocols::digest::TimingDigest;

/// A TLS connection over the stream `T` (for connections this crate makes, the boxed
/// [`Stream`](crate::protocols::Stream) of the L4 connect).
///
/// Reads and writes carry application data; TLS records the peer sends without data (such as
/// TLS 1.3 session tickets) are consumed by reads and never surface as bytes. As an
/// [`IO`](crate::protocols::IO) it reports the socket digest of the stream below it, one
/// timing entry per layer (the socket's, then this one's), and its [`SslDigest`].
///
/// Connections to TLS peers made by
/// [`TransportConnector`](crate::connectors::TransportConnector) are of this type; a program
/// can look at one behind a [`Stream`](crate::protocols::Stream) with
/// `stream.as_any().downcast_ref::<SslStream<Stream>>()`.
pub struct SslStream<T> {
    tls: tokio_ssl::SslStream<T>,
    digest: Option<Arc<SslDigest>>,
    established_ts: SystemTime,
}

impl<T: AsyncRead + AsyncWrite + Unpin> SslStream<T> {
    /// A stream that will run the TLS session `ssl` over `inner`; no byte is sent until the
    /// handshake.
    pub(crate) fn new(ssl: Ssl, inner: T) -> Result<Self> {
        let tls = tokio_ssl::SslStream::new(ssl, inner)
            .or_err(ErrorType::InternalError, "setting up a TLS session")?;
        Ok(SslStream {
            tls,
            digest: None,
            established_ts: SystemTime::UNIX_EPOCH,
        })
    }

    /// Runs the client side of the handshake; on success records the digest and the time.
    pub(crate) async fn connect(&mut self) -> std::result::Result<(), ssl::Error> {
        Pin::new(&mut self.tls).connect().await?;
        self.digest = Some(Arc::new(SslDigest::from_ssl(self.tls.ssl())));
        self.established_ts = SystemTime::now();
        Ok(())
    }
}

impl<T> SslStream<T> {
    /// The TLS session: negotiated version, cipher, the peer's certificate, ...
    pub fn ssl(&self) -> &SslRef {
        self.tls.ssl()
    }

    /// What the handshake negotiated; `None` before it completed.
    pub fn ssl_digest(&self) -> Option<Arc<SslDigest>> {
        self.digest.clone()
    }

    /// The HTTP version the peer chose by ALPN: [`ALPN::H2`] for `h2`, [`ALPN::H1`] for
    /// `http/1.1`, `None` when the peer chose nothing (or something else).
    pub fn selected_alpn(&self) -> Option<ALPN> {
        match self.tls.ssl().selected_alpn_protocol()? {
            b"h2" => Some(ALPN::H2),
            b"http/1.1" => Some(ALPN::H1),
            _ => None,
        }
    }

    /// The stream the TLS records travel over.
    pub fn get_ref(&self) -> &T {
        self.tls.get_ref()
    }

    /// When the handshake completed.
    pub(crate) fn timing_digest(&self) -> TimingDigest {
        TimingDigest {
            established_ts: self.established_ts,
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for SslStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SslStream")
            .field("inner", self.tls.get_ref())
            .field("digest", &self.digest)
            .finish_non_exhaustive()
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncRead for SslStream<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().tls).poll_read(cx, buf)
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncWrite for SslStream<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().tls).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().tls).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().tls).poll_flush(cx)
    }

    /// Sends the TLS `close_notify` alert, then shuts the stream below down.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().tls).poll_shutdown(cx)
    }
}

impl SslDigest {
    /// The digest of the TLS session `ssl`: its cipher and version, and, when the peer showed
    /// a certificate, that certificate's organization (`O`), serial number (hex) and SHA-256
    /// digest.
    pub fn from_ssl(ssl: &SslRef) -> Self {
        let cipher = ssl.current_cipher().map_or("", |c| c.name());
        let version = ssl.version_str();
        let Some(cert) = ssl.peer_certificate() else {
            return SslDigest {
                cipher,
                version,
                ..SslDigest::default()
            };
        };
        let organization = cert
            .subject_name()
            .entries_by_nid(Nid::ORGANIZATIONNAME)
            .next()
            .and_then(|entry| entry.data().to_string().ok());
        let serial_number = cert
            .serial_number()
            .to_bn()
            .and_then(|bn| bn.to_hex_str())
            .ok()
            .map(|hex| hex.to_string());
        let cert_digest = cert
            .digest(MessageDigest::sha256())
            .map(|d| d.to_vec())
            .unwrap_or_default();
        SslDigest {
            cipher,
            version,
            organization,
            serial_number,
            cert_digest,
            extension: Default::default(),
        }
    }
}
