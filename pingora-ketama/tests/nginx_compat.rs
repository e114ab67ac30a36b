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

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pingora_ketama::{Bucket, Continuum};

const REQUESTS: usize = 1_000;

fn find_nginx() -> PathBuf {
    if let Some(path) = std::env::var_os("NGINX") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "NGINX={} is not a file; install nginx (Debian/Ubuntu: `apt-get install -y nginx`)",
            path.display()
        );
        return path;
    }
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("nginx"))
                .collect()
        })
        .unwrap_or_default();
    candidates.extend(
        [
            "/usr/sbin/nginx",
            "/usr/local/sbin/nginx",
            "/usr/local/nginx/sbin/nginx",
        ]
        .map(PathBuf::from),
    );
    candidates
        .into_iter()
        .find(|path| path.is_file())
        .unwrap_or_else(|| {
            panic!(
                "the nginx binary was not found (looked in PATH and /usr/sbin, /usr/local/sbin); \
             install it (Debian/Ubuntu: `apt-get install -y nginx`) or set NGINX=/path/to/nginx"
            )
        })
}

/// A scratch directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let path =
            std::env::temp_dir().join(format!("ketama-{label}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).expect("create a scratch directory in the temp dir");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The nginx this test started; killed (by its own handle, i.e. its PID) when dropped,
/// including when an assertion fails.
struct Nginx {
    child: Child,
    port: u16,
    dir: TempDir,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Nginx {
    fn start(label: &str, buckets: &[(String, u32)]) -> Nginx {
        let binary = find_nginx();
        let dir = TempDir::new(label);
        let root = dir.0.display().to_string();
        let port = free_port();
        let servers: String = buckets
            .iter()
            .map(|(server, weight)| {
                format!("        server {server} weight={weight} max_fails=0;\n")
            })
            .collect();
        let config = format!(
            "daemon off;
master_process off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 64; }}
http {{
    client_body_temp_path {root}/client_body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    access_log off;
    log_format pick '$request_uri,$upstream_addr';
    upstream pool {{
        hash $request_uri consistent;
{servers}    }}
    server {{
        listen 127.0.0.1:{port};
        access_log {root}/picks.log pick;
        location / {{
            proxy_pass http://pool;
            proxy_next_upstream off;
            proxy_connect_timeout 2s;
        }}
    }}
}}
"
        );
        let config_path = dir.0.join("nginx.conf");
        std::fs::write(&config_path, config).expect("write nginx.conf");
        let child = Command::new(&binary)
            .arg("-p")
            .arg(&dir.0)
            .arg("-e")
            .arg(dir.0.join("error.log"))
            .arg("-c")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| panic!("could not start {}: {err}", binary.display()));
        let mut nginx = Nginx { child, port, dir };
        nginx.wait_until_listening();
        nginx
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.0.join("error.log")).unwrap_or_default()
    }

    fn wait_until_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("nginx exited at start ({status}):\n{}", self.error_log());
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "nginx did not listen within 10 s:\n{}",
                self.error_log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn get(&self, uri: &str) {
        let mut stream =
            TcpStream::connect(("127.0.0.1", self.port)).expect("connect to the test nginx");
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
        let path = self.dir.0.join("picks.log");
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

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener
        .local_addr()
        .expect("a bound socket has an address")
        .port()
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
            for _ in 0..len {
                uri.push(CHARS[(self.next() % CHARS.len() as u64) as usize] as char);
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
    let nginx = Nginx::start(label, &nginx_servers);
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
