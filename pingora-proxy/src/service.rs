//! Building the proxy: [`HttpProxy`] (the engine as an HTTP app) and the functions that wrap
//! it in a listening service.

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use http::Method;
use log::{debug, info};
use pingora_core::apps::{
    HttpPersistentSettings, HttpServerApp, HttpServerOptions, ReusedHttpStream,
};
use pingora_core::connectors::http::Connector;
use pingora_core::connectors::ConnectorOptions;
use pingora_core::modules::http::HttpModules;
use pingora_core::protocols::http::ServerSession;
use pingora_core::server::configuration::ServerConf;
use pingora_core::server::ShutdownWatch;
use pingora_core::services::listening::Service;
use pingora_error::ErrorType;

use crate::engine::Downstream;
use crate::proxy_trait::ProxyHttp;
use crate::session::Session;

/// The name [`http_proxy_service`] gives its service.
const DEFAULT_SERVICE_NAME: &str = "Pingora HTTP Proxy Service";

/// The proxy engine: runs the phases of the user's [`ProxyHttp`] for every request, with an
/// upstream [`Connector`] (and its connection pool) of its own.
///
/// Usually built by [`http_proxy_service`]; build it directly with [`http_proxy`] to wrap it
/// in a service yourself.
pub struct HttpProxy<SV, C = ()> {
    pub(crate) inner: SV,
    pub(crate) client_connector: Connector<C>,
    pub(crate) max_retries: usize,
    /// Options of the downstream HTTP server side (keep-alive request limit, CONNECT).
    pub server_options: Option<HttpServerOptions>,
    /// The HTTP modules every request runs (filled by
    /// [`ProxyHttp::init_downstream_modules`] in [`handle_init_modules`](Self::handle_init_modules)).
    pub downstream_modules: HttpModules,
}

impl<SV> HttpProxy<SV, ()> {
    /// An engine around `inner`, its pool sized by `conf.upstream_keepalive_pool_size` and its
    /// retries capped by `conf.max_retries`.
    pub fn new(inner: SV, conf: Arc<ServerConf>) -> Self {
        HttpProxy {
            inner,
            client_connector: Connector::new(Some(ConnectorOptions::from_server_conf(&conf))),
            max_retries: conf.max_retries,
            server_options: None,
            downstream_modules: HttpModules::new(),
        }
    }
}

impl<SV: ProxyHttp, C> HttpProxy<SV, C> {
    /// Lets the user's [`ProxyHttp::init_downstream_modules`] install its modules.
    pub fn handle_init_modules(&mut self) {
        self.inner
            .init_downstream_modules(&mut self.downstream_modules);
    }
}

impl<SV, C> std::fmt::Debug for HttpProxy<SV, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpProxy")
            .field("max_retries", &self.max_retries)
            .field("server_options", &self.server_options)
            .field("downstream_modules", &self.downstream_modules)
            .finish_non_exhaustive()
    }
}

impl<SV> HttpProxy<SV, ()>
where
    SV: ProxyHttp + Send + Sync + 'static,
    SV::CTX: Send + Sync,
{
    /// Serves one request on `downstream`: what [`HttpServerApp::process_new_http`] does.
    async fn serve(
        self: &Arc<Self>,
        mut downstream: ServerSession,
        shutdown: &ShutdownWatch,
    ) -> Option<ReusedHttpStream> {
        match downstream.read_request().await {
            Ok(true) => {}
            Ok(false) => return None,
            Err(e) => {
                let status = match e.etype() {
                    ErrorType::HTTPStatus(code) => Some(*code),
                    ErrorType::InvalidHTTPHeader | ErrorType::H1Error => Some(400),
                    _ => None,
                };
                // Info, not error: anyone can send a bad request, and often (nginx logs these at info too).
                info!("bad request from {:?}: {e}", downstream.client_addr());
                if let Some(status) = status {
                    let _ = downstream.respond_error(status).await;
                }
                downstream.shutdown().await;
                return None;
            }
        }
        let allow_connect = self
            .server_options
            .as_ref()
            .is_some_and(|o| o.allow_connect_method_proxying);
        if downstream.req_header().method == Method::CONNECT && !allow_connect {
            let _ = downstream.respond_error(405).await;
            downstream.shutdown().await;
            return None;
        }

        let mut session = Session::new(
            downstream,
            self.downstream_modules.build_ctx(),
            Some(shutdown.clone()),
        );
        let mut ctx = self.inner.new_ctx();
        if let Some(persisted) = session.downstream_session.take_persisted_context() {
            self.inner
                .on_connection_reuse(&mut session, &mut ctx, persisted);
        }
        match self.proxy_request(&mut session, &mut ctx).await {
            Downstream::Reuse => {}
            Downstream::Close => session.set_keepalive(None),
            Downstream::Abort => {
                session.shutdown().await;
                return None;
            }
        }
        let mut settings = HttpPersistentSettings::for_session(&session.downstream_session);
        if let Some(value) = self.inner.persist_connection_context(&session, &ctx) {
            settings.set_user_context(value);
        }
        let downstream = *session.downstream_session;
        match downstream.finish().await {
            Ok(Some(stream)) => Some(ReusedHttpStream::new(stream, Some(settings))),
            Ok(None) => None,
            Err(e) => {
                debug!("downstream connection ended with {e}");
                None
            }
        }
    }
}

#[async_trait]
impl<SV> HttpServerApp for HttpProxy<SV, ()>
where
    SV: ProxyHttp + Send + Sync + 'static,
    SV::CTX: Send + Sync,
{
    async fn process_new_http(
        self: &Arc<Self>,
        downstream: ServerSession,
        shutdown: &ShutdownWatch,
    ) -> Option<ReusedHttpStream> {
        self.serve(downstream, shutdown).await
    }

    /// The keep-alive loop holds this future inline: no boxed future per request.
    fn process_new_http_inline<'a>(
        self: &'a Arc<Self>,
        downstream: ServerSession,
        shutdown: &'a ShutdownWatch,
    ) -> impl Future<Output = Option<ReusedHttpStream>> + Send + 'a {
        self.serve(downstream, shutdown)
    }

    fn server_options(&self) -> Option<&HttpServerOptions> {
        self.server_options.as_ref()
    }
}

/// The engine around `inner`, its modules installed.
pub fn http_proxy<SV: ProxyHttp>(conf: &Arc<ServerConf>, inner: SV) -> HttpProxy<SV> {
    let mut proxy = HttpProxy::new(inner, conf.clone());
    proxy.handle_init_modules();
    proxy
}

/// A listening service (named "Pingora HTTP Proxy Service") running the proxy `inner`; add
/// endpoints with `add_tcp` and hand it to the server.
///
/// ```no_run
/// # use async_trait::async_trait;
/// # use pingora_core::prelude::*;
/// # use pingora_proxy::{http_proxy_service, ProxyHttp, Session};
/// # struct Mine;
/// # #[async_trait]
/// # impl ProxyHttp for Mine {
/// #     type CTX = ();
/// #     fn new_ctx(&self) {}
/// #     async fn upstream_peer(&self, _: &mut Session, _: &mut ()) -> Result<Box<HttpPeer>> {
/// #         Ok(Box::new(HttpPeer::new("127.0.0.1:8000", false, String::new())))
/// #     }
/// # }
/// let mut server = Server::new(None).unwrap();
/// let mut proxy = http_proxy_service(&server.configuration, Mine);
/// proxy.add_tcp("0.0.0.0:6188");
/// server.add_service(proxy);
/// ```
pub fn http_proxy_service<SV: ProxyHttp>(
    conf: &Arc<ServerConf>,
    inner: SV,
) -> Service<HttpProxy<SV, ()>> {
    http_proxy_service_with_name(conf, inner, DEFAULT_SERVICE_NAME)
}

/// Like [`http_proxy_service`], with the service named `name`.
pub fn http_proxy_service_with_name<SV: ProxyHttp>(
    conf: &Arc<ServerConf>,
    inner: SV,
    name: &str,
) -> Service<HttpProxy<SV, ()>> {
    Service::new(name.to_string(), http_proxy(conf, inner))
}

/// Builds a proxy service step by step: name and server options.
#[derive(Debug)]
pub struct ProxyServiceBuilder<SV> {
    conf: Arc<ServerConf>,
    inner: SV,
    name: String,
    server_options: Option<HttpServerOptions>,
}

impl<SV: ProxyHttp> ProxyServiceBuilder<SV> {
    /// A builder for a proxy running `inner`.
    pub fn new(conf: &Arc<ServerConf>, inner: SV) -> Self {
        ProxyServiceBuilder {
            conf: conf.clone(),
            inner,
            name: DEFAULT_SERVICE_NAME.to_string(),
            server_options: None,
        }
    }

    /// Names the service.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Sets the downstream server options.
    pub fn server_options(mut self, options: HttpServerOptions) -> Self {
        self.server_options = Some(options);
        self
    }

    /// The service.
    pub fn build(self) -> Service<HttpProxy<SV, ()>> {
        let mut proxy = http_proxy(&self.conf, self.inner);
        proxy.server_options = self.server_options;
        Service::new(self.name, proxy)
    }
}
