use super::*;
use bytes::BytesMut;
use pingora_error::ErrorType;

/// The response as an HTTP/1 peer would receive it, parsed back with httparse:
/// (code, reason, [(name, value)]) with names as spelled on the wire.
type Parsed = (u16, String, Vec<(String, Vec<u8>)>);

fn parse_back(resp: &ResponseHeader) -> Parsed {
    let mut wire = BytesMut::new();
    resp.status_line_to_h1_wire(&mut wire);
    resp.header_to_h1_wire(&mut wire);
    wire.extend_from_slice(b"\r\n");
    let mut slots = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Response::new(&mut slots);
    let status = parsed.parse(&wire).expect("written response parses");
    assert_eq!(status, httparse::Status::Complete(wire.len()));
    let headers = parsed
        .headers
        .iter()
        .map(|h| (h.name.to_string(), h.value.to_vec()))
        .collect();
    let reason = parsed.reason.unwrap_or_default().to_string();
    (parsed.code.unwrap_or_default(), reason, headers)
}

fn header_block(resp: &ResponseHeader) -> String {
    let mut wire = Vec::new();
    resp.header_to_h1_wire(&mut wire);
    String::from_utf8(wire).expect("test headers are ASCII")
}

#[test]
fn headers_round_trip_through_httparse() {
    let mut resp = ResponseHeader::build(206, Some(4)).unwrap();
    resp.append_header("Content-Range", "bytes 0-1/10").unwrap();
    resp.append_header("set-cookie", "a=1").unwrap();
    resp.append_header("X-Served-By", "edge").unwrap();
    resp.append_header("set-cookie", "b=2").unwrap();
    let (code, reason, headers) = parse_back(&resp);
    assert_eq!((code, reason.as_str()), (206, "Partial Content"));
    let expected: Vec<(String, Vec<u8>)> = [
        ("Content-Range", "bytes 0-1/10"),
        ("set-cookie", "a=1"),
        ("set-cookie", "b=2"),
        ("X-Served-By", "edge"),
    ]
    .iter()
    .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
    .collect();
    assert_eq!(headers, expected);
}

#[test]
fn case_is_preserved_through_append_insert_and_remove() {
    let mut resp = ResponseHeader::build(200, None).unwrap();
    resp.append_header("X-Upstream-Status", "200").unwrap();
    resp.insert_header("cache-control", "max-age=60").unwrap();
    resp.append_header("X-Dropped", "1").unwrap();
    assert!(resp.remove_header("x-dropped").is_some());
    assert_eq!(
        header_block(&resp),
        "X-Upstream-Status: 200\r\ncache-control: max-age=60\r\n"
    );
}

#[test]
fn remove_drops_the_spelling_too() {
    let mut resp = ResponseHeader::build(200, None).unwrap();
    resp.append_header("X-Spelled", "1").unwrap();
    resp.remove_header("x-spelled");
    resp.headers
        .insert("x-spelled", HeaderValue::from_static("2"));
    assert_eq!(header_block(&resp), "x-spelled: 2\r\n");
}

#[test]
fn insert_replaces_all_values_and_takes_the_new_spelling() {
    let mut resp = ResponseHeader::build(200, None).unwrap();
    resp.append_header("Via", "1.1 a").unwrap();
    resp.append_header("Via", "1.1 b").unwrap();
    resp.insert_header("VIA", "1.1 c").unwrap();
    assert_eq!(header_block(&resp), "VIA: 1.1 c\r\n");
}

#[test]
fn invalid_names_and_values_are_rejected_with_invalid_http_header() {
    let mut resp = ResponseHeader::build(200, None).unwrap();
    let err = resp.append_header("Bad Name", "v").unwrap_err();
    assert_eq!(err.etype(), &ErrorType::InvalidHTTPHeader);
    let err = resp
        .insert_header("X-Ok", "v\r\nSet-Cookie: evil")
        .unwrap_err();
    assert_eq!(err.etype(), &ErrorType::InvalidHTTPHeader);
    assert!(resp.headers.is_empty());
}

#[test]
fn caseless_well_known_names_are_written_title_case() {
    let response = http::Response::builder()
        .header("content-type", "text/html")
        .header("etag", "\"x\"")
        .header("x-custom", "c")
        .body(())
        .unwrap();
    let resp = ResponseHeader::from(response.into_parts().0);
    assert!(!resp.has_case());
    assert_eq!(
        header_block(&resp),
        "Content-Type: text/html\r\nETag: \"x\"\r\nx-custom: c\r\n"
    );
}

#[test]
fn reason_phrase_can_be_set_read_and_cleared() {
    let mut resp = ResponseHeader::build(200, None).unwrap();
    assert_eq!(resp.get_reason_phrase(), Some("OK"));
    resp.set_reason_phrase(Some("All Good")).unwrap();
    assert_eq!(resp.get_reason_phrase(), Some("All Good"));
    assert_eq!(parse_back(&resp).1, "All Good");
    resp.set_reason_phrase(None).unwrap();
    assert_eq!(resp.get_reason_phrase(), Some("OK"));
    resp.set_reason_phrase(Some("OK")).unwrap();
    assert_eq!(
        resp.reason_phrase, None,
        "the canonical phrase needs no copy"
    );
}

#[test]
fn invalid_reason_phrase_is_rejected_and_the_old_one_kept() {
    let mut resp = ResponseHeader::build(200, None).unwrap();
    resp.set_reason_phrase(Some("Custom")).unwrap();
    let err = resp.set_reason_phrase(Some("Bad\r\nX: y")).unwrap_err();
    assert_eq!(err.etype(), &ErrorType::InvalidHTTPHeader);
    assert_eq!(resp.get_reason_phrase(), Some("Custom"));
}

#[test]
fn empty_reason_phrase_keeps_the_separating_space() {
    let mut resp = ResponseHeader::build(200, None).unwrap();
    resp.set_reason_phrase(Some("")).unwrap();
    let mut line = Vec::new();
    resp.status_line_to_h1_wire(&mut line);
    assert_eq!(line, b"HTTP/1.1 200 \r\n");
    assert_eq!(parse_back(&resp).0, 200);
}

#[test]
fn set_content_length_replaces_earlier_values() {
    let mut resp = ResponseHeader::build(200, None).unwrap();
    resp.append_header("content-length", "1").unwrap();
    resp.append_header("content-length", "2").unwrap();
    resp.set_content_length(12345).unwrap();
    assert_eq!(header_block(&resp), "Content-Length: 12345\r\n");
}

#[test]
fn set_status_validates_and_changes_the_status_line() {
    let mut resp = ResponseHeader::build(200, None).unwrap();
    resp.set_status(http::StatusCode::NOT_MODIFIED).unwrap();
    let err = resp.set_status(0u16).unwrap_err();
    assert_eq!(err.etype(), &ErrorType::InvalidHTTPHeader);
    assert_eq!(resp.status, 304);
    resp.set_version(Version::HTTP_10);
    let mut line = Vec::new();
    resp.status_line_to_h1_wire(&mut line);
    assert_eq!(line, b"HTTP/1.0 304 Not Modified\r\n");
}

#[test]
fn case_header_iter_matches_the_wire() {
    let mut resp = ResponseHeader::build(200, None).unwrap();
    resp.append_header("X-One", "1").unwrap();
    resp.append_header("date", "today").unwrap();
    let from_iter: Vec<(String, Vec<u8>)> = resp
        .case_header_iter()
        .map(|(n, v)| {
            (
                String::from_utf8(n.to_vec()).unwrap(),
                v.as_bytes().to_vec(),
            )
        })
        .collect();
    assert_eq!(from_iter, parse_back(&resp).2);
}

#[test]
fn owned_parts_and_clone_are_independent_copies() {
    let mut resp = ResponseHeader::build(200, None).unwrap();
    resp.insert_header("X-A", "1").unwrap();
    let copy = resp.clone();
    resp.insert_header("X-A", "2").unwrap();
    assert_eq!(header_block(&copy), "X-A: 1\r\n");
    let parts = resp.as_owned_parts();
    assert_eq!(parts.headers["x-a"], "2");
    assert_eq!(parts.status, 200);
}
