//! The facade's paths lead to the member crates' items — the same types, not copies — so a
//! program written against `pingora::...` and one written against the member crates mix.

use std::any::TypeId;

fn same<A: 'static, B: 'static>() -> bool {
    TypeId::of::<A>() == TypeId::of::<B>()
}

#[test]
fn error_types_are_the_member_crates_types() {
    assert!(same::<pingora::Error, pingora_error::Error>());
    assert!(same::<pingora::prelude::Error, pingora_core::Error>());
    assert!(same::<pingora::ErrorType, pingora_error::ErrorType>());
    assert!(same::<pingora::BError, Box<pingora_error::Error>>());
    // The ErrorType variants are at the root too, as the quick start uses them.
    assert_eq!(
        pingora::HTTPStatus(404),
        pingora_error::ErrorType::HTTPStatus(404)
    );
}

#[test]
fn header_types_are_the_member_crates_types() {
    assert!(same::<
        pingora::http::RequestHeader,
        pingora_http::RequestHeader,
    >());
    assert!(same::<
        pingora::prelude::RequestHeader,
        pingora_http::RequestHeader,
    >());
    assert!(same::<
        pingora::prelude::ResponseHeader,
        pingora_http::ResponseHeader,
    >());
}

#[test]
fn server_types_are_the_core_types() {
    assert!(same::<pingora::prelude::Server, pingora_core::server::Server>());
    assert!(same::<pingora::server::Server, pingora_core::server::Server>());
    assert!(same::<
        pingora::prelude::Opt,
        pingora_core::server::configuration::Opt,
    >());
    assert!(same::<
        pingora::protocols::Stream,
        pingora_core::protocols::Stream,
    >());
}

#[test]
fn prelude_has_the_fast_timeout() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime builds");
    let out = runtime.block_on(pingora::prelude::timeout(
        std::time::Duration::from_secs(1),
        async { 7 },
    ));
    assert_eq!(out.ok(), Some(7));
}

#[test]
fn prelude_builds_a_server_without_listening() {
    use pingora::prelude::*;
    let opt = Opt::parse_from_args(["test-binary"]);
    let server = Server::new(Some(opt)).expect("the default configuration loads");
    assert_eq!(server.configuration.threads, 1);
}
