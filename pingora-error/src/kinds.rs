//! What went wrong ([`ErrorType`]), on which side ([`ErrorSource`]) and whether
//! trying again may help ([`RetryType`]).

use std::fmt;

/// The kind of failure. Code that reacts to errors (retries, status codes,
/// metrics) matches on this, never on the message text.
///
/// The variant names are part of the public API and appear verbatim in logs
/// through [`ErrorType::as_str`].
#[derive(Debug, PartialEq, Eq, Clone, Hash)]
pub enum ErrorType {
    // connecting to a peer
    /// The TCP connection did not complete within the connect timeout.
    ConnectTimedout,
    /// The peer actively refused the connection.
    ConnectRefused,
    /// There is no route to the peer's address.
    ConnectNoRoute,
    /// The TLS library paused the handshake to let a callback look up a certificate.
    TLSWantX509Lookup,
    /// The TLS handshake failed.
    TLSHandshakeFailure,
    /// The TLS handshake did not complete in time.
    TLSHandshakeTimedout,
    /// The peer's certificate did not verify.
    InvalidCert,
    /// A protocol handshake other than TLS failed.
    HandshakeError,
    /// Connecting failed for another reason.
    ConnectError,
    /// Binding a local address failed.
    BindError,
    /// Accepting a connection failed.
    AcceptError,
    /// Setting a socket option or another socket call failed.
    SocketError,
    /// A CONNECT proxy on the way to the peer refused or failed the tunnel.
    ConnectProxyFailure,
    // protocol
    /// A header was malformed or not allowed.
    InvalidHTTPHeader,
    /// An HTTP/1.x protocol violation.
    H1Error,
    /// An HTTP/2 protocol error.
    H2Error,
    /// The peer asked to fall back from HTTP/2 to HTTP/1.1.
    H2Downgrade,
    /// The peer does not speak valid HTTP/2.
    InvalidH2,
    // io
    /// Reading from a connection failed.
    ReadError,
    /// Writing to a connection failed.
    WriteError,
    /// A read did not complete within the read timeout.
    ReadTimedout,
    /// A write did not complete within the write timeout.
    WriteTimedout,
    /// The peer closed the connection before the exchange finished.
    ConnectionClosed,
    // application
    /// Stop processing and answer with this HTTP status code.
    HTTPStatus(u16),
    // files
    /// A file could not be opened.
    FileOpenError,
    /// A file could not be created.
    FileCreateError,
    /// A file could not be read.
    FileReadError,
    /// A file could not be written.
    FileWriteError,
    // other
    /// A bug or an impossible state inside the framework or the user's code.
    InternalError,
    /// The cause is not known.
    UnknownError,
    /// A user-defined kind, named by the string.
    Custom(&'static str),
    /// A user-defined kind with a name and a numeric code.
    CustomCode(&'static str, u16),
}

impl ErrorType {
    /// A user-defined error type; usable in `const` items.
    ///
    /// ```
    /// use pingora_error::ErrorType;
    ///
    /// const QUOTA_EXCEEDED: ErrorType = ErrorType::new("QuotaExceeded");
    /// assert_eq!(QUOTA_EXCEEDED.as_str(), "QuotaExceeded");
    /// ```
    pub const fn new(name: &'static str) -> Self {
        ErrorType::Custom(name)
    }

    /// A user-defined error type carrying a numeric code; usable in `const` items.
    ///
    /// ```
    /// use pingora_error::ErrorType;
    ///
    /// const TEAPOT: ErrorType = ErrorType::new_code("Teapot", 418);
    /// assert_eq!(TEAPOT, ErrorType::CustomCode("Teapot", 418));
    /// ```
    pub const fn new_code(name: &'static str, code: u16) -> Self {
        ErrorType::CustomCode(name, code)
    }

    /// The variant name as written in logs, e.g. `"ConnectTimedout"`. For
    /// [`ErrorType::Custom`] and [`ErrorType::CustomCode`] it is the user's name.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorType::ConnectTimedout => "ConnectTimedout",
            ErrorType::ConnectRefused => "ConnectRefused",
            ErrorType::ConnectNoRoute => "ConnectNoRoute",
            ErrorType::TLSWantX509Lookup => "TLSWantX509Lookup",
            ErrorType::TLSHandshakeFailure => "TLSHandshakeFailure",
            ErrorType::TLSHandshakeTimedout => "TLSHandshakeTimedout",
            ErrorType::InvalidCert => "InvalidCert",
            ErrorType::HandshakeError => "HandshakeError",
            ErrorType::ConnectError => "ConnectError",
            ErrorType::BindError => "BindError",
            ErrorType::AcceptError => "AcceptError",
            ErrorType::SocketError => "SocketError",
            ErrorType::ConnectProxyFailure => "ConnectProxyFailure",
            ErrorType::InvalidHTTPHeader => "InvalidHTTPHeader",
            ErrorType::H1Error => "H1Error",
            ErrorType::H2Error => "H2Error",
            ErrorType::H2Downgrade => "H2Downgrade",
            ErrorType::InvalidH2 => "InvalidH2",
            ErrorType::ReadError => "ReadError",
            ErrorType::WriteError => "WriteError",
            ErrorType::ReadTimedout => "ReadTimedout",
            ErrorType::WriteTimedout => "WriteTimedout",
            ErrorType::ConnectionClosed => "ConnectionClosed",
            ErrorType::HTTPStatus(_) => "HTTPStatus",
            ErrorType::FileOpenError => "FileOpenError",
            ErrorType::FileCreateError => "FileCreateError",
            ErrorType::FileReadError => "FileReadError",
            ErrorType::FileWriteError => "FileWriteError",
            ErrorType::InternalError => "InternalError",
            ErrorType::UnknownError => "UnknownError",
            ErrorType::Custom(name) => name,
            ErrorType::CustomCode(name, _) => name,
        }
    }
}

impl fmt::Display for ErrorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorType::HTTPStatus(code) => write!(f, "HTTPStatus({code})"),
            other => f.write_str(other.as_str()),
        }
    }
}

/// Which side of the proxy the error is attributed to.
#[derive(Debug, PartialEq, Eq, Clone, Hash)]
pub enum ErrorSource {
    /// The upstream (the server the proxy talks to) misbehaved or failed.
    Upstream,
    /// The downstream (the client) misbehaved or went away.
    Downstream,
    /// The framework or the user's own code failed.
    Internal,
    /// Not attributed yet.
    Unset,
}

impl ErrorSource {
    /// The name as written in logs; the empty string for [`ErrorSource::Unset`].
    pub fn as_str(&self) -> &str {
        match self {
            ErrorSource::Upstream => "Upstream",
            ErrorSource::Downstream => "Downstream",
            ErrorSource::Internal => "Internal",
            ErrorSource::Unset => "",
        }
    }
}

impl fmt::Display for ErrorSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether the operation that failed may be tried again.
///
/// Some failures are only safe to retry when they happened on a connection
/// taken from the pool (the peer may have closed it while it sat idle); those
/// carry [`RetryType::ReusedOnly`] until the caller, who knows whether the
/// connection was reused, settles it with [`RetryType::decide_reuse`].
///
/// ```
/// use pingora_error::RetryType;
///
/// let mut on_pooled = RetryType::ReusedOnly;
/// on_pooled.decide_reuse(true);
/// assert!(on_pooled.retry());
///
/// let mut on_fresh = RetryType::ReusedOnly;
/// on_fresh.decide_reuse(false);
/// assert!(!on_fresh.retry());
/// ```
#[derive(Debug, PartialEq, Eq, Clone, Copy, Hash)]
pub enum RetryType {
    /// The decision is made: retry when `true`.
    Decided(bool),
    /// Retry only if the failed connection was reused from the pool.
    ReusedOnly,
}

impl RetryType {
    /// Settles a [`RetryType::ReusedOnly`] decision now that it is known whether
    /// the connection was `reused`. An already decided value is left as it is.
    pub fn decide_reuse(&mut self, reused: bool) {
        if matches!(self, RetryType::ReusedOnly) {
            *self = RetryType::Decided(reused);
        }
    }

    /// Whether to retry.
    ///
    /// # Panics
    /// On [`RetryType::ReusedOnly`]: callers must first settle it with
    /// [`RetryType::decide_reuse`], since the answer depends on facts only they know.
    pub fn retry(&self) -> bool {
        match self {
            RetryType::Decided(retry) => *retry,
            RetryType::ReusedOnly => {
                panic!("RetryType::ReusedOnly must be settled with decide_reuse() before retry()")
            }
        }
    }
}

impl From<bool> for RetryType {
    fn from(retry: bool) -> Self {
        RetryType::Decided(retry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_names_itself() {
        let all = [
            (ErrorType::ConnectTimedout, "ConnectTimedout"),
            (ErrorType::ConnectRefused, "ConnectRefused"),
            (ErrorType::ConnectNoRoute, "ConnectNoRoute"),
            (ErrorType::TLSWantX509Lookup, "TLSWantX509Lookup"),
            (ErrorType::TLSHandshakeFailure, "TLSHandshakeFailure"),
            (ErrorType::TLSHandshakeTimedout, "TLSHandshakeTimedout"),
            (ErrorType::InvalidCert, "InvalidCert"),
            (ErrorType::HandshakeError, "HandshakeError"),
            (ErrorType::ConnectError, "ConnectError"),
            (ErrorType::BindError, "BindError"),
            (ErrorType::AcceptError, "AcceptError"),
            (ErrorType::SocketError, "SocketError"),
            (ErrorType::ConnectProxyFailure, "ConnectProxyFailure"),
            (ErrorType::InvalidHTTPHeader, "InvalidHTTPHeader"),
            (ErrorType::H1Error, "H1Error"),
            (ErrorType::H2Error, "H2Error"),
            (ErrorType::H2Downgrade, "H2Downgrade"),
            (ErrorType::InvalidH2, "InvalidH2"),
            (ErrorType::ReadError, "ReadError"),
            (ErrorType::WriteError, "WriteError"),
            (ErrorType::ReadTimedout, "ReadTimedout"),
            (ErrorType::WriteTimedout, "WriteTimedout"),
            (ErrorType::ConnectionClosed, "ConnectionClosed"),
            (ErrorType::HTTPStatus(404), "HTTPStatus"),
            (ErrorType::FileOpenError, "FileOpenError"),
            (ErrorType::FileCreateError, "FileCreateError"),
            (ErrorType::FileReadError, "FileReadError"),
            (ErrorType::FileWriteError, "FileWriteError"),
            (ErrorType::InternalError, "InternalError"),
            (ErrorType::UnknownError, "UnknownError"),
            (ErrorType::Custom("Mine"), "Mine"),
            (ErrorType::CustomCode("MineCode", 7), "MineCode"),
        ];
        for (etype, name) in all {
            assert_eq!(etype.as_str(), name);
        }
    }

    #[test]
    fn const_constructors_build_custom_variants() {
        const A: ErrorType = ErrorType::new("A");
        const B: ErrorType = ErrorType::new_code("B", 42);
        assert_eq!(A, ErrorType::Custom("A"));
        assert_eq!(B, ErrorType::CustomCode("B", 42));
    }

    #[test]
    fn display_shows_the_status_code() {
        assert_eq!(ErrorType::HTTPStatus(403).to_string(), "HTTPStatus(403)");
        assert_eq!(ErrorType::ReadError.to_string(), "ReadError");
    }

    #[test]
    fn sources_name_themselves() {
        assert_eq!(ErrorSource::Upstream.as_str(), "Upstream");
        assert_eq!(ErrorSource::Downstream.as_str(), "Downstream");
        assert_eq!(ErrorSource::Internal.as_str(), "Internal");
        assert_eq!(ErrorSource::Unset.as_str(), "");
        assert_eq!(ErrorSource::Upstream.to_string(), "Upstream");
    }

    #[test]
    fn retry_from_bool_and_decided_values_stay() {
        assert_eq!(RetryType::from(true), RetryType::Decided(true));
        let mut decided = RetryType::Decided(false);
        decided.decide_reuse(true);
        assert!(!decided.retry());
    }

    #[test]
    #[should_panic(expected = "decide_reuse")]
    fn undecided_retry_panics() {
        RetryType::ReusedOnly.retry();
    }
}
