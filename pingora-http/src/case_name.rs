//! [`CaseHeaderName`], a header name together with the spelling it has on the wire, and
//! [`IntoCaseHeaderName`], what the header-editing methods accept as a name.

use std::fmt;
use std::hash::{Hash, Hasher};

use bytes::Bytes;
use http::HeaderName;
use pingora_error::Result;

use crate::title_case::{default_spelling, well_known};
use crate::validate;

/// A header name with the exact spelling (letter case) it is written with on the wire.
///
/// [`http::HeaderName`] stores names in lower case; this type keeps the original bytes
/// so that a proxy forwards `X-CamelCase` as `X-CamelCase`. A `CaseHeaderName` built from
/// a [`HeaderName`] has no spelling of its own and is written in the default form:
/// Title-Case for well-known names (`Content-Length`), else as stored.
///
/// Bytes are not checked when the value is built: they are checked (and rejected with
/// `InvalidHTTPHeader` unless they form an RFC 9110 token) when the name is added to a
/// header, or by [`CaseHeaderName::header_name`].
///
/// Equality compares spellings, so it is case-sensitive.
///
/// ```
/// use pingora_http::CaseHeaderName;
///
/// let name = CaseHeaderName::from_static("X-CamelCase");
/// assert_eq!(name.as_bytes(), b"X-CamelCase");
/// assert_eq!(name.header_name().unwrap().as_str(), "x-camelcase");
///
/// let from_http = CaseHeaderName::from(http::header::CONTENT_TYPE);
/// assert_eq!(from_http.as_bytes(), b"Content-Type");
/// ```
#[derive(Clone)]
pub struct CaseHeaderName(Spelling);

#[derive(Clone)]
enum Spelling {
    /// The bytes seen on (or meant for) the wire, not yet validated.
    Wire(Bytes),
    /// A validated name with no spelling of its own.
    Name(HeaderName),
}

impl CaseHeaderName {
    /// A name spelled as `spelling`. Passing [`Bytes`] sliced from a read buffer keeps
    /// the name without copying it.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use pingora_http::CaseHeaderName;
    ///
    /// let buffer = Bytes::from_static(b"X-Trace-Id: 7\r\n");
    /// let name = CaseHeaderName::new(buffer.slice(0..10));
    /// assert_eq!(name.as_bytes(), b"X-Trace-Id");
    /// let owned = CaseHeaderName::new(String::from("x-owned"));
    /// assert_eq!(owned.as_bytes(), b"x-owned");
    /// ```
    pub fn new(spelling: impl Into<Bytes>) -> Self {
        CaseHeaderName(Spelling::Wire(spelling.into()))
    }

    /// A name spelled as the static string `spelling`, built without allocating.
    ///
    /// ```
    /// use pingora_http::CaseHeaderName;
    ///
    /// const SERVER_TIMING: CaseHeaderName = CaseHeaderName::from_static("Server-Timing");
    /// assert_eq!(SERVER_TIMING.as_bytes(), b"Server-Timing");
    /// ```
    pub const fn from_static(spelling: &'static str) -> Self {
        CaseHeaderName(Spelling::Wire(Bytes::from_static(spelling.as_bytes())))
    }

    /// The bytes written on the wire for this name.
    ///
    /// ```
    /// use pingora_http::CaseHeaderName;
    ///
    /// assert_eq!(CaseHeaderName::from_static("x-Mixed").as_bytes(), b"x-Mixed");
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Spelling::Wire(bytes) => bytes,
            Spelling::Name(name) => default_spelling(name),
        }
    }

    /// The case-insensitive [`HeaderName`] this spelling stands for.
    ///
    /// Fails with `InvalidHTTPHeader` when the bytes are not an RFC 9110 token (empty,
    /// or holding a space, a colon, a control or a non-ASCII byte, ...).
    ///
    /// ```
    /// use pingora_http::CaseHeaderName;
    /// use pingora_error::ErrorType;
    ///
    /// let name = CaseHeaderName::from_static("Accept").header_name().unwrap();
    /// assert_eq!(name, http::header::ACCEPT);
    ///
    /// let err = CaseHeaderName::from_static("Bad Name").header_name().unwrap_err();
    /// assert_eq!(err.etype(), &ErrorType::InvalidHTTPHeader);
    /// ```
    pub fn header_name(&self) -> Result<HeaderName> {
        match &self.0 {
            Spelling::Wire(bytes) => validate::header_name(bytes),
            Spelling::Name(name) => Ok(name.clone()),
        }
    }

    /// Splits into the validated name and the wire spelling when it differs from the name's
    /// default one ([`default_spelling`]): `None` means "write it the default way".
    #[inline]
    pub(crate) fn into_parts(self) -> Result<(HeaderName, Option<Bytes>)> {
        match self.0 {
            Spelling::Wire(bytes) => {
                let (name, is_default) = match well_known(&bytes) {
                    Some(found) => found,
                    None => {
                        let name = validate::header_name(&bytes)?;
                        // Other names are written in lower case by default.
                        (name, !bytes.iter().any(u8::is_ascii_uppercase))
                    }
                };
                Ok((name, (!is_default).then_some(bytes)))
            }
            Spelling::Name(name) => Ok((name, None)),
        }
    }
}

impl From<HeaderName> for CaseHeaderName {
    fn from(name: HeaderName) -> Self {
        CaseHeaderName(Spelling::Name(name))
    }
}

impl AsRef<[u8]> for CaseHeaderName {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl PartialEq for CaseHeaderName {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for CaseHeaderName {}

impl Hash for CaseHeaderName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl fmt::Debug for CaseHeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CaseHeaderName(\"{}\")", self.as_bytes().escape_ascii())
    }
}

/// A header name, possibly with a wire spelling: what [`RequestHeader`](crate::RequestHeader)
/// and [`ResponseHeader`](crate::ResponseHeader) accept when adding a header.
///
/// Strings and [`Bytes`] carry a spelling, which is written out as given (when the header
/// tracks case). A [`HeaderName`] carries none and is written in the default form:
/// Title-Case for well-known names, else lower case.
///
/// ```
/// use pingora_http::{CaseHeaderName, IntoCaseHeaderName};
///
/// fn spelling(name: impl IntoCaseHeaderName) -> Vec<u8> {
///     name.into_case_header_name().as_bytes().to_vec()
/// }
/// assert_eq!(spelling("X-Static"), b"X-Static");
/// assert_eq!(spelling(String::from("X-Owned")), b"X-Owned");
/// assert_eq!(spelling(bytes::Bytes::from_static(b"X-Bytes")), b"X-Bytes");
/// assert_eq!(spelling(http::header::HOST), b"Host");
/// assert_eq!(spelling(&http::header::ETAG), b"ETag");
/// assert_eq!(spelling(CaseHeaderName::from_static("x-Given")), b"x-Given");
/// ```
pub trait IntoCaseHeaderName {
    /// Converts `self` into a [`CaseHeaderName`].
    fn into_case_header_name(self) -> CaseHeaderName;
}

impl IntoCaseHeaderName for CaseHeaderName {
    fn into_case_header_name(self) -> CaseHeaderName {
        self
    }
}

impl IntoCaseHeaderName for &'static str {
    fn into_case_header_name(self) -> CaseHeaderName {
        CaseHeaderName::from_static(self)
    }
}

impl IntoCaseHeaderName for String {
    fn into_case_header_name(self) -> CaseHeaderName {
        CaseHeaderName::new(self)
    }
}

impl IntoCaseHeaderName for Bytes {
    fn into_case_header_name(self) -> CaseHeaderName {
        CaseHeaderName::new(self)
    }
}

impl IntoCaseHeaderName for HeaderName {
    fn into_case_header_name(self) -> CaseHeaderName {
        CaseHeaderName::from(self)
    }
}

impl IntoCaseHeaderName for &HeaderName {
    fn into_case_header_name(self) -> CaseHeaderName {
        CaseHeaderName::from(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_spelling_splits_into_lowercase_name_and_original_bytes() {
        let (name, spelling) = "X-Foo-Bar".into_case_header_name().into_parts().unwrap();
        assert_eq!(name.as_str(), "x-foo-bar");
        assert_eq!(spelling.as_deref(), Some(&b"X-Foo-Bar"[..]));
    }

    #[test]
    fn header_name_has_no_spelling_of_its_own() {
        let (name, spelling) = http::header::VARY
            .into_case_header_name()
            .into_parts()
            .unwrap();
        assert_eq!(name, http::header::VARY);
        assert_eq!(spelling, None);
    }

    #[test]
    fn invalid_spelling_is_rejected_when_split() {
        let err = CaseHeaderName::from_static("X:Y").into_parts().unwrap_err();
        assert_eq!(err.etype(), &pingora_error::ErrorType::InvalidHTTPHeader);
    }

    #[test]
    fn equality_is_case_sensitive_and_hash_follows_it() {
        use std::collections::HashSet;
        let a = CaseHeaderName::from_static("Host");
        assert_eq!(a, CaseHeaderName::from(http::header::HOST));
        assert_ne!(a, CaseHeaderName::from_static("host"));
        let set: HashSet<_> = [a.clone(), CaseHeaderName::new("Host")]
            .into_iter()
            .collect();
        assert_eq!(set.len(), 1);
        assert_eq!(a.as_ref(), b"Host");
    }

    #[test]
    fn debug_shows_the_escaped_spelling() {
        let name = CaseHeaderName::new(Bytes::from_static(b"X-\x01"));
        assert_eq!(format!("{name:?}"), r#"CaseHeaderName("X-\x01")"#);
    }
}
