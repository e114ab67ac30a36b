//! End to end through the proxy over loopback with curl downstream and the in-process origin
//! upstream: response compression with gzip, brotli and zstd on 1 MiB bodies (Content-Length
//! and chunked), identity for clients that ask for none, per-request control through the
//! module ctx, and the default `init_downstream_modules` (installed, off); `Session::upstream_compression`
//! decoding what the origin encoded, for the filters and the client.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use common::{checksum, pattern, start_proxy, Origin};
use pingora_core::modules::http::compression::{ResponseCompression, ResponseCompressionBuilder};
use pingora_core::modules::http::HttpModules;
use pingora_core::server::configuration::ServerConf;
use pingora_core::upstreams::peer::HttpPeer;
use pingora_error::{Error, Result};
use pingora_http::RequestHeader;
use pingora_proxy::{ProxyHttp, Session};

const MIB: usize = 1024 * 1024;

/// What `get_info` reported for one request: codec, bytes in, bytes out, time.
type Info = (&'static str, usize, usize, Duration);

/// Compresses at level 6; `?nocompress` switches it off for the request, `?compress`
/// switches it on (for the default-modules proxy).
struct CompressingProxy {
    origin: SocketAddr,
    /// Whether to install the module itself (else the trait default is used).
    install: bool,
    infos: Arc<Mutex<Vec<Info>>>,
}

#[async_trait]
impl ProxyHttp for CompressingProxy {
    type CTX = ();
    fn new_ctx(&self) {}

    fn init_downstream_modules(&self, modules: &mut HttpModules) {
        if self.install {
            modules.add_module(ResponseCompressionBuilder::enable(6));
        } else {
            // What the trait does by default.
            modules.add_module(ResponseCompressionBuilder::enable(0));
        }
    }

    async fn request_filter(&self, session: &mut Session, _ctx: &mut ()) -> Result<bool> {
        if session.req_header().uri.path() == "/error-page" {
            session
                .respond_error_with_body(403, bytes::Bytes::from(vec![b'e'; 300]))
                .await?;
            return Ok(true);
        }
        let query = session
            .req_header()
            .uri
            .query()
            .unwrap_or_default()
            .to_string();
        let compression = session
            .downstream_modules_ctx
            .get_mut::<ResponseCompression>()
            .expect("the compression module is installed");
        if query.contains("nocompress") {
            compression.adjust_level(0);
        } else if query.contains("compress") {
            compression.adjust_level(6);
        }
        Ok(false)
    }

    async fn upstream_peer(&self, _session: &mut Session, _ctx: &mut ()) -> Result<Box<HttpPeer>> {
        Ok(Box::new(HttpPeer::new(self.origin, false, String::new())))
    }

    async fn logging(&self, session: &mut Session, _e: Option<&Error>, _ctx: &mut ()) {
        let info = session
            .downstream_modules_ctx
            .get::<ResponseCompression>()
            .and_then(|c| c.get_info());
        if let Some(info) = info {
            self.infos.lock().expect("infos lock").push(info);
        }
    }
}

/// A proxy that leaves `init_downstream_modules` to the trait's default.
struct DefaultProxy {
    origin: SocketAddr,
}

#[async_trait]
impl ProxyHttp for DefaultProxy {
    type CTX = ();
    fn new_ctx(&self) {}

    async fn request_filter(&self, session: &mut Session, _ctx: &mut ()) -> Result<bool> {
        if session.req_header().uri.query() == Some("compress") {
            session
                .downstream_modules_ctx
                .get_mut::<ResponseCompression>()
                .expect("installed by default")
                .adjust_level(6);
        }
        Ok(false)
    }

    async fn upstream_peer(&self, _session: &mut Session, _ctx: &mut ()) -> Result<Box<HttpPeer>> {
        Ok(Box::new(HttpPeer::new(self.origin, false, String::new())))
    }
}

struct Setup {
    proxy: SocketAddr,
    infos: Arc<Mutex<Vec<Info>>>,
}

async fn setup(install: bool) -> Setup {
    let origin = Origin::start().await;
    let infos = Arc::new(Mutex::new(Vec::new()));
    let inner = CompressingProxy {
        origin: origin.addr,
        install,
        infos: infos.clone(),
    };
    let (proxy, _) = start_proxy(inner, ServerConf::default()).await;
    Setup { proxy, infos }
}

/// A response as curl saw it: lower-cased header lines and the (decoded) body.
struct Fetched {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Fetched {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Runs curl with `args` plus `-D -` (headers, then the body, on stdout).
async fn curl(args: &[&str]) -> Fetched {
    let out = tokio::process::Command::new("curl")
        .args(["-sS", "--max-time", "20", "-D", "-"])
        .args(args)
        .output()
        .await
        .expect("run curl");
    assert!(
        out.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let split = out
        .stdout
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block");
    let head = String::from_utf8_lossy(&out.stdout[..split]).to_string();
    let headers = head
        .lines()
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Fetched {
        headers,
        body: out.stdout[split + 4..].to_vec(),
    }
}

#[tokio::test]
async fn curl_compressed_gets_the_original_bytes_with_each_codec_and_framing() {
    let s = setup(true).await;
    let expected = checksum(&pattern(MIB));
    for coding in ["gzip", "br", "zstd"] {
        for query in ["", "?chunked"] {
            let url = format!("http://{}/size/{MIB}{query}", s.proxy);
            let accept = format!("Accept-Encoding: {coding}");
            let fetched = curl(&["--compressed", "-H", &accept, &url]).await;
            assert_eq!(fetched.header("content-encoding"), Some(coding), "{url}");
            assert_eq!(fetched.header("content-length"), None, "{url}");
            assert_eq!(fetched.header("vary"), Some("Accept-Encoding"), "{url}");
            assert_eq!(fetched.body.len(), MIB, "{coding} {url}");
            assert_eq!(checksum(&fetched.body), expected, "{coding} {url}");
        }
    }
    let infos = s.infos.lock().expect("infos lock").clone();
    assert_eq!(infos.len(), 6);
    for (name, bytes_in, bytes_out, _) in infos {
        assert!(["gzip", "br", "zstd"].contains(&name));
        assert_eq!(bytes_in, MIB);
        assert!(bytes_out < MIB / 10, "{name}: {bytes_out} bytes out");
    }
}

#[tokio::test]
async fn curl_default_accept_encoding_gets_zstd() {
    let s = setup(true).await;
    // curl --compressed asks for every coding it was built with ("deflate, gzip, br, zstd"
    // on Debian), all at the same weight: the tie goes to zstd.
    let url = format!("http://{}/size/{MIB}", s.proxy);
    let fetched = curl(&["--compressed", &url]).await;
    assert_eq!(fetched.header("content-encoding"), Some("zstd"));
    assert_eq!(checksum(&fetched.body), checksum(&pattern(MIB)));
}

#[tokio::test]
async fn a_client_without_accept_encoding_gets_identity_with_the_original_length() {
    let s = setup(true).await;
    let url = format!("http://{}/size/{MIB}", s.proxy);
    let fetched = curl(&[&url]).await;
    assert_eq!(fetched.header("content-encoding"), None);
    assert_eq!(fetched.header("content-length"), Some("1048576"));
    // The response could have been compressed for another client: caches must know.
    assert_eq!(fetched.header("vary"), Some("Accept-Encoding"));
    assert_eq!(checksum(&fetched.body), checksum(&pattern(MIB)));
    assert!(s.infos.lock().expect("infos lock").is_empty());
}

#[tokio::test]
async fn an_error_page_with_a_body_is_compressed_as_its_header_says() {
    let s = setup(true).await;
    let url = format!("http://{}/error-page", s.proxy);
    let fetched = curl(&["--compressed", &url]).await;
    // The header announced an encoding: the bytes carry it, and curl decodes them back.
    assert!(fetched.header("content-encoding").is_some());
    assert_eq!(fetched.body, vec![b'e'; 300]);
}

#[tokio::test]
async fn a_request_filter_can_switch_compression_off_for_one_request() {
    let s = setup(true).await;
    let url = format!("http://{}/size/{MIB}?nocompress", s.proxy);
    let fetched = curl(&["--compressed", &url]).await;
    assert_eq!(fetched.header("content-encoding"), None);
    assert_eq!(fetched.header("content-length"), Some("1048576"));
    assert_eq!(fetched.header("vary"), None);
    assert_eq!(checksum(&fetched.body), checksum(&pattern(MIB)));
    // The next request on the same service is compressed again.
    let url = format!("http://{}/size/{MIB}", s.proxy);
    let fetched = curl(&["--compressed", &url]).await;
    assert!(fetched.header("content-encoding").is_some());
}

#[tokio::test]
async fn head_and_small_responses_are_not_compressed() {
    let s = setup(true).await;
    let url = format!("http://{}/size/{MIB}", s.proxy);
    let head = curl(&["--compressed", "-I", &url]).await;
    assert_eq!(head.header("content-encoding"), None);
    assert_eq!(head.header("content-length"), Some("1048576"));
    let url = format!("http://{}/size/10", s.proxy);
    let small = curl(&["--compressed", &url]).await;
    assert_eq!(small.header("content-encoding"), None);
    assert_eq!(small.body, pattern(10));
}

#[tokio::test]
async fn the_default_modules_compress_nothing_until_a_phase_switches_it_on() {
    let origin = Origin::start().await;
    let (proxy, _) = start_proxy(
        DefaultProxy {
            origin: origin.addr,
        },
        ServerConf::default(),
    )
    .await;
    let url = format!("http://{proxy}/size/{MIB}");
    let fetched = curl(&["--compressed", &url]).await;
    assert_eq!(fetched.header("content-encoding"), None);
    assert_eq!(fetched.header("content-length"), Some("1048576"));
    assert_eq!(fetched.header("vary"), None);
    assert_eq!(checksum(&fetched.body), checksum(&pattern(MIB)));

    let url = format!("http://{proxy}/size/{MIB}?compress");
    let fetched = curl(&["--compressed", "-H", "Accept-Encoding: gzip", &url]).await;
    assert_eq!(fetched.header("content-encoding"), Some("gzip"));
    assert_eq!(checksum(&fetched.body), checksum(&pattern(MIB)));
}

/// Text-like data: an access log with varying numbers, closer to real traffic than the
/// origin's repeating pattern.
fn access_log(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 200);
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let paths = [
        "/",
        "/index.html",
        "/api/v1/items",
        "/static/app.js",
        "/login",
    ];
    let agents = [
        "curl/7.88.1",
        "Mozilla/5.0 (X11; Linux x86_64)",
        "Go-http-client/1.1",
    ];
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let line = format!(
            "127.0.0.{} - - [23/Nov/2026:16:{:02}:{:02} +0000] \"GET {} HTTP/1.1\" {} {} \"{}\"\n",
            state % 250,
            (state >> 8) % 60,
            (state >> 16) % 60,
            paths[(state >> 24) as usize % paths.len()],
            [200, 200, 200, 304, 404][(state >> 32) as usize % 5],
            (state >> 40) % 100_000,
            agents[(state >> 48) as usize % agents.len()],
        );
        out.extend_from_slice(line.as_bytes());
    }
    out.truncate(len);
    out
}

/// Prints the ratio and codec time `get_info` reported per codec at level 6 for the 1 MiB
/// pattern body and a 1 MiB access log (run with `--nocapture` to see them).
#[tokio::test]
async fn get_info_reports_ratio_and_time_per_codec() {
    let s = setup(true).await;
    let log = access_log(MIB);
    let log_path = common::temp_dir::TempDir::new("compression-body");
    let file = log_path.join("access.log");
    std::fs::write(&file, &log).expect("write the body file");
    let upload = format!("@{}", file.display());
    for coding in ["gzip", "br", "zstd"] {
        let accept = format!("Accept-Encoding: {coding}");
        let url = format!("http://{}/size/{MIB}", s.proxy);
        let fetched = curl(&["--compressed", "-H", &accept, &url]).await;
        assert_eq!(fetched.body.len(), MIB);
        let url = format!("http://{}/echo", s.proxy);
        let fetched = curl(&[
            "--compressed",
            "-H",
            &accept,
            "--data-binary",
            &upload,
            &url,
        ])
        .await;
        assert_eq!(fetched.header("content-encoding"), Some(coding));
        assert_eq!(checksum(&fetched.body), checksum(&log));
    }
    let infos = s.infos.lock().expect("infos lock").clone();
    assert_eq!(infos.len(), 6);
    for (i, (name, bytes_in, bytes_out, time)) in infos.into_iter().enumerate() {
        let body = if i % 2 == 0 { "pattern" } else { "access log" };
        eprintln!(
            "{name:>4} {body:>10}: {bytes_in} -> {bytes_out} bytes, ratio {:.4}, {:?}",
            bytes_out as f64 / bytes_in as f64,
            time
        );
        assert_eq!(bytes_in, MIB);
        assert!(bytes_out < MIB / 2);
    }
}

/// Turns `Session::upstream_compression` decompression on when the query says `decode`
/// (and `decode-strip` also removes `Accept-Encoding` from the upstream request); records
/// what `upstream_response_body_filter` saw. With `downstream`, the compression module
/// encodes at level 6 for the client.
struct DecodingProxy {
    origin: SocketAddr,
    downstream: bool,
    seen: Arc<Mutex<Vec<Vec<u8>>>>,
}

#[async_trait]
impl ProxyHttp for DecodingProxy {
    type CTX = Vec<u8>;
    fn new_ctx(&self) -> Vec<u8> {
        Vec::new()
    }

    fn init_downstream_modules(&self, modules: &mut HttpModules) {
        let level = if self.downstream { 6 } else { 0 };
        modules.add_module(ResponseCompressionBuilder::enable(level));
    }

    async fn upstream_peer(
        &self,
        _session: &mut Session,
        _ctx: &mut Vec<u8>,
    ) -> Result<Box<HttpPeer>> {
        Ok(Box::new(HttpPeer::new(self.origin, false, String::new())))
    }

    async fn upstream_request_filter(
        &self,
        session: &mut Session,
        upstream_request: &mut RequestHeader,
        _ctx: &mut Vec<u8>,
    ) -> Result<()> {
        let query = upstream_request.uri.query().unwrap_or_default().to_string();
        if query.contains("decode") {
            session.upstream_compression.adjust_decompression(true);
        }
        if query.contains("strip") {
            upstream_request.remove_header("Accept-Encoding");
        }
        Ok(())
    }

    fn upstream_response_body_filter(
        &self,
        _session: &mut Session,
        body: &mut Option<Bytes>,
        _end_of_stream: bool,
        ctx: &mut Vec<u8>,
    ) -> Result<Option<Duration>> {
        if let Some(piece) = body {
            ctx.extend_from_slice(piece);
        }
        Ok(None)
    }

    async fn logging(&self, _session: &mut Session, _e: Option<&Error>, ctx: &mut Vec<u8>) {
        self.seen
            .lock()
            .expect("seen lock")
            .push(std::mem::take(ctx));
    }
}

async fn decoding_proxy(downstream: bool) -> (SocketAddr, Arc<Mutex<Vec<Vec<u8>>>>) {
    let origin = Origin::start().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let inner = DecodingProxy {
        origin: origin.addr,
        downstream,
        seen: seen.clone(),
    };
    let (proxy, _) = start_proxy(inner, ServerConf::default()).await;
    (proxy, seen)
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .read_to_end(&mut out)
        .expect("valid gzip");
    out
}

/// What the body filter saw for the last request.
fn last_seen(seen: &Mutex<Vec<Vec<u8>>>) -> Vec<u8> {
    seen.lock()
        .expect("seen lock")
        .last()
        .cloned()
        .expect("a request was logged")
}

#[tokio::test]
async fn upstream_compression_is_off_by_default_and_encoded_bodies_pass_as_they_are() {
    let (proxy, seen) = decoding_proxy(false).await;
    let fetched = curl(&[&format!("http://{proxy}/gzip/{MIB}")]).await;
    assert_eq!(fetched.header("content-encoding"), Some("gzip"));
    assert_eq!(fetched.header("etag"), Some("\"v1\""));
    assert_eq!(gunzip(&fetched.body), pattern(MIB));
    assert_eq!(last_seen(&seen), fetched.body);
}

#[tokio::test]
async fn upstream_decompression_gives_the_filters_and_the_client_the_plain_body() {
    let (proxy, seen) = decoding_proxy(false).await;
    // The client accepts gzip, but the upstream request no longer does: decoded.
    let url = format!("http://{proxy}/gzip/{MIB}?decode-strip");
    let fetched = curl(&["-H", "Accept-Encoding: gzip", &url]).await;
    assert_eq!(fetched.header("content-encoding"), None);
    assert_eq!(fetched.header("content-length"), None);
    assert_eq!(fetched.header("etag"), Some("W/\"v1\""));
    assert_eq!(checksum(&fetched.body), checksum(&pattern(MIB)));
    assert_eq!(checksum(&last_seen(&seen)), checksum(&pattern(MIB)));

    // Decompression on, but the upstream was asked for gzip: gzip is what it wanted.
    let url = format!("http://{proxy}/gzip/{MIB}?decode");
    let fetched = curl(&["-H", "Accept-Encoding: gzip", &url]).await;
    assert_eq!(fetched.header("content-encoding"), Some("gzip"));
    assert_eq!(gunzip(&fetched.body), pattern(MIB));
}

#[tokio::test]
async fn decoded_upstream_bodies_are_encoded_again_for_the_client_by_the_module() {
    let (proxy, seen) = decoding_proxy(true).await;
    let url = format!("http://{proxy}/gzip/{MIB}?decode-strip");
    let fetched = curl(&["--compressed", "-H", "Accept-Encoding: br", &url]).await;
    // Plain for the filters, brotli for the client.
    assert_eq!(checksum(&last_seen(&seen)), checksum(&pattern(MIB)));
    assert_eq!(fetched.header("content-encoding"), Some("br"));
    assert_eq!(checksum(&fetched.body), checksum(&pattern(MIB)));
}

#[tokio::test]
async fn an_upstream_body_that_does_not_decode_is_a_502() {
    let (proxy, _) = decoding_proxy(false).await;
    let url = format!("http://{proxy}/bad-gzip?decode-strip");
    let out = tokio::process::Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "20",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
        ])
        .arg(&url)
        .output()
        .await
        .expect("run curl");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "502");
}
