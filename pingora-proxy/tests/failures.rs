//! Failure paths through the proxy: a slow upstream (read timeout → 502), a refused upstream
//! (retried through `fail_to_connect`, 502 once retries run out), a pooled connection the
//! upstream closed (retried on a fresh one with the body replayed), an error from
//! `upstream_peer`; `logging` sees every outcome once.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use common::{net::free_port, start_proxy, Origin};
use pingora_core::server::configuration::ServerConf;
use pingora_core::upstreams::peer::HttpPeer;
use pingora_error::{Error, ErrorType, Result};
use pingora_proxy::{ProxyHttp, Session};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Tries `peers` in order (the last one again once they run out).
struct FailoverProxy {
    peers: Vec<SocketAddr>,
    fail_peer_with: Option<u16>,
    connect_failures: Arc<AtomicUsize>,
    outcomes: Arc<Mutex<Vec<String>>>,
}

#[async_trait]
impl ProxyHttp for FailoverProxy {
    type CTX = usize;
    fn new_ctx(&self) -> usize {
        0
    }

    async fn upstream_peer(
        &self,
        _session: &mut Session,
        tries: &mut usize,
    ) -> Result<Box<HttpPeer>> {
        if let Some(code) = self.fail_peer_with {
            return Error::e_explain(ErrorType::HTTPStatus(code), "no peer for this request");
        }
        let addr = self.peers[(*tries).min(self.peers.len() - 1)];
        *tries += 1;
        let mut peer = HttpPeer::new(addr, false, String::new());
        peer.options.read_timeout = Some(Duration::from_millis(200));
        Ok(Box::new(peer))
    }

    fn fail_to_connect(
        &self,
        _session: &mut Session,
        _peer: &HttpPeer,
        _tries: &mut usize,
        e: Box<Error>,
    ) -> Box<Error> {
        self.connect_failures.fetch_add(1, Ordering::SeqCst);
        e
    }

    async fn logging(&self, session: &mut Session, e: Option<&Error>, _tries: &mut usize) {
        let status = session.response_written().map_or(0, |r| r.status.as_u16());
        let outcome = match e {
            Some(e) => format!("{status} {:?} {e}", e.etype()),
            None => format!("{status} ok"),
        };
        self.outcomes.lock().expect("outcomes lock").push(outcome);
    }
}

struct Setup {
    proxy: SocketAddr,
    connect_failures: Arc<AtomicUsize>,
    outcomes: Arc<Mutex<Vec<String>>>,
}

async fn setup(peers: Vec<SocketAddr>, fail_peer_with: Option<u16>, max_retries: usize) -> Setup {
    let connect_failures = Arc::new(AtomicUsize::new(0));
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let inner = FailoverProxy {
        peers,
        fail_peer_with,
        connect_failures: connect_failures.clone(),
        outcomes: outcomes.clone(),
    };
    let conf = ServerConf {
        max_retries,
        ..ServerConf::default()
    };
    let (proxy, _) = start_proxy(inner, conf).await;
    Setup {
        proxy,
        connect_failures,
        outcomes,
    }
}

/// Sends `request` on `tcp` and reads one response with a Content-Length body.
async fn exchange(tcp: &mut TcpStream, request: &str) -> (u16, String) {
    tcp.write_all(request.as_bytes()).await.expect("send");
    let mut buf = Vec::new();
    loop {
        let mut piece = [0u8; 4096];
        let n = tcp.read(&mut piece).await.expect("read");
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&buf));
        buf.extend_from_slice(&piece[..n]);
        let text = String::from_utf8_lossy(&buf).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if body.len() >= length {
                let status = head[9..12].parse().expect("status code");
                return (status, body.to_string());
            }
        }
    }
}

fn refused_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], free_port()))
}

#[tokio::test]
async fn a_slow_upstream_times_out_into_a_502() {
    let origin = Origin::start().await;
    let s = setup(vec![origin.addr], None, 16).await;
    let mut tcp = TcpStream::connect(s.proxy).await.expect("connect");
    let (status, _) = exchange(&mut tcp, "GET /slow HTTP/1.1\r\nHost: o\r\n\r\n").await;
    assert_eq!(status, 502);
    let outcomes = s.outcomes.lock().expect("lock").clone();
    assert_eq!(outcomes.len(), 1);
    assert!(outcomes[0].starts_with("502 ReadTimedout"), "{outcomes:?}");
    assert!(outcomes[0].contains("Peer:"), "{outcomes:?}");
}

#[tokio::test]
async fn a_refused_upstream_is_retried_on_the_next_peer() {
    let origin = Origin::start().await;
    let s = setup(vec![refused_addr(), origin.addr], None, 16).await;
    let mut tcp = TcpStream::connect(s.proxy).await.expect("connect");
    let (status, body) = exchange(&mut tcp, "GET /x HTTP/1.1\r\nHost: o\r\n\r\n").await;
    assert_eq!((status, body.as_str()), (200, "ok"));
    assert_eq!(s.connect_failures.load(Ordering::SeqCst), 1);
    assert_eq!(s.outcomes.lock().expect("lock").as_slice(), ["200 ok"]);
}

#[tokio::test]
async fn refused_everywhere_answers_502_once_retries_run_out() {
    let s = setup(vec![refused_addr()], None, 2).await;
    let mut tcp = TcpStream::connect(s.proxy).await.expect("connect");
    let (status, _) = exchange(&mut tcp, "GET /x HTTP/1.1\r\nHost: o\r\n\r\n").await;
    assert_eq!(status, 502);
    // The first attempt and two retries.
    assert_eq!(s.connect_failures.load(Ordering::SeqCst), 3);
    let outcomes = s.outcomes.lock().expect("lock").clone();
    assert!(
        outcomes[0].starts_with("502 ConnectRefused"),
        "{outcomes:?}"
    );
}

#[tokio::test]
async fn an_upstream_peer_error_answers_its_status_without_retry() {
    let s = setup(vec![refused_addr()], Some(503), 16).await;
    let mut tcp = TcpStream::connect(s.proxy).await.expect("connect");
    let (status, _) = exchange(&mut tcp, "GET /x HTTP/1.1\r\nHost: o\r\n\r\n").await;
    assert_eq!(status, 503);
    assert_eq!(s.connect_failures.load(Ordering::SeqCst), 0);
    assert_eq!(s.outcomes.lock().expect("lock").len(), 1);
}

/// An origin that answers the first request of each connection (keep-alive) and closes the
/// connection, unanswered, when a second request arrives on it. Echoes the request body.
async fn one_shot_origin() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let accepts = Arc::new(AtomicUsize::new(0));
    let counter = accepts.clone();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut answered = false;
                loop {
                    let mut piece = [0u8; 4096];
                    let Ok(n) = tcp.read(&mut piece).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    if answered {
                        return; // close without answering the second request
                    }
                    buf.extend_from_slice(&piece[..n]);
                    let text = String::from_utf8_lossy(&buf).into_owned();
                    let Some((head, body)) = text.split_once("\r\n\r\n") else {
                        continue;
                    };
                    let length: usize = head
                        .lines()
                        .find_map(|l| {
                            let (name, value) = l.split_once(':')?;
                            name.eq_ignore_ascii_case("content-length")
                                .then(|| value.trim())
                        })
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    if body.len() < length {
                        continue;
                    }
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if tcp.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                    answered = true;
                    buf.clear();
                }
            });
        }
    });
    (addr, accepts)
}

#[tokio::test]
async fn a_pooled_connection_closed_by_the_upstream_is_retried_with_the_body_replayed() {
    let (origin, accepts) = one_shot_origin().await;
    let s = setup(vec![origin], None, 16).await;
    let mut tcp = TcpStream::connect(s.proxy).await.expect("connect");
    let (status, body) = exchange(
        &mut tcp,
        "POST /a HTTP/1.1\r\nHost: o\r\nContent-Length: 5\r\n\r\nfirst",
    )
    .await;
    assert_eq!((status, body.as_str()), (200, "first"));
    let (status, body) = exchange(
        &mut tcp,
        "POST /b HTTP/1.1\r\nHost: o\r\nContent-Length: 6\r\n\r\nsecond",
    )
    .await;
    assert_eq!((status, body.as_str()), (200, "second"));
    assert_eq!(accepts.load(Ordering::SeqCst), 2);
    assert_eq!(
        s.outcomes.lock().expect("lock").as_slice(),
        ["200 ok", "200 ok"]
    );
}

#[tokio::test]
async fn an_upstream_that_breaks_off_mid_body_truncates_the_downstream_response() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let origin = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let mut piece = [0u8; 4096];
            let _ = tcp.read(&mut piece).await;
            let _ = tcp
                .write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
                .await;
            // Dropped here: the body never ends.
        }
    });
    let s = setup(vec![origin], None, 16).await;
    let mut tcp = TcpStream::connect(s.proxy).await.expect("connect");
    tcp.write_all(b"GET /x HTTP/1.1\r\nHost: o\r\n\r\n")
        .await
        .expect("send");
    let mut out = Vec::new();
    tcp.read_to_end(&mut out).await.expect("read until close");
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        text.ends_with("5\r\nhello\r\n"),
        "no last chunk may follow: {text}"
    );
    let outcomes = s.outcomes.lock().expect("lock").clone();
    assert!(
        outcomes[0].starts_with("200 ConnectionClosed"),
        "{outcomes:?}"
    );
}
