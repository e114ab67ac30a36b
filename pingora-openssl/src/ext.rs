//! Small helpers on a connection's [`SslRef`]: set its certificate, key and chain, and set up
//! the server name it sends and verifies.

use openssl::error::ErrorStack;
use openssl::pkey::{HasPrivate, PKey, PKeyRef};
use openssl::ssl::SslRef;
use openssl::x509::verify::X509CheckFlags;
use openssl::x509::X509Ref;
use std::net::IpAddr;

/// Makes `cert` the certificate this connection presents (the leaf of its chain).
pub fn ssl_use_certificate(ssl: &mut SslRef, cert: &X509Ref) -> Result<(), ErrorStack> {
    ssl.set_certificate(cert)
}

/// Makes `key` this connection's private key; it must match the certificate set with
/// [`ssl_use_certificate`].
pub fn ssl_use_private_key<T: HasPrivate>(
    ssl: &mut SslRef,
    key: &PKeyRef<T>,
) -> Result<(), ErrorStack> {
    // The `openssl` crate sets keys typed `Private` only; a key of another private-capable type
    // goes through its DER form.
    let key = PKey::private_key_from_der(&key.private_key_to_der()?)?;
    ssl.set_private_key(&key)
}

/// Appends `cert` to the chain this connection presents after its leaf certificate.
pub fn ssl_add_chain_cert(ssl: &mut SslRef, cert: &X509Ref) -> Result<(), ErrorStack> {
    ssl.add_chain_cert(cert.to_owned())
}

/// Sets up `ssl` to talk to `host`: a name is sent as SNI and is the name the peer's
/// certificate must carry (no partial wildcards such as `a*.example.com`); an IP address
/// literal (v4, or v6 with or without brackets) is not sent (SNI forbids it) and must appear
/// among the certificate's IP addresses.
///
/// Whether the result of that check fails the handshake depends on the verify mode
/// (`SslVerifyMode::PEER`).
///
/// ```
/// use pingora_openssl::ssl::{NameType, Ssl, SslContext, SslMethod};
///
/// let context = SslContext::builder(SslMethod::tls_client()).unwrap().build();
/// let mut ssl = Ssl::new(&context).unwrap();
/// pingora_openssl::ext::add_host(&mut ssl, "127.0.0.1").unwrap();
/// assert_eq!(ssl.servername(NameType::HOST_NAME), None);
/// ```
pub fn add_host(ssl: &mut SslRef, host: &str) -> Result<(), ErrorStack> {
    let literal = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = literal.parse::<IpAddr>() {
        return ssl.param_mut().set_ip(ip);
    }
    ssl.set_hostname(host)?;
    let param = ssl.param_mut();
    param.set_hostflags(X509CheckFlags::NO_PARTIAL_WILDCARDS);
    param.set_host(host)
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::asn1::Asn1Time;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    use openssl::pkey::Private;
    use openssl::ssl::{NameType, Ssl, SslContext, SslMethod};
    use openssl::x509::{X509Name, X509};

    fn self_signed() -> (X509, PKey<Private>) {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
        let mut name = X509Name::builder().unwrap();
        name.append_entry_by_nid(Nid::COMMONNAME, "test").unwrap();
        let name = name.build();
        let mut cert = X509::builder().unwrap();
        cert.set_version(2).unwrap();
        cert.set_subject_name(&name).unwrap();
        cert.set_issuer_name(&name).unwrap();
        cert.set_pubkey(&key).unwrap();
        cert.set_not_before(&Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        cert.set_not_after(&Asn1Time::days_from_now(1).unwrap())
            .unwrap();
        cert.sign(&key, MessageDigest::sha256()).unwrap();
        (cert.build(), key)
    }

    fn ssl() -> Ssl {
        let context = SslContext::builder(SslMethod::tls()).unwrap().build();
        Ssl::new(&context).unwrap()
    }

    #[test]
    fn certificate_key_and_chain_are_set_on_the_connection() {
        let (cert, key) = self_signed();
        let (other, _) = self_signed();
        let mut ssl = ssl();
        ssl_use_certificate(&mut ssl, &cert).unwrap();
        ssl_use_private_key(&mut ssl, &key).unwrap();
        ssl_add_chain_cert(&mut ssl, &other).unwrap();
        let set = ssl.certificate().unwrap();
        assert_eq!(set.to_der().unwrap(), cert.to_der().unwrap());
        assert!(ssl.private_key().unwrap().public_eq(&key));
    }

    #[test]
    fn a_key_that_does_not_match_the_certificate_is_refused() {
        let (cert, _) = self_signed();
        let (_, other_key) = self_signed();
        let mut ssl = ssl();
        ssl_use_certificate(&mut ssl, &cert).unwrap();
        assert!(ssl_use_private_key(&mut ssl, &other_key).is_err());
    }

    #[test]
    fn names_are_sent_as_sni_and_ip_literals_are_not() {
        let mut named = ssl();
        add_host(&mut named, "example.com").unwrap();
        assert_eq!(named.servername(NameType::HOST_NAME), Some("example.com"));
        for ip in ["10.0.0.1", "::1", "[::1]"] {
            let mut by_ip = ssl();
            add_host(&mut by_ip, ip).unwrap();
            assert_eq!(by_ip.servername(NameType::HOST_NAME), None, "{ip}");
        }
    }
}
