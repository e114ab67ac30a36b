//! Certificate material a peer may carry: a client certificate for mutual TLS ([`CertKey`])
//! and the trust anchors to verify the peer with ([`CaType`]).
//!
//! With the `openssl` feature these are OpenSSL types (`X509`, `PKey<Private>`). Without a
//! TLS backend they are placeholders holding DER bytes that no handshake reads; they still
//! take part in a peer's reuse key, so code that sets them compiles either way.

use std::hash::{Hash, Hasher};

#[cfg(feature = "openssl")]
pub use with_openssl::{CaType, CertKey};
#[cfg(not(feature = "openssl"))]
pub use without_tls::{CaType, CertKey};

/// Feeds the identity of the trust anchors `ca` into a reuse key.
pub(crate) fn hash_ca<H: Hasher>(ca: Option<&CaType>, state: &mut H) {
    match ca {
        None => state.write_u8(0),
        Some(certs) => {
            state.write_u8(1);
            state.write_usize(certs.len());
            for cert in certs.iter() {
                cert_identity(cert).hash(state);
            }
        }
    }
}

#[cfg(feature = "openssl")]
fn cert_identity(cert: &pingora_openssl::x509::X509Ref) -> &[u8] {
    // The signature covers every field of the certificate, so it tells certificates apart
    // without re-encoding them.
    cert.signature().as_slice()
}

#[cfg(not(feature = "openssl"))]
fn cert_identity(cert: &[u8]) -> &[u8] {
    cert
}

#[cfg(feature = "openssl")]
mod with_openssl {
    use super::cert_identity;
    use pingora_openssl::pkey::{PKey, Private};
    use pingora_openssl::x509::X509;
    use std::hash::{Hash, Hasher};

    /// Trust anchors to verify a peer with.
    pub type CaType = Box<[X509]>;

    /// A client certificate chain and its private key, presented to a peer that asks for one
    /// (mutual TLS).
    ///
    /// Two `CertKey`s are equal (and hash the same) when their chains are the same
    /// certificates; the key belongs to the leaf, so it is not compared.
    ///
    /// ```
    /// use pingora_core::tls::pkey::PKey;
    /// use pingora_core::upstreams::peer::CertKey;
    ///
    /// let key = PKey::generate_ed25519().unwrap();
    /// let ck = CertKey::new(vec![], key);
    /// assert!(ck.leaf().is_none());
    /// ```
    #[derive(Clone, Debug)]
    pub struct CertKey {
        certs: Vec<X509>,
        key: PKey<Private>,
    }

    impl CertKey {
        /// A chain (leaf first) and the leaf's private key.
        pub fn new(certs: Vec<X509>, key: PKey<Private>) -> Self {
            CertKey { certs, key }
        }

        /// The certificate chain, leaf first.
        pub fn certs(&self) -> &[X509] {
            &self.certs
        }

        /// The leaf certificate, if the chain is not empty.
        pub fn leaf(&self) -> Option<&X509> {
            self.certs.first()
        }

        /// The private key.
        pub fn key(&self) -> &PKey<Private> {
            &self.key
        }
    }

    impl PartialEq for CertKey {
        fn eq(&self, other: &Self) -> bool {
            self.certs.len() == other.certs.len()
                && self
                    .certs
                    .iter()
                    .zip(&other.certs)
                    .all(|(a, b)| cert_identity(a) == cert_identity(b))
        }
    }

    impl Eq for CertKey {}

    impl Hash for CertKey {
        fn hash<H: Hasher>(&self, state: &mut H) {
            state.write_usize(self.certs.len());
            for cert in &self.certs {
                cert_identity(cert).hash(state);
            }
        }
    }
}

#[cfg(not(feature = "openssl"))]
mod without_tls {
    /// Trust anchors to verify a peer with, each a DER-encoded certificate (a placeholder:
    /// without a TLS backend nothing verifies peers).
    pub type CaType = Box<[Vec<u8>]>;

    /// A client certificate chain and its private key, presented to a peer that asks for one.
    ///
    /// Holds DER bytes: without a TLS backend (the `openssl` feature) no handshake reads them.
    ///
    /// ```
    /// use pingora_core::upstreams::peer::CertKey;
    ///
    /// let ck = CertKey::new(vec![vec![0x30, 0x82]], vec![0x30, 0x81]);
    /// assert_eq!(ck.certs().len(), 1);
    /// ```
    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    pub struct CertKey {
        certs: Vec<Vec<u8>>,
        key: Vec<u8>,
    }

    impl CertKey {
        /// A chain (leaf first, DER each) and the leaf's private key (DER).
        pub fn new(certs: Vec<Vec<u8>>, key: Vec<u8>) -> Self {
            CertKey { certs, key }
        }

        /// The certificate chain, leaf first.
        pub fn certs(&self) -> &[Vec<u8>] {
            &self.certs
        }

        /// The leaf certificate, if the chain is not empty.
        pub fn leaf(&self) -> Option<&[u8]> {
            self.certs.first().map(Vec::as_slice)
        }

        /// The private key.
        pub fn key(&self) -> &[u8] {
            &self.key
        }
    }
}

/// A `CertKey` for tests, whatever the backend: an empty chain and a throwaway key.
#[cfg(test)]
pub(crate) fn test_cert_key() -> CertKey {
    #[cfg(feature = "openssl")]
    let key = pingora_openssl::pkey::PKey::generate_ed25519().expect("ed25519 key generation");
    #[cfg(not(feature = "openssl"))]
    let key = vec![1];
    CertKey::new(vec![], key)
}
