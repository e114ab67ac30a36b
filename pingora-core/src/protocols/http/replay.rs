//! [`ReplayStream`]: a stream that first hands out bytes already read from it, so that bytes a
//! session read past the end of its request (a pipelined request) are not lost when the
//! connection is handed to the next session.

use std::io::IoSlice;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::protocols::Stream;

/// A stream with bytes put back in front of it: reads return `buffered` first, then whatever
/// `inner` gives; writes go straight to `inner`.
///
/// A session that ends with unread bytes hands its stream back in one of these. A session
/// created on a `ReplayStream<Stream>` takes the bytes and the inner stream out of it (see
/// [`ReplayStream::unwrap_stream`]), so a client that keeps pipelining never makes these nest:
/// there is at most one replay layer, however many requests a connection carries.
///
/// ```
/// use bytes::Bytes;
/// use pingora_core::protocols::http::ReplayStream;
/// use tokio::io::AsyncReadExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (mut far, near) = tokio::io::duplex(64);
/// drop(far);
/// let mut stream = ReplayStream::new(Bytes::from_static(b"GET / HTTP/1.1\r\n"), near);
/// let mut all = Vec::new();
/// stream.read_to_end(&mut all).await.unwrap();
/// assert_eq!(all, b"GET / HTTP/1.1\r\n");
/// # }
/// ```
#[derive(Debug)]
pub struct ReplayStream<S> {
    buffered: Bytes,
    inner: S,
}

impl<S> ReplayStream<S> {
    /// A stream that reads `buffered` before reading `inner`.
    pub fn new(buffered: Bytes, inner: S) -> Self {
        ReplayStream { buffered, inner }
    }

    /// The bytes not yet read again, and the inner stream.
    pub fn into_parts(self) -> (Bytes, S) {
        (self.buffered, self.inner)
    }

    /// The inner stream.
    pub fn inner(&self) -> &S {
        &self.inner
    }
}

impl ReplayStream<Stream> {
    /// Takes every replay layer off `stream`: the stream underneath, and the bytes the layers
    /// still held, in the order they would have been read. A stream without a replay layer
    /// comes back as it is, with no bytes.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use pingora_core::protocols::http::ReplayStream;
    /// use pingora_core::protocols::Stream;
    ///
    /// let (near, _far) = tokio::io::duplex(64);
    /// let inner: Stream = Box::new(ReplayStream::new(Bytes::from_static(b"b"), Box::new(near) as Stream));
    /// let outer: Stream = Box::new(ReplayStream::new(Bytes::from_static(b"a"), inner));
    /// let (_stream, pending) = ReplayStream::unwrap_stream(outer);
    /// assert_eq!(pending, "ab");
    /// ```
    pub fn unwrap_stream(mut stream: Stream) -> (Stream, Bytes) {
        let mut pending = BytesMut::new();
        while (*stream).as_any().is::<ReplayStream<Stream>>() {
            let replay = stream
                .into_any()
                .downcast::<ReplayStream<Stream>>()
                .expect("invariant: the type was checked just above");
            pending.extend_from_slice(&replay.buffered);
            stream = replay.inner;
        }
        (stream, pending.freeze())
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ReplayStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if !self.buffered.is_empty() {
            let n = self.buffered.len().min(buf.remaining());
            buf.put_slice(&self.buffered[..n]);
            self.buffered.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ReplayStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
