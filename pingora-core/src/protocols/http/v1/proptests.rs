//! Property tests: the request-head parser and the chunked decoder never panic on arbitrary
//! bytes, and chunked encoding round-trips through the decoder.

use bytes::BytesMut;
use proptest::prelude::*;

use super::chunked::{chunk_header, ChunkedDecoder, Decoded, LAST_CHUNK};
use super::head::{parse_request, parse_response};
use super::settings::H1Settings;

proptest! {
    #[test]
    fn request_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let mut buf = BytesMut::from(&bytes[..]);
        let _ = parse_request(&mut buf, &H1Settings::default());
    }

    #[test]
    fn request_parser_never_panics_on_near_valid_heads(
        method in "[A-Z]{1,8}",
        path in "/[ -~]{0,40}",
        lines in proptest::collection::vec("[ -~\t\r\n]{0,40}", 0..8),
    ) {
        let raw = format!("{method} {path} HTTP/1.1\r\n{}\r\n\r\n", lines.join("\r\n"));
        let mut buf = BytesMut::from(raw.as_bytes());
        let _ = parse_request(&mut buf, &H1Settings::default());
        let mut buf = BytesMut::from(raw.as_bytes());
        let _ = parse_response(&mut buf, &H1Settings::default());
    }

    #[test]
    fn chunked_decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let mut decoder = ChunkedDecoder::new(4096, 16 * 1024);
        let mut buf = BytesMut::from(&bytes[..]);
        for _ in 0..bytes.len() + 2 {
            match decoder.decode(&mut buf) {
                Ok(Decoded::Data(_)) => continue,
                _ => break,
            }
        }
    }

    #[test]
    fn chunked_encoding_round_trips(
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..300), 0..20),
        split in 1usize..64,
    ) {
        let mut wire = Vec::new();
        for chunk in &chunks {
            let (header, len) = chunk_header(chunk.len());
            wire.extend_from_slice(&header[..len]);
            wire.extend_from_slice(chunk);
            wire.extend_from_slice(b"\r\n");
        }
        wire.extend_from_slice(LAST_CHUNK);

        // Feed the wire in pieces of `split` bytes, as a network would.
        let mut decoder = ChunkedDecoder::new(4096, 16 * 1024);
        let mut buf = BytesMut::new();
        let mut body = Vec::new();
        let mut fed = 0;
        loop {
            match decoder.decode(&mut buf).unwrap() {
                Decoded::Data(data) => body.extend_from_slice(&data),
                Decoded::Done => break,
                Decoded::NeedMore => {
                    prop_assert!(fed < wire.len(), "decoder wants more than the whole body");
                    let end = (fed + split).min(wire.len());
                    buf.extend_from_slice(&wire[fed..end]);
                    fed = end;
                }
            }
        }
        prop_assert_eq!(body, chunks.concat());
        prop_assert!(buf.is_empty());
        prop_assert_eq!(fed, wire.len());
    }
}
