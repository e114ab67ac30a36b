//! One request/response exchange with an upstream, both directions at once: request body
//! pieces go up while the response comes down, each piece through the body filters.
//!
//! A request body piece is queued on the upstream session and written while the loop goes on
//! reading the response, so an upstream that answers as it reads (and stops reading while
//! its own writes wait) cannot deadlock the exchange. Nothing is buffered beyond one piece per
//! direction: the next request piece is read from the client only once the last one was
//! written, and a response piece is written to the client before the next is read
//! (backpressure).

use bytes::Bytes;
use http::header::HOST;
use http::Version;
use pingora_core::protocols::http::client::HttpSession;
use pingora_core::protocols::http::HttpTask;
use pingora_error::{Error, ErrorType, Result};
use pingora_http::ResponseHeader;

use crate::hop_by_hop;
use crate::proxy_trait::ProxyHttp;
use crate::session::Session;

/// Sends the request of `session` over `client` and streams the response back.
pub(crate) async fn exchange<SV>(
    inner: &SV,
    session: &mut Session,
    client: &mut HttpSession,
    ctx: &mut SV::CTX,
) -> Result<()>
where
    SV: ProxyHttp + Send + Sync,
    SV::CTX: Send + Sync,
{
    // Boxed at once and edited in place: the head is 440 bytes, and every move of it by value
    // (into and out of each step) would copy them.
    let mut request = Box::new(session.req_header().clone());
    hop_by_hop::upstream_request(&mut request, false)?;
    inner
        .upstream_request_filter(session, &mut request, ctx)
        .await?;
    if request.version == Version::HTTP_10 && request.headers.contains_key(HOST) {
        // The proxy speaks HTTP/1.1 upstream for HTTP/1.0 clients too (RFC 9110 §6.2: an
        // intermediary sends its own version), so their upstream connections are reused.
        // A 1.0 request without Host stays 1.0: without one it is no valid 1.1 request.
        request.set_version(Version::HTTP_11);
    }
    if session.upstream_compression.is_enabled() {
        // It decides by what the upstream was asked to send, as filtered.
        session.upstream_compression.request_filter(&request);
    }
    client.write_request_header(request).await?;

    // A retry replays what an earlier attempt already read from the client.
    let mut request_done = false;
    let replay = session.get_retry_buffer().filter(|b| !b.is_empty());
    if replay.is_some() || session.is_body_done() {
        let end = session.is_body_done();
        request_done = queue_request_body(inner, session, client, ctx, replay, end).await?;
    }

    let mut response_done = false;
    let mut upgraded = false;
    // A response header held back to go out with the first body piece (see `forward_response`).
    let mut pending_header = None;
    while !response_done {
        // One request piece in flight at most: read the next once the last one is written.
        let want_request_body = !request_done && !client.has_queued_request();
        tokio::select! {
            body = session.downstream_session.read_request_body(), if want_request_body => {
                let body = body?;
                let end = body.is_none() || (!upgraded && session.is_body_done());
                request_done = queue_request_body(inner, session, client, ctx, body, end).await?;
            }
            step = upstream_step(client) => {
                let Some(task) = step? else {
                    // Queued request bytes went out (or response bytes came in): look again.
                    continue;
                };
                let body_ready = client.has_buffered_body();
                response_done =
                    forward_response(inner, session, ctx, task, body_ready, &mut pending_header)
                        .await?;
                if client.is_upgraded() && !upgraded {
                    // After 101 the client's side of the connection carries raw bytes too.
                    upgraded = true;
                    request_done = false;
                }
            }
        }
    }
    Ok(())
}

/// Runs one request body piece through the filters and queues it on the upstream session
/// (written while the response is read); `end` also ends the upstream body (with the client's
/// trailers, if any). Returns `end`.
async fn queue_request_body<SV>(
    inner: &SV,
    session: &mut Session,
    client: &mut HttpSession,
    ctx: &mut SV::CTX,
    mut body: Option<Bytes>,
    end: bool,
) -> Result<bool>
where
    SV: ProxyHttp + Send + Sync,
    SV::CTX: Send + Sync,
{
    session
        .downstream_modules_ctx
        .request_body_filter(&mut body, end)
        .await?;
    inner
        .request_body_filter(session, &mut body, end, ctx)
        .await?;
    if let Some(data) = body.filter(|d| !d.is_empty()) {
        client.queue_request_body(data, false).await?;
    }
    if end {
        if client.is_upgraded() {
            // The client closed its side of the tunnel: send what is left, tell the upstream.
            client.flush_request().await?;
            client.shutdown().await;
        } else if let Some(trailers) = session.request_trailers().cloned() {
            client.queue_request_trailers(&trailers).await?;
        } else {
            client.queue_request_body(Bytes::new(), true).await?;
        }
    }
    Ok(end)
}

/// The next response step, writing queued request bytes meanwhile. `None` when there was
/// no response step yet but the queue was written or response bytes arrived (so the caller
/// can read more of the request body, or parse what came). Cancel-safe.
async fn upstream_step(client: &mut HttpSession) -> Result<Option<HttpTask>> {
    if client.has_queued_request() && !client.has_buffered_body() {
        client.flush_request_or_read().await?;
        return Ok(None);
    }
    read_upstream(client).await.map(Some)
}

/// The next step of the upstream response. Cancel-safe: the session keeps what it read.
async fn read_upstream(client: &mut HttpSession) -> Result<HttpTask> {
    if !client.is_final_response() {
        client.read_response_header().await?;
        // Taken, not copied: nothing reads the session's copy after this.
        let header = client.take_response_header().ok_or_else(|| {
            Error::explain(ErrorType::InternalError, "response head missing after read").into_in()
        })?;
        let end = client.is_final_response() && client.is_response_done() && !client.is_upgraded();
        return Ok(HttpTask::Header(header, end));
    }
    match client.read_response_body().await? {
        Some(data) if client.is_upgraded() => Ok(HttpTask::UpgradedBody(Some(data), false)),
        Some(data) => Ok(HttpTask::Body(Some(data), false)),
        None => match client.response_trailers() {
            Some(trailers) => Ok(HttpTask::Trailer(Some(Box::new(trailers.clone())))),
            None => Ok(HttpTask::Done),
        },
    }
}

/// Runs one response step through the filters and writes it downstream. Returns whether
/// the response is complete.
///
/// A final header whose first body bytes are already buffered (`body_ready`) is held in
/// `pending_header` and written with them, so a small response leaves in one write.
async fn forward_response<SV>(
    inner: &SV,
    session: &mut Session,
    ctx: &mut SV::CTX,
    task: HttpTask,
    body_ready: bool,
    pending_header: &mut Option<Box<ResponseHeader>>,
) -> Result<bool>
where
    SV: ProxyHttp + Send + Sync,
    SV::CTX: Send + Sync,
{
    match task {
        HttpTask::Header(mut header, end) => {
            let status = header.status.as_u16();
            if status == 100 {
                // The downstream session answers `Expect: 100-continue` itself.
                return Ok(false);
            }
            if (100..200).contains(&status) && status != 101 {
                // Other interim responses (103 Early Hints, 102) go to the client as they come,
                // through the same header filters as the final one (an HTTP/1.0 client gets
                // none: the session skips them).
                hop_by_hop::downstream_response(&mut header)?;
                inner
                    .upstream_response_filter(session, &mut header, ctx)
                    .await?;
                inner.response_filter(session, &mut header, ctx).await?;
                session.write_response_header(header, false).await?;
                return Ok(false);
            }
            hop_by_hop::downstream_response(&mut header)?;
            if session.upstream_compression.is_enabled() {
                session
                    .upstream_compression
                    .response_header_filter(&mut header, end)
                    .map_err(|e| e.into_up())?;
            }
            inner
                .upstream_response_filter(session, &mut header, ctx)
                .await?;
            inner.response_filter(session, &mut header, ctx).await?;
            *pending_header = Some(header);
            if end {
                forward_body(inner, session, ctx, None, true, true, pending_header).await?;
            } else if !body_ready || status == 101 {
                flush_header(session, pending_header).await?;
            }
            Ok(end)
        }
        HttpTask::Body(data, _) | HttpTask::UpgradedBody(data, _) => {
            session.add_upstream_body_bytes(data.as_ref().map_or(0, Bytes::len));
            forward_body(inner, session, ctx, data, false, false, pending_header).await?;
            Ok(false)
        }
        HttpTask::Done => {
            forward_body(inner, session, ctx, None, true, true, pending_header).await?;
            Ok(true)
        }
        HttpTask::Trailer(trailers) => {
            forward_body(inner, session, ctx, None, true, false, pending_header).await?;
            let Some(mut trailers) = trailers else {
                session.write_response_trailers(None).await?;
                return Ok(true);
            };
            inner.upstream_response_trailer_filter(session, &mut trailers, ctx)?;
            match inner
                .response_trailer_filter(session, &mut trailers, ctx)
                .await?
            {
                Some(as_body) => {
                    session
                        .downstream_session
                        .write_response_body(as_body, false)
                        .await?;
                    session.write_response_trailers(None).await?;
                }
                None => session.write_response_trailers(Some(trailers)).await?,
            }
            Ok(true)
        }
        HttpTask::Failed(e) => Err(e),
    }
}

/// Writes a held-back response header by itself.
async fn flush_header(
    session: &mut Session,
    pending_header: &mut Option<Box<ResponseHeader>>,
) -> Result<()> {
    match pending_header.take() {
        Some(header) => session.write_response_header(header, false).await,
        None => Ok(()),
    }
}

/// Runs a response body piece through both body filters (honouring their delays) and
/// writes it, after the held-back header if there is one; `finish` ends the downstream body.
#[allow(clippy::too_many_arguments)]
async fn forward_body<SV>(
    inner: &SV,
    session: &mut Session,
    ctx: &mut SV::CTX,
    mut data: Option<Bytes>,
    end: bool,
    finish: bool,
    pending_header: &mut Option<Box<ResponseHeader>>,
) -> Result<()>
where
    SV: ProxyHttp + Send + Sync,
    SV::CTX: Send + Sync,
{
    if session.upstream_compression.is_enabled() {
        // A body the upstream sent corrupt is the upstream's failure (502 if nothing was sent).
        session
            .upstream_compression
            .response_body_filter(&mut data, end)
            .map_err(|e| e.into_up())?;
    }
    if let Some(delay) = inner.upstream_response_body_filter(session, &mut data, end, ctx)? {
        pingora_timeout::sleep(delay).await;
    }
    if let Some(delay) = inner.response_body_filter(session, &mut data, end, ctx)? {
        pingora_timeout::sleep(delay).await;
    }
    match pending_header.take() {
        Some(header) => {
            session
                .write_response_header_with_body(header, data, finish)
                .await
        }
        None => session.write_response_body(data, finish).await,
    }
}
