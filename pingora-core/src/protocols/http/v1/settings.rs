//! [`H1Settings`]: the limits and timeouts of an HTTP/1 session, each with a documented default.

use std::time::Duration;

/// The most header lines a head may hold, whatever [`H1Settings::max_headers`] says: the
/// parser keeps their positions in a fixed array of this size on the stack.
pub const MAX_HEADERS_CAP: usize = 256;

/// Limits and timeouts of one HTTP/1 session, server or client side.
///
/// Every wait on the network is bounded by one of these (or explicitly unbounded with `None`).
/// Build with [`H1Settings::default`] and change the fields you need:
///
/// ```
/// use pingora_core::protocols::http::v1::H1Settings;
/// use std::time::Duration;
///
/// let mut settings = H1Settings::default();
/// settings.max_header_size = 16 * 1024;
/// settings.header_read_timeout = Some(Duration::from_secs(5));
/// assert_eq!(settings.max_request_line_size, 8 * 1024);
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct H1Settings {
    /// Largest request or response head (start line, header lines, final empty line), in bytes.
    /// A longer request head is answered with 431; a longer response head is a 502-worthy
    /// upstream error. Default 64 KiB.
    pub max_header_size: usize,
    /// Largest request line, in bytes, line ending included. A longer one is answered with 414.
    /// Default 8 KiB.
    pub max_request_line_size: usize,
    /// Most header lines in a head, capped at [`MAX_HEADERS_CAP`]. More are answered with 431
    /// (a response: 502-worthy). Default 128.
    pub max_headers: usize,
    /// Longest chunk-size line of a chunked body (size, extensions, CRLF). Default 4 KiB.
    pub max_chunk_line_size: usize,
    /// Largest trailer section of a chunked body, in bytes. Default 16 KiB.
    pub max_trailer_size: usize,
    /// Server side: how long `read_request` waits for the first byte of a request; `None` waits
    /// forever. On a kept-alive connection this is the keep-alive idle timeout. Default 60 s.
    pub idle_timeout: Option<Duration>,
    /// Server side: the whole request head must arrive within this time of its first byte, or
    /// the request fails with `ReadTimedout` (a client dribbling one byte at a time never gets
    /// past it, unlike a per-read timeout). Default 10 s.
    pub header_read_timeout: Option<Duration>,
    /// Longest wait for any single read (head or body); `None` waits forever. Default 60 s.
    pub read_timeout: Option<Duration>,
    /// Longest wait for any single write; `None` waits forever. Default 60 s.
    pub write_timeout: Option<Duration>,
    /// Server side: most bytes of an unread request body `finish` reads and discards so the
    /// connection can serve another request; a larger leftover body closes the connection
    /// instead. Default 64 KiB.
    pub max_drain_size: usize,
}

impl Default for H1Settings {
    fn default() -> Self {
        H1Settings {
            max_header_size: 64 * 1024,
            max_request_line_size: 8 * 1024,
            max_headers: 128,
            max_chunk_line_size: 4 * 1024,
            max_trailer_size: 16 * 1024,
            idle_timeout: Some(Duration::from_secs(60)),
            header_read_timeout: Some(Duration::from_secs(10)),
            read_timeout: Some(Duration::from_secs(60)),
            write_timeout: Some(Duration::from_secs(60)),
            max_drain_size: 64 * 1024,
        }
    }
}
