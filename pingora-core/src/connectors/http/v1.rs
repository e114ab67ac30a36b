//! The HTTP/1 connector: [`HttpSession`]s over pooled or fresh L4 connections.

use crate::connectors::{ConnectorOptions, TransportConnector};
use crate::protocols::http::v1::client::HttpSession;
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
        let (stream, reused) = self.transport.get_stream(peer).await?;
        let mut session = HttpSession::new(stream);
        session.set_read_timeout(peer.read_timeout());
        session.set_write_timeout(peer.write_timeout());
        Ok((session, reused))
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
