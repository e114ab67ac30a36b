//! Binding listening sockets (or taking them over from an old process) and accepting on them.

use pingora_error::{Error, ErrorType, OkOrErr, OrErr, Result};
use socket2::{Domain, Protocol, SockAddr, SockRef, Socket, Type};
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

use super::{ServerAddress, TcpSocketOptions, DEFAULT_BACKLOG};
use crate::protocols::l4::stream::Stream as L4Stream;
use crate::protocols::{Stream, TcpKeepalive};
use crate::server::ListenFds;

/// Bind attempts while the address is still in use (e.g. by a process that is exiting).
const BIND_ATTEMPTS: usize = 30;
/// Pause between two bind attempts.
const BIND_RETRY_DELAY: Duration = Duration::from_secs(1);
/// Pause after running out of file descriptors before accepting again.
const EMFILE_BACKOFF: Duration = Duration::from_secs(1);

/// Returns the listening socket for `address`: the one inherited from an old process when
/// `fds` has it, else a freshly bound one that is recorded in `fds` for the next upgrade.
///
/// The returned descriptor is a duplicate; `fds` keeps the original.
pub(crate) async fn bind_endpoint(
    address: &ServerAddress,
    fds: Option<&ListenFds>,
) -> Result<OwnedFd> {
    if let Some(fds) = fds {
        if let Some(inherited) = fds.lock().get(address.as_str()) {
            log::info!("taking over inherited listener {address}");
            return inherited
                .try_clone_to_owned()
                .or_err(ErrorType::BindError, "duplicating inherited listener");
        }
    }
    let socket = match address {
        ServerAddress::Tcp(addr, options) => bind_tcp(addr, options.as_ref()).await?,
        #[cfg(unix)]
        ServerAddress::Uds(path, permissions) => bind_uds(path, permissions.as_ref())?,
    };
    let fd = OwnedFd::from(socket);
    if let Some(fds) = fds {
        let copy = fd
            .try_clone()
            .or_err(ErrorType::BindError, "duplicating listener")?;
        fds.lock().add(address.as_str().to_string(), copy);
    }
    log::info!("listening on {address}");
    Ok(fd)
}

fn resolve(addr: &str) -> Result<SocketAddr> {
    addr.to_socket_addrs()
        .or_err_with(ErrorType::BindError, || {
            format!("invalid listen address {addr}")
        })?
        .next()
        .or_err_with(ErrorType::BindError, || {
            format!("{addr} resolves to nothing")
        })
}

async fn bind_tcp(addr: &str, options: Option<&TcpSocketOptions>) -> Result<Socket> {
    let sock_addr = resolve(addr)?;
    let socket = Socket::new(
        Domain::for_address(sock_addr),
        Type::STREAM,
        Some(Protocol::TCP),
    )
    .or_err(ErrorType::BindError, "creating TCP socket")?;
    socket
        .set_reuse_address(true)
        .or_err(ErrorType::BindError, "setting SO_REUSEADDR")?;
    let backlog = options.and_then(|o| o.backlog).unwrap_or(DEFAULT_BACKLOG);
    if let Some(options) = options {
        apply_listener_options(&socket, sock_addr, options)
            .or_err_with(ErrorType::BindError, || {
                format!("setting socket options on {addr}")
            })?;
    }
    let target = SockAddr::from(sock_addr);
    let mut attempt = 1;
    loop {
        match socket.bind(&target) {
            Ok(()) => break,
            Err(e) if e.kind() == io::ErrorKind::AddrInUse && attempt < BIND_ATTEMPTS => {
                log::warn!("{addr} is in use, retrying bind ({attempt}/{BIND_ATTEMPTS})");
                attempt += 1;
                tokio::time::sleep(BIND_RETRY_DELAY).await;
            }
            Err(e) => {
                return Err(Error::because(
                    ErrorType::BindError,
                    format!("binding {addr}"),
                    e,
                ))
            }
        }
    }
    socket
        .listen(i32::try_from(backlog).unwrap_or(i32::MAX))
        .or_err_with(ErrorType::BindError, || format!("listening on {addr}"))?;
    Ok(socket)
}

fn apply_listener_options(
    socket: &Socket,
    addr: SocketAddr,
    options: &TcpSocketOptions,
) -> io::Result<()> {
    if let (Some(only), SocketAddr::V6(_)) = (options.ipv6_only, addr) {
        socket.set_only_v6(only)?;
    }
    if let Some(reuse) = options.so_reuseport {
        socket.set_reuse_port(reuse)?;
    }
    if let Some(queue) = options.tcp_fastopen {
        set_tcp_fastopen(socket, queue)?;
    }
    if let Some(dscp) = options.dscp {
        let tos = u32::from(dscp) << 2;
        match addr {
            SocketAddr::V4(_) => socket.set_tos_v4(tos)?,
            SocketAddr::V6(_) => socket.set_tclass_v6(tos)?,
        }
    }
    if let Some(size) = options.tcp_snd_buf {
        socket.set_send_buffer_size(size)?;
    }
    if let Some(size) = options.tcp_recv_buf {
        socket.set_recv_buffer_size(size)?;
    }
    Ok(())
}

/// Enables server-side TCP Fast Open with a pending-request queue of `queue` entries.
fn set_tcp_fastopen(socket: &Socket, queue: usize) -> io::Result<()> {
    let value = libc::c_int::try_from(queue).unwrap_or(libc::c_int::MAX);
    // SAFETY: the descriptor is a live socket owned by `socket`; the option value points to a
    // c_int that outlives the call, and its size is passed alongside.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_FASTOPEN,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(unix)]
fn bind_uds(path: &str, permissions: Option<&std::fs::Permissions>) -> Result<Socket> {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if meta.file_type().is_socket() {
            std::fs::remove_file(path).or_err_with(ErrorType::BindError, || {
                format!("removing stale socket {path}")
            })?;
        }
    }
    let socket = Socket::new(Domain::UNIX, Type::STREAM, None)
        .or_err(ErrorType::BindError, "creating Unix socket")?;
    let target = SockAddr::unix(path).or_err_with(ErrorType::BindError, || {
        format!("invalid socket path {path}")
    })?;
    socket
        .bind(&target)
        .or_err_with(ErrorType::BindError, || format!("binding {path}"))?;
    let mode = permissions
        .cloned()
        .unwrap_or_else(|| std::fs::Permissions::from_mode(0o666));
    std::fs::set_permissions(path, mode).or_err_with(ErrorType::BindError, || {
        format!("setting permissions of {path}")
    })?;
    socket
        .listen(i32::try_from(DEFAULT_BACKLOG).unwrap_or(i32::MAX))
        .or_err_with(ErrorType::BindError, || format!("listening on {path}"))?;
    Ok(socket)
}

/// A listening socket registered with the current runtime.
#[derive(Debug)]
pub(crate) enum Acceptor {
    /// The listener, the keepalive for its connections, and its address when bound to one IP
    /// (then every accepted connection's local address, known without asking the kernel).
    Tcp(
        tokio::net::TcpListener,
        Option<TcpKeepalive>,
        Option<std::net::SocketAddr>,
    ),
    #[cfg(unix)]
    Unix(tokio::net::UnixListener),
}

impl Acceptor {
    /// Registers `fd` (a listening socket of `address`'s kind) with the current runtime.
    ///
    /// Must be called from inside a runtime.
    pub(crate) fn new(address: &ServerAddress, fd: OwnedFd) -> io::Result<Self> {
        match address {
            ServerAddress::Tcp(_, options) => {
                let listener = std::net::TcpListener::from(fd);
                listener.set_nonblocking(true)?;
                let keepalive = options.as_ref().and_then(|o| o.tcp_keepalive.clone());
                let local = listener
                    .local_addr()
                    .ok()
                    .filter(|addr| !addr.ip().is_unspecified());
                Ok(Acceptor::Tcp(
                    tokio::net::TcpListener::from_std(listener)?,
                    keepalive,
                    local,
                ))
            }
            #[cfg(unix)]
            ServerAddress::Uds(..) => {
                let listener = std::os::unix::net::UnixListener::from(fd);
                listener.set_nonblocking(true)?;
                Ok(Acceptor::Unix(tokio::net::UnixListener::from_std(
                    listener,
                )?))
            }
        }
    }

    /// Accepts one connection. Cancel-safe. Backs off for a second when the process is out of
    /// file descriptors; other per-connection errors are returned for the caller to log.
    pub(crate) async fn accept(&self) -> io::Result<Stream> {
        let result = match self {
            Acceptor::Tcp(listener, keepalive, local) => {
                listener.accept().await.map(|(stream, peer)| {
                    // Best effort: a connection without keepalive still works. (Creating the
                    // L4 stream below sets TCP_NODELAY.)
                    if let Some(keepalive) = keepalive {
                        if let Err(e) = keepalive.apply(SockRef::from(&stream)) {
                            log::debug!("cannot set keepalive on accepted connection: {e}");
                        }
                    }
                    Box::new(L4Stream::accepted(stream, peer, *local)) as Stream
                })
            }
            #[cfg(unix)]
            Acceptor::Unix(listener) => listener
                .accept()
                .await
                .map(|(stream, _)| Box::new(L4Stream::from(stream)) as Stream),
        };
        if let Err(e) = &result {
            if matches!(e.raw_os_error(), Some(libc::EMFILE) | Some(libc::ENFILE)) {
                log::error!("out of file descriptors while accepting: {e}; pausing");
                tokio::time::sleep(EMFILE_BACKOFF).await;
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Connects a loopback client to a TCP `acceptor` and accepts it: (client, accepted).
    async fn connect_once(acceptor: Acceptor) -> (tokio::net::TcpStream, Stream) {
        let Acceptor::Tcp(listener, ..) = &acceptor else {
            panic!("tcp address gives tcp acceptor")
        };
        let port = listener.local_addr().unwrap().port();
        let client = tokio::net::TcpStream::connect(("127.0.0.1", port));
        let (client, accepted) = tokio::join!(client, acceptor.accept());
        (client.unwrap(), accepted.unwrap())
    }

    #[tokio::test]
    async fn accepted_streams_know_both_addresses_for_specific_and_wildcard_listeners() {
        use crate::protocols::l4::socket::SocketAddr as PingoraAddr;
        use crate::protocols::GetSocketDigest;
        for bind in ["127.0.0.1:0", "0.0.0.0:0"] {
            let address = ServerAddress::Tcp(bind.into(), None);
            let fd = bind_endpoint(&address, None).await.unwrap();
            let (client, accepted) = connect_once(Acceptor::new(&address, fd).unwrap()).await;
            let digest = accepted.get_socket_digest().expect("an accepted socket");
            let peer = PingoraAddr::Inet(client.local_addr().unwrap());
            let local = PingoraAddr::Inet(client.peer_addr().unwrap());
            assert_eq!(digest.peer_addr(), Some(&peer), "{bind}");
            assert_eq!(digest.local_addr(), Some(&local), "{bind}");
        }
    }

    #[tokio::test]
    async fn fresh_tcp_listener_is_recorded_for_upgrade() {
        let fds: ListenFds = Arc::new(parking_lot::Mutex::new(crate::server::Fds::new()));
        let address = ServerAddress::Tcp("127.0.0.1:0".into(), None);
        let fd = bind_endpoint(&address, Some(&fds)).await.unwrap();
        assert!(fds.lock().get("127.0.0.1:0").is_some());
        connect_once(Acceptor::new(&address, fd).unwrap()).await;
    }

    #[tokio::test]
    async fn inherited_listener_is_used_instead_of_binding() {
        let fds: ListenFds = Arc::new(parking_lot::Mutex::new(crate::server::Fds::new()));
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = std_listener.local_addr().unwrap().port();
        let key = format!("127.0.0.1:{port}");
        fds.lock().add(key.clone(), OwnedFd::from(std_listener));
        // binding fresh would fail with EADDRINUSE (no SO_REUSEPORT), so success proves reuse
        let address = ServerAddress::Tcp(key, None);
        let fd = bind_endpoint(&address, Some(&fds)).await.unwrap();
        let acceptor = Acceptor::new(&address, fd).unwrap();
        let (client, accepted) = tokio::join!(
            tokio::net::TcpStream::connect(("127.0.0.1", port)),
            acceptor.accept()
        );
        client.unwrap();
        accepted.unwrap();
    }

    #[tokio::test]
    async fn endpoint_missing_from_inherited_sockets_is_bound_fresh() {
        let fds: ListenFds = Arc::new(parking_lot::Mutex::new(crate::server::Fds::new()));
        let inherited = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let inherited_key = inherited.local_addr().unwrap().to_string();
        fds.lock()
            .add(inherited_key.clone(), OwnedFd::from(inherited));
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let new_key = format!("127.0.0.1:{port}");
        let address = ServerAddress::Tcp(new_key.clone(), None);
        let fd = bind_endpoint(&address, Some(&fds)).await.unwrap();
        let listener = std::net::TcpListener::from(fd);
        assert_eq!(listener.local_addr().unwrap().port(), port);
        let table = fds.lock();
        assert_eq!(table.len(), 2);
        assert!(table.get(&inherited_key).is_some() && table.get(&new_key).is_some());
    }

    #[tokio::test]
    async fn socket_options_are_applied() {
        let options = TcpSocketOptions {
            so_reuseport: Some(true),
            tcp_fastopen: Some(16),
            tcp_recv_buf: Some(64 * 1024),
            backlog: Some(16),
            ..TcpSocketOptions::default()
        };
        let socket = bind_tcp("127.0.0.1:0", Some(&options)).await.unwrap();
        assert!(socket.reuse_port().unwrap());
        assert!(socket.reuse_address().unwrap());
        assert!(socket.recv_buffer_size().unwrap() >= 64 * 1024);
    }

    #[tokio::test]
    async fn ipv6_only_is_applied_when_ipv6_is_available() {
        let options = TcpSocketOptions {
            ipv6_only: Some(true),
            ..TcpSocketOptions::default()
        };
        if let Ok(socket) = bind_tcp("[::1]:0", Some(&options)).await {
            assert!(socket.only_v6().unwrap());
        }
    }

    #[tokio::test]
    async fn unix_listener_replaces_stale_file_and_sets_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("pingora-core-uds-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.sock");
        let path_str = path.to_str().unwrap();
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap()); // leaves a stale file
        let perms = std::fs::Permissions::from_mode(0o600);
        let address = ServerAddress::Uds(path_str.into(), Some(perms));
        let fd = bind_endpoint(&address, None).await.unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let acceptor = Acceptor::new(&address, fd).unwrap();
        let (client, accepted) =
            tokio::join!(tokio::net::UnixStream::connect(&path), acceptor.accept());
        client.unwrap();
        accepted.unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
