//! HTTP modules: filters over the request and response of every HTTP request of a service.
//!
//! A service keeps one [`HttpModules`] (a list of [`HttpModuleBuilder`]s); each request gets
//! its own [`HttpModuleCtx`] from [`HttpModules::build_ctx`], holding one fresh module per
//! builder, and the ctx runs the modules' filters in order (higher
//! [`order`](HttpModuleBuilder::order) first).
//!
//! ```
//! use std::any::Any;
//! use async_trait::async_trait;
//! use pingora_core::modules::http::{HttpModule, HttpModuleBuilder, HttpModules, Module};
//! use pingora_error::Result;
//! use pingora_http::RequestHeader;
//!
//! /// Counts the requests it saw and tags them.
//! #[derive(Default)]
//! struct Tagger {
//!     seen: usize,
//! }
//!
//! #[async_trait]
//! impl HttpModule for Tagger {
//!     async fn request_header_filter(&mut self, req: &mut RequestHeader) -> Result<()> {
//!         self.seen += 1;
//!         req.insert_header("x-tagged", "1")
//!     }
//!     fn as_any(&self) -> &dyn Any { self }
//!     fn as_any_mut(&mut self) -> &mut dyn Any { self }
//! }
//!
//! struct TaggerBuilder;
//! impl HttpModuleBuilder for TaggerBuilder {
//!     fn init(&self) -> Module { Box::new(Tagger::default()) }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<()> {
//! let mut modules = HttpModules::new();
//! modules.add_module(Box::new(TaggerBuilder));
//! let mut ctx = modules.build_ctx();
//! let mut req = RequestHeader::build("GET", b"/", None)?;
//! ctx.request_header_filter(&mut req).await?;
//! assert_eq!(req.headers["x-tagged"], "1");
//! assert_eq!(ctx.get::<Tagger>().map(|t| t.seen), Some(1));
//! # Ok(())
//! # }
//! ```

pub mod compression;
pub mod grpc_web;

use std::any::{Any, TypeId};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use http::HeaderMap;
use pingora_error::Result;
use pingora_http::{RequestHeader, ResponseHeader};

use compression::{ResponseCompression, ResponseCompressionCtx};

/// One module's filters for one request. Every filter passes its input through unchanged
/// unless overridden.
#[async_trait]
pub trait HttpModule {
    /// Sees (and may change) the request header before the request is handled.
    async fn request_header_filter(&mut self, _req: &mut RequestHeader) -> Result<()> {
        Ok(())
    }

    /// Sees each piece of the request body; `end_of_stream` marks the last call.
    async fn request_body_filter(
        &mut self,
        _body: &mut Option<Bytes>,
        _end_of_stream: bool,
    ) -> Result<()> {
        Ok(())
    }

    /// Sees the response header before it is written downstream.
    async fn response_header_filter(
        &mut self,
        _resp: &mut ResponseHeader,
        _end_of_stream: bool,
    ) -> Result<()> {
        Ok(())
    }

    /// Sees each piece of the response body; `end_of_stream` marks the last call.
    fn response_body_filter(
        &mut self,
        _body: &mut Option<Bytes>,
        _end_of_stream: bool,
    ) -> Result<()> {
        Ok(())
    }

    /// Sees the response trailers; a returned `Some(bytes)` is sent as final body bytes.
    fn response_trailer_filter(
        &mut self,
        _trailers: &mut Option<Box<HeaderMap>>,
    ) -> Result<Option<Bytes>> {
        Ok(None)
    }

    /// Called when the response is done; a returned `Some(bytes)` is sent as final body bytes.
    fn response_done_filter(&mut self) -> Result<Option<Bytes>> {
        Ok(None)
    }

    /// The module as [`Any`], so [`HttpModuleCtx::get`] can find it by type.
    fn as_any(&self) -> &dyn Any;

    /// The module as mutable [`Any`], for [`HttpModuleCtx::get_mut`].
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

/// A boxed module, as a builder returns it.
pub type Module = Box<dyn HttpModule + 'static + Send + Sync>;

/// Makes a fresh module for each request.
pub trait HttpModuleBuilder {
    /// Where the module runs among the others: higher runs earlier. Default 0.
    fn order(&self) -> i16 {
        0
    }

    /// A new module for one request.
    fn init(&self) -> Module;
}

/// A boxed builder, as [`HttpModules::add_module`] takes it.
pub type ModuleBuilder = Box<dyn HttpModuleBuilder + 'static + Send + Sync>;

/// The modules a service installs, in run order.
#[derive(Default)]
pub struct HttpModules {
    builders: Vec<Installed>,
    module_types: HashSet<TypeId>,
    ctx_built: AtomicBool,
}

/// One installed builder. The built-in compression module, which the proxy installs for every
/// request (usually switched off), is kept as a prototype and copied into each ctx by value:
/// no box per request, and its filters are called directly instead of through boxed futures.
struct Installed {
    builder: ModuleBuilder,
    compression: Option<ResponseCompression>,
}

impl std::fmt::Debug for HttpModules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpModules")
            .field("modules", &self.builders.len())
            .finish()
    }
}

impl HttpModules {
    /// No modules.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a module. Panics when a ctx was already built from this list (the modules of a
    /// running service are fixed) or when a module of the same type is already installed.
    pub fn add_module(&mut self, builder: ModuleBuilder) {
        assert!(
            !self.ctx_built.load(Ordering::Relaxed),
            "modules cannot be added after a request context was built"
        );
        let probe = builder.init();
        let module_type = probe.as_any().type_id();
        assert!(
            self.module_types.insert(module_type),
            "a module of this type is already installed"
        );
        let compression = probe
            .as_any()
            .downcast_ref::<ResponseCompression>()
            .map(ResponseCompression::fresh);
        self.builders.push(Installed {
            builder,
            compression,
        });
        // Stable: equal orders keep the order they were added in.
        self.builders
            .sort_by_key(|installed| std::cmp::Reverse(installed.builder.order()));
    }

    /// One fresh module per builder, for one request.
    pub fn build_ctx(&self) -> HttpModuleCtx {
        self.ctx_built.store(true, Ordering::Relaxed);
        let mut ctx = HttpModuleCtx::default();
        for installed in &self.builders {
            match &installed.compression {
                Some(prototype) => {
                    ctx.compression = Some((ctx.modules.len(), prototype.fresh()));
                }
                None => ctx.modules.push(installed.builder.init()),
            }
        }
        ctx
    }
}

/// The modules of one request, and the runners that call their filters in order.
#[derive(Default)]
pub struct HttpModuleCtx {
    /// Every module but the built-in compression one, in run order.
    modules: Vec<Module>,
    /// The compression module when installed, and how many of `modules` run before it.
    compression: Option<(usize, ResponseCompression)>,
}

/// One module of a ctx as the runners see it.
enum Slot<'a> {
    Boxed(&'a mut Module),
    Compression(&'a mut ResponseCompression),
}

impl Slot<'_> {
    /// The module, for the filters that are plain functions (no future to box).
    fn module(&mut self) -> &mut dyn HttpModule {
        match self {
            Slot::Boxed(module) => module.as_mut(),
            Slot::Compression(module) => *module,
        }
    }
}

impl std::fmt::Debug for HttpModuleCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let count = self.modules.len() + usize::from(self.compression.is_some());
        f.debug_struct("HttpModuleCtx")
            .field("modules", &count)
            .finish()
    }
}

impl HttpModuleCtx {
    /// A ctx without modules: every runner passes its input through.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Every module, in run order.
    fn slots(&mut self) -> impl Iterator<Item = Slot<'_>> + Send {
        let at = self
            .compression
            .as_ref()
            .map_or(self.modules.len(), |(at, _)| *at);
        let (before, after) = self.modules.split_at_mut(at);
        before
            .iter_mut()
            .map(Slot::Boxed)
            .chain(self.compression.as_mut().map(|(_, c)| Slot::Compression(c)))
            .chain(after.iter_mut().map(Slot::Boxed))
    }

    /// The module of type `T`, if installed.
    pub fn get<T: 'static>(&self) -> Option<&T> {
        let compression = self.compression.as_ref().map(|(_, c)| c as &dyn Any);
        compression.and_then(|c| c.downcast_ref::<T>()).or_else(|| {
            self.modules
                .iter()
                .find_map(|m| m.as_any().downcast_ref::<T>())
        })
    }

    /// The module of type `T`, to change its per-request settings.
    pub fn get_mut<T: 'static>(&mut self) -> Option<&mut T> {
        if let Some((_, c)) = self.compression.as_mut() {
            if let Some(found) = (c as &mut dyn Any).downcast_mut::<T>() {
                return Some(found);
            }
        }
        self.modules
            .iter_mut()
            .find_map(|m| m.as_any_mut().downcast_mut::<T>())
    }

    /// Runs every module's request header filter; the first error stops the run.
    pub async fn request_header_filter(&mut self, req: &mut RequestHeader) -> Result<()> {
        for slot in self.slots() {
            match slot {
                Slot::Boxed(module) => module.request_header_filter(req).await?,
                Slot::Compression(module) => module.request_filter(req),
            }
        }
        Ok(())
    }

    /// Runs every module's request body filter.
    pub async fn request_body_filter(
        &mut self,
        body: &mut Option<Bytes>,
        end_of_stream: bool,
    ) -> Result<()> {
        for slot in self.slots() {
            // The compression module leaves request bodies alone.
            if let Slot::Boxed(module) = slot {
                module.request_body_filter(body, end_of_stream).await?;
            }
        }
        Ok(())
    }

    /// Runs every module's response header filter.
    pub async fn response_header_filter(
        &mut self,
        resp: &mut ResponseHeader,
        end_of_stream: bool,
    ) -> Result<()> {
        for slot in self.slots() {
            match slot {
                Slot::Boxed(module) => {
                    module.response_header_filter(resp, end_of_stream).await?;
                }
                Slot::Compression(module) => {
                    // The ctx's own filter, not the trait's boxed future.
                    ResponseCompressionCtx::response_header_filter(module, resp, end_of_stream)?;
                }
            }
        }
        Ok(())
    }

    /// Runs every module's response body filter.
    pub fn response_body_filter(
        &mut self,
        body: &mut Option<Bytes>,
        end_of_stream: bool,
    ) -> Result<()> {
        for mut slot in self.slots() {
            slot.module().response_body_filter(body, end_of_stream)?;
        }
        Ok(())
    }

    /// Runs every module's trailer filter; bytes a module returns are handed to the
    /// modules after it as body and returned to be sent before the trailers end the response.
    pub fn response_trailer_filter(
        &mut self,
        trailers: &mut Option<Box<HeaderMap>>,
    ) -> Result<Option<Bytes>> {
        let mut extra: Option<Bytes> = None;
        for mut slot in self.slots() {
            let module = slot.module();
            if extra.is_some() {
                module.response_body_filter(&mut extra, false)?;
            }
            if let Some(more) = module.response_trailer_filter(trailers)? {
                extra = Some(more);
            }
        }
        Ok(extra)
    }

    /// Runs every module's done filter; returns the last bytes any module wants sent.
    pub fn response_done_filter(&mut self) -> Result<Option<Bytes>> {
        let mut extra: Option<Bytes> = None;
        for mut slot in self.slots() {
            let module = slot.module();
            if extra.is_some() {
                module.response_body_filter(&mut extra, false)?;
            }
            if let Some(more) = module.response_done_filter()? {
                extra = Some(more);
            }
        }
        Ok(extra)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Mark(&'static str, i16);

    struct MarkModule(&'static str);

    #[async_trait]
    impl HttpModule for MarkModule {
        async fn request_header_filter(&mut self, req: &mut RequestHeader) -> Result<()> {
            req.append_header("x-order", self.0)?;
            Ok(())
        }
        fn as_any(&self) -> &dyn Any {
            self
        }
        fn as_any_mut(&mut self) -> &mut dyn Any {
            self
        }
    }

    struct Other;

    #[async_trait]
    impl HttpModule for Other {
        async fn request_header_filter(&mut self, req: &mut RequestHeader) -> Result<()> {
            req.append_header("x-order", "other")?;
            Ok(())
        }
        fn as_any(&self) -> &dyn Any {
            self
        }
        fn as_any_mut(&mut self) -> &mut dyn Any {
            self
        }
    }

    impl HttpModuleBuilder for Mark {
        fn order(&self) -> i16 {
            self.1
        }
        fn init(&self) -> Module {
            if self.0 == "other" {
                Box::new(Other)
            } else {
                Box::new(MarkModule(self.0))
            }
        }
    }

    #[tokio::test]
    async fn higher_order_modules_run_first() {
        let mut modules = HttpModules::new();
        modules.add_module(Box::new(Mark("low", -1)));
        modules.add_module(Box::new(Mark("other", 5)));
        let mut ctx = modules.build_ctx();
        let mut req = RequestHeader::build("GET", b"/", None).expect("static request is valid");
        ctx.request_header_filter(&mut req)
            .await
            .expect("filters pass");
        let order: Vec<_> = req
            .headers
            .get_all("x-order")
            .iter()
            .map(|v| v.to_str().unwrap_or_default().to_string())
            .collect();
        assert_eq!(order, ["other", "low"]);
        assert!(ctx.get::<Other>().is_some());
        assert!(ctx.get_mut::<MarkModule>().is_some());
        assert!(HttpModuleCtx::empty().get::<Other>().is_none());
    }

    /// Keeps the response body bytes it sees; `N` makes distinct types, `order` places it.
    #[derive(Default)]
    struct Watch<const N: u8> {
        seen: Vec<u8>,
    }

    impl<const N: u8> HttpModule for Watch<N> {
        fn response_body_filter(&mut self, body: &mut Option<Bytes>, _end: bool) -> Result<()> {
            if let Some(bytes) = body {
                self.seen.extend_from_slice(bytes);
            }
            Ok(())
        }
        fn as_any(&self) -> &dyn Any {
            self
        }
        fn as_any_mut(&mut self) -> &mut dyn Any {
            self
        }
    }

    struct WatchAt<const N: u8>(i16);

    impl<const N: u8> HttpModuleBuilder for WatchAt<N> {
        fn order(&self) -> i16 {
            self.0
        }
        fn init(&self) -> Module {
            Box::new(Watch::<N>::default())
        }
    }

    #[tokio::test]
    async fn the_compression_module_runs_in_its_order_among_the_others() {
        let mut modules = HttpModules::new();
        modules.add_module(Box::new(WatchAt::<1>(0)));
        modules.add_module(compression::ResponseCompressionBuilder::enable(6));
        modules.add_module(Box::new(WatchAt::<2>(-200)));
        let mut ctx = modules.build_ctx();
        assert!(ctx
            .get::<ResponseCompression>()
            .is_some_and(|c| c.is_enabled()));

        let mut req = RequestHeader::build("GET", b"/", None).expect("static request");
        req.insert_header("Accept-Encoding", "gzip").expect("valid");
        ctx.request_header_filter(&mut req)
            .await
            .expect("filters pass");
        let mut resp = ResponseHeader::build(200, None).expect("static response");
        resp.insert_header("Content-Type", "text/plain")
            .expect("valid");
        ctx.response_header_filter(&mut resp, false)
            .await
            .expect("filters pass");
        assert_eq!(resp.headers["content-encoding"], "gzip");
        let mut body = Some(Bytes::from(vec![b'a'; 1000]));
        ctx.response_body_filter(&mut body, true)
            .expect("filters pass");

        // Order 0 runs before compression (-100) and sees the plain body; -200 runs after it
        // and sees gzip (magic bytes 1f 8b).
        let before = &ctx.get::<Watch<1>>().expect("installed").seen;
        assert_eq!(before, &vec![b'a'; 1000]);
        let after = &ctx.get::<Watch<2>>().expect("installed").seen;
        assert!(after.starts_with(&[0x1f, 0x8b]), "{after:?}");
        assert!(after.len() < 100);
    }

    #[test]
    #[should_panic(expected = "already installed")]
    fn a_second_module_of_the_same_type_panics() {
        let mut modules = HttpModules::new();
        modules.add_module(Box::new(Mark("a", 0)));
        modules.add_module(Box::new(Mark("b", 0)));
    }

    #[test]
    #[should_panic(expected = "after a request context")]
    fn adding_after_a_ctx_was_built_panics() {
        let mut modules = HttpModules::new();
        let _ctx = modules.build_ctx();
        modules.add_module(Box::new(Mark("a", 0)));
    }
}
