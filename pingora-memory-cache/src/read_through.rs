//! [`RTCache`]: a read-through cache. On a miss it calls the user's [`Lookup`] and
//! caches the answer; concurrent misses of one key share a single lookup.

use std::fmt;
use std::hash::Hash;
use std::marker::PhantomData;
use std::time::Duration;

use async_trait::async_trait;
use pingora_error::{BError, Error, ErrorTrait, ErrorType};

use crate::lock::{follow, LookupLocks, Outcome, Role, SharedError, Wait};
use crate::{CacheStatus, MemoryCache};

/// How [`RTCache`] fetches a value it does not have.
///
/// The function has no `self`: implement it on a marker type (or on whatever type
/// names the data source) and name that type as the cache's `CB` parameter. Copy
/// the `where` clause into the impl.
///
/// ```
/// use std::time::Duration;
/// use async_trait::async_trait;
/// use pingora_error::ErrorTrait;
/// use pingora_memory_cache::Lookup;
///
/// struct Doubler;
///
/// #[async_trait]
/// impl Lookup<u32, u32, ()> for Doubler {
///     async fn lookup(
///         key: &u32,
///         _extra: Option<&()>,
///     ) -> Result<(u32, Option<Duration>), Box<dyn ErrorTrait + Send + Sync>>
///     where
///         u32: 'async_trait,
///         (): 'async_trait,
///     {
///         Ok((key * 2, Some(Duration::from_secs(60))))
///     }
/// }
/// ```
#[async_trait]
pub trait Lookup<K, T, S> {
    /// Fetches the value of `key`, with the TTL to cache it for (`None`: use the TTL
    /// the caller passed to [`RTCache::get`]). `extra` is whatever the caller passed
    /// along. An error is handed to every caller waiting on this lookup; nothing is cached.
    async fn lookup(
        key: &K,
        extra: Option<&S>,
    ) -> Result<(T, Option<Duration>), Box<dyn ErrorTrait + Send + Sync>>
    where
        K: 'async_trait,
        S: 'async_trait;
}

/// How [`RTCache::multi_get`] fetches the values it does not have, in one call.
#[async_trait]
pub trait MultiLookup<K, T, S> {
    /// Fetches the values of `keys`, one `(value, ttl)` per key in the same order.
    /// A list of another length is an error.
    async fn multi_lookup(
        keys: &[&K],
        extra: Option<&S>,
    ) -> Result<Vec<(T, Option<Duration>)>, Box<dyn ErrorTrait + Send + Sync>>
    where
        K: 'async_trait,
        S: 'async_trait;
}

/// A lookup error as seen by one caller: the shared original, displayed as is.
struct LookupFailure(SharedError);

impl fmt::Debug for LookupFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self.0, f)
    }
}

impl fmt::Display for LookupFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self.0, f)
    }
}

impl ErrorTrait for LookupFailure {
    fn source(&self) -> Option<&(dyn ErrorTrait + 'static)> {
        self.0.source()
    }
}

/// The error every caller of a failed lookup gets: `InternalError`, context
/// "lookup failed", the lookup's own error as the cause.
fn lookup_error(shared: SharedError) -> BError {
    Error::because(
        ErrorType::InternalError,
        "lookup failed",
        LookupFailure(shared),
    )
}

/// A read-through cache: [`RTCache::get`] returns the cached value or, on a miss,
/// calls `CB`'s [`Lookup::lookup`], caches its answer and returns it.
///
/// While one caller looks a key up, other callers that miss the same key wait for
/// that lookup instead of starting their own, and get its value (or its error) with
/// [`CacheStatus::LockHit`]. Two settings bound the waiting:
/// - `lock_age`: a lookup running longer than this no longer holds off others; the
///   next caller to miss starts a fresh lookup (`None`: no limit).
/// - `lock_timeout`: a waiter gives up after this long and looks the key up itself
///   (`None`: wait as long as the lookup takes). A waiter whose leader is cancelled
///   stops waiting at once and looks up itself.
///
/// `S` is an extra argument passed through to the lookup (a client handle, a
/// request context...).
///
/// ```
/// # use std::time::Duration;
/// # use async_trait::async_trait;
/// # use pingora_error::ErrorTrait;
/// use pingora_memory_cache::{CacheStatus, Lookup, RTCache};
/// # struct Doubler;
/// # #[async_trait]
/// # impl Lookup<u32, u32, ()> for Doubler {
/// #     async fn lookup(key: &u32, _: Option<&()>)
/// #         -> Result<(u32, Option<Duration>), Box<dyn ErrorTrait + Send + Sync>>
/// #     where u32: 'async_trait, (): 'async_trait {
/// #         Ok((key * 2, None))
/// #     }
/// # }
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let cache: RTCache<u32, u32, Doubler, ()> = RTCache::new(1000, None, Some(Duration::from_secs(1)));
/// let (value, status) = cache.get(&21, Some(Duration::from_secs(60)), None).await;
/// assert_eq!((value.unwrap(), status), (42, CacheStatus::Miss));
/// let (value, status) = cache.get(&21, None, None).await;
/// assert_eq!((value.unwrap(), status), (42, CacheStatus::Hit));
/// # });
/// ```
pub struct RTCache<K, T, CB, S>
where
    K: Hash + Send,
    T: Clone + Send,
{
    cache: MemoryCache<K, T>,
    locks: LookupLocks<T>,
    lock_timeout: Option<Duration>,
    _lookup: PhantomData<fn(CB, S)>,
}

impl<K, T, CB, S> RTCache<K, T, CB, S>
where
    K: Hash + Send,
    T: Clone + Send + Sync + 'static,
{
    /// A read-through cache of up to `size` items; see the type's documentation for
    /// `lock_age` and `lock_timeout`.
    pub fn new(size: usize, lock_age: Option<Duration>, lock_timeout: Option<Duration>) -> Self {
        RTCache {
            cache: MemoryCache::new(size),
            locks: LookupLocks::new(lock_age),
            lock_timeout,
            _lookup: PhantomData,
        }
    }

    /// Removes `key` from the cache (a lookup in progress is not affected).
    pub fn remove(&self, key: &K) {
        self.cache.remove(key);
    }
}

impl<K, T, CB, S> RTCache<K, T, CB, S>
where
    K: Hash + Send + Sync,
    T: Clone + Send + Sync + 'static,
    CB: Lookup<K, T, S>,
    S: Sync,
{
    /// The value of `key`: from the cache if fresh ([`CacheStatus::Hit`]), else from
    /// a lookup, which is then cached for the TTL the lookup returned or, failing
    /// that, for `ttl` (`None`: until evicted).
    ///
    /// The status says where the value came from: `Miss` or `Expired` for the caller
    /// that ran the lookup, `LockHit` for callers that waited on someone else's.
    /// A lookup error is returned, as the cause of an `InternalError`, to the caller
    /// that ran the lookup and to everyone waiting on it.
    pub async fn get(
        &self,
        key: &K,
        ttl: Option<Duration>,
        extra: Option<&S>,
    ) -> (Result<T, BError>, CacheStatus) {
        let hash = self.cache.hash(key);
        let (cached, status) = self.cache.get_hashed(hash);
        if let Some(value) = cached {
            return (Ok(value), status);
        }
        self.lookup_coalesced(key, hash, ttl, extra, status).await
    }

    /// Like [`RTCache::get`], but serves a value that expired at most `stale_ttl` ago
    /// while it is being refreshed.
    ///
    /// The first caller to find the value stale refreshes it: it runs the lookup and
    /// gets its outcome (status `Expired`), exactly as [`RTCache::get`] would. Callers
    /// that find it stale while that refresh runs do not wait: they get the stale
    /// value at once, with [`CacheStatus::Stale`] saying how long ago it expired. A
    /// value stale for longer than `stale_ttl` is treated as expired.
    pub async fn get_stale(
        &self,
        key: &K,
        ttl: Option<Duration>,
        extra: Option<&S>,
        stale_ttl: Duration,
    ) -> (Result<T, BError>, CacheStatus) {
        let hash = self.cache.hash(key);
        match self.cache.get_stale_hashed(hash) {
            (Some(value), CacheStatus::Hit) => (Ok(value), CacheStatus::Hit),
            (Some(value), CacheStatus::Stale(age)) if age <= stale_ttl => {
                match self.locks.acquire(hash) {
                    Role::Lead(leader) => {
                        self.lead(key, hash, ttl, extra, leader, CacheStatus::Expired)
                            .await
                    }
                    Role::Follow(_) => (Ok(value), CacheStatus::Stale(age)),
                }
            }
            (Some(_), _) => {
                self.lookup_coalesced(key, hash, ttl, extra, CacheStatus::Expired)
                    .await
            }
            (None, status) => self.lookup_coalesced(key, hash, ttl, extra, status).await,
        }
    }

    async fn lookup_coalesced(
        &self,
        key: &K,
        hash: u64,
        ttl: Option<Duration>,
        extra: Option<&S>,
        miss_status: CacheStatus,
    ) -> (Result<T, BError>, CacheStatus) {
        match self.locks.acquire(hash) {
            Role::Lead(leader) => self.lead(key, hash, ttl, extra, leader, miss_status).await,
            Role::Follow(receiver) => match follow(receiver, self.lock_timeout).await {
                Wait::Done(outcome) => (outcome.map_err(lookup_error), CacheStatus::LockHit),
                Wait::GaveUp => {
                    let outcome = self.lookup_and_cache(key, hash, ttl, extra).await;
                    (outcome.map_err(lookup_error), miss_status)
                }
            },
        }
    }

    async fn lead(
        &self,
        key: &K,
        hash: u64,
        ttl: Option<Duration>,
        extra: Option<&S>,
        leader: crate::lock::Leader<'_, T>,
        miss_status: CacheStatus,
    ) -> (Result<T, BError>, CacheStatus) {
        // Someone may have cached the key between our miss and taking the lock.
        if let (Some(value), CacheStatus::Hit) = self.cache.get_hashed(hash) {
            leader.finish(Ok(value.clone()));
            return (Ok(value), CacheStatus::Hit);
        }
        let outcome = self.lookup_and_cache(key, hash, ttl, extra).await;
        leader.finish(outcome.clone());
        (outcome.map_err(lookup_error), miss_status)
    }

    async fn lookup_and_cache(
        &self,
        key: &K,
        hash: u64,
        ttl: Option<Duration>,
        extra: Option<&S>,
    ) -> Outcome<T> {
        let (value, lookup_ttl) = CB::lookup(key, extra).await.map_err(SharedError::new)?;
        self.cache
            .put_hashed(hash, value.clone(), lookup_ttl.or(ttl));
        Ok(value)
    }
}

impl<K, T, CB, S> RTCache<K, T, CB, S>
where
    K: Hash + Send + Sync,
    T: Clone + Send + Sync + 'static,
    CB: MultiLookup<K, T, S>,
    S: Sync,
{
    /// The values of `keys`, in order: cached ones as they are, the others fetched
    /// with one [`MultiLookup::multi_lookup`] call and cached (for the TTL the lookup
    /// returned, else `ttl`). Unlike [`RTCache::get`], these lookups take no lock.
    /// A lookup error fails the whole call.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use async_trait::async_trait;
    /// # use pingora_error::ErrorTrait;
    /// use pingora_memory_cache::{CacheStatus, MultiLookup, RTCache};
    ///
    /// struct Squares;
    ///
    /// #[async_trait]
    /// impl MultiLookup<u32, u32, ()> for Squares {
    ///     async fn multi_lookup(
    ///         keys: &[&u32],
    ///         _extra: Option<&()>,
    ///     ) -> Result<Vec<(u32, Option<Duration>)>, Box<dyn ErrorTrait + Send + Sync>>
    ///     where
    ///         u32: 'async_trait,
    ///         (): 'async_trait,
    ///     {
    ///         Ok(keys.iter().map(|k| (*k * *k, None)).collect())
    ///     }
    /// }
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let cache: RTCache<u32, u32, Squares, ()> = RTCache::new(100, None, None);
    /// let first = cache.multi_get([2, 3].iter(), None, None).await.unwrap();
    /// assert_eq!(first, vec![(4, CacheStatus::Miss), (9, CacheStatus::Miss)]);
    /// let second = cache.multi_get([3, 4].iter(), None, None).await.unwrap();
    /// assert_eq!(second, vec![(9, CacheStatus::Hit), (16, CacheStatus::Miss)]);
    /// # });
    /// ```
    pub async fn multi_get<'a, I>(
        &self,
        keys: I,
        ttl: Option<Duration>,
        extra: Option<&S>,
    ) -> Result<Vec<(T, CacheStatus)>, BError>
    where
        I: Iterator<Item = &'a K>,
        K: 'a,
    {
        let mut found = Vec::new();
        let mut missing = Vec::new();
        for (index, key) in keys.enumerate() {
            let hash = self.cache.hash(key);
            match self.cache.get_hashed(hash) {
                (Some(value), status) => found.push(Some((value, status))),
                (None, status) => {
                    found.push(None);
                    missing.push((index, key, hash, status));
                }
            }
        }
        if missing.is_empty() {
            return Ok(found.into_iter().flatten().collect());
        }
        let missing_keys: Vec<&K> = missing.iter().map(|(_, key, _, _)| *key).collect();
        let fetched = CB::multi_lookup(&missing_keys, extra)
            .await
            .map_err(|e| lookup_error(SharedError::new(e)))?;
        if fetched.len() != missing.len() {
            return Error::e_explain(
                ErrorType::InternalError,
                format!(
                    "multi_lookup returned {} values for {} keys",
                    fetched.len(),
                    missing.len()
                ),
            );
        }
        for ((index, _, hash, status), (value, lookup_ttl)) in missing.into_iter().zip(fetched) {
            self.cache
                .put_hashed(hash, value.clone(), lookup_ttl.or(ttl));
            found[index] = Some((value, status));
        }
        Ok(found.into_iter().flatten().collect())
    }
}
