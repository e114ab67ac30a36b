//! Errors for the proxy framework.
//!
//! Every fallible call in the framework returns [`Result<T>`], whose error is a
//! [`BError`] (a boxed [`Error`]). An error carries:
//! - its kind, [`ErrorType`], which code matches on (`ConnectTimedout`, `HTTPStatus(403)`, ...);
//! - its [`ErrorSource`]: upstream, downstream or internal, which decides the status code a
//!   proxy answers with;
//! - a [`RetryType`]: whether trying again (for example on another upstream) may help;
//! - an optional context string, and an optional cause, which may itself be an [`Error`],
//!   so that one failure reads as a chain from the outermost context to the root cause.
//!
//! The [`OrErr`], [`OkOrErr`] and [`Context`] traits turn foreign errors and `None`s into
//! [`BError`]s with a type and a context in one call.
//!
//! ```
//! use pingora_error::{Error, ErrorType, OrErr, Result};
//!
//! fn parse_port(text: &str) -> Result<u16> {
//!     text.parse::<u16>().or_err(ErrorType::InvalidHTTPHeader, "port is not a number")
//! }
//!
//! let err = parse_port("http").unwrap_err();
//! assert_eq!(err.etype(), &ErrorType::InvalidHTTPHeader);
//! assert_eq!(
//!     err.to_string(),
//!     "InvalidHTTPHeader context: port is not a number cause: invalid digit found in string"
//! );
//!
//! // Attribute it to the downstream and add context as it travels up.
//! let err = err.into_down().more_context("reading the Host header");
//! assert_eq!(err.root_etype(), &ErrorType::InvalidHTTPHeader);
//! assert!(!err.retry());
//! ```
//!
//! This crate has no Cargo features and no dependencies.

#![warn(missing_docs, unreachable_pub)]

mod context;
mod immut_str;
mod kinds;

use std::fmt;

pub use context::{Context, OkOrErr, OrErr};
pub use immut_str::ImmutStr;
pub use kinds::{ErrorSource, ErrorType, RetryType};
/// The standard library's error trait, re-exported under a name that does not
/// clash with [`Error`].
pub use std::error::Error as ErrorTrait;

/// A boxed [`Error`]: what the framework's functions return. Boxing keeps
/// `Result<T>` one pointer wide on the error side.
pub type BError = Box<Error>;

/// The framework's result type: `Result<T, Box<Error>>` unless another error type is named.
pub type Result<T, E = BError> = std::result::Result<T, E>;

/// The framework's error: a type, a source, a retry decision, an optional
/// context and an optional cause.
///
/// Build one with the constructors ([`Error::new`], [`Error::because`],
/// [`Error::explain`], ...) or with the [`OrErr`] family of traits. The
/// fields are public so that code which handles an error can inspect and
/// adjust it freely.
#[derive(Debug)]
pub struct Error {
    /// The kind of failure.
    pub etype: ErrorType,
    /// The side the failure is attributed to.
    pub esource: ErrorSource,
    /// Whether trying again may help.
    pub retry: RetryType,
    /// The error that led to this one, if any.
    pub cause: Option<Box<dyn ErrorTrait + Send + Sync>>,
    /// What was being done when the error happened.
    pub context: Option<ImmutStr>,
}

impl Error {
    /// Builds an error from all its parts. The retry decision is inherited
    /// from `cause` when the cause is itself an [`Error`], otherwise the new
    /// error is not retryable.
    ///
    /// ```
    /// use pingora_error::{Error, ErrorSource, ErrorType};
    ///
    /// let e = Error::create(
    ///     ErrorType::ConnectRefused,
    ///     ErrorSource::Upstream,
    ///     Some("10.0.0.1:80".into()),
    ///     None,
    /// );
    /// assert_eq!(e.to_string(), "Upstream ConnectRefused context: 10.0.0.1:80");
    /// ```
    pub fn create(
        etype: ErrorType,
        esource: ErrorSource,
        context: Option<ImmutStr>,
        cause: Option<Box<dyn ErrorTrait + Send + Sync>>,
    ) -> BError {
        let retry = cause
            .as_deref()
            .and_then(as_framework_error)
            .map_or(RetryType::Decided(false), |inner| inner.retry);
        Box::new(Error {
            etype,
            esource,
            retry,
            cause,
            context,
        })
    }

    fn with_source(etype: ErrorType, esource: ErrorSource) -> BError {
        Self::create(etype, esource, None, None)
    }

    /// An error of type `etype` with no source, context or cause.
    ///
    /// ```
    /// use pingora_error::{Error, ErrorType};
    ///
    /// let e = Error::new(ErrorType::HTTPStatus(403));
    /// assert_eq!(e.etype(), &ErrorType::HTTPStatus(403));
    /// assert!(!e.retry());
    /// ```
    pub fn new(etype: ErrorType) -> BError {
        Self::with_source(etype, ErrorSource::Unset)
    }

    /// An error of type `etype` attributed to the upstream.
    ///
    /// ```
    /// use pingora_error::{Error, ErrorSource, ErrorType};
    /// assert_eq!(Error::new_up(ErrorType::ReadError).esource(), &ErrorSource::Upstream);
    /// ```
    pub fn new_up(etype: ErrorType) -> BError {
        Self::with_source(etype, ErrorSource::Upstream)
    }

    /// An error of type `etype` attributed to the downstream.
    ///
    /// ```
    /// use pingora_error::{Error, ErrorSource, ErrorType};
    /// assert_eq!(Error::new_down(ErrorType::ReadError).esource(), &ErrorSource::Downstream);
    /// ```
    pub fn new_down(etype: ErrorType) -> BError {
        Self::with_source(etype, ErrorSource::Downstream)
    }

    /// An error of type `etype` attributed to the framework or user code.
    ///
    /// ```
    /// use pingora_error::{Error, ErrorSource, ErrorType};
    /// assert_eq!(Error::new_in(ErrorType::InternalError).esource(), &ErrorSource::Internal);
    /// ```
    pub fn new_in(etype: ErrorType) -> BError {
        Self::with_source(etype, ErrorSource::Internal)
    }

    /// An error of the user-defined type [`ErrorType::Custom`]`(name)`.
    ///
    /// ```
    /// use pingora_error::{Error, ErrorType};
    /// assert_eq!(Error::new_str("NoRoute").etype(), &ErrorType::Custom("NoRoute"));
    /// ```
    pub fn new_str(name: &'static str) -> BError {
        Self::new(ErrorType::Custom(name))
    }

    /// An error of type `etype` caused by `cause`, with `context` saying what
    /// was being done. A retry decision on a framework `cause` is inherited.
    ///
    /// ```
    /// use pingora_error::{Error, ErrorType};
    ///
    /// let io = std::io::Error::new(std::io::ErrorKind::Other, "disk on fire");
    /// let e = Error::because(ErrorType::FileReadError, "loading the config", io);
    /// assert_eq!(
    ///     e.to_string(),
    ///     "FileReadError context: loading the config cause: disk on fire"
    /// );
    /// ```
    pub fn because<S, E>(etype: ErrorType, context: S, cause: E) -> BError
    where
        S: Into<ImmutStr>,
        E: Into<Box<dyn ErrorTrait + Send + Sync>>,
    {
        Self::create(
            etype,
            ErrorSource::Unset,
            Some(context.into()),
            Some(cause.into()),
        )
    }

    /// [`Error::because`] wrapped in `Err`, for a `return` or a `?`.
    ///
    /// ```
    /// use pingora_error::{Error, ErrorType, Result};
    ///
    /// fn open() -> Result<()> {
    ///     let io = std::io::Error::from(std::io::ErrorKind::NotFound);
    ///     Error::e_because(ErrorType::FileOpenError, "opening cert.pem", io)
    /// }
    /// assert_eq!(open().unwrap_err().etype(), &ErrorType::FileOpenError);
    /// ```
    pub fn e_because<T, S, E>(etype: ErrorType, context: S, cause: E) -> Result<T>
    where
        S: Into<ImmutStr>,
        E: Into<Box<dyn ErrorTrait + Send + Sync>>,
    {
        Err(Self::because(etype, context, cause))
    }

    /// An error of type `etype` with `context` explaining it and no cause.
    ///
    /// ```
    /// use pingora_error::{Error, ErrorType};
    ///
    /// let e = Error::explain(ErrorType::InvalidHTTPHeader, "two Host headers");
    /// assert_eq!(e.to_string(), "InvalidHTTPHeader context: two Host headers");
    /// ```
    pub fn explain<S: Into<ImmutStr>>(etype: ErrorType, context: S) -> BError {
        Self::create(etype, ErrorSource::Unset, Some(context.into()), None)
    }

    /// [`Error::explain`] wrapped in `Err`.
    ///
    /// ```
    /// use pingora_error::{Error, ErrorType, Result};
    ///
    /// fn check(len: usize) -> Result<()> {
    ///     if len > 8 {
    ///         return Error::e_explain(ErrorType::HTTPStatus(431), format!("{len} headers"));
    ///     }
    ///     Ok(())
    /// }
    /// assert!(check(9).is_err());
    /// ```
    pub fn e_explain<T, S: Into<ImmutStr>>(etype: ErrorType, context: S) -> Result<T> {
        Err(Self::explain(etype, context))
    }

    /// [`Error::new`] wrapped in `Err`.
    ///
    /// ```
    /// use pingora_error::{Error, ErrorType, Result};
    /// let r: Result<()> = Error::err(ErrorType::HTTPStatus(404));
    /// assert_eq!(r.unwrap_err().etype(), &ErrorType::HTTPStatus(404));
    /// ```
    pub fn err<T>(etype: ErrorType) -> Result<T> {
        Err(Self::new(etype))
    }

    /// [`Error::new_up`] wrapped in `Err`.
    ///
    /// ```
    /// use pingora_error::{Error, ErrorSource, ErrorType, Result};
    /// let r: Result<()> = Error::err_up(ErrorType::ReadError);
    /// assert_eq!(r.unwrap_err().esource(), &ErrorSource::Upstream);
    /// ```
    pub fn err_up<T>(etype: ErrorType) -> Result<T> {
        Err(Self::new_up(etype))
    }

    /// [`Error::new_down`] wrapped in `Err`.
    ///
    /// ```
    /// use pingora_error::{Error, ErrorSource, ErrorType, Result};
    /// let r: Result<()> = Error::err_down(ErrorType::ReadError);
    /// assert_eq!(r.unwrap_err().esource(), &ErrorSource::Downstream);
    /// ```
    pub fn err_down<T>(etype: ErrorType) -> Result<T> {
        Err(Self::new_down(etype))
    }

    /// [`Error::new_in`] wrapped in `Err`.
    ///
    /// ```
    /// use pingora_error::{Error, ErrorSource, ErrorType, Result};
    /// let r: Result<()> = Error::err_in(ErrorType::InternalError);
    /// assert_eq!(r.unwrap_err().esource(), &ErrorSource::Internal);
    /// ```
    pub fn err_in<T>(etype: ErrorType) -> Result<T> {
        Err(Self::new_in(etype))
    }

    /// The kind of failure.
    pub fn etype(&self) -> &ErrorType {
        &self.etype
    }

    /// The side the failure is attributed to.
    pub fn esource(&self) -> &ErrorSource {
        &self.esource
    }

    /// Whether trying again may help.
    ///
    /// # Panics
    /// If the decision is still [`RetryType::ReusedOnly`]; settle it first with
    /// `e.retry.decide_reuse(reused)`.
    pub fn retry(&self) -> bool {
        self.retry.retry()
    }

    /// Marks the error as retryable or not.
    ///
    /// ```
    /// use pingora_error::{Error, ErrorType};
    ///
    /// let mut e = Error::new(ErrorType::ConnectRefused);
    /// e.set_retry(true);
    /// assert!(e.retry());
    /// ```
    pub fn set_retry(&mut self, retry: bool) {
        self.retry = RetryType::Decided(retry);
    }

    /// The name of the error type, as in logs.
    pub fn reason_str(&self) -> &str {
        self.etype.as_str()
    }

    /// Attributes the error to the upstream.
    pub fn as_up(&mut self) {
        self.esource = ErrorSource::Upstream;
    }

    /// Attributes the error to the downstream.
    pub fn as_down(&mut self) {
        self.esource = ErrorSource::Downstream;
    }

    /// Attributes the error to the framework or user code.
    pub fn as_in(&mut self) {
        self.esource = ErrorSource::Internal;
    }

    /// Attributes the error to the upstream and hands it back, for chaining.
    ///
    /// ```
    /// use pingora_error::{Error, ErrorSource, ErrorType};
    /// let e = Error::new(ErrorType::ReadError).into_up();
    /// assert_eq!(e.esource(), &ErrorSource::Upstream);
    /// ```
    pub fn into_up(mut self: BError) -> BError {
        self.as_up();
        self
    }

    /// Attributes the error to the downstream and hands it back.
    pub fn into_down(mut self: BError) -> BError {
        self.as_down();
        self
    }

    /// Attributes the error to the framework or user code and hands it back.
    pub fn into_in(mut self: BError) -> BError {
        self.as_in();
        self
    }

    /// Replaces the cause.
    pub fn set_cause<C: Into<Box<dyn ErrorTrait + Send + Sync>>>(&mut self, cause: C) {
        self.cause = Some(cause.into());
    }

    /// Replaces the context.
    pub fn set_context<T: Into<ImmutStr>>(&mut self, context: T) {
        self.context = Some(context.into());
    }

    /// Adds context while keeping what is there: an error without context
    /// takes `context` directly; one that already has some is wrapped in a new
    /// error of the same type, source and retry decision, with the old one as
    /// its cause.
    ///
    /// ```
    /// use pingora_error::{Error, ErrorType};
    ///
    /// let e = Error::explain(ErrorType::ReadError, "reading body")
    ///     .into_up()
    ///     .more_context("peer 127.0.0.1:8080");
    /// assert_eq!(
    ///     e.to_string(),
    ///     "Upstream ReadError context: peer 127.0.0.1:8080 cause: context: reading body"
    /// );
    /// ```
    pub fn more_context<T: Into<ImmutStr>>(mut self: BError, context: T) -> BError {
        if self.context.is_none() {
            self.context = Some(context.into());
            return self;
        }
        let etype = self.etype.clone();
        let esource = self.esource.clone();
        let retry = self.retry;
        let mut outer = Self::create(etype, esource, Some(context.into()), Some(self));
        outer.retry = retry;
        outer
    }

    /// The type of the innermost framework [`Error`] in the cause chain (this
    /// error's own type when its cause is not a framework error).
    ///
    /// ```
    /// use pingora_error::{Error, ErrorType};
    ///
    /// let inner = Error::new(ErrorType::ConnectTimedout);
    /// let outer = Error::because(ErrorType::ConnectError, "dialing", inner);
    /// assert_eq!(outer.root_etype(), &ErrorType::ConnectTimedout);
    /// ```
    pub fn root_etype(&self) -> &ErrorType {
        let mut current = self;
        while let Some(inner) = current.cause.as_deref().and_then(as_framework_error) {
            current = inner;
        }
        &current.etype
    }

    /// The innermost cause: the first cause in the chain that is not a
    /// framework [`Error`], or the innermost framework error when every link is one.
    ///
    /// ```
    /// use pingora_error::{Error, ErrorType};
    ///
    /// let io = std::io::Error::other("reset by peer");
    /// let e = Error::because(ErrorType::ReadError, "reading", io).more_context("proxying");
    /// assert_eq!(e.root_cause().to_string(), "reset by peer");
    /// ```
    pub fn root_cause(&self) -> &(dyn ErrorTrait + Send + Sync + 'static) {
        let mut current = self;
        loop {
            match current.cause.as_deref() {
                None => return current,
                Some(cause) => match as_framework_error(cause) {
                    Some(inner) => current = inner,
                    None => return cause,
                },
            }
        }
    }

    /// Writes this link of the chain, leaving out the source and type when
    /// they repeat those of the link before it.
    fn fmt_link(&self, f: &mut fmt::Formatter<'_>, previous: Option<&Error>) -> fmt::Result {
        let show_source = previous.is_none_or(|p| p.esource != self.esource);
        let show_type = previous.is_none_or(|p| p.etype != self.etype);
        let mut wrote_any = false;
        if show_source && self.esource != ErrorSource::Unset {
            f.write_str(self.esource.as_str())?;
            wrote_any = true;
        }
        if show_type {
            if wrote_any {
                f.write_str(" ")?;
            }
            f.write_str(self.etype.as_str())?;
            wrote_any = true;
        }
        let mut separator = |f: &mut fmt::Formatter<'_>| {
            let sep = if wrote_any { " " } else { "" };
            wrote_any = true;
            f.write_str(sep)
        };
        if let Some(context) = &self.context {
            separator(f)?;
            write!(f, "context: {context}")?;
        }
        if let Some(cause) = &self.cause {
            separator(f)?;
            f.write_str("cause: ")?;
            match as_framework_error(cause.as_ref()) {
                Some(inner) => inner.fmt_link(f, Some(self))?,
                None => write!(f, "{cause}")?,
            }
        }
        Ok(())
    }
}

/// Sees through the ways a framework error may sit inside a `Box<dyn Error>`:
/// boxed (the usual `BError`) or directly.
fn as_framework_error<'a>(
    cause: &'a (dyn ErrorTrait + Send + Sync + 'static),
) -> Option<&'a Error> {
    cause
        .downcast_ref::<BError>()
        .map(|boxed| boxed.as_ref())
        .or_else(|| cause.downcast_ref::<Error>())
}

impl fmt::Display for Error {
    /// The whole chain on one line:
    /// `<source> <type>[ context: <context>][ cause: <next link>]`, where a
    /// link leaves out its source and type when they equal the previous link's.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_link(f, None)
    }
}

impl ErrorTrait for Error {
    fn source(&self) -> Option<&(dyn ErrorTrait + 'static)> {
        self.cause
            .as_deref()
            .map(|cause| cause as &(dyn ErrorTrait + 'static))
    }
}

#[cfg(test)]
mod tests;

/// Compiles and runs the example in this crate's README.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
