//! Checks of header names, header values, reason phrases and request targets against
//! RFC 9110 / RFC 9112; every failure is an `InvalidHTTPHeader` error saying what was wrong.

use std::fmt::Write;

use http::{HeaderName, HeaderValue};
use pingora_error::{BError, Error, ErrorType, Result};

/// How many bytes of offending input an error message quotes.
const QUOTE_LIMIT: usize = 64;

/// An `InvalidHTTPHeader` error with `context`.
pub(crate) fn invalid(context: impl Into<String>) -> BError {
    Error::explain(ErrorType::InvalidHTTPHeader, context.into())
}

/// `bytes` escaped for an error message and cut to [`QUOTE_LIMIT`] bytes, so that hostile
/// input neither breaks a log line nor floods it.
pub(crate) fn quote(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(QUOTE_LIMIT)];
    let mut text = String::with_capacity(shown.len() + 8);
    text.push('"');
    // Writing into a String cannot fail.
    let _ = write!(text, "{}", shown.escape_ascii());
    if bytes.len() > QUOTE_LIMIT {
        text.push_str("...");
    }
    text.push('"');
    text
}

/// Whether `byte` is a `tchar` (RFC 9110 §5.6.2), the only bytes allowed in a field name.
fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// Whether `byte` may appear inside a field value or a reason phrase: `VCHAR`, `SP`,
/// `HTAB` or `obs-text` (RFC 9110 §5.5, RFC 9112 §4).
fn is_field_byte(byte: u8) -> bool {
    byte == b'\t' || (byte >= b' ' && byte != 0x7f)
}

/// Parses a header name from its wire spelling, rejecting anything that is not an
/// RFC 9110 token.
#[inline]
pub(crate) fn header_name(spelling: &[u8]) -> Result<HeaderName> {
    HeaderName::from_bytes(spelling).map_err(|_| invalid(describe_bad_name(spelling)))
}

fn describe_bad_name(spelling: &[u8]) -> String {
    if spelling.is_empty() {
        return "header name is empty".to_string();
    }
    match spelling.iter().position(|&b| !is_token_byte(b)) {
        Some(at) => format!(
            "header name {} has byte 0x{:02x} at offset {at}, which is not a token character \
             (RFC 9110 section 5.6.2)",
            quote(spelling),
            spelling[at],
        ),
        None => format!("header name {} is too long", quote(spelling)),
    }
}

/// Converts `value` into the value of header `name`, rejecting control characters
/// (other than HTAB) and DEL anywhere, and whitespace at either end: RFC 9110's
/// `field-value` neither starts nor ends with `SP` or `HTAB`, and an HTTP/1 receiver
/// would strip it, so such a value could not travel unchanged.
#[inline]
pub(crate) fn header_value<V: TryInto<HeaderValue>>(
    name: &HeaderName,
    value: V,
) -> Result<HeaderValue> {
    let value = value.try_into().map_err(|_| {
        invalid(format!(
            "value of header {name} has a byte RFC 9110 forbids in a field value \
             (a control character such as CR, LF or NUL, or DEL)"
        ))
    })?;
    let bytes = value.as_bytes();
    let padded = |b: Option<&u8>| matches!(b, Some(b' ' | b'\t'));
    if padded(bytes.first()) || padded(bytes.last()) {
        return Err(invalid(format!(
            "value of header {name} starts or ends with whitespace: {}",
            quote(bytes)
        )));
    }
    Ok(value)
}

/// Checks a reason phrase (RFC 9112 §4: `HTAB`, `SP`, `VCHAR` and `obs-text` only).
pub(crate) fn reason_phrase(reason: &str) -> Result<()> {
    match reason.bytes().position(|b| !is_field_byte(b)) {
        None => Ok(()),
        Some(at) => Err(invalid(format!(
            "reason phrase {} has control byte 0x{:02x} at offset {at}",
            quote(reason.as_bytes()),
            reason.as_bytes()[at],
        ))),
    }
}

/// Checks a request target before it is stored: it must be non-empty and hold no
/// whitespace or control byte, any of which would break or forge the request line
/// it is written into. Every other byte is kept, URI-valid or not.
pub(crate) fn request_target(raw: &[u8]) -> Result<()> {
    if raw.is_empty() {
        return Err(invalid("request target is empty"));
    }
    match raw.iter().position(|&b| b <= b' ' || b == 0x7f) {
        None => Ok(()),
        Some(at) => Err(invalid(format!(
            "request target {} has whitespace or control byte 0x{:02x} at offset {at}",
            quote(raw),
            raw[at],
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context_of(err: &Error) -> String {
        assert_eq!(err.etype(), &ErrorType::InvalidHTTPHeader);
        err.context
            .as_ref()
            .map(|c| c.as_str().to_string())
            .unwrap_or_default()
    }

    #[test]
    fn token_bytes_match_rfc_9110_tchar() {
        for byte in 0..=255u8 {
            let expected = matches!(byte,
                b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^'
                | b'_' | b'`' | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z');
            assert_eq!(is_token_byte(byte), expected, "byte 0x{byte:02x}");
            // The http crate must agree, or names could slip past (or be refused) unexplained.
            assert_eq!(
                HeaderName::from_bytes(&[byte]).is_ok(),
                expected,
                "byte 0x{byte:02x}"
            );
        }
    }

    #[test]
    fn field_bytes_match_what_http_header_values_accept() {
        for byte in 0..=255u8 {
            let accepted = HeaderValue::from_bytes(&[b'a', byte, b'a']).is_ok();
            assert_eq!(is_field_byte(byte), accepted, "byte 0x{byte:02x}");
        }
    }

    #[test]
    fn bad_header_names_say_which_byte_is_wrong() {
        let context = context_of(&header_name(b"X Bad").unwrap_err());
        assert!(context.contains("byte 0x20 at offset 1"), "{context}");
        let context = context_of(&header_name(b"").unwrap_err());
        assert_eq!(context, "header name is empty");
        let context = context_of(&header_name(b"a:b").unwrap_err());
        assert!(context.contains("0x3a"), "{context}");
        let context = context_of(&header_name(b"caf\xc3\xa9").unwrap_err());
        assert!(context.contains("0xc3"), "{context}");
    }

    #[test]
    fn header_values_with_controls_or_edge_whitespace_are_rejected() {
        let name = HeaderName::from_static("x-test");
        for bad in [
            "a\r\nb", "a\nb", "a\0b", "a\x7fb", "a\x01b", " a", "a ", "\ta", "a\t",
        ] {
            let err = header_value(&name, bad).unwrap_err();
            assert!(context_of(&err).contains("x-test"), "{bad:?}");
        }
        for good in ["", "a", "a b", "a\tb", "\u{e9}t\u{e9}", "!~"] {
            assert!(header_value(&name, good).is_ok(), "{good:?}");
        }
        assert!(header_value(&name, b"obs-\xfftext".as_slice()).is_ok());
    }

    #[test]
    fn reason_phrases_reject_control_bytes_only() {
        assert!(reason_phrase("Not Found").is_ok());
        assert!(reason_phrase("").is_ok());
        assert!(reason_phrase("tab\there").is_ok());
        let context = context_of(&reason_phrase("OK\r\nX: y").unwrap_err());
        assert!(context.contains("0x0d at offset 2"), "{context}");
        assert!(reason_phrase("a\x7f").is_err());
    }

    #[test]
    fn request_targets_reject_whitespace_and_controls() {
        assert!(request_target(b"/a?b=c").is_ok());
        assert!(request_target(b"/\xff{}|").is_ok());
        assert!(request_target(b"").is_err());
        for bad in [&b"/a b"[..], b"/a\r\n", b"/\0", b"/\x7f", b"/\t"] {
            assert!(request_target(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn quotes_are_escaped_and_truncated() {
        assert_eq!(quote(b"a\r\n"), r#""a\r\n""#);
        let long = quote(&[b'x'; 100]);
        assert!(long.ends_with("...\""));
        assert_eq!(long.len(), QUOTE_LIMIT + 5);
    }
}
