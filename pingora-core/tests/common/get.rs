//! One `GET /` over an upstream HTTP session, read to the end: what the nginx-backed tests
//! send again and again.

use pingora_core::protocols::http::client::HttpSession;
use pingora_http::RequestHeader;

/// Sends `GET /` with `Host: host` (and `Connection: close` if `close`), reads the whole
/// response; returns its status, nginx's request count for the connection (the
/// `X-Conn-Requests` header, when sent) and the body.
pub async fn get(
    session: &mut HttpSession,
    host: &str,
    close: bool,
) -> (u16, Option<u32>, Vec<u8>) {
    let mut request = RequestHeader::build("GET", b"/", None).unwrap();
    request.insert_header("Host", host).unwrap();
    if close {
        request.insert_header("Connection", "close").unwrap();
    }
    session
        .write_request_header(Box::new(request))
        .await
        .unwrap();
    session.finish_request_body().await.unwrap();
    session.read_response_header().await.unwrap();
    let header = session.response_header().expect("header was read");
    let status = header.status.as_u16();
    let count = header
        .headers
        .get("X-Conn-Requests")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let mut body = Vec::new();
    while let Some(chunk) = session.read_response_body().await.unwrap() {
        body.extend_from_slice(&chunk);
    }
    (status, count, body)
}
