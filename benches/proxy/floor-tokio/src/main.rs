//! Baseline for `benches/proxy/run.sh`: the least work a reverse proxy on tokio can do per
//! request, with none of a framework's structure. It shows what this machine allows a tokio
//! proxy at all, so the gap between it and nginx is the runtime's and the gap between it and
//! our proxy is the framework's.
//!
//! Per request it does what every proxy in the benchmark does, and nothing more: parse the
//! request head (httparse), drop the hop-by-hop headers, add `X-Forwarded-By: quickstart`,
//! send it over a pooled keep-alive upstream connection, parse the response head, drop its
//! hop-by-hop headers and send head and body (by `Content-Length`) back. No header map, no
//! per-request allocation once the buffers have grown, no body filters, no retries, no
//! chunked bodies, no request bodies: only what the benchmark's `GET`s need. Not a proxy to
//! use; a yardstick.
//!
//! Knobs (environment):
//! - `UPSTREAM`: backend `host:port` (required)
//! - `LISTEN`: address to listen on (default `127.0.0.1:6190`)
//! - `THREADS`: tokio worker threads (default 1)

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

// The same global allocator as the quick-start example, so the proxies compare like with like.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

type Pool = Arc<Mutex<Vec<Upstream>>>;

/// A kept upstream connection with its read buffer.
struct Upstream {
    stream: TcpStream,
    buf: Vec<u8>,
}

const HOP_BY_HOP: [&str; 7] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "transfer-encoding",
    "upgrade",
    "trailer",
];

fn is_hop_by_hop(name: &str) -> bool {
    HOP_BY_HOP.iter().any(|h| name.eq_ignore_ascii_case(h))
}

fn wants_close(headers: &[httparse::Header<'_>], minor: u8) -> bool {
    let connection = headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("connection"))
        .map(|h| h.value);
    match connection {
        Some(v) if v.eq_ignore_ascii_case(b"close") => true,
        Some(v) if v.eq_ignore_ascii_case(b"keep-alive") => false,
        _ => minor == 0,
    }
}

/// Appends the header line `h` to `out`, unless it is hop-by-hop.
fn copy_unless_hop_by_hop(out: &mut Vec<u8>, h: &httparse::Header<'_>) {
    if !is_hop_by_hop(h.name) {
        out.extend_from_slice(h.name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(h.value);
        out.extend_from_slice(b"\r\n");
    }
}

/// Reads more of a head from `stream` into `buf` after its first `filled` bytes, growing
/// `buf` when full; returns the new fill. `None` when the peer closed.
async fn read_more(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    filled: usize,
) -> Result<Option<usize>, String> {
    if filled == buf.len() {
        if buf.len() >= 64 * 1024 {
            return Err("head too large".into());
        }
        buf.resize(buf.len() * 2, 0);
    }
    let n = stream
        .read(&mut buf[filled..])
        .await
        .map_err(|e| e.to_string())?;
    Ok((n > 0).then_some(filled + n))
}

async fn connect(upstream: SocketAddr) -> Result<Upstream, String> {
    let stream = TcpStream::connect(upstream)
        .await
        .map_err(|e| e.to_string())?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    Ok(Upstream {
        stream,
        // Large enough for a 16 KiB response in one read, as the other proxies read.
        buf: vec![0; 64 * 1024],
    })
}

async fn serve(mut client: TcpStream, upstream_addr: SocketAddr, pool: Pool) -> Result<(), String> {
    client.set_nodelay(true).map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 4096];
    let mut filled = 0;
    let mut out = Vec::with_capacity(4096);
    loop {
        // The request head, parsed once it is complete and copied out upstream-bound.
        out.clear();
        let (head_len, close) = loop {
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut req = httparse::Request::new(&mut headers);
            if filled > 0 {
                if let httparse::Status::Complete(len) =
                    req.parse(&buf[..filled]).map_err(|e| e.to_string())?
                {
                    out.extend_from_slice(req.method.unwrap_or("GET").as_bytes());
                    out.push(b' ');
                    out.extend_from_slice(req.path.unwrap_or("/").as_bytes());
                    out.extend_from_slice(b" HTTP/1.1\r\n");
                    for h in req.headers.iter() {
                        if h.name.eq_ignore_ascii_case("content-length") && h.value != b"0" {
                            return Err("request bodies are not supported".into());
                        }
                        copy_unless_hop_by_hop(&mut out, h);
                    }
                    out.extend_from_slice(b"X-Forwarded-By: quickstart\r\n\r\n");
                    break (len, wants_close(req.headers, req.version.unwrap_or(1)));
                }
            }
            match read_more(&mut client, &mut buf, filled).await? {
                Some(now) => filled = now,
                None => return Ok(()),
            }
        };
        // Pipelined bytes move to the front for the next request.
        buf.copy_within(head_len..filled, 0);
        filled -= head_len;

        // Upstream exchange, on a pooled connection.
        let pooled = pool.lock().unwrap().pop();
        let mut up = match pooled {
            Some(up) => up,
            None => connect(upstream_addr).await?,
        };
        up.stream.write_all(&out).await.map_err(|e| e.to_string())?;
        out.clear();
        let mut content_length = 0usize;
        let mut total = 0;
        let (head_len, upstream_close) = loop {
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut resp = httparse::Response::new(&mut headers);
            if total > 0 {
                if let httparse::Status::Complete(len) =
                    resp.parse(&up.buf[..total]).map_err(|e| e.to_string())?
                {
                    out.extend_from_slice(b"HTTP/1.1 ");
                    write!(out, "{} ", resp.code.unwrap_or(502)).map_err(|e| e.to_string())?;
                    out.extend_from_slice(resp.reason.unwrap_or("").as_bytes());
                    out.extend_from_slice(b"\r\n");
                    for h in resp.headers.iter() {
                        if h.name.eq_ignore_ascii_case("content-length") {
                            content_length = std::str::from_utf8(h.value)
                                .ok()
                                .and_then(|v| v.trim().parse().ok())
                                .ok_or("bad content-length")?;
                        }
                        if h.name.eq_ignore_ascii_case("transfer-encoding") {
                            return Err("chunked responses are not supported".into());
                        }
                        copy_unless_hop_by_hop(&mut out, h);
                    }
                    if close {
                        out.extend_from_slice(b"Connection: close\r\n");
                    }
                    out.extend_from_slice(b"\r\n");
                    break (len, wants_close(resp.headers, resp.version.unwrap_or(1)));
                }
            }
            match read_more(&mut up.stream, &mut up.buf, total).await? {
                Some(now) => total = now,
                None => return Err("upstream closed".into()),
            }
        };
        // The body: what came with the head, then the rest as it arrives.
        let body_here = (total - head_len).min(content_length);
        out.extend_from_slice(&up.buf[head_len..head_len + body_here]);
        let mut left = content_length - body_here;
        if total - head_len > body_here {
            return Err("upstream sent more than its body".into());
        }
        client.write_all(&out).await.map_err(|e| e.to_string())?;
        while left > 0 {
            let want = left.min(up.buf.len());
            let n = up
                .stream
                .read(&mut up.buf[..want])
                .await
                .map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("upstream closed mid-body".into());
            }
            client
                .write_all(&up.buf[..n])
                .await
                .map_err(|e| e.to_string())?;
            left -= n;
        }
        if !upstream_close {
            pool.lock().unwrap().push(up);
        }
        if close {
            return Ok(());
        }
    }
}

fn main() {
    let upstream: SocketAddr = std::env::var("UPSTREAM")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            eprintln!("UPSTREAM must be a socket address such as 127.0.0.1:8000");
            std::process::exit(2)
        });
    let listen = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:6190".into());
    let threads: usize = std::env::var("THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_io()
        .build()
        .expect("tokio runtime");
    // The accept loop is a task like any other, so it runs on the workers (as in the other
    // proxies), not on this thread.
    runtime.block_on(async move {
        let listener = TcpListener::bind(&listen).await.expect("bind");
        let pool: Pool = Arc::new(Mutex::new(Vec::new()));
        tokio::spawn(accept_loop(listener, upstream, pool))
            .await
            .expect("accept loop");
    });
}

async fn accept_loop(listener: TcpListener, upstream: SocketAddr, pool: Pool) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        let pool = pool.clone();
        tokio::spawn(async move {
            if let Err(e) = serve(client, upstream, pool).await {
                eprintln!("floor-tokio: {e}");
            }
        });
    }
}
