//! A small map from header name to wire spelling: a list scanned in place while short
//! (no key to clone, no hashing), a hash map once it grows.

use bytes::Bytes;
use http::header::{AsHeaderName, MaxSizeReached};
use http::{HeaderMap, HeaderName};
use pingora_error::{BError, Result};
use smallvec::SmallVec;

use crate::validate;

/// How many spellings the list holds before they move to a hash map. Most heads need
/// none or a few (only spellings that differ from the default are stored).
const FEW_LIMIT: usize = 16;

/// Wire spellings keyed by (case-insensitive) header name. A spelling matches its name
/// ignoring ASCII case, so the list form needs no separate key.
#[derive(Debug, Clone)]
pub(crate) enum Spellings {
    Few(FewSpellings),
    Many(HeaderMap<Bytes>),
}

/// Up to [`FEW_LIMIT`] spellings in a list, with a filter on their lengths: most names
/// looked up on the write path have no stored spelling, and the filter turns them away
/// without a scan. The first two live in place (a head that adds one custom-cased header,
/// such as a proxy's `X-Forwarded-For`, allocates nothing for it); that fits in the space
/// the `Many` form takes anyway.
#[derive(Debug, Clone, Default)]
pub(crate) struct FewSpellings {
    list: SmallVec<[Bytes; 2]>,
    /// Bit `len % 64` is set for every stored spelling of length `len`.
    lengths: u64,
}

fn length_bit(len: usize) -> u64 {
    1 << (len % 64)
}

impl FewSpellings {
    fn find(&self, lower: &[u8]) -> Option<usize> {
        if self.lengths & length_bit(lower.len()) == 0 {
            return None;
        }
        self.list
            .iter()
            .position(|spelling| spells(spelling, lower))
    }

    fn retain(&mut self, mut keep: impl FnMut(&Bytes) -> bool) {
        self.list.retain(|spelling| keep(spelling));
        self.lengths = self
            .list
            .iter()
            .fold(0, |bits, spelling| bits | length_bit(spelling.len()));
    }
}

pub(crate) fn too_many_headers(_: MaxSizeReached) -> BError {
    validate::invalid("too many headers: a header map holds at most 32768 entries")
}

/// Whether `spelling` spells the lower-case `name`.
#[inline]
fn spells(spelling: &[u8], name: &[u8]) -> bool {
    // `name` is lower case, so a byte matches when it is equal or is the upper-case form
    // of a lower-case letter.
    spelling.len() == name.len()
        && spelling
            .iter()
            .zip(name)
            .all(|(&s, &n)| s == n || ((s | 0x20) == n && n.is_ascii_lowercase()))
}

impl Spellings {
    pub(crate) fn new() -> Self {
        Spellings::Few(FewSpellings::default())
    }

    pub(crate) fn is_empty(&self) -> bool {
        match self {
            Spellings::Few(few) => few.list.is_empty(),
            Spellings::Many(map) => map.is_empty(),
        }
    }

    /// The spelling of `name`, whose text (`name.as_str()`) is `lower`: callers on the
    /// write path have it at hand already.
    pub(crate) fn get(&self, name: &HeaderName, lower: &str) -> Option<&Bytes> {
        match self {
            Spellings::Few(few) => few.find(lower.as_bytes()).map(|at| &few.list[at]),
            Spellings::Many(map) => map.get(name),
        }
    }

    /// Records `spelling` (which must spell `name`) for `name`, replacing the previous one.
    pub(crate) fn set(&mut self, name: &HeaderName, spelling: Bytes) -> Result<()> {
        match self {
            Spellings::Few(few) => {
                if let Some(at) = few.find(name.as_str().as_bytes()) {
                    few.list[at] = spelling;
                } else if few.list.len() < FEW_LIMIT {
                    few.lengths |= length_bit(spelling.len());
                    few.list.push(spelling);
                } else {
                    let mut map =
                        HeaderMap::try_with_capacity(FEW_LIMIT * 2).map_err(too_many_headers)?;
                    for old in few.list.drain(..) {
                        // Every stored spelling was validated when it was recorded.
                        if let Ok(old_name) = HeaderName::from_bytes(&old) {
                            map.try_insert(old_name, old).map_err(too_many_headers)?;
                        }
                    }
                    map.try_insert(name.clone(), spelling)
                        .map_err(too_many_headers)?;
                    *self = Spellings::Many(map);
                }
            }
            Spellings::Many(map) => {
                map.try_insert(name.clone(), spelling)
                    .map_err(too_many_headers)?;
            }
        }
        Ok(())
    }

    /// Forgets the spelling of `name`.
    pub(crate) fn clear(&mut self, name: &HeaderName) {
        match self {
            Spellings::Few(few) => {
                let name = name.as_str().as_bytes();
                if few.find(name).is_some() {
                    few.retain(|spelling| !spells(spelling, name));
                }
            }
            Spellings::Many(map) => {
                map.remove(name);
            }
        }
    }

    /// Forgets the spelling of `name`, just removed from `headers`. (The list form cannot
    /// read a name through `AsHeaderName`, so it drops every spelling whose name is no
    /// longer in `headers`.)
    pub(crate) fn clear_removed<'a, N: ?Sized>(&mut self, name: &'a N, headers: &HeaderMap)
    where
        &'a N: 'a + AsHeaderName,
    {
        match self {
            Spellings::Few(few) => few.retain(|spelling| {
                std::str::from_utf8(spelling).is_ok_and(|text| headers.contains_key(text))
            }),
            Spellings::Many(map) => {
                map.remove(name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    impl Spellings {
        fn get_by_name(&self, name: &HeaderName) -> Option<&Bytes> {
            self.get(name, name.as_str())
        }
    }

    fn name(text: &str) -> HeaderName {
        HeaderName::from_bytes(text.as_bytes()).unwrap()
    }

    #[test]
    fn spellings_are_found_ignoring_case_and_replaced() {
        let mut spellings = Spellings::new();
        assert!(spellings.is_empty());
        spellings
            .set(&name("x-a"), Bytes::from_static(b"X-A"))
            .unwrap();
        spellings
            .set(&name("x-a"), Bytes::from_static(b"x-A"))
            .unwrap();
        assert_eq!(spellings.get_by_name(&name("x-a")).unwrap(), "x-A");
        assert_eq!(spellings.get_by_name(&name("x-b")), None);
        spellings.clear(&name("X-A"));
        assert!(spellings.is_empty());
    }

    #[test]
    fn many_spellings_move_to_a_map_and_stay_reachable() {
        let mut spellings = Spellings::new();
        let names: Vec<String> = (0..40).map(|i| format!("X-Name-{i}")).collect();
        for text in &names {
            spellings
                .set(&name(text), Bytes::from(text.clone()))
                .unwrap();
        }
        assert!(matches!(spellings, Spellings::Many(_)));
        for text in &names {
            assert_eq!(spellings.get_by_name(&name(text)).unwrap(), text.as_str());
        }
        spellings
            .set(&name("x-name-3"), Bytes::from_static(b"x-NAME-3"))
            .unwrap();
        assert_eq!(
            spellings.get_by_name(&name("x-name-3")).unwrap(),
            "x-NAME-3"
        );
        spellings.clear(&name("x-name-3"));
        assert_eq!(spellings.get_by_name(&name("x-name-3")), None);
    }

    #[test]
    fn clear_removed_drops_spellings_of_absent_names() {
        let mut headers = HeaderMap::new();
        headers.insert("x-kept", HeaderValue::from_static("1"));
        for many in [false, true] {
            let mut spellings = Spellings::new();
            spellings
                .set(&name("x-kept"), Bytes::from_static(b"X-Kept"))
                .unwrap();
            spellings
                .set(&name("x-gone"), Bytes::from_static(b"X-Gone"))
                .unwrap();
            if many {
                for i in 0..FEW_LIMIT {
                    let text = format!("X-Filler-{i}");
                    spellings.set(&name(&text), Bytes::from(text)).unwrap();
                }
            }
            spellings.clear_removed("x-gone", &headers);
            assert_eq!(spellings.get_by_name(&name("x-gone")), None, "many: {many}");
            assert_eq!(spellings.get_by_name(&name("x-kept")).unwrap(), "X-Kept");
        }
    }
}
