//! The request target (the path of the request line): parsed into an [`http::Uri`] for
//! routing, while the bytes as received are kept whenever the `Uri` would not reproduce them.

use bytes::Bytes;
use http::Uri;
use pingora_error::Result;

use crate::validate;

/// Request-target bytes that the request's `Uri` does not spell the same way: targets
/// with non-UTF-8 or URI-invalid bytes, a fragment, or in absolute form.
///
/// `for_uri` is the `Uri` that was derived from `bytes`: once the request's `Uri` is
/// changed (even directly, through `DerefMut`), the bytes no longer describe it and are
/// ignored.
#[derive(Debug, Clone)]
pub(crate) struct RawTarget {
    bytes: Bytes,
    for_uri: Uri,
}

impl RawTarget {
    /// The raw bytes, if `uri` is still the one they were parsed into.
    pub(crate) fn bytes_for(&self, uri: &Uri) -> Option<&[u8]> {
        (self.for_uri == *uri).then_some(&self.bytes[..])
    }
}

/// Parses `raw` into a `Uri`, plus the raw bytes when the `Uri` does not spell them.
///
/// A target the `Uri` parser refuses (non-UTF-8 bytes, characters such as `|` or `"`)
/// gets a `Uri` in which every byte outside a conservative set is percent-encoded, so that
/// `uri.path()` still shows the whole path to routing code. Fails with
/// `InvalidHTTPHeader` on an empty target, on whitespace or control bytes, and on a target
/// that cannot form a `Uri` even when encoded (longer than 65534 bytes, or not starting
/// with `/` and not an absolute or authority form).
pub(crate) fn parse(raw: &[u8]) -> Result<(Uri, Option<RawTarget>)> {
    validate::request_target(raw)?;
    if raw == b"/" {
        // The commonest target, and the placeholder a parser builds with before it sets the
        // real URI: no copy for it.
        return Ok((Uri::from_static("/"), None));
    }
    let uri = match Uri::try_from(raw) {
        Ok(uri) => uri,
        Err(_) => Uri::from_maybe_shared(percent_encode(raw)).map_err(|e| {
            validate::invalid(format!(
                "request target {} is not a URI: {e}",
                validate::quote(raw)
            ))
        })?,
    };
    if uri_target(&uri) == raw {
        // The common case: the Uri spells the target exactly, no second copy needed.
        Ok((uri, None))
    } else {
        let raw = RawTarget {
            bytes: Bytes::copy_from_slice(raw),
            for_uri: uri.clone(),
        };
        Ok((uri, Some(raw)))
    }
}

/// The request target a `Uri` stands for: its path and query (origin form), its
/// authority when it has nothing else (authority form, as for `CONNECT`), else `/`.
pub(crate) fn uri_target(uri: &Uri) -> &[u8] {
    match uri.path_and_query() {
        Some(path) if !path.as_str().is_empty() => path.as_str().as_bytes(),
        _ => match uri.authority() {
            Some(authority) if uri.scheme().is_none() => authority.as_str().as_bytes(),
            _ => b"/",
        },
    }
}

/// Whether `byte` may stay as it is in a fallback URI: unreserved and sub-delimiter
/// characters (RFC 3986) plus the path and query punctuation `: @ / ? %`.
fn keeps_in_uri(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&byte)
}

fn percent_encode(raw: &[u8]) -> Bytes {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut encoded = Vec::with_capacity(raw.len() + raw.len() / 2);
    for &byte in raw {
        if keeps_in_uri(byte) {
            encoded.push(byte);
        } else {
            encoded.extend_from_slice(&[
                b'%',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 0xf)],
            ]);
        }
    }
    Bytes::from(encoded)
}

/// The extension of the last segment of `path`: what follows its last `.`, when that dot
/// is neither the first nor the last character of the segment.
pub(crate) fn file_extension(path: &str) -> Option<&str> {
    let segment = path.rsplit('/').next().unwrap_or(path);
    match segment.rfind('.') {
        Some(dot) if dot > 0 && dot + 1 < segment.len() => Some(&segment[dot + 1..]),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw_kept(target: &[u8]) -> Option<Vec<u8>> {
        let (uri, raw) = parse(target).unwrap();
        raw.and_then(|raw| raw.bytes_for(&uri).map(<[u8]>::to_vec))
    }

    #[test]
    fn origin_form_targets_need_no_raw_copy() {
        for target in ["/", "/a/b?c=d&e", "*", "/caf\u{e9}", "/%zz"] {
            let (uri, raw) = parse(target.as_bytes()).unwrap();
            assert!(raw.is_none(), "{target}");
            assert_eq!(uri_target(&uri), target.as_bytes());
        }
    }

    #[test]
    fn authority_form_is_its_own_target() {
        let (uri, raw) = parse(b"example.com:443").unwrap();
        assert!(raw.is_none());
        assert_eq!(uri.authority().unwrap().as_str(), "example.com:443");
    }

    #[test]
    fn non_utf8_and_uri_invalid_bytes_are_kept_raw() {
        let target = b"/caf\xe9/a|b\"c\\{d}";
        assert_eq!(raw_kept(target).as_deref(), Some(&target[..]));
        let (uri, _) = parse(target).unwrap();
        assert_eq!(uri.path(), "/caf%E9/a%7Cb%22c%5C%7Bd%7D");
    }

    #[test]
    fn fragments_and_absolute_form_are_kept_raw() {
        assert_eq!(raw_kept(b"/a#frag").as_deref(), Some(&b"/a#frag"[..]));
        let absolute = b"http://example.com/x?y";
        assert_eq!(raw_kept(absolute).as_deref(), Some(&absolute[..]));
        let (uri, _) = parse(absolute).unwrap();
        assert_eq!(uri_target(&uri), b"/x?y");
    }

    #[test]
    fn raw_bytes_are_ignored_once_the_uri_changes() {
        let (_, raw) = parse(b"/\xff").unwrap();
        let raw = raw.unwrap();
        assert_eq!(raw.bytes_for(&Uri::from_static("/other")), None);
    }

    #[test]
    fn targets_that_cannot_form_a_uri_are_rejected() {
        for bad in [&b""[..], b"/a b", b"/\r\n", b"|x"] {
            let err = parse(bad).unwrap_err();
            assert_eq!(err.etype(), &pingora_error::ErrorType::InvalidHTTPHeader);
        }
        let long = [b'/'; 70_000];
        assert!(parse(&long).is_err());
    }

    #[test]
    fn uri_without_path_targets_slash() {
        assert_eq!(uri_target(&Uri::from_static("http://example.com")), b"/");
    }

    #[test]
    fn file_extension_comes_from_the_last_segment() {
        assert_eq!(file_extension("/a/b.tar.gz"), Some("gz"));
        assert_eq!(file_extension("/index.html"), Some("html"));
        assert_eq!(file_extension("/a.d/file"), None);
        assert_eq!(file_extension("/.hidden"), None);
        assert_eq!(file_extension("/trailing."), None);
        assert_eq!(file_extension("/"), None);
        assert_eq!(file_extension(""), None);
    }
}
