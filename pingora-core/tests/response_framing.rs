//! One case per response-framing rule, client side: a raw upstream response goes through a
//! client session over an in-memory pipe; out come whether it was accepted (else the error is
//! an upstream one, which a proxy answers with 502) and whether the connection is reusable.

use std::time::Duration;

use pingora_core::protocols::http::v1::client::HttpSession;
use pingora_core::protocols::http::v1::H1Settings;
use pingora_error::ErrorSource;
use pingora_http::RequestHeader;
use tokio::io::AsyncWriteExt;

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// Accepted: (final status, body, reusable).
    Ok(u16, Vec<u8>, bool),
    /// Rejected with an upstream error; the bool says whether the connection was reusable.
    Upstream502(bool),
}

async fn fetch(method: &str, raw: &[u8], close_after: bool) -> Outcome {
    let (client, mut upstream) = tokio::io::duplex(1 << 20);
    upstream.write_all(raw).await.unwrap();
    if close_after {
        upstream.shutdown().await.unwrap();
    }
    let mut settings = H1Settings::default();
    settings.read_timeout = Some(Duration::from_millis(200));
    let mut session = HttpSession::with_settings(Box::new(client), settings);
    let mut req = RequestHeader::build(method, b"/", None).unwrap();
    req.insert_header("Host", "upstream").unwrap();
    session.write_request_header(Box::new(req)).await.unwrap();
    session.finish_request_body().await.unwrap();
    let result = async {
        session.read_response_header().await?;
        while !session.is_final_response() {
            session.read_response_header().await?;
        }
        let mut body = Vec::new();
        while let Some(data) = session.read_response_body().await? {
            body.extend_from_slice(&data);
        }
        Ok::<_, pingora_error::BError>(body)
    }
    .await;
    let reusable = session.is_reusable();
    drop(upstream);
    match result {
        Ok(body) => Outcome::Ok(
            session.response_header().unwrap().status.as_u16(),
            body,
            reusable,
        ),
        Err(e) => {
            assert_eq!(e.esource(), &ErrorSource::Upstream, "{e}");
            Outcome::Upstream502(reusable)
        }
    }
}

#[tokio::test]
async fn every_response_framing_rule_gives_its_outcome() {
    use Outcome::*;
    let big = format!("HTTP/1.1 200 OK\r\nX-Big: {}\r\n\r\n", "a".repeat(70_000));
    let cases: Vec<(&str, &str, Vec<u8>, bool, Outcome)> = vec![
        ("Content-Length", "GET", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi".to_vec(), false, Ok(200, b"hi".to_vec(), true)),
        ("chunked with trailer", "GET", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\nX-T: 1\r\n\r\n".to_vec(), false, Ok(200, b"hi".to_vec(), true)),
        ("close-delimited", "GET", b"HTTP/1.1 200 OK\r\n\r\nuntil close".to_vec(), true, Ok(200, b"until close".to_vec(), false)),
        ("HEAD ignores Content-Length", "HEAD", b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n".to_vec(), false, Ok(200, vec![], true)),
        ("204 has no body", "GET", b"HTTP/1.1 204 No Content\r\n\r\n".to_vec(), false, Ok(204, vec![], true)),
        ("304 has no body", "GET", b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n".to_vec(), false, Ok(304, vec![], true)),
        ("1xx is interim", "GET", b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx".to_vec(), false, Ok(200, b"x".to_vec(), true)),
        ("Connection: close", "GET", b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx".to_vec(), false, Ok(200, b"x".to_vec(), false)),
        ("HTTP/1.0 without keep-alive", "GET", b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx".to_vec(), false, Ok(200, b"x".to_vec(), false)),
        ("stray bytes after the body", "GET", b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxJUNK".to_vec(), false, Ok(200, b"x".to_vec(), false)),
        ("both Content-Length and Transfer-Encoding", "GET", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".to_vec(), false, Upstream502(false)),
        ("two different Content-Length", "GET", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc".to_vec(), false, Upstream502(false)),
        ("malformed Content-Length", "GET", b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n".to_vec(), false, Upstream502(false)),
        ("invalid status line", "GET", b"HTTP/1.1 abc OK\r\n\r\n".to_vec(), false, Upstream502(false)),
        ("four-digit status", "GET", b"HTTP/1.1 2000 OK\r\n\r\n".to_vec(), false, Upstream502(false)),
        ("two-digit status", "GET", b"HTTP/1.1 20 OK\r\n\r\n".to_vec(), false, Upstream502(false)),
        ("not HTTP", "GET", b"SSH-2.0-OpenSSH\r\n\r\n".to_vec(), false, Upstream502(false)),
        ("Transfer-Encoding in HTTP/1.0", "GET", b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".to_vec(), false, Upstream502(false)),
        ("unknown transfer coding", "GET", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: zork\r\n\r\n".to_vec(), false, Upstream502(false)),
        ("obs-fold", "GET", b"HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 0\r\n\r\n".to_vec(), false, Upstream502(false)),
        ("space before colon", "GET", b"HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n".to_vec(), false, Upstream502(false)),
        ("bare LF in the status line", "GET", b"HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n".to_vec(), false, Upstream502(false)),
        ("bare LF in a header", "GET", b"HTTP/1.1 200 OK\r\nContent-Length: 0\n\r\n".to_vec(), false, Upstream502(false)),
        ("head over the limit", "GET", big.into_bytes(), false, Upstream502(false)),
        ("chunk size not hex", "GET", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".to_vec(), false, Upstream502(false)),
        ("chunk size overflow", "GET", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n".to_vec(), false, Upstream502(false)),
        ("body cut short", "GET", b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc".to_vec(), true, Upstream502(false)),
        ("unsolicited 101", "GET", b"HTTP/1.1 101 Switching Protocols\r\n\r\n".to_vec(), false, Upstream502(false)),
    ];
    let mut failures = Vec::new();
    for (name, method, raw, close_after, expected) in cases {
        let got = tokio::time::timeout(Duration::from_secs(5), fetch(method, &raw, close_after))
            .await
            .unwrap_or_else(|_| panic!("case {name:?} hung"));
        if got != expected {
            failures.push(format!("{name}: expected {expected:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// A session ready to read the response `raw` to a GET (the upstream closes after it).
async fn session_reading(raw: &[u8]) -> HttpSession {
    let (client, mut upstream) = tokio::io::duplex(1 << 16);
    upstream.write_all(raw).await.unwrap();
    upstream.shutdown().await.unwrap();
    let mut settings = H1Settings::default();
    settings.read_timeout = Some(Duration::from_millis(200));
    let mut session = HttpSession::with_settings(Box::new(client), settings);
    let mut req = RequestHeader::build("GET", b"/", None).unwrap();
    req.insert_header("Host", "upstream").unwrap();
    session.write_request_header(Box::new(req)).await.unwrap();
    session.finish_request_body().await.unwrap();
    session
}

#[tokio::test]
async fn taking_the_response_header_leaves_framing_and_reuse_intact() {
    let mut session =
        session_reading(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: 1\r\n\r\nhi").await;
    session.read_response_header().await.unwrap();
    let header = session.take_response_header().unwrap();
    assert_eq!(header.status.as_u16(), 200);
    assert_eq!(header.headers["x-a"], "1");
    assert!(session.response_header().is_none());
    assert!(session.take_response_header().is_none());
    assert!(session.is_final_response());
    assert_eq!(session.read_response_body().await.unwrap().unwrap(), "hi");
    assert!(session.read_response_body().await.unwrap().is_none());
    assert!(session.is_reusable());
}

#[tokio::test]
async fn close_after_a_taken_interim_head_is_not_retryable() {
    let mut session = session_reading(b"HTTP/1.1 100 Continue\r\n\r\n").await;
    session.read_response_header().await.unwrap();
    assert_eq!(session.take_response_header().unwrap().status.as_u16(), 100);
    let e = session.read_response_header().await.unwrap_err();
    // Something came back, so this is no stale pooled connection.
    assert!(
        !matches!(e.retry, pingora_error::RetryType::ReusedOnly),
        "{e}"
    );
}

/// A response that has arrived whole comes out of the session whole: head and a 16 KiB body
/// are taken in one read, so a proxy forwards them in one write (with a small first read, the
/// body came out in two pieces and went downstream in two writes, waking the client twice).
#[tokio::test]
async fn a_16_kib_response_that_arrived_whole_is_read_in_one_piece() {
    let (client, mut upstream) = tokio::io::duplex(1 << 20);
    let body = vec![b'b'; 16 * 1024];
    let mut raw = format!(
        "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    raw.extend_from_slice(&body);
    upstream.write_all(&raw).await.unwrap();
    let mut session = HttpSession::new(Box::new(client));
    let mut req = RequestHeader::build("GET", b"/16k", None).unwrap();
    req.insert_header("Host", "upstream").unwrap();
    session.write_request_header(Box::new(req)).await.unwrap();
    session.finish_request_body().await.unwrap();
    session.read_response_header().await.unwrap();
    let first = session.read_response_body().await.unwrap().unwrap();
    assert_eq!(first.len(), body.len(), "the whole body in the first piece");
    assert!(session.read_response_body().await.unwrap().is_none());
}
