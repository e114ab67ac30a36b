//! Timed reads into a session's buffer and timed writes, the only places a session waits on the
//! network. Errors carry their type (`ReadTimedout`, `ReadError`, `WriteTimedout`,
//! `WriteError`); the caller sets their source.

use std::io::IoSlice;
use std::time::Duration;

use bytes::BytesMut;
use pingora_error::{Error, ErrorType, OrErr, Result};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Spare room a read asks for when the buffer runs short.
const READ_RESERVE: usize = 16 * 1024;

/// Reads once into `buf`, waiting at most `timeout`. Returns the number of bytes read; 0 means
/// the peer closed its side.
pub(crate) async fn read_more<S>(
    io: &mut S,
    buf: &mut BytesMut,
    timeout: Option<Duration>,
) -> Result<usize>
where
    S: AsyncRead + Unpin + ?Sized,
{
    if buf.capacity() - buf.len() < READ_RESERVE / 4 {
        buf.reserve(READ_RESERVE);
    }
    let read = io.read_buf(buf);
    let result = match timeout {
        Some(limit) => match pingora_timeout::timeout(limit, read).await {
            Ok(result) => result,
            Err(_) => return Error::e_explain(ErrorType::ReadTimedout, "reading from the peer"),
        },
        None => read.await,
    };
    result.or_err(ErrorType::ReadError, "reading from the peer")
}

/// Writes all of `parts` (vectored where the stream supports it) and flushes, each operation
/// bounded by `timeout`.
pub(crate) async fn write_all<S>(
    io: &mut S,
    parts: &mut [IoSlice<'_>],
    timeout: Option<Duration>,
) -> Result<()>
where
    S: AsyncWrite + Unpin + ?Sized,
{
    let mut parts = parts;
    IoSlice::advance_slices(&mut parts, 0);
    while !parts.is_empty() {
        let written = timed(timeout, io.write_vectored(parts)).await?;
        if written == 0 {
            return Error::e_explain(ErrorType::WriteError, "the peer accepts no more bytes");
        }
        IoSlice::advance_slices(&mut parts, written);
    }
    timed(timeout, io.flush()).await
}

async fn timed<T>(
    timeout: Option<Duration>,
    op: impl std::future::Future<Output = std::io::Result<T>>,
) -> Result<T> {
    let result = match timeout {
        Some(limit) => match pingora_timeout::timeout(limit, op).await {
            Ok(result) => result,
            Err(_) => return Error::e_explain(ErrorType::WriteTimedout, "writing to the peer"),
        },
        None => op.await,
    };
    result.or_err(ErrorType::WriteError, "writing to the peer")
}
