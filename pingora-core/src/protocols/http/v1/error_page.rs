//! The error page head the framework answers with when a request fails before the application
//! (or the proxy) produced a response.

use http::header::{CACHE_CONTROL, CONTENT_LENGTH, DATE, SERVER};
use pingora_http::ResponseHeader;

use super::date;
use crate::protocols::http::SERVER_NAME;

/// Status `code` (500 when `code` is not a status), `Server`, `Date`, `Content-Length: 0` and
/// `Cache-Control: private, no-store`.
pub(crate) fn generate(code: u16) -> ResponseHeader {
    let mut header = ResponseHeader::build(code, Some(4))
        .or_else(|_| ResponseHeader::build(500, Some(4)))
        .expect("invariant: 500 is a valid status code");
    // Well-known names and valid values: these inserts cannot fail.
    let _ = header.insert_header(SERVER, SERVER_NAME);
    let _ = header.insert_header(DATE, date::now());
    let _ = header.insert_header(CONTENT_LENGTH, "0");
    let _ = header.insert_header(CACHE_CONTROL, "private, no-store");
    header
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_page_has_the_documented_headers_and_falls_back_to_500() {
        let page = generate(502);
        assert_eq!(page.status, 502);
        assert_eq!(page.headers["server"], "Pingora");
        assert_eq!(page.headers["content-length"], "0");
        assert_eq!(page.headers["cache-control"], "private, no-store");
        assert!(page.headers.contains_key("date"));
        assert_eq!(generate(42).status, 500);
    }
}
