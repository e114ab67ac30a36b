//! Bytes queued to go out on a connection while it is read: a client can keep writing its
//! request body while it waits for the response, so a peer that answers as it reads (and
//! stops reading while its own writes wait) cannot deadlock the exchange.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::{Buf, BytesMut};
use pingora_error::{Error, ErrorType, OrErr, Result};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Framed bytes waiting to be written, and whether a flush is still owed for bytes written.
#[derive(Debug, Default)]
pub(crate) struct Outgoing {
    bytes: BytesMut,
    flush_owed: bool,
}

impl Outgoing {
    /// Whether nothing waits (not even a flush).
    pub(crate) fn is_empty(&self) -> bool {
        self.bytes.is_empty() && !self.flush_owed
    }

    /// Writes what waits, as far as `io` accepts it now. `Ready(Ok)` once everything is
    /// written and flushed. Progress is kept between calls, so dropping a caller loses nothing.
    pub(crate) fn poll_write_out<S>(
        &mut self,
        io: &mut S,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>>
    where
        S: AsyncWrite + Unpin + ?Sized,
    {
        while !self.bytes.is_empty() {
            let written = ready!(Pin::new(&mut *io).poll_write(cx, &self.bytes))?;
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.bytes.advance(written);
            self.flush_owed = true;
        }
        if self.flush_owed {
            ready!(Pin::new(&mut *io).poll_flush(cx))?;
            self.flush_owed = false;
        }
        Poll::Ready(Ok(()))
    }

    /// Writes and flushes everything queued, each wait bounded by `timeout`. Cancel-safe:
    /// bytes not written stay queued.
    pub(crate) async fn write_out<S>(&mut self, io: &mut S, timeout: Option<Duration>) -> Result<()>
    where
        S: AsyncWrite + Unpin + ?Sized,
    {
        let write = poll_fn(|cx| self.poll_write_out(io, cx));
        let written = match timeout {
            Some(limit) => match pingora_timeout::timeout(limit, write).await {
                Ok(written) => written,
                Err(_) => return Error::e_explain(ErrorType::WriteTimedout, "writing to the peer"),
            },
            None => write.await,
        };
        written.or_err(ErrorType::WriteError, "writing to the peer")
    }
}

/// Writing to the queue only queues: it is always ready and never fails (a body writer frames
/// into it).
impl AsyncWrite for Outgoing {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().bytes.extend_from_slice(data);
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// What [`write_out_or_read`] saw first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Progress {
    /// Everything queued was written.
    Written,
    /// This many bytes were read into the buffer (0: the peer closed its side).
    Read(usize),
}

/// Writes the queue to `io` and reads from it at once, until the queue is written or a read
/// completes; no progress either way within `timeout` fails with `WriteTimedout`.
/// Cancel-safe: written bytes leave the queue, read bytes are in `buf`.
pub(crate) async fn write_out_or_read<S>(
    io: &mut S,
    outgoing: &mut Outgoing,
    buf: &mut BytesMut,
    timeout: Option<Duration>,
) -> Result<Progress>
where
    S: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    const READ_SIZE: usize = 16 * 1024;
    let step = poll_fn(|cx| {
        match outgoing.poll_write_out(io, cx) {
            Poll::Ready(Ok(())) => return Poll::Ready(Ok(Progress::Written)),
            Poll::Ready(Err(e)) => {
                return Poll::Ready(Err(e).or_err(ErrorType::WriteError, "writing to the peer"))
            }
            Poll::Pending => {}
        }
        let start = buf.len();
        buf.resize(start + READ_SIZE, 0);
        let mut space = ReadBuf::new(&mut buf[start..]);
        let polled = Pin::new(&mut *io).poll_read(cx, &mut space);
        let filled = space.filled().len();
        buf.truncate(start + filled);
        match polled {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(Progress::Read(filled))),
            Poll::Ready(Err(e)) => {
                Poll::Ready(Err(e).or_err(ErrorType::ReadError, "reading from the peer"))
            }
            Poll::Pending => Poll::Pending,
        }
    });
    match timeout {
        Some(limit) => match pingora_timeout::timeout(limit, step).await {
            Ok(progress) => progress,
            Err(_) => Error::e_explain(ErrorType::WriteTimedout, "writing to the peer"),
        },
        None => step.await,
    }
}

/// A reader over `io` that also writes the queued bytes whenever it is polled, so reading
/// never stalls the other direction. A write error fails the read.
pub(crate) struct ReadWhileWriting<'a, S: ?Sized> {
    pub(crate) io: &'a mut S,
    pub(crate) outgoing: &'a mut Outgoing,
}

impl<S> AsyncRead for ReadWhileWriting<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Poll::Ready(Err(e)) = this.outgoing.poll_write_out(this.io, cx) {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut *this.io).poll_read(cx, buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn queued(len: usize) -> Outgoing {
        let mut outgoing = Outgoing::default();
        outgoing.bytes.extend((0..len).map(|i| (i % 251) as u8));
        outgoing
    }

    #[tokio::test]
    async fn a_read_waiting_for_the_peer_writes_the_queue_meanwhile() {
        // The pipe holds far less than the queue: the peer must read it all before it answers.
        let (mut ours, mut peer) = tokio::io::duplex(1024);
        let mut outgoing = queued(64 * 1024);
        let peer_task = tokio::spawn(async move {
            let mut got = vec![0u8; 64 * 1024];
            peer.read_exact(&mut got).await.expect("the queue arrives");
            peer.write_all(b"answer").await.expect("answer");
            got
        });
        let mut reader = ReadWhileWriting {
            io: &mut ours,
            outgoing: &mut outgoing,
        };
        let mut answer = [0u8; 6];
        reader
            .read_exact(&mut answer)
            .await
            .expect("read the answer");
        assert_eq!(&answer, b"answer");
        assert!(outgoing.is_empty());
        let got = peer_task.await.expect("peer ran");
        assert!(got.iter().enumerate().all(|(i, b)| *b == (i % 251) as u8));
    }

    #[tokio::test]
    async fn write_out_or_read_reports_whichever_happens_first() {
        let (mut ours, mut peer) = tokio::io::duplex(1024);
        let mut buf = BytesMut::new();

        // The peer does not read: the queue cannot go out, its bytes come in instead.
        let mut outgoing = queued(4096);
        peer.write_all(b"early").await.expect("write");
        let progress = write_out_or_read(&mut ours, &mut outgoing, &mut buf, None)
            .await
            .expect("progress");
        assert_eq!(progress, Progress::Read(5));
        assert_eq!(&buf[..], b"early");
        assert!(!outgoing.is_empty());

        // The peer reads: the rest of the queue goes out.
        let reader = tokio::spawn(async move {
            let mut got = vec![0u8; 4096];
            peer.read_exact(&mut got).await.map(|_| got.len())
        });
        loop {
            let progress = write_out_or_read(&mut ours, &mut outgoing, &mut buf, None)
                .await
                .expect("progress");
            if progress == Progress::Written {
                break;
            }
        }
        assert_eq!(reader.await.expect("peer ran").expect("all bytes"), 4096);
    }

    #[tokio::test]
    async fn a_cancelled_write_out_keeps_what_was_not_written() {
        let (mut ours, mut peer) = tokio::io::duplex(1000);
        let mut outgoing = queued(3000);
        let timed_out = write_out_briefly(&mut ours, &mut outgoing).await;
        assert!(timed_out.is_err(), "the pipe is full: the write times out");
        let reader = tokio::spawn(async move {
            let mut got = vec![0u8; 3000];
            peer.read_exact(&mut got).await.map(|_| got)
        });
        outgoing
            .write_out(&mut ours, None)
            .await
            .expect("the rest goes out");
        let got = reader.await.expect("peer ran").expect("all bytes");
        assert!(got.iter().enumerate().all(|(i, b)| *b == (i % 251) as u8));
    }

    async fn write_out_briefly(
        io: &mut tokio::io::DuplexStream,
        outgoing: &mut Outgoing,
    ) -> Result<()> {
        outgoing
            .write_out(io, Some(Duration::from_millis(20)))
            .await
    }
}
