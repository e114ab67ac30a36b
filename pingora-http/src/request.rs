//! [`RequestHeader`]: a request head (method, target, version, headers) that remembers how
//! its header names and its target were spelled on the wire.

use std::ops::{Deref, DerefMut};

use bytes::BufMut;
use http::header::AsHeaderName;
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, Uri, Version};
use pingora_error::{ErrorType, OrErr, Result};

use crate::case_name::IntoCaseHeaderName;
use crate::request_target::{self, RawTarget};
use crate::validate;
use crate::wire_names::WireNames;

/// Capacity asked of the header map at most, whatever the size hint says.
const MAX_SIZE_HINT: usize = 1024;

/// Room left beyond a size hint: filters commonly add a header or two (`X-Forwarded-For`,
/// `Via`, a tracing id) to a parsed head, and a full map rebuilds its whole index to take
/// one more (about 1,000 instructions for a dozen headers, measured with callgrind).
const ROOM_TO_ADD: usize = 4;

pub(crate) fn header_map(size_hint: Option<usize>) -> Result<HeaderMap> {
    let capacity = size_hint.map_or(0, |hint| hint.min(MAX_SIZE_HINT) + ROOM_TO_ADD);
    HeaderMap::try_with_capacity(capacity).or_err(
        ErrorType::InternalError,
        "header map capacity (an invariant: capped below the map's limit)",
    )
}

/// An HTTP request head: [`http::request::Parts`] plus the wire spelling of header
/// names and the request target as received.
///
/// It dereferences to [`http::request::Parts`], so `req.method`, `req.uri`,
/// `req.version` and `req.headers` read (and write) as usual. Add, replace and remove
/// headers through [`append_header`](Self::append_header),
/// [`insert_header`](Self::insert_header) and [`remove_header`](Self::remove_header) to
/// keep name spellings in step; headers changed directly in `req.headers` are still
/// written, in the default spelling (Title-Case for well-known names, else lower case).
///
/// ```
/// use pingora_http::RequestHeader;
///
/// let mut req = RequestHeader::build("GET", b"/index.html", None).unwrap();
/// req.insert_header("Host", "example.com").unwrap();
/// req.append_header("X-CamelCase", "1").unwrap();
/// assert_eq!(req.method, http::Method::GET);
/// assert_eq!(req.headers["x-camelcase"], "1");
///
/// let mut wire = Vec::new();
/// req.request_line_to_h1_wire(&mut wire);
/// req.header_to_h1_wire(&mut wire);
/// assert_eq!(wire, b"GET /index.html HTTP/1.1\r\nHost: example.com\r\nX-CamelCase: 1\r\n");
/// ```
#[derive(Debug, Clone)]
pub struct RequestHeader {
    base: Parts,
    names: WireNames,
    raw_target: Option<RawTarget>,
    send_end_stream: bool,
}

impl RequestHeader {
    fn with_names(
        method: impl TryInto<Method>,
        path: &[u8],
        size_hint: Option<usize>,
        names: WireNames,
    ) -> Result<Self> {
        let (mut base, ()) = http::Request::new(()).into_parts();
        base.method = method
            .try_into()
            .map_err(|_| validate::invalid("request method is not an RFC 9110 token"))?;
        base.headers = header_map(size_hint)?;
        let mut header = RequestHeader {
            base,
            names,
            raw_target: None,
            send_end_stream: true,
        };
        header.set_raw_path(path)?;
        Ok(header)
    }

    /// A request head for `method` and the request target `path`, version HTTP/1.1,
    /// with no headers yet and room for about `size_hint` of them. Header names added
    /// later are written as they were spelled.
    ///
    /// `path` is kept as given (see [`raw_path`](Self::raw_path)) even when it is not a
    /// valid URI. Fails with `InvalidHTTPHeader` when the method is not a token or the
    /// path is empty or holds whitespace or control bytes.
    ///
    /// ```
    /// use pingora_http::RequestHeader;
    ///
    /// let req = RequestHeader::build(http::Method::POST, b"/upload?id=7", Some(8)).unwrap();
    /// assert_eq!(req.uri.path(), "/upload");
    /// assert!(req.has_case());
    /// assert!(RequestHeader::build("BAD METHOD", b"/", None).is_err());
    /// assert!(RequestHeader::build("GET", b"/a b", None).is_err());
    /// ```
    pub fn build(
        method: impl TryInto<Method>,
        path: &[u8],
        size_hint: Option<usize>,
    ) -> Result<Self> {
        Self::with_names(method, path, size_hint, WireNames::tracking())
    }

    /// Like [`build`](Self::build), but the spelling of header names is not tracked:
    /// every name is written in its default form (Title-Case for well-known names, else
    /// lower case). Suits headers bound for HTTP/2, where names are lower case anyway.
    ///
    /// ```
    /// use pingora_http::RequestHeader;
    ///
    /// let mut req = RequestHeader::build_no_case("GET", b"/", None).unwrap();
    /// req.insert_header("user-AGENT", "curl").unwrap();
    /// req.insert_header("X-Custom", "1").unwrap();
    /// assert!(!req.has_case());
    /// let mut wire = Vec::new();
    /// req.header_to_h1_wire(&mut wire);
    /// assert_eq!(wire, b"User-Agent: curl\r\nx-custom: 1\r\n");
    /// ```
    pub fn build_no_case(
        method: impl TryInto<Method>,
        path: &[u8],
        size_hint: Option<usize>,
    ) -> Result<Self> {
        Self::with_names(method, path, size_hint, WireNames::untracked())
    }

    /// Appends a header, keeping the values already present under the name; returns
    /// whether the name was present before. The name's spelling becomes `name`'s (when
    /// case is tracked), for all its values.
    ///
    /// This is also the fast path for an HTTP/1 parser: pass the name as [`Bytes`](bytes::Bytes)
    /// sliced from the read buffer and the value as a [`HeaderValue`] made with
    /// [`HeaderValue::from_maybe_shared`], and neither is copied (beyond what `http`
    /// itself does for names it does not know).
    ///
    /// Fails with `InvalidHTTPHeader` if the name is not an RFC 9110 token, or the value
    /// holds a control byte other than HTAB, or DEL, or starts or ends with whitespace.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use http::HeaderValue;
    /// use pingora_http::RequestHeader;
    ///
    /// let mut req = RequestHeader::build("GET", b"/", None).unwrap();
    /// assert!(!req.append_header("Accept", "text/html").unwrap());
    /// assert!(req.append_header("Accept", "*/*").unwrap());
    ///
    /// let buffer = Bytes::from_static(b"X-Trace: abc");
    /// let value = HeaderValue::from_maybe_shared(buffer.slice(9..)).unwrap();
    /// req.append_header(buffer.slice(..7), value).unwrap();
    ///
    /// let values: Vec<_> = req.headers.get_all("accept").iter().collect();
    /// assert_eq!(values, ["text/html", "*/*"]);
    /// assert!(req.append_header("X-Bad", "a\r\nInjected: 1").is_err());
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
    /// use pingora_http::RequestHeader;
    ///
    /// let mut req = RequestHeader::build("GET", b"/", None).unwrap();
    /// req.append_header("x-id", "1").unwrap();
    /// req.append_header("x-id", "2").unwrap();
    /// req.insert_header("X-Id", "3").unwrap();
    /// let mut wire = Vec::new();
    /// req.header_to_h1_wire(&mut wire);
    /// assert_eq!(wire, b"X-Id: 3\r\n");
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
    /// use pingora_http::RequestHeader;
    ///
    /// let mut req = RequestHeader::build("GET", b"/", None).unwrap();
    /// req.append_header("X-Drop", "1").unwrap();
    /// req.append_header("X-Drop", "2").unwrap();
    /// assert_eq!(req.remove_header("x-drop").unwrap(), "1");
    /// assert!(req.remove_header(&http::header::HOST).is_none());
    /// assert!(req.headers.is_empty());
    /// ```
    pub fn remove_header<'a, N: ?Sized>(&mut self, name: &'a N) -> Option<HeaderValue>
    where
        &'a N: 'a + AsHeaderName,
    {
        self.names.remove(&mut self.base.headers, name)
    }

    /// Writes every header as `Name: value\r\n` into `buf`, names spelled as recorded.
    ///
    /// Only the header lines are written: not the request line (see
    /// [`request_line_to_h1_wire`](Self::request_line_to_h1_wire)) nor the empty line
    /// that ends the head. Headers come out in the order of the underlying
    /// [`HeaderMap`]: names in the order they were first added, each name's values
    /// together and in the order they were added. (So `A, B, A` is written `A, A, B`,
    /// which RFC 9110 §5.3 allows; and removing a name may move the last name into its
    /// place.)
    ///
    /// ```
    /// use pingora_http::RequestHeader;
    ///
    /// let mut req = RequestHeader::build("GET", b"/", None).unwrap();
    /// req.append_header("content-length", "0").unwrap();
    /// req.append_header("X-A", "1").unwrap();
    /// let mut wire = bytes::BytesMut::new();
    /// req.header_to_h1_wire(&mut wire);
    /// assert_eq!(&wire[..], b"content-length: 0\r\nX-A: 1\r\n");
    /// ```
    pub fn header_to_h1_wire(&self, buf: &mut impl BufMut) {
        self.names.write_h1(&self.base.headers, buf);
    }

    /// Writes the HTTP/1 request line, `METHOD target HTTP/1.x\r\n`, into `buf`: the
    /// target is [`raw_path`](Self::raw_path); the version is `HTTP/1.0` for HTTP/1.0 (and
    /// 0.9) requests, else `HTTP/1.1`, since only those go on an HTTP/1 wire.
    ///
    /// ```
    /// use pingora_http::RequestHeader;
    ///
    /// let mut req = RequestHeader::build("HEAD", b"/a?b", None).unwrap();
    /// req.set_version(http::Version::HTTP_10);
    /// let mut wire = Vec::new();
    /// req.request_line_to_h1_wire(&mut wire);
    /// assert_eq!(wire, b"HEAD /a?b HTTP/1.0\r\n");
    /// ```
    pub fn request_line_to_h1_wire(&self, buf: &mut impl BufMut) {
        buf.put_slice(self.base.method.as_str().as_bytes());
        buf.put_u8(b' ');
        buf.put_slice(self.raw_path());
        buf.put_u8(b' ');
        buf.put_slice(h1_version(self.base.version));
        buf.put_slice(b"\r\n");
    }

    /// Every header as (name as written on the wire, value), in the order
    /// [`header_to_h1_wire`](Self::header_to_h1_wire) writes them.
    ///
    /// ```
    /// use pingora_http::RequestHeader;
    ///
    /// let mut req = RequestHeader::build("GET", b"/", None).unwrap();
    /// req.append_header("X-Mixed-Case", "1").unwrap();
    /// req.append_header("host", "example.com").unwrap();
    /// let names: Vec<&[u8]> = req.case_header_iter().map(|(name, _)| name).collect();
    /// assert_eq!(names, [&b"X-Mixed-Case"[..], b"host"]);
    /// ```
    pub fn case_header_iter(&self) -> impl Iterator<Item = (&[u8], &HeaderValue)> {
        self.names.iter(&self.base.headers)
    }

    /// Whether this header records the spelling of header names: true when made by
    /// [`build`](Self::build), false when made by [`build_no_case`](Self::build_no_case)
    /// or from [`Parts`].
    ///
    /// ```
    /// use pingora_http::RequestHeader;
    ///
    /// assert!(RequestHeader::build("GET", b"/", None).unwrap().has_case());
    /// let (parts, ()) = http::Request::new(()).into_parts();
    /// assert!(!RequestHeader::from(parts).has_case());
    /// ```
    pub fn has_case(&self) -> bool {
        self.names.is_tracking()
    }

    /// Sets the method.
    ///
    /// ```
    /// use pingora_http::RequestHeader;
    ///
    /// let mut req = RequestHeader::build("GET", b"/", None).unwrap();
    /// req.set_method(http::Method::DELETE);
    /// assert_eq!(req.method, http::Method::DELETE);
    /// ```
    pub fn set_method(&mut self, method: Method) {
        self.base.method = method;
    }

    /// Sets the URI; [`raw_path`](Self::raw_path) then follows it.
    ///
    /// ```
    /// use pingora_http::RequestHeader;
    ///
    /// let mut req = RequestHeader::build("GET", b"/old", None).unwrap();
    /// req.set_uri(http::Uri::from_static("/new?x=1"));
    /// assert_eq!(req.raw_path(), b"/new?x=1");
    /// ```
    pub fn set_uri(&mut self, uri: Uri) {
        self.base.uri = uri;
        self.raw_target = None;
    }

    /// Sets the request target from bytes, as an HTTP/1 parser sees them. The URI is
    /// parsed from them; when that fails (non-UTF-8 or URI-invalid bytes) the URI gets a
    /// percent-encoded form, while [`raw_path`](Self::raw_path) keeps the bytes exactly.
    ///
    /// Fails with `InvalidHTTPHeader`, leaving the request unchanged, when `path` is empty,
    /// holds whitespace or control bytes, or forms no URI even percent-encoded (longer than
    /// 65534 bytes, or neither starting with `/` nor in absolute or authority form).
    ///
    /// ```
    /// use pingora_http::RequestHeader;
    ///
    /// let mut req = RequestHeader::build("GET", b"/", None).unwrap();
    /// req.set_raw_path(b"/caf\xe9|menu").unwrap();
    /// assert_eq!(req.raw_path(), b"/caf\xe9|menu");
    /// assert_eq!(req.uri.path(), "/caf%E9%7Cmenu");
    /// assert!(req.set_raw_path(b"/a\r\nHost: evil").is_err());
    /// assert_eq!(req.raw_path(), b"/caf\xe9|menu");
    /// ```
    pub fn set_raw_path(&mut self, path: &[u8]) -> Result<()> {
        let (uri, raw_target) = request_target::parse(path)?;
        self.base.uri = uri;
        self.raw_target = raw_target;
        Ok(())
    }

    /// The request target as received (by [`build`](Self::build) or
    /// [`set_raw_path`](Self::set_raw_path)), byte for byte, even when it is not a valid
    /// URI. Once the URI is replaced (by [`set_uri`](Self::set_uri) or by writing
    /// `req.uri`) it is the URI's path and query; its authority alone for an
    /// authority-form URI; `/` for a URI without a path.
    ///
    /// ```
    /// use pingora_http::RequestHeader;
    ///
    /// let mut req = RequestHeader::build("GET", b"/%7e/\xff#frag", None).unwrap();
    /// assert_eq!(req.raw_path(), b"/%7e/\xff#frag");
    /// req.uri = http::Uri::from_static("https://example.com/fresh?q");
    /// assert_eq!(req.raw_path(), b"/fresh?q");
    /// ```
    pub fn raw_path(&self) -> &[u8] {
        if let Some(raw) = self
            .raw_target
            .as_ref()
            .and_then(|raw| raw.bytes_for(&self.base.uri))
        {
            return raw;
        }
        request_target::uri_target(&self.base.uri)
    }

    /// The extension of the file the URI path names: what follows the last `.` of the
    /// last path segment (not counting a leading dot). `None` when there is none.
    ///
    /// ```
    /// use pingora_http::RequestHeader;
    ///
    /// let req = RequestHeader::build("GET", b"/static/app.min.js?v=3", None).unwrap();
    /// assert_eq!(req.uri_file_extension(), Some("js"));
    /// let req = RequestHeader::build("GET", b"/v1.2/items", None).unwrap();
    /// assert_eq!(req.uri_file_extension(), None);
    /// ```
    pub fn uri_file_extension(&self) -> Option<&str> {
        request_target::file_extension(self.base.uri.path())
    }

    /// Sets the HTTP version.
    ///
    /// ```
    /// use pingora_http::RequestHeader;
    ///
    /// let mut req = RequestHeader::build("GET", b"/", None).unwrap();
    /// req.set_version(http::Version::HTTP_2);
    /// assert_eq!(req.version, http::Version::HTTP_2);
    /// ```
    pub fn set_version(&mut self, version: Version) {
        self.base.version = version;
    }

    /// Sets whether an HTTP/2 request with no body ends its stream with the HEADERS frame
    /// (the default, `true`) rather than with a separate empty DATA frame.
    ///
    /// ```
    /// use pingora_http::RequestHeader;
    ///
    /// let mut req = RequestHeader::build("GET", b"/", None).unwrap();
    /// req.set_version(http::Version::HTTP_2);
    /// req.set_send_end_stream(false);
    /// assert_eq!(req.send_end_stream(), Some(false));
    /// ```
    pub fn set_send_end_stream(&mut self, send_end_stream: bool) {
        self.send_end_stream = send_end_stream;
    }

    /// For an HTTP/2 request, whether a body-less request ends its stream with the HEADERS
    /// frame (see [`set_send_end_stream`](Self::set_send_end_stream)); `None` for other
    /// versions, where the question does not arise.
    ///
    /// ```
    /// use pingora_http::RequestHeader;
    ///
    /// let mut req = RequestHeader::build("GET", b"/", None).unwrap();
    /// assert_eq!(req.send_end_stream(), None);
    /// req.set_version(http::Version::HTTP_2);
    /// assert_eq!(req.send_end_stream(), Some(true));
    /// ```
    pub fn send_end_stream(&self) -> Option<bool> {
        (self.base.version == Version::HTTP_2).then_some(self.send_end_stream)
    }

    /// A copy of the method, URI, version, headers and extensions as [`Parts`], for
    /// code that takes `http` types. The spelling of names is not part of it.
    ///
    /// ```
    /// use pingora_http::RequestHeader;
    ///
    /// let mut req = RequestHeader::build("PUT", b"/k", None).unwrap();
    /// req.insert_header("X-Key", "v").unwrap();
    /// let parts = req.as_owned_parts();
    /// assert_eq!(parts.method, http::Method::PUT);
    /// assert_eq!(parts.headers["x-key"], "v");
    /// ```
    pub fn as_owned_parts(&self) -> Parts {
        self.base.clone()
    }
}

/// The version token of an HTTP/1 start line.
pub(crate) fn h1_version(version: Version) -> &'static [u8] {
    if version == Version::HTTP_10 || version == Version::HTTP_09 {
        b"HTTP/1.0"
    } else {
        b"HTTP/1.1"
    }
}

impl Deref for RequestHeader {
    type Target = Parts;

    fn deref(&self) -> &Parts {
        &self.base
    }
}

impl DerefMut for RequestHeader {
    fn deref_mut(&mut self) -> &mut Parts {
        &mut self.base
    }
}

/// A request head from `http` parts, such as an HTTP/2 request: names have no recorded
/// spelling ([`has_case`](RequestHeader::has_case) is false).
///
/// ```
/// use pingora_http::RequestHeader;
///
/// let request = http::Request::get("/x").header("content-type", "a/b").body(()).unwrap();
/// let req = RequestHeader::from(request.into_parts().0);
/// let mut wire = Vec::new();
/// req.header_to_h1_wire(&mut wire);
/// assert_eq!(wire, b"Content-Type: a/b\r\n");
/// assert_eq!(req.raw_path(), b"/x");
/// ```
impl From<Parts> for RequestHeader {
    fn from(base: Parts) -> Self {
        RequestHeader {
            base,
            names: WireNames::untracked(),
            raw_target: None,
            send_end_stream: true,
        }
    }
}

#[cfg(test)]
mod tests;
