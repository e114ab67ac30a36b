//! The echo example run as real processes: config test (`-t`), SIGTERM and SIGINT, daemon
//! mode, and graceful upgrade under load (SIGQUIT + `-u`).

mod common {
    pub mod net;
    pub mod temp_dir;
}

use common::net::free_port;
use common::temp_dir::TempDir;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// The echo example binary, (re)built once per test run so it matches the library under test.
fn echo_binary() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let exe = std::env::current_exe().unwrap();
            let profile_dir = exe.parent().and_then(Path::parent).unwrap();
            let status = Command::new(option_env!("CARGO").unwrap_or("cargo"))
                .args(["build", "-p", "pingora-core", "--example", "echo"])
                .env("CARGO_TARGET_DIR", profile_dir.parent().unwrap())
                .status()
                .unwrap();
            assert!(status.success(), "building the echo example failed");
            profile_dir.join("examples").join("echo")
        })
        .clone()
}

/// A config file for the echo example with short shutdown times.
fn write_conf(dir: &TempDir, grace_period_seconds: u64, extra: &str) -> PathBuf {
    let conf = dir.join("conf.yaml");
    let text = format!(
        "---\nversion: 1\nthreads: 1\npid_file: {}\nupgrade_sock: {}\ngrace_period_seconds: {grace_period_seconds}\ngraceful_shutdown_timeout_seconds: 1\n{extra}",
        dir.join("echo.pid").display(),
        dir.join("upgrade.sock").display(),
    );
    std::fs::write(&conf, text).unwrap();
    conf
}

/// A running echo process whose log lines arrive on `lines`.
struct Echo {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Echo {
    fn spawn(port: u16, args: &[&str]) -> Echo {
        Self::spawn_with(port, args, &[])
    }

    fn spawn_with(port: u16, args: &[&str], env: &[(&str, &str)]) -> Echo {
        let mut child = Command::new(echo_binary())
            .args(args)
            .envs(env.iter().copied())
            .env("ECHO_ADDR", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        // Keep draining stderr so the child never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Echo { child, lines }
    }

    fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32)
    }

    fn signal(&self, signal: Signal) {
        kill(self.pid(), signal).unwrap();
    }

    /// Waits for a log line containing `needle`.
    fn wait_for_log(&self, needle: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return,
                Ok(_) => {}
                Err(_) => panic!("no log line with {needle:?} within {limit:?}"),
            }
        }
    }

    /// Waits for the process to exit; returns whether it exited with status 0.
    fn wait_exit(&mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.success();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("process {} did not exit within {limit:?}", self.child.id());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Sends one line on a fresh connection and returns the answer.
fn ask(port: u16, line: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(format!("{line}\n").as_bytes())?;
    let mut answer = vec![0u8; line.len() + 1];
    stream.read_exact(&mut answer)?;
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

fn wait_until_refused(port: u16, limit: Duration) {
    let started = Instant::now();
    loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => return,
            _ => {
                assert!(
                    started.elapsed() < limit,
                    "port {port} still accepting after {limit:?}"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

fn run_config_test(conf: &Path) -> std::process::Output {
    Command::new(echo_binary())
        .args(["-t", "-c", conf.to_str().unwrap()])
        .env("ECHO_ADDR", "127.0.0.1:1")
        .output()
        .unwrap()
}

#[test]
fn config_test_flag_accepts_a_good_config_and_exits_zero() {
    let dir = TempDir::new("t-good");
    let conf = write_conf(&dir, 2, "");
    let out = run_config_test(&conf);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("configuration test ok"), "{stdout}");
    assert!(stdout.contains("grace_period_seconds: 2"), "{stdout}");
}

#[test]
fn config_test_flag_rejects_a_wrong_type_with_key_and_line() {
    let dir = TempDir::new("t-bad");
    let conf = dir.join("bad.yaml");
    std::fs::write(&conf, "version: 1\nthreads: lots\n").unwrap();
    let out = run_config_test(&conf);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("threads") && stderr.contains("line 2"),
        "{stderr}"
    );
}

#[test]
fn config_test_flag_rejects_an_impossible_value_with_key_and_line() {
    let dir = TempDir::new("t-zero");
    let conf = dir.join("zero.yaml");
    std::fs::write(&conf, "version: 1\n# comment\nthreads: 0\n").unwrap();
    let out = run_config_test(&conf);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("threads at line 3"), "{stderr}");
}

#[test]
fn config_test_flag_allows_unknown_keys_and_names_them() {
    let dir = TempDir::new("t-unknown");
    let conf = write_conf(&dir, 2, "my_backends: [10.0.0.1, 10.0.0.2]\n");
    let out = run_config_test(&conf);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout} {stderr}");
    assert!(stdout.contains("my_backends"), "{stdout}");
    assert!(
        stderr.contains("WARN") && stderr.contains("my_backends"),
        "{stderr}"
    );
}

#[test]
fn sigterm_lets_a_slow_request_finish_and_refuses_new_connections() {
    let dir = TempDir::new("term");
    let conf = write_conf(&dir, 2, "");
    let port = free_port();
    let mut echo = Echo::spawn(port, &["-c", conf.to_str().unwrap()]);
    echo.wait_for_log("listening on", Duration::from_secs(20));
    assert_eq!(ask(port, "warm").unwrap(), "warm\n");

    let mut slow = TcpStream::connect(("127.0.0.1", port)).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    slow.write_all(b"sleep 1200\n").unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let signalled = Instant::now();
    echo.signal(Signal::SIGTERM);

    wait_until_refused(port, Duration::from_secs(2));
    let mut answer = String::new();
    slow.read_to_string(&mut answer).unwrap();
    assert_eq!(answer, "sleep 1200\n", "the in-flight request completes");
    // grace period 2 s + shutdown timeout 1 s, plus slack for a loaded machine
    assert!(echo.wait_exit(Duration::from_secs(10)), "exit status 0");
    assert!(signalled.elapsed() < Duration::from_secs(10));
    wait_until_refused(port, Duration::from_secs(1));
}

#[test]
fn sigint_stops_at_once_cutting_in_flight_requests() {
    let dir = TempDir::new("int");
    let conf = write_conf(&dir, 30, "");
    let port = free_port();
    let mut echo = Echo::spawn(port, &["-c", conf.to_str().unwrap()]);
    echo.wait_for_log("listening on", Duration::from_secs(20));
    let mut slow = TcpStream::connect(("127.0.0.1", port)).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    slow.write_all(b"sleep 20000\n").unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let signalled = Instant::now();
    echo.signal(Signal::SIGINT);
    assert!(echo.wait_exit(Duration::from_secs(5)));
    assert!(signalled.elapsed() < Duration::from_secs(3));
    let mut answer = String::new();
    let _ = slow.read_to_string(&mut answer);
    assert_eq!(answer, "");
}

/// Whether `pid` is a live process (not gone, not a zombie waiting to be reaped).
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .map(|(_, rest)| !rest.trim_start().starts_with('Z'))
            .unwrap_or(false),
        Err(_) => kill(Pid::from_raw(pid), None).is_ok() && !Path::new("/proc/self").exists(),
    }
}

/// Sends SIGTERM to the daemon `pid` and waits (bounded) until it is gone.
fn stop_daemon(pid: i32) {
    kill(Pid::from_raw(pid), Signal::SIGTERM).unwrap();
    let started = Instant::now();
    while alive(pid) {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "daemon did not stop"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn daemon_mode_writes_its_pid_file_and_logs_to_error_log() {
    let dir = TempDir::new("daemon");
    let error_log = dir.join("error.log");
    let conf = write_conf(&dir, 2, &format!("error_log: {}\n", error_log.display()));
    let port = free_port();
    let mut launcher = Echo::spawn(port, &["-d", "-c", conf.to_str().unwrap()]);
    assert!(
        launcher.wait_exit(Duration::from_secs(20)),
        "the launching process exits 0"
    );

    let pid_file = dir.join("echo.pid");
    let started = Instant::now();
    let pid: i32 = loop {
        if let Some(pid) = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|t| t.trim().parse().ok())
        {
            break pid;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no pid file");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(alive(pid), "daemon {pid} is alive");
    assert_ne!(
        pid as u32,
        launcher.child.id(),
        "the daemon is a new process"
    );
    let started = Instant::now();
    let answer = loop {
        match ask(port, "to the daemon") {
            Ok(answer) => break answer,
            Err(_) if started.elapsed() < Duration::from_secs(20) => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(e) => panic!("daemon does not answer: {e}"),
        }
    };
    assert_eq!(answer, "to the daemon\n");

    stop_daemon(pid);
    let log = std::fs::read_to_string(&error_log).unwrap();
    assert!(log.contains("server running"), "error log: {log}");
}

/// Counts of the load client.
#[derive(Default)]
struct Stats {
    answered: AtomicUsize,
    failed: AtomicUsize,
    refused: AtomicUsize,
    stale_keepalive_retries: AtomicUsize,
    keepalive_answered: AtomicUsize,
}

/// One request on `stream`; `Err` when the connection was closed before any answer byte.
fn exchange(stream: &mut TcpStream, request: &[u8]) -> std::io::Result<Vec<u8>> {
    stream.write_all(request)?;
    let mut answer = vec![0u8; request.len()];
    let mut got = 0;
    while got < answer.len() {
        match stream.read(&mut answer[got..]) {
            Ok(0) if got == 0 => return Err(ErrorKind::UnexpectedEof.into()),
            Ok(0) => return Err(std::io::Error::other("answer cut short")),
            Ok(n) => got += n,
            Err(e) if got == 0 => return Err(e),
            Err(_) => return Err(std::io::Error::other("answer cut short")),
        }
    }
    Ok(answer)
}

fn connect_counted(port: u16, stats: &Stats) -> Option<TcpStream> {
    match TcpStream::connect(("127.0.0.1", port)) {
        Ok(stream) => {
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .ok()?;
            Some(stream)
        }
        Err(e) => {
            eprintln!("connect failed: {e}");
            if e.kind() == ErrorKind::ConnectionRefused {
                stats.refused.fetch_add(1, Ordering::SeqCst);
            }
            stats.failed.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(10));
            None
        }
    }
}

/// Sends requests over one kept-alive connection, reconnecting when the server closed it
/// between requests (a request that found the connection closed is sent again on a new one,
/// as HTTP clients do; one cut mid-answer counts as failed).
fn keepalive_client(port: u16, stop: &AtomicBool, stats: &Stats) {
    let mut connection: Option<TcpStream> = None;
    let mut n = 0u64;
    while !stop.load(Ordering::SeqCst) {
        n += 1;
        let request = format!("keepalive {n}\n").into_bytes();
        let reused = connection.is_some();
        let Some(stream) = connection.as_mut() else {
            connection = connect_counted(port, stats);
            n -= 1;
            continue;
        };
        match exchange(stream, &request) {
            Ok(answer) if answer == request => {
                stats.answered.fetch_add(1, Ordering::SeqCst);
                stats.keepalive_answered.fetch_add(1, Ordering::SeqCst);
            }
            Ok(_) => {
                stats.failed.fetch_add(1, Ordering::SeqCst);
            }
            Err(e) if reused && e.to_string() != "answer cut short" => {
                // closed by the server before this request was read: send it again
                stats.stale_keepalive_retries.fetch_add(1, Ordering::SeqCst);
                connection = None;
                n -= 1;
            }
            Err(e) => {
                eprintln!("keep-alive request failed: {e}");
                stats.failed.fetch_add(1, Ordering::SeqCst);
                connection = None;
            }
        }
    }
}

/// Sends each request on a new connection, pausing a little between connections so that
/// closed connections (TIME_WAIT) do not use up the local ports.
fn fresh_client(port: u16, stop: &AtomicBool, stats: &Stats) {
    let mut n = 0u64;
    while !stop.load(Ordering::SeqCst) {
        n += 1;
        std::thread::sleep(Duration::from_millis(1));
        let Some(mut stream) = connect_counted(port, stats) else {
            continue;
        };
        let request = format!("fresh {n}\n").into_bytes();
        match exchange(&mut stream, &request) {
            Ok(answer) if answer == request => {
                stats.answered.fetch_add(1, Ordering::SeqCst);
            }
            other => {
                eprintln!(
                    "fresh request failed: {:?}",
                    other.map(|a| String::from_utf8_lossy(&a).into_owned())
                );
                stats.failed.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
}

#[test]
fn graceful_upgrade_under_load_loses_no_request() {
    let rounds: usize = std::env::var("UPGRADE_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(20);
    let dir = TempDir::new("upgrade");
    let conf = write_conf(&dir, 1, "");
    let conf = conf.to_str().unwrap().to_string();
    let upgrade_sock = dir.join("upgrade.sock");
    let port = free_port();
    let test_started = Instant::now();

    let mut current = Echo::spawn(port, &["-c", &conf]);
    current.wait_for_log("listening on", Duration::from_secs(20));

    let stop = Arc::new(AtomicBool::new(false));
    let stats = Arc::new(Stats::default());
    let clients: Vec<_> = [
        keepalive_client as fn(u16, &AtomicBool, &Stats),
        fresh_client,
    ]
    .into_iter()
    .map(|client| {
        let (stop, stats) = (stop.clone(), stats.clone());
        std::thread::spawn(move || client(port, &stop, &stats))
    })
    .collect();

    let mut retired = vec![];
    for round in 0..rounds {
        let next = Echo::spawn(port, &["-u", "-c", &conf]);
        let waiting = Instant::now();
        while !upgrade_sock.exists() {
            assert!(
                waiting.elapsed() < Duration::from_secs(20),
                "round {round}: new process not waiting"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        current.signal(Signal::SIGQUIT);
        // signal handlers are in place once it runs, so the next SIGQUIT is safe
        next.wait_for_log("server running", Duration::from_secs(20));
        retired.push(std::mem::replace(&mut current, next));
    }
    // Keep the load on while the old processes drain and exit (their kept-alive
    // connections get closed), then for a moment on the last process alone.
    for echo in retired.iter_mut() {
        assert!(
            echo.wait_exit(Duration::from_secs(30)),
            "an old server exited with an error"
        );
    }
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::SeqCst);
    for client in clients {
        client.join().unwrap();
    }
    current.signal(Signal::SIGTERM);
    assert!(
        current.wait_exit(Duration::from_secs(30)),
        "the last server exited with an error"
    );

    let answered = stats.answered.load(Ordering::SeqCst);
    let failed = stats.failed.load(Ordering::SeqCst);
    let refused = stats.refused.load(Ordering::SeqCst);
    let stale = stats.stale_keepalive_retries.load(Ordering::SeqCst);
    let keepalive = stats.keepalive_answered.load(Ordering::SeqCst);
    println!(
        "{rounds} upgrades in {:?}: {answered} requests answered ({keepalive} on kept-alive connections), \
         {failed} failed, {refused} refused, \
         {stale} requests re-sent after the server closed an idle kept-alive connection",
        test_started.elapsed()
    );
    assert_eq!(failed, 0);
    assert_eq!(refused, 0);
    assert!(answered > rounds, "the clients kept working");
}

#[test]
fn daemon_launcher_waits_until_the_daemon_is_ready() {
    let dir = TempDir::new("daemon-ready");
    let conf = write_conf(
        &dir,
        2,
        "daemon_wait_for_ready: true\ndaemon_ready_timeout_seconds: 20\n",
    );
    let port = free_port();
    let env = [("ECHO_BOOTSTRAP_AS_SERVICE", "1")];
    let mut launcher = Echo::spawn_with(port, &["-d", "-c", conf.to_str().unwrap()], &env);
    assert!(
        launcher.wait_exit(Duration::from_secs(25)),
        "launcher exits 0 once the daemon is ready"
    );
    // readiness comes after the fork and the pid file, so the pid file is there now
    let pid: i32 = std::fs::read_to_string(dir.join("echo.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(alive(pid));
    stop_daemon(pid);
}

#[test]
fn daemon_launcher_fails_when_the_daemon_dies_before_ready() {
    let dir = TempDir::new("daemon-dies");
    // -u with nobody sending sockets: bootstrap fails after one attempt and the daemon exits 1
    let conf = write_conf(
        &dir,
        2,
        "daemon_wait_for_ready: true\nupgrade_sock_connect_accept_max_retries: 1\n",
    );
    let env = [("ECHO_BOOTSTRAP_AS_SERVICE", "1")];
    let mut launcher = Echo::spawn_with(
        free_port(),
        &["-d", "-u", "-c", conf.to_str().unwrap()],
        &env,
    );
    assert!(
        !launcher.wait_exit(Duration::from_secs(25)),
        "launcher reports the failure"
    );
    launcher.wait_for_log("daemon exited before it was ready", Duration::from_secs(5));
}
