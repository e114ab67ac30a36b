use super::*;
use bytes::{Bytes, BytesMut};
use http::header;
use pingora_error::ErrorType;

use crate::CaseHeaderName;

/// The request as an HTTP/1 peer would receive it, parsed back with httparse:
/// (method, target, [(name, value)]) with names as spelled on the wire.
type Parsed = (String, Vec<u8>, Vec<(String, Vec<u8>)>);

fn parse_back(req: &RequestHeader) -> Parsed {
    let mut wire = BytesMut::new();
    req.request_line_to_h1_wire(&mut wire);
    req.header_to_h1_wire(&mut wire);
    wire.extend_from_slice(b"\r\n");
    let mut slots = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Request::new(&mut slots);
    let status = parsed.parse(&wire).expect("written request parses");
    assert_eq!(status, httparse::Status::Complete(wire.len()));
    let headers = parsed
        .headers
        .iter()
        .map(|h| (h.name.to_string(), h.value.to_vec()))
        .collect();
    let target = parsed.path.unwrap_or_default().as_bytes().to_vec();
    (
        parsed.method.unwrap_or_default().to_string(),
        target,
        headers,
    )
}

fn wire_names(req: &RequestHeader) -> Vec<String> {
    parse_back(req)
        .2
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}

fn header_block(req: &RequestHeader) -> String {
    let mut wire = Vec::new();
    req.header_to_h1_wire(&mut wire);
    String::from_utf8(wire).expect("test headers are ASCII")
}

#[test]
fn case_is_preserved_through_append_and_insert() {
    let mut req = RequestHeader::build("GET", b"/", None).unwrap();
    req.append_header("X-CamelCase", "1").unwrap();
    req.insert_header("x-lower-case", "2").unwrap();
    req.insert_header("CONTENT-TYPE", "text/plain").unwrap();
    req.append_header(String::from("X-Owned-Name"), "3")
        .unwrap();
    req.append_header(Bytes::from_static(b"X-From-Bytes"), "4")
        .unwrap();
    assert_eq!(
        wire_names(&req),
        [
            "X-CamelCase",
            "x-lower-case",
            "CONTENT-TYPE",
            "X-Owned-Name",
            "X-From-Bytes"
        ]
    );
}

#[test]
fn case_of_other_headers_survives_a_removal() {
    let mut req = RequestHeader::build("GET", b"/", None).unwrap();
    req.append_header("X-Keep-Me", "1").unwrap();
    req.append_header("X-Drop-Me", "2").unwrap();
    req.append_header("X-And-Me", "3").unwrap();
    assert_eq!(req.remove_header("x-drop-me").unwrap(), "2");
    let mut names = wire_names(&req);
    names.sort();
    assert_eq!(names, ["X-And-Me", "X-Keep-Me"]);
}

#[test]
fn duplicate_headers_keep_their_order() {
    let mut req = RequestHeader::build("GET", b"/", None).unwrap();
    for value in ["a=1", "b=2", "c=3"] {
        req.append_header("Cookie", value).unwrap();
    }
    req.append_header("X-Other", "x").unwrap();
    req.append_header("Cookie", "d=4").unwrap();
    assert_eq!(
        header_block(&req),
        "Cookie: a=1\r\nCookie: b=2\r\nCookie: c=3\r\nCookie: d=4\r\nX-Other: x\r\n"
    );
}

#[test]
fn last_spelling_given_for_a_name_is_used_for_all_its_values() {
    let mut req = RequestHeader::build("GET", b"/", None).unwrap();
    req.append_header("x-trace", "1").unwrap();
    req.append_header("X-TRACE", "2").unwrap();
    assert_eq!(header_block(&req), "X-TRACE: 1\r\nX-TRACE: 2\r\n");
}

#[test]
fn insert_replaces_all_values_and_takes_the_new_spelling() {
    let mut req = RequestHeader::build("GET", b"/", None).unwrap();
    req.append_header("x-forwarded-for", "10.0.0.1").unwrap();
    req.append_header("x-forwarded-for", "10.0.0.2").unwrap();
    req.insert_header("X-FORWARDED-FOR", "10.0.0.3").unwrap();
    assert_eq!(req.headers.get_all("x-forwarded-for").iter().count(), 1);
    assert_eq!(header_block(&req), "X-FORWARDED-FOR: 10.0.0.3\r\n");
}

#[test]
fn insert_by_header_name_returns_to_the_default_spelling() {
    let mut req = RequestHeader::build("GET", b"/", None).unwrap();
    req.insert_header("content-length", "1").unwrap();
    req.insert_header(header::CONTENT_LENGTH, "2").unwrap();
    assert_eq!(header_block(&req), "Content-Length: 2\r\n");
}

#[test]
fn remove_drops_the_spelling_too() {
    let mut req = RequestHeader::build("GET", b"/", None).unwrap();
    req.append_header("X-Spelled", "1").unwrap();
    assert!(req.remove_header("X-SPELLED").is_some());
    // Added back directly, with no spelling: the old one must not come back.
    req.headers
        .insert("x-spelled", HeaderValue::from_static("2"));
    assert_eq!(header_block(&req), "x-spelled: 2\r\n");
}

#[test]
fn invalid_names_are_rejected_with_invalid_http_header() {
    let mut req = RequestHeader::build("GET", b"/", None).unwrap();
    for name in [
        "",
        "Bad Name",
        "Colon:",
        "Tab\tName",
        "Caf\u{e9}",
        "(paren)",
        "a\r\nb",
    ] {
        let err = req.append_header(String::from(name), "v").unwrap_err();
        assert_eq!(err.etype(), &ErrorType::InvalidHTTPHeader, "{name:?}");
        let err = req
            .insert_header(CaseHeaderName::new(String::from(name)), "v")
            .unwrap_err();
        assert_eq!(err.etype(), &ErrorType::InvalidHTTPHeader, "{name:?}");
    }
    assert!(req.headers.is_empty());
}

#[test]
fn invalid_values_are_rejected_with_invalid_http_header() {
    let mut req = RequestHeader::build("GET", b"/", None).unwrap();
    for value in [
        "a\r\nX-Injected: 1",
        "a\nb",
        "nul\0",
        "del\x7f",
        "bell\x07",
        " lead",
        "trail\t",
    ] {
        let err = req.insert_header("X-Value", value).unwrap_err();
        assert_eq!(err.etype(), &ErrorType::InvalidHTTPHeader, "{value:?}");
        let context = err.context.as_ref().map(|c| c.as_str()).unwrap_or("");
        assert!(context.contains("x-value"), "{context}");
    }
    let err = req
        .append_header("X-Value", b"\xff\r".to_vec())
        .unwrap_err();
    assert_eq!(err.etype(), &ErrorType::InvalidHTTPHeader);
    assert!(req.headers.is_empty());
    // obs-text and inner whitespace are allowed.
    req.insert_header("X-Value", b"caf\xe9 au\tlait".to_vec())
        .unwrap();
}

#[test]
fn headers_round_trip_through_httparse() {
    let mut req = RequestHeader::build("PATCH", b"/items/7?fields=a,b", Some(8)).unwrap();
    let sent = [
        ("Host", "example.com"),
        ("X-CamelCase", "one"),
        ("accept", "*/*"),
        ("X-CamelCase", "two"),
        ("x-empty", ""),
        ("Content-Length", "0"),
    ];
    for (name, value) in sent {
        req.append_header(name, value).unwrap();
    }
    let (method, target, headers) = parse_back(&req);
    assert_eq!(method, "PATCH");
    assert_eq!(target, b"/items/7?fields=a,b");
    let expected: Vec<(String, Vec<u8>)> = [
        ("Host", "example.com"),
        ("X-CamelCase", "one"),
        ("X-CamelCase", "two"),
        ("accept", "*/*"),
        ("x-empty", ""),
        ("Content-Length", "0"),
    ]
    .iter()
    .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
    .collect();
    assert_eq!(headers, expected);
}

#[test]
fn caseless_well_known_names_are_written_title_case() {
    let request = http::Request::post("/")
        .header("content-length", "3")
        .header("transfer-encoding", "chunked")
        .header("www-authenticate", "Basic")
        .header("x-custom", "c")
        .body(())
        .unwrap();
    let mut req = RequestHeader::from(request.into_parts().0);
    req.insert_header("X-Added-Later", "d").unwrap();
    assert_eq!(
        header_block(&req),
        "Content-Length: 3\r\nTransfer-Encoding: chunked\r\nWWW-Authenticate: Basic\r\n\
         x-custom: c\r\nx-added-later: d\r\n"
    );
}

#[test]
fn raw_path_keeps_non_utf8_and_invalid_uri_bytes() {
    let target = b"/d\xe9j\xe0/\xff?q=\"quoted\"&pipe=|";
    let req = RequestHeader::build("GET", target, None).unwrap();
    assert_eq!(req.raw_path(), target);
    assert!(req.uri.path().starts_with("/d%E9j%E0/%FF"));
    let mut line = Vec::new();
    req.request_line_to_h1_wire(&mut line);
    assert_eq!(line, [&b"GET "[..], target, b" HTTP/1.1\r\n"].concat());
}

#[test]
fn raw_path_is_unchanged_when_set_raw_path_fails() {
    let mut req = RequestHeader::build("GET", b"/keep", None).unwrap();
    assert!(req.set_raw_path(b"/bad path").is_err());
    assert!(req.set_raw_path(b"").is_err());
    assert_eq!(req.raw_path(), b"/keep");
    assert_eq!(req.uri.path(), "/keep");
}

#[test]
fn raw_path_follows_a_directly_replaced_uri() {
    let mut req = RequestHeader::build("GET", b"/\xfe", None).unwrap();
    req.uri = Uri::from_static("/replaced");
    assert_eq!(req.raw_path(), b"/replaced");
}

#[test]
fn connect_request_targets_the_authority() {
    let req = RequestHeader::build(Method::CONNECT, b"example.com:443", None).unwrap();
    assert_eq!(req.raw_path(), b"example.com:443");
    assert_eq!(req.uri.port_u16(), Some(443));
}

#[test]
fn set_method_and_version_change_the_request_line() {
    let mut req = RequestHeader::build("GET", b"/", None).unwrap();
    req.set_method(Method::OPTIONS);
    req.set_uri(Uri::from_static("*"));
    req.set_version(Version::HTTP_2);
    let mut line = Vec::new();
    req.request_line_to_h1_wire(&mut line);
    assert_eq!(line, b"OPTIONS * HTTP/1.1\r\n");
}

#[test]
fn custom_methods_are_accepted() {
    let req = RequestHeader::build("PURGE", b"/", None).unwrap();
    assert_eq!(req.method.as_str(), "PURGE");
}

#[test]
fn case_header_iter_matches_the_wire() {
    let mut req = RequestHeader::build("GET", b"/", None).unwrap();
    req.append_header("X-A", "1").unwrap();
    req.append_header("x-b", "2").unwrap();
    req.append_header("X-A", "3").unwrap();
    let from_iter: Vec<(String, Vec<u8>)> = req
        .case_header_iter()
        .map(|(n, v)| {
            (
                String::from_utf8(n.to_vec()).unwrap(),
                v.as_bytes().to_vec(),
            )
        })
        .collect();
    assert_eq!(from_iter, parse_back(&req).2);
}

#[test]
fn clone_and_owned_parts_are_independent_copies() {
    let mut req = RequestHeader::build("GET", b"/\xff", None).unwrap();
    req.append_header("X-Orig", "1").unwrap();
    let copy = req.clone();
    req.insert_header("x-orig", "2").unwrap();
    assert_eq!(header_block(&copy), "X-Orig: 1\r\n");
    assert_eq!(copy.raw_path(), b"/\xff");
    let parts = req.as_owned_parts();
    assert_eq!(parts.headers["x-orig"], "2");
    assert_eq!(RequestHeader::from(parts).raw_path(), b"/%FF");
}

#[test]
fn huge_size_hints_are_capped() {
    let req = RequestHeader::build("GET", b"/", Some(usize::MAX)).unwrap();
    assert!(req.headers.capacity() <= 2 * MAX_SIZE_HINT);
}

#[test]
fn debug_output_names_the_parts() {
    let req = RequestHeader::build("GET", b"/dbg", None).unwrap();
    let debug = format!("{req:?}");
    assert!(
        debug.contains("RequestHeader") && debug.contains("/dbg"),
        "{debug}"
    );
}
