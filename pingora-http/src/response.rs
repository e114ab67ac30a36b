//! [`ResponseHeader`]: a response head (status, reason, version, headers) that remembers
//! how its header names were spelled on the wire.

use std::ops::{Deref, DerefMut};

use bytes::BufMut;
use http::header::{AsHeaderName, CONTENT_LENGTH};
use http::response::Parts;
use http::{HeaderValue, StatusCode, Version};
use pingora_error::Result;

use crate::case_name::IntoCaseHeaderName;
use crate::request::{h1_version, header_map};
use crate::validate;
use crate::wire_names::WireNames;

/// An HTTP response head: [`http::response::Parts`] plus the wire spelling of header
/// names and an optional custom reason phrase.
///
/// It dereferences to [`http::response::Parts`], so `resp.status`, `resp.version` and
/// `resp.headers` read (and write) as usual. Add, replace and remove headers through
/// [`append_header`](Self::append_header), [`insert_header`](Self::insert_header) and
/// [`remove_header`](Self::remove_header) to keep name spellings in step; headers changed
/// directly in `resp.headers` are still written, in the default spelling (Title-Case for
/// well-known names, else lower case).
///
/// ```
/// use pingora_http::ResponseHeader;
///
/// let mut resp = ResponseHeader::build(404, None).unwrap();
/// resp.insert_header("Server", "pingora-rs").unwrap();
/// resp.set_content_length(0).unwrap();
///
/// let mut wire = Vec::new();
/// resp.status_line_to_h1_wire(&mut wire);
/// resp.header_to_h1_wire(&mut wire);
/// assert_eq!(wire, b"HTTP/1.1 404 Not Found\r\nServer: pingora-rs\r\nContent-Length: 0\r\n");
/// ```
#[derive(Debug, Clone)]
pub struct ResponseHeader {
    base: Parts,
    names: WireNames,
    /// A reason phrase other than the status code's canonical one.
    reason_phrase: Option<String>,
}

impl ResponseHeader {
    fn with_names(
        code: impl TryInto<StatusCode>,
        size_hint: Option<usize>,
        names: WireNames,
    ) -> Result<Self> {
        let (mut base, ()) = http::Response::new(()).into_parts();
        base.status = status_code(code)?;
        base.headers = header_map(size_hint)?;
        Ok(ResponseHeader {
            base,
            names,
            reason_phrase: None,
        })
    }

    /// A response head with status `code`, version HTTP/1.1, no headers yet and room for
    /// about `size_hint` of them. Header names added later are written as they were
    /// spelled. Fails with `InvalidHTTPHeader` unless `code` is in 100..=999.
    ///
    /// ```
    /// use pingora_http::ResponseHeader;
    ///
    /// let resp = ResponseHeader::build(http::StatusCode::OK, Some(4)).unwrap();
    /// assert_eq!(resp.status, 200);
    /// assert!(resp.has_case());
    /// assert!(ResponseHeader::build(1000, None).is_err());
    /// ```
    pub fn build(code: impl TryInto<StatusCode>, size_hint: Option<usize>) -> Result<Self> {
        Self::with_names(code, size_hint, WireNames::tracking())
    }

    /// Like [`build`](Self::build), but the spelling of header names is not tracked:
    /// every name is written in its default form (Title-Case for well-known names, else
    /// lower case).
    ///
    /// ```
    /// use pingora_http::ResponseHeader;
    ///
    /// let mut resp = ResponseHeader::build_no_case(200, None).unwrap();
    /// resp.insert_header("cache-CONTROL", "no-store").unwrap();
    /// let mut wire = Vec::new();
    /// resp.header_to_h1_wire(&mut wire);
    /// assert_eq!(wire, b"Cache-Control: no-store\r\n");
    /// ```
    pub fn build_no_case(code: impl TryInto<StatusCode>, size_hint: Option<usize>) -> Result<Self> {
        Self::with_names(code, size_hint, WireNames::untracked())
    }

    /// Appends a header, keeping the values already present under the name; returns
    /// whether the name was present before. The name's spelling becomes `name`'s (when
    /// case is tracked), for all its values.
    ///
    /// Fails with `InvalidHTTPHeader` if the name is not an RFC 9110 token, or the value
    /// holds a control byte other than HTAB, or DEL, or starts or ends with whitespace.
    ///
    /// ```
    /// use pingora_http::ResponseHeader;
    ///
    /// let mut resp = ResponseHeader::build(200, None).unwrap();
    /// resp.append_header("Set-Cookie", "a=1").unwrap();
    /// assert!(resp.append_header("Set-Cookie", "b=2").unwrap());
    /// assert_eq!(resp.headers.get_all("set-cookie").iter().count(), 2);
    /// assert!(resp.append_header("Bad:Name", "x").is_err());
    /// ```
    pub fn append_header(
        &mut self,
        name: impl IntoCaseHeaderName,
        value: impl TryInto<HeaderValue>,
    ) -> Result<bool> {
        self.names.append(&mut self.base.headers, name, value)
    }

    /// Sets a header to `value`, replacing every value present under the name; the
    /// name's spelling becomes `name`'s. Fails like [`append_header`](Self::append_header).
    ///
    /// ```
    /// use pingora_http::ResponseHeader;
    ///
    /// let mut resp = ResponseHeader::build(200, None).unwrap();
    /// resp.append_header("vary", "accept").unwrap();
    /// resp.insert_header("VARY", "*").unwrap();
    /// let mut wire = Vec::new();
    /// resp.header_to_h1_wire(&mut wire);
    /// assert_eq!(wire, b"VARY: *\r\n");
    /// ```
    pub fn insert_header(
        &mut self,
        name: impl IntoCaseHeaderName,
        value: impl TryInto<HeaderValue>,
    ) -> Result<()> {
        self.names.insert(&mut self.base.headers, name, value)
    }

    /// Removes every value of the header `name` (matched case-insensitively) and its
    /// spelling; returns the first value, or `None` if there was none.
    ///
    /// ```
    /// use pingora_http::ResponseHeader;
    ///
    /// let mut resp = ResponseHeader::build(200, None).unwrap();
    /// resp.insert_header("X-Powered-By", "magic").unwrap();
    /// assert_eq!(resp.remove_header("x-powered-by").unwrap(), "magic");
    /// assert!(resp.remove_header("x-powered-by").is_none());
    /// ```
    pub fn remove_header<'a, N: ?Sized>(&mut self, name: &'a N) -> Option<HeaderValue>
    where
        &'a N: 'a + AsHeaderName,
    {
        self.names.remove(&mut self.base.headers, name)
    }

    /// Writes every header as `Name: value\r\n` into `buf`, names spelled as recorded.
    ///
    /// Only the header lines are written: not the status line (see
    /// [`status_line_to_h1_wire`](Self::status_line_to_h1_wire)) nor the empty line that
    /// ends the head. The order is that of the underlying [`HeaderMap`](http::HeaderMap),
    /// as described at [`RequestHeader::header_to_h1_wire`](crate::RequestHeader::header_to_h1_wire).
    ///
    /// ```
    /// use pingora_http::ResponseHeader;
    ///
    /// let mut resp = ResponseHeader::build(200, None).unwrap();
    /// resp.append_header("X-Cache", "HIT").unwrap();
    /// let mut wire = bytes::BytesMut::new();
    /// resp.header_to_h1_wire(&mut wire);
    /// assert_eq!(&wire[..], b"X-Cache: HIT\r\n");
    /// ```
    pub fn header_to_h1_wire(&self, buf: &mut impl BufMut) {
        self.names.write_h1(&self.base.headers, buf);
    }

    /// Writes the HTTP/1 status line, `HTTP/1.x code reason\r\n`, into `buf`. The reason
    /// is [`get_reason_phrase`](Self::get_reason_phrase), or empty when there is none (the
    /// space before it stays, as RFC 9112 requires); the version is `HTTP/1.0` for
    /// HTTP/1.0 (and 0.9) responses, else `HTTP/1.1`.
    ///
    /// ```
    /// use pingora_http::ResponseHeader;
    ///
    /// let mut wire = Vec::new();
    /// ResponseHeader::build(599, None).unwrap().status_line_to_h1_wire(&mut wire);
    /// assert_eq!(wire, b"HTTP/1.1 599 \r\n");
    /// ```
    pub fn status_line_to_h1_wire(&self, buf: &mut impl BufMut) {
        buf.put_slice(h1_version(self.base.version));
        buf.put_u8(b' ');
        buf.put_slice(self.base.status.as_str().as_bytes());
        buf.put_u8(b' ');
        buf.put_slice(self.get_reason_phrase().unwrap_or("").as_bytes());
        buf.put_slice(b"\r\n");
    }

    /// Every header as (name as written on the wire, value), in the order
    /// [`header_to_h1_wire`](Self::header_to_h1_wire) writes them.
    ///
    /// ```
    /// use pingora_http::ResponseHeader;
    ///
    /// let mut resp = ResponseHeader::build(200, None).unwrap();
    /// resp.append_header("X-Served-By", "edge-1").unwrap();
    /// let (name, value) = resp.case_header_iter().next().unwrap();
    /// assert_eq!((name, value.as_bytes()), (&b"X-Served-By"[..], &b"edge-1"[..]));
    /// ```
    pub fn case_header_iter(&self) -> impl Iterator<Item = (&[u8], &HeaderValue)> {
        self.names.iter(&self.base.headers)
    }

    /// Whether this header records the spelling of header names: true when made by
    /// [`build`](Self::build), false when made by [`build_no_case`](Self::build_no_case)
    /// or from [`Parts`].
    ///
    /// ```
    /// use pingora_http::ResponseHeader;
    ///
    /// assert!(ResponseHeader::build(200, None).unwrap().has_case());
    /// assert!(!ResponseHeader::build_no_case(200, None).unwrap().has_case());
    /// ```
    pub fn has_case(&self) -> bool {
        self.names.is_tracking()
    }

    /// Sets the status code, and drops any custom reason phrase (which was written for
    /// the old status). Fails with `InvalidHTTPHeader` unless `status` is in 100..=999,
    /// leaving the header unchanged.
    ///
    /// ```
    /// use pingora_http::ResponseHeader;
    ///
    /// let mut resp = ResponseHeader::build(200, None).unwrap();
    /// resp.set_reason_phrase(Some("Fine")).unwrap();
    /// resp.set_status(503).unwrap();
    /// assert_eq!(resp.status, 503);
    /// assert_eq!(resp.get_reason_phrase(), Some("Service Unavailable"));
    /// assert!(resp.set_status(42).is_err());
    /// ```
    pub fn set_status(&mut self, status: impl TryInto<StatusCode>) -> Result<()> {
        self.base.status = status_code(status)?;
        self.reason_phrase = None;
        Ok(())
    }

    /// Sets the HTTP version.
    ///
    /// ```
    /// use pingora_http::ResponseHeader;
    ///
    /// let mut resp = ResponseHeader::build(200, None).unwrap();
    /// resp.set_version(http::Version::HTTP_10);
    /// assert_eq!(resp.version, http::Version::HTTP_10);
    /// ```
    pub fn set_version(&mut self, version: Version) {
        self.base.version = version;
    }

    /// Sets the reason phrase written after the status code; `None` goes back to the
    /// status code's canonical phrase. Fails with `InvalidHTTPHeader` if `reason` holds a
    /// control byte other than HTAB, or DEL (RFC 9112 §4), leaving the header unchanged.
    ///
    /// ```
    /// use pingora_http::ResponseHeader;
    ///
    /// let mut resp = ResponseHeader::build(200, None).unwrap();
    /// resp.set_reason_phrase(Some("Totally Fine")).unwrap();
    /// assert_eq!(resp.get_reason_phrase(), Some("Totally Fine"));
    /// resp.set_reason_phrase(None).unwrap();
    /// assert_eq!(resp.get_reason_phrase(), Some("OK"));
    /// assert!(resp.set_reason_phrase(Some("OK\r\nX-Injected: 1")).is_err());
    /// ```
    pub fn set_reason_phrase(&mut self, reason: Option<&str>) -> Result<()> {
        self.reason_phrase = match reason {
            Some(reason) => {
                validate::reason_phrase(reason)?;
                // The canonical phrase needs no copy: it is what `None` stands for.
                (self.base.status.canonical_reason() != Some(reason)).then(|| reason.to_string())
            }
            None => None,
        };
        Ok(())
    }

    /// The reason phrase: the one set by [`set_reason_phrase`](Self::set_reason_phrase),
    /// else the status code's canonical phrase, else (for unregistered codes) `None`.
    ///
    /// ```
    /// use pingora_http::ResponseHeader;
    ///
    /// assert_eq!(ResponseHeader::build(418, None).unwrap().get_reason_phrase(), Some("I'm a teapot"));
    /// assert_eq!(ResponseHeader::build(599, None).unwrap().get_reason_phrase(), None);
    /// ```
    pub fn get_reason_phrase(&self) -> Option<&str> {
        self.reason_phrase
            .as_deref()
            .or_else(|| self.base.status.canonical_reason())
    }

    /// Sets the `Content-Length` header to `len`, replacing any value it had.
    ///
    /// ```
    /// use pingora_http::ResponseHeader;
    ///
    /// let mut resp = ResponseHeader::build(200, None).unwrap();
    /// resp.set_content_length(1024).unwrap();
    /// assert_eq!(resp.headers["content-length"], "1024");
    /// ```
    pub fn set_content_length(&mut self, len: usize) -> Result<()> {
        self.insert_header(CONTENT_LENGTH, len)
    }

    /// A copy of the status, version, headers and extensions as [`Parts`], for code that
    /// takes `http` types. Neither the spelling of names nor a custom reason phrase is
    /// part of it.
    ///
    /// ```
    /// use pingora_http::ResponseHeader;
    ///
    /// let mut resp = ResponseHeader::build(201, None).unwrap();
    /// resp.insert_header("Location", "/items/7").unwrap();
    /// let parts = resp.as_owned_parts();
    /// assert_eq!(parts.status, 201);
    /// assert_eq!(parts.headers["location"], "/items/7");
    /// ```
    pub fn as_owned_parts(&self) -> Parts {
        self.base.clone()
    }
}

fn status_code(code: impl TryInto<StatusCode>) -> Result<StatusCode> {
    code.try_into()
        .map_err(|_| validate::invalid("status code is not a number in 100..=999"))
}

impl Deref for ResponseHeader {
    type Target = Parts;

    fn deref(&self) -> &Parts {
        &self.base
    }
}

impl DerefMut for ResponseHeader {
    fn deref_mut(&mut self) -> &mut Parts {
        &mut self.base
    }
}

/// A response head from `http` parts, such as an HTTP/2 response: names have no
/// recorded spelling ([`has_case`](ResponseHeader::has_case) is false).
///
/// ```
/// use pingora_http::ResponseHeader;
///
/// let response = http::Response::builder().status(204).header("etag", "\"v1\"").body(()).unwrap();
/// let resp = ResponseHeader::from(response.into_parts().0);
/// let mut wire = Vec::new();
/// resp.header_to_h1_wire(&mut wire);
/// assert_eq!(wire, b"ETag: \"v1\"\r\n");
/// ```
impl From<Parts> for ResponseHeader {
    fn from(base: Parts) -> Self {
        ResponseHeader {
            base,
            names: WireNames::untracked(),
            reason_phrase: None,
        }
    }
}

#[cfg(test)]
mod tests;
