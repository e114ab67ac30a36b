//! The wire spelling of header names, kept beside an [`http::HeaderMap`], and the
//! HTTP/1 header-block writer built on it. Shared by requests and responses.

use bytes::{BufMut, Bytes};
use http::header::AsHeaderName;
use http::{HeaderMap, HeaderName, HeaderValue};
use pingora_error::Result;
use smallvec::SmallVec;

use crate::case_name::IntoCaseHeaderName;
use crate::spellings::{too_many_headers, Spellings};
use crate::title_case::default_spelling;
use crate::validate;

/// The spellings of the header names of one header map.
///
/// Only spellings that differ from a name's default (Title-Case for well-known names,
/// else lower case) are stored: a typical browser request (`Host`, `User-Agent`,
/// `Accept`, ...) needs none, so case tracking costs no allocation or extra hashing on
/// the write path for it. One spelling per name, the last one recorded: every value of
/// that name is written with it.
///
/// Lookups go by the values actually in the map when it is written, so a caller that
/// edits `headers` directly (through `DerefMut`) still gets each value written, with the
/// default spelling when none is known.
#[derive(Debug, Clone)]
pub(crate) struct WireNames {
    tracking: bool,
    spellings: Spellings,
}

impl WireNames {
    /// Records the spellings given to it.
    pub(crate) fn tracking() -> Self {
        WireNames {
            tracking: true,
            spellings: Spellings::new(),
        }
    }

    /// Ignores spellings: every name is written in its default form.
    pub(crate) fn untracked() -> Self {
        WireNames {
            tracking: false,
            spellings: Spellings::new(),
        }
    }

    pub(crate) fn is_tracking(&self) -> bool {
        self.tracking
    }

    /// Appends `value` under `name`, keeping earlier values of the name. Returns
    /// whether the name was present before.
    pub(crate) fn append(
        &mut self,
        headers: &mut HeaderMap,
        name: impl IntoCaseHeaderName,
        value: impl TryInto<HeaderValue>,
    ) -> Result<bool> {
        let (name, spelling) = name.into_case_header_name().into_parts()?;
        let value = validate::header_value(&name, value)?;
        self.record(&name, spelling)?;
        headers.try_append(name, value).map_err(too_many_headers)
    }

    /// Replaces every value of `name` with `value`.
    pub(crate) fn insert(
        &mut self,
        headers: &mut HeaderMap,
        name: impl IntoCaseHeaderName,
        value: impl TryInto<HeaderValue>,
    ) -> Result<()> {
        let (name, spelling) = name.into_case_header_name().into_parts()?;
        let value = validate::header_value(&name, value)?;
        self.record(&name, spelling)?;
        headers.try_insert(name, value).map_err(too_many_headers)?;
        Ok(())
    }

    /// Removes every value of `name` and its spelling; returns the first value. The other
    /// headers keep their order.
    pub(crate) fn remove<'a, N: ?Sized>(
        &mut self,
        headers: &mut HeaderMap,
        name: &'a N,
    ) -> Option<HeaderValue>
    where
        &'a N: 'a + AsHeaderName,
    {
        let removed = remove_in_order(headers, name);
        if !self.spellings.is_empty() {
            self.spellings.clear_removed(name, headers);
        }
        removed
    }

    /// Stores `spelling` for `name`, or forgets any stored one when it is `None` (the default).
    #[inline]
    fn record(&mut self, name: &HeaderName, spelling: Option<Bytes>) -> Result<()> {
        if !self.tracking {
            return Ok(());
        }
        match spelling {
            Some(spelling) => self.spellings.set(name, spelling)?,
            // The default form is what gets written when nothing is stored.
            None => {
                if !self.spellings.is_empty() {
                    self.spellings.clear(name);
                }
            }
        }
        Ok(())
    }

    /// The bytes `name` is written as.
    #[inline]
    pub(crate) fn spelling<'a>(&'a self, name: &'a HeaderName) -> &'a [u8] {
        let lower = name.as_str();
        if !self.spellings.is_empty() {
            if let Some(spelling) = self.spellings.get(name, lower) {
                return spelling;
            }
        }
        default_spelling(name)
    }

    /// Every header of `headers` as (wire name, value), in the order they are written.
    pub(crate) fn iter<'a>(
        &'a self,
        headers: &'a HeaderMap,
    ) -> impl Iterator<Item = (&'a [u8], &'a HeaderValue)> + 'a {
        headers
            .iter()
            .map(move |(name, value)| (self.spelling(name), value))
    }

    /// Writes `Name: value\r\n` for every header of `headers`.
    pub(crate) fn write_h1(&self, headers: &HeaderMap, buf: &mut impl BufMut) {
        // Values of one name come out of the map one after another: look their
        // spelling up once.
        let mut last: Option<(&HeaderName, &[u8])> = None;
        for (name, value) in headers {
            let spelling = match last {
                Some((last_name, spelling)) if last_name == name => spelling,
                _ => {
                    let spelling = self.spelling(name);
                    last = Some((name, spelling));
                    spelling
                }
            };
            buf.put_slice(spelling);
            buf.put_slice(b": ");
            buf.put_slice(value.as_bytes());
            buf.put_slice(b"\r\n");
        }
    }
}

/// Removes every value of `name` from `headers`, returning the first, without moving any
/// other header.
///
/// `HeaderMap::remove` fills the hole with the map's last header, which would send that header
/// out earlier than it came (nginx, for one, writes its hop-by-hop `Connection` between
/// `Last-Modified` and `ETag`). So when that happened, the headers from the hole on are taken
/// out, last first (each is then the map's last, so taking it out moves nothing), and appended
/// again in their order. Removing the last header, or a missing one, costs nothing extra.
fn remove_in_order<K: AsHeaderName>(headers: &mut HeaderMap, name: K) -> Option<HeaderValue> {
    let last = headers.keys().last()?.clone();
    let removed = headers.remove(name)?;
    let Some(hole) = headers.keys().position(|key| *key == last) else {
        // The last header was the one removed.
        return Some(removed);
    };
    if hole + 1 == headers.keys_len() {
        // The removed header was just before the last one, which now ends the map as before.
        return Some(removed);
    }
    // Every value from the hole on, in map order: the moved header first, then the ones that
    // followed the removed header (values of one name come out together). Usually two or
    // three: held on the stack.
    let mut tail: SmallVec<[(HeaderName, HeaderValue); 4]> = SmallVec::new();
    let mut entry = 0;
    let mut previous: Option<&HeaderName> = None;
    for (key, value) in headers.iter() {
        if previous.is_some_and(|p| p != key) {
            entry += 1;
        }
        previous = Some(key);
        if entry >= hole {
            tail.push((key.clone(), value.clone()));
        }
    }
    // Out last first, one name at a time (a name's values are adjacent in `tail`).
    for at in (0..tail.len()).rev() {
        if at == 0 || tail[at - 1].0 != tail[at].0 {
            headers.remove(&tail[at].0);
        }
    }
    // The moved header goes back to the end, where it came from.
    let moved = tail.iter().take_while(|(key, _)| *key == last).count();
    tail.rotate_left(moved);
    for (key, value) in tail {
        headers
            .try_append(key, value)
            .expect("re-adding headers the map held a moment ago fits in it");
    }
    Some(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;

    fn written(names: &WireNames, headers: &HeaderMap) -> String {
        let mut buf = BytesMut::new();
        names.write_h1(headers, &mut buf);
        String::from_utf8(buf.to_vec()).unwrap()
    }

    #[test]
    fn removing_a_header_moves_no_other() {
        let names = ["a", "b", "c", "d", "e"];
        for removed in names {
            let mut wire = WireNames::tracking();
            let mut headers = HeaderMap::new();
            for name in names {
                wire.append(&mut headers, name, "1").unwrap();
            }
            // Second values, so that whole runs of values must move together.
            wire.append(&mut headers, "e", "2").unwrap();
            wire.append(&mut headers, "b", "2").unwrap();
            assert_eq!(
                wire.remove(&mut headers, removed)
                    .map(|v| v.to_str().unwrap().to_owned()),
                Some("1".to_owned())
            );
            let mut expected = String::new();
            for name in names.iter().filter(|n| **n != removed) {
                expected.push_str(&format!("{name}: 1\r\n"));
                if *name == "b" || *name == "e" {
                    expected.push_str(&format!("{name}: 2\r\n"));
                }
            }
            assert_eq!(written(&wire, &headers), expected, "removing {removed}");
        }
        let mut headers = HeaderMap::new();
        assert_eq!(WireNames::tracking().remove(&mut headers, "x"), None);
    }

    #[test]
    fn default_spellings_are_not_stored() {
        let mut names = WireNames::tracking();
        let mut headers = HeaderMap::new();
        names.append(&mut headers, "Host", "a").unwrap();
        names.append(&mut headers, "x-lower", "b").unwrap();
        names
            .append(&mut headers, http::header::ACCEPT, "c")
            .unwrap();
        assert!(names.spellings.is_empty());
        assert_eq!(
            written(&names, &headers),
            "Host: a\r\nx-lower: b\r\nAccept: c\r\n"
        );
    }

    #[test]
    fn a_later_default_spelling_replaces_a_stored_one() {
        let mut names = WireNames::tracking();
        let mut headers = HeaderMap::new();
        names.append(&mut headers, "X-Custom", "1").unwrap();
        names.append(&mut headers, "x-custom", "2").unwrap();
        assert!(names.spellings.is_empty());
        assert_eq!(written(&names, &headers), "x-custom: 1\r\nx-custom: 2\r\n");
    }

    #[test]
    fn untracked_names_are_written_in_default_form() {
        let mut names = WireNames::untracked();
        let mut headers = HeaderMap::new();
        names.append(&mut headers, "content-LENGTH", "0").unwrap();
        names.append(&mut headers, "X-Custom", "1").unwrap();
        assert!(!names.is_tracking());
        assert_eq!(
            written(&names, &headers),
            "Content-Length: 0\r\nx-custom: 1\r\n"
        );
    }

    #[test]
    fn headers_edited_directly_are_still_written() {
        let mut names = WireNames::tracking();
        let mut headers = HeaderMap::new();
        names.append(&mut headers, "X-Known", "1").unwrap();
        headers.append("x-known", HeaderValue::from_static("2"));
        headers.insert("x-direct", HeaderValue::from_static("3"));
        assert_eq!(
            written(&names, &headers),
            "X-Known: 1\r\nX-Known: 2\r\nx-direct: 3\r\n"
        );
    }

    #[test]
    fn many_spelled_names_are_all_written_and_removable() {
        let mut names = WireNames::tracking();
        let mut headers = HeaderMap::new();
        let mut expected = String::new();
        for i in 0..40 {
            names
                .append(&mut headers, format!("X-Name-{i}"), "v")
                .unwrap();
            if i != 7 {
                expected.push_str(&format!("X-Name-{i}: v\r\n"));
            }
        }
        assert!(names.remove(&mut headers, "x-name-7").is_some());
        let mut written_lines: Vec<_> = written(&names, &headers)
            .lines()
            .map(String::from)
            .collect();
        let mut expected_lines: Vec<_> = expected.lines().map(String::from).collect();
        // Removal may reorder the map; the set of lines is what must match.
        written_lines.sort();
        expected_lines.sort();
        assert_eq!(written_lines, expected_lines);
        headers.insert("x-name-7", HeaderValue::from_static("back"));
        assert_eq!(
            names.spelling(&HeaderName::from_static("x-name-7")),
            b"x-name-7"
        );
    }

    #[test]
    fn a_rejected_value_leaves_the_map_unchanged() {
        let mut names = WireNames::tracking();
        let mut headers = HeaderMap::new();
        assert!(names.append(&mut headers, "X-A", "bad\r\n").is_err());
        assert!(names.insert(&mut headers, "X A", "good").is_err());
        assert!(headers.is_empty());
        assert!(names.spellings.is_empty());
    }
}
