//! Stand-ins for the TLS types when no TLS backend is built in: `pingora_core::tls` is this
//! module then, so code that names those paths compiles, while TLS peers fail to connect with
//! an error saying to enable a backend (the `openssl` feature).

/// Stands for a TLS connection's state (`SslRef` with OpenSSL); there is none without a backend.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TlsRef;

/// Stands for a certificate held by the TLS backend; there is none without a backend.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CertWrapper;

/// Client-side TLS stand-ins.
pub mod connectors {
    /// Stands for the backend's TLS client configuration; without a backend, TLS peers fail
    /// to connect.
    #[derive(Debug, Clone, Copy, Default)]
    pub struct TlsConnector;
}

/// Server-side TLS stand-ins.
pub mod listeners {
    /// Stands for the backend's TLS acceptor; without a backend there are no TLS listeners.
    #[derive(Debug, Clone, Copy, Default)]
    pub struct TlsAcceptor;
}

/// TLS stream stand-ins.
pub mod stream {
    /// Stands for a TLS stream; without a backend no connection is encrypted.
    #[derive(Debug, Clone, Copy, Default)]
    pub struct SslStream;
}

/// Certificate material.
pub mod utils {
    /// The client certificate type peers carry (DER bytes without a TLS backend).
    pub use crate::upstreams::peer::CertKey;
}
