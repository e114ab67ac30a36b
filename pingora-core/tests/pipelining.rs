//! Pipelined requests through the public session API: the bytes read past each request are
//! carried to the next session without stacking a replay layer per request.

use bytes::Bytes;
use pingora_core::protocols::http::{ReplayStream, ServerSession};
use pingora_core::protocols::Stream;
use pingora_http::ResponseHeader;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How many replay layers wrap `stream`.
fn replay_depth(stream: &Stream) -> usize {
    let mut depth = 0;
    let mut current: &Stream = stream;
    while let Some(replay) = (**current).as_any().downcast_ref::<ReplayStream<Stream>>() {
        depth += 1;
        current = replay.inner();
    }
    depth
}

#[tokio::test]
async fn ten_thousand_pipelined_requests_never_nest_replay_layers() {
    const REQUESTS: usize = 10_000;
    let request = b"GET /p HTTP/1.1\r\nHost: a\r\n\r\n";
    let (mut client, server) = tokio::io::duplex(1 << 20);
    // everything at once: every session ends with the rest of the pipeline unread
    client.write_all(&request.repeat(REQUESTS)).await.unwrap();
    let reader = tokio::spawn(async move {
        let mut answers = Vec::new();
        client.read_to_end(&mut answers).await.unwrap();
        answers
    });

    let mut stream: Stream = Box::new(server);
    let mut deepest = 0;
    for i in 0..REQUESTS {
        let mut session = ServerSession::new_http1(stream);
        assert!(session.read_request().await.unwrap(), "request {i}");
        let mut header = ResponseHeader::build(200, None).unwrap();
        header.set_content_length(0).unwrap();
        if i == REQUESTS - 1 {
            session.set_keepalive(None);
        }
        session
            .write_response_header(Box::new(header))
            .await
            .unwrap();
        session
            .write_response_body(Bytes::new(), true)
            .await
            .unwrap();
        match session.finish().await.unwrap() {
            Some(next) => {
                deepest = deepest.max(replay_depth(&next));
                stream = next;
            }
            None => {
                assert_eq!(i, REQUESTS - 1, "connection closed early");
                break;
            }
        }
    }
    assert!(deepest <= 1, "replay layers nested {deepest} deep");
    let answers = reader.await.unwrap();
    let count = answers
        .windows(b"HTTP/1.1 200 OK\r\n".len())
        .filter(|w| w == b"HTTP/1.1 200 OK\r\n")
        .count();
    assert_eq!(count, REQUESTS);
}
