//! The canonical spelling of well-known header names, used when a header has no
//! recorded wire spelling (it came over HTTP/2, from `http` parts, or by [`http::HeaderName`]).

use http::header::{self, HeaderName};

/// A well-known header name: lower case (as [`HeaderName::as_str`] returns it), its canonical
/// spelling, and the name itself.
struct WellKnown {
    lower: &'static str,
    title: &'static str,
    name: HeaderName,
}

/// Every standard header the `http` crate defines, plus a few de-facto standard proxy
/// headers (`Keep-Alive`, `Proxy-Connection`, `X-Forwarded-For`, `X-Forwarded-Host`,
/// `X-Forwarded-Proto`, `X-Real-IP`). Spellings follow the defining specification where it is
/// not plain Title-Case (`ETag`, `TE`, `WWW-Authenticate`, `Sec-WebSocket-Key`, ...).
static WELL_KNOWN: [WellKnown; 87] = [
    WellKnown {
        lower: "te",
        title: "TE",
        name: header::TE,
    },
    WellKnown {
        lower: "age",
        title: "Age",
        name: header::AGE,
    },
    WellKnown {
        lower: "dnt",
        title: "DNT",
        name: header::DNT,
    },
    WellKnown {
        lower: "via",
        title: "Via",
        name: header::VIA,
    },
    WellKnown {
        lower: "date",
        title: "Date",
        name: header::DATE,
    },
    WellKnown {
        lower: "etag",
        title: "ETag",
        name: header::ETAG,
    },
    WellKnown {
        lower: "from",
        title: "From",
        name: header::FROM,
    },
    WellKnown {
        lower: "host",
        title: "Host",
        name: header::HOST,
    },
    WellKnown {
        lower: "link",
        title: "Link",
        name: header::LINK,
    },
    WellKnown {
        lower: "vary",
        title: "Vary",
        name: header::VARY,
    },
    WellKnown {
        lower: "allow",
        title: "Allow",
        name: header::ALLOW,
    },
    WellKnown {
        lower: "range",
        title: "Range",
        name: header::RANGE,
    },
    WellKnown {
        lower: "accept",
        title: "Accept",
        name: header::ACCEPT,
    },
    WellKnown {
        lower: "cookie",
        title: "Cookie",
        name: header::COOKIE,
    },
    WellKnown {
        lower: "expect",
        title: "Expect",
        name: header::EXPECT,
    },
    WellKnown {
        lower: "origin",
        title: "Origin",
        name: header::ORIGIN,
    },
    WellKnown {
        lower: "pragma",
        title: "Pragma",
        name: header::PRAGMA,
    },
    WellKnown {
        lower: "server",
        title: "Server",
        name: header::SERVER,
    },
    WellKnown {
        lower: "alt-svc",
        title: "Alt-Svc",
        name: header::ALT_SVC,
    },
    WellKnown {
        lower: "expires",
        title: "Expires",
        name: header::EXPIRES,
    },
    WellKnown {
        lower: "refresh",
        title: "Refresh",
        name: header::REFRESH,
    },
    WellKnown {
        lower: "referer",
        title: "Referer",
        name: header::REFERER,
    },
    WellKnown {
        lower: "trailer",
        title: "Trailer",
        name: header::TRAILER,
    },
    WellKnown {
        lower: "upgrade",
        title: "Upgrade",
        name: header::UPGRADE,
    },
    WellKnown {
        lower: "warning",
        title: "Warning",
        name: header::WARNING,
    },
    WellKnown {
        lower: "if-range",
        title: "If-Range",
        name: header::IF_RANGE,
    },
    WellKnown {
        lower: "if-match",
        title: "If-Match",
        name: header::IF_MATCH,
    },
    WellKnown {
        lower: "location",
        title: "Location",
        name: header::LOCATION,
    },
    WellKnown {
        lower: "forwarded",
        title: "Forwarded",
        name: header::FORWARDED,
    },
    WellKnown {
        lower: "x-real-ip",
        title: "X-Real-IP",
        name: HeaderName::from_static("x-real-ip"),
    },
    WellKnown {
        lower: "connection",
        title: "Connection",
        name: header::CONNECTION,
    },
    WellKnown {
        lower: "keep-alive",
        title: "Keep-Alive",
        name: HeaderName::from_static("keep-alive"),
    },
    WellKnown {
        lower: "set-cookie",
        title: "Set-Cookie",
        name: header::SET_COOKIE,
    },
    WellKnown {
        lower: "user-agent",
        title: "User-Agent",
        name: header::USER_AGENT,
    },
    WellKnown {
        lower: "retry-after",
        title: "Retry-After",
        name: header::RETRY_AFTER,
    },
    WellKnown {
        lower: "content-type",
        title: "Content-Type",
        name: header::CONTENT_TYPE,
    },
    WellKnown {
        lower: "cache-status",
        title: "Cache-Status",
        name: header::CACHE_STATUS,
    },
    WellKnown {
        lower: "max-forwards",
        title: "Max-Forwards",
        name: header::MAX_FORWARDS,
    },
    WellKnown {
        lower: "authorization",
        title: "Authorization",
        name: header::AUTHORIZATION,
    },
    WellKnown {
        lower: "accept-ranges",
        title: "Accept-Ranges",
        name: header::ACCEPT_RANGES,
    },
    WellKnown {
        lower: "content-range",
        title: "Content-Range",
        name: header::CONTENT_RANGE,
    },
    WellKnown {
        lower: "cache-control",
        title: "Cache-Control",
        name: header::CACHE_CONTROL,
    },
    WellKnown {
        lower: "if-none-match",
        title: "If-None-Match",
        name: header::IF_NONE_MATCH,
    },
    WellKnown {
        lower: "last-modified",
        title: "Last-Modified",
        name: header::LAST_MODIFIED,
    },
    WellKnown {
        lower: "accept-charset",
        title: "Accept-Charset",
        name: header::ACCEPT_CHARSET,
    },
    WellKnown {
        lower: "content-length",
        title: "Content-Length",
        name: header::CONTENT_LENGTH,
    },
    WellKnown {
        lower: "accept-language",
        title: "Accept-Language",
        name: header::ACCEPT_LANGUAGE,
    },
    WellKnown {
        lower: "accept-encoding",
        title: "Accept-Encoding",
        name: header::ACCEPT_ENCODING,
    },
    WellKnown {
        lower: "public-key-pins",
        title: "Public-Key-Pins",
        name: header::PUBLIC_KEY_PINS,
    },
    WellKnown {
        lower: "referrer-policy",
        title: "Referrer-Policy",
        name: header::REFERRER_POLICY,
    },
    WellKnown {
        lower: "x-forwarded-for",
        title: "X-Forwarded-For",
        name: HeaderName::from_static("x-forwarded-for"),
    },
    WellKnown {
        lower: "x-frame-options",
        title: "X-Frame-Options",
        name: header::X_FRAME_OPTIONS,
    },
    WellKnown {
        lower: "content-language",
        title: "Content-Language",
        name: header::CONTENT_LANGUAGE,
    },
    WellKnown {
        lower: "content-encoding",
        title: "Content-Encoding",
        name: header::CONTENT_ENCODING,
    },
    WellKnown {
        lower: "content-location",
        title: "Content-Location",
        name: header::CONTENT_LOCATION,
    },
    WellKnown {
        lower: "proxy-connection",
        title: "Proxy-Connection",
        name: HeaderName::from_static("proxy-connection"),
    },
    WellKnown {
        lower: "www-authenticate",
        title: "WWW-Authenticate",
        name: header::WWW_AUTHENTICATE,
    },
    WellKnown {
        lower: "x-xss-protection",
        title: "X-XSS-Protection",
        name: header::X_XSS_PROTECTION,
    },
    WellKnown {
        lower: "x-forwarded-host",
        title: "X-Forwarded-Host",
        name: HeaderName::from_static("x-forwarded-host"),
    },
    WellKnown {
        lower: "cdn-cache-control",
        title: "CDN-Cache-Control",
        name: header::CDN_CACHE_CONTROL,
    },
    WellKnown {
        lower: "if-modified-since",
        title: "If-Modified-Since",
        name: header::IF_MODIFIED_SINCE,
    },
    WellKnown {
        lower: "sec-websocket-key",
        title: "Sec-WebSocket-Key",
        name: header::SEC_WEBSOCKET_KEY,
    },
    WellKnown {
        lower: "transfer-encoding",
        title: "Transfer-Encoding",
        name: header::TRANSFER_ENCODING,
    },
    WellKnown {
        lower: "x-forwarded-proto",
        title: "X-Forwarded-Proto",
        name: HeaderName::from_static("x-forwarded-proto"),
    },
    WellKnown {
        lower: "proxy-authenticate",
        title: "Proxy-Authenticate",
        name: header::PROXY_AUTHENTICATE,
    },
    WellKnown {
        lower: "content-disposition",
        title: "Content-Disposition",
        name: header::CONTENT_DISPOSITION,
    },
    WellKnown {
        lower: "if-unmodified-since",
        title: "If-Unmodified-Since",
        name: header::IF_UNMODIFIED_SINCE,
    },
    WellKnown {
        lower: "proxy-authorization",
        title: "Proxy-Authorization",
        name: header::PROXY_AUTHORIZATION,
    },
    WellKnown {
        lower: "sec-websocket-accept",
        title: "Sec-WebSocket-Accept",
        name: header::SEC_WEBSOCKET_ACCEPT,
    },
    WellKnown {
        lower: "sec-websocket-version",
        title: "Sec-WebSocket-Version",
        name: header::SEC_WEBSOCKET_VERSION,
    },
    WellKnown {
        lower: "access-control-max-age",
        title: "Access-Control-Max-Age",
        name: header::ACCESS_CONTROL_MAX_AGE,
    },
    WellKnown {
        lower: "sec-websocket-protocol",
        title: "Sec-WebSocket-Protocol",
        name: header::SEC_WEBSOCKET_PROTOCOL,
    },
    WellKnown {
        lower: "x-dns-prefetch-control",
        title: "X-DNS-Prefetch-Control",
        name: header::X_DNS_PREFETCH_CONTROL,
    },
    WellKnown {
        lower: "x-content-type-options",
        title: "X-Content-Type-Options",
        name: header::X_CONTENT_TYPE_OPTIONS,
    },
    WellKnown {
        lower: "content-security-policy",
        title: "Content-Security-Policy",
        name: header::CONTENT_SECURITY_POLICY,
    },
    WellKnown {
        lower: "sec-websocket-extensions",
        title: "Sec-WebSocket-Extensions",
        name: header::SEC_WEBSOCKET_EXTENSIONS,
    },
    WellKnown {
        lower: "strict-transport-security",
        title: "Strict-Transport-Security",
        name: header::STRICT_TRANSPORT_SECURITY,
    },
    WellKnown {
        lower: "upgrade-insecure-requests",
        title: "Upgrade-Insecure-Requests",
        name: header::UPGRADE_INSECURE_REQUESTS,
    },
    WellKnown {
        lower: "access-control-allow-origin",
        title: "Access-Control-Allow-Origin",
        name: header::ACCESS_CONTROL_ALLOW_ORIGIN,
    },
    WellKnown {
        lower: "public-key-pins-report-only",
        title: "Public-Key-Pins-Report-Only",
        name: header::PUBLIC_KEY_PINS_REPORT_ONLY,
    },
    WellKnown {
        lower: "access-control-allow-headers",
        title: "Access-Control-Allow-Headers",
        name: header::ACCESS_CONTROL_ALLOW_HEADERS,
    },
    WellKnown {
        lower: "access-control-allow-methods",
        title: "Access-Control-Allow-Methods",
        name: header::ACCESS_CONTROL_ALLOW_METHODS,
    },
    WellKnown {
        lower: "access-control-request-method",
        title: "Access-Control-Request-Method",
        name: header::ACCESS_CONTROL_REQUEST_METHOD,
    },
    WellKnown {
        lower: "access-control-expose-headers",
        title: "Access-Control-Expose-Headers",
        name: header::ACCESS_CONTROL_EXPOSE_HEADERS,
    },
    WellKnown {
        lower: "access-control-request-headers",
        title: "Access-Control-Request-Headers",
        name: header::ACCESS_CONTROL_REQUEST_HEADERS,
    },
    WellKnown {
        lower: "access-control-allow-credentials",
        title: "Access-Control-Allow-Credentials",
        name: header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
    },
    WellKnown {
        lower: "content-security-policy-report-only",
        title: "Content-Security-Policy-Report-Only",
        name: header::CONTENT_SECURITY_POLICY_REPORT_ONLY,
    },
];

/// The index in [`WELL_KNOWN`] of the one name that `bytes` can be, judged by its length and
/// its first and last bytes in lower case (two names share a key and are told apart by byte
/// 21); the caller confirms with one comparison. This runs once per header line parsed and
/// once per line written, so it must be cheap.
#[inline]
fn candidate(bytes: &[u8]) -> Option<usize> {
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return None;
    };
    // `| 0x20` lower-cases letters; other bytes may map to anything, which the caller's
    // comparison rejects.
    let index = match (bytes.len(), first | 0x20, last | 0x20) {
        (2, b't', b'e') => 0,
        (3, b'a', b'e') => 1,
        (3, b'd', b't') => 2,
        (3, b'v', b'a') => 3,
        (4, b'd', b'e') => 4,
        (4, b'e', b'g') => 5,
        (4, b'f', b'm') => 6,
        (4, b'h', b't') => 7,
        (4, b'l', b'k') => 8,
        (4, b'v', b'y') => 9,
        (5, b'a', b'w') => 10,
        (5, b'r', b'e') => 11,
        (6, b'a', b't') => 12,
        (6, b'c', b'e') => 13,
        (6, b'e', b't') => 14,
        (6, b'o', b'n') => 15,
        (6, b'p', b'a') => 16,
        (6, b's', b'r') => 17,
        (7, b'a', b'c') => 18,
        (7, b'e', b's') => 19,
        (7, b'r', b'h') => 20,
        (7, b'r', b'r') => 21,
        (7, b't', b'r') => 22,
        (7, b'u', b'e') => 23,
        (7, b'w', b'g') => 24,
        (8, b'i', b'e') => 25,
        (8, b'i', b'h') => 26,
        (8, b'l', b'n') => 27,
        (9, b'f', b'd') => 28,
        (9, b'x', b'p') => 29,
        (10, b'c', b'n') => 30,
        (10, b'k', b'e') => 31,
        (10, b's', b'e') => 32,
        (10, b'u', b't') => 33,
        (11, b'r', b'r') => 34,
        (12, b'c', b'e') => 35,
        (12, b'c', b's') => 36,
        (12, b'm', b's') => 37,
        (13, b'a', b'n') => 38,
        (13, b'a', b's') => 39,
        (13, b'c', b'e') => 40,
        (13, b'c', b'l') => 41,
        (13, b'i', b'h') => 42,
        (13, b'l', b'd') => 43,
        (14, b'a', b't') => 44,
        (14, b'c', b'h') => 45,
        (15, b'a', b'e') => 46,
        (15, b'a', b'g') => 47,
        (15, b'p', b's') => 48,
        (15, b'r', b'y') => 49,
        (15, b'x', b'r') => 50,
        (15, b'x', b's') => 51,
        (16, b'c', b'e') => 52,
        (16, b'c', b'g') => 53,
        (16, b'c', b'n') => 54,
        (16, b'p', b'n') => 55,
        (16, b'w', b'e') => 56,
        (16, b'x', b'n') => 57,
        (16, b'x', b't') => 58,
        (17, b'c', b'l') => 59,
        (17, b'i', b'e') => 60,
        (17, b's', b'y') => 61,
        (17, b't', b'g') => 62,
        (17, b'x', b'o') => 63,
        (18, b'p', b'e') => 64,
        (19, b'c', b'n') => 65,
        (19, b'i', b'e') => 66,
        (19, b'p', b'n') => 67,
        (20, b's', b't') => 68,
        (21, b's', b'n') => 69,
        (22, b'a', b'e') => 70,
        (22, b's', b'l') => 71,
        (22, b'x', b'l') => 72,
        (22, b'x', b's') => 73,
        (23, b'c', b'y') => 74,
        (24, b's', b's') => 75,
        (25, b's', b'y') => 76,
        (25, b'u', b's') => 77,
        (27, b'a', b'n') => 78,
        (27, b'p', b'y') => 79,
        (28, b'a', b's') => match bytes[21] | 0x20 {
            b'h' => 80,
            b'm' => 81,
            _ => return None,
        },
        (29, b'a', b'd') => 82,
        (29, b'a', b's') => 83,
        (30, b'a', b's') => 84,
        (32, b'a', b's') => 85,
        (35, b'c', b'y') => 86,
        _ => return None,
    };
    Some(index)
}

/// The canonical Title-Case spelling of a well-known header name, given the name in
/// lower case (as [`HeaderName::as_str`] returns it); `None` for any other name. The tests
/// check the table with it; writing goes by [`default_spelling`].
#[cfg(test)]
fn title_case(lower: &str) -> Option<&'static str> {
    let entry = &WELL_KNOWN[candidate(lower.as_bytes())?];
    (entry.lower == lower).then_some(entry.title)
}

/// For a header name as spelled on the wire, when it is a well-known name: the name, and
/// whether `wire` is its canonical spelling (so there is no spelling to remember). `None`
/// for any other name, valid or not.
#[inline]
pub(crate) fn well_known(wire: &[u8]) -> Option<(HeaderName, bool)> {
    let entry = &WELL_KNOWN[candidate(wire)?];
    if wire == entry.title.as_bytes() {
        return Some((entry.name.clone(), true));
    }
    wire.eq_ignore_ascii_case(entry.lower.as_bytes())
        .then(|| (entry.name.clone(), false))
}

/// The spelling a header name gets on the wire when none was recorded: the
/// canonical Title-Case for a well-known name, else the name as stored (lower case).
#[inline]
pub(crate) fn default_spelling(name: &HeaderName) -> &[u8] {
    let lower = name.as_str();
    let entry = candidate(lower.as_bytes()).map(|index| &WELL_KNOWN[index]);
    // Comparing the names, not their text: two well-known names compare as two small
    // numbers, where comparing strings is a call to `memcmp` for every header written.
    match entry {
        Some(entry) if entry.name == *name => entry.title.as_bytes(),
        _ => lower.as_bytes(),
    }
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
            // What the writer uses (it compares names, not text) agrees.
            assert_eq!(default_spelling(&name), title.unwrap().as_bytes());
        }
        // Other names stay lower case, also one that looks like `host` to the table's key.
        for custom in ["x-custom", "hxxt"] {
            let name = HeaderName::from_static(custom);
            assert_eq!(default_spelling(&name), custom.as_bytes());
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
    fn every_well_known_entry_agrees_with_the_http_crate() {
        for entry in &WELL_KNOWN {
            assert_eq!(entry.name.as_str(), entry.lower);
            assert_eq!(
                HeaderName::from_bytes(entry.lower.as_bytes()).unwrap(),
                entry.name
            );
            assert!(entry.title.eq_ignore_ascii_case(entry.lower));
            assert_eq!(title_case(entry.lower), Some(entry.title));
        }
    }

    #[test]
    fn wire_spellings_of_well_known_names_are_recognised_in_any_case() {
        for entry in &WELL_KNOWN {
            let name = Some(entry.name.clone());
            let found = well_known(entry.title.as_bytes());
            assert_eq!(found, name.clone().map(|n| (n, true)), "{}", entry.title);
            let upper = entry.lower.to_ascii_uppercase();
            let is_title = upper == entry.title; // TE, DNT
            assert_eq!(well_known(upper.as_bytes()), name.map(|n| (n, is_title)));
        }
        assert_eq!(well_known(b"cOnTeNt-LeNgTh"), Some((CONTENT_LENGTH, false)));
        assert_eq!(well_known(b"X-Custom"), None);
        assert_eq!(well_known(b""), None);
        // Same length and ends as a well-known name, but not it: left to full validation.
        assert_eq!(well_known(b"Content-Lengzh"), None);
        assert_eq!(well_known(b"Content\x00Length"), None);
        assert_eq!(well_known(b"Access-Control-Allow-Xeaders"), None);
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
