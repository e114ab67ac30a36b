//! Server-session behaviours beyond framing: upgrades, HTTP/1.0 clients, HEAD, error pages.

use bytes::Bytes;
use pingora_core::protocols::http::ServerSession;
use pingora_http::ResponseHeader;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn session_for(raw: &[u8]) -> (ServerSession, tokio::io::DuplexStream) {
    let (mut client, server) = tokio::io::duplex(64 * 1024);
    client.write_all(raw).await.unwrap();
    let mut session = ServerSession::new_http1(Box::new(server));
    assert!(session.read_request().await.unwrap());
    (session, client)
}

#[tokio::test]
async fn upgrade_switches_to_raw_bytes_both_ways() {
    let (mut session, mut client) = session_for(
        b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nearly",
    )
    .await;
    let mut resp = ResponseHeader::build(101, None).unwrap();
    resp.insert_header("Connection", "Upgrade").unwrap();
    resp.insert_header("Upgrade", "websocket").unwrap();
    session.write_response_header(Box::new(resp)).await.unwrap();
    assert_eq!(session.read_request_body().await.unwrap().unwrap(), "early");
    client.write_all(b"\x81\x02hi").await.unwrap();
    assert_eq!(
        session.read_request_body().await.unwrap().unwrap(),
        &b"\x81\x02hi"[..]
    );
    session
        .write_response_body(Bytes::from_static(b"raw back"), false)
        .await
        .unwrap();
    client.shutdown().await.unwrap();
    assert!(session.read_request_body().await.unwrap().is_none());
    assert!(
        session.finish().await.unwrap().is_none(),
        "an upgraded connection is not reused"
    );
    let mut wire = Vec::new();
    client.read_to_end(&mut wire).await.unwrap();
    let text = String::from_utf8_lossy(&wire);
    assert!(
        text.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{text}"
    );
    assert!(text.ends_with("\r\n\r\nraw back"), "{text}");
}

#[tokio::test]
async fn http10_client_gets_a_close_delimited_body_without_chunking() {
    let (mut session, mut client) = session_for(b"GET / HTTP/1.0\r\n\r\n").await;
    session
        .write_response_header(Box::new(ResponseHeader::build(200, None).unwrap()))
        .await
        .unwrap();
    session
        .write_response_body(Bytes::from_static(b"body"), true)
        .await
        .unwrap();
    assert!(session.finish().await.unwrap().is_none());
    let mut wire = Vec::new();
    client.read_to_end(&mut wire).await.unwrap();
    let text = String::from_utf8_lossy(&wire);
    assert!(
        !text.contains("Transfer-Encoding") && text.contains("Connection: close\r\n"),
        "{text}"
    );
    assert!(text.ends_with("\r\n\r\nbody"), "{text}");
}

#[tokio::test]
async fn head_response_keeps_its_length_but_sends_no_body() {
    let (mut session, mut client) = session_for(b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n").await;
    let mut resp = ResponseHeader::build(200, None).unwrap();
    resp.set_content_length(4).unwrap();
    session.write_response_header(Box::new(resp)).await.unwrap();
    session
        .write_response_body(Bytes::from_static(b"body"), true)
        .await
        .unwrap();
    let stream = session.finish().await.unwrap();
    assert!(stream.is_some());
    drop(stream);
    let mut wire = Vec::new();
    client.read_to_end(&mut wire).await.unwrap();
    let text = String::from_utf8_lossy(&wire);
    assert!(
        text.contains("Content-Length: 4\r\n") && text.ends_with("\r\n\r\n"),
        "{text}"
    );
}

#[tokio::test]
async fn unread_body_after_a_refused_100_continue_closes_the_connection() {
    let (mut session, mut client) = session_for(
        b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
    )
    .await;
    session.respond_error(413).await.unwrap();
    assert!(session.finish().await.unwrap().is_none());
    let mut wire = Vec::new();
    client.read_to_end(&mut wire).await.unwrap();
    let text = String::from_utf8_lossy(&wire);
    assert!(
        text.starts_with("HTTP/1.1 413 Payload Too Large\r\n"),
        "{text}"
    );
    assert!(!text.contains("100 Continue"), "{text}");
    assert!(
        text.contains("Server: Pingora\r\n") && text.contains("Connection: close\r\n"),
        "{text}"
    );
}

#[tokio::test]
async fn unread_small_body_is_drained_so_the_connection_is_reused() {
    let (mut session, mut client) = session_for(
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET /next HTTP/1.1\r\nHost: a\r\n\r\n",
    )
    .await;
    let mut resp = ResponseHeader::build(200, None).unwrap();
    resp.set_content_length(0).unwrap();
    session.write_response_header(Box::new(resp)).await.unwrap();
    let stream = session.finish().await.unwrap().expect("reusable");
    let mut next = ServerSession::new_http1(stream);
    assert!(next.read_request().await.unwrap());
    assert_eq!(next.req_header().uri.path(), "/next");
    client.shutdown().await.unwrap();
}

#[tokio::test]
async fn interim_responses_precede_the_final_one_and_skip_http10_clients() {
    let (mut session, mut client) = session_for(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").await;
    session
        .write_response_header(Box::new(ResponseHeader::build(103, None).unwrap()))
        .await
        .unwrap();
    let mut resp = ResponseHeader::build(200, None).unwrap();
    resp.set_content_length(0).unwrap();
    session.write_response_header(Box::new(resp)).await.unwrap();
    drop(session.finish().await.unwrap());
    let mut wire = Vec::new();
    client.read_to_end(&mut wire).await.unwrap();
    let text = String::from_utf8_lossy(&wire);
    assert!(
        text.starts_with("HTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 200 OK\r\n"),
        "{text}"
    );

    let (mut session, mut client) = session_for(b"GET / HTTP/1.0\r\n\r\n").await;
    session
        .write_response_header(Box::new(ResponseHeader::build(103, None).unwrap()))
        .await
        .unwrap();
    session.respond_error(404).await.unwrap();
    drop(session.finish().await.unwrap());
    let mut wire = Vec::new();
    client.read_to_end(&mut wire).await.unwrap();
    assert!(wire.starts_with(b"HTTP/1.1 404 Not Found\r\n"));
}
