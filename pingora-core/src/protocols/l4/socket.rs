//! [`SocketAddr`]: the address of either end of a connection, an internet (TCP) address or a
//! Unix socket address, as one type that can be compared, hashed, sorted and printed.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::net::ToSocketAddrs;
use std::os::unix::net::SocketAddr as UnixAddr;
use std::path::Path;
use std::str::FromStr;

use pingora_error::{Error, ErrorType, OrErr};

/// The prefix that marks a Unix socket path in [`SocketAddr`]'s text form.
const UNIX_PREFIX: &str = "unix:";

/// The address of one end of a connection.
///
/// Unix socket addresses are compared, hashed and ordered by their path (unnamed sockets,
/// such as the client end of a Unix connection, are all equal to each other); std's Unix
/// address type offers none of these itself. Internet addresses sort before Unix ones.
///
/// The text form is `ip:port` (`[ip]:port` for IPv6) or `unix:<path>`, and parses back:
///
/// ```
/// use pingora_core::protocols::l4::socket::SocketAddr;
///
/// let mut inet: SocketAddr = "127.0.0.1:80".parse().unwrap();
/// inet.set_port(8080);
/// assert_eq!(inet.to_string(), "127.0.0.1:8080");
/// assert_eq!(inet.as_inet().map(|a| a.port()), Some(8080));
///
/// let unix: SocketAddr = "unix:/tmp/app.sock".parse().unwrap();
/// assert_eq!(unix.to_string(), "unix:/tmp/app.sock");
/// assert!(unix.as_unix().is_some());
/// assert!(inet < unix);
/// ```
#[derive(Debug, Clone)]
pub enum SocketAddr {
    /// An IPv4 or IPv6 address and port.
    Inet(std::net::SocketAddr),
    /// A Unix socket address.
    Unix(UnixAddr),
}

impl SocketAddr {
    /// The internet address, if this is one.
    pub fn as_inet(&self) -> Option<&std::net::SocketAddr> {
        match self {
            SocketAddr::Inet(addr) => Some(addr),
            SocketAddr::Unix(_) => None,
        }
    }

    /// The Unix socket address, if this is one.
    pub fn as_unix(&self) -> Option<&UnixAddr> {
        match self {
            SocketAddr::Inet(_) => None,
            SocketAddr::Unix(addr) => Some(addr),
        }
    }

    /// Sets the port of an internet address; a Unix address has no port and is left as is.
    pub fn set_port(&mut self, port: u16) {
        if let SocketAddr::Inet(addr) = self {
            addr.set_port(port);
        }
    }

    /// The path of a Unix address (`None` for an unnamed socket or an internet address).
    fn unix_path(&self) -> Option<&Path> {
        self.as_unix().and_then(UnixAddr::as_pathname)
    }
}

impl PartialEq for SocketAddr {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (SocketAddr::Inet(a), SocketAddr::Inet(b)) => a == b,
            (SocketAddr::Unix(_), SocketAddr::Unix(_)) => self.unix_path() == other.unix_path(),
            _ => false,
        }
    }
}

impl Eq for SocketAddr {}

impl Hash for SocketAddr {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            SocketAddr::Inet(addr) => {
                0u8.hash(state);
                addr.hash(state);
            }
            SocketAddr::Unix(_) => {
                1u8.hash(state);
                self.unix_path().hash(state);
            }
        }
    }
}

impl PartialOrd for SocketAddr {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SocketAddr {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (SocketAddr::Inet(a), SocketAddr::Inet(b)) => a.cmp(b),
            (SocketAddr::Inet(_), SocketAddr::Unix(_)) => Ordering::Less,
            (SocketAddr::Unix(_), SocketAddr::Inet(_)) => Ordering::Greater,
            (SocketAddr::Unix(_), SocketAddr::Unix(_)) => self.unix_path().cmp(&other.unix_path()),
        }
    }
}

impl fmt::Display for SocketAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SocketAddr::Inet(addr) => write!(f, "{addr}"),
            SocketAddr::Unix(_) => match self.unix_path() {
                Some(path) => write!(f, "{UNIX_PREFIX}{}", path.display()),
                None => write!(f, "{UNIX_PREFIX}(unnamed)"),
            },
        }
    }
}

impl FromStr for SocketAddr {
    type Err = Box<Error>;

    /// Parses `ip:port`, `[ipv6]:port` or `unix:<path>`; anything else fails with
    /// `SocketError`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(path) = s.strip_prefix(UNIX_PREFIX) {
            let addr = UnixAddr::from_pathname(path).or_err_with(ErrorType::SocketError, || {
                format!("invalid Unix socket path {path:?}")
            })?;
            return Ok(SocketAddr::Unix(addr));
        }
        let addr = s
            .parse::<std::net::SocketAddr>()
            .or_err_with(ErrorType::SocketError, || {
                format!("invalid socket address {s:?}")
            })?;
        Ok(SocketAddr::Inet(addr))
    }
}

impl ToSocketAddrs for SocketAddr {
    type Iter = std::option::IntoIter<std::net::SocketAddr>;

    /// The internet address; a Unix address fails with `InvalidInput` (it has none).
    fn to_socket_addrs(&self) -> std::io::Result<Self::Iter> {
        match self {
            SocketAddr::Inet(addr) => Ok(Some(*addr).into_iter()),
            SocketAddr::Unix(_) => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{self} is a Unix socket address, not an internet one"),
            )),
        }
    }
}

impl From<std::net::SocketAddr> for SocketAddr {
    fn from(addr: std::net::SocketAddr) -> Self {
        SocketAddr::Inet(addr)
    }
}

impl From<UnixAddr> for SocketAddr {
    fn from(addr: UnixAddr) -> Self {
        SocketAddr::Unix(addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::hash_map::DefaultHasher;

    fn hash_of(addr: &SocketAddr) -> u64 {
        let mut hasher = DefaultHasher::new();
        addr.hash(&mut hasher);
        hasher.finish()
    }

    #[test]
    fn unix_addresses_with_the_same_path_are_equal_and_hash_alike() {
        let a: SocketAddr = "unix:/tmp/a.sock".parse().unwrap();
        let b = SocketAddr::from(UnixAddr::from_pathname("/tmp/a.sock").unwrap());
        let c: SocketAddr = "unix:/tmp/c.sock".parse().unwrap();
        assert_eq!(a, b);
        assert_eq!(hash_of(&a), hash_of(&b));
        assert_ne!(a, c);
        assert!(a < c);
    }

    #[test]
    fn inet_and_unix_never_compare_equal_and_inet_sorts_first() {
        let inet: SocketAddr = "[::1]:443".parse().unwrap();
        let unix: SocketAddr = "unix:/a".parse().unwrap();
        assert_ne!(inet, unix);
        let mut sorted = vec![unix.clone(), inet.clone()];
        sorted.sort();
        assert_eq!(sorted, vec![inet, unix]);
    }

    #[test]
    fn text_form_round_trips() {
        for text in ["10.0.0.1:80", "[::1]:8080", "unix:/run/x.sock"] {
            let addr: SocketAddr = text.parse().unwrap();
            assert_eq!(addr.to_string(), text);
        }
        assert!("not an address".parse::<SocketAddr>().is_err());
        assert!("unix:/bad\0path".parse::<SocketAddr>().is_err());
    }

    #[test]
    fn set_port_changes_inet_and_leaves_unix_alone() {
        let mut unix: SocketAddr = "unix:/a".parse().unwrap();
        unix.set_port(1);
        assert_eq!(unix.to_string(), "unix:/a");
    }

    #[test]
    fn to_socket_addrs_yields_the_inet_address_and_refuses_unix() {
        let inet: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let all: Vec<_> = inet.to_socket_addrs().unwrap().collect();
        assert_eq!(all, vec![*inet.as_inet().unwrap()]);
        let unix: SocketAddr = "unix:/a".parse().unwrap();
        assert!(unix.to_socket_addrs().is_err());
    }
}
