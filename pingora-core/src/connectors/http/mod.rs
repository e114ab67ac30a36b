//! HTTP connectors: an upstream [`HttpSession`] for a peer, on a pooled connection when one is
//! idle, and the way back into the pool once the response is done.
//!
//! ```no_run
//! use pingora_core::connectors::http::Connector;
//! use pingora_core::upstreams::peer::{HttpPeer, Peer};
//! use pingora_http::RequestHeader;
//!
//! # async fn run() -> pingora_core::Result<()> {
//! let connector = Connector::new(None);
//! let peer = HttpPeer::new("127.0.0.1:8080", false, String::new());
//! let (mut session, _reused) = connector.get_http_session(&peer).await?;
//! let mut request = RequestHeader::build("GET", b"/", None)?;
//! request.insert_header("Host", "example.com")?;
//! session.write_request_header(Box::new(request)).await?;
//! session.read_response_header().await?;
//! while session.read_response_body().await?.is_some() {}
//! connector.release_http_session(session, &peer, peer.idle_timeout()).await;
//! # Ok(())
//! # }
//! ```

pub mod v1;

use super::ConnectorOptions;
use crate::protocols::http::client::HttpSession;
use crate::upstreams::peer::{Peer, ALPN};
use pingora_error::{Error, ErrorType, Result};
use std::marker::PhantomData;
use std::time::Duration;

/// Hands out HTTP sessions for peers, choosing the version from the peer's
/// [`ALPN`].
///
/// Only HTTP/1.1 is spoken so far: a peer that accepts HTTP/1 (`H1`, `H2H1`) gets an HTTP/1
/// session (over TLS only `http/1.1` is offered in ALPN), a peer that demands HTTP/2 (`H2`)
/// gets an error. The type parameter is reserved for
/// custom protocol connectors and is `()` by default.
pub struct Connector<C = ()> {
    h1: v1::Connector,
    _custom: PhantomData<fn() -> C>,
}

impl Connector {
    /// A connector with its own pool, sized by `options` (default: 128 idle connections).
    pub fn new(options: Option<ConnectorOptions>) -> Self {
        Connector {
            h1: v1::Connector::new(options),
            _custom: PhantomData,
        }
    }
}

impl<C> Connector<C> {
    /// A session for `peer`, on an idle pooled connection if one is healthy, else on a new one;
    /// the flag says whether the connection was reused. The peer's read and write timeouts
    /// apply to the session.
    ///
    /// Fails as [`TransportConnector::new_stream`](super::TransportConnector::new_stream), or
    /// with `InternalError` when the peer accepts only HTTP/2.
    pub async fn get_http_session<P: Peer + Send + Sync + 'static>(
        &self,
        peer: &P,
    ) -> Result<(HttpSession, bool)> {
        if peer
            .get_alpn()
            .is_some_and(|alpn| alpn.get_min_http_version() >= 2)
        {
            return Err(Error::explain(
                ErrorType::InternalError,
                format!("{peer} accepts only HTTP/2, which this connector does not speak yet"),
            )
            .into_up());
        }
        let offers_h2 = peer
            .get_alpn()
            .is_some_and(|alpn| alpn.get_max_http_version() >= 2);
        if offers_h2 && peer.tls() {
            // Offered over TLS, h2 could be chosen by the server, and the session below
            // speaks HTTP/1.1: a new connection offers only that until HTTP/2 is spoken here.
            // (The reuse key does not depend on ALPN, so pooled connections are shared with
            // the peer as given, and reusing one needs no copy of the peer.)
            if let Some(session) = self.h1.reused_http_session(peer).await {
                return Ok((HttpSession::H1(session), true));
            }
            let mut h1_only = peer.clone();
            if let Some(options) = h1_only.get_mut_peer_options() {
                options.alpn = ALPN::H1;
            }
            let session = self.h1.new_http_session(&h1_only).await?;
            return Ok((HttpSession::H1(session), false));
        }
        let (session, reused) = self.h1.get_http_session(peer).await?;
        Ok((HttpSession::H1(session), reused))
    }

    /// Puts the session's connection back into the pool for at most `idle_timeout`, if the
    /// session left it reusable (complete response, keep-alive on both sides, nothing failed);
    /// otherwise the connection is closed.
    pub async fn release_http_session<P: Peer + Send + Sync + 'static>(
        &self,
        session: HttpSession,
        peer: &P,
        idle_timeout: Option<Duration>,
    ) {
        match session {
            HttpSession::H1(session) => {
                self.h1
                    .release_http_session(session, peer, idle_timeout)
                    .await
            }
        }
    }
}
