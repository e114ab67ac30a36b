//! Connection digests: facts about a connection (its addresses, when it was established, its
//! TLS and proxy details) that sessions and logs can read without touching the stream.
//!
//! Any [`IO`] can be asked for them through [`GetSocketDigest`],
//! [`GetTimingDigest`] and [`GetProxyDigest`]. Streams this crate creates
//! ([`l4::stream::Stream`](super::l4::stream::Stream), and the wrappers the HTTP sessions put
//! around them) answer with real values; any other transport (an in-memory pipe, a user's own
//! stream type) answers `None` / nothing.

use std::any::Any;
use std::fmt::Debug;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::time::SystemTime;

use pingora_http::ResponseHeader;
use tokio::io::{AsyncRead, AsyncWrite};

use super::http::ReplayStream;
use super::l4::socket::SocketAddr;
use super::l4::stream::Stream as L4Stream;
use super::tls::SslDigest;
#[cfg(feature = "openssl")]
use super::tls::SslStream;
use super::{Stream, IO};

/// Everything known about a connection.
///
/// What is filled: for connections accepted or created by this crate, `socket_digest` and one
/// `timing_digest` entry per layer (the socket, then TLS); for TLS connections (the `openssl`
/// feature), `ssl_digest`. `proxy_digest` stays `None` until connections through CONNECT
/// proxies record it.
///
/// ```
/// use pingora_core::protocols::Digest;
///
/// let digest = Digest::default();
/// assert!(digest.socket_digest.is_none());
/// assert!(digest.timing_digest.is_empty());
/// ```
#[derive(Debug, Clone, Default)]
pub struct Digest {
    /// The TLS session, when the connection is encrypted.
    pub ssl_digest: Option<Arc<SslDigest>>,
    /// When each layer of the connection was established, lowest layer first.
    pub timing_digest: Vec<Option<TimingDigest>>,
    /// The answer of the CONNECT proxy the connection goes through (not filled yet).
    pub proxy_digest: Option<Arc<ProxyDigest>>,
    /// The socket: its file descriptor and both addresses.
    pub socket_digest: Option<Arc<SocketDigest>>,
}

impl Digest {
    /// The digest of `io`, as far as it can tell.
    pub(crate) fn of<S: IO + ?Sized>(io: &S) -> Digest {
        Digest {
            ssl_digest: find_ssl_digest(io.as_any()),
            timing_digest: io.get_timing_digest(),
            proxy_digest: io.get_proxy_digest(),
            socket_digest: io.get_socket_digest(),
        }
    }
}

/// When a layer of a connection was established.
#[derive(Debug, Clone)]
pub struct TimingDigest {
    /// The moment the connection was accepted or connected.
    pub established_ts: SystemTime,
}

impl Default for TimingDigest {
    fn default() -> Self {
        TimingDigest {
            established_ts: SystemTime::UNIX_EPOCH,
        }
    }
}

/// The response a CONNECT proxy gave when the connection was tunnelled through it.
#[derive(Debug)]
pub struct ProxyDigest {
    /// The proxy's response head.
    pub response: Box<ResponseHeader>,
}

/// A socket's file descriptor and addresses, recorded when the stream was created.
///
/// ```
/// use pingora_core::protocols::digest::SocketDigest;
///
/// let digest = SocketDigest::new(7, Some("10.0.0.1:5000".parse().unwrap()), None);
/// assert_eq!(digest.raw_fd(), 7);
/// assert_eq!(digest.peer_addr().map(|a| a.to_string()).as_deref(), Some("10.0.0.1:5000"));
/// assert!(digest.local_addr().is_none());
/// ```
#[derive(Debug, Clone)]
pub struct SocketDigest {
    raw_fd: RawFd,
    peer_addr: Option<SocketAddr>,
    local_addr: Option<SocketAddr>,
}

impl SocketDigest {
    /// A digest of the socket `raw_fd` with its addresses (`None` when unknown).
    pub fn new(
        raw_fd: RawFd,
        peer_addr: Option<SocketAddr>,
        local_addr: Option<SocketAddr>,
    ) -> Self {
        SocketDigest {
            raw_fd,
            peer_addr,
            local_addr,
        }
    }

    /// The socket's file descriptor.
    pub fn raw_fd(&self) -> RawFd {
        self.raw_fd
    }

    /// The address of the other end.
    pub fn peer_addr(&self) -> Option<&SocketAddr> {
        self.peer_addr.as_ref()
    }

    /// The address of this end.
    pub fn local_addr(&self) -> Option<&SocketAddr> {
        self.local_addr.as_ref()
    }
}

/// A stream that can describe its socket.
///
/// Every [`IO`] has it: the streams of this crate answer, others return `None`.
pub trait GetSocketDigest {
    /// The socket's digest, if known.
    fn get_socket_digest(&self) -> Option<Arc<SocketDigest>>;
}

/// A stream that can tell when its layers were established.
///
/// Every [`IO`] has it: the streams of this crate answer, others return nothing.
pub trait GetTimingDigest {
    /// One entry per layer, lowest first (empty when unknown).
    fn get_timing_digest(&self) -> Vec<Option<TimingDigest>>;
}

/// A stream that can tell what the CONNECT proxy it goes through answered.
///
/// Every [`IO`] has it; always `None` for now (no proxied connections yet).
pub trait GetProxyDigest {
    /// The proxy's answer, if the stream goes through one.
    fn get_proxy_digest(&self) -> Option<Arc<ProxyDigest>>;
}

// The impls are blanket so that any transport is an `IO`; a stream of this crate is recognised by
// its type (a closed set, see `find_l4_stream`), which is how it answers with its own facts.

impl<T> GetSocketDigest for T
where
    T: AsyncRead + AsyncWrite + Unpin + Debug + Send + Sync + 'static,
{
    fn get_socket_digest(&self) -> Option<Arc<SocketDigest>> {
        find_l4_stream(self).map(L4Stream::socket_digest)
    }
}

impl<T> GetTimingDigest for T
where
    T: AsyncRead + AsyncWrite + Unpin + Debug + Send + Sync + 'static,
{
    fn get_timing_digest(&self) -> Vec<Option<TimingDigest>> {
        timing_layers(self)
    }
}

impl<T> GetProxyDigest for T
where
    T: AsyncRead + AsyncWrite + Unpin + Debug + Send + Sync + 'static,
{
    fn get_proxy_digest(&self) -> Option<Arc<ProxyDigest>> {
        None
    }
}

/// The stream inside `any`, when `any` is one of the wrappers this crate puts around a stream
/// (a boxed [`Stream`], a [`ReplayStream`], a TLS stream).
fn inner_layer(any: &dyn Any) -> Option<&dyn Any> {
    if let Some(boxed) = any.downcast_ref::<Stream>() {
        return Some((**boxed).as_any());
    }
    if let Some(replay) = any.downcast_ref::<ReplayStream<Stream>>() {
        return Some((**replay.inner()).as_any());
    }
    #[cfg(feature = "openssl")]
    if let Some(tls) = any.downcast_ref::<SslStream<Stream>>() {
        return Some((**tls.get_ref()).as_any());
    }
    None
}

/// The L4 stream under `any`, looking through the wrappers this crate puts around one. Each
/// step goes one layer in, so the walk ends.
fn find_l4_stream(any: &dyn Any) -> Option<&L4Stream> {
    let mut layer = any;
    loop {
        if let Some(stream) = layer.downcast_ref::<L4Stream>() {
            return Some(stream);
        }
        layer = inner_layer(layer)?;
    }
}

/// One timing entry per layer under `any`, lowest first: the socket's, then the TLS
/// session's. Empty for a foreign transport.
fn timing_layers(any: &dyn Any) -> Vec<Option<TimingDigest>> {
    // Room for the socket and one TLS layer: no regrowth on the way down.
    let mut upper = Vec::with_capacity(2);
    let mut layer = any;
    loop {
        if let Some(stream) = layer.downcast_ref::<L4Stream>() {
            upper.push(Some(stream.timing_digest()));
            upper.reverse();
            return upper;
        }
        #[cfg(feature = "openssl")]
        if let Some(tls) = layer.downcast_ref::<SslStream<Stream>>() {
            upper.push(Some(tls.timing_digest()));
        }
        match inner_layer(layer) {
            Some(inner) => layer = inner,
            None => return Vec::new(),
        }
    }
}

/// The digest of the outermost TLS session under `any`, if there is one.
fn find_ssl_digest(any: &dyn Any) -> Option<Arc<SslDigest>> {
    #[cfg(feature = "openssl")]
    {
        let mut layer = any;
        loop {
            if let Some(tls) = layer.downcast_ref::<SslStream<Stream>>() {
                return tls.ssl_digest();
            }
            layer = inner_layer(layer)?;
        }
    }
    #[cfg(not(feature = "openssl"))]
    {
        let _ = any;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foreign_transport_reports_no_digest() {
        let (a, _b) = tokio::io::duplex(8);
        let stream: Stream = Box::new(a);
        let digest = Digest::of(&*stream);
        assert!(digest.socket_digest.is_none());
        assert!(digest.timing_digest.is_empty());
        assert!(digest.proxy_digest.is_none());
        assert!(digest.ssl_digest.is_none());
    }
}
