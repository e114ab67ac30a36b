//! How long a message body is, decided from its head under RFC 9112 §6 — strictly, because a
//! proxy that guesses where a body ends while its peer guesses differently is a
//! request-smuggling hole. Shared by the server side (requests) and the client side
//! (responses); the caller marks the error's source.

use http::header::{CONNECTION, CONTENT_LENGTH, HOST, TRANSFER_ENCODING};
use pingora_http::ResponseHeader;

use super::body::BodyWriter;
use http::header::GetAll;
use http::{HeaderMap, HeaderValue, Version};
use pingora_error::{Error, ErrorType, Result};

/// The framing a head declares for its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// `Content-Length: n`.
    ContentLength(u64),
    /// `Transfer-Encoding: ..., chunked`.
    Chunked,
    /// Neither header.
    Unframed,
}

/// Transfer codings registered with IANA (RFC 9112 §7): other names are unknown, not merely
/// unsupported.
const KNOWN_CODINGS: [&str; 6] = [
    "chunked",
    "gzip",
    "deflate",
    "compress",
    "x-gzip",
    "x-compress",
];

fn invalid<T>(context: &'static str) -> Result<T> {
    Error::e_explain(ErrorType::InvalidHTTPHeader, context)
}

/// The elements of a comma-separated list header over all its lines, trimmed, empty ones
/// skipped (RFC 9110 §5.6.1).
fn list_elements<'a>(
    headers: &'a HeaderMap,
    name: &'a http::HeaderName,
) -> impl Iterator<Item = &'a [u8]> + 'a {
    elements(headers.get_all(name))
}

/// [`list_elements`] of lines already looked up.
fn elements(lines: GetAll<'_, HeaderValue>) -> impl Iterator<Item = &'_ [u8]> {
    lines
        .into_iter()
        .flat_map(|value| value.as_bytes().split(|&b| b == b','))
        .map(|element| element.trim_ascii())
        .filter(|element| !element.is_empty())
}

/// Whether the `Connection` header lists `token` (case-insensitively).
pub(crate) fn connection_has(headers: &HeaderMap, token: &str) -> bool {
    list_elements(headers, &CONNECTION)
        .any(|element| element.eq_ignore_ascii_case(token.as_bytes()))
}

/// The value of `Content-Length`, if present. Every value (over all lines and list elements)
/// must be the same run of digits; anything else is `InvalidHTTPHeader`.
fn content_length(lines: GetAll<'_, HeaderValue>) -> Result<Option<u64>> {
    let mut found: Option<u64> = None;
    let mut any_line = false;
    for value in lines.iter() {
        any_line = true;
        for element in value.as_bytes().split(|&b| b == b',') {
            let element = element.trim_ascii();
            if element.is_empty() || !element.iter().all(u8::is_ascii_digit) {
                return invalid("Content-Length is not a number");
            }
            let mut length: u64 = 0;
            for digit in element {
                length = length
                    .checked_mul(10)
                    .and_then(|l| l.checked_add(u64::from(digit - b'0')))
                    .ok_or_else(|| {
                        Error::explain(ErrorType::InvalidHTTPHeader, "Content-Length overflows")
                    })?;
            }
            match found {
                Some(previous) if previous != length => {
                    return invalid("Content-Length values differ");
                }
                _ => found = Some(length),
            }
        }
    }
    if any_line && found.is_none() {
        return invalid("Content-Length is empty");
    }
    Ok(found)
}

/// Whether `Content-Length` is absent or one line with one value. Repeated equal values
/// (`5, 5`, or two lines) are valid, and accepted, but some recipients reject them (Node's
/// parser does), so what goes out carries the length once: RFC 9110 §8.6 lets a recipient
/// replace them with one.
pub(crate) fn is_plain_content_length(lines: &GetAll<'_, HeaderValue>) -> bool {
    let mut values = lines.iter();
    let first = values.next();
    values.next().is_none() && !first.is_some_and(|value| value.as_bytes().contains(&b','))
}

/// What the `Transfer-Encoding` list says: `Ok(None)` without the header, `Ok(Some(()))` when
/// it is exactly `chunked`.
///
/// A coding nobody registered is `HTTPStatus(501)` when `unknown_is_501` (requests), else
/// `InvalidHTTPHeader`. A list of known codings whose final one is not `chunked`, or with
/// `chunked` twice, is `InvalidHTTPHeader` (RFC 9112 §6.3: the body's end cannot be known).
/// A known coding before the final `chunked` (`gzip, chunked`) is refused like an unknown one:
/// this side only removes the chunked framing, and a proxy that forwarded such a body without
/// the hop-by-hop header naming its other codings would hand the next hop bytes it reads as
/// something else. nginx refuses those too.
fn transfer_encoding(lines: GetAll<'_, HeaderValue>, unknown_is_501: bool) -> Result<Option<()>> {
    if lines.iter().next().is_none() {
        return Ok(None);
    }
    let unsupported = |context: &'static str| {
        if unknown_is_501 {
            Error::e_explain(ErrorType::HTTPStatus(501), context)
        } else {
            invalid(context)
        }
    };
    let mut last_is_chunked = false;
    let mut other_coding = false;
    let mut any = false;
    for coding in elements(lines) {
        any = true;
        if last_is_chunked {
            return invalid("chunked is not the final transfer coding");
        }
        let known = KNOWN_CODINGS
            .iter()
            .any(|name| coding.eq_ignore_ascii_case(name.as_bytes()));
        if !known {
            return unsupported("unknown transfer coding");
        }
        last_is_chunked = coding.eq_ignore_ascii_case(b"chunked");
        other_coding |= !last_is_chunked;
    }
    if !any || !last_is_chunked {
        return invalid("the final transfer coding is not chunked");
    }
    if other_coding {
        return unsupported("transfer codings other than chunked are not supported");
    }
    Ok(Some(()))
}

/// Decides a request's body framing and checks the rest of RFC 9112 §6 and §3.2 that a proxy
/// relies on: one `Host` (present in HTTP/1.1); never both `Content-Length` and
/// `Transfer-Encoding`; no `Transfer-Encoding` in HTTP/1.0; `Content-Length` consistent and
/// numeric; transfer codings known and ending in `chunked`.
pub(crate) fn request_framing(version: Version, headers: &HeaderMap) -> Result<Framing> {
    match headers.get_all(HOST).iter().count() {
        0 if version != Version::HTTP_10 => return invalid("HTTP/1.1 request without Host"),
        0 | 1 => {}
        _ => return invalid("more than one Host header"),
    }
    message_framing(version, headers, true)
}

/// Decides a response's (or an outgoing request's) body framing from its headers alone, with
/// the same strictness as [`request_framing`] (minus `Host`; an unknown coding is
/// `InvalidHTTPHeader`). Whether a response has a body at all (HEAD, 1xx, 204, 304) is the
/// caller's call.
pub(crate) fn response_framing(version: Version, headers: &HeaderMap) -> Result<Framing> {
    message_framing(version, headers, false)
}

fn message_framing(version: Version, headers: &HeaderMap, is_request: bool) -> Result<Framing> {
    // Each header looked up once: this runs for every message in both directions.
    let te_lines = headers.get_all(TRANSFER_ENCODING);
    let length_lines = headers.get_all(CONTENT_LENGTH);
    let has_te = te_lines.iter().next().is_some();
    if has_te && length_lines.iter().next().is_some() {
        return invalid("both Content-Length and Transfer-Encoding");
    }
    if has_te && version == Version::HTTP_10 {
        return invalid("Transfer-Encoding in an HTTP/1.0 message");
    }
    if transfer_encoding(te_lines, is_request)?.is_some() {
        return Ok(Framing::Chunked);
    }
    Ok(match content_length(length_lines)? {
        Some(length) => Framing::ContentLength(length),
        None => Framing::Unframed,
    })
}

/// Whether a message of `version` with these headers asks to keep the connection open:
/// HTTP/1.1 unless `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`.
pub(crate) fn wants_keepalive(version: Version, headers: &HeaderMap) -> bool {
    if connection_has(headers, "close") {
        return false;
    }
    version != Version::HTTP_10 || connection_has(headers, "keep-alive")
}

/// Chooses how a response body goes out to the client, adjusting the head to match: no body
/// for HEAD, 204 (whose framing headers are dropped) and 304; `Transfer-Encoding` wins over a
/// `Content-Length` beside it; an unframed body is chunked for an HTTP/1.1 client and
/// close-delimited for HTTP/1.0. Returns the writer and whether the connection must close
/// after this response. Fails with `InvalidHTTPHeader` for a malformed `Content-Length`.
pub(crate) fn response_writer(
    header: &mut ResponseHeader,
    head_request: bool,
    client_11: bool,
) -> Result<(BodyWriter, bool)> {
    let status = header.status.as_u16();
    if status == 204 {
        // RFC 9110 §8.6: no framing headers on a 204.
        header.remove_header(&CONTENT_LENGTH);
        header.remove_header(&TRANSFER_ENCODING);
    }
    if head_request || status == 204 || status == 304 {
        return Ok((BodyWriter::NoBody, false));
    }
    if header.headers.contains_key(TRANSFER_ENCODING) {
        header.remove_header(&CONTENT_LENGTH);
        let chunked = list_elements(&header.headers, &TRANSFER_ENCODING)
            .last()
            .is_some_and(|coding| coding.eq_ignore_ascii_case(b"chunked"));
        if client_11 && chunked {
            return Ok((BodyWriter::Chunked, false));
        }
        if !client_11 {
            // HTTP/1.0 knows no transfer codings: the body goes raw, ended by the close.
            header.remove_header(&TRANSFER_ENCODING);
        }
        return Ok((BodyWriter::UntilClose, true));
    }
    let lines = header.headers.get_all(CONTENT_LENGTH);
    let plain = is_plain_content_length(&lines);
    match content_length(lines)? {
        Some(left) => {
            if !plain {
                header.insert_header(CONTENT_LENGTH, left)?;
            }
            Ok((BodyWriter::ContentLength { left }, false))
        }
        None if client_11 => {
            header.insert_header(TRANSFER_ENCODING, "chunked")?;
            Ok((BodyWriter::Chunked, false))
        }
        None => Ok((BodyWriter::UntilClose, true)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, http::HeaderValue::from_static(value));
        }
        map
    }

    fn request(pairs: &[(&'static str, &'static str)]) -> Result<Framing> {
        let mut all = vec![("host", "x")];
        all.extend_from_slice(pairs);
        request_framing(Version::HTTP_11, &headers(&all))
    }

    #[test]
    fn content_length_duplicates_must_agree() {
        assert_eq!(
            request(&[("content-length", "5, 5")]).unwrap(),
            Framing::ContentLength(5)
        );
        assert!(request(&[("content-length", "5"), ("content-length", "6")]).is_err());
        assert!(request(&[("content-length", "+5")]).is_err());
        assert!(request(&[("content-length", "99999999999999999999")]).is_err());
    }

    #[test]
    fn transfer_encoding_must_be_exactly_chunked() {
        assert_eq!(
            request(&[("transfer-encoding", " CHUNKED ")]).unwrap(),
            Framing::Chunked
        );
        let bad = |te: &'static str| request(&[("transfer-encoding", te)]).unwrap_err();
        for te in ["chunked, chunked", "chunked, gzip", "gzip", ""] {
            assert_eq!(bad(te).etype(), &ErrorType::InvalidHTTPHeader, "{te}");
        }
        // Unknown codings, and known ones this side would not remove (refused, not passed
        // on undecoded).
        for te in ["gzip, chunked", "deflate, chunked", "foo, chunked", "zork"] {
            assert_eq!(bad(te).etype(), &ErrorType::HTTPStatus(501), "{te}");
        }
        let response = |te| {
            let mut map = HeaderMap::new();
            map.append("transfer-encoding", http::HeaderValue::from_static(te));
            response_framing(Version::HTTP_11, &map)
        };
        assert_eq!(response("chunked").unwrap(), Framing::Chunked);
        let err = response("gzip, chunked").unwrap_err();
        assert_eq!(err.etype(), &ErrorType::InvalidHTTPHeader);
    }

    #[test]
    fn response_writer_sends_a_repeated_length_once() {
        let mut resp = ResponseHeader::build(200, None).unwrap();
        resp.append_header("Content-Length", "5, 5").unwrap();
        resp.append_header("Content-Length", "5").unwrap();
        assert_eq!(
            response_writer(&mut resp, false, true).unwrap(),
            (BodyWriter::ContentLength { left: 5 }, false)
        );
        let lengths: Vec<_> = resp.headers.get_all(CONTENT_LENGTH).iter().collect();
        assert_eq!(lengths, ["5"]);
    }

    #[test]
    fn response_writer_follows_the_head_and_the_client_version() {
        let mut resp = ResponseHeader::build(200, None).unwrap();
        assert_eq!(
            response_writer(&mut resp, false, true).unwrap(),
            (BodyWriter::Chunked, false)
        );
        assert_eq!(resp.headers["transfer-encoding"], "chunked");

        let mut resp = ResponseHeader::build(200, None).unwrap();
        assert_eq!(
            response_writer(&mut resp, false, false).unwrap(),
            (BodyWriter::UntilClose, true)
        );

        let mut resp = ResponseHeader::build(200, None).unwrap();
        resp.insert_header("Content-Length", "3").unwrap();
        resp.insert_header("Transfer-Encoding", "chunked").unwrap();
        assert_eq!(
            response_writer(&mut resp, false, true).unwrap(),
            (BodyWriter::Chunked, false)
        );
        assert!(!resp.headers.contains_key("content-length"));

        let mut resp = ResponseHeader::build(204, None).unwrap();
        resp.insert_header("Content-Length", "3").unwrap();
        assert_eq!(
            response_writer(&mut resp, false, true).unwrap(),
            (BodyWriter::NoBody, false)
        );
        assert!(resp.headers.is_empty());
    }

    #[test]
    fn keepalive_follows_version_and_connection() {
        assert!(wants_keepalive(Version::HTTP_11, &headers(&[])));
        assert!(!wants_keepalive(
            Version::HTTP_11,
            &headers(&[("connection", "foo, Close")])
        ));
        assert!(!wants_keepalive(Version::HTTP_10, &headers(&[])));
        assert!(wants_keepalive(
            Version::HTTP_10,
            &headers(&[("connection", "Keep-Alive")])
        ));
    }
}
