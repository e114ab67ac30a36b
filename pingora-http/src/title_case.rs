//! The canonical spelling of well-known header names, used when a header has no
//! recorded wire spelling (it came over HTTP/2, from `http` parts, or by [`http::HeaderName`]).

use http::HeaderName;

/// The canonical Title-Case spelling of a well-known header name, given the name in
/// lower case (as [`HeaderName::as_str`] returns it); `None` for any other name.
///
/// Well-known means every standard header the `http` crate defines, plus a few
/// de-facto standard proxy headers (`Keep-Alive`, `Proxy-Connection`,
/// `X-Forwarded-For`, `X-Forwarded-Host`, `X-Forwarded-Proto`, `X-Real-IP`). Spellings
/// follow the defining specification where it is not plain Title-Case (`ETag`, `TE`,
/// `WWW-Authenticate`, `Sec-WebSocket-Key`, ...).
#[inline]
pub(crate) fn title_case(lower: &str) -> Option<&'static str> {
    // This runs once per header line written, so it must be cheap: (length, first byte,
    // last byte) singles out one candidate (two share a key and are told apart by byte
    // 21), and one comparison confirms it.
    let bytes = lower.as_bytes();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return None;
    };
    let (candidate, title) = match (bytes.len(), first, last) {
        (2, b't', b'e') => ("te", "TE"),
        (3, b'a', b'e') => ("age", "Age"),
        (3, b'd', b't') => ("dnt", "DNT"),
        (3, b'v', b'a') => ("via", "Via"),
        (4, b'd', b'e') => ("date", "Date"),
        (4, b'e', b'g') => ("etag", "ETag"),
        (4, b'f', b'm') => ("from", "From"),
        (4, b'h', b't') => ("host", "Host"),
        (4, b'l', b'k') => ("link", "Link"),
        (4, b'v', b'y') => ("vary", "Vary"),
        (5, b'a', b'w') => ("allow", "Allow"),
        (5, b'r', b'e') => ("range", "Range"),
        (6, b'a', b't') => ("accept", "Accept"),
        (6, b'c', b'e') => ("cookie", "Cookie"),
        (6, b'e', b't') => ("expect", "Expect"),
        (6, b'o', b'n') => ("origin", "Origin"),
        (6, b'p', b'a') => ("pragma", "Pragma"),
        (6, b's', b'r') => ("server", "Server"),
        (7, b'a', b'c') => ("alt-svc", "Alt-Svc"),
        (7, b'e', b's') => ("expires", "Expires"),
        (7, b'r', b'h') => ("refresh", "Refresh"),
        (7, b'r', b'r') => ("referer", "Referer"),
        (7, b't', b'r') => ("trailer", "Trailer"),
        (7, b'u', b'e') => ("upgrade", "Upgrade"),
        (7, b'w', b'g') => ("warning", "Warning"),
        (8, b'i', b'e') => ("if-range", "If-Range"),
        (8, b'i', b'h') => ("if-match", "If-Match"),
        (8, b'l', b'n') => ("location", "Location"),
        (9, b'f', b'd') => ("forwarded", "Forwarded"),
        (9, b'x', b'p') => ("x-real-ip", "X-Real-IP"),
        (10, b'c', b'n') => ("connection", "Connection"),
        (10, b'k', b'e') => ("keep-alive", "Keep-Alive"),
        (10, b's', b'e') => ("set-cookie", "Set-Cookie"),
        (10, b'u', b't') => ("user-agent", "User-Agent"),
        (11, b'r', b'r') => ("retry-after", "Retry-After"),
        (12, b'c', b'e') => ("content-type", "Content-Type"),
        (12, b'c', b's') => ("cache-status", "Cache-Status"),
        (12, b'm', b's') => ("max-forwards", "Max-Forwards"),
        (13, b'a', b'n') => ("authorization", "Authorization"),
        (13, b'a', b's') => ("accept-ranges", "Accept-Ranges"),
        (13, b'c', b'e') => ("content-range", "Content-Range"),
        (13, b'c', b'l') => ("cache-control", "Cache-Control"),
        (13, b'i', b'h') => ("if-none-match", "If-None-Match"),
        (13, b'l', b'd') => ("last-modified", "Last-Modified"),
        (14, b'a', b't') => ("accept-charset", "Accept-Charset"),
        (14, b'c', b'h') => ("content-length", "Content-Length"),
        (15, b'a', b'e') => ("accept-language", "Accept-Language"),
        (15, b'a', b'g') => ("accept-encoding", "Accept-Encoding"),
        (15, b'p', b's') => ("public-key-pins", "Public-Key-Pins"),
        (15, b'r', b'y') => ("referrer-policy", "Referrer-Policy"),
        (15, b'x', b'r') => ("x-forwarded-for", "X-Forwarded-For"),
        (15, b'x', b's') => ("x-frame-options", "X-Frame-Options"),
        (16, b'c', b'e') => ("content-language", "Content-Language"),
        (16, b'c', b'g') => ("content-encoding", "Content-Encoding"),
        (16, b'c', b'n') => ("content-location", "Content-Location"),
        (16, b'p', b'n') => ("proxy-connection", "Proxy-Connection"),
        (16, b'w', b'e') => ("www-authenticate", "WWW-Authenticate"),
        (16, b'x', b'n') => ("x-xss-protection", "X-XSS-Protection"),
        (16, b'x', b't') => ("x-forwarded-host", "X-Forwarded-Host"),
        (17, b'c', b'l') => ("cdn-cache-control", "CDN-Cache-Control"),
        (17, b'i', b'e') => ("if-modified-since", "If-Modified-Since"),
        (17, b's', b'y') => ("sec-websocket-key", "Sec-WebSocket-Key"),
        (17, b't', b'g') => ("transfer-encoding", "Transfer-Encoding"),
        (17, b'x', b'o') => ("x-forwarded-proto", "X-Forwarded-Proto"),
        (18, b'p', b'e') => ("proxy-authenticate", "Proxy-Authenticate"),
        (19, b'c', b'n') => ("content-disposition", "Content-Disposition"),
        (19, b'i', b'e') => ("if-unmodified-since", "If-Unmodified-Since"),
        (19, b'p', b'n') => ("proxy-authorization", "Proxy-Authorization"),
        (20, b's', b't') => ("sec-websocket-accept", "Sec-WebSocket-Accept"),
        (21, b's', b'n') => ("sec-websocket-version", "Sec-WebSocket-Version"),
        (22, b'a', b'e') => ("access-control-max-age", "Access-Control-Max-Age"),
        (22, b's', b'l') => ("sec-websocket-protocol", "Sec-WebSocket-Protocol"),
        (22, b'x', b'l') => ("x-dns-prefetch-control", "X-DNS-Prefetch-Control"),
        (22, b'x', b's') => ("x-content-type-options", "X-Content-Type-Options"),
        (23, b'c', b'y') => ("content-security-policy", "Content-Security-Policy"),
        (24, b's', b's') => ("sec-websocket-extensions", "Sec-WebSocket-Extensions"),
        (25, b's', b'y') => ("strict-transport-security", "Strict-Transport-Security"),
        (25, b'u', b's') => ("upgrade-insecure-requests", "Upgrade-Insecure-Requests"),
        (27, b'a', b'n') => ("access-control-allow-origin", "Access-Control-Allow-Origin"),
        (27, b'p', b'y') => ("public-key-pins-report-only", "Public-Key-Pins-Report-Only"),
        (28, b'a', b's') => match lower.as_bytes()[21] {
            b'h' => (
                "access-control-allow-headers",
                "Access-Control-Allow-Headers",
            ),
            b'm' => (
                "access-control-allow-methods",
                "Access-Control-Allow-Methods",
            ),
            _ => return None,
        },
        (29, b'a', b'd') => (
            "access-control-request-method",
            "Access-Control-Request-Method",
        ),
        (29, b'a', b's') => (
            "access-control-expose-headers",
            "Access-Control-Expose-Headers",
        ),
        (30, b'a', b's') => (
            "access-control-request-headers",
            "Access-Control-Request-Headers",
        ),
        (32, b'a', b's') => (
            "access-control-allow-credentials",
            "Access-Control-Allow-Credentials",
        ),
        (35, b'c', b'y') => (
            "content-security-policy-report-only",
            "Content-Security-Policy-Report-Only",
        ),
        _ => return None,
    };
    (candidate == lower).then_some(title)
}

/// The spelling a header name gets on the wire when none was recorded: the
/// canonical Title-Case for a well-known name, else the name as stored (lower case).
#[inline]
pub(crate) fn default_spelling(name: &HeaderName) -> &[u8] {
    let lower = name.as_str();
    title_case(lower).unwrap_or(lower).as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::*;

    #[test]
    fn every_standard_http_header_has_a_title_case_spelling() {
        let standard = [
            ACCEPT,
            ACCEPT_CHARSET,
            ACCEPT_ENCODING,
            ACCEPT_LANGUAGE,
            ACCEPT_RANGES,
            ACCESS_CONTROL_ALLOW_CREDENTIALS,
            ACCESS_CONTROL_ALLOW_HEADERS,
            ACCESS_CONTROL_ALLOW_METHODS,
            ACCESS_CONTROL_ALLOW_ORIGIN,
            ACCESS_CONTROL_EXPOSE_HEADERS,
            ACCESS_CONTROL_MAX_AGE,
            ACCESS_CONTROL_REQUEST_HEADERS,
            ACCESS_CONTROL_REQUEST_METHOD,
            AGE,
            ALLOW,
            ALT_SVC,
            AUTHORIZATION,
            CACHE_CONTROL,
            CACHE_STATUS,
            CDN_CACHE_CONTROL,
            CONNECTION,
            CONTENT_DISPOSITION,
            CONTENT_ENCODING,
            CONTENT_LANGUAGE,
            CONTENT_LENGTH,
            CONTENT_LOCATION,
            CONTENT_RANGE,
            CONTENT_SECURITY_POLICY,
            CONTENT_SECURITY_POLICY_REPORT_ONLY,
            CONTENT_TYPE,
            COOKIE,
            DNT,
            DATE,
            ETAG,
            EXPECT,
            EXPIRES,
            FORWARDED,
            FROM,
            HOST,
            IF_MATCH,
            IF_MODIFIED_SINCE,
            IF_NONE_MATCH,
            IF_RANGE,
            IF_UNMODIFIED_SINCE,
            LAST_MODIFIED,
            LINK,
            LOCATION,
            MAX_FORWARDS,
            ORIGIN,
            PRAGMA,
            PROXY_AUTHENTICATE,
            PROXY_AUTHORIZATION,
            PUBLIC_KEY_PINS,
            PUBLIC_KEY_PINS_REPORT_ONLY,
            RANGE,
            REFERER,
            REFERRER_POLICY,
            REFRESH,
            RETRY_AFTER,
            SEC_WEBSOCKET_ACCEPT,
            SEC_WEBSOCKET_EXTENSIONS,
            SEC_WEBSOCKET_KEY,
            SEC_WEBSOCKET_PROTOCOL,
            SEC_WEBSOCKET_VERSION,
            SERVER,
            SET_COOKIE,
            STRICT_TRANSPORT_SECURITY,
            TE,
            TRAILER,
            TRANSFER_ENCODING,
            USER_AGENT,
            UPGRADE,
            UPGRADE_INSECURE_REQUESTS,
            VARY,
            VIA,
            WARNING,
            WWW_AUTHENTICATE,
            X_CONTENT_TYPE_OPTIONS,
            X_DNS_PREFETCH_CONTROL,
            X_FRAME_OPTIONS,
            X_XSS_PROTECTION,
        ];
        for name in standard {
            let title = title_case(name.as_str());
            assert!(title.is_some(), "{name} has no Title-Case spelling");
        }
    }

    #[test]
    fn title_case_spellings_differ_from_the_name_only_in_case() {
        let table = [
            ("accept", "Accept"),
            ("accept-charset", "Accept-Charset"),
            ("accept-encoding", "Accept-Encoding"),
            ("accept-language", "Accept-Language"),
            ("accept-ranges", "Accept-Ranges"),
            (
                "access-control-allow-credentials",
                "Access-Control-Allow-Credentials",
            ),
            (
                "access-control-allow-headers",
                "Access-Control-Allow-Headers",
            ),
            (
                "access-control-allow-methods",
                "Access-Control-Allow-Methods",
            ),
            ("access-control-allow-origin", "Access-Control-Allow-Origin"),
            (
                "access-control-expose-headers",
                "Access-Control-Expose-Headers",
            ),
            ("access-control-max-age", "Access-Control-Max-Age"),
            (
                "access-control-request-headers",
                "Access-Control-Request-Headers",
            ),
            (
                "access-control-request-method",
                "Access-Control-Request-Method",
            ),
            ("age", "Age"),
            ("allow", "Allow"),
            ("alt-svc", "Alt-Svc"),
            ("authorization", "Authorization"),
            ("cache-control", "Cache-Control"),
            ("cache-status", "Cache-Status"),
            ("cdn-cache-control", "CDN-Cache-Control"),
            ("connection", "Connection"),
            ("content-disposition", "Content-Disposition"),
            ("content-encoding", "Content-Encoding"),
            ("content-language", "Content-Language"),
            ("content-length", "Content-Length"),
            ("content-location", "Content-Location"),
            ("content-range", "Content-Range"),
            ("content-security-policy", "Content-Security-Policy"),
            (
                "content-security-policy-report-only",
                "Content-Security-Policy-Report-Only",
            ),
            ("content-type", "Content-Type"),
            ("cookie", "Cookie"),
            ("dnt", "DNT"),
            ("date", "Date"),
            ("etag", "ETag"),
            ("expect", "Expect"),
            ("expires", "Expires"),
            ("forwarded", "Forwarded"),
            ("from", "From"),
            ("host", "Host"),
            ("if-match", "If-Match"),
            ("if-modified-since", "If-Modified-Since"),
            ("if-none-match", "If-None-Match"),
            ("if-range", "If-Range"),
            ("if-unmodified-since", "If-Unmodified-Since"),
            ("last-modified", "Last-Modified"),
            ("link", "Link"),
            ("location", "Location"),
            ("max-forwards", "Max-Forwards"),
            ("origin", "Origin"),
            ("pragma", "Pragma"),
            ("proxy-authenticate", "Proxy-Authenticate"),
            ("proxy-authorization", "Proxy-Authorization"),
            ("public-key-pins", "Public-Key-Pins"),
            ("public-key-pins-report-only", "Public-Key-Pins-Report-Only"),
            ("range", "Range"),
            ("referer", "Referer"),
            ("referrer-policy", "Referrer-Policy"),
            ("refresh", "Refresh"),
            ("retry-after", "Retry-After"),
            ("sec-websocket-accept", "Sec-WebSocket-Accept"),
            ("sec-websocket-extensions", "Sec-WebSocket-Extensions"),
            ("sec-websocket-key", "Sec-WebSocket-Key"),
            ("sec-websocket-protocol", "Sec-WebSocket-Protocol"),
            ("sec-websocket-version", "Sec-WebSocket-Version"),
            ("server", "Server"),
            ("set-cookie", "Set-Cookie"),
            ("strict-transport-security", "Strict-Transport-Security"),
            ("te", "TE"),
            ("trailer", "Trailer"),
            ("transfer-encoding", "Transfer-Encoding"),
            ("user-agent", "User-Agent"),
            ("upgrade", "Upgrade"),
            ("upgrade-insecure-requests", "Upgrade-Insecure-Requests"),
            ("vary", "Vary"),
            ("via", "Via"),
            ("warning", "Warning"),
            ("www-authenticate", "WWW-Authenticate"),
            ("x-content-type-options", "X-Content-Type-Options"),
            ("x-dns-prefetch-control", "X-DNS-Prefetch-Control"),
            ("x-frame-options", "X-Frame-Options"),
            ("x-xss-protection", "X-XSS-Protection"),
            ("keep-alive", "Keep-Alive"),
            ("proxy-connection", "Proxy-Connection"),
            ("x-forwarded-for", "X-Forwarded-For"),
            ("x-forwarded-host", "X-Forwarded-Host"),
            ("x-forwarded-proto", "X-Forwarded-Proto"),
            ("x-real-ip", "X-Real-IP"),
        ];
        for (lower, title) in table {
            assert_eq!(title_case(lower), Some(title));
            assert_eq!(title.to_ascii_lowercase(), lower);
            assert!(title.as_bytes()[0].is_ascii_uppercase(), "{title}");
        }
    }

    #[test]
    fn default_spelling_is_title_case_for_well_known_names_only() {
        assert_eq!(default_spelling(&CONTENT_LENGTH), b"Content-Length");
        assert_eq!(default_spelling(&ETAG), b"ETag");
        let custom = HeaderName::from_static("x-my-header");
        assert_eq!(default_spelling(&custom), b"x-my-header");
        assert_eq!(title_case("content-lengthx"), None);
        assert_eq!(title_case(""), None);
    }
}
