//! TCP keepalive settings and how they are applied to a socket.

use std::time::Duration;

/// TCP keepalive probes for a connection.
///
/// ```
/// use pingora_core::protocols::TcpKeepalive;
/// use std::time::Duration;
///
/// let keepalive = TcpKeepalive {
///     idle: Duration::from_secs(60),
///     interval: Duration::from_secs(5),
///     count: 5,
///     #[cfg(target_os = "linux")]
///     user_timeout: Duration::from_secs(0),
/// };
/// assert_eq!(keepalive.count, 5);
/// ```
#[derive(Clone, Debug)]
pub struct TcpKeepalive {
    /// How long a connection stays idle before the first probe is sent.
    pub idle: Duration,
    /// Time between two probes.
    pub interval: Duration,
    /// Unanswered probes after which the connection is dropped.
    pub count: usize,
    /// `TCP_USER_TIMEOUT`: how long sent data may stay unacknowledged; zero leaves the system default.
    #[cfg(target_os = "linux")]
    pub user_timeout: Duration,
}

impl TcpKeepalive {
    /// Applies these settings to a connected or listening socket.
    pub(crate) fn apply(&self, socket: socket2::SockRef<'_>) -> std::io::Result<()> {
        let retries = u32::try_from(self.count).unwrap_or(u32::MAX);
        let keepalive = socket2::TcpKeepalive::new()
            .with_time(self.idle)
            .with_interval(self.interval)
            .with_retries(retries);
        socket.set_tcp_keepalive(&keepalive)?;
        #[cfg(target_os = "linux")]
        if !self.user_timeout.is_zero() {
            socket.set_tcp_user_timeout(Some(self.user_timeout))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keepalive_settings_reach_the_socket() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let keepalive = TcpKeepalive {
            idle: Duration::from_secs(30),
            interval: Duration::from_secs(3),
            count: 4,
            #[cfg(target_os = "linux")]
            user_timeout: Duration::from_secs(7),
        };
        keepalive.apply(socket2::SockRef::from(&listener)).unwrap();
        let sock = socket2::SockRef::from(&listener);
        assert!(sock.keepalive().unwrap());
        assert_eq!(sock.tcp_keepalive_time().unwrap(), Duration::from_secs(30));
        assert_eq!(sock.tcp_keepalive_retries().unwrap(), 4);
        #[cfg(target_os = "linux")]
        assert_eq!(
            sock.tcp_user_timeout().unwrap(),
            Some(Duration::from_secs(7))
        );
    }
}
