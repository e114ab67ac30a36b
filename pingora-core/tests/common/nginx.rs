//! A throwaway nginx upstream: in the foreground, one process, every file in a scratch
//! directory, listening on a free loopback port; killed by its own handle when dropped.
//!
//! Needs the `nginx` binary (Debian: `apt-get install -y nginx`); set `NGINX` to the binary's
//! path to use another one.

use super::net::free_port;
use super::temp_dir::TempDir;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running nginx; stopped (by its PID) and its directory removed when dropped.
pub struct Nginx {
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
    /// Starts nginx and waits until it listens. `files` (paths relative to nginx's directory,
    /// which is also its prefix, so relative paths in the config resolve against it) are
    /// written first; `http` is added to the `http` block and `server` to its one `server`
    /// block, which listens on `127.0.0.1:<port>`.
    pub fn start(label: &str, files: &[(&str, &str)], http: &str, server: &str) -> Nginx {
        Self::start_listening(label, files, http, server, "")
    }

    /// As [`Nginx::start`], with the port serving TLS (`listen ... ssl`): `server` names the
    /// certificate and key (`ssl_certificate`, `ssl_certificate_key`), usually among `files`.
    #[allow(dead_code)] // not every test binary that includes this file runs TLS
    pub fn start_tls(label: &str, files: &[(&str, &str)], http: &str, server: &str) -> Nginx {
        Self::start_listening(label, files, http, server, " ssl")
    }

    /// As [`Nginx::start_tls`], the port also offering HTTP/2 in ALPN (`listen ... ssl http2`).
    #[allow(dead_code)] // not every test binary that includes this file runs TLS
    pub fn start_tls_h2(label: &str, files: &[(&str, &str)], http: &str, server: &str) -> Nginx {
        Self::start_listening(label, files, http, server, " ssl http2")
    }

    fn start_listening(
        label: &str,
        files: &[(&str, &str)],
        http: &str,
        server: &str,
        listen_params: &str,
    ) -> Nginx {
        let dir = TempDir::new(&format!("nginx-{label}"));
        for (name, content) in files {
            let path = dir.join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).expect("create a directory for an nginx file");
            }
            std::fs::write(&path, content).expect("write an nginx file");
        }
        let root = dir.display();
        let port = free_port();
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
    {http}
    server {{
        listen 127.0.0.1:{port}{listen_params};
        {server}
    }}
}}
"
        );
        let config_path = dir.join("nginx.conf");
        std::fs::write(&config_path, config).expect("write nginx.conf");
        let binary = find_nginx();
        let child = Command::new(&binary)
            .arg("-p")
            .arg(&*dir)
            .arg("-e")
            .arg(dir.join("error.log"))
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

    /// The loopback port nginx listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A file in nginx's directory (its prefix: where relative paths in its config point,
    /// and where `error.log` is).
    #[allow(dead_code)] // not every test binary that includes this file reads nginx's files
    pub fn file(&self, name: &str) -> std::path::PathBuf {
        self.dir.join(name)
    }

    fn wait_until_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default();
                panic!("nginx exited at start ({status}):\n{log}");
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "nginx did not listen within 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// `$NGINX`, else the first `nginx` in `PATH`, `/usr/sbin` or `/usr/local/sbin`.
fn find_nginx() -> PathBuf {
    if let Some(path) = std::env::var_os("NGINX") {
        return PathBuf::from(path);
    }
    let in_path: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("nginx"))
                .collect()
        })
        .unwrap_or_default();
    in_path
        .into_iter()
        .chain(["/usr/sbin/nginx", "/usr/local/sbin/nginx"].map(PathBuf::from))
        .find(|candidate| candidate.is_file())
        .expect("nginx not found in PATH or /usr/sbin; install it or set NGINX=/path/to/nginx")
}
