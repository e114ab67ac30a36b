//! The life of one proxied request: the phases before upstream, the attempt loop with its
//! retries, the error page and the single `logging` call.

use log::{error, warn};
use pingora_core::upstreams::peer::Peer;
use pingora_error::{Error, Result, RetryType};

use crate::duplex;
use crate::proxy_trait::ProxyHttp;
use crate::service::HttpProxy;
use crate::session::Session;

/// What becomes of the downstream connection after a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Downstream {
    /// It may carry another request (if the client and the session agree).
    Reuse,
    /// Finish the response, then close.
    Close,
    /// The response broke off after its header went out: close without ending the body, so
    /// the client sees the truncation instead of a complete-looking short body.
    Abort,
}

/// How the phases before upstream ended.
enum BeforeUpstream {
    /// Go on to the upstream.
    Proxy,
    /// `request_filter` answered the request itself.
    Answered,
    /// `proxy_upstream_filter` said no: 502 was sent.
    Refused,
}

impl<SV> HttpProxy<SV, ()>
where
    SV: ProxyHttp + Send + Sync,
    SV::CTX: Send + Sync,
{
    /// Runs every phase of one request, `logging` last.
    pub(crate) async fn proxy_request(
        &self,
        session: &mut Session,
        ctx: &mut SV::CTX,
    ) -> Downstream {
        let (error, next) = match self.before_upstream(session, ctx).await {
            Ok(BeforeUpstream::Answered) => (None, Downstream::Reuse),
            Ok(BeforeUpstream::Refused) => (None, Downstream::Close),
            Err(e) => {
                let reuse = self.fail(session, &e, ctx, 0).await;
                let next = if reuse {
                    Downstream::Reuse
                } else {
                    Downstream::Close
                };
                (Some(e), next)
            }
            Ok(BeforeUpstream::Proxy) => match self.proxy_with_retries(session, ctx).await {
                Ok(()) => (None, Downstream::Reuse),
                Err((e, tries)) => {
                    let header_sent = session.response_written().is_some();
                    self.fail(session, &e, ctx, tries).await;
                    let next = if header_sent {
                        Downstream::Abort
                    } else {
                        Downstream::Close
                    };
                    (Some(e), next)
                }
            },
        };
        self.inner.logging(session, error.as_deref(), ctx).await;
        next
    }

    async fn before_upstream(
        &self,
        session: &mut Session,
        ctx: &mut SV::CTX,
    ) -> Result<BeforeUpstream> {
        self.inner.early_request_filter(session, ctx).await?;
        let Session {
            downstream_session,
            downstream_modules_ctx,
            ..
        } = session;
        downstream_modules_ctx
            .request_header_filter(downstream_session.req_header_mut())
            .await?;
        if self.inner.request_filter(session, ctx).await? {
            return Ok(BeforeUpstream::Answered);
        }
        if !self.inner.proxy_upstream_filter(session, ctx).await? {
            session.respond_error(502).await?;
            return Ok(BeforeUpstream::Refused);
        }
        Ok(BeforeUpstream::Proxy)
    }

    /// Attempts until one succeeds or an error is not to be retried; the error comes back
    /// with the number of attempts made.
    async fn proxy_with_retries(
        &self,
        session: &mut Session,
        ctx: &mut SV::CTX,
    ) -> Result<(), (Box<Error>, usize)> {
        session.enable_retry_buffering();
        let mut tries = 0;
        loop {
            tries += 1;
            let Err(mut e) = self.proxy_attempt(session, ctx).await else {
                return Ok(());
            };
            // Nobody settled a "reused only" error: treat it as on a fresh connection.
            e.retry.decide_reuse(false);
            let replayable =
                session.response_written().is_none() && !session.retry_buffer_truncated();
            if !(e.retry() && replayable && tries <= self.max_retries) {
                return Err((e, tries));
            }
            warn!(
                "retrying after: {e}, tries: {tries}, {}",
                self.inner.request_summary(session, ctx)
            );
        }
    }

    /// One attempt: pick the peer, connect, exchange the request and response.
    async fn proxy_attempt(&self, session: &mut Session, ctx: &mut SV::CTX) -> Result<()> {
        let peer = self.inner.upstream_peer(session, ctx).await?;
        let (mut client, reused) = match self.client_connector.get_http_session(&*peer).await {
            Ok(connected) => connected,
            Err(e) => {
                let mut e = self.inner.fail_to_connect(session, &peer, ctx, e);
                e.retry.decide_reuse(false);
                return Err(e);
            }
        };
        let raw_fd = client
            .digest()
            .and_then(|d| d.socket_digest.as_ref())
            .map_or(-1, |s| s.raw_fd());
        let connected = self
            .inner
            .connected_to_upstream(session, reused, &peer, raw_fd, client.digest(), ctx)
            .await;
        let exchanged = match connected {
            Ok(()) => duplex::exchange(&self.inner, session, &mut client, ctx).await,
            Err(e) => Err(e),
        };
        match exchanged {
            Ok(()) => {
                self.client_connector
                    .release_http_session(client, &*peer, peer.idle_timeout())
                    .await;
                Ok(())
            }
            Err(e) => {
                client.shutdown().await;
                Err(self.inner.error_while_proxy(&peer, session, e, ctx, reused))
            }
        }
    }

    /// A fatal error: `fail_to_proxy` answers it, then the error log line. Returns whether
    /// the downstream connection may be reused.
    async fn fail(
        &self,
        session: &mut Session,
        e: &Error,
        ctx: &mut SV::CTX,
        tries: usize,
    ) -> bool {
        let outcome = self.inner.fail_to_proxy(session, e, ctx).await;
        if !self.inner.suppress_error_log(session, ctx, e) {
            error!(
                "Fail to proxy: {e}, status: {}, tries: {tries}, retry: {}, {}",
                outcome.error_code,
                matches!(e.retry, RetryType::Decided(true)),
                self.inner.request_summary(session, ctx)
            );
        }
        // Honoured only before a peer was chosen (no upstream bytes can be in flight).
        tries == 0 && outcome.can_reuse_downstream
    }
}
