//! TLS: what every backend shares (the [`ALPN`] choice a peer asks for and the [`SslDigest`]
//! that [`Digest`](super::Digest) carries), and the backend's own pieces.
//!
//! With the `openssl` feature this module has `SslStream`, a TLS connection over another
//! stream, and the client handshake the connectors run on it. Without a TLS backend it has
//! `noop_tls`, the stand-in types `pingora_core::tls` then names.

mod alpn;
#[cfg(feature = "openssl")]
pub(crate) mod client;
#[cfg(not(feature = "openssl"))]
pub mod noop_tls;
#[cfg(feature = "openssl")]
mod stream;

pub use alpn::{CustomALPN, ALPN};
#[cfg(feature = "openssl")]
pub use stream::SslStream;

use std::any::Any;
use std::sync::Arc;

/// What was negotiated on a TLS connection, recorded when its handshake completed.
#[derive(Debug, Clone, Default)]
pub struct SslDigest {
    /// The cipher suite.
    pub cipher: &'static str,
    /// The protocol version, e.g. `"TLSv1.3"`.
    pub version: &'static str,
    /// The organization of the peer's certificate, if any.
    pub organization: Option<String>,
    /// The serial number of the peer's certificate, hex, if any.
    pub serial_number: Option<String>,
    /// A digest of the peer's certificate (empty without one).
    pub cert_digest: Vec<u8>,
    /// A value an application attached at the end of the handshake.
    pub extension: SslDigestExtension,
}

/// A value of any type attached to an [`SslDigest`] by the application.
///
/// ```
/// use pingora_core::protocols::tls::SslDigestExtension;
/// use std::sync::Arc;
///
/// let ext = SslDigestExtension::new(Arc::new(42u32));
/// assert_eq!(ext.get::<u32>(), Some(&42));
/// assert_eq!(ext.get::<String>(), None);
/// assert_eq!(SslDigestExtension::default().get::<u32>(), None);
/// ```
#[derive(Debug, Clone, Default)]
pub struct SslDigestExtension {
    value: Option<Arc<dyn Any + Send + Sync>>,
}

impl SslDigestExtension {
    /// An extension holding `value`.
    pub fn new(value: Arc<dyn Any + Send + Sync>) -> Self {
        SslDigestExtension { value: Some(value) }
    }

    /// The value, if there is one of type `T`.
    pub fn get<T: 'static>(&self) -> Option<&T> {
        self.value.as_deref().and_then(|v| v.downcast_ref::<T>())
    }
}
