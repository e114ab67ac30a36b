//! Parsing an HTTP/1 head (start line + header lines) out of a read buffer with `httparse`,
//! into a case-preserving [`RequestHeader`] or [`ResponseHeader`], with the size limits and
//! the line-ending checks `httparse` does not make.
//!
//! Names and values are not copied: the head is split off the read buffer as [`Bytes`] and
//! each header is a slice of it.

use std::cell::RefCell;
use std::mem::MaybeUninit;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use http::{HeaderValue, Method, Version};
use pingora_error::{Error, ErrorType, Result};
use pingora_http::{CaseHeaderName, RequestHeader, ResponseHeader};

use tokio::io::AsyncRead;

use super::io::read_more;
use super::settings::{H1Settings, MAX_HEADERS_CAP};

/// Where one header's name and value lie inside the head, as byte ranges.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HeaderSpan {
    name: (usize, usize),
    value: (usize, usize),
}

thread_local! {
    /// Header positions of the head being parsed on this thread, kept from head to head so
    /// that parsing allocates nothing once the vector has grown to its working size (sessions
    /// are new for every request, so a vector of their own would grow again each time).
    static SPANS: RefCell<Vec<HeaderSpan>> = const { RefCell::new(Vec::new()) };

    /// The buffer heads are serialised into on this thread, kept from head to head: sessions
    /// are new for every request, so a buffer of their own would be allocated each time.
    static HEAD_BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// A head buffer with more room than this (grown for a huge head) is not kept.
const MAX_KEPT_HEAD_BUFFER: usize = 64 * 1024;

/// An empty buffer to serialise a head into: this thread's kept one, unless another session
/// holds it right now (give it back with [`keep_head_buffer`]).
pub(crate) fn head_buffer() -> Vec<u8> {
    HEAD_BUFFER
        .try_with(|kept| std::mem::take(&mut *kept.borrow_mut()))
        .unwrap_or_default()
}

/// Keeps `buf` for the next head serialised on this thread (the roomier of it and any buffer
/// kept meanwhile).
pub(crate) fn keep_head_buffer(mut buf: Vec<u8>) {
    if buf.capacity() > MAX_KEPT_HEAD_BUFFER {
        return;
    }
    buf.clear();
    // During thread teardown the buffer is simply dropped.
    let _ = HEAD_BUFFER.try_with(|kept| {
        let mut kept = kept.borrow_mut();
        if kept.capacity() < buf.capacity() {
            *kept = buf;
        }
    });
}

/// The positions of `headers` inside `whole`, in this thread's kept vector (give it back with
/// [`keep_spans`]).
fn spans_of(whole: &[u8], headers: &[httparse::Header<'_>]) -> Vec<HeaderSpan> {
    let mut spans = SPANS
        .try_with(|kept| std::mem::take(&mut *kept.borrow_mut()))
        .unwrap_or_default();
    spans.clear();
    spans.extend(headers.iter().map(|header| HeaderSpan {
        name: span_of(whole, header.name.as_bytes()),
        value: span_of(whole, header.value),
    }));
    spans
}

/// Keeps `spans` for the next parse on this thread.
fn keep_spans(spans: Vec<HeaderSpan>) {
    // During thread teardown the vector is simply dropped.
    let _ = SPANS.try_with(|kept| *kept.borrow_mut() = spans);
}

/// Offset of `part` inside `whole`; `part` must be a subslice of `whole` (httparse only
/// returns slices of the buffer it parsed).
fn offset_in(whole: &[u8], part: &[u8]) -> usize {
    part.as_ptr() as usize - whole.as_ptr() as usize
}

fn span_of(whole: &[u8], part: &[u8]) -> (usize, usize) {
    let start = offset_in(whole, part);
    (start, start + part.len())
}

/// Room a head needs on the wire: its header lines, the empty line and `start_line` bytes for
/// the start line, so that serialising it grows the buffer at most once.
fn wire_len(headers: &http::HeaderMap, start_line: usize) -> usize {
    headers.iter().fold(start_line + 2, |len, (name, value)| {
        len + name.as_str().len() + value.len() + 4
    })
}

/// Serialises a request head (request line, headers, empty line) into `buf`, replacing what
/// it held.
pub(crate) fn request_head_to_wire(header: &RequestHeader, buf: &mut Vec<u8>) {
    buf.clear();
    let method = header.method.as_str().len();
    buf.reserve(wire_len(
        &header.headers,
        method + header.raw_path().len() + 12,
    ));
    header.request_line_to_h1_wire(buf);
    header.header_to_h1_wire(buf);
    buf.extend_from_slice(b"\r\n");
}

/// Serialises a response head (status line, headers, empty line) into `buf`, replacing what
/// it held.
pub(crate) fn response_head_to_wire(header: &ResponseHeader, buf: &mut Vec<u8>) {
    buf.clear();
    let reason = header.get_reason_phrase().map_or(0, str::len);
    buf.reserve(wire_len(&header.headers, reason + 16));
    header.status_line_to_h1_wire(buf);
    header.header_to_h1_wire(buf);
    buf.extend_from_slice(b"\r\n");
}

/// Whether `bytes` may hold the end of a head: an empty line, with CRLF or a bare LF (so that a
/// bare-LF head is parsed, and rejected, rather than waited on).
pub(crate) fn has_head_end(bytes: &[u8]) -> bool {
    // One pass from LF to LF (`position` on a byte is fast), looking just past each one.
    let mut rest = bytes;
    while let Some(at) = rest.iter().position(|&b| b == b'\n') {
        rest = &rest[at + 1..];
        if matches!(rest, [b'\n', ..] | [b'\r', b'\n', ..]) {
            return true;
        }
    }
    false
}

/// Finds a bare LF or a bare CR in `head`: RFC 9112 §2.2 lets a recipient accept bare LF, but a
/// proxy that does while its upstream does not (or the reverse) can be made to disagree about
/// where a head ends, so every line must end in CRLF.
pub(crate) fn check_line_endings(head: &[u8]) -> std::result::Result<(), &'static str> {
    let (Some(&first), Some(&last)) = (head.first(), head.last()) else {
        return Ok(());
    };
    // Branch-free pass over byte pairs (it vectorises); the slow path only names the fault.
    let bad_pair = head
        .iter()
        .zip(&head[1..])
        .fold(false, |bad, (&prev, &cur)| {
            bad | ((cur == b'\n') != (prev == b'\r'))
        });
    if !bad_pair && first != b'\n' && last != b'\r' {
        return Ok(());
    }
    if first == b'\n' || head.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r') {
        Err("bare LF where CRLF is required")
    } else {
        Err("bare CR in the head")
    }
}

fn version_of(minor: Option<u8>) -> Version {
    match minor {
        Some(0) => Version::HTTP_10,
        _ => Version::HTTP_11,
    }
}

fn invalid(etype: ErrorType, context: impl Into<String>) -> Box<Error> {
    Error::explain(etype, context.into())
}

/// Whether a header name (any case) is one of those that describe the connection rather than
/// the message: `Connection`, `Keep-Alive`, `Proxy-Connection`, `TE`, `Transfer-Encoding`,
/// `Upgrade`.
fn is_connection_level(name: &[u8]) -> bool {
    let candidate: &[u8] = match name.len() {
        2 => b"te",
        7 => b"upgrade",
        10 if name[0] | 0x20 == b'c' => b"connection",
        10 => b"keep-alive",
        16 => b"proxy-connection",
        17 => b"transfer-encoding",
        _ => return false,
    };
    name.eq_ignore_ascii_case(candidate)
}

/// Turns a head into its headers: appends every recorded span of `head` to `add`, the
/// connection-level ones ([`is_connection_level`]) last.
///
/// RFC 9110 §5.3 makes the order of lines with different names insignificant, but a proxy
/// keeps it anyway; yet it must drop those connection-level lines, and a header map can only
/// drop a header cheaply when it is the last one (otherwise the map's last header takes its
/// place, and keeping the order means moving every header after it). Browsers send
/// `Connection` second and nginx sends it sixth of eight, so the lines a proxy drops go to the
/// end here, in their own order, and every other line keeps its place.
fn add_headers(
    head: &Bytes,
    spans: &[HeaderSpan],
    mut add: impl FnMut(CaseHeaderName, HeaderValue) -> Result<bool>,
) -> Result<()> {
    let connection_level =
        |span: &&HeaderSpan| is_connection_level(&head[span.name.0..span.name.1]);
    let message_level = spans.iter().filter(|span| !connection_level(span));
    for span in message_level.chain(spans.iter().filter(connection_level)) {
        add_header(head, span, &mut add)?;
    }
    Ok(())
}

/// Appends the header line at `span` of `head` to `add`, sharing the head's bytes.
#[inline]
fn add_header(
    head: &Bytes,
    span: &HeaderSpan,
    add: &mut impl FnMut(CaseHeaderName, HeaderValue) -> Result<bool>,
) -> Result<()> {
    let name = CaseHeaderName::new(head.slice(span.name.0..span.name.1));
    let value =
        HeaderValue::from_maybe_shared(head.slice(span.value.0..span.value.1)).map_err(|_| {
            invalid(
                ErrorType::InvalidHTTPHeader,
                "header value has a control byte",
            )
        })?;
    add(name, value)?;
    Ok(())
}

/// The length of the complete head at the front of `buf` from httparse's verdict on it, or
/// `None` when more bytes are needed. Fails with `too_large` for a head (complete or not) over
/// `max_header_size` or with more header lines than allowed, with `InvalidHTTPHeader` for a
/// malformed one or one whose lines do not all end in CRLF. `kind` names the head in messages.
fn complete_head(
    parsed: httparse::Result<usize>,
    buf: &[u8],
    settings: &H1Settings,
    kind: &str,
    too_large: ErrorType,
) -> Result<Option<usize>> {
    let too_large_error = |len: usize| {
        let limit = settings.max_header_size;
        (len > limit).then(|| {
            invalid(
                too_large.clone(),
                format!("{kind} head larger than {limit} bytes"),
            )
        })
    };
    let head_len = match parsed {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => {
            return too_large_error(buf.len()).map_or(Ok(None), Err);
        }
        Err(httparse::Error::TooManyHeaders) => {
            let limit = settings.max_headers.min(MAX_HEADERS_CAP);
            return Err(invalid(
                too_large,
                format!("{kind} head has more than {limit} header lines"),
            ));
        }
        Err(e) => {
            return Err(invalid(
                ErrorType::InvalidHTTPHeader,
                format!("malformed {kind} head: {e}"),
            ))
        }
    };
    if let Some(e) = too_large_error(head_len) {
        return Err(e);
    }
    check_line_endings(&buf[..head_len])
        .map_err(|why| invalid(ErrorType::InvalidHTTPHeader, why))?;
    Ok(Some(head_len))
}

/// The URI of an origin-form request target (`/path?query`, the usual form) as a slice of the
/// head, when the URI keeps the target's bytes exactly (so [`RequestHeader::raw_path`] reads
/// them back unchanged). Built this way the URI shares the head's memory: no copy, and cloning
/// it (the upstream request is a clone) is a reference count. `None` for any other target
/// (absolute or authority form, `*`, a fragment, bytes a URI does not take): those go through
/// [`RequestHeader::build`], which keeps raw targets.
fn shared_origin_uri(head: &Bytes, (start, end): (usize, usize)) -> Option<http::Uri> {
    let target = &head[start..end];
    if target.first() != Some(&b'/') {
        return None;
    }
    let uri = http::Uri::from_maybe_shared(head.slice(start..end)).ok()?;
    let exact = uri.scheme().is_none()
        && uri.authority().is_none()
        && uri.path_and_query().map(|p| p.as_str().as_bytes()) == Some(target);
    exact.then_some(uri)
}

/// Parses a request head from the front of `buf`.
///
/// `Ok(Some((header, length)))`: the head (`length` bytes) was complete; its bytes were removed from `buf`, which keeps
/// whatever followed (body, pipelined requests). `Ok(None)`: more bytes are needed and none of
/// the limits is exceeded yet. Errors (source unset; the caller marks it downstream):
/// `HTTPStatus(414)` for a request line over `max_request_line_size`, `HTTPStatus(431)` for a
/// head over `max_header_size` or with more than `max_headers` lines, `InvalidHTTPHeader` for
/// everything else that is malformed.
pub(crate) fn parse_request(
    buf: &mut BytesMut,
    settings: &H1Settings,
) -> Result<Option<(Box<RequestHeader>, usize)>> {
    let line_end = buf.iter().position(|&b| b == b'\n');
    let line_len = line_end.map_or(buf.len(), |at| at + 1);
    if line_len > settings.max_request_line_size {
        return Error::e_explain(
            ErrorType::HTTPStatus(414),
            format!(
                "request line longer than {} bytes",
                settings.max_request_line_size
            ),
        );
    }
    let mut headers = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS_CAP];
    let limit = settings.max_headers.min(MAX_HEADERS_CAP);
    let mut request = httparse::Request::new(&mut []);
    let parsed = httparse::ParserConfig::default().parse_request_with_uninit_headers(
        &mut request,
        buf,
        &mut headers[..limit],
    );
    let Some(head_len) =
        complete_head(parsed, buf, settings, "request", ErrorType::HTTPStatus(431))?
    else {
        return Ok(None);
    };

    // Remember where things are, then let go of the borrow so the head can be split off.
    let whole: &[u8] = buf;
    let method_span = span_of(whole, request.method.unwrap_or_default().as_bytes());
    let path_span = span_of(whole, request.path.unwrap_or_default().as_bytes());
    let version = version_of(request.version);
    let spans = spans_of(whole, request.headers);

    let head = buf.split_to(head_len).freeze();
    let build = || {
        let method = Method::from_bytes(&head[method_span.0..method_span.1]).map_err(|_| {
            invalid(
                ErrorType::InvalidHTTPHeader,
                "request method is not a token",
            )
        })?;
        // Boxed at once: the head is kept boxed, and a 456-byte value would otherwise be
        // copied at every step out to the session.
        let target = &head[path_span.0..path_span.1];
        let mut header = match shared_origin_uri(&head, path_span) {
            Some(uri) => {
                let mut header = Box::new(RequestHeader::build(method, b"/", Some(spans.len()))?);
                header.set_uri(uri);
                header
            }
            None => Box::new(RequestHeader::build(method, target, Some(spans.len()))?),
        };
        header.set_version(version);
        add_headers(&head, &spans, |name, value| {
            header.append_header(name, value)
        })?;
        Ok(Some((header, head_len)))
    };
    let parsed = build();
    keep_spans(spans);
    parsed
}

/// Parses a response head from the front of `buf`, like [`parse_request`]. Errors (source
/// unset; the caller marks them upstream) are `InvalidHTTPHeader` for a malformed or oversized
/// head, including a status code that is not three digits.
pub(crate) fn parse_response(
    buf: &mut BytesMut,
    settings: &H1Settings,
) -> Result<Option<(Box<ResponseHeader>, usize)>> {
    let mut headers = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS_CAP];
    let limit = settings.max_headers.min(MAX_HEADERS_CAP);
    let mut response = httparse::Response::new(&mut []);
    let parsed = httparse::ParserConfig::default().parse_response_with_uninit_headers(
        &mut response,
        buf,
        &mut headers[..limit],
    );
    let Some(head_len) = complete_head(
        parsed,
        buf,
        settings,
        "response",
        ErrorType::InvalidHTTPHeader,
    )?
    else {
        return Ok(None);
    };

    let whole: &[u8] = buf;
    let code = response.code.unwrap_or_default();
    let reason_span = response
        .reason
        .map(|reason| span_of(whole, reason.as_bytes()));
    let version = version_of(response.version);
    let spans = spans_of(whole, response.headers);

    let head = buf.split_to(head_len).freeze();
    let build = || {
        let mut header = Box::new(ResponseHeader::build(code, Some(spans.len()))?);
        header.set_version(version);
        if let Some((start, end)) = reason_span {
            // A reason that is not UTF-8 cannot be stored; the canonical one stands in for it.
            if let Ok(reason) = std::str::from_utf8(&head[start..end]) {
                header.set_reason_phrase(Some(reason))?;
            }
        }
        add_headers(&head, &spans, |name, value| {
            header.append_header(name, value)
        })?;
        Ok(Some((header, head_len)))
    };
    let parsed = build();
    keep_spans(spans);
    parsed
}

/// Reads a request head from `io` into `buf` and parses it, under the settings' limits and
/// timeouts: `idle_timeout` for the first byte (`Ok(None)` if it passes, or the peer closes,
/// before one), then `header_read_timeout` for the whole head and `read_timeout` per read.
/// Parsing is attempted only when new bytes may complete the request line or the head, so
/// a head dribbled in small pieces is not re-parsed from the start on every read.
pub(crate) async fn read_request_head<S>(
    io: &mut S,
    buf: &mut BytesMut,
    settings: &H1Settings,
) -> Result<Option<(Box<RequestHeader>, usize)>>
where
    S: AsyncRead + Unpin + ?Sized,
{
    if buf.is_empty() {
        match read_more(io, buf, settings.idle_timeout).await {
            Ok(0) => return Ok(None),
            Ok(_) => {}
            Err(e) if e.etype() == &ErrorType::ReadTimedout => return Ok(None),
            Err(e) => return Err(e),
        }
    }
    let deadline = settings
        .header_read_timeout
        .map(|limit| Instant::now() + limit);
    let mut scanned: usize = 0;
    let mut line_seen = false;
    let mut first = true;
    loop {
        let region = &buf[scanned.saturating_sub(2)..];
        let line_now = !line_seen && region.contains(&b'\n');
        let over_limit = buf.len() > settings.max_header_size
            || (!line_seen && buf.len() > settings.max_request_line_size);
        if first || line_now || over_limit || has_head_end(region) {
            if let Some(head) = parse_request(buf, settings)? {
                return Ok(Some(head));
            }
        }
        first = false;
        line_seen |= line_now;
        scanned = buf.len();

        let timeout = match deadline {
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Error::e_explain(
                        ErrorType::ReadTimedout,
                        "request head not complete within header_read_timeout",
                    );
                }
                Some(settings.read_timeout.map_or(left, |read| read.min(left)))
            }
            None => settings.read_timeout,
        };
        if read_more(io, buf, timeout).await? == 0 {
            return Error::e_explain(ErrorType::ConnectionClosed, "client closed mid-head");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(raw: &[u8]) -> Result<Option<RequestHeader>> {
        let mut buf = BytesMut::from(raw);
        let parsed = parse_request(&mut buf, &H1Settings::default());
        parsed.map(|head| head.map(|(header, _)| *header))
    }

    fn status_of(raw: &[u8]) -> Option<ErrorType> {
        request(raw).err().map(|e| e.etype().clone())
    }

    #[test]
    fn connection_level_lines_are_added_last_and_the_rest_keep_their_order() {
        let req = request(
            b"GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, TE\r\nAccept: */*\r\n\
              TE: trailers\r\nX-A: 1\r\nconnection: x-a\r\nX-B: 2\r\n\r\n",
        )
        .unwrap()
        .unwrap();
        let lines: Vec<(String, String)> = req
            .case_header_iter()
            .map(|(name, value)| {
                let name = String::from_utf8_lossy(name).into_owned();
                (name, value.to_str().unwrap().to_owned())
            })
            .collect();
        let expected = [
            ("Host", "x"),
            ("Accept", "*/*"),
            ("X-A", "1"),
            ("X-B", "2"),
            // Both Connection lines, in their order, under the spelling seen last.
            ("connection", "keep-alive, TE"),
            ("connection", "x-a"),
            ("TE", "trailers"),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        assert_eq!(lines, expected);
    }

    #[test]
    fn connection_level_names_are_recognised_in_any_case_and_only_them() {
        for name in [
            "Connection",
            "KEEP-ALIVE",
            "proxy-connection",
            "te",
            "Transfer-Encoding",
            "Upgrade",
        ] {
            assert!(is_connection_level(name.as_bytes()), "{name}");
        }
        for name in [
            "tf",
            "upgradx",
            "connectiox",
            "keep-alivx",
            "X-Upgrade",
            "Host",
            "",
        ] {
            assert!(!is_connection_level(name.as_bytes()), "{name}");
        }
    }

    #[test]
    fn request_head_keeps_name_case_and_leaves_the_body_in_the_buffer() {
        let mut buf =
            BytesMut::from(&b"POST /a?b HTTP/1.1\r\nHost: x\r\nX-CamelCase: 1\r\n\r\nbody"[..]);
        let (req, len) = parse_request(&mut buf, &H1Settings::default())
            .unwrap()
            .unwrap();
        assert_eq!(len, 47);
        assert_eq!(req.method, Method::POST);
        assert_eq!(req.raw_path(), b"/a?b");
        let names: Vec<&[u8]> = req.case_header_iter().map(|(n, _)| n).collect();
        assert_eq!(names, [&b"Host"[..], b"X-CamelCase"]);
        assert_eq!(&buf[..], b"body");
    }

    #[test]
    fn request_targets_read_back_byte_for_byte() {
        // (httparse itself refuses bytes over 0x7e in a target.)
        let targets: [&[u8]; 6] = [
            b"/a/b?x=1&y=%20",
            b"/",
            b"/{braces}|pipe",
            b"/page#fragment",
            b"http://example.com/p?q",
            b"*",
        ];
        for target in targets {
            let mut raw = b"OPTIONS ".to_vec();
            raw.extend_from_slice(target);
            raw.extend_from_slice(b" HTTP/1.1\r\nHost: a\r\n\r\n");
            let header = request(&raw).unwrap().unwrap();
            assert_eq!(header.raw_path(), target, "{}", target.escape_ascii());
        }
        let header = request(b"GET /a/b?x=1 HTTP/1.1\r\nHost: a\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(header.uri.path(), "/a/b");
        assert_eq!(header.uri.query(), Some("x=1"));
        assert!(request(b"GET /a\x01b HTTP/1.1\r\nHost: a\r\n\r\n").is_err());
    }

    #[test]
    fn partial_head_asks_for_more() {
        assert!(request(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap().is_none());
    }

    #[test]
    fn limits_map_to_414_and_431() {
        let long_line = format!("GET /{} HTTP/1.1\r\n", "a".repeat(9000));
        assert_eq!(
            status_of(long_line.as_bytes()),
            Some(ErrorType::HTTPStatus(414))
        );
        let big = format!("GET / HTTP/1.1\r\nX: {}\r\n", "a".repeat(70_000));
        assert_eq!(status_of(big.as_bytes()), Some(ErrorType::HTTPStatus(431)));
        let many: String = (0..200).map(|i| format!("X-{i}: v\r\n")).collect();
        let many = format!("GET / HTTP/1.1\r\n{many}\r\n");
        assert_eq!(status_of(many.as_bytes()), Some(ErrorType::HTTPStatus(431)));
    }

    #[test]
    fn bare_lf_and_bare_cr_are_rejected() {
        assert!(request(b"GET / HTTP/1.1\nHost: x\r\n\r\n").is_err());
        assert!(request(b"GET / HTTP/1.1\r\nHost: x\n\r\n").is_err());
        assert!(request(b"GET / HTTP/1.1\r\nHost: x\r\n\n").is_err());
        assert!(request(b"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n").is_err());
        assert!(has_head_end(b"x\n\n"));
    }

    #[test]
    fn response_status_must_have_three_digits() {
        let parse = |raw: &[u8]| {
            let mut buf = BytesMut::from(raw);
            parse_response(&mut buf, &H1Settings::default())
        };
        assert!(parse(b"HTTP/1.1 2000 OK\r\n\r\n").is_err());
        assert!(parse(b"HTTP/1.1 20 OK\r\n\r\n").is_err());
        let (ok, _) = parse(b"HTTP/1.1 299 Fine\r\nX-A: 1\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(ok.status, 299);
        assert_eq!(ok.get_reason_phrase(), Some("Fine"));
    }
}
