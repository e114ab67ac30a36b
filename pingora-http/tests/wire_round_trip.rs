//! Property tests: any list of valid headers written by `header_to_h1_wire` parses back
//! (with httparse, as a peer would) to the same names, spellings, values and order.

use pingora_http::{RequestHeader, ResponseHeader};
use proptest::prelude::*;

/// A header name in mixed case, drawn from a small pool of base names so that lists
/// hold repeats (of the same name spelled differently, too) and well-known names.
fn header_name() -> impl Strategy<Value = String> {
    let base = prop::sample::select(vec![
        "host",
        "content-type",
        "x-trace-id",
        "set-cookie",
        "x-a",
        "etag",
        "x!#$%&'*+.^_`|~9",
    ]);
    (base, prop::collection::vec(any::<bool>(), 20)).prop_map(|(base, upper)| {
        base.chars()
            .zip(upper.iter().cycle())
            .map(|(c, &up)| if up { c.to_ascii_uppercase() } else { c })
            .collect()
    })
}

/// A valid field value: visible ASCII, spaces and tabs inside, obs-text bytes, no
/// whitespace at either end.
fn header_value() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![0x21u8..=0x7e, Just(b' '), Just(b'\t'), 0x80u8..=0xff],
        0..24,
    )
    .prop_map(|mut value| {
        while matches!(value.last(), Some(b' ' | b'\t')) {
            value.pop();
        }
        while matches!(value.first(), Some(b' ' | b'\t')) {
            value.remove(0);
        }
        value
    })
}

/// What the wire must carry for `sent`: names grouped in order of first appearance,
/// each name's values in order, every value of a name with its last spelling.
fn expected_wire(sent: &[(String, Vec<u8>)]) -> Vec<(String, Vec<u8>)> {
    let mut groups: Vec<(String, String, Vec<Vec<u8>>)> = Vec::new();
    for (name, value) in sent {
        let lower = name.to_ascii_lowercase();
        match groups.iter_mut().find(|(key, _, _)| *key == lower) {
            Some((_, spelling, values)) => {
                *spelling = name.clone();
                values.push(value.clone());
            }
            None => groups.push((lower, name.clone(), vec![value.clone()])),
        }
    }
    groups
        .into_iter()
        .flat_map(|(_, spelling, values)| values.into_iter().map(move |v| (spelling.clone(), v)))
        .collect()
}

fn parsed_headers(headers: &[httparse::Header<'_>]) -> Vec<(String, Vec<u8>)> {
    headers
        .iter()
        .map(|h| (h.name.to_string(), h.value.to_vec()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn request_headers_round_trip(sent in prop::collection::vec((header_name(), header_value()), 0..16)) {
        let mut req = RequestHeader::build("GET", b"/", Some(sent.len())).unwrap();
        for (name, value) in &sent {
            req.append_header(name.clone(), value.clone()).unwrap();
        }
        let mut wire = Vec::new();
        req.request_line_to_h1_wire(&mut wire);
        req.header_to_h1_wire(&mut wire);
        wire.extend_from_slice(b"\r\n");

        let mut slots = [httparse::EMPTY_HEADER; 32];
        let mut parsed = httparse::Request::new(&mut slots);
        prop_assert_eq!(parsed.parse(&wire).unwrap(), httparse::Status::Complete(wire.len()));
        prop_assert_eq!(parsed_headers(parsed.headers), expected_wire(&sent));
    }

    #[test]
    fn response_headers_round_trip(sent in prop::collection::vec((header_name(), header_value()), 0..16)) {
        let mut resp = ResponseHeader::build(200, None).unwrap();
        for (name, value) in &sent {
            resp.append_header(name.clone(), value.clone()).unwrap();
        }
        let mut wire = Vec::new();
        resp.status_line_to_h1_wire(&mut wire);
        resp.header_to_h1_wire(&mut wire);
        wire.extend_from_slice(b"\r\n");

        let mut slots = [httparse::EMPTY_HEADER; 32];
        let mut parsed = httparse::Response::new(&mut slots);
        prop_assert_eq!(parsed.parse(&wire).unwrap(), httparse::Status::Complete(wire.len()));
        prop_assert_eq!(parsed_headers(parsed.headers), expected_wire(&sent));
    }

    #[test]
    fn any_request_target_without_whitespace_is_kept_raw(
        target in prop::collection::vec(0x21u8..=0xff, 1..40).prop_filter("no DEL", |t| !t.contains(&0x7f)),
    ) {
        let mut path = vec![b'/'];
        path.extend_from_slice(&target);
        let req = RequestHeader::build("GET", &path, None).unwrap();
        prop_assert_eq!(req.raw_path(), &path[..]);
    }
}
