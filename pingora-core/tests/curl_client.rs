//! End to end with curl as the client of a small server built on `ServerSession`, over
//! loopback: Content-Length, chunked, HEAD, 204/304, 100-continue, keep-alive reuse, and
//! pipelining (curl dropped pipelining in 7.65, so that case uses a raw socket).

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use pingora_core::protocols::http::ServerSession;
use pingora_core::protocols::Stream;
use pingora_http::ResponseHeader;
use tokio::net::TcpListener;

struct TestServer {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(session: &mut ServerSession) -> pingora_error::Result<()> {
    let path = session.req_header().uri.path().to_string();
    let mut body = Vec::new();
    while let Some(data) = session.read_request_body().await? {
        body.extend_from_slice(&data);
    }
    match path.as_str() {
        "/cl" => {
            let mut resp = ResponseHeader::build(200, None)?;
            resp.set_content_length(5)?;
            session.write_response_header(Box::new(resp)).await?;
            session
                .write_response_body(Bytes::from_static(b"hello"), true)
                .await
        }
        "/chunked" => {
            session
                .write_response_header(Box::new(ResponseHeader::build(200, None)?))
                .await?;
            session
                .write_response_body(Bytes::from_static(b"first,"), false)
                .await?;
            session
                .write_response_body(Bytes::from_static(b"second"), true)
                .await
        }
        "/echo" => {
            let mut resp = ResponseHeader::build(200, None)?;
            resp.set_content_length(body.len())?;
            session.write_response_header(Box::new(resp)).await?;
            session.write_response_body(Bytes::from(body), true).await
        }
        "/204" | "/304" => {
            let code: u16 = path[1..].parse().unwrap_or(500);
            session
                .write_response_header(Box::new(ResponseHeader::build(code, None)?))
                .await?;
            session.finish_body().await
        }
        _ => session.respond_error(404).await,
    }
}

async fn start_server() -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    let task = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut stream: Stream = Box::new(tcp);
                loop {
                    let mut session = ServerSession::new_http1(stream);
                    match session.read_request().await {
                        Ok(true) => {
                            if handle(&mut session).await.is_err() {
                                return;
                            }
                        }
                        Ok(false) => return,
                        Err(_) => {
                            let _ = session.respond_error(400).await;
                        }
                    }
                    match session.finish().await {
                        Ok(Some(next)) => stream = next,
                        _ => return,
                    }
                }
            });
        }
    });
    TestServer {
        addr,
        connections,
        task,
    }
}

/// Runs curl with `args`; returns (stdout, stderr).
async fn curl(args: Vec<String>) -> (String, String) {
    tokio::task::spawn_blocking(move || {
        let out = Command::new("curl")
            .args(["-s", "--max-time", "10"])
            .args(&args)
            .output()
            .expect("curl is installed (/usr/bin/curl)");
        assert!(out.status.success(), "curl {args:?} failed: {out:?}");
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_reads_content_length_chunked_head_204_and_304() {
    let server = start_server().await;
    let url = |path: &str| format!("http://{}{path}", server.addr);

    let (out, _) = curl(vec!["-i".into(), url("/cl")]).await;
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    assert!(
        out.contains("Content-Length: 5\r\n") && out.ends_with("\r\n\r\nhello"),
        "{out}"
    );
    assert!(
        out.contains("Connection: keep-alive\r\n") && out.contains("Date: "),
        "{out}"
    );

    let (out, _) = curl(vec!["-i".into(), "--raw".into(), url("/chunked")]).await;
    assert!(out.contains("Transfer-Encoding: chunked\r\n"), "{out}");
    assert!(
        out.ends_with("\r\n\r\n6\r\nfirst,\r\n6\r\nsecond\r\n0\r\n\r\n"),
        "{out}"
    );

    let (out, _) = curl(vec!["-I".into(), url("/cl")]).await;
    assert!(
        out.contains("Content-Length: 5\r\n") && out.ends_with("\r\n\r\n"),
        "{out}"
    );

    for code in ["204", "304"] {
        let (out, _) = curl(vec![
            "-o".into(),
            "/dev/null".into(),
            "-w".into(),
            "%{http_code}".into(),
            url(&format!("/{code}")),
        ])
        .await;
        assert_eq!(out, code);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_uploads_with_content_length_chunked_and_100_continue() {
    let server = start_server().await;
    let url = format!("http://{}/echo", server.addr);

    let (out, _) = curl(vec![
        "--data-binary".into(),
        "plain body".into(),
        url.clone(),
    ])
    .await;
    assert_eq!(out, "plain body");

    let (out, _) = curl(vec![
        "-H".into(),
        "Transfer-Encoding: chunked".into(),
        "--data-binary".into(),
        "chunked body".into(),
        url.clone(),
    ])
    .await;
    assert_eq!(out, "chunked body");

    let (out, err) = curl(vec![
        "-v".into(),
        "-H".into(),
        "Expect: 100-continue".into(),
        "--expect100-timeout".into(),
        "10".into(),
        "--data-binary".into(),
        "after continue".into(),
        url,
    ])
    .await;
    assert_eq!(out, "after continue");
    assert!(err.contains("HTTP/1.1 100 Continue"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_reuses_one_connection_for_several_requests() {
    let server = start_server().await;
    let url = |path: &str| format!("http://{}{path}", server.addr);
    let (out, _) = curl(vec![url("/cl"), url("/chunked"), url("/cl")]).await;
    assert_eq!(out, "hellofirst,secondhello");
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_requests_in_one_write_get_answers_in_order() {
    let server = start_server().await;
    let addr = server.addr;
    let wire = tokio::task::spawn_blocking(move || {
        let mut tcp = std::net::TcpStream::connect(addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        tcp.write_all(
            b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\none\
              GET /cl HTTP/1.1\r\nHost: a\r\n\r\n\
              POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nthree\r\n0\r\n\r\n\
              GET /cl HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
        let mut wire = Vec::new();
        tcp.read_to_end(&mut wire).unwrap();
        String::from_utf8(wire).unwrap()
    })
    .await
    .unwrap();
    let bodies: Vec<&str> = wire
        .split("HTTP/1.1 200 OK\r\n")
        .skip(1)
        .map(|resp| resp.split("\r\n\r\n").nth(1).unwrap_or_default())
        .collect();
    assert_eq!(bodies, ["one", "hello", "three", "hello"], "{wire}");
    assert!(wire.contains("Connection: close\r\n"));
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
}
