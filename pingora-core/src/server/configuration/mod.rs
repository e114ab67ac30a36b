//! Server configuration: the YAML file ([`ServerConf`]) and the command line ([`Opt`]).
//!
//! Missing keys take their defaults; unknown keys are allowed (users keep their own settings in
//! the same file) and logged as a warning; wrong types and impossible values are rejected with
//! a message naming the key and its line.

mod opt;

use pingora_error::{Error, ErrorType, OrErr, Result};
use serde::{Deserialize, Serialize};
use std::fmt::Display;
use std::num::NonZeroU64;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use opt::Opt;

/// The error type of a configuration that cannot be used.
const CONFIG_ERROR: ErrorType = ErrorType::Custom("ConfigError");

/// How long in-flight work may run after a graceful shutdown starts, when not configured.
pub(crate) const DEFAULT_GRACE_PERIOD: Duration = Duration::from_secs(300);
/// How long runtimes may take to stop after the grace period, when not configured.
pub(crate) const DEFAULT_GRACEFUL_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts (one second apart) to meet the other process on `upgrade_sock`, when not configured.
pub(crate) const DEFAULT_UPGRADE_SOCK_RETRIES: usize = 5;

/// The server-wide settings, usually loaded from a YAML file.
///
/// Build one in code with struct update syntax, or load it with [`ServerConf::from_yaml`] /
/// [`ServerConf::load_from_yaml`]:
///
/// ```
/// use pingora_core::server::configuration::ServerConf;
///
/// let conf = ServerConf::from_yaml("---\nversion: 1\nthreads: 4\nmy_own_key: kept for me\n").unwrap();
/// assert_eq!(conf.threads, 4);
/// assert_eq!(conf.pid_file, "/tmp/pingora.pid");
///
/// let conf = ServerConf { threads: 2, work_stealing: false, ..ServerConf::default() };
/// assert_eq!(conf.upstream_keepalive_pool_size, 128);
///
/// let err = ServerConf::from_yaml("version: 1\nthreads: many\n").unwrap_err();
/// assert!(err.to_string().contains("threads"));
/// assert!(err.to_string().contains("line 2"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerConf {
    /// Version of the configuration format; `1` today.
    pub version: usize,
    /// Run in the background (also set by `-d`).
    pub daemon: bool,
    /// When daemonized, standard error is appended to this file.
    pub error_log: Option<String>,
    /// Where a daemon writes its process id.
    pub pid_file: String,
    /// The Unix socket over which listening sockets pass to a new process during an upgrade.
    pub upgrade_sock: String,
    /// User a daemon switches to after binding.
    pub user: Option<String>,
    /// Group a daemon switches to after binding.
    pub group: Option<String>,
    /// Working directory of a daemon (`/` when unset).
    pub working_directory: Option<PathBuf>,
    /// Worker threads of each service that does not choose its own count.
    pub threads: usize,
    /// Accept tasks per listening socket.
    pub listener_tasks_per_fd: usize,
    /// One work-stealing runtime per service (`true`), or `threads` single-threaded runtimes.
    pub work_stealing: bool,
    /// CA bundle used to verify upstream certificates.
    pub ca_file: Option<String>,
    /// Seconds in-flight work may take after a graceful shutdown starts (300 when unset).
    pub grace_period_seconds: Option<u64>,
    /// Seconds the runtimes may take to stop after the grace period (5 when unset).
    pub graceful_shutdown_timeout_seconds: Option<u64>,
    /// Local IPv4 addresses upstream connections bind to (one picked at random).
    pub client_bind_to_ipv4: Vec<String>,
    /// Local IPv6 addresses upstream connections bind to (one picked at random).
    pub client_bind_to_ipv6: Vec<String>,
    /// Idle upstream connections kept for reuse, per service.
    pub upstream_keepalive_pool_size: usize,
    /// Thread pools that upstream connects are offloaded to (none when unset).
    pub upstream_connect_offload_threadpools: Option<usize>,
    /// Threads in each upstream connect offload pool.
    pub upstream_connect_offload_thread_per_pool: Option<usize>,
    /// Log TLS session keys of upstream connections (for debugging only).
    pub upstream_debug_ssl_keylog: bool,
    /// Attempts a proxied request may make before giving up.
    pub max_retries: usize,
    /// Attempts (one second apart) to meet the other process on `upgrade_sock` (5 when unset).
    pub upgrade_sock_connect_accept_max_retries: Option<usize>,
    /// Upper bound of blocking threads per runtime (tokio's default when unset; 0 is rejected).
    pub max_blocking_threads: Option<usize>,
    /// Seconds an idle blocking thread lives (tokio's default when unset).
    pub blocking_threads_ttl_seconds: Option<u64>,
    /// The forking parent waits until the daemon says it is ready.
    pub daemon_wait_for_ready: bool,
    /// Seconds the forking parent waits for the daemon to become ready (600 when unset).
    pub daemon_ready_timeout_seconds: Option<NonZeroU64>,
    /// Seconds the daemon tries to tell its parent it is ready (60 when unset).
    pub daemon_notify_timeout_seconds: Option<NonZeroU64>,
}

impl Default for ServerConf {
    fn default() -> Self {
        ServerConf {
            version: 0,
            daemon: false,
            error_log: None,
            pid_file: "/tmp/pingora.pid".to_string(),
            upgrade_sock: "/tmp/pingora_upgrade.sock".to_string(),
            user: None,
            group: None,
            working_directory: None,
            threads: 1,
            listener_tasks_per_fd: 1,
            work_stealing: true,
            ca_file: None,
            grace_period_seconds: None,
            graceful_shutdown_timeout_seconds: None,
            client_bind_to_ipv4: vec![],
            client_bind_to_ipv6: vec![],
            upstream_keepalive_pool_size: 128,
            upstream_connect_offload_threadpools: None,
            upstream_connect_offload_thread_per_pool: None,
            upstream_debug_ssl_keylog: false,
            max_retries: 16,
            upgrade_sock_connect_accept_max_retries: None,
            max_blocking_threads: None,
            blocking_threads_ttl_seconds: None,
            daemon_wait_for_ready: false,
            daemon_ready_timeout_seconds: None,
            daemon_notify_timeout_seconds: None,
        }
    }
}

/// Every top-level key [`ServerConf`] understands; other keys are reported as unknown.
const KNOWN_KEYS: &[&str] = &[
    "version",
    "daemon",
    "error_log",
    "pid_file",
    "upgrade_sock",
    "user",
    "group",
    "working_directory",
    "threads",
    "listener_tasks_per_fd",
    "work_stealing",
    "ca_file",
    "grace_period_seconds",
    "graceful_shutdown_timeout_seconds",
    "client_bind_to_ipv4",
    "client_bind_to_ipv6",
    "upstream_keepalive_pool_size",
    "upstream_connect_offload_threadpools",
    "upstream_connect_offload_thread_per_pool",
    "upstream_debug_ssl_keylog",
    "max_retries",
    "upgrade_sock_connect_accept_max_retries",
    "max_blocking_threads",
    "blocking_threads_ttl_seconds",
    "daemon_wait_for_ready",
    "daemon_ready_timeout_seconds",
    "daemon_notify_timeout_seconds",
];

impl ServerConf {
    /// The default configuration of a version 1 file.
    ///
    /// Returns `None` only if the built-in default YAML failed to parse, which does not happen.
    pub fn new() -> Option<Self> {
        Self::from_yaml("---\nversion: 1").ok()
    }

    /// [`ServerConf::new`] with the command line applied (`-d` turns on `daemon`).
    pub fn new_with_opt_override(opt: &Opt) -> Option<Self> {
        let mut conf = Self::new()?;
        conf.merge_with_opt(opt);
        Some(conf)
    }

    /// Reads, parses and validates the YAML file at `path`.
    ///
    /// Fails with `FileReadError` if the file cannot be read, and with `ConfigError` (naming the
    /// key and line) if it does not describe a valid configuration.
    pub fn load_from_yaml<P>(path: P) -> Result<Self>
    where
        P: AsRef<Path> + Display,
    {
        let text = std::fs::read_to_string(&path).or_err_with(ErrorType::FileReadError, || {
            format!("reading config file {path}")
        })?;
        Self::from_yaml(&text)
            .map_err(|e| Error::because(CONFIG_ERROR, format!("in config file {path}"), e))
    }

    /// Loads the file named by `opt.conf` (or the defaults when there is none), then applies
    /// the command line.
    pub fn load_yaml_with_opt_override(opt: &Opt) -> Result<Self> {
        let mut conf = match &opt.conf {
            Some(path) => Self::load_from_yaml(path)?,
            None => Self::from_yaml("---\nversion: 1")?,
        };
        conf.merge_with_opt(opt);
        Ok(conf)
    }

    /// Parses and validates a configuration from YAML text.
    ///
    /// Missing keys take their defaults. Unknown top-level keys are allowed and logged as a
    /// warning. A value of the wrong type, or an impossible one (such as `threads: 0`), fails
    /// with `ConfigError` and a message that names the key and its line.
    pub fn from_yaml(text: &str) -> Result<Self> {
        let unknown = unknown_keys(text);
        if !unknown.is_empty() {
            log::warn!(
                "config keys not used by the server (kept for the application): {}",
                unknown.join(", ")
            );
        }
        let conf: ServerConf = if text.trim().trim_start_matches("---").trim().is_empty() {
            // An empty document means "all defaults", not an error.
            ServerConf::default()
        } else {
            yaml_serde::from_str(text)
                .map_err(|e| Error::explain(CONFIG_ERROR, format!("invalid config: {e}")))?
        };
        conf.check_values().map_err(|(key, why)| {
            let at = line_of_top_level_key(text, key)
                .map(|line| format!(" at line {line}"))
                .unwrap_or_default();
            Error::explain(CONFIG_ERROR, format!("invalid config: {key}{at}: {why}"))
        })?;
        Ok(conf)
    }

    /// The configuration as YAML, in the format [`ServerConf::from_yaml`] reads.
    pub fn to_yaml(&self) -> String {
        // Plain strings, numbers, booleans and lists always serialize.
        yaml_serde::to_string(self).expect("ServerConf holds only YAML-representable values")
    }

    /// Checks the values that the types alone do not rule out; returns the configuration if valid.
    pub fn validate(self) -> Result<Self> {
        match self.check_values() {
            Ok(()) => Ok(self),
            Err((key, why)) => {
                Error::e_explain(CONFIG_ERROR, format!("invalid config: {key}: {why}"))
            }
        }
    }

    /// Applies the command line: `-d` turns daemon mode on.
    pub fn merge_with_opt(&mut self, opt: &Opt) {
        if opt.daemon {
            self.daemon = true;
        }
    }

    /// The first impossible value found, as (key, reason).
    fn check_values(&self) -> std::result::Result<(), (&'static str, &'static str)> {
        if self.version > 1 {
            return Err(("version", "only version 1 is understood"));
        }
        if self.threads == 0 {
            return Err(("threads", "must be at least 1"));
        }
        if self.listener_tasks_per_fd == 0 {
            return Err(("listener_tasks_per_fd", "must be at least 1"));
        }
        if self.max_blocking_threads == Some(0) {
            return Err(("max_blocking_threads", "must be at least 1"));
        }
        if self.pid_file.is_empty() {
            return Err(("pid_file", "must not be empty"));
        }
        if self.upgrade_sock.is_empty() {
            return Err(("upgrade_sock", "must not be empty"));
        }
        if self.upgrade_sock_connect_accept_max_retries == Some(0) {
            return Err((
                "upgrade_sock_connect_accept_max_retries",
                "must be at least 1",
            ));
        }
        Ok(())
    }

    /// How long in-flight work may run after a graceful shutdown starts.
    pub(crate) fn grace_period(&self) -> Duration {
        self.grace_period_seconds
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_GRACE_PERIOD)
    }

    /// How long runtimes may take to stop once the grace period is over.
    pub(crate) fn graceful_shutdown_timeout(&self) -> Duration {
        self.graceful_shutdown_timeout_seconds
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_GRACEFUL_SHUTDOWN_TIMEOUT)
    }

    /// Attempts to meet the other process on `upgrade_sock`.
    pub(crate) fn upgrade_sock_retries(&self) -> usize {
        self.upgrade_sock_connect_accept_max_retries
            .unwrap_or(DEFAULT_UPGRADE_SOCK_RETRIES)
    }
}

/// Top-level keys of a YAML mapping that [`ServerConf`] does not know, in file order.
pub(crate) fn unknown_keys(text: &str) -> Vec<String> {
    let Ok(yaml_serde::Value::Mapping(map)) = yaml_serde::from_str::<yaml_serde::Value>(text)
    else {
        return vec![];
    };
    map.keys()
        .filter_map(|key| match key {
            yaml_serde::Value::String(name) if KNOWN_KEYS.contains(&name.as_str()) => None,
            yaml_serde::Value::String(name) => Some(name.clone()),
            other => Some(format!("{other:?}")),
        })
        .collect()
}

/// The 1-based line where a block-style top-level `key:` appears, if it does.
fn line_of_top_level_key(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|line| {
            line.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
        })
        .map(|index| index + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_documented_values() {
        let conf = ServerConf::default();
        assert_eq!(conf.version, 0);
        assert_eq!(conf.threads, 1);
        assert_eq!(conf.listener_tasks_per_fd, 1);
        assert!(conf.work_stealing);
        assert!(!conf.daemon);
        assert_eq!(conf.upstream_keepalive_pool_size, 128);
        assert_eq!(conf.max_retries, 16);
        assert_eq!(conf.grace_period(), Duration::from_secs(300));
        assert_eq!(conf.graceful_shutdown_timeout(), Duration::from_secs(5));
        assert_eq!(conf.upgrade_sock_retries(), 5);
        assert_eq!(ServerConf::new().unwrap().version, 1);
    }

    #[test]
    fn every_field_is_a_known_key() {
        let yaml = ServerConf::default().to_yaml();
        let yaml_serde::Value::Mapping(map) = yaml_serde::from_str(&yaml).unwrap() else {
            panic!("config serializes to a mapping");
        };
        let fields: Vec<_> = map
            .keys()
            .map(|k| k.as_str().unwrap().to_string())
            .collect();
        assert_eq!(fields, KNOWN_KEYS);
    }

    #[test]
    fn full_config_round_trips_through_yaml() {
        let text = "---
version: 1
threads: 4
pid_file: /run/p.pid
upgrade_sock: /run/p.sock
user: nobody
group: nogroup
daemon: true
error_log: /var/log/p.err
work_stealing: false
grace_period_seconds: 10
graceful_shutdown_timeout_seconds: 2
upstream_keepalive_pool_size: 64
max_retries: 3
client_bind_to_ipv4: [127.0.0.2]
client_bind_to_ipv6: []
daemon_ready_timeout_seconds: 30
";
        let conf = ServerConf::from_yaml(text).unwrap();
        assert_eq!(conf.threads, 4);
        assert_eq!(conf.user.as_deref(), Some("nobody"));
        assert!(conf.daemon && !conf.work_stealing);
        assert_eq!(conf.grace_period(), Duration::from_secs(10));
        assert_eq!(conf.client_bind_to_ipv4, vec!["127.0.0.2".to_string()]);
        assert_eq!(conf.daemon_ready_timeout_seconds, NonZeroU64::new(30));
        assert_eq!(ServerConf::from_yaml(&conf.to_yaml()).unwrap(), conf);
    }

    #[test]
    fn wrong_type_names_key_and_line() {
        let err = ServerConf::from_yaml("version: 1\n\nthreads: lots\n").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("threads"), "{text}");
        assert!(text.contains("line 3"), "{text}");
        assert_eq!(err.etype(), &CONFIG_ERROR);
    }

    #[test]
    fn impossible_value_names_key_and_line() {
        let text = ServerConf::from_yaml("version: 1\nthreads: 0\n")
            .unwrap_err()
            .to_string();
        assert!(text.contains("threads at line 2"), "{text}");
        let text = ServerConf::from_yaml("max_blocking_threads: 0")
            .unwrap_err()
            .to_string();
        assert!(text.contains("max_blocking_threads at line 1"), "{text}");
        let text = ServerConf::from_yaml("daemon_ready_timeout_seconds: 0")
            .unwrap_err()
            .to_string();
        assert!(text.contains("daemon_ready_timeout_seconds"), "{text}");
    }

    #[test]
    fn unknown_keys_are_allowed_and_listed() {
        let text = "version: 1\nmy_upstreams: [a, b]\nthreads: 2\nfeature_x: true\n";
        let conf = ServerConf::from_yaml(text).unwrap();
        assert_eq!(conf.threads, 2);
        assert_eq!(unknown_keys(text), vec!["my_upstreams", "feature_x"]);
    }

    #[test]
    fn empty_document_means_defaults() {
        assert_eq!(
            ServerConf::from_yaml("---\n").unwrap(),
            ServerConf::default()
        );
    }

    #[test]
    fn validate_rejects_zero_threads() {
        let conf = ServerConf {
            threads: 0,
            ..ServerConf::default()
        };
        assert!(conf.validate().is_err());
        assert!(ServerConf::default().validate().is_ok());
    }

    #[test]
    fn daemon_flag_overrides_config() {
        let opt = Opt {
            daemon: true,
            ..Opt::default()
        };
        assert!(ServerConf::new_with_opt_override(&opt).unwrap().daemon);
    }

    #[test]
    fn missing_file_is_a_read_error() {
        let opt = Opt {
            conf: Some("/nonexistent/dir/conf.yaml".into()),
            ..Opt::default()
        };
        let err = ServerConf::load_yaml_with_opt_override(&opt).unwrap_err();
        assert_eq!(err.etype(), &ErrorType::FileReadError);
    }
}
