//! Byte streams the server hands to applications, and the socket settings that shape them.
//!
//! [`Stream`] is a boxed [`IO`]: anything that reads and writes asynchronously. Plain TCP and
//! Unix streams are `IO` today; TLS streams and connection digests join through the same trait.

mod tcp_keepalive;

use std::fmt::Debug;
use tokio::io::{AsyncRead, AsyncWrite};

pub use tcp_keepalive::TcpKeepalive;

/// What every stream handed to an application can do: read, write, and be moved between tasks.
///
/// It is implemented for every type that satisfies the bounds, so a user's own transport (for
/// example an in-memory pipe in a test) is an `IO` without extra code.
pub trait IO: AsyncRead + AsyncWrite + Unpin + Debug + Send + Sync {}

impl<T> IO for T where T: AsyncRead + AsyncWrite + Unpin + Debug + Send + Sync {}

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
