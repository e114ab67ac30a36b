//! Body framing state machines: [`BodyReader`] takes a body out of the read buffer (by
//! Content-Length, chunked, or until the peer closes), [`BodyWriter`] frames one on the way out.

use std::io::IoSlice;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::HeaderMap;
use pingora_error::{Error, ErrorType, Result};
use tokio::io::{AsyncRead, AsyncWrite};

use super::chunked::{chunk_header, ChunkedDecoder, Decoded, LAST_CHUNK};
use super::io::{read_more, write_all};

/// Where a body being read stands.
#[derive(Debug)]
pub(crate) enum BodyReader {
    /// `left` more bytes to go.
    ContentLength { left: u64 },
    /// Chunked; the decoder knows where it is.
    Chunked(ChunkedDecoder),
    /// Everything until the peer closes (responses without framing, upgraded connections).
    UntilClose,
    /// The body is complete (or there was none).
    Done,
}

impl BodyReader {
    /// Whether the whole body was read (a finished chunked decoder counts).
    pub(crate) fn is_done(&self) -> bool {
        match self {
            BodyReader::Done => true,
            BodyReader::Chunked(decoder) => decoder.is_done(),
            _ => false,
        }
    }

    /// The trailers of a finished chunked body, if it had any.
    pub(crate) fn take_trailers(&mut self) -> Option<Box<HeaderMap>> {
        match self {
            BodyReader::Chunked(decoder) => decoder.take_trailers(),
            _ => None,
        }
    }

    /// Takes the next piece of body out of `buf` without reading.
    fn step(&mut self, buf: &mut BytesMut) -> Result<Decoded> {
        match self {
            BodyReader::ContentLength { left } => {
                if *left == 0 {
                    *self = BodyReader::Done;
                    return Ok(Decoded::Done);
                }
                if buf.is_empty() {
                    return Ok(Decoded::NeedMore);
                }
                let take = usize::try_from(*left).unwrap_or(usize::MAX).min(buf.len());
                *left -= take as u64;
                if *left == 0 {
                    *self = BodyReader::Done;
                }
                Ok(Decoded::Data(buf.split_to(take).freeze()))
            }
            // A finished decoder stays in place so its trailers can be taken.
            BodyReader::Chunked(decoder) => decoder.decode(buf),
            BodyReader::UntilClose => {
                if buf.is_empty() {
                    return Ok(Decoded::NeedMore);
                }
                Ok(Decoded::Data(buf.split().freeze()))
            }
            BodyReader::Done => Ok(Decoded::Done),
        }
    }

    /// The peer closed its side: fine when reading until close, an early end otherwise.
    fn on_eof(&mut self) -> Result<()> {
        match self {
            BodyReader::UntilClose => {
                *self = BodyReader::Done;
                Ok(())
            }
            BodyReader::Done => Ok(()),
            _ => Error::e_explain(
                ErrorType::ConnectionClosed,
                "the peer closed before the body ended",
            ),
        }
    }
}

/// Reads the next piece of body: from `buf` first, then from `io` (each read bounded by
/// `timeout`). `Ok(None)` once the body is complete. A chunked reader that finished is left in
/// place (so its trailers can be taken) and reports `Ok(None)` from then on.
pub(crate) async fn read_body<S>(
    io: &mut S,
    buf: &mut BytesMut,
    reader: &mut BodyReader,
    timeout: Option<Duration>,
) -> Result<Option<Bytes>>
where
    S: AsyncRead + Unpin + ?Sized,
{
    loop {
        match reader.step(buf)? {
            Decoded::Data(data) => return Ok(Some(data)),
            Decoded::Done => return Ok(None),
            Decoded::NeedMore => {
                if read_more(io, buf, timeout).await? == 0 {
                    reader.on_eof()?;
                }
            }
        }
    }
}

/// Where a body being written stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyWriter {
    /// `left` more bytes were promised by Content-Length.
    ContentLength { left: u64 },
    /// Each write becomes one chunk; `finish` writes the last chunk.
    Chunked,
    /// Raw bytes; the end is the connection's close (HTTP/1.0 without length, upgrades).
    UntilClose,
    /// The message has no body (HEAD, 1xx, 204, 304, bodiless requests): writes are dropped.
    NoBody,
    /// The body was finished.
    Done,
}

impl BodyWriter {
    /// Writes `data` as body bytes; returns how many body bytes went out (0 when the message
    /// has no body). Fails with `H1Error` for bytes beyond the Content-Length or after the end.
    pub(crate) async fn write<S>(
        &mut self,
        io: &mut S,
        data: &[u8],
        timeout: Option<Duration>,
    ) -> Result<usize>
    where
        S: AsyncWrite + Unpin + ?Sized,
    {
        self.write_with_prefix(io, &[], data, timeout).await
    }

    /// Like [`write`](Self::write), with `prefix` (e.g. a message head not sent yet) going
    /// out first in the same vectored write. `prefix` is written even when `data` is not.
    pub(crate) async fn write_with_prefix<S>(
        &mut self,
        io: &mut S,
        prefix: &[u8],
        data: &[u8],
        timeout: Option<Duration>,
    ) -> Result<usize>
    where
        S: AsyncWrite + Unpin + ?Sized,
    {
        if data.is_empty() || *self == BodyWriter::NoBody {
            if !prefix.is_empty() {
                write_all(io, &mut [IoSlice::new(prefix)], timeout).await?;
            }
            return Ok(0);
        }
        match self {
            BodyWriter::ContentLength { left } => {
                if data.len() as u64 > *left {
                    return Error::e_explain(
                        ErrorType::H1Error,
                        "body longer than its Content-Length",
                    );
                }
                write_all(io, &mut [IoSlice::new(prefix), IoSlice::new(data)], timeout).await?;
                *left -= data.len() as u64;
                Ok(data.len())
            }
            BodyWriter::Chunked => {
                let (header, header_len) = chunk_header(data.len());
                let mut parts = [
                    IoSlice::new(prefix),
                    IoSlice::new(&header[..header_len]),
                    IoSlice::new(data),
                    IoSlice::new(b"\r\n"),
                ];
                write_all(io, &mut parts, timeout).await?;
                Ok(data.len())
            }
            BodyWriter::UntilClose => {
                write_all(io, &mut [IoSlice::new(prefix), IoSlice::new(data)], timeout).await?;
                Ok(data.len())
            }
            BodyWriter::NoBody => Ok(0),
            BodyWriter::Done => Error::e_explain(ErrorType::H1Error, "body written after its end"),
        }
    }

    /// Ends the body (the last chunk, for chunked). Returns whether the body is complete as
    /// framed, so the connection can carry another message: false when Content-Length bytes
    /// are missing or the body ends with the connection.
    pub(crate) async fn finish<S>(&mut self, io: &mut S, timeout: Option<Duration>) -> Result<bool>
    where
        S: AsyncWrite + Unpin + ?Sized,
    {
        let complete = match *self {
            BodyWriter::ContentLength { left } => left == 0,
            BodyWriter::Chunked => {
                write_all(io, &mut [IoSlice::new(LAST_CHUNK)], timeout).await?;
                true
            }
            BodyWriter::UntilClose => false,
            BodyWriter::NoBody => true,
            BodyWriter::Done => return Ok(true),
        };
        *self = BodyWriter::Done;
        Ok(complete)
    }
    /// Ends the body with `trailers`. Only a chunked body can carry them (they follow the
    /// last chunk); any other framing ends as [`finish`](Self::finish) does and drops them.
    pub(crate) async fn finish_with_trailers<S>(
        &mut self,
        io: &mut S,
        trailers: &HeaderMap,
        timeout: Option<Duration>,
    ) -> Result<bool>
    where
        S: AsyncWrite + Unpin + ?Sized,
    {
        if *self != BodyWriter::Chunked {
            return self.finish(io, timeout).await;
        }
        let mut wire = Vec::with_capacity(64);
        wire.extend_from_slice(b"0\r\n");
        for (name, value) in trailers {
            wire.extend_from_slice(name.as_str().as_bytes());
            wire.extend_from_slice(b": ");
            wire.extend_from_slice(value.as_bytes());
            wire.extend_from_slice(b"\r\n");
        }
        wire.extend_from_slice(b"\r\n");
        write_all(io, &mut [IoSlice::new(&wire)], timeout).await?;
        *self = BodyWriter::Done;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn trailers_follow_the_last_chunk_and_are_dropped_by_other_framings() {
        let mut trailers = HeaderMap::new();
        trailers.insert("x-sum", http::HeaderValue::from_static("42"));

        let mut wire = Vec::new();
        let mut writer = BodyWriter::Chunked;
        writer.write(&mut wire, b"abc", None).await.expect("write");
        let complete = writer
            .finish_with_trailers(&mut wire, &trailers, None)
            .await
            .expect("finish");
        assert!(complete);
        assert_eq!(wire, b"3\r\nabc\r\n0\r\nx-sum: 42\r\n\r\n");

        let mut wire = Vec::new();
        let mut writer = BodyWriter::ContentLength { left: 0 };
        let complete = writer
            .finish_with_trailers(&mut wire, &trailers, None)
            .await
            .expect("finish");
        assert!(complete && wire.is_empty());
    }
}
