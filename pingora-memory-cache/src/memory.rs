//! [`MemoryCache`]: a TinyUFO cache whose items carry an optional time to live.

use std::borrow::Borrow;
use std::hash::Hash;
use std::marker::PhantomData;
use std::time::Duration;

use tinyufo::TinyUfo;
use tokio::time::Instant;

use crate::CacheStatus;

/// A cached value and when it stops being fresh.
#[derive(Clone)]
struct Node<T> {
    value: T,
    expires_at: Option<Instant>,
}

impl<T> Node<T> {
    /// How long ago the value expired, `None` if it is still fresh.
    fn expired_for(&self, now: Instant) -> Option<Duration> {
        self.expires_at
            .filter(|&expiry| expiry <= now)
            .map(|expiry| now - expiry)
    }
}

/// An in-memory cache of up to `size` items with an optional TTL per item.
///
/// Admission and eviction follow TinyUFO (see the `tinyufo` crate): when the cache is
/// full, a new item is admitted only if its key was asked for more often than the item
/// it would displace, so [`MemoryCache::put`] may not keep what it is given. Expired
/// items are not removed eagerly; they are reported as [`CacheStatus::Expired`] and
/// make way for new ones through normal eviction.
///
/// Keys are stored as 64-bit hashes: two keys whose hashes collide share one slot.
///
/// ```
/// use std::time::Duration;
/// use pingora_memory_cache::{CacheStatus, MemoryCache};
///
/// let cache: MemoryCache<String, u32> = MemoryCache::new(100);
/// cache.put("answer", 42, Some(Duration::from_secs(60)));
/// // `String` keys can be looked up by `&str`.
/// assert_eq!(cache.get("answer"), (Some(42), CacheStatus::Hit));
/// assert_eq!(cache.get("question"), (None, CacheStatus::Miss));
/// ```
pub struct MemoryCache<K: Hash, T: Clone> {
    store: TinyUfo<u64, Node<T>>,
    hasher: ahash::RandomState,
    // `fn(K)`: the cache owns no `K`; only its hashes.
    _key: PhantomData<fn(K)>,
}

impl<K: Hash, T: Clone + Send + Sync + 'static> MemoryCache<K, T> {
    /// A cache that holds up to `size` items.
    pub fn new(size: usize) -> Self {
        MemoryCache {
            store: TinyUfo::new(size, size),
            hasher: ahash::RandomState::new(),
            _key: PhantomData,
        }
    }

    pub(crate) fn hash<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The fresh value under `key`: `(Some(value), Hit)`, or `(None, Miss)` when absent,
    /// or `(None, Expired)` when its TTL has passed.
    pub fn get<Q>(&self, key: &Q) -> (Option<T>, CacheStatus)
    where
        K: Borrow<Q>,
        Q: Hash + ?Sized,
    {
        self.get_hashed(self.hash(key))
    }

    pub(crate) fn get_hashed(&self, hash: u64) -> (Option<T>, CacheStatus) {
        match self.store.get(&hash) {
            None => (None, CacheStatus::Miss),
            Some(node) if node.expired_for(Instant::now()).is_some() => {
                (None, CacheStatus::Expired)
            }
            Some(node) => (Some(node.value), CacheStatus::Hit),
        }
    }

    /// Like [`MemoryCache::get`], but an expired value is returned too, as
    /// `(Some(value), Stale(how long ago it expired))`.
    pub fn get_stale<Q>(&self, key: &Q) -> (Option<T>, CacheStatus)
    where
        K: Borrow<Q>,
        Q: Hash + ?Sized,
    {
        self.get_stale_hashed(self.hash(key))
    }

    pub(crate) fn get_stale_hashed(&self, hash: u64) -> (Option<T>, CacheStatus) {
        match self.store.get(&hash) {
            None => (None, CacheStatus::Miss),
            Some(node) => match node.expired_for(Instant::now()) {
                Some(age) => (Some(node.value), CacheStatus::Stale(age)),
                None => (Some(node.value), CacheStatus::Hit),
            },
        }
    }

    /// Caches `value` under `key` for `ttl` (`None`: until evicted). A zero TTL
    /// means "do not cache": the call does nothing. The value may be turned away by
    /// admission when the cache is full (see the type's documentation).
    pub fn put<Q>(&self, key: &Q, value: T, ttl: Option<Duration>)
    where
        K: Borrow<Q>,
        Q: Hash + ?Sized,
    {
        self.put_hashed(self.hash(key), value, ttl);
    }

    pub(crate) fn put_hashed(&self, hash: u64, value: T, ttl: Option<Duration>) {
        if ttl == Some(Duration::ZERO) {
            return;
        }
        let expires_at = ttl.and_then(|ttl| Instant::now().checked_add(ttl));
        self.store.put(hash, Node { value, expires_at }, 1);
    }

    /// Removes `key` from the cache.
    pub fn remove<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + ?Sized,
    {
        self.store.remove(&self.hash(key));
    }

    /// [`MemoryCache::get`] for each key, in order.
    ///
    /// ```
    /// use pingora_memory_cache::{CacheStatus, MemoryCache};
    ///
    /// let cache: MemoryCache<u32, &str> = MemoryCache::new(10);
    /// cache.put(&1, "one", None);
    /// let found = cache.multi_get([1, 2].iter());
    /// assert_eq!(found, vec![(Some("one"), CacheStatus::Hit), (None, CacheStatus::Miss)]);
    /// ```
    pub fn multi_get<'a, I, Q>(&self, keys: I) -> Vec<(Option<T>, CacheStatus)>
    where
        I: Iterator<Item = &'a Q>,
        Q: Hash + ?Sized + 'a,
        K: Borrow<Q> + 'a,
    {
        keys.map(|key| self.get(key)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_reports_hit_and_miss() {
        let cache: MemoryCache<i32, i32> = MemoryCache::new(10);
        assert_eq!(cache.get(&1), (None, CacheStatus::Miss));
        cache.put(&1, 2, None);
        assert_eq!(cache.get(&1), (Some(2), CacheStatus::Hit));
    }

    #[test]
    fn zero_ttl_caches_nothing() {
        let cache: MemoryCache<i32, i32> = MemoryCache::new(10);
        cache.put(&1, 2, Some(Duration::ZERO));
        assert_eq!(cache.get(&1), (None, CacheStatus::Miss));
    }

    #[test]
    fn remove_forgets_the_key() {
        let cache: MemoryCache<i32, i32> = MemoryCache::new(10);
        cache.put(&1, 2, None);
        cache.remove(&1);
        assert_eq!(cache.get(&1), (None, CacheStatus::Miss));
    }

    #[tokio::test(start_paused = true)]
    async fn values_expire_after_their_ttl() {
        let cache: MemoryCache<&str, i32> = MemoryCache::new(10);
        cache.put("k", 7, Some(Duration::from_secs(10)));
        tokio::time::advance(Duration::from_secs(9)).await;
        assert_eq!(cache.get("k"), (Some(7), CacheStatus::Hit));
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(cache.get("k"), (None, CacheStatus::Expired));
        assert_eq!(
            cache.get_stale("k"),
            (Some(7), CacheStatus::Stale(Duration::from_secs(1)))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn values_without_ttl_never_expire() {
        let cache: MemoryCache<&str, i32> = MemoryCache::new(10);
        cache.put("k", 7, None);
        tokio::time::advance(Duration::from_secs(1_000_000)).await;
        assert_eq!(cache.get_stale("k"), (Some(7), CacheStatus::Hit));
    }

    #[test]
    fn borrowed_keys_find_owned_ones() {
        let cache: MemoryCache<String, i32> = MemoryCache::new(10);
        cache.put("a", 1, None);
        assert_eq!(cache.get(&"a".to_string()), (Some(1), CacheStatus::Hit));
        let keys = ["a".to_string(), "b".to_string()];
        assert_eq!(
            cache.multi_get(keys.iter()),
            vec![(Some(1), CacheStatus::Hit), (None, CacheStatus::Miss)]
        );
    }
}
