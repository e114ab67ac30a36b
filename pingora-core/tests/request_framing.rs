//! One case per request-framing rule: raw bytes go through a server session over an
//! in-memory pipe; out come the status written and whether the connection was closed.

use std::time::Duration;

use bytes::Bytes;
use pingora_core::protocols::http::v1::H1Settings;
use pingora_core::protocols::http::ServerSession;
use pingora_error::ErrorType;
use pingora_http::ResponseHeader;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The status a proxy answers a failed request with: `HTTPStatus(c)` → c, else 400.
fn status_for(etype: &ErrorType) -> u16 {
    match etype {
        ErrorType::HTTPStatus(code) => *code,
        _ => 400,
    }
}

/// Serves one request from `raw`: reads head and body, answers 200 "ok" or the error status.
/// Returns (status on the wire, connection closed by the server).
async fn serve(raw: &[u8], settings: H1Settings) -> (u16, bool) {
    let (mut client, server) = tokio::io::duplex(1 << 20);
    client.write_all(raw).await.unwrap();
    let mut session = ServerSession::new_http1_with_settings(Box::new(server), settings);
    let outcome = async {
        if !session.read_request().await? {
            return Ok(false);
        }
        while session.read_request_body().await?.is_some() {}
        Ok::<bool, pingora_error::BError>(true)
    }
    .await;
    match outcome {
        Ok(true) => {
            let mut resp = ResponseHeader::build(200, None).unwrap();
            resp.set_content_length(2).unwrap();
            session.write_response_header(Box::new(resp)).await.unwrap();
            session
                .write_response_body(Bytes::from_static(b"ok"), true)
                .await
                .unwrap();
        }
        Ok(false) => return (0, true),
        Err(e) => session.respond_error(status_for(e.etype())).await.unwrap(),
    }
    let reused = session.finish().await.unwrap();
    let closed = reused.is_none();
    drop(reused);
    let mut wire = Vec::new();
    client.read_to_end(&mut wire).await.unwrap();
    let status = std::str::from_utf8(&wire[9..12]).unwrap().parse().unwrap();
    (status, closed)
}

const OK: (u16, bool) = (200, false);
const BAD: (u16, bool) = (400, true);

#[tokio::test]
async fn every_request_framing_rule_gives_its_status_and_connection_state() {
    let big_header = format!(
        "GET / HTTP/1.1\r\nHost: a\r\nX-Big: {}\r\n\r\n",
        "a".repeat(70_000)
    );
    let long_line = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(9_000));
    let cases: Vec<(&str, Vec<u8>, (u16, bool))> = vec![
        ("plain GET", b"GET / HTTP/1.1\r\nHost: a\r\n\r\n".to_vec(), OK),
        ("Content-Length body", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc".to_vec(), OK),
        ("chunked body with extension and trailer", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n".to_vec(), OK),
        ("identical Content-Length repeated", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc".to_vec(), OK),
        ("both Content-Length and Transfer-Encoding", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".to_vec(), BAD),
        ("differing Content-Length", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd".to_vec(), BAD),
        ("differing Content-Length in one line", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 4\r\n\r\nabcd".to_vec(), BAD),
        ("malformed Content-Length", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3a\r\n\r\nabc".to_vec(), BAD),
        ("negative Content-Length", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n".to_vec(), BAD),
        ("final coding not chunked", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n".to_vec(), BAD),
        ("chunked twice", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n".to_vec(), BAD),
        ("unknown coding", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: zork\r\n\r\n".to_vec(), (501, true)),
        ("gzip before chunked", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n".to_vec(), (501, true)),
        ("Transfer-Encoding in HTTP/1.0", b"POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".to_vec(), BAD),
        ("obs-fold", b"GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n  folded\r\n\r\n".to_vec(), BAD),
        ("space before colon", b"GET / HTTP/1.1\r\nHost: a\r\nX-A : 1\r\n\r\n".to_vec(), BAD),
        ("space before colon on Content-Length", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length : 3\r\n\r\nabc".to_vec(), BAD),
        ("bare CR in a value", b"GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r2\r\n\r\n".to_vec(), BAD),
        ("NUL in a value", b"GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\x002\r\n\r\n".to_vec(), BAD),
        ("invalid name character", b"GET / HTTP/1.1\r\nHost: a\r\nX(A): 1\r\n\r\n".to_vec(), BAD),
        ("two Host headers", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n".to_vec(), BAD),
        ("no Host in HTTP/1.1", b"GET / HTTP/1.1\r\nX-A: 1\r\n\r\n".to_vec(), BAD),
        ("no Host in HTTP/1.0 is fine", b"GET / HTTP/1.0\r\n\r\n".to_vec(), (200, true)),
        ("head over the limit", big_header.into_bytes(), (431, true)),
        ("request line over the limit", long_line.into_bytes(), (414, true)),
        ("chunk size overflow", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000001\r\n".to_vec(), BAD),
        ("chunk size not hex", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".to_vec(), BAD),
        ("chunk data not followed by CRLF", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n".to_vec(), BAD),
        ("bare LF after the request line", b"GET / HTTP/1.1\nHost: a\r\n\r\n".to_vec(), BAD),
        ("bare LF after a header", b"GET / HTTP/1.1\r\nHost: a\n\r\n".to_vec(), BAD),
        ("bare LF ending the head", b"GET / HTTP/1.1\r\nHost: a\r\n\n".to_vec(), BAD),
        ("bare LF after a chunk size", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n".to_vec(), BAD),
        ("body shorter than Content-Length", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\nabc".to_vec(), BAD),
        ("Connection: close", b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".to_vec(), (200, true)),
        ("HTTP/1.0 keep-alive", b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n".to_vec(), OK),
        ("HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec(), BAD),
    ];
    let mut failures = Vec::new();
    for (name, raw, expected) in &cases {
        let mut settings = H1Settings::default();
        // "body shorter than Content-Length" waits on the pipe: keep that wait short.
        settings.read_timeout = Some(Duration::from_millis(200));
        let got = tokio::time::timeout(Duration::from_secs(5), serve(raw, settings))
            .await
            .unwrap_or_else(|_| panic!("case {name:?} hung"));
        if got != *expected {
            failures.push(format!("{name}: expected {expected:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[tokio::test]
async fn a_head_dribbled_slower_than_header_read_timeout_is_cut_off() {
    let (mut client, server) = tokio::io::duplex(4096);
    let mut settings = H1Settings::default();
    settings.header_read_timeout = Some(Duration::from_millis(300));
    let mut session = ServerSession::new_http1_with_settings(Box::new(server), settings);
    let dribble = tokio::spawn(async move {
        for byte in b"GET / HTTP/1.1\r\nHost: a\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaa" {
            if client.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        client
    });
    let started = std::time::Instant::now();
    let err = session.read_request().await.unwrap_err();
    assert_eq!(err.etype(), &ErrorType::ReadTimedout);
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(session.finish().await.unwrap().is_none());
    drop(dribble.await);
}

#[tokio::test]
async fn an_idle_connection_reports_no_request() {
    let (_client, server) = tokio::io::duplex(4096);
    let mut settings = H1Settings::default();
    settings.idle_timeout = Some(Duration::from_millis(50));
    let mut session = ServerSession::new_http1_with_settings(Box::new(server), settings);
    assert!(!session.read_request().await.unwrap());
}
