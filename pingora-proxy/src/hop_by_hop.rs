//! Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection, so a proxy does not forward
//! them; every other header keeps its name's case and its place.

use http::header::{CONNECTION, CONTENT_LENGTH, TE, TRANSFER_ENCODING, UPGRADE};
use http::{HeaderMap, HeaderName};
use pingora_error::Result;
use pingora_http::{RequestHeader, ResponseHeader};

/// The names that are hop-by-hop by themselves, in the bit order of [`HopByHop::present`].
static FIXED: [HeaderName; 6] = [
    CONNECTION,
    UPGRADE,
    TE,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    TRANSFER_ENCODING,
];
const CONNECTION_BIT: u8 = 1 << 0;
const UPGRADE_BIT: u8 = 1 << 1;
const TE_BIT: u8 = 1 << 2;

/// The bit of `name` in [`FIXED`], if it is one of them. The names `http` knows are compared
/// with constants (two small numbers, no table read); `keep-alive` and `proxy-connection` are
/// not among them, so only a name held as text can be one of those.
fn fixed_bit(name: &HeaderName) -> Option<u8> {
    let index = if *name == CONNECTION {
        0
    } else if *name == UPGRADE {
        1
    } else if *name == TE {
        2
    } else if *name == TRANSFER_ENCODING {
        5
    } else {
        match name.as_str() {
            "keep-alive" => 3,
            "proxy-connection" => 4,
            _ => return None,
        }
    };
    Some(1 << index)
}

/// Whether the headers ask to switch protocols (`Upgrade` named by `Connection`).
pub(crate) fn is_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(UPGRADE) && connection_lists(headers, "upgrade")
}

fn connection_lists(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get_all(CONNECTION)
        .iter()
        .flat_map(|v| v.as_bytes().split(|b| *b == b','))
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

/// The hop-by-hop headers of one message, found in one pass over its names: the fixed set as
/// bits (nothing to clone or copy), and the names `Connection` lists (in a vector, allocated
/// only when there are some).
#[derive(Default)]
struct HopByHop {
    /// Bit `i` set: `FIXED[i]` is present and goes.
    present: u8,
    listed: Vec<HeaderName>,
}

impl HopByHop {
    /// Every hop-by-hop name found, each once at least (a listed name may repeat a fixed one).
    fn names(&self) -> impl Iterator<Item = &HeaderName> {
        let present = self.present;
        FIXED
            .iter()
            .enumerate()
            .filter(move |(bit, _)| present & (1 << bit) != 0)
            .map(|(_, name)| name)
            .chain(&self.listed)
    }
}

/// Whether every `TE` value is `trailers`: the one `TE` a proxy passes on (the client will take
/// trailers; gRPC requires it, and it is the only `TE` HTTP/2 allows).
fn te_is_trailers(headers: &HeaderMap) -> bool {
    let mut tokens = headers
        .get_all(TE)
        .iter()
        .flat_map(|v| v.as_bytes().split(|b| *b == b','))
        .map(<[u8]>::trim_ascii)
        .peekable();
    tokens.peek().is_some() && tokens.all(|t| t.eq_ignore_ascii_case(b"trailers"))
}

/// The hop-by-hop headers present: the names `Connection` lists, `Connection` itself (unless
/// `keep_connection`), the fixed set (but a `TE: trailers` when `keep_te_trailers`), and
/// `Upgrade` unless `keep_upgrade`.
fn hop_by_hop_names(
    headers: &HeaderMap,
    keep_upgrade: bool,
    keep_connection: bool,
    keep_te_trailers: bool,
) -> HopByHop {
    // Looked at only when a TE is there (most requests have none).
    let mut keep_te = false;
    let mut found = HopByHop::default();
    let mut has_connection = false;
    for name in headers.keys() {
        let Some(bit) = fixed_bit(name) else {
            continue;
        };
        let hop = match bit {
            CONNECTION_BIT => {
                has_connection = true;
                !keep_connection
            }
            UPGRADE_BIT => !keep_upgrade,
            TE_BIT => {
                keep_te = keep_te_trailers && te_is_trailers(headers);
                !keep_te
            }
            _ => true,
        };
        if hop {
            found.present |= bit;
        }
    }
    if !has_connection {
        return found;
    }
    for value in headers.get_all(CONNECTION) {
        for token in value.as_bytes().split(|b| *b == b',') {
            let token = token.trim_ascii();
            let builtin = token.eq_ignore_ascii_case(b"close")
                || token.eq_ignore_ascii_case(b"keep-alive")
                || token.eq_ignore_ascii_case(b"upgrade")
                || (keep_te && token.eq_ignore_ascii_case(b"te"));
            if builtin || token.is_empty() {
                continue;
            }
            if let Ok(name) = HeaderName::from_bytes(token) {
                found.listed.push(name);
            }
        }
    }
    found
}

/// Turns a copy of a request header into the upstream request, in place: hop-by-hop headers
/// out (but `TE: trailers`, which the upstream must see for gRPC); the body framed by its
/// Content-Length or, when it has a body without one, chunked (`had_body`); an upgrade request
/// keeps `Upgrade` and gets `Connection: upgrade`.
pub(crate) fn upstream_request(req: &mut RequestHeader, had_body: bool) -> Result<()> {
    let upgrade = is_upgrade(&req.headers);
    let was_chunked = req.headers.contains_key(TRANSFER_ENCODING);
    for name in hop_by_hop_names(&req.headers, upgrade, false, true).names() {
        req.remove_header(name);
    }
    if upgrade {
        req.insert_header(CONNECTION, "upgrade")?;
    }
    if (was_chunked || had_body) && !req.headers.contains_key(CONTENT_LENGTH) {
        req.insert_header(TRANSFER_ENCODING, "chunked")?;
    }
    Ok(())
}

/// Strips hop-by-hop headers from an upstream response on its way downstream; a `101`
/// keeps `Upgrade` and `Connection: upgrade`. The downstream session sets its own framing
/// and `Connection`.
pub(crate) fn downstream_response(resp: &mut ResponseHeader) -> Result<()> {
    let switching = resp.status.as_u16() == 101;
    for name in hop_by_hop_names(&resp.headers, switching, switching, false).names() {
        resp.remove_header(name);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_named_and_fixed_hop_by_hop_headers_are_dropped_in_order() {
        let mut req = RequestHeader::build("POST", b"/", None).expect("static request");
        req.append_header("X-First", "1").expect("valid");
        req.append_header("Connection", "keep-alive, X-Secret")
            .expect("valid");
        req.append_header("X-Secret", "s").expect("valid");
        req.append_header("Keep-Alive", "timeout=5").expect("valid");
        req.append_header("TE", "gzip").expect("valid");
        req.append_header("Proxy-Connection", "keep-alive")
            .expect("valid");
        req.append_header("Upgrade", "h2c").expect("valid");
        req.append_header("Transfer-Encoding", "chunked")
            .expect("valid");
        req.append_header("x-LAST", "2").expect("valid");
        upstream_request(&mut req, true).expect("valid");
        let out = req;
        let mut wire = Vec::new();
        out.header_to_h1_wire(&mut wire);
        assert_eq!(
            String::from_utf8_lossy(&wire),
            "X-First: 1\r\nx-LAST: 2\r\nTransfer-Encoding: chunked\r\n"
        );
    }

    #[test]
    fn te_trailers_goes_upstream_and_any_other_te_does_not() {
        let te_after = |values: &[&str], connection: Option<&str>| {
            let mut req = RequestHeader::build("POST", b"/", None).expect("static request");
            for value in values {
                req.append_header("TE", *value).expect("valid");
            }
            if let Some(connection) = connection {
                req.append_header("Connection", connection).expect("valid");
            }
            upstream_request(&mut req, false).expect("valid");
            let out = req;
            assert!(!out.headers.contains_key(CONNECTION));
            let kept: Vec<_> = out.headers.get_all(TE).iter().cloned().collect();
            kept
        };
        assert_eq!(te_after(&["trailers"], None), ["trailers"]);
        assert_eq!(te_after(&["Trailers"], Some("TE")), ["Trailers"]);
        assert!(te_after(&["gzip"], None).is_empty());
        assert!(te_after(&["trailers, deflate"], Some("te")).is_empty());
        assert!(te_after(&["trailers", "gzip"], None).is_empty());
        // Responses never keep it.
        let mut resp = ResponseHeader::build(200, None).expect("static response");
        resp.append_header("TE", "trailers").expect("valid");
        downstream_response(&mut resp).expect("valid");
        assert!(!resp.headers.contains_key(TE));
    }

    #[test]
    fn an_upgrade_request_keeps_upgrade() {
        let mut req = RequestHeader::build("GET", b"/ws", None).expect("static request");
        req.append_header("Connection", "Upgrade").expect("valid");
        req.append_header("Upgrade", "websocket").expect("valid");
        upstream_request(&mut req, false).expect("valid");
        let out = req;
        assert_eq!(out.headers["upgrade"], "websocket");
        assert_eq!(out.headers["connection"], "upgrade");
        assert!(!out.headers.contains_key(TRANSFER_ENCODING));
    }

    #[test]
    fn each_fixed_name_has_its_own_bit() {
        for (index, name) in FIXED.iter().enumerate() {
            assert_eq!(fixed_bit(name), Some(1 << index), "{name}");
        }
        for other in [http::header::HOST, HeaderName::from_static("x-keep-alive")] {
            assert_eq!(fixed_bit(&other), None, "{other}");
        }
    }

    #[test]
    fn response_hop_by_hop_headers_are_dropped() {
        let mut resp = ResponseHeader::build(200, None).expect("static response");
        resp.append_header("Connection", "close, X-Hop")
            .expect("valid");
        resp.append_header("X-Hop", "1").expect("valid");
        resp.append_header("Keep-Alive", "timeout=5")
            .expect("valid");
        resp.append_header("Content-Length", "3").expect("valid");
        downstream_response(&mut resp).expect("valid");
        assert_eq!(resp.headers.len(), 1);
        assert_eq!(resp.headers["content-length"], "3");
    }
}
