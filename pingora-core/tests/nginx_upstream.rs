//! End to end with nginx as the upstream of a client session, over loopback: Content-Length,
//! chunked, close-delimited, HEAD, 204, 304 and keep-alive reuse.
//!
//! Each test starts its own nginx (foreground, one process, every path in a temp directory,
//! a free 127.0.0.1 port) and kills it by its PID when dropped. Needs the `nginx` binary (in
//! `PATH` or /usr/sbin), or `NGINX=/path`.

mod common {
    pub mod net;
    pub mod nginx;
    pub mod temp_dir;
}

use bytes::Bytes;
use common::nginx::Nginx;
use pingora_core::protocols::http::v1::client::HttpSession;
use pingora_core::protocols::Stream;
use pingora_http::RequestHeader;
use tokio::net::TcpStream;

fn start_nginx() -> Nginx {
    Nginx::start(
        "h1",
        &[
            ("html/ssi.html", "chunked <!--# echo var=\"uri\" --> done"),
            ("html/static.txt", "static file"),
        ],
        "keepalive_requests 100;",
        "root html;
        if_modified_since before;
        location = /cl { return 200 \"hello\"; }
        location = /count { return 200 \"$connection_requests\"; }
        location = /no-content { return 204; }
        location = /ssi.html { ssi on; }",
    )
}

struct Fetched {
    status: u16,
    body: Vec<u8>,
    headers: http::HeaderMap,
    stream: Option<Stream>,
}

async fn fetch(
    stream: Stream,
    method: &str,
    path: &str,
    extra: &[(&'static str, &'static str)],
    http10: bool,
) -> Fetched {
    let mut session = HttpSession::new(stream);
    let mut req = RequestHeader::build(method, path.as_bytes(), None).unwrap();
    req.insert_header("Host", "localhost").unwrap();
    if http10 {
        req.set_version(http::Version::HTTP_10);
    }
    for (name, value) in extra {
        req.insert_header(*name, *value).unwrap();
    }
    session.write_request_header(Box::new(req)).await.unwrap();
    session
        .write_request_body(Bytes::new(), true)
        .await
        .unwrap();
    session.read_response_header().await.unwrap();
    let mut body = Vec::new();
    while let Some(data) = session.read_response_body().await.unwrap() {
        body.extend_from_slice(&data);
    }
    let header = session.response_header().unwrap();
    Fetched {
        status: header.status.as_u16(),
        headers: header.headers.clone(),
        body,
        stream: session.reuse().await,
    }
}

async fn connect(nginx: &Nginx) -> Stream {
    Box::new(
        TcpStream::connect(("127.0.0.1", nginx.port()))
            .await
            .unwrap(),
    )
}

#[tokio::test]
async fn nginx_responses_are_framed_and_reused_correctly() {
    let nginx = start_nginx();

    let cl = fetch(connect(&nginx).await, "GET", "/cl", &[], false).await;
    assert_eq!((cl.status, &cl.body[..]), (200, &b"hello"[..]));
    assert_eq!(cl.headers["content-length"], "5");
    assert!(
        cl.stream.is_some(),
        "a complete Content-Length response is reusable"
    );

    let chunked = fetch(connect(&nginx).await, "GET", "/ssi.html", &[], false).await;
    assert_eq!(chunked.headers["transfer-encoding"], "chunked");
    assert_eq!(chunked.body, b"chunked /ssi.html done");
    assert!(chunked.stream.is_some());

    let until_close = fetch(connect(&nginx).await, "GET", "/ssi.html", &[], true).await;
    assert!(!until_close.headers.contains_key("content-length"));
    assert!(!until_close.headers.contains_key("transfer-encoding"));
    assert_eq!(until_close.body, b"chunked /ssi.html done");
    assert!(
        until_close.stream.is_none(),
        "a close-delimited response is not reusable"
    );

    let head = fetch(connect(&nginx).await, "HEAD", "/static.txt", &[], false).await;
    assert_eq!(head.headers["content-length"], "11");
    assert!(head.body.is_empty());
    assert!(head.stream.is_some());

    let no_content = fetch(connect(&nginx).await, "GET", "/no-content", &[], false).await;
    assert_eq!(no_content.status, 204);
    assert!(no_content.stream.is_some());

    let not_modified = fetch(
        connect(&nginx).await,
        "GET",
        "/static.txt",
        &[("If-Modified-Since", "Fri, 01 Jan 2100 00:00:00 GMT")],
        false,
    )
    .await;
    assert_eq!(not_modified.status, 304);
    assert!(not_modified.body.is_empty());
    assert!(not_modified.stream.is_some());
}

#[tokio::test]
async fn a_reused_nginx_connection_serves_the_next_request() {
    let nginx = start_nginx();
    let mut stream = connect(&nginx).await;
    for expected in ["1", "2", "3"] {
        let fetched = fetch(stream, "GET", "/count", &[], false).await;
        assert_eq!(fetched.body, expected.as_bytes());
        stream = fetched.stream.expect("keep-alive connection is reusable");
    }
    let last = fetch(stream, "GET", "/count", &[("Connection", "close")], false).await;
    assert_eq!(last.body, b"4");
    assert!(last.stream.is_none(), "Connection: close is not reusable");
}
