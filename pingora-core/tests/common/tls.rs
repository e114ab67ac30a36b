//! Throwaway certificates for TLS tests, made at run time: a CA, a server certificate for
//! `localhost` and `127.0.0.1`, and a client certificate, all signed by that CA.
//!
//! Compiled only into test binaries built with the `openssl` feature.

#![allow(dead_code)] // each test binary uses part of it

use pingora_core::tls::asn1::Asn1Time;
use pingora_core::tls::bn::{BigNum, MsbOption};
use pingora_core::tls::ec::{EcGroup, EcKey};
use pingora_core::tls::hash::MessageDigest;
use pingora_core::tls::nid::Nid;
use pingora_core::tls::pkey::{PKey, Private};
use pingora_core::tls::x509::extension::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
};
use pingora_core::tls::x509::{X509Name, X509};
use pingora_core::upstreams::peer::{CaType, CertKey};
use std::sync::Arc;

/// A CA and the certificates it signed, with their keys.
pub struct TestPki {
    pub ca: X509,
    pub server: X509,
    pub server_key: PKey<Private>,
    pub client: X509,
    pub client_key: PKey<Private>,
}

/// The purpose of a leaf certificate.
enum Role {
    Server,
    Client,
}

fn new_key() -> PKey<Private> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("P-256 is built in");
    PKey::from_ec_key(EcKey::generate(&group).expect("EC key generation"))
        .expect("an EC key makes a PKey")
}

fn name(common_name: &str) -> X509Name {
    let mut name = X509Name::builder().expect("name builder");
    name.append_entry_by_nid(Nid::ORGANIZATIONNAME, "Pingora Test")
        .expect("O entry");
    name.append_entry_by_nid(Nid::COMMONNAME, common_name)
        .expect("CN entry");
    name.build()
}

fn certificate(
    subject: &str,
    key: &PKey<Private>,
    issuer: Option<(&X509, &PKey<Private>)>,
    role: Option<Role>,
) -> X509 {
    let mut cert = X509::builder().expect("certificate builder");
    cert.set_version(2).expect("v3");
    let mut serial = BigNum::new().expect("bignum");
    serial
        .rand(64, MsbOption::MAYBE_ZERO, false)
        .expect("random serial");
    cert.set_serial_number(&serial.to_asn1_integer().expect("serial"))
        .expect("set serial");
    cert.set_subject_name(&name(subject)).expect("subject");
    let (issuer_name, signing_key) = match issuer {
        Some((ca, ca_key)) => (ca.subject_name().to_owned().expect("copy name"), ca_key),
        None => (name(subject), key),
    };
    cert.set_issuer_name(&issuer_name).expect("issuer");
    cert.set_pubkey(key).expect("public key");
    cert.set_not_before(&Asn1Time::days_from_now(0).expect("now"))
        .expect("not before");
    cert.set_not_after(&Asn1Time::days_from_now(2).expect("later"))
        .expect("not after");
    match role {
        None => {
            let ca = BasicConstraints::new().critical().ca().build();
            cert.append_extension(ca.expect("CA constraint"))
                .expect("add");
            let usage = KeyUsage::new()
                .critical()
                .key_cert_sign()
                .crl_sign()
                .build();
            cert.append_extension(usage.expect("CA key usage"))
                .expect("add");
        }
        Some(role) => {
            let san = SubjectAlternativeName::new()
                .dns("localhost")
                .ip("127.0.0.1")
                .build(&cert.x509v3_context(issuer.map(|(ca, _)| &**ca), None));
            cert.append_extension(san.expect("SAN")).expect("add");
            let purpose = match role {
                Role::Server => ExtendedKeyUsage::new().server_auth().build(),
                Role::Client => ExtendedKeyUsage::new().client_auth().build(),
            };
            cert.append_extension(purpose.expect("EKU")).expect("add");
        }
    }
    cert.sign(signing_key, MessageDigest::sha256())
        .expect("sign");
    cert.build()
}

fn pem(cert: &X509) -> String {
    String::from_utf8(cert.to_pem().expect("PEM")).expect("PEM is ASCII")
}

impl TestPki {
    /// A fresh CA (`CN=Test CA`) with a server and a client certificate.
    pub fn new() -> TestPki {
        let ca_key = new_key();
        let ca = certificate("Test CA", &ca_key, None, None);
        let server_key = new_key();
        let server = certificate(
            "localhost",
            &server_key,
            Some((&ca, &ca_key)),
            Some(Role::Server),
        );
        let client_key = new_key();
        let client = certificate(
            "client",
            &client_key,
            Some((&ca, &ca_key)),
            Some(Role::Client),
        );
        TestPki {
            ca,
            server,
            server_key,
            client,
            client_key,
        }
    }

    /// nginx's files: `cert.pem`, `key.pem` (the server's) and `ca.pem`.
    pub fn nginx_files(&self) -> Vec<(&'static str, String)> {
        let key = self.server_key.private_key_to_pem_pkcs8().expect("key PEM");
        vec![
            ("cert.pem", pem(&self.server)),
            ("key.pem", String::from_utf8(key).expect("PEM is ASCII")),
            ("ca.pem", pem(&self.ca)),
        ]
    }

    /// The CA as a peer's trust anchors.
    pub fn ca(&self) -> Arc<CaType> {
        Arc::new(vec![self.ca.clone()].into_boxed_slice())
    }

    /// The client certificate and key, for mutual TLS.
    pub fn client_cert_key(&self) -> Arc<CertKey> {
        Arc::new(CertKey::new(
            vec![self.client.clone()],
            self.client_key.clone(),
        ))
    }
}

/// Borrows `files` as [`Nginx::start`](super::nginx::Nginx::start) takes them.
pub fn as_files<'a>(files: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    files
        .iter()
        .map(|(name, body)| (*name, body.as_str()))
        .collect()
}
