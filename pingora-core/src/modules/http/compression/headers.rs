//! The header rules of compression: reading `Content-Length`, `Content-Encoding`,
//! `Cache-Control` and `Content-Type`, and the `Vary` and `ETag` rewrites.

use http::header::{CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, ETAG, VARY};
use http::HeaderMap;
use pingora_error::Result;
use pingora_http::ResponseHeader;

use super::Algorithm;

/// The `Content-Length`, when present and a number.
pub(super) fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// The response's coding: `None` for none (or `identity`), [`Algorithm::Other`] for one we
/// do not handle or for several stacked.
pub(super) fn content_encoding(headers: &HeaderMap) -> Option<Algorithm> {
    let mut codings = headers
        .get_all(CONTENT_ENCODING)
        .iter()
        .flat_map(|v| v.to_str().unwrap_or("?").split(','))
        .map(str::trim)
        .filter(|c| !c.is_empty() && !c.eq_ignore_ascii_case("identity"));
    let first = codings.next()?;
    if codings.next().is_some() {
        return Some(Algorithm::Other);
    }
    Some(Algorithm::from_content_encoding(first))
}

/// Whether a comma-separated header lists `token` (case-insensitive, parameters ignored).
pub(super) fn has_token(headers: &HeaderMap, name: http::header::HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|v| {
        v.to_str().is_ok_and(|v| {
            v.split(',').any(|item| {
                let item = item.split(['=', ';']).next().unwrap_or_default();
                item.trim().eq_ignore_ascii_case(token)
            })
        })
    })
}

/// Media that is already compressed: compressing it again costs CPU and saves nothing.
pub(super) fn is_precompressed_type(headers: &HeaderMap) -> bool {
    const COMPRESSED: [&str; 13] = [
        "application/zip",
        "application/gzip",
        "application/x-gzip",
        "application/zstd",
        "application/x-bzip2",
        "application/x-xz",
        "application/x-7z-compressed",
        "application/x-rar-compressed",
        "application/vnd.rar",
        "font/woff",
        "font/woff2",
        "application/font-woff",
        "application/font-woff2",
    ];
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let media = value.split(';').next().unwrap_or_default().trim();
    let starts = |prefix: &str| {
        media.len() >= prefix.len() && media[..prefix.len()].eq_ignore_ascii_case(prefix)
    };
    if starts("image/") {
        return !starts("image/svg+xml");
    }
    starts("audio/") || starts("video/") || COMPRESSED.iter().any(|t| media.eq_ignore_ascii_case(t))
}

/// Adds `Vary: Accept-Encoding` unless `Vary` already names it or is `*`.
pub(super) fn add_vary_accept_encoding(resp: &mut ResponseHeader) -> Result<()> {
    if has_token(&resp.headers, VARY, "accept-encoding") || has_token(&resp.headers, VARY, "*") {
        return Ok(());
    }
    resp.append_header("Vary", "Accept-Encoding")?;
    Ok(())
}

/// Turns a strong `ETag` (`"x"`) into a weak one (`W/"x"`).
pub(super) fn weaken_etag(resp: &mut ResponseHeader) -> Result<()> {
    let Some(etag) = resp.headers.get(ETAG) else {
        return Ok(());
    };
    if etag.as_bytes().starts_with(b"W/") {
        return Ok(());
    }
    let mut weak = Vec::with_capacity(etag.len() + 2);
    weak.extend_from_slice(b"W/");
    weak.extend_from_slice(etag.as_bytes());
    resp.insert_header("ETag", weak)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn headers(name: http::header::HeaderName, value: &'static str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(name, HeaderValue::from_static(value));
        map
    }

    #[test]
    fn content_encoding_names_one_coding_or_other() {
        assert_eq!(Algorithm::Gzip.as_str(), "gzip");
        assert_eq!(Algorithm::Brotli.as_str(), "br");
        assert_eq!(Algorithm::Zstd.as_str(), "zstd");
        assert_eq!(
            Algorithm::from_content_encoding(" X-GZIP "),
            Algorithm::Gzip
        );
        assert_eq!(content_encoding(&HeaderMap::new()), None);
        assert_eq!(
            content_encoding(&headers(CONTENT_ENCODING, "identity")),
            None
        );
        assert_eq!(
            content_encoding(&headers(CONTENT_ENCODING, "br")),
            Some(Algorithm::Brotli)
        );
        assert_eq!(
            content_encoding(&headers(CONTENT_ENCODING, "gzip, br")),
            Some(Algorithm::Other)
        );
        assert_eq!(
            content_encoding(&headers(CONTENT_ENCODING, "deflate")),
            Some(Algorithm::Other)
        );
    }

    #[test]
    fn tokens_match_case_insensitively_without_parameters() {
        let cc = http::header::CACHE_CONTROL;
        assert!(has_token(
            &headers(cc.clone(), "max-age=5, No-Transform"),
            cc.clone(),
            "no-transform"
        ));
        assert!(!has_token(
            &headers(cc.clone(), "no-transformation"),
            cc.clone(),
            "no-transform"
        ));
        assert!(has_token(
            &headers(VARY, "Origin,accept-encoding"),
            VARY,
            "accept-encoding"
        ));
    }

    #[test]
    fn precompressed_media_types_are_recognised() {
        for (value, expected) in [
            ("image/png", true),
            ("IMAGE/JPEG; q=1", true),
            ("image/svg+xml", false),
            ("video/mp4", true),
            ("audio/ogg", true),
            ("application/zip", true),
            ("font/woff2", true),
            ("text/html; charset=utf-8", false),
            ("application/json", false),
            ("im", false),
        ] {
            assert_eq!(
                is_precompressed_type(&headers(CONTENT_TYPE, value)),
                expected,
                "{value}"
            );
        }
        assert!(!is_precompressed_type(&HeaderMap::new()));
    }

    #[test]
    fn content_length_reads_a_number_or_nothing() {
        assert_eq!(content_length(&headers(CONTENT_LENGTH, " 42 ")), Some(42));
        assert_eq!(content_length(&headers(CONTENT_LENGTH, "x")), None);
        assert_eq!(content_length(&HeaderMap::new()), None);
    }
}
