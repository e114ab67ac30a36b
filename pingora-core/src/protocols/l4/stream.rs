//! [`Stream`]: an accepted or connected TCP or Unix socket, with the facts about it (its
//! addresses, when it was established) recorded once, when it is created.

use std::io::IoSlice;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::SystemTime;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream};

use super::socket::SocketAddr;
use crate::protocols::digest::{SocketDigest, TimingDigest};

/// A TCP or Unix stream socket.
///
/// Created with `From` a tokio [`TcpStream`] or [`UnixStream`]; creation records both
/// addresses (the [`SocketDigest`]) and the time, and turns on `TCP_NODELAY` for TCP (a proxy
/// writes whole heads and body pieces; Nagle's delay only adds latency). Reads and writes go
/// straight to the socket. Boxed, it is the [`Stream`](crate::protocols::Stream) an
/// application receives, and sessions read its digest through
/// [`GetSocketDigest`](crate::protocols::GetSocketDigest).
///
/// ```
/// use pingora_core::protocols::l4::stream::Stream;
/// use pingora_core::protocols::GetSocketDigest;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let server_addr = listener.local_addr()?;
/// let client = Stream::from(tokio::net::TcpStream::connect(server_addr).await?);
/// let digest = client.get_socket_digest().unwrap();
/// assert_eq!(digest.peer_addr().and_then(|a| a.as_inet()), Some(&server_addr));
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Stream {
    socket: Socket,
    socket_digest: Arc<SocketDigest>,
    established_ts: SystemTime,
}

/// The socket kinds a [`Stream`] can wrap.
#[derive(Debug)]
enum Socket {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl From<TcpStream> for Stream {
    fn from(stream: TcpStream) -> Self {
        let peer = stream.peer_addr().ok();
        Stream::tcp(stream, peer, None)
    }
}

impl From<UnixStream> for Stream {
    fn from(stream: UnixStream) -> Self {
        let digest = SocketDigest::new(
            stream.as_raw_fd(),
            stream.peer_addr().ok().map(|a| SocketAddr::Unix(a.into())),
            stream.local_addr().ok().map(|a| SocketAddr::Unix(a.into())),
        );
        Stream::new(Socket::Unix(stream), digest)
    }
}

impl Stream {
    /// An accepted connection whose peer address `accept` returned and whose local address is
    /// `local` when the listener is bound to one IP: no system call to learn them again.
    pub(crate) fn accepted(
        stream: TcpStream,
        peer: std::net::SocketAddr,
        local: Option<std::net::SocketAddr>,
    ) -> Self {
        Stream::tcp(stream, Some(peer), local)
    }

    /// A TCP stream with TCP_NODELAY on; addresses not given are asked of the socket.
    fn tcp(
        stream: TcpStream,
        peer: Option<std::net::SocketAddr>,
        local: Option<std::net::SocketAddr>,
    ) -> Self {
        // Best effort: the stream works without it, only slower for small writes.
        if let Err(e) = stream.set_nodelay(true) {
            log::debug!("cannot set TCP_NODELAY: {e}");
        }
        let local = local.or_else(|| stream.local_addr().ok());
        let digest = SocketDigest::new(
            stream.as_raw_fd(),
            peer.map(SocketAddr::Inet),
            local.map(SocketAddr::Inet),
        );
        Stream::new(Socket::Tcp(stream), digest)
    }

    fn new(socket: Socket, digest: SocketDigest) -> Self {
        Stream {
            socket,
            socket_digest: Arc::new(digest),
            established_ts: SystemTime::now(),
        }
    }

    /// The socket's file descriptor and addresses, as recorded when the stream was created.
    pub(crate) fn socket_digest(&self) -> Arc<SocketDigest> {
        self.socket_digest.clone()
    }

    /// When the stream was created (accepted or connected).
    pub(crate) fn timing_digest(&self) -> TimingDigest {
        TimingDigest {
            established_ts: self.established_ts,
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match &mut self.get_mut().socket {
            Socket::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Socket::Unix(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match &mut self.get_mut().socket {
            Socket::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Socket::Unix(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        match &mut self.get_mut().socket {
            Socket::Tcp(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Socket::Unix(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.socket {
            Socket::Tcp(s) => s.is_write_vectored(),
            Socket::Unix(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match &mut self.get_mut().socket {
            Socket::Tcp(s) => Pin::new(s).poll_flush(cx),
            Socket::Unix(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match &mut self.get_mut().socket {
            Socket::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Socket::Unix(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::{Digest, GetSocketDigest, GetTimingDigest, Stream as BoxedStream};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn tcp_stream_records_both_addresses_and_sets_nodelay() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (client, accepted) = tokio::join!(TcpStream::connect(addr), listener.accept());
        let client = client.unwrap();
        let client_addr = client.local_addr().unwrap();
        let server = Stream::from(accepted.unwrap().0);
        let Socket::Tcp(tcp) = &server.socket else {
            panic!("a TcpStream makes a TCP stream");
        };
        assert!(tcp.nodelay().unwrap());
        let digest = server.get_socket_digest().unwrap();
        assert_eq!(digest.peer_addr(), Some(&SocketAddr::Inet(client_addr)));
        assert_eq!(digest.local_addr(), Some(&SocketAddr::Inet(addr)));
        assert_eq!(server.get_timing_digest().len(), 1);
    }

    #[tokio::test]
    async fn boxed_unix_stream_reports_its_digest_and_passes_bytes() {
        let dir = std::env::temp_dir().join(format!("l4-stream-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.sock");
        let _ = std::fs::remove_file(&path);
        let listener = tokio::net::UnixListener::bind(&path).unwrap();
        let (client, accepted) = tokio::join!(UnixStream::connect(&path), listener.accept());
        let mut client = client.unwrap();
        let mut server: BoxedStream = Box::new(Stream::from(accepted.unwrap().0));
        let digest = Digest::of(&*server);
        let local = digest.socket_digest.as_ref().unwrap().local_addr().unwrap();
        assert_eq!(local.to_string(), format!("unix:{}", path.display()));
        assert_eq!(digest.timing_digest.len(), 1);

        client.write_all(b"ping").await.unwrap();
        let mut buf = [0; 4];
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ping");
        server.write_all(b"pong").await.unwrap();
        client.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"pong");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
