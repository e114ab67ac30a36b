//! Where services listen: TCP and Unix socket endpoints and their socket options.
//!
//! A [`Listeners`] is a list of [`ServerAddress`]es. The sockets are bound only when the
//! service starts, or taken over from the old process during a graceful upgrade.

mod l4;

#[cfg(unix)]
use std::fs::Permissions;

pub use crate::protocols::tls::ALPN;
pub use crate::protocols::TcpKeepalive;
pub(crate) use l4::{bind_endpoint, Acceptor};

/// Listen backlog used when [`TcpSocketOptions::backlog`] is not set.
pub(crate) const DEFAULT_BACKLOG: u32 = 65535;

/// Socket options for a TCP listener; options left `None` keep the system default.
///
/// ```
/// use pingora_core::listeners::TcpSocketOptions;
///
/// let mut options = TcpSocketOptions::default();
/// options.so_reuseport = Some(true);
/// options.tcp_fastopen = Some(128);
/// options.ipv6_only = Some(true);
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, Default)]
pub struct TcpSocketOptions {
    /// `IPV6_V6ONLY` on an IPv6 listener: `true` accepts only IPv6 clients.
    pub ipv6_only: Option<bool>,
    /// `TCP_FASTOPEN` with this queue length.
    pub tcp_fastopen: Option<usize>,
    /// TCP keepalive for every accepted connection.
    pub tcp_keepalive: Option<TcpKeepalive>,
    /// DSCP value (0–63) set on the listener and so on every accepted connection.
    pub dscp: Option<u8>,
    /// `SO_REUSEPORT`, so that several processes may bind the same address.
    pub so_reuseport: Option<bool>,
    /// Send buffer size (`SO_SNDBUF`) of accepted connections.
    pub tcp_snd_buf: Option<usize>,
    /// Receive buffer size (`SO_RCVBUF`) of accepted connections.
    pub tcp_recv_buf: Option<usize>,
    /// Length of the accept queue (65535 when unset; the kernel caps it at `somaxconn`).
    pub backlog: Option<u32>,
}

/// One endpoint a service listens on.
#[derive(Clone, Debug)]
pub enum ServerAddress {
    /// A TCP address such as `"0.0.0.0:80"` or `"[::1]:8080"`, with optional socket options.
    Tcp(String, Option<TcpSocketOptions>),
    /// A Unix socket path, with the file mode to give it (`0o666` when `None`).
    #[cfg(unix)]
    Uds(String, Option<Permissions>),
}

impl ServerAddress {
    /// The address or path as written; it identifies the socket during a graceful upgrade.
    pub fn as_str(&self) -> &str {
        match self {
            ServerAddress::Tcp(addr, _) => addr,
            #[cfg(unix)]
            ServerAddress::Uds(path, _) => path,
        }
    }
}

impl std::fmt::Display for ServerAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServerAddress::Tcp(addr, _) => write!(f, "tcp://{addr}"),
            #[cfg(unix)]
            ServerAddress::Uds(path, _) => write!(f, "unix://{path}"),
        }
    }
}

/// The endpoints of a service.
///
/// ```
/// use pingora_core::listeners::{Listeners, TcpSocketOptions};
///
/// let mut listeners = Listeners::tcp("127.0.0.1:8080");
/// listeners.add_uds("/tmp/my.sock", None);
/// listeners.add_tcp_with_settings("[::1]:8080", TcpSocketOptions::default());
/// assert_eq!(listeners.len(), 3);
/// ```
#[derive(Debug, Default, Clone)]
pub struct Listeners {
    endpoints: Vec<ServerAddress>,
}

impl Listeners {
    /// No endpoints.
    pub fn new() -> Self {
        Self::default()
    }

    /// One TCP endpoint.
    pub fn tcp(addr: &str) -> Self {
        let mut listeners = Self::new();
        listeners.add_tcp(addr);
        listeners
    }

    /// One Unix socket endpoint.
    #[cfg(unix)]
    pub fn uds(path: &str, permissions: Option<Permissions>) -> Self {
        let mut listeners = Self::new();
        listeners.add_uds(path, permissions);
        listeners
    }

    /// Adds a TCP endpoint with default socket options.
    pub fn add_tcp(&mut self, addr: &str) {
        self.add_address(ServerAddress::Tcp(addr.to_string(), None));
    }

    /// Adds a TCP endpoint with the given socket options.
    pub fn add_tcp_with_settings(&mut self, addr: &str, options: TcpSocketOptions) {
        self.add_address(ServerAddress::Tcp(addr.to_string(), Some(options)));
    }

    /// Adds a Unix socket endpoint; a stale socket file at `path` is replaced.
    #[cfg(unix)]
    pub fn add_uds(&mut self, path: &str, permissions: Option<Permissions>) {
        self.add_address(ServerAddress::Uds(path.to_string(), permissions));
    }

    /// Adds an endpoint.
    pub fn add_address(&mut self, address: ServerAddress) {
        self.endpoints.push(address);
    }

    /// Number of endpoints.
    pub fn len(&self) -> usize {
        self.endpoints.len()
    }

    /// Whether there are no endpoints.
    pub fn is_empty(&self) -> bool {
        self.endpoints.is_empty()
    }

    /// The endpoints, in the order they were added.
    pub fn addresses(&self) -> &[ServerAddress] {
        &self.endpoints
    }
}
