//! Traits that turn foreign errors and missing values into framework errors
//! with a type and a context, in one call at the point of failure.

use crate::{BError, Error, ErrorTrait, ErrorType, ImmutStr};

/// Converts the error side of a `Result` into a [`BError`].
///
/// ```
/// use pingora_error::{ErrorType, OrErr, Result};
///
/// fn read_config(path: &str) -> Result<String> {
///     std::fs::read_to_string(path).or_err_with(ErrorType::FileReadError, || {
///         format!("reading {path}")
///     })
/// }
///
/// let e = read_config("/no/such/file").unwrap_err();
/// assert_eq!(e.etype(), &ErrorType::FileReadError);
/// assert!(e.to_string().starts_with("FileReadError context: reading /no/such/file cause: "));
/// ```
pub trait OrErr<T, E> {
    /// Wraps the error as the cause of a new error of type `etype` with a fixed `context`.
    fn or_err(self, etype: ErrorType, context: &'static str) -> Result<T, BError>
    where
        E: Into<Box<dyn ErrorTrait + Send + Sync>>;

    /// Like [`OrErr::or_err`], building the context only when there is an error.
    fn or_err_with<C: Into<ImmutStr>, F: FnOnce() -> C>(
        self,
        etype: ErrorType,
        context: F,
    ) -> Result<T, BError>
    where
        E: Into<Box<dyn ErrorTrait + Send + Sync>>;

    /// Replaces the error with a new one of type `etype` whose context is built
    /// from the old error; the old error is dropped, not kept as the cause.
    /// Useful for errors that are not `Send + Sync` or say too little.
    fn explain_err<C: Into<ImmutStr>, F: FnOnce(E) -> C>(
        self,
        etype: ErrorType,
        context: F,
    ) -> Result<T, BError>;

    /// Wraps the error as the cause of an [`ErrorType::InternalError`] without context.
    fn or_fail(self) -> Result<T, BError>
    where
        E: Into<Box<dyn ErrorTrait + Send + Sync>>;
}

impl<T, E> OrErr<T, E> for Result<T, E> {
    fn or_err(self, etype: ErrorType, context: &'static str) -> Result<T, BError>
    where
        E: Into<Box<dyn ErrorTrait + Send + Sync>>,
    {
        self.map_err(|cause| Error::because(etype, context, cause))
    }

    fn or_err_with<C: Into<ImmutStr>, F: FnOnce() -> C>(
        self,
        etype: ErrorType,
        context: F,
    ) -> Result<T, BError>
    where
        E: Into<Box<dyn ErrorTrait + Send + Sync>>,
    {
        self.map_err(|cause| Error::because(etype, context(), cause))
    }

    fn explain_err<C: Into<ImmutStr>, F: FnOnce(E) -> C>(
        self,
        etype: ErrorType,
        context: F,
    ) -> Result<T, BError> {
        self.map_err(|cause| Error::explain(etype, context(cause)))
    }

    fn or_fail(self) -> Result<T, BError>
    where
        E: Into<Box<dyn ErrorTrait + Send + Sync>>,
    {
        self.map_err(|cause| {
            Error::create(
                ErrorType::InternalError,
                crate::ErrorSource::Unset,
                None,
                Some(cause.into()),
            )
        })
    }
}

/// Converts a `None` into a [`BError`].
///
/// ```
/// use pingora_error::{ErrorType, OkOrErr};
///
/// let host: Option<&str> = None;
/// let e = host.or_err(ErrorType::InvalidHTTPHeader, "no Host header").unwrap_err();
/// assert_eq!(e.to_string(), "InvalidHTTPHeader context: no Host header");
/// ```
pub trait OkOrErr<T> {
    /// A `None` becomes an error of type `etype` with a fixed `context`.
    fn or_err(self, etype: ErrorType, context: &'static str) -> Result<T, BError>;

    /// Like [`OkOrErr::or_err`], building the context only when the value is missing.
    fn or_err_with<C: Into<ImmutStr>, F: FnOnce() -> C>(
        self,
        etype: ErrorType,
        context: F,
    ) -> Result<T, BError>;
}

impl<T> OkOrErr<T> for Option<T> {
    fn or_err(self, etype: ErrorType, context: &'static str) -> Result<T, BError> {
        self.ok_or_else(|| Error::explain(etype, context))
    }

    fn or_err_with<C: Into<ImmutStr>, F: FnOnce() -> C>(
        self,
        etype: ErrorType,
        context: F,
    ) -> Result<T, BError> {
        self.ok_or_else(|| Error::explain(etype, context()))
    }
}

/// Adds context to an error that is already a [`BError`], keeping its type,
/// source and retry decision (see [`Error::more_context`]).
///
/// ```
/// use pingora_error::{Context, Error, ErrorType, Result};
///
/// fn connect() -> Result<()> {
///     Error::e_explain(ErrorType::ConnectRefused, "127.0.0.1:9")
/// }
///
/// let e = connect().err_context(|| "health check").unwrap_err();
/// assert_eq!(
///     e.to_string(),
///     "ConnectRefused context: health check cause: context: 127.0.0.1:9"
/// );
/// ```
pub trait Context<T> {
    /// Adds the context built by `context` to the error, if there is one.
    fn err_context<C: Into<ImmutStr>, F: FnOnce() -> C>(self, context: F) -> Result<T, BError>;
}

impl<T> Context<T> for Result<T, BError> {
    fn err_context<C: Into<ImmutStr>, F: FnOnce() -> C>(self, context: F) -> Result<T, BError> {
        self.map_err(|e| e.more_context(context()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ErrorSource, RetryType};

    #[derive(Debug)]
    struct NotSend(std::rc::Rc<u8>);

    #[test]
    fn or_err_keeps_the_cause() {
        let r: Result<(), std::io::Error> = Err(std::io::Error::other("boom"));
        let e = r.or_err(ErrorType::WriteError, "writing").unwrap_err();
        assert_eq!(e.etype(), &ErrorType::WriteError);
        assert_eq!(e.context.as_ref().unwrap().as_str(), "writing");
        assert_eq!(e.cause.as_ref().unwrap().to_string(), "boom");
        assert_eq!(e.to_string(), "WriteError context: writing cause: boom");
    }

    #[test]
    fn or_err_with_is_lazy() {
        let ok: Result<u8, std::io::Error> = Ok(1);
        let value = ok
            .or_err_with(ErrorType::ReadError, || -> String {
                panic!("context must not be built for Ok")
            })
            .unwrap();
        assert_eq!(value, 1);
        let bad: Result<u8, std::io::Error> = Err(std::io::Error::other("x"));
        let e = bad
            .or_err_with(ErrorType::ReadError, || format!("fd {}", 3))
            .unwrap_err();
        assert_eq!(e.to_string(), "ReadError context: fd 3 cause: x");
    }

    #[test]
    fn explain_err_replaces_a_non_send_error() {
        let r: Result<(), NotSend> = Err(NotSend(std::rc::Rc::new(7)));
        let e = r
            .explain_err(ErrorType::InternalError, |inner| {
                format!("value {}", inner.0)
            })
            .unwrap_err();
        assert!(e.cause.is_none());
        assert_eq!(e.to_string(), "InternalError context: value 7");
    }

    #[test]
    fn or_fail_is_an_internal_error_with_the_cause() {
        let r: Result<(), std::fmt::Error> = Err(std::fmt::Error);
        let e = r.or_fail().unwrap_err();
        assert_eq!(e.etype(), &ErrorType::InternalError);
        assert!(e.context.is_none());
        assert_eq!(
            e.to_string(),
            "InternalError cause: an error occurred when formatting an argument"
        );
    }

    #[test]
    fn or_err_inherits_retry_from_a_framework_cause() {
        let mut inner = Error::new(ErrorType::ConnectRefused);
        inner.set_retry(true);
        let r: Result<(), BError> = Err(inner);
        let e = r.or_err(ErrorType::ConnectError, "dialing").unwrap_err();
        assert!(e.retry());
    }

    #[test]
    fn option_or_err_and_or_err_with() {
        assert_eq!(Some(5).or_err(ErrorType::InternalError, "x").unwrap(), 5);
        let e = None::<u8>
            .or_err(ErrorType::InternalError, "missing")
            .unwrap_err();
        assert_eq!(e.to_string(), "InternalError context: missing");
        let e = None::<u8>
            .or_err_with(ErrorType::HTTPStatus(404), || String::from("no route"))
            .unwrap_err();
        assert_eq!(e.etype(), &ErrorType::HTTPStatus(404));
        assert_eq!(e.to_string(), "HTTPStatus context: no route");
    }

    #[test]
    fn err_context_keeps_type_source_and_retry() {
        let mut inner = Error::new_up(ErrorType::ReadTimedout);
        inner.retry = RetryType::ReusedOnly;
        let r: Result<(), BError> = Err(inner);
        let e = r
            .err_context(|| "first")
            .err_context(|| "second")
            .unwrap_err();
        assert_eq!(e.etype(), &ErrorType::ReadTimedout);
        assert_eq!(e.esource(), &ErrorSource::Upstream);
        assert_eq!(e.retry, RetryType::ReusedOnly);
        assert_eq!(
            e.to_string(),
            "Upstream ReadTimedout context: second cause: context: first"
        );
    }
}
