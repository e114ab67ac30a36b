//! Tests of the constructors, accessors and the chain formatting of [`Error`].

use super::*;

#[test]
fn create_sets_every_field() {
    let e = Error::create(
        ErrorType::ConnectTimedout,
        ErrorSource::Upstream,
        Some("dialing".into()),
        Some(Box::new(std::io::Error::other("slow"))),
    );
    assert_eq!(e.etype, ErrorType::ConnectTimedout);
    assert_eq!(e.esource, ErrorSource::Upstream);
    assert_eq!(e.context, Some(ImmutStr::Static("dialing")));
    assert_eq!(e.cause.as_ref().unwrap().to_string(), "slow");
    assert_eq!(e.retry, RetryType::Decided(false));
}

#[test]
fn plain_constructors_set_type_and_source() {
    let cases = [
        (Error::new(ErrorType::H1Error), ErrorSource::Unset),
        (Error::new_up(ErrorType::H1Error), ErrorSource::Upstream),
        (Error::new_down(ErrorType::H1Error), ErrorSource::Downstream),
        (Error::new_in(ErrorType::H1Error), ErrorSource::Internal),
    ];
    for (e, source) in cases {
        assert_eq!(e.etype(), &ErrorType::H1Error);
        assert_eq!(e.esource(), &source);
        assert!(e.context.is_none() && e.cause.is_none());
        assert!(!e.retry());
    }
    assert_eq!(Error::new_str("Mine").etype(), &ErrorType::Custom("Mine"));
}

#[test]
fn result_constructors_return_err() {
    let results: [(Result<()>, ErrorSource); 4] = [
        (Error::err(ErrorType::ReadError), ErrorSource::Unset),
        (Error::err_up(ErrorType::ReadError), ErrorSource::Upstream),
        (
            Error::err_down(ErrorType::ReadError),
            ErrorSource::Downstream,
        ),
        (Error::err_in(ErrorType::ReadError), ErrorSource::Internal),
    ];
    for (r, source) in results {
        let e = r.unwrap_err();
        assert_eq!(e.etype(), &ErrorType::ReadError);
        assert_eq!(e.esource(), &source);
    }
    let e = Error::e_explain::<(), _>(ErrorType::H2Error, "bad frame").unwrap_err();
    assert_eq!(e.context.unwrap().as_str(), "bad frame");
    let e = Error::e_because::<(), _, _>(ErrorType::H2Error, "x", std::fmt::Error).unwrap_err();
    assert!(e.cause.is_some());
}

#[test]
fn because_inherits_retry_only_from_framework_errors() {
    let mut retryable = Error::new(ErrorType::ConnectRefused);
    retryable.set_retry(true);
    assert!(Error::because(ErrorType::ConnectError, "a", retryable).retry());

    let foreign = std::io::Error::other("refused");
    assert!(!Error::because(ErrorType::ConnectError, "a", foreign).retry());

    let mut reused_only = Error::new(ErrorType::ConnectionClosed);
    reused_only.retry = RetryType::ReusedOnly;
    let mut outer = Error::because(ErrorType::ReadError, "a", reused_only);
    assert_eq!(outer.retry, RetryType::ReusedOnly);
    outer.retry.decide_reuse(true);
    assert!(outer.retry());
}

#[test]
fn explain_has_context_and_no_cause() {
    let e = Error::explain(ErrorType::InvalidHTTPHeader, String::from("bad name"));
    assert!(e.cause.is_none());
    assert!(e.context.as_ref().unwrap().is_owned());
    assert_eq!(e.reason_str(), "InvalidHTTPHeader");
}

#[test]
fn source_setters_change_attribution() {
    let mut e = Error::new(ErrorType::ReadError);
    e.as_up();
    assert_eq!(e.esource(), &ErrorSource::Upstream);
    e.as_down();
    assert_eq!(e.esource(), &ErrorSource::Downstream);
    e.as_in();
    assert_eq!(e.esource(), &ErrorSource::Internal);
    let e = e.into_up();
    assert_eq!(e.esource(), &ErrorSource::Upstream);
    let e = e.into_down();
    assert_eq!(e.esource(), &ErrorSource::Downstream);
    let e = e.into_in();
    assert_eq!(e.esource(), &ErrorSource::Internal);
}

#[test]
fn set_cause_and_set_context_replace() {
    let mut e = Error::explain(ErrorType::ReadError, "old");
    e.set_context("new");
    e.set_cause(std::io::Error::other("why"));
    assert_eq!(e.to_string(), "ReadError context: new cause: why");
}

#[test]
fn more_context_on_empty_context_does_not_nest() {
    let e = Error::new_down(ErrorType::ReadError).more_context("reading header");
    assert!(e.cause.is_none());
    assert_eq!(
        e.to_string(),
        "Downstream ReadError context: reading header"
    );
}

#[test]
fn more_context_keeps_the_retry_decision() {
    let mut e = Error::explain(ErrorType::ConnectRefused, "first");
    e.set_retry(true);
    let e = e.more_context("second");
    assert!(e.retry());
    assert_eq!(e.root_etype(), &ErrorType::ConnectRefused);
}

#[test]
fn chain_display_omits_repeated_source_and_type() {
    let root = Error::because(
        ErrorType::ReadError,
        "reading response",
        std::io::Error::other("connection reset"),
    )
    .into_up();
    let middle = Error::create(
        ErrorType::ReadError,
        ErrorSource::Upstream,
        Some("peer 127.0.0.1:80".into()),
        Some(root),
    );
    let top = Error::because(ErrorType::HTTPStatus(502), "proxying", middle).into_in();
    assert_eq!(
        top.to_string(),
        "Internal HTTPStatus context: proxying cause: Upstream ReadError context: peer \
         127.0.0.1:80 cause: context: reading response cause: connection reset"
    );
}

#[test]
fn chain_display_with_type_change_only() {
    let inner = Error::new_up(ErrorType::ConnectTimedout);
    let outer = Error::create(
        ErrorType::ConnectError,
        ErrorSource::Upstream,
        None,
        Some(inner),
    );
    assert_eq!(
        outer.to_string(),
        "Upstream ConnectError cause: ConnectTimedout"
    );
}

#[test]
fn display_of_a_bare_error() {
    assert_eq!(
        Error::new(ErrorType::UnknownError).to_string(),
        "UnknownError"
    );
    assert_eq!(
        Error::new_up(ErrorType::HTTPStatus(503)).to_string(),
        "Upstream HTTPStatus"
    );
}

#[test]
fn root_cause_walks_to_the_foreign_error() {
    let io = std::io::Error::other("root");
    let e = Error::because(ErrorType::ReadError, "a", io)
        .more_context("b")
        .more_context("c");
    assert_eq!(e.root_cause().to_string(), "root");
    assert_eq!(e.root_etype(), &ErrorType::ReadError);
}

#[test]
fn root_cause_of_a_chain_of_framework_errors_is_the_innermost() {
    let inner = Error::explain(ErrorType::ConnectRefused, "innermost");
    let e = Error::because(ErrorType::ConnectError, "outer", inner);
    assert_eq!(
        e.root_cause().to_string(),
        "ConnectRefused context: innermost"
    );
    assert_eq!(e.root_etype(), &ErrorType::ConnectRefused);
}

#[test]
fn std_error_source_exposes_the_cause() {
    let e = Error::because(ErrorType::ReadError, "a", std::io::Error::other("io"));
    let source = ErrorTrait::source(e.as_ref()).unwrap();
    assert_eq!(source.to_string(), "io");
    assert!(ErrorTrait::source(Error::new(ErrorType::ReadError).as_ref()).is_none());
}

#[test]
fn an_unboxed_error_as_cause_is_seen_through() {
    let inner = *Error::new(ErrorType::ReadTimedout);
    let outer = Error::because(ErrorType::ReadError, "a", inner);
    assert_eq!(outer.root_etype(), &ErrorType::ReadTimedout);
}

#[test]
fn errors_cross_threads() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<BError>();
    let e = std::thread::spawn(|| Error::new(ErrorType::ReadError))
        .join()
        .unwrap();
    assert_eq!(e.etype(), &ErrorType::ReadError);
}
