//! gRPC-web bridge: the [`GrpcWebBridge`] module lets browsers' gRPC-web clients talk to a
//! gRPC upstream by rewriting the request into gRPC and the response (trailers included)
//! back into gRPC-web.
//!
//! The module does nothing until a phase calls [`GrpcWebCtx::init`] for the request; then,
//! for a request whose `Content-Type` is `application/grpc-web` or
//! `application/grpc-web+<subtype>`:
//!
//! - the request's `Content-Type` becomes `application/grpc` (the `+<subtype>` and any
//!   parameters kept) and `TE: trailers` is set; a `Content-Length` stays as it is, since
//!   the binary message framing of gRPC-web and gRPC bodies is the same;
//! - a response whose `Content-Type` is `application/grpc...` gets `application/grpc-web...`
//!   (same subtype) and loses its `Content-Length`, because a trailer frame may be appended;
//! - the response trailers are not sent as HTTP trailers but encoded into the body as one
//!   gRPC-web trailer frame: the byte `0x80`, the payload length as 4 big-endian bytes, then
//!   a `name:value\r\n` line per trailer value (names lower-case);
//! - a gRPC "trailers-only" response (no body, no trailers, `grpc-status` in its header) is
//!   passed on with its header as is: gRPC-web clients read the status from the header then.
//!
//! Requests with any other `Content-Type` are left alone even after `init`. The text form,
//! `application/grpc-web-text` (base64 bodies), is **not supported** and left alone too.
//!
//! `TE` is a hop-by-hop header, but the proxy passes a `TE` whose only value is `trailers` on
//! to the upstream, so the one set here arrives.

use std::any::Any;
use std::ops::{Deref, DerefMut};

use async_trait::async_trait;
use bytes::{BufMut, Bytes, BytesMut};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, TE};
use http::{HeaderMap, HeaderValue};
use pingora_error::Result;
use pingora_http::{RequestHeader, ResponseHeader};

use super::{HttpModule, HttpModuleBuilder, Module};

/// The flag byte that marks a gRPC-web trailer frame (a message frame has `0x00`).
const TRAILER_FRAME_FLAG: u8 = 0x80;

/// Builds a [`GrpcWebBridge`] per request. Install it with
/// [`HttpModules::add_module`](super::HttpModules::add_module) (in a proxy, in
/// `ProxyHttp::init_downstream_modules`), then switch it on per request with
/// [`GrpcWebCtx::init`] (in a proxy, in `early_request_filter`, through
/// `session.downstream_modules_ctx`).
///
/// ```
/// use pingora_core::modules::http::grpc_web::{GrpcWeb, GrpcWebBridge};
/// use pingora_core::modules::http::HttpModules;
/// use pingora_http::RequestHeader;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> pingora_error::Result<()> {
/// let mut modules = HttpModules::new();
/// modules.add_module(Box::new(GrpcWeb));
///
/// // In a proxy this is `session.downstream_modules_ctx`, in `early_request_filter`.
/// let mut ctx = modules.build_ctx();
/// ctx.get_mut::<GrpcWebBridge>()
///     .expect("installed above")
///     .init();
///
/// let mut req = RequestHeader::build("POST", b"/pkg.Service/Call", None)?;
/// req.insert_header("Content-Type", "application/grpc-web+proto")?;
/// ctx.request_header_filter(&mut req).await?;
/// assert_eq!(req.headers["content-type"], "application/grpc+proto");
/// assert_eq!(req.headers["te"], "trailers");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct GrpcWeb;

impl HttpModuleBuilder for GrpcWeb {
    fn init(&self) -> Module {
        Box::new(GrpcWebBridge::default())
    }
}

/// The gRPC-web bridge module of one request; derefs to its [`GrpcWebCtx`].
#[derive(Debug, Default)]
pub struct GrpcWebBridge(GrpcWebCtx);

impl Deref for GrpcWebBridge {
    type Target = GrpcWebCtx;
    fn deref(&self) -> &GrpcWebCtx {
        &self.0
    }
}

impl DerefMut for GrpcWebBridge {
    fn deref_mut(&mut self) -> &mut GrpcWebCtx {
        &mut self.0
    }
}

/// The per-request state of the bridge: whether it was switched on, and whether the request
/// turned out to be a gRPC-web one it bridges.
#[derive(Debug, Default)]
pub struct GrpcWebCtx {
    enabled: bool,
    bridging: bool,
}

impl GrpcWebCtx {
    /// Switches the bridge on for this request. Call it before the module sees the request
    /// header (in a proxy: in `early_request_filter`); without it the module changes nothing.
    pub fn init(&mut self) {
        self.enabled = true;
    }

    /// Whether [`init`](Self::init) was called for this request.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// Whether this request is being bridged: the bridge is on and the request header was a
    /// binary gRPC-web one (known once the module has seen the request header).
    pub fn is_bridging(&self) -> bool {
        self.bridging
    }

    fn rewrite_request(&mut self, req: &mut RequestHeader) -> Result<()> {
        if !self.enabled {
            return Ok(());
        }
        let Some(grpc) = req
            .headers
            .get(CONTENT_TYPE)
            .and_then(|value| swap_prefix(value, GRPC_WEB, GRPC))
        else {
            return Ok(());
        };
        self.bridging = true;
        req.insert_header(CONTENT_TYPE, grpc)?;
        req.insert_header(TE, "trailers")
    }

    fn rewrite_response(&mut self, resp: &mut ResponseHeader) -> Result<()> {
        if !self.bridging {
            return Ok(());
        }
        let Some(grpc_web) = resp
            .headers
            .get(CONTENT_TYPE)
            .and_then(|value| swap_prefix(value, GRPC, GRPC_WEB))
        else {
            return Ok(());
        };
        resp.insert_header(CONTENT_TYPE, grpc_web)?;
        resp.remove_header(&CONTENT_LENGTH);
        Ok(())
    }

    fn encode_trailers(&mut self, trailers: &mut Option<Box<HeaderMap>>) -> Option<Bytes> {
        if !self.bridging {
            return None;
        }
        trailers.take().map(|trailers| trailer_frame(&trailers))
    }
}

#[async_trait]
impl HttpModule for GrpcWebBridge {
    async fn request_header_filter(&mut self, req: &mut RequestHeader) -> Result<()> {
        self.0.rewrite_request(req)
    }

    async fn response_header_filter(
        &mut self,
        resp: &mut ResponseHeader,
        _end_of_stream: bool,
    ) -> Result<()> {
        self.0.rewrite_response(resp)
    }

    fn response_trailer_filter(
        &mut self,
        trailers: &mut Option<Box<HeaderMap>>,
    ) -> Result<Option<Bytes>> {
        Ok(self.0.encode_trailers(trailers))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

const GRPC_WEB: &[u8] = b"application/grpc-web";
const GRPC: &[u8] = b"application/grpc";

/// `value` with its media type `from` (matched case-insensitively) replaced by `to`, when
/// the media type is exactly `from` or `from+<subtype>`; what follows (`+subtype`,
/// `;parameters`) is kept. `None` for any other value, e.g. `from-text`.
fn swap_prefix(value: &HeaderValue, from: &[u8], to: &[u8]) -> Option<HeaderValue> {
    let bytes = value.as_bytes();
    let head = bytes.get(..from.len())?;
    if !head.eq_ignore_ascii_case(from) {
        return None;
    }
    let rest = &bytes[from.len()..];
    if !matches!(rest.first(), None | Some(b'+' | b';' | b' ' | b'\t')) {
        return None;
    }
    let mut swapped = Vec::with_capacity(to.len() + rest.len());
    swapped.extend_from_slice(to);
    swapped.extend_from_slice(rest);
    HeaderValue::from_bytes(&swapped).ok()
}

/// The gRPC-web trailer frame for `trailers`: `0x80`, the payload length (4 bytes, big
/// endian), then `name:value\r\n` for each value.
fn trailer_frame(trailers: &HeaderMap) -> Bytes {
    let payload_len: usize = trailers
        .iter()
        .map(|(name, value)| name.as_str().len() + 1 + value.len() + 2)
        .sum();
    let mut frame = BytesMut::with_capacity(5 + payload_len);
    frame.put_u8(TRAILER_FRAME_FLAG);
    // A header map bigger than 4 GiB cannot be received; saturate rather than wrap anyway.
    frame.put_u32(u32::try_from(payload_len).unwrap_or(u32::MAX));
    for (name, value) in trailers {
        // `HeaderName`s are lower-case already.
        frame.put_slice(name.as_str().as_bytes());
        frame.put_u8(b':');
        frame.put_slice(value.as_bytes());
        frame.put_slice(b"\r\n");
    }
    frame.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::http::HttpModules;

    fn bridge(enabled: bool) -> GrpcWebBridge {
        let mut bridge = GrpcWebBridge::default();
        if enabled {
            bridge.init();
        }
        bridge
    }

    fn request(content_type: &str) -> RequestHeader {
        let mut req = RequestHeader::build("POST", b"/pkg.Svc/Call", None).expect("static");
        req.insert_header("Content-Type", content_type)
            .expect("valid");
        req.insert_header("Content-Length", "12").expect("valid");
        req
    }

    fn response(content_type: &str) -> ResponseHeader {
        let mut resp = ResponseHeader::build(200, None).expect("static");
        resp.insert_header("Content-Type", content_type)
            .expect("valid");
        resp.insert_header("Content-Length", "12").expect("valid");
        resp
    }

    #[tokio::test]
    async fn a_grpc_web_request_becomes_grpc_with_te_trailers_and_its_length() {
        let mut module = bridge(true);
        let mut req = request("application/grpc-web");
        module.request_header_filter(&mut req).await.expect("ok");
        assert_eq!(req.headers["content-type"], "application/grpc");
        assert_eq!(req.headers["te"], "trailers");
        assert_eq!(req.headers["content-length"], "12");
        assert!(module.is_bridging());
    }

    #[tokio::test]
    async fn the_subtype_is_kept_both_ways() {
        let mut module = bridge(true);
        let mut req = request("application/grpc-web+proto");
        module.request_header_filter(&mut req).await.expect("ok");
        assert_eq!(req.headers["content-type"], "application/grpc+proto");

        let mut resp = response("application/grpc+proto");
        module
            .response_header_filter(&mut resp, false)
            .await
            .expect("ok");
        assert_eq!(resp.headers["content-type"], "application/grpc-web+proto");
        assert!(!resp.headers.contains_key("content-length"));
    }

    #[tokio::test]
    async fn a_grpc_response_becomes_grpc_web_without_content_length() {
        let mut module = bridge(true);
        module
            .request_header_filter(&mut request("application/grpc-web"))
            .await
            .expect("ok");
        let mut resp = response("application/grpc");
        module
            .response_header_filter(&mut resp, false)
            .await
            .expect("ok");
        assert_eq!(resp.headers["content-type"], "application/grpc-web");
        assert!(!resp.headers.contains_key("content-length"));
    }

    #[tokio::test]
    async fn grpc_web_text_and_other_types_are_left_alone() {
        for content_type in [
            "application/grpc-web-text",
            "application/grpc-web-text+proto",
            "application/grpc-webx",
            "application/grpc",
            "application/json",
        ] {
            let mut module = bridge(true);
            let mut req = request(content_type);
            module.request_header_filter(&mut req).await.expect("ok");
            assert_eq!(req.headers["content-type"], content_type);
            assert!(!req.headers.contains_key("te"), "{content_type}");
            assert!(!module.is_bridging());

            let mut resp = response("application/grpc");
            module
                .response_header_filter(&mut resp, false)
                .await
                .expect("ok");
            assert_eq!(resp.headers["content-type"], "application/grpc");
            assert_eq!(resp.headers["content-length"], "12");
            let mut trailers = Some(Box::new(grpc_trailers()));
            let extra = module.response_trailer_filter(&mut trailers).expect("ok");
            assert!(extra.is_none());
            assert!(trailers.is_some());
        }
    }

    #[tokio::test]
    async fn without_init_nothing_changes() {
        let mut module = bridge(false);
        assert!(!module.is_enabled());
        let mut req = request("application/grpc-web+proto");
        module.request_header_filter(&mut req).await.expect("ok");
        assert_eq!(req.headers["content-type"], "application/grpc-web+proto");
        assert!(!req.headers.contains_key("te"));

        let mut resp = response("application/grpc+proto");
        module
            .response_header_filter(&mut resp, false)
            .await
            .expect("ok");
        assert_eq!(resp.headers["content-type"], "application/grpc+proto");
        let mut trailers = Some(Box::new(grpc_trailers()));
        assert!(module
            .response_trailer_filter(&mut trailers)
            .expect("ok")
            .is_none());
        assert!(trailers.is_some());
    }

    #[tokio::test]
    async fn the_media_type_matches_case_insensitively_and_keeps_parameters() {
        let mut module = bridge(true);
        let mut req = request("Application/gRPC-Web+proto; charset=utf-8");
        module.request_header_filter(&mut req).await.expect("ok");
        assert_eq!(
            req.headers["content-type"],
            "application/grpc+proto; charset=utf-8"
        );
    }

    fn grpc_trailers() -> HeaderMap {
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", HeaderValue::from_static("0"));
        trailers.insert("Grpc-Message", HeaderValue::from_static("ok"));
        trailers
    }

    #[tokio::test]
    async fn trailers_become_one_trailer_frame_and_no_http_trailers() {
        let mut module = bridge(true);
        module
            .request_header_filter(&mut request("application/grpc-web+proto"))
            .await
            .expect("ok");
        let mut trailers = Some(Box::new(grpc_trailers()));
        let frame = module
            .response_trailer_filter(&mut trailers)
            .expect("ok")
            .expect("a frame");
        let payload = b"grpc-status:0\r\ngrpc-message:ok\r\n";
        let mut expected = vec![0x80, 0, 0, 0, payload.len() as u8];
        expected.extend_from_slice(payload);
        assert_eq!(&frame[..], &expected[..]);
        assert!(trailers.is_none());
    }

    #[test]
    fn repeated_trailer_values_each_get_a_line() {
        let mut trailers = HeaderMap::new();
        trailers.append("x-a", HeaderValue::from_static("1"));
        trailers.append("x-a", HeaderValue::from_static("2"));
        assert_eq!(
            &trailer_frame(&trailers)[..],
            b"\x80\x00\x00\x00\x0ex-a:1\r\nx-a:2\r\n"
        );
        assert_eq!(&trailer_frame(&HeaderMap::new())[..], b"\x80\0\0\0\0");
    }

    #[tokio::test]
    async fn no_trailers_add_nothing_and_trailers_only_headers_stay() {
        let mut module = bridge(true);
        module
            .request_header_filter(&mut request("application/grpc-web"))
            .await
            .expect("ok");
        let mut resp = ResponseHeader::build(200, None).expect("static");
        resp.insert_header("Content-Type", "application/grpc")
            .expect("valid");
        resp.insert_header("grpc-status", "5").expect("valid");
        module
            .response_header_filter(&mut resp, true)
            .await
            .expect("ok");
        assert_eq!(resp.headers["grpc-status"], "5");
        assert_eq!(resp.headers["content-type"], "application/grpc-web");

        let mut trailers = None;
        assert!(module
            .response_trailer_filter(&mut trailers)
            .expect("ok")
            .is_none());
        assert!(module.response_done_filter().expect("ok").is_none());
    }

    #[tokio::test]
    async fn the_builder_installs_a_module_found_by_type() {
        let mut modules = HttpModules::new();
        modules.add_module(Box::new(GrpcWeb));
        let mut ctx = modules.build_ctx();
        let bridge = ctx.get_mut::<GrpcWebBridge>().expect("installed");
        assert!(!bridge.is_enabled());
        bridge.init();
        let mut req = request("application/grpc-web");
        ctx.request_header_filter(&mut req).await.expect("ok");
        assert_eq!(req.headers["content-type"], "application/grpc");
        let mut trailers = Some(Box::new(grpc_trailers()));
        let extra = ctx.response_trailer_filter(&mut trailers).expect("ok");
        assert!(extra.is_some_and(|frame| frame[0] == 0x80));
        assert!(trailers.is_none());
    }
}
