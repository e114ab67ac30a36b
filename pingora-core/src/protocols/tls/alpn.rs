//! Which HTTP versions to offer a peer during the TLS handshake (ALPN). Re-exported as
//! `upstreams::peer::ALPN` and `listeners::ALPN`.

use std::fmt;

/// The HTTP versions offered to a peer, in order of preference.
///
/// Without TLS only the maximum version matters: HTTP/2 then means prior-knowledge h2c.
///
/// ```
/// use pingora_core::protocols::tls::ALPN;
///
/// assert_eq!(ALPN::new(2, 1), ALPN::H2H1);
/// assert_eq!(ALPN::H2H1.get_max_http_version(), 2);
/// assert_eq!(ALPN::H2H1.get_min_http_version(), 1);
/// assert_eq!(ALPN::H1.to_wire_preference(), b"\x08http/1.1");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[allow(clippy::upper_case_acronyms)]
pub enum ALPN {
    /// HTTP/1.1 only.
    H1,
    /// HTTP/2 only.
    H2,
    /// HTTP/2 preferred, HTTP/1.1 accepted.
    H2H1,
    /// A protocol list chosen by the user.
    Custom(CustomALPN),
}

/// A user-chosen ALPN protocol identifier, such as `b"grpc-exp"`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CustomALPN {
    protocol: Vec<u8>,
    wire: Vec<u8>,
}

impl CustomALPN {
    /// A custom protocol identifier.
    ///
    /// # Panics
    ///
    /// If `protocol` is empty or longer than 255 bytes (the ALPN wire format cannot carry it).
    pub fn new(protocol: impl Into<Vec<u8>>) -> Self {
        let protocol = protocol.into();
        let len = u8::try_from(protocol.len())
            .ok()
            .filter(|len| *len > 0)
            .expect("an ALPN protocol identifier is 1 to 255 bytes long");
        let mut wire = Vec::with_capacity(protocol.len() + 1);
        wire.push(len);
        wire.extend_from_slice(&protocol);
        CustomALPN { protocol, wire }
    }

    /// The protocol identifier as given.
    pub fn protocol(&self) -> &[u8] {
        &self.protocol
    }
}

impl ALPN {
    /// The list for a range of HTTP versions: `max` 1 gives [`ALPN::H1`]; `max` 2 gives
    /// [`ALPN::H2`] when `min` is 2 and [`ALPN::H2H1`] otherwise.
    pub fn new(max: u8, min: u8) -> Self {
        if max <= 1 {
            ALPN::H1
        } else if min >= 2 {
            ALPN::H2
        } else {
            ALPN::H2H1
        }
    }

    /// The highest HTTP version offered (a custom protocol counts as 1).
    pub fn get_max_http_version(&self) -> u8 {
        match self {
            ALPN::H2 | ALPN::H2H1 => 2,
            ALPN::H1 | ALPN::Custom(_) => 1,
        }
    }

    /// The lowest HTTP version offered (a custom protocol counts as 1).
    pub fn get_min_http_version(&self) -> u8 {
        match self {
            ALPN::H2 => 2,
            ALPN::H1 | ALPN::H2H1 | ALPN::Custom(_) => 1,
        }
    }

    /// The protocol list in TLS wire format (each name prefixed by its length).
    pub fn to_wire_preference(&self) -> &[u8] {
        match self {
            ALPN::H1 => b"\x08http/1.1",
            ALPN::H2 => b"\x02h2",
            ALPN::H2H1 => b"\x02h2\x08http/1.1",
            ALPN::Custom(custom) => &custom.wire,
        }
    }
}

impl fmt::Display for ALPN {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ALPN::H1 => f.write_str("H1"),
            ALPN::H2 => f.write_str("H2"),
            ALPN::H2H1 => f.write_str("H2H1"),
            ALPN::Custom(custom) => write!(f, "{}", String::from_utf8_lossy(&custom.protocol)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_ranges_map_to_protocol_lists() {
        assert_eq!(ALPN::new(1, 1), ALPN::H1);
        assert_eq!(ALPN::new(1, 2), ALPN::H1);
        assert_eq!(ALPN::new(2, 2), ALPN::H2);
        assert_eq!(ALPN::new(2, 1), ALPN::H2H1);
        assert_eq!(ALPN::new(3, 1), ALPN::H2H1);
    }

    #[test]
    fn custom_protocol_is_length_prefixed_on_the_wire() {
        let alpn = ALPN::Custom(CustomALPN::new("grpc-exp"));
        assert_eq!(alpn.to_wire_preference(), b"\x08grpc-exp");
        assert_eq!(alpn.to_string(), "grpc-exp");
        assert_eq!(alpn.get_max_http_version(), 1);
    }

    #[test]
    #[should_panic(expected = "1 to 255 bytes")]
    fn empty_custom_protocol_is_rejected() {
        CustomALPN::new(Vec::new());
    }
}
