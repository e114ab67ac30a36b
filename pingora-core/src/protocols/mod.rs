//! Byte streams the server hands to applications, and the socket settings that shape them.
//!
//! [`Stream`] is a boxed [`IO`]: anything that reads and writes asynchronously. The listeners
//! hand applications an [`l4::stream::Stream`] (TCP or Unix) in that box; [`http`] holds the
//! HTTP sessions built on top, and [`digest`] the facts a stream can report about itself.

pub mod digest;
pub mod http;
pub mod l4;
mod tcp_keepalive;
pub mod tls;

use std::any::Any;
use std::fmt::Debug;
use tokio::io::{AsyncRead, AsyncWrite};

pub use digest::{Digest, GetProxyDigest, GetSocketDigest, GetTimingDigest};
pub use tcp_keepalive::TcpKeepalive;

/// What every stream handed to an application can do: read, write, be moved between tasks,
/// and describe itself ([`GetSocketDigest`], [`GetTimingDigest`], [`GetProxyDigest`]).
///
/// It is implemented for every type that satisfies the bounds, so a user's own transport (for
/// example an in-memory pipe in a test) is an `IO` without extra code. The describing methods
/// answer with real values only for the streams this crate creates (an accepted or connected
/// [`l4::stream::Stream`], possibly wrapped by the HTTP sessions); for other types they
/// answer `None` or nothing.
///
/// ```
/// use pingora_core::protocols::{GetSocketDigest, Stream};
///
/// let (pipe, _other_end) = tokio::io::duplex(64);
/// let stream: Stream = Box::new(pipe);
/// assert!(stream.get_socket_digest().is_none()); // a pipe has no socket
/// ```
pub trait IO:
    AsyncRead
    + AsyncWrite
    + GetSocketDigest
    + GetTimingDigest
    + GetProxyDigest
    + Unpin
    + Debug
    + Send
    + Sync
    + 'static
{
    /// The stream as [`Any`], to look for a concrete type behind a [`Stream`].
    fn as_any(&self) -> &dyn Any;

    /// The boxed stream as [`Any`], to take a concrete type out of a [`Stream`].
    fn into_any(self: Box<Self>) -> Box<dyn Any + Send + Sync>;
}

impl<T> IO for T
where
    T: AsyncRead + AsyncWrite + Unpin + Debug + Send + Sync + 'static,
{
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any + Send + Sync> {
        self
    }
}

/// A connection as the server hands it to an application: a boxed [`IO`].
///
/// ```
/// use pingora_core::protocols::Stream;
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (client, server) = tokio::io::duplex(64);
/// let mut server: Stream = Box::new(server);
/// let mut client: Stream = Box::new(client);
/// client.write_all(b"ping").await.unwrap();
/// let mut buf = [0u8; 4];
/// server.read_exact(&mut buf).await.unwrap();
/// assert_eq!(&buf, b"ping");
/// # }
/// ```
pub type Stream = Box<dyn IO>;
