//! Both directions at once: an origin that echoes each piece of the request body back as
//! it arrives (answering before the request ends) must not deadlock the proxy once socket
//! buffers fill, and what comes back must be exactly what went up.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use async_trait::async_trait;
use common::{checksum, pattern, start_proxy};
use pingora_core::server::configuration::ServerConf;
use pingora_core::upstreams::peer::HttpPeer;
use pingora_error::Result;
use pingora_proxy::{ProxyHttp, Session};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const BODY_SIZE: usize = 10 * 1024 * 1024;
const ORIGIN_SOCKET_BUFFER: u32 = 64 * 1024;
const CLIENT_PAUSE: Duration = Duration::from_millis(200);

struct ToEcho {
    origin: SocketAddr,
}

#[async_trait]
impl ProxyHttp for ToEcho {
    type CTX = ();
    fn new_ctx(&self) {}

    async fn upstream_peer(&self, _session: &mut Session, _ctx: &mut ()) -> Result<Box<HttpPeer>> {
        Ok(Box::new(HttpPeer::new(self.origin, false, String::new())))
    }
}

/// Reads until the end of an HTTP head; returns the head and the bytes read past it.
async fn read_head<S: AsyncRead + Unpin>(io: &mut S) -> std::io::Result<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut piece = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            return Ok((String::from_utf8_lossy(&buf).into_owned(), rest));
        }
        let n = io.read(&mut piece).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&piece[..n]);
    }
}

fn content_length(head: &str) -> usize {
    head.lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0)
}

/// A streaming echo origin on a loopback port: one request per connection, with a
/// Content-Length body; the chunked response head goes out at once and every piece read is
/// written back as a chunk before the next read, so it stops reading while its writes wait.
async fn start_streaming_echo() -> SocketAddr {
    // Small socket buffers (as over a real network) so that they fill long before 10 MiB.
    let socket = TcpSocket::new_v4().expect("a TCP socket");
    socket
        .set_recv_buffer_size(ORIGIN_SOCKET_BUFFER)
        .expect("set SO_RCVBUF");
    socket
        .set_send_buffer_size(ORIGIN_SOCKET_BUFFER)
        .expect("set SO_SNDBUF");
    socket
        .bind("127.0.0.1:0".parse().expect("a loopback address"))
        .expect("bind loopback");
    let listener = socket.listen(64).expect("listen");
    let addr = listener.local_addr().expect("bound address");
    tokio::spawn(async move {
        loop {
            let Ok((mut tcp, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let Ok((head, early)) = read_head(&mut tcp).await else {
                    return;
                };
                let mut left = content_length(&head);
                let response_head =
                    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
                if tcp.write_all(response_head.as_bytes()).await.is_err() {
                    return;
                }
                let mut piece = early;
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    if !piece.is_empty() {
                        left = left.saturating_sub(piece.len());
                        let mut chunk = format!("{:x}\r\n", piece.len()).into_bytes();
                        chunk.extend_from_slice(&piece);
                        chunk.extend_from_slice(b"\r\n");
                        if tcp.write_all(&chunk).await.is_err() {
                            return;
                        }
                    }
                    if left == 0 {
                        let _ = tcp.write_all(b"0\r\n\r\n").await;
                        return;
                    }
                    let want = left.min(buf.len());
                    match tcp.read(&mut buf[..want]).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => piece = buf[..n].to_vec(),
                    }
                }
            });
        }
    });
    addr
}

/// Decodes a chunked body from `io` (with `early` bytes already read), up to its last chunk.
async fn read_chunked<S: AsyncRead + Unpin>(
    io: &mut S,
    early: Vec<u8>,
) -> std::io::Result<Vec<u8>> {
    let mut raw = early;
    let mut body = Vec::new();
    let mut pos = 0;
    let mut piece = vec![0u8; 64 * 1024];
    loop {
        // Parse as many whole chunks as the buffer holds.
        while let Some(line_end) = raw[pos..].windows(2).position(|w| w == b"\r\n") {
            let line = String::from_utf8_lossy(&raw[pos..pos + line_end]).into_owned();
            let size = usize::from_str_radix(line.trim(), 16)
                .map_err(|_| std::io::Error::other(format!("bad chunk size line {line:?}")))?;
            let data_start = pos + line_end + 2;
            if size == 0 {
                return Ok(body);
            }
            if raw.len() < data_start + size + 2 {
                break;
            }
            body.extend_from_slice(&raw[data_start..data_start + size]);
            pos = data_start + size + 2;
        }
        raw.drain(..pos);
        pos = 0;
        let n = io.read(&mut piece).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        raw.extend_from_slice(&piece[..n]);
    }
}

/// Uploads `body` through the proxy while reading the echo; returns the response head and
/// the decoded echo.
async fn upload_while_reading(proxy: SocketAddr, body: Vec<u8>) -> (String, Vec<u8>) {
    let tcp = TcpStream::connect(proxy)
        .await
        .expect("connect to the proxy");
    let (mut reader, mut writer) = tcp.into_split();
    let upload = tokio::spawn(async move {
        let head = format!(
            "POST /echo HTTP/1.1\r\nHost: origin\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        writer.write_all(head.as_bytes()).await?;
        for piece in body.chunks(16 * 1024) {
            writer.write_all(piece).await?;
        }
        writer.flush().await?;
        Ok::<_, std::io::Error>(writer)
    });
    // A client busy for a moment: every buffer on the way back fills meanwhile.
    tokio::time::sleep(CLIENT_PAUSE).await;
    let (head, early) = read_head(&mut reader).await.expect("response head");
    let echoed = read_chunked(&mut reader, early)
        .await
        .expect("chunked echo");
    upload
        .await
        .expect("the upload task ran")
        .expect("the upload was written");
    (head, echoed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streaming_echo_of_ten_mib_flows_both_ways_without_deadlock() {
    let origin = start_streaming_echo().await;
    let (proxy, _) = start_proxy(ToEcho { origin }, ServerConf::default()).await;
    let body = pattern(BODY_SIZE);
    let sent = checksum(&body);

    let exchange = upload_while_reading(proxy, body);
    let (head, echoed) = tokio::time::timeout(Duration::from_secs(30), exchange)
        .await
        .expect("the echo finished within 30 s (no deadlock)");

    assert!(head.starts_with("HTTP/1.1 200"), "head: {head}");
    assert_eq!(echoed.len(), BODY_SIZE);
    assert_eq!(checksum(&echoed), sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_client_and_echo_finish_without_a_proxy() {
    // The control: the client and the origin alone do not deadlock, so a hang above is the
    // proxy's.
    let origin = start_streaming_echo().await;
    let body = pattern(BODY_SIZE);
    let sent = checksum(&body);

    let exchange = upload_while_reading(origin, body);
    let (head, echoed) = tokio::time::timeout(Duration::from_secs(30), exchange)
        .await
        .expect("the echo finished within 30 s");

    assert!(head.starts_with("HTTP/1.1 200"), "head: {head}");
    assert_eq!(checksum(&echoed), sent);
}
