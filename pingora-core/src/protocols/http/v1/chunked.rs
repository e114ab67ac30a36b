//! The chunked transfer coding (RFC 9112 §7.1): a decoder that takes chunks out of a read
//! buffer without copying their data, and the encoder's chunk framing.
//!
//! The decoder is strict: CRLF after every line and chunk, a hex size that fits in 64 bits,
//! extensions that hold no control bytes (they are skipped, never interpreted), and bounded
//! line and trailer sizes.

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue};
use pingora_error::{Error, ErrorType, Result};

use super::head::{check_line_endings, has_head_end};

/// Most trailer fields a chunked body may end with.
const MAX_TRAILERS: usize = 32;

/// What one decoding step produced.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Decoded {
    /// Body bytes (a part of a chunk).
    Data(Bytes),
    /// The buffer holds no complete next piece: read more.
    NeedMore,
    /// The last chunk and the trailer section were read.
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Expecting a chunk-size line.
    Size,
    /// Inside a chunk's data.
    Data {
        left: u64,
    },
    /// Expecting the CRLF after a chunk's data.
    DataEnd,
    /// After the last chunk: expecting trailer lines or the final CRLF.
    Trailers,
    Done,
}

/// Decodes a chunked body from a buffer the caller keeps filling.
#[derive(Debug)]
pub(crate) struct ChunkedDecoder {
    state: State,
    max_line: usize,
    max_trailer: usize,
    trailers: Option<Box<HeaderMap>>,
}

fn malformed<T>(context: &'static str) -> Result<T> {
    Error::e_explain(ErrorType::H1Error, context)
}

/// Parses a chunk-size line without its CRLF: `1*HEXDIG [ BWS ";" extensions ]`.
fn parse_size_line(line: &[u8]) -> Result<u64> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return malformed("chunk size is not hexadecimal");
    }
    let mut size: u64 = 0;
    for &digit in &line[..digits] {
        let value = match digit {
            b'0'..=b'9' => digit - b'0',
            b'a'..=b'f' => digit - b'a' + 10,
            _ => digit - b'A' + 10,
        };
        size = size
            .checked_mul(16)
            .and_then(|s| s.checked_add(u64::from(value)))
            .ok_or_else(|| Error::explain(ErrorType::H1Error, "chunk size overflows"))?;
    }
    let rest = &line[digits..];
    let after_ws = rest.trim_ascii_start();
    if after_ws.is_empty() && rest.is_empty() {
        return Ok(size);
    }
    if after_ws.first() != Some(&b';') {
        return malformed("junk after the chunk size");
    }
    // Extensions are ignored, but they may not smuggle control bytes past us.
    if after_ws
        .iter()
        .any(|&b| (b < b' ' && b != b'\t') || b == 0x7f)
    {
        return malformed("control byte in a chunk extension");
    }
    Ok(size)
}

impl ChunkedDecoder {
    /// A decoder with the given chunk-line and trailer-section limits.
    pub(crate) fn new(max_line: usize, max_trailer: usize) -> Self {
        ChunkedDecoder {
            state: State::Size,
            max_line,
            max_trailer,
            trailers: None,
        }
    }

    /// Whether the last chunk and trailers were read.
    pub(crate) fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// The trailer fields, once [`Decoded::Done`] was returned and if there were any.
    pub(crate) fn take_trailers(&mut self) -> Option<Box<HeaderMap>> {
        self.trailers.take()
    }

    /// Takes the next piece of the body out of `buf`. Errors are `H1Error` (source unset).
    pub(crate) fn decode(&mut self, buf: &mut BytesMut) -> Result<Decoded> {
        loop {
            match self.state {
                State::Size => {
                    let Some(end) = buf.iter().position(|&b| b == b'\n') else {
                        if buf.len() > self.max_line {
                            return malformed("chunk-size line too long");
                        }
                        return Ok(Decoded::NeedMore);
                    };
                    if end + 1 > self.max_line {
                        return malformed("chunk-size line too long");
                    }
                    if end == 0 || buf[end - 1] != b'\r' {
                        return malformed("bare LF where CRLF is required after a chunk size");
                    }
                    let size = parse_size_line(&buf[..end - 1])?;
                    let _ = buf.split_to(end + 1);
                    self.state = if size == 0 {
                        State::Trailers
                    } else {
                        State::Data { left: size }
                    };
                }
                State::Data { left } => {
                    if buf.is_empty() {
                        return Ok(Decoded::NeedMore);
                    }
                    let take = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
                    let left = left - take as u64;
                    self.state = if left == 0 {
                        State::DataEnd
                    } else {
                        State::Data { left }
                    };
                    return Ok(Decoded::Data(buf.split_to(take).freeze()));
                }
                State::DataEnd => {
                    if buf.len() < 2 {
                        if buf.first().is_some_and(|&b| b != b'\r') {
                            return malformed("chunk data not followed by CRLF");
                        }
                        return Ok(Decoded::NeedMore);
                    }
                    if &buf[..2] != b"\r\n" {
                        return malformed("chunk data not followed by CRLF");
                    }
                    let _ = buf.split_to(2);
                    self.state = State::Size;
                }
                State::Trailers => return self.decode_trailers(buf),
                State::Done => return Ok(Decoded::Done),
            }
        }
    }

    fn decode_trailers(&mut self, buf: &mut BytesMut) -> Result<Decoded> {
        if buf.starts_with(b"\r\n") {
            let _ = buf.split_to(2);
            self.state = State::Done;
            return Ok(Decoded::Done);
        }
        if buf.first() == Some(&b'\n') {
            return malformed("bare LF where CRLF is required after the last chunk");
        }
        // Wait for the empty line (CRLF or bare LF, the latter to reject it) before parsing.
        if !has_head_end(buf) {
            if buf.len() > self.max_trailer {
                return malformed("trailer section too large");
            }
            return Ok(Decoded::NeedMore);
        }
        let mut slots = [httparse::EMPTY_HEADER; MAX_TRAILERS];
        let (len, fields) = match httparse::parse_headers(buf, &mut slots) {
            Ok(httparse::Status::Complete((len, fields))) => (len, fields),
            Ok(httparse::Status::Partial) => return Ok(Decoded::NeedMore),
            Err(_) => return malformed("malformed trailer section"),
        };
        if len > self.max_trailer {
            return malformed("trailer section too large");
        }
        check_line_endings(&buf[..len]).map_err(|why| Error::explain(ErrorType::H1Error, why))?;
        let mut map = HeaderMap::with_capacity(fields.len());
        for field in fields.iter() {
            let name = HeaderName::from_bytes(field.name.as_bytes())
                .map_err(|_| Error::explain(ErrorType::H1Error, "bad trailer name"))?;
            let value = HeaderValue::from_bytes(field.value)
                .map_err(|_| Error::explain(ErrorType::H1Error, "bad trailer value"))?;
            if NEVER_IN_TRAILERS.contains(&name) {
                continue;
            }
            map.append(name, value);
        }
        let _ = buf.split_to(len);
        self.trailers = Some(Box::new(map));
        self.state = State::Done;
        Ok(Decoded::Done)
    }
}

/// Fields a trailer section can never carry (RFC 9110 §6.5.1): message framing, routing and
/// the connection-level ones. They are dropped when read, so that nothing passes them on: a
/// next hop that merged a `Content-Length` or `Host` trailer into the header section would
/// frame or route the message differently from this one.
static NEVER_IN_TRAILERS: [HeaderName; 9] = [
    http::header::CONTENT_LENGTH,
    http::header::TRANSFER_ENCODING,
    http::header::TRAILER,
    http::header::HOST,
    http::header::CONNECTION,
    http::header::TE,
    http::header::UPGRADE,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
];

/// The framing written before a chunk of `len` bytes: its size in hex and CRLF. Returns the
/// buffer and how many of its bytes to write.
pub(crate) fn chunk_header(len: usize) -> ([u8; 18], usize) {
    let mut out = [0u8; 18];
    let digits = if len == 0 {
        1
    } else {
        (usize::BITS - len.leading_zeros()).div_ceil(4) as usize
    };
    for (i, slot) in out[..digits].iter_mut().enumerate() {
        let nibble = (len >> (4 * (digits - 1 - i))) & 0xf;
        *slot = b"0123456789abcdef"[nibble];
    }
    out[digits] = b'\r';
    out[digits + 1] = b'\n';
    (out, digits + 2)
}

/// What ends a chunked body without trailers: the last chunk and the empty line.
pub(crate) const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(wire: &[u8]) -> Result<(Vec<u8>, Option<Box<HeaderMap>>, BytesMut)> {
        let mut decoder = ChunkedDecoder::new(4096, 16 * 1024);
        let mut buf = BytesMut::from(wire);
        let mut body = Vec::new();
        loop {
            match decoder.decode(&mut buf)? {
                Decoded::Data(data) => body.extend_from_slice(&data),
                Decoded::NeedMore => return malformed("incomplete"),
                Decoded::Done => return Ok((body, decoder.take_trailers(), buf)),
            }
        }
    }

    #[test]
    fn chunks_with_extensions_and_trailers_decode() {
        let (body, trailers, rest) =
            decode_all(b"5;name=\"v\"\r\nhello\r\n1 ;x\r\n!\r\n0\r\nX-Sum: 9\r\n\r\nNEXT").unwrap();
        assert_eq!(body, b"hello!");
        assert_eq!(trailers.unwrap()["x-sum"], "9");
        assert_eq!(&rest[..], b"NEXT");
    }

    #[test]
    fn framing_routing_and_connection_trailers_are_dropped() {
        let (body, trailers, rest) = decode_all(
            b"2\r\nok\r\n0\r\nContent-Length: 40\r\nX-Sum: 9\r\nhost: evil\r\n\
              Transfer-Encoding: chunked\r\nConnection: close\r\nTrailer: X\r\n\r\nNEXT",
        )
        .unwrap();
        assert_eq!(body, b"ok");
        let trailers = trailers.unwrap();
        assert_eq!(trailers.len(), 1, "{trailers:?}");
        assert_eq!(trailers["x-sum"], "9");
        assert_eq!(&rest[..], b"NEXT");
    }

    #[test]
    fn malformed_chunk_lines_are_rejected() {
        for wire in [
            &b"g\r\n"[..],
            b"5\nhello\r\n0\r\n\r\n",
            b"5\r\nhelloXY0\r\n\r\n",
            b"5\r\nhello\n0\r\n\r\n",
            b"10000000000000000\r\n",
            b"5 x\r\nhello\r\n0\r\n\r\n",
            b"5;a\x00b\r\nhello\r\n0\r\n\r\n",
            b"0\r\nX: 1\n\r\n",
            b"0\r\n\n",
        ] {
            assert!(
                decode_all(wire).is_err(),
                "accepted {}",
                wire.escape_ascii()
            );
        }
    }

    #[test]
    fn chunk_header_is_lower_hex() {
        for (len, text) in [
            (0usize, "0\r\n"),
            (10, "a\r\n"),
            (4096, "1000\r\n"),
            (255, "ff\r\n"),
        ] {
            let (bytes, n) = chunk_header(len);
            assert_eq!(&bytes[..n], text.as_bytes());
        }
    }
}
