//! Unit tests of the compression ctx and module: header rewrites, every case left alone,
//! per-request settings, streaming through the module ctx, and decompression.

use super::codec::tests::{decode, encode, sample};
use super::*;
use crate::modules::http::HttpModules;

fn request(method: &str, accept: Option<&str>) -> RequestHeader {
    let mut req = RequestHeader::build(method, b"/", None).expect("static request");
    if let Some(accept) = accept {
        req.insert_header("Accept-Encoding", accept.to_string())
            .expect("valid header");
    }
    req
}

fn response(status: u16, headers: &[(&'static str, &str)]) -> ResponseHeader {
    let mut resp = ResponseHeader::build(status, None).expect("static status");
    for (name, value) in headers {
        resp.append_header(*name, value.to_string())
            .expect("valid header");
    }
    resp
}

fn ctx_for(level: u32, accept: Option<&str>) -> ResponseCompressionCtx {
    let mut ctx = ResponseCompressionCtx::new(level, false, false);
    ctx.request_filter(&request("GET", accept));
    ctx
}

fn header(resp: &ResponseHeader, name: &str) -> Option<String> {
    resp.headers
        .get(name)
        .map(|v| v.to_str().unwrap_or_default().to_string())
}

/// Runs the whole body through the ctx in `piece` sized calls, the last one ending it.
fn run_body(ctx: &mut ResponseCompressionCtx, body: &[u8], piece: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let pieces: Vec<&[u8]> = body.chunks(piece).collect();
    for (i, chunk) in pieces.iter().enumerate() {
        let mut data = Some(Bytes::copy_from_slice(chunk));
        ctx.response_body_filter(&mut data, i + 1 == pieces.len())
            .expect("body filter");
        out.extend_from_slice(&data.unwrap_or_default());
    }
    if let Some(tail) = ctx.response_done_filter().expect("done filter") {
        out.extend_from_slice(&tail);
    }
    out
}

#[test]
fn compressing_rewrites_the_headers() {
    let mut ctx = ctx_for(6, Some("gzip"));
    let mut resp = response(
        200,
        &[
            ("Content-Length", "1000"),
            ("ETag", "\"v1\""),
            ("Accept-Ranges", "bytes"),
            ("Vary", "Origin"),
            ("Content-Type", "text/html; charset=utf-8"),
        ],
    );
    ctx.response_header_filter(&mut resp, false)
        .expect("header filter");
    assert_eq!(header(&resp, "content-encoding").as_deref(), Some("gzip"));
    assert_eq!(header(&resp, "content-length"), None);
    assert_eq!(header(&resp, "accept-ranges"), None);
    assert_eq!(header(&resp, "etag").as_deref(), Some("W/\"v1\""));
    let vary: Vec<_> = resp.headers.get_all("vary").iter().collect();
    assert_eq!(vary, ["Origin", "Accept-Encoding"]);
    assert!(ctx.is_enabled());
}

#[test]
fn preserve_etag_keeps_a_strong_etag_and_weak_ones_stay_weak() {
    let mut ctx = ctx_for(6, Some("br"));
    ctx.adjust_preserve_etag(true);
    let mut resp = response(200, &[("ETag", "\"v1\"")]);
    ctx.response_header_filter(&mut resp, false)
        .expect("header filter");
    assert_eq!(header(&resp, "content-encoding").as_deref(), Some("br"));
    assert_eq!(header(&resp, "etag").as_deref(), Some("\"v1\""));

    let mut ctx = ctx_for(6, Some("br"));
    let mut resp = response(200, &[("ETag", "W/\"v1\"")]);
    ctx.response_header_filter(&mut resp, false)
        .expect("header filter");
    assert_eq!(header(&resp, "etag").as_deref(), Some("W/\"v1\""));
}

#[test]
fn vary_is_not_repeated_and_star_is_respected() {
    for vary in ["accept-encoding", "Origin, Accept-Encoding", "*"] {
        let mut ctx = ctx_for(6, Some("gzip"));
        let mut resp = response(200, &[("Vary", vary)]);
        ctx.response_header_filter(&mut resp, false)
            .expect("header filter");
        assert_eq!(resp.headers.get_all("vary").iter().count(), 1, "{vary}");
    }
}

#[test]
fn every_case_that_is_not_compressed_leaves_the_response_alone() {
    struct Case {
        name: &'static str,
        method: &'static str,
        accept: Option<&'static str>,
        status: u16,
        headers: &'static [(&'static str, &'static str)],
        end_of_stream: bool,
    }
    let base = Case {
        name: "",
        method: "GET",
        accept: Some("gzip, br, zstd"),
        status: 200,
        headers: &[("Content-Length", "5000")],
        end_of_stream: false,
    };
    let cases = [
        Case {
            name: "already encoded",
            headers: &[("Content-Encoding", "gzip")],
            ..base
        },
        Case {
            name: "unknown encoding",
            headers: &[("Content-Encoding", "deflate")],
            ..base
        },
        Case {
            name: "HEAD",
            method: "HEAD",
            ..base
        },
        Case {
            name: "204",
            status: 204,
            ..base
        },
        Case {
            name: "304",
            status: 304,
            ..base
        },
        Case {
            name: "101",
            status: 101,
            ..base
        },
        Case {
            name: "206",
            status: 206,
            ..base
        },
        Case {
            name: "Content-Range",
            headers: &[("Content-Range", "bytes 0-9/100"), ("Content-Length", "10")],
            ..base
        },
        Case {
            name: "header ends the response",
            end_of_stream: true,
            ..base
        },
        Case {
            name: "empty body",
            headers: &[("Content-Length", "0")],
            ..base
        },
        Case {
            name: "below the minimum",
            headers: &[("Content-Length", "19")],
            ..base
        },
        Case {
            name: "no-transform",
            headers: &[("Cache-Control", "public, No-Transform")],
            ..base
        },
        Case {
            name: "image",
            headers: &[("Content-Type", "image/png")],
            ..base
        },
        Case {
            name: "video",
            headers: &[("Content-Type", "video/mp4")],
            ..base
        },
        Case {
            name: "zip",
            headers: &[("Content-Type", "application/zip")],
            ..base
        },
        Case {
            name: "woff2",
            headers: &[("Content-Type", "font/woff2")],
            ..base
        },
        Case {
            name: "no Accept-Encoding",
            accept: None,
            ..base
        },
        Case {
            name: "identity only",
            accept: Some("identity"),
            ..base
        },
        Case {
            name: "everything refused",
            accept: Some("*;q=0"),
            ..base
        },
        Case {
            name: "unsupported coding",
            accept: Some("deflate"),
            ..base
        },
    ];
    for case in cases {
        let mut ctx = ResponseCompressionCtx::new(6, false, false);
        ctx.request_filter(&request(case.method, case.accept));
        let mut resp = response(case.status, case.headers);
        let before = resp.headers.clone();
        ctx.response_header_filter(&mut resp, case.end_of_stream)
            .expect("header filter");
        assert!(ctx.get_info().is_none(), "{}", case.name);
        assert!(!ctx.is_enabled(), "{}", case.name);
        assert_eq!(
            resp.headers.get("content-encoding"),
            before.get("content-encoding"),
            "{}",
            case.name
        );
        assert_eq!(
            resp.headers.get("content-length"),
            before.get("content-length"),
            "{}",
            case.name
        );
        let body = sample(3000);
        assert_eq!(run_body(&mut ctx, &body, 1000), body, "{}", case.name);
    }
}

#[test]
fn an_eligible_response_the_client_cannot_take_compressed_still_gets_vary() {
    let mut ctx = ctx_for(6, None);
    let mut resp = response(200, &[("Content-Length", "5000")]);
    ctx.response_header_filter(&mut resp, false)
        .expect("header filter");
    assert_eq!(header(&resp, "vary").as_deref(), Some("Accept-Encoding"));
    assert_eq!(header(&resp, "content-length").as_deref(), Some("5000"));
}

#[test]
fn level_zero_leaves_the_response_untouched() {
    let mut ctx = ctx_for(0, Some("gzip, br, zstd"));
    assert!(!ctx.is_enabled());
    let mut resp = response(200, &[("Content-Length", "3000"), ("ETag", "\"a\"")]);
    let before = resp.headers.clone();
    ctx.response_header_filter(&mut resp, false)
        .expect("header filter");
    assert_eq!(resp.headers, before);
    let body = sample(3000);
    assert_eq!(run_body(&mut ctx, &body, 700), body);
    assert!(ctx.get_info().is_none());
}

#[test]
fn interim_headers_wait_for_the_final_one() {
    let mut ctx = ctx_for(6, Some("gzip"));
    let mut interim = response(103, &[("Link", "</a.css>; rel=preload")]);
    ctx.response_header_filter(&mut interim, false)
        .expect("header filter");
    assert_eq!(header(&interim, "content-encoding"), None);
    assert!(ctx.get_info().is_none());
    let mut fin = response(200, &[]);
    ctx.response_header_filter(&mut fin, false)
        .expect("header filter");
    assert_eq!(header(&fin, "content-encoding").as_deref(), Some("gzip"));
}

#[test]
fn settings_apply_per_algorithm_and_only_before_the_header() {
    let mut ctx = ctx_for(6, Some("zstd, br, gzip"));
    ctx.adjust_algorithm_level(Algorithm::Zstd, 0);
    ctx.adjust_algorithm_level(Algorithm::Other, 0);
    let mut resp = response(200, &[]);
    ctx.response_header_filter(&mut resp, false)
        .expect("header filter");
    assert_eq!(header(&resp, "content-encoding").as_deref(), Some("br"));
    // Too late: the codec is chosen.
    ctx.adjust_level(0);
    assert!(ctx.is_enabled());

    let mut ctx = ctx_for(0, Some("zstd, br, gzip"));
    ctx.adjust_algorithm_level(Algorithm::Gzip, 3);
    let mut resp = response(200, &[]);
    ctx.response_header_filter(&mut resp, false)
        .expect("header filter");
    assert_eq!(header(&resp, "content-encoding").as_deref(), Some("gzip"));

    let mut ctx = ctx_for(0, Some("zstd"));
    ctx.adjust_algorithm_level(Algorithm::Any, 9);
    let mut resp = response(200, &[]);
    ctx.response_header_filter(&mut resp, false)
        .expect("header filter");
    assert_eq!(header(&resp, "content-encoding").as_deref(), Some("zstd"));
}

#[test]
fn streamed_body_round_trips_and_get_info_counts_it() {
    let body = sample(300_000);
    for (accept, algorithm) in [
        ("gzip", Algorithm::Gzip),
        ("br", Algorithm::Brotli),
        ("zstd", Algorithm::Zstd),
    ] {
        let mut ctx = ctx_for(6, Some(accept));
        let mut resp = response(200, &[]);
        ctx.response_header_filter(&mut resp, false)
            .expect("header filter");
        let encoded = run_body(&mut ctx, &body, 32 * 1024);
        assert_eq!(decode(algorithm, &encoded), body, "{accept}");
        let (name, bytes_in, bytes_out, _elapsed) = ctx.get_info().expect("compressing");
        assert_eq!(name, accept);
        assert_eq!(bytes_in, body.len());
        assert_eq!(bytes_out, encoded.len());
    }
}

#[test]
fn every_body_piece_yields_output_as_it_streams() {
    let mut ctx = ctx_for(6, Some("gzip"));
    let mut resp = response(200, &[]);
    ctx.response_header_filter(&mut resp, false)
        .expect("header filter");
    for _ in 0..3 {
        let mut data = Some(Bytes::from(sample(5000)));
        ctx.response_body_filter(&mut data, false)
            .expect("body filter");
        assert!(data.is_some_and(|d| !d.is_empty()));
    }
}

#[test]
fn the_done_filter_ends_the_stream_when_the_body_filter_did_not() {
    let body = sample(10_000);
    let mut ctx = ctx_for(6, Some("zstd"));
    let mut resp = response(200, &[]);
    ctx.response_header_filter(&mut resp, false)
        .expect("header filter");
    let mut data = Some(Bytes::from(body.clone()));
    ctx.response_body_filter(&mut data, false)
        .expect("body filter");
    let mut encoded = data.expect("flushed output").to_vec();
    let tail = ctx
        .response_done_filter()
        .expect("done")
        .expect("frame end");
    encoded.extend_from_slice(&tail);
    assert_eq!(decode(Algorithm::Zstd, &encoded), body);
    // Finished: nothing more, and an empty end is fine.
    assert_eq!(ctx.response_done_filter().expect("done"), None);
    let mut none = None;
    ctx.response_body_filter(&mut none, true)
        .expect("empty end after finish");
    assert_eq!(none, None);
}

#[test]
fn decompresses_for_a_client_that_does_not_accept_the_encoding() {
    let body = sample(50_000);
    for algorithm in [Algorithm::Gzip, Algorithm::Brotli, Algorithm::Zstd] {
        let encoded = encode(algorithm, &body);
        for accept in [None, Some("identity"), Some("deflate")] {
            let mut ctx = ResponseCompressionCtx::new(0, true, false);
            ctx.request_filter(&request("GET", accept));
            let length = encoded.len().to_string();
            let mut resp = response(
                200,
                &[
                    ("Content-Encoding", algorithm.as_str()),
                    ("Content-Length", &length),
                    ("ETag", "\"e\""),
                ],
            );
            ctx.response_header_filter(&mut resp, false)
                .expect("header filter");
            assert_eq!(header(&resp, "content-encoding"), None);
            assert_eq!(header(&resp, "content-length"), None);
            assert_eq!(header(&resp, "etag").as_deref(), Some("W/\"e\""));
            assert_eq!(run_body(&mut ctx, &encoded, 4096), body);
            let (name, bytes_in, bytes_out, _) = ctx.get_info().expect("decompressing");
            assert_eq!(name, format!("de-{}", algorithm.as_str()));
            assert_eq!((bytes_in, bytes_out), (encoded.len(), body.len()));
        }
    }
}

#[test]
fn no_decompression_when_the_client_accepts_it_or_it_is_off() {
    let encoded = encode(Algorithm::Gzip, &sample(5000));
    let cases = [
        (ResponseCompressionCtx::new(6, true, false), Some("gzip")),
        (ResponseCompressionCtx::new(6, true, false), Some("*")),
        (ResponseCompressionCtx::new(6, false, false), None),
        (
            {
                let mut ctx = ResponseCompressionCtx::new(6, true, false);
                ctx.adjust_algorithm_decompression(Algorithm::Gzip, false);
                ctx
            },
            None,
        ),
    ];
    for (mut ctx, accept) in cases {
        ctx.request_filter(&request("GET", accept));
        let mut resp = response(200, &[("Content-Encoding", "gzip")]);
        ctx.response_header_filter(&mut resp, false)
            .expect("header filter");
        assert_eq!(header(&resp, "content-encoding").as_deref(), Some("gzip"));
        assert_eq!(run_body(&mut ctx, &encoded, 1000), encoded);
    }
}

#[test]
fn decompressing_invalid_data_fails_the_body() {
    let mut ctx = ResponseCompressionCtx::new(0, true, false);
    ctx.request_filter(&request("GET", None));
    let mut resp = response(200, &[("Content-Encoding", "br")]);
    ctx.response_header_filter(&mut resp, false)
        .expect("header filter");
    let mut data = Some(Bytes::from_static(b"definitely not brotli, not at all"));
    let result = ctx
        .response_body_filter(&mut data, false)
        .and_then(|()| ctx.response_done_filter().map(|_| ()));
    assert!(result.is_err());
}

#[tokio::test]
async fn the_module_is_reached_through_the_ctx_and_runs_its_filters() {
    let mut modules = HttpModules::new();
    modules.add_module(ResponseCompressionBuilder::enable(6));
    let mut ctx = modules.build_ctx();
    let mut req = request("GET", Some("gzip"));
    ctx.request_header_filter(&mut req).await.expect("request");
    let mut resp = response(200, &[("Content-Length", "20000")]);
    ctx.response_header_filter(&mut resp, false)
        .await
        .expect("header");
    assert_eq!(header(&resp, "content-encoding").as_deref(), Some("gzip"));
    let body = sample(20_000);
    let mut data = Some(Bytes::from(body.clone()));
    ctx.response_body_filter(&mut data, false).expect("body");
    let mut encoded = data.expect("flushed").to_vec();
    // Trailers end the compressed stream: its last bytes come back to be sent as body.
    let mut trailers = None;
    let tail = ctx
        .response_trailer_filter(&mut trailers)
        .expect("trailers")
        .expect("gzip trailer bytes");
    encoded.extend_from_slice(&tail);
    assert_eq!(decode(Algorithm::Gzip, &encoded), body);
    assert_eq!(ctx.response_done_filter().expect("done"), None);
    let module = ctx.get::<ResponseCompression>().expect("installed");
    assert_eq!(module.get_info().map(|i| i.1), Some(body.len()));
}

#[tokio::test]
async fn a_request_can_switch_compression_off_through_the_ctx() {
    let mut modules = HttpModules::new();
    modules.add_module(ResponseCompressionBuilder::enable(6));
    let mut ctx = modules.build_ctx();
    let mut req = request("GET", Some("gzip"));
    ctx.request_header_filter(&mut req).await.expect("request");
    ctx.get_mut::<ResponseCompression>()
        .expect("installed")
        .adjust_level(0);
    let mut resp = response(200, &[("Content-Length", "20000")]);
    ctx.response_header_filter(&mut resp, false)
        .await
        .expect("header");
    assert_eq!(header(&resp, "content-encoding"), None);
    assert_eq!(header(&resp, "content-length").as_deref(), Some("20000"));
}
