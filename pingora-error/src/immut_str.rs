//! [`ImmutStr`]: a string that is either borrowed for `'static` or owned, used for error context.

use std::fmt;

/// An immutable string that avoids allocating for the common case of a
/// `&'static str` context while still accepting owned, formatted text.
///
/// ```
/// use pingora_error::ImmutStr;
///
/// let fixed: ImmutStr = "connecting to upstream".into();
/// let built: ImmutStr = format!("peer {}", "127.0.0.1:80").into();
/// assert!(!fixed.is_owned());
/// assert!(built.is_owned());
/// assert_eq!(built.as_str(), "peer 127.0.0.1:80");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ImmutStr {
    /// A string that lives for the whole program, stored without a copy.
    Static(&'static str),
    /// A string built at run time.
    Owned(Box<str>),
}

impl ImmutStr {
    /// The text as a `&str`, whichever variant holds it.
    #[inline]
    pub fn as_str(&self) -> &str {
        match self {
            ImmutStr::Static(s) => s,
            ImmutStr::Owned(s) => s,
        }
    }

    /// Whether the text was allocated (the [`ImmutStr::Owned`] variant).
    pub fn is_owned(&self) -> bool {
        matches!(self, ImmutStr::Owned(_))
    }
}

impl fmt::Display for ImmutStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AsRef<str> for ImmutStr {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl From<&'static str> for ImmutStr {
    fn from(s: &'static str) -> Self {
        ImmutStr::Static(s)
    }
}

impl From<String> for ImmutStr {
    fn from(s: String) -> Self {
        ImmutStr::Owned(s.into_boxed_str())
    }
}

impl From<Box<str>> for ImmutStr {
    fn from(s: Box<str>) -> Self {
        ImmutStr::Owned(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_str_is_not_copied() {
        let s: ImmutStr = "abc".into();
        assert_eq!(s, ImmutStr::Static("abc"));
        assert!(!s.is_owned());
        assert_eq!(s.to_string(), "abc");
    }

    #[test]
    fn string_and_boxed_str_become_owned() {
        let from_string: ImmutStr = String::from("xyz").into();
        let from_box: ImmutStr = Box::<str>::from("xyz").into();
        assert!(from_string.is_owned());
        assert_eq!(from_string, from_box);
        assert_eq!(from_string.as_ref(), "xyz");
    }
}
