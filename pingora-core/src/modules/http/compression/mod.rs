//! Response compression: the [`ResponseCompression`] module encodes response bodies with
//! zstd, brotli or gzip as the request's `Accept-Encoding` allows, and can decode an encoded
//! response for a client that cannot take its encoding.
//!
//! Install it with [`ResponseCompressionBuilder::enable`] (level 0 installs it switched off),
//! then change it per request through the request's module ctx, before the response header
//! goes out:
//!
//! ```
//! use pingora_core::modules::http::compression::{
//!     Algorithm, ResponseCompression, ResponseCompressionBuilder,
//! };
//! use pingora_core::modules::http::HttpModules;
//!
//! let mut modules = HttpModules::new();
//! modules.add_module(ResponseCompressionBuilder::enable(6));
//!
//! // In a proxy this is `session.downstream_modules_ctx`, e.g. in `request_filter`.
//! let mut ctx = modules.build_ctx();
//! let compression = ctx.get_mut::<ResponseCompression>().expect("installed above");
//! assert!(compression.is_enabled());
//! compression.adjust_algorithm_level(Algorithm::Brotli, 0); // no brotli for this request
//! compression.adjust_level(0); // or nothing at all
//! assert!(!compression.is_enabled());
//! ```
//!
//! # What is compressed
//!
//! A response is compressed when all of these hold:
//! - the level of some coding the client accepts is above 0 (levels are clamped to each
//!   codec's range: gzip 1–9, brotli 1–11, zstd 1–19);
//! - the request is not `HEAD`, and the status is not 1xx, 204, 304 or 206;
//! - the response has a body: its header did not end the response and it has no
//!   `Content-Length` below [`MIN_COMPRESS_LENGTH`] (a length is not needed: chunked and
//!   close-delimited bodies are compressed);
//! - it has no `Content-Encoding` (other than `identity`), no `Content-Range`, and no
//!   `Cache-Control: no-transform`;
//! - its `Content-Type` is not already-compressed media: `image/*` (but SVG), `audio/*`,
//!   `video/*`, zip, gzip, zstd, bzip2, xz, 7z, rar, `font/woff` and `font/woff2`.
//!
//! The coding is the one the client's `Accept-Encoding` weighs highest (`q` values honoured,
//! `q=0` excludes, `*` stands for every coding not named, `x-gzip` means gzip); ties go to
//! zstd, then brotli, then gzip (at level 6 zstd comes within a few percent of brotli's size
//! in about half its CPU time). A request without `Accept-Encoding` gets no coding, as nginx and Envoy do.
//!
//! When compressing, `Content-Length` and `Accept-Ranges` are removed, `Content-Encoding` is
//! set, `Vary: Accept-Encoding` is added (also to an eligible response sent uncompressed
//! because the client accepts nothing we offer, so caches keep the variants apart), and a
//! strong `ETag` becomes weak (`W/"..."`) unless `preserve_etag` is set.
//!
//! Each body piece is compressed and flushed as it passes, so the client can decode it at
//! once; the end of the body (the last body call, the trailers, or the done filter) ends the
//! compressed stream.
//!
//! # Decompression
//!
//! With decompression on ([`ResponseCompressionCtx::adjust_decompression`]), a response
//! encoded with a single gzip, brotli or zstd coding the client does not accept (a client
//! without `Accept-Encoding` accepts none) is decoded: `Content-Encoding`, `Content-Length`
//! and `Accept-Ranges` are removed, `Vary: Accept-Encoding` is added, and a strong `ETag` is
//! weakened (unless `preserve_etag`).
//! It is not re-encoded into another coding. Invalid or truncated encoded data fails the
//! response. Other codings (`deflate`, stacked codings) pass through untouched.

mod accept;
mod codec;
mod headers;

use std::any::Any;
use std::ops::{Deref, DerefMut};
use std::time::Duration;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use http::header::{
    ACCEPT_ENCODING, ACCEPT_RANGES, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_RANGE,
};
use http::{HeaderMap, Method};
use pingora_error::Result;
use pingora_http::{RequestHeader, ResponseHeader};

use self::accept::AcceptEncoding;
use self::codec::{Codec, Direction};
use self::headers::{
    add_vary_accept_encoding, content_encoding, content_length, has_token, is_precompressed_type,
    weaken_etag,
};
use super::{HttpModule, HttpModuleBuilder, Module, ModuleBuilder};

/// Bodies whose `Content-Length` is below this many bytes are sent as they are: the codec's
/// framing would outweigh any saving (nginx's `gzip_min_length` default).
pub const MIN_COMPRESS_LENGTH: u64 = 20;

/// Where the module runs among the others ([`HttpModuleBuilder::order`]): after the modules of
/// the default order 0, so that they see the body uncompressed.
const COMPRESSION_ORDER: i16 = -100;

/// A content coding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// Every coding: in [`ResponseCompressionCtx::adjust_algorithm_level`], all of them.
    Any,
    /// gzip (RFC 1952), `Content-Encoding: gzip`.
    Gzip,
    /// Brotli (RFC 7932), `Content-Encoding: br`.
    Brotli,
    /// Zstandard (RFC 8878), `Content-Encoding: zstd`.
    Zstd,
    /// A coding this module does not handle.
    Other,
}

impl Algorithm {
    /// The coding's `Content-Encoding` token: `gzip`, `br`, `zstd` (`*` for
    /// [`Any`](Self::Any), `other` for [`Other`](Self::Other)).
    pub fn as_str(&self) -> &'static str {
        match self {
            Algorithm::Any => "*",
            Algorithm::Gzip => "gzip",
            Algorithm::Brotli => "br",
            Algorithm::Zstd => "zstd",
            Algorithm::Other => "other",
        }
    }

    /// The coding a `Content-Encoding` value names (case-insensitive; `x-gzip` is gzip).
    fn from_content_encoding(value: &str) -> Self {
        let value = value.trim();
        if value.eq_ignore_ascii_case("gzip") || value.eq_ignore_ascii_case("x-gzip") {
            Algorithm::Gzip
        } else if value.eq_ignore_ascii_case("br") {
            Algorithm::Brotli
        } else if value.eq_ignore_ascii_case("zstd") {
            Algorithm::Zstd
        } else {
            Algorithm::Other
        }
    }

    /// The slot of a concrete coding in the per-coding settings.
    fn index(self) -> Option<usize> {
        match self {
            Algorithm::Gzip => Some(0),
            Algorithm::Brotli => Some(1),
            Algorithm::Zstd => Some(2),
            Algorithm::Any | Algorithm::Other => None,
        }
    }
}

/// The knobs of one request, per concrete coding (gzip, brotli, zstd).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Settings {
    levels: [u32; 3],
    decompress: [bool; 3],
    preserve_etag: bool,
}

impl Settings {
    fn level(&self, algorithm: Algorithm) -> u32 {
        algorithm.index().map_or(0, |i| self.levels[i])
    }

    fn decompresses(&self, algorithm: Algorithm) -> bool {
        algorithm.index().is_some_and(|i| self.decompress[i])
    }
}

/// Where a response is in its life, as far as this module is concerned.
#[derive(Debug)]
enum Phase {
    /// Before the final response header: the settings may still change.
    Waiting,
    /// The body goes through a codec (finished or not; it keeps its figures).
    Transforming(Box<Codec>),
    /// The response passes through unchanged.
    Untouched,
}

/// The per-request state of response compression: settings, what the request accepts, and,
/// once the response header was seen, the codec in use.
///
/// Setting changes take effect for a response whose final header was not seen yet.
#[derive(Debug)]
pub struct ResponseCompressionCtx {
    settings: Settings,
    accept: AcceptEncoding,
    head_request: bool,
    phase: Phase,
}

impl ResponseCompressionCtx {
    /// Compression at `level` for every coding (0 = off), decompression on or off, and
    /// whether a strong `ETag` stays strong when the body is changed.
    ///
    /// ```
    /// use pingora_core::modules::http::compression::ResponseCompressionCtx;
    ///
    /// assert!(!ResponseCompressionCtx::new(0, false, false).is_enabled());
    /// assert!(ResponseCompressionCtx::new(0, true, false).is_enabled());
    /// assert!(ResponseCompressionCtx::new(6, false, false).is_enabled());
    /// ```
    pub fn new(level: u32, decompress_enable: bool, preserve_etag: bool) -> Self {
        ResponseCompressionCtx {
            settings: Settings {
                levels: [level; 3],
                decompress: [decompress_enable; 3],
                preserve_etag,
            },
            accept: AcceptEncoding::default(),
            head_request: false,
            phase: Phase::Waiting,
        }
    }

    /// Whether this ctx changes the response: before the response header, whether any
    /// coding has a level above 0 or decompression on; after it, whether the body goes
    /// through a codec.
    pub fn is_enabled(&self) -> bool {
        match &self.phase {
            Phase::Waiting => {
                self.settings.levels.iter().any(|&l| l > 0)
                    || self.settings.decompress.iter().any(|&d| d)
            }
            Phase::Transforming(_) => true,
            Phase::Untouched => false,
        }
    }

    /// What the codec of this response did: its name (`gzip`, `br`, `zstd`, or `de-gzip`,
    /// `de-br`, `de-zstd` when decompressing), bytes in, bytes out, and the time spent in
    /// the codec. `None` when the body is not being transformed.
    pub fn get_info(&self) -> Option<(&'static str, usize, usize, Duration)> {
        match &self.phase {
            Phase::Transforming(codec) => Some(codec.info()),
            Phase::Waiting | Phase::Untouched => None,
        }
    }

    /// Sets the compression level of every coding (0 turns compression off).
    pub fn adjust_level(&mut self, new_level: u32) {
        self.settings.levels = [new_level; 3];
    }

    /// Sets the compression level of one coding (0 turns it off); [`Algorithm::Any`] sets all
    /// of them, [`Algorithm::Other`] nothing.
    pub fn adjust_algorithm_level(&mut self, algorithm: Algorithm, new_level: u32) {
        match algorithm {
            Algorithm::Any => self.adjust_level(new_level),
            other => {
                if let Some(i) = other.index() {
                    self.settings.levels[i] = new_level;
                }
            }
        }
    }

    /// Turns decompression of every coding on or off.
    pub fn adjust_decompression(&mut self, enabled: bool) {
        self.settings.decompress = [enabled; 3];
    }

    /// Turns decompression of one coding on or off ([`Algorithm::Any`]: all of them).
    pub fn adjust_algorithm_decompression(&mut self, algorithm: Algorithm, enabled: bool) {
        match algorithm {
            Algorithm::Any => self.adjust_decompression(enabled),
            other => {
                if let Some(i) = other.index() {
                    self.settings.decompress[i] = enabled;
                }
            }
        }
    }

    /// Whether a strong `ETag` stays strong on a body this module changes (by default it
    /// is weakened: the bytes are no longer those the tag names).
    pub fn adjust_preserve_etag(&mut self, enabled: bool) {
        self.settings.preserve_etag = enabled;
    }

    /// Records what the request accepts (`Accept-Encoding`) and whether it is `HEAD`. The
    /// module calls it from its request header filter.
    pub fn request_filter(&mut self, req: &RequestHeader) {
        self.accept = AcceptEncoding::parse(req.headers.get_all(ACCEPT_ENCODING).iter());
        self.head_request = req.method == Method::HEAD;
    }

    /// Decides, on the final response header, whether the body is compressed, decompressed
    /// or left alone, and rewrites the header to match (see the module docs). Interim (1xx)
    /// headers pass untouched and leave the decision to the final one.
    ///
    /// Fails only when a rewritten header cannot be set or a codec cannot be set up.
    pub fn response_header_filter(
        &mut self,
        resp: &mut ResponseHeader,
        end_of_stream: bool,
    ) -> Result<()> {
        if !matches!(self.phase, Phase::Waiting) {
            return Ok(());
        }
        let status = resp.status.as_u16();
        if (100..200).contains(&status) && status != 101 {
            return Ok(());
        }
        self.phase = self.decide(resp, end_of_stream)?;
        Ok(())
    }

    /// Transforms a piece of the response body in place (`None` out when the codec had
    /// nothing to emit yet); `end_of_stream` also ends the encoded stream. A body left alone
    /// passes through.
    ///
    /// Fails when the codec fails: invalid or truncated data while decompressing.
    pub fn response_body_filter(
        &mut self,
        body: &mut Option<Bytes>,
        end_of_stream: bool,
    ) -> Result<()> {
        let Phase::Transforming(codec) = &mut self.phase else {
            return Ok(());
        };
        let input = body.take().unwrap_or_default();
        if codec.is_finished() && input.is_empty() {
            return Ok(());
        }
        let mut out = if input.is_empty() {
            Bytes::new()
        } else {
            codec.transform(&input)?
        };
        if end_of_stream {
            out = join(out, codec.finish()?);
        }
        *body = (!out.is_empty()).then_some(out);
        Ok(())
    }

    /// Ends the encoded stream if the body filter did not; returns its last bytes, to be
    /// sent before the response ends. `None` when there is nothing to add.
    pub fn response_done_filter(&mut self) -> Result<Option<Bytes>> {
        let Phase::Transforming(codec) = &mut self.phase else {
            return Ok(None);
        };
        let tail = codec.finish()?;
        Ok((!tail.is_empty()).then_some(tail))
    }

    /// The phase the response header leads to; rewrites the header for it.
    fn decide(&self, resp: &mut ResponseHeader, end_of_stream: bool) -> Result<Phase> {
        // The default install is off: keep its cost per response to this check.
        if !self.is_enabled() {
            return Ok(Phase::Untouched);
        }
        let status = resp.status.as_u16();
        let headers = &resp.headers;
        let has_no_body = end_of_stream
            || self.head_request
            || matches!(status, 101 | 204 | 304)
            || content_length(headers) == Some(0);
        if has_no_body
            || status == 206
            || headers.contains_key(CONTENT_RANGE)
            || has_token(headers, CACHE_CONTROL, "no-transform")
        {
            return Ok(Phase::Untouched);
        }
        match content_encoding(headers) {
            None => self.decide_compression(resp),
            Some(encoding) => self.decide_decompression(resp, encoding),
        }
    }

    fn decide_compression(&self, resp: &mut ResponseHeader) -> Result<Phase> {
        let settings = &self.settings;
        let headers = &resp.headers;
        if settings.levels.iter().all(|&l| l == 0)
            || is_precompressed_type(headers)
            || content_length(headers).is_some_and(|len| len < MIN_COMPRESS_LENGTH)
        {
            return Ok(Phase::Untouched);
        }
        add_vary_accept_encoding(resp)?;
        let Some(algorithm) = self.accept.choose(|a| settings.level(a) > 0) else {
            return Ok(Phase::Untouched);
        };
        let codec = Codec::new(algorithm, Direction::Compress, settings.level(algorithm))?;
        resp.insert_header("Content-Encoding", algorithm.as_str())?;
        self.body_changed(resp)?;
        Ok(Phase::Transforming(Box::new(codec)))
    }

    fn decide_decompression(
        &self,
        resp: &mut ResponseHeader,
        encoding: Algorithm,
    ) -> Result<Phase> {
        if !self.settings.decompresses(encoding) || self.accept.accepts(encoding) {
            return Ok(Phase::Untouched);
        }
        let codec = Codec::new(encoding, Direction::Decompress, 0)?;
        resp.remove_header(&CONTENT_ENCODING);
        add_vary_accept_encoding(resp)?;
        self.body_changed(resp)?;
        Ok(Phase::Transforming(Box::new(codec)))
    }

    /// The header changes every transformed body needs: its length and byte ranges are
    /// unknown, and its strong validator no longer names these bytes.
    fn body_changed(&self, resp: &mut ResponseHeader) -> Result<()> {
        resp.remove_header(&CONTENT_LENGTH);
        resp.remove_header(&ACCEPT_RANGES);
        if !self.settings.preserve_etag {
            weaken_etag(resp)?;
        }
        Ok(())
    }
}

/// The compression module: one per request, reached through the request's module ctx
/// (`ctx.get_mut::<ResponseCompression>()`); derefs to its [`ResponseCompressionCtx`].
#[derive(Debug)]
pub struct ResponseCompression(ResponseCompressionCtx);

impl Deref for ResponseCompression {
    type Target = ResponseCompressionCtx;
    fn deref(&self) -> &ResponseCompressionCtx {
        &self.0
    }
}

impl DerefMut for ResponseCompression {
    fn deref_mut(&mut self) -> &mut ResponseCompressionCtx {
        &mut self.0
    }
}

impl ResponseCompression {
    /// A module with the settings of `self` and nothing seen yet: what its builder's `init`
    /// makes, without the box (the module ctx holds this module by value, see
    /// [`HttpModuleCtx`](super::HttpModuleCtx)).
    pub(crate) fn fresh(&self) -> Self {
        ResponseCompression(ResponseCompressionCtx {
            settings: self.0.settings,
            accept: AcceptEncoding::default(),
            head_request: false,
            phase: Phase::Waiting,
        })
    }
}

#[async_trait]
impl HttpModule for ResponseCompression {
    async fn request_header_filter(&mut self, req: &mut RequestHeader) -> Result<()> {
        self.0.request_filter(req);
        Ok(())
    }

    async fn response_header_filter(
        &mut self,
        resp: &mut ResponseHeader,
        end_of_stream: bool,
    ) -> Result<()> {
        self.0.response_header_filter(resp, end_of_stream)
    }

    fn response_body_filter(
        &mut self,
        body: &mut Option<Bytes>,
        end_of_stream: bool,
    ) -> Result<()> {
        self.0.response_body_filter(body, end_of_stream)
    }

    fn response_trailer_filter(
        &mut self,
        _trailers: &mut Option<Box<HeaderMap>>,
    ) -> Result<Option<Bytes>> {
        // Trailers end the body: the encoded stream ends before them.
        self.0.response_done_filter()
    }

    fn response_done_filter(&mut self) -> Result<Option<Bytes>> {
        self.0.response_done_filter()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// Installs [`ResponseCompression`] with a level for every coding.
#[derive(Debug, Clone, Copy)]
pub struct ResponseCompressionBuilder {
    level: u32,
}

impl ResponseCompressionBuilder {
    /// A builder whose modules compress at `level` (0: installed but off, to be switched on
    /// per request), with decompression off and `ETag`s weakened.
    ///
    /// ```
    /// use pingora_core::modules::http::compression::ResponseCompressionBuilder;
    /// use pingora_core::modules::http::HttpModules;
    ///
    /// let mut modules = HttpModules::new();
    /// modules.add_module(ResponseCompressionBuilder::enable(6));
    /// ```
    pub fn enable(level: u32) -> ModuleBuilder {
        Box::new(ResponseCompressionBuilder { level })
    }
}

impl HttpModuleBuilder for ResponseCompressionBuilder {
    fn order(&self) -> i16 {
        COMPRESSION_ORDER
    }

    fn init(&self) -> Module {
        Box::new(ResponseCompression(ResponseCompressionCtx::new(
            self.level, false, false,
        )))
    }
}

/// `a` then `b`, copying only when both have bytes.
fn join(a: Bytes, b: Bytes) -> Bytes {
    if a.is_empty() {
        return b;
    }
    if b.is_empty() {
        return a;
    }
    let mut joined = BytesMut::with_capacity(a.len() + b.len());
    joined.extend_from_slice(&a);
    joined.extend_from_slice(&b);
    joined.freeze()
}

#[cfg(test)]
mod tests;
