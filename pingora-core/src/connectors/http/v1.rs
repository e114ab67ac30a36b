//! The HTTP/1 connector: [`HttpSession`]s over pooled or fresh L4 connections.

use crate::connectors::{ConnectorOptions, TransportConnector};
use crate::protocols::http::v1::client::HttpSession;
use crate::protocols::Stream;
use crate::upstreams::peer::Peer;
use pingora_error::Result;
use std::time::Duration;

/// Hands out HTTP/1 sessions and takes their connections back.
pub struct Connector {
    transport: TransportConnector,
}

impl Connector {
    /// A connector with its own pool, sized by `options` (default: 128 idle connections).
    pub fn new(options: Option<ConnectorOptions>) -> Self {
        Connector {
            transport: TransportConnector::new(options),
        }
    }

    /// A session for `peer`, pooled connection first; the flag says whether it was reused.
    pub async fn get_http_session<P: Peer + Send + Sync + 'static>(
        &self,
        peer: &P,
    ) -> Result<(HttpSession, bool)> {
        if let Some(session) = self.reused_http_session(peer).await {
            return Ok((session, true));
        }
        self.new_http_session(peer)
            .await
            .map(|session| (session, false))
    }

    /// A session on an idle pooled connection to `peer`, if one is healthy.
    pub async fn reused_http_session<P: Peer + Send + Sync>(
        &self,
        peer: &P,
    ) -> Option<HttpSession> {
        let stream = self.transport.reused_stream(peer).await?;
        Some(session_for(stream, peer))
    }

    /// A session on a new connection to `peer`.
    pub async fn new_http_session<P: Peer + Send + Sync + 'static>(
        &self,
        peer: &P,
    ) -> Result<HttpSession> {
        let stream = self.transport.new_stream(peer).await?;
        Ok(session_for(stream, peer))
    }

    /// Pools the connection of a reusable session for at most `idle_timeout`; closes it otherwise.
    pub async fn release_http_session<P: Peer + Send + Sync + 'static>(
        &self,
        session: HttpSession,
        peer: &P,
        idle_timeout: Option<Duration>,
    ) {
        if let Some(stream) = session.reuse().await {
            self.transport
                .release_stream(stream, peer.reuse_hash(), idle_timeout);
        }
    }
}

/// A session on `stream` with `peer`'s read and write timeouts.
fn session_for<P: Peer>(stream: Stream, peer: &P) -> HttpSession {
    let mut session = HttpSession::new(stream);
    session.set_read_timeout(peer.read_timeout());
    session.set_write_timeout(peer.write_timeout());
    session
}
