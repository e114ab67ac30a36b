//! The connection pool seen through `TransportConnector`, against real loopback servers.
//!
//! Each test server answers every `?` it reads with the client's port and a newline, so a test
//! can tell which TCP connection it is talking over. Servers report, over a channel, every
//! connection they see closed by the client.

use pingora_core::connectors::{ConnectorOptions, TransportConnector};
use pingora_core::protocols::Stream;
use pingora_core::upstreams::peer::{BasicPeer, Peer};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

const LIMIT: Duration = Duration::from_secs(5);

/// What a test server does with each connection after answering the first `?`.
#[derive(Clone, Copy)]
enum AfterFirstAnswer {
    KeepServing,
    Close,
    SendStrayBytes,
}

struct TestServer {
    peer: BasicPeer,
    accepted: mpsc::UnboundedReceiver<u16>,
    closed_by_client: mpsc::UnboundedReceiver<u16>,
}

async fn test_server(mode: AfterFirstAnswer) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (accepted_tx, accepted) = mpsc::unbounded_channel();
    let (closed_tx, closed_by_client) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((mut conn, client)) = listener.accept().await else {
                return;
            };
            let _ = accepted_tx.send(client.port());
            let closed_tx = closed_tx.clone();
            tokio::spawn(async move {
                let mut byte = [0u8; 1];
                let mut answered = false;
                loop {
                    match conn.read(&mut byte).await {
                        Ok(0) | Err(_) => {
                            let _ = closed_tx.send(client.port());
                            return;
                        }
                        Ok(_) => {}
                    }
                    let answer = format!("{}\n", client.port());
                    if conn.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                    if answered {
                        continue;
                    }
                    answered = true;
                    match mode {
                        AfterFirstAnswer::KeepServing => {}
                        AfterFirstAnswer::Close => return,
                        AfterFirstAnswer::SendStrayBytes => {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            let _ = conn.write_all(b"stray").await;
                        }
                    }
                }
            });
        }
    });
    TestServer {
        peer: BasicPeer::new(&addr.to_string()),
        accepted,
        closed_by_client,
    }
}

/// Asks the server which client port this stream is.
async fn client_port(stream: &mut Stream) -> u16 {
    stream.write_all(b"?").await.unwrap();
    let mut answer = Vec::new();
    let mut byte = [0u8; 1];
    while byte != *b"\n" {
        let n = tokio::time::timeout(LIMIT, stream.read(&mut byte))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(n, 1, "server closed early");
        answer.push(byte[0]);
    }
    String::from_utf8(answer).unwrap().trim().parse().unwrap()
}

async fn recv(rx: &mut mpsc::UnboundedReceiver<u16>) -> u16 {
    tokio::time::timeout(LIMIT, rx.recv())
        .await
        .expect("event within the limit")
        .unwrap()
}

fn connector(pool_size: usize) -> TransportConnector {
    TransportConnector::new(Some(ConnectorOptions::new(pool_size)))
}

#[tokio::test]
async fn released_connection_is_reused_for_the_same_peer() {
    let mut server = test_server(AfterFirstAnswer::KeepServing).await;
    let connector = connector(8);
    let (mut stream, reused) = connector.get_stream(&server.peer).await.unwrap();
    assert!(!reused);
    let first_port = client_port(&mut stream).await;
    connector.release_stream(stream, server.peer.reuse_hash(), None);

    let (mut stream, reused) = connector.get_stream(&server.peer).await.unwrap();
    assert!(reused);
    assert_eq!(client_port(&mut stream).await, first_port);
    assert_eq!(recv(&mut server.accepted).await, first_port);
    assert!(
        server.accepted.try_recv().is_err(),
        "no second connection was made"
    );
}

#[tokio::test]
async fn connection_in_use_is_not_handed_out_twice() {
    let server = test_server(AfterFirstAnswer::KeepServing).await;
    let connector = connector(8);
    let (mut a, _) = connector.get_stream(&server.peer).await.unwrap();
    let (mut b, reused) = connector.get_stream(&server.peer).await.unwrap();
    assert!(!reused);
    assert_ne!(client_port(&mut a).await, client_port(&mut b).await);
}

#[tokio::test]
async fn idle_timeout_closes_the_pooled_connection() {
    let mut server = test_server(AfterFirstAnswer::KeepServing).await;
    let connector = connector(8);
    let (mut stream, _) = connector.get_stream(&server.peer).await.unwrap();
    let port = client_port(&mut stream).await;
    connector.release_stream(
        stream,
        server.peer.reuse_hash(),
        Some(Duration::from_millis(50)),
    );
    // The pool closes the socket itself when the timeout fires; the server sees the close.
    assert_eq!(recv(&mut server.closed_by_client).await, port);
    assert!(connector.reused_stream(&server.peer).await.is_none());
}

#[tokio::test]
async fn connection_closed_by_the_upstream_while_idle_is_not_reused() {
    let server = test_server(AfterFirstAnswer::Close).await;
    let connector = connector(8);
    let (mut stream, _) = connector.get_stream(&server.peer).await.unwrap();
    client_port(&mut stream).await;
    connector.release_stream(stream, server.peer.reuse_hash(), None);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(connector.reused_stream(&server.peer).await.is_none());
}

#[tokio::test]
async fn connection_that_received_stray_bytes_while_idle_is_not_reused() {
    let mut server = test_server(AfterFirstAnswer::SendStrayBytes).await;
    let connector = connector(8);
    let (mut stream, _) = connector.get_stream(&server.peer).await.unwrap();
    let port = client_port(&mut stream).await;
    connector.release_stream(stream, server.peer.reuse_hash(), None);
    // The watcher drops the connection as soon as the bytes arrive, so the server sees it close.
    assert_eq!(recv(&mut server.closed_by_client).await, port);
    assert!(connector.reused_stream(&server.peer).await.is_none());
}

#[tokio::test]
async fn pool_size_limit_evicts_the_least_recently_released_across_peers() {
    let mut servers = Vec::new();
    for _ in 0..3 {
        servers.push(test_server(AfterFirstAnswer::KeepServing).await);
    }
    let connector = connector(2);
    let mut ports = Vec::new();
    for server in &servers {
        let (mut stream, _) = connector.get_stream(&server.peer).await.unwrap();
        ports.push(client_port(&mut stream).await);
        connector.release_stream(stream, server.peer.reuse_hash(), None);
    }
    // The first released connection was evicted and closed.
    assert_eq!(recv(&mut servers[0].closed_by_client).await, ports[0]);
    assert!(connector.reused_stream(&servers[0].peer).await.is_none());
    for (server, port) in servers.iter().zip(&ports).skip(1) {
        let mut stream = connector
            .reused_stream(&server.peer)
            .await
            .expect("still pooled");
        assert_eq!(client_port(&mut stream).await, *port);
    }
}

#[tokio::test]
async fn pool_size_limit_holds_for_a_single_peer() {
    let server = test_server(AfterFirstAnswer::KeepServing).await;
    let connector = connector(2);
    let mut streams = Vec::new();
    for _ in 0..3 {
        streams.push(connector.new_stream(&server.peer).await.unwrap());
    }
    for stream in streams {
        connector.release_stream(stream, server.peer.reuse_hash(), None);
    }
    assert!(connector.reused_stream(&server.peer).await.is_some());
    assert!(connector.reused_stream(&server.peer).await.is_some());
    assert!(connector.reused_stream(&server.peer).await.is_none());
}

#[tokio::test]
async fn different_peers_never_share_connections() {
    let a = test_server(AfterFirstAnswer::KeepServing).await;
    let b = test_server(AfterFirstAnswer::KeepServing).await;
    let connector = connector(8);
    let (stream, _) = connector.get_stream(&a.peer).await.unwrap();
    connector.release_stream(stream, a.peer.reuse_hash(), None);
    let (_, reused) = connector.get_stream(&b.peer).await.unwrap();
    assert!(!reused);
}
