//! The ring must pick the same server as a real nginx running `hash $request_uri consistent`.
//!
//! Each test starts its own nginx (foreground, single process, every path inside a temporary
//! directory, listening on a free loopback port) with an upstream of loopback servers that
//! nobody serves. With `proxy_next_upstream off` nginx makes exactly one choice per request
//! and logs it (`$request_uri,$upstream_addr`) even though the connection is refused. The
//! test then asks a `Continuum` built from the same list and compares, request by request.
//!
//! These tests need the `nginx` binary (Debian: `apt-get install -y nginx`) and fail if it
//! is missing. Set `NGINX` to the binary's path to use another one.

// The nginx harness of pingora-core's tests, shared rather than copied.
#[path = "../../pingora-core/tests/common"]
mod common {
    pub mod net;
    pub mod nginx;
    pub mod temp_dir;
}

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::nginx::Nginx;
use pingora_ketama::{Bucket, Continuum};

const REQUESTS: usize = 1_000;

/// An nginx balancing over `buckets` with `hash $request_uri consistent`, logging each pick.
struct HashingNginx(Nginx);

impl HashingNginx {
    fn start(label: &str, buckets: &[(String, u32)]) -> HashingNginx {
        let servers: String = buckets
            .iter()
            .map(|(server, weight)| {
                format!("        server {server} weight={weight} max_fails=0;\n")
            })
            .collect();
        let http = format!(
            "log_format pick '$request_uri,$upstream_addr';
    upstream pool {{
        hash $request_uri consistent;
{servers}    }}"
        );
        let server = "access_log picks.log pick;
        location / {
            proxy_pass http://pool;
            proxy_next_upstream off;
            proxy_connect_timeout 2s;
        }";
        HashingNginx(Nginx::start(label, &[], &http, server))
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.0.file("error.log")).unwrap_or_default()
    }

    fn get(&self, uri: &str) {
        let mut stream =
            TcpStream::connect(("127.0.0.1", self.0.port())).expect("connect to the test nginx");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("set a read timeout");
        let request =
            format!("GET {uri} HTTP/1.1\r\nHost: ketama.test\r\nConnection: close\r\n\r\n");
        stream
            .write_all(request.as_bytes())
            .expect("send a request");
        // Reading to the end means nginx finished (and logged) the request.
        let mut response = Vec::new();
        stream
            .read_to_end(&mut response)
            .expect("read the response");
        assert!(response.starts_with(b"HTTP/1.1 "), "not an HTTP response");
    }

    /// The `$request_uri -> $upstream_addr` pairs nginx logged, once `expected` are there.
    fn picks(&self, expected: usize) -> HashMap<String, String> {
        let path = self.0.file("picks.log");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = std::fs::read_to_string(&path).unwrap_or_default();
            if log.lines().count() >= expected {
                return log
                    .lines()
                    .map(|line| {
                        let (uri, upstream) = line
                            .rsplit_once(',')
                            .unwrap_or_else(|| panic!("unexpected log line {line:?}"));
                        (uri.to_owned(), upstream.to_owned())
                    })
                    .collect();
            }
            assert!(
                Instant::now() < deadline,
                "nginx logged {} of {expected} requests:\n{}",
                log.lines().count(),
                self.error_log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A small xorshift generator: enough to make varied URIs without a dependency.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn uri(&mut self) -> String {
        const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~";
        let segments = 1 + self.next() % 4;
        let mut uri = String::new();
        for _ in 0..segments {
            uri.push('/');
            let len = 1 + self.next() % 12;
            let start = uri.len();
            for _ in 0..len {
                uri.push(CHARS[(self.next() % CHARS.len() as u64) as usize] as char);
            }
            // No dot segments: nginx resolves `.` and `..` (a leading `/..` it refuses with a
            // 400), so it would hash, or not log, another URI than the one sent.
            if uri[start..].bytes().all(|b| b == b'.') {
                uri.push('x');
            }
        }
        if self.next() % 3 == 0 {
            uri.push_str(&format!(
                "?id={}&v={}",
                self.next() % 100_000,
                self.next() % 7
            ));
        }
        uri
    }
}

fn assert_same_picks_as_nginx(label: &str, servers: &[(&str, u32)]) {
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
        | 1;
    let mut random = Random(seed);
    let uris: Vec<String> = (0..REQUESTS).map(|_| random.uri()).collect();

    let nginx_servers: Vec<(String, u32)> =
        servers.iter().map(|(s, w)| (s.to_string(), *w)).collect();
    let nginx = HashingNginx::start(label, &nginx_servers);
    for uri in &uris {
        nginx.get(uri);
    }
    let picks = nginx.picks(uris.len());

    let buckets: Vec<Bucket> = servers
        .iter()
        .map(|(s, w)| Bucket::new(s.parse().expect("test servers are socket addresses"), *w))
        .collect();
    let ring = Continuum::new(&buckets);

    let mut per_server: HashMap<String, usize> = HashMap::new();
    for uri in &uris {
        let nginx_pick = picks
            .get(uri)
            .unwrap_or_else(|| panic!("nginx did not log {uri}"));
        let ours: SocketAddr = ring.node(uri.as_bytes()).expect("the ring is not empty");
        assert_eq!(
            &ours.to_string(),
            nginx_pick,
            "for {uri} (URI seed {seed}) the ring and nginx disagree"
        );
        *per_server.entry(nginx_pick.clone()).or_default() += 1;
    }
    // Every server was picked at least once, so the comparison covered all of them.
    assert_eq!(per_server.len(), servers.len(), "picks: {per_server:?}");
}

#[test]
fn ipv4_picks_match_nginx_hash_consistent() {
    assert_same_picks_as_nginx(
        "v4",
        &[
            ("127.0.0.2:9001", 3),
            ("127.0.0.3:9001", 1),
            ("127.0.0.4:9002", 2),
            ("127.0.0.5:19080", 1),
            ("127.0.0.6:9003", 5),
            ("127.0.10.7:65000", 2),
        ],
    );
}

#[test]
fn ipv6_picks_match_nginx_hash_consistent() {
    assert_same_picks_as_nginx(
        "v6",
        &[
            ("[::1]:9001", 2),
            ("[::1]:9002", 1),
            ("[::1]:9003", 3),
            ("[::1]:19004", 1),
            ("[::1]:9005", 2),
        ],
    );
}
