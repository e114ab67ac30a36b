//! Request-smuggling probes through the proxy: every request whose body framing is ambiguous
//! or malformed is refused with its 4xx/5xx and a closed connection, and the request hidden
//! behind it never reaches the upstream (a raw-socket origin that records every head it
//! receives): a bad head stops everything before the upstream, a bad chunk cuts the upstream
//! request off before its end.

mod common;

use std::time::Duration;

use common::{raw_exchange_bytes, raw_origin, start_proxy, To};
use pingora_core::server::configuration::ServerConf;

/// A request hidden in the body of the probe, which must never reach the origin.
const HIDDEN: &str = "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n";

#[tokio::test]
async fn ambiguous_or_malformed_framing_is_refused_before_the_upstream() {
    let (origin, seen) = raw_origin(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").await;
    let (proxy, _) = start_proxy(To(origin), ServerConf::default()).await;
    let post = "POST / HTTP/1.1\r\nHost: a\r\n";
    let probes: Vec<(&str, String, u16)> = vec![
        ("CL and TE", format!("{post}Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{HIDDEN}"), 400),
        ("TE twice", format!("{post}Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n{HIDDEN}"), 400),
        ("space before colon", format!("{post}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n{HIDDEN}"), 400),
        ("unknown coding", format!("{post}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n{HIDDEN}"), 501),
        ("coding before chunked", format!("{post}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n{HIDDEN}"), 501),
        ("obs-fold", format!("{post}Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n{HIDDEN}"), 400),
        ("hex prefix in chunk size", format!("{post}Transfer-Encoding: chunked\r\n\r\n0x0\r\n\r\n{HIDDEN}"), 400),
        ("space after chunk size", format!("{post}Transfer-Encoding: chunked\r\n\r\n1\r\nA\r\n0 \r\n\r\n{HIDDEN}"), 400),
        ("bare LF in chunk extension", format!("{post}Transfer-Encoding: chunked\r\n\r\n5;\nx\r\nhello\r\n0\r\n\r\n{HIDDEN}"), 400),
        ("chunk size overflow", format!("{post}Transfer-Encoding: chunked\r\n\r\nffffffffffffffff1\r\nhello\r\n0\r\n\r\n"), 400),
        ("lengths that differ", format!("{post}Content-Length: 0\r\nContent-Length: 40\r\n\r\n{HIDDEN}"), 400),
        ("signed length", format!("{post}Content-Length: +5\r\n\r\n{HIDDEN}"), 400),
        ("bare LF ending the head", format!("GET / HTTP/1.1\r\nHost: a\r\n\n{HIDDEN}"), 400),
        ("two Hosts", format!("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n{HIDDEN}"), 400),
    ];
    for (name, probe, status) in &probes {
        let response = tokio::time::timeout(
            Duration::from_secs(5),
            raw_exchange_bytes(proxy, probe.as_bytes()),
        )
        .await
        .unwrap_or_else(|_| panic!("{name}: the proxy neither answered nor closed"));
        let response = String::from_utf8_lossy(&response);
        let expected = format!("HTTP/1.1 {status} ");
        assert!(response.starts_with(&expected), "{name}: {response}");
        // One answer, then the connection closed (read to its end above).
        assert_eq!(
            response.matches("HTTP/1.1 ").count(),
            1,
            "{name}: {response}"
        );
    }
    // Framing errors in the head stop the request before the upstream. A malformed chunk is
    // only found while the body streams, after the head went up: then the upstream request is
    // cut off, never completed (the origin would record the empty line after a last chunk as
    // a head of its own), and nothing behind it is sent.
    // The origin records what it reads on its own tasks: poll (briefly) until the four cut-off
    // heads are in, then give stragglers a moment to show up.
    for _ in 0..200 {
        if seen.lock().expect("seen lock").heads.len() >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let seen = seen.lock().expect("seen lock");
    assert_eq!(seen.heads.len(), 4, "{:?}", seen.heads);
    for head in &seen.heads {
        let cut_off_chunked_post =
            head.starts_with("POST / HTTP/1.1\r\n") && head.contains("Transfer-Encoding: chunked");
        assert!(cut_off_chunked_post, "reached the origin: {:?}", seen.heads);
    }
}
