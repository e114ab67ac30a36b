//! Layer-4 connects: a TCP or Unix connection to a peer's address, with the peer's socket
//! options, local bind address and connect timeout, or through a custom [`Connect`] hook.

use crate::protocols::l4::socket::SocketAddr;
use crate::upstreams::peer::{Peer, Proxy};
use async_trait::async_trait;
use pingora_error::{Error, ErrorType, OrErr, Result};
use std::io;
use std::path::{Path, PathBuf};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream, UnixStream};

use crate::protocols::l4::stream::Stream as L4Stream;
use crate::protocols::Stream;

/// A user-supplied way to open the L4 connection to an address, used instead of the built-in
/// TCP/Unix connect when set in [`PeerOptions::custom_l4`](crate::upstreams::peer::PeerOptions).
///
/// ```
/// use async_trait::async_trait;
/// use pingora_core::connectors::L4Connect;
/// use pingora_core::prelude::*;
/// use pingora_core::protocols::l4::socket::SocketAddr;
/// use pingora_core::protocols::l4::stream::Stream;
///
/// #[derive(Debug)]
/// struct Refuse;
///
/// #[async_trait]
/// impl L4Connect for Refuse {
///     async fn connect(&self, _addr: &SocketAddr) -> Result<Stream> {
///         Error::e_explain(ConnectRefused, "this connector refuses everything")
///     }
/// }
/// ```
#[async_trait]
pub trait Connect: std::fmt::Debug {
    /// Opens a connection to `addr`.
    async fn connect(&self, addr: &SocketAddr) -> Result<L4Stream>;
}

/// The local address outgoing connections are bound to before they connect.
///
/// ```
/// use pingora_core::connectors::l4::BindTo;
///
/// let bind = BindTo::new("127.0.0.2:0".parse().unwrap());
/// assert_eq!(bind.addr.unwrap().ip().to_string(), "127.0.0.2");
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct BindTo {
    /// Local IP (and usually port 0) to bind; `None` lets the OS pick.
    pub addr: Option<std::net::SocketAddr>,
}

impl BindTo {
    /// Binds to `addr` (port 0 lets the OS pick the port).
    pub fn new(addr: std::net::SocketAddr) -> Self {
        BindTo { addr: Some(addr) }
    }
}

/// The transport an address names.
enum Target {
    Inet(std::net::SocketAddr),
    Unix(PathBuf),
}

fn target_of(addr: &SocketAddr) -> Result<Target> {
    match addr {
        SocketAddr::Inet(inet) => Ok(Target::Inet(*inet)),
        SocketAddr::Unix(unix) => match unix.as_pathname() {
            Some(path) => Ok(Target::Unix(path.to_path_buf())),
            None => Error::e_explain(
                ErrorType::ConnectError,
                "cannot connect to an unnamed Unix socket address",
            ),
        },
    }
}

/// Whether `addr` is IPv4 (`None` for a Unix socket).
pub(crate) fn is_ipv4(addr: &SocketAddr) -> Option<bool> {
    addr.as_inet().map(std::net::SocketAddr::is_ipv4)
}

/// The framework address of the Unix socket at `path`.
pub(crate) fn unix_socket_addr(path: &Path) -> Result<SocketAddr> {
    let addr = std::os::unix::net::SocketAddr::from_pathname(path)
        .or_err_with(ErrorType::InternalError, || {
            format!("invalid Unix socket path {}", path.display())
        })?;
    Ok(SocketAddr::Unix(addr))
}

/// Opens an L4 connection to `peer`, bound to `bind_to` when given, within the peer's
/// `connection_timeout`.
///
/// Errors are upstream errors whose context names the peer. Failures where nothing reached
/// the peer (refused, unreachable, timed out) are retryable.
pub(crate) async fn connect<P: Peer>(
    peer: &P,
    bind_to: Option<&crate::connectors::l4::BindTo>,
) -> Result<Stream> {
    let attempt = connect_without_timeout(peer, bind_to);
    let result = match peer.connection_timeout() {
        Some(limit) => match tokio::time::timeout(limit, attempt).await {
            Ok(result) => result,
            Err(_) => {
                let mut e = Error::explain(
                    ErrorType::ConnectTimedout,
                    format!("connecting to {peer} took longer than {limit:?}"),
                );
                e.set_retry(true);
                Err(e)
            }
        },
        None => attempt.await,
    };
    result.map_err(|mut e| {
        e.as_up();
        e
    })
}

async fn connect_without_timeout<P: Peer>(peer: &P, bind_to: Option<&BindTo>) -> Result<Stream> {
    if let Some(custom) = peer.custom_l4() {
        return match custom.connect(peer.address()).await {
            Ok(stream) => Ok(Box::new(stream)),
            Err(e) => Err(e.more_context(format!("custom L4 connect to {peer}"))),
        };
    }
    if let Some(proxy) = peer.get_proxy() {
        return connect_through_proxy(peer, proxy).await;
    }
    match target_of(peer.address())? {
        Target::Inet(addr) => Ok(Box::new(L4Stream::from(
            connect_tcp(peer, addr, bind_to).await?,
        ))),
        Target::Unix(path) => {
            let stream = UnixStream::connect(&path)
                .await
                .map_err(|e| connect_error(e, peer))?;
            Ok(Box::new(L4Stream::from(stream)))
        }
    }
}

async fn connect_tcp<P: Peer>(
    peer: &P,
    addr: std::net::SocketAddr,
    bind_to: Option<&BindTo>,
) -> Result<TcpStream> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .or_err_with(ErrorType::SocketError, || {
        format!("creating a socket for {peer}")
    })?;
    apply_socket_options(&socket, peer, addr.is_ipv4())
        .map_err(|e| e.more_context(format!("setting socket options for {peer}")))?;
    if let Some(local) = bind_to.and_then(|b| b.addr) {
        socket.bind(local).or_err_with(ErrorType::BindError, || {
            format!("binding {local} to connect to {peer}")
        })?;
    }
    // `TCP_NODELAY` is set when the stream is wrapped into an `l4::stream::Stream`.
    socket
        .connect(addr)
        .await
        .map_err(|e| connect_error(e, peer))
}

fn apply_socket_options<P: Peer>(socket: &TcpSocket, peer: &P, ipv4: bool) -> Result<()> {
    let sock = socket2::SockRef::from(socket);
    if let Some(size) = peer.tcp_recv_buf() {
        sock.set_recv_buffer_size(size)
            .or_err(ErrorType::SocketError, "setting SO_RCVBUF")?;
    }
    if let Some(keepalive) = peer.tcp_keepalive() {
        keepalive
            .apply(socket2::SockRef::from(socket))
            .or_err(ErrorType::SocketError, "setting TCP keepalive")?;
    }
    if let Some(dscp) = peer.dscp() {
        // DSCP is the upper six bits of the (IPv4) TOS / (IPv6) traffic class byte.
        let tos = u32::from(dscp) << 2;
        let set = if ipv4 {
            sock.set_tos_v4(tos)
        } else {
            sock.set_tclass_v6(tos)
        };
        set.or_err(ErrorType::SocketError, "setting DSCP")?;
    }
    #[cfg(target_os = "linux")]
    if peer.tcp_fast_open() {
        nix::sys::socket::setsockopt(socket, nix::sys::socket::sockopt::TcpFastOpenConnect, &true)
            .or_err(ErrorType::SocketError, "setting TCP_FASTOPEN_CONNECT")?;
    }
    if let Some(hook) = peer.upstream_tcp_sock_tweak_hook() {
        hook(socket2::SockRef::from(socket))?;
    }
    Ok(())
}

/// Maps a failed connect to its error type; nothing was sent, so each is retryable.
fn connect_error<P: Peer>(cause: io::Error, peer: &P) -> Box<Error> {
    let etype = match cause.kind() {
        io::ErrorKind::ConnectionRefused => ErrorType::ConnectRefused,
        io::ErrorKind::TimedOut => ErrorType::ConnectTimedout,
        io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable => {
            ErrorType::ConnectNoRoute
        }
        _ => ErrorType::ConnectError,
    };
    let mut e = Error::because(etype, format!("connecting to {peer}"), cause);
    e.set_retry(true);
    e
}

/// Largest `CONNECT` response head accepted from a proxy.
const MAX_PROXY_RESPONSE_HEAD: usize = 8192;

/// Opens a tunnel to the peer through an HTTP `CONNECT` proxy on a Unix socket.
async fn connect_through_proxy<P: Peer>(peer: &P, proxy: &Proxy) -> Result<Stream> {
    let mut stream = UnixStream::connect(&proxy.next_hop)
        .await
        .map_err(|e| connect_error(e, peer))?;
    let authority = if proxy.host.contains(':') {
        format!("[{}]:{}", proxy.host, proxy.port)
    } else {
        format!("{}:{}", proxy.host, proxy.port)
    };
    let mut request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n").into_bytes();
    let extra = peer.get_peer_options().map(|o| &o.extra_proxy_headers);
    for (name, value) in proxy.headers.iter().chain(extra.into_iter().flatten()) {
        request.extend_from_slice(name.as_bytes());
        request.extend_from_slice(b": ");
        request.extend_from_slice(value);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"\r\n");
    stream
        .write_all(&request)
        .await
        .or_err_with(ErrorType::ConnectProxyFailure, || {
            format!("sending CONNECT for {peer}")
        })?;

    let mut head = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    loop {
        // One byte at a time so that nothing past the head (tunnel bytes) is consumed; this
        // runs once per tunnel and heads are short.
        let n = stream
            .read(&mut byte)
            .await
            .or_err_with(ErrorType::ConnectProxyFailure, || {
                format!("reading CONNECT response for {peer}")
            })?;
        if n == 0 {
            return Error::e_explain(
                ErrorType::ConnectProxyFailure,
                format!("proxy closed the connection during CONNECT for {peer}"),
            );
        }
        head.extend_from_slice(&byte[..n]);
        if head.ends_with(b"\r\n\r\n") {
            break;
        }
        if head.len() > MAX_PROXY_RESPONSE_HEAD {
            return Error::e_explain(
                ErrorType::ConnectProxyFailure,
                format!("CONNECT response head too large for {peer}"),
            );
        }
    }
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    let status = response
        .parse(&head)
        .ok()
        .and(response.code)
        .ok_or_else(|| {
            Error::explain(
                ErrorType::ConnectProxyFailure,
                format!("invalid CONNECT response for {peer}"),
            )
        })?;
    if !(200..300).contains(&status) {
        return Error::e_explain(
            ErrorType::ConnectProxyFailure,
            format!("proxy answered CONNECT for {peer} with {status}"),
        );
    }
    Ok(Box::new(L4Stream::from(stream)))
}
