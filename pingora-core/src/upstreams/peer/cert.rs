//! Certificate material a peer may carry: a client certificate for mutual TLS and extra trust
//! anchors.
//!
//! These are transport-neutral placeholders holding DER bytes. The TLS backends will replace them
//! with their own types (for example `X509` chains and private keys); until then no handshake
//! reads them, but they already take part in a peer's reuse key.

/// Trust anchors to verify a peer with, each a DER-encoded certificate.
pub type CaType = Box<[Vec<u8>]>;

/// A client certificate chain and its private key, presented to a peer that asks for one.
///
/// Holds DER bytes; the TLS issue replaces this with the backend's certificate type.
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
