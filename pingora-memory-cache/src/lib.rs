//! In-memory caches for a proxy: [`MemoryCache`], a TinyUFO cache with a TTL per item,
//! and [`RTCache`], a read-through cache on top of it that calls your [`Lookup`] on a
//! miss and lets N concurrent misses of one key share a single lookup.
//!
//! ```
//! use std::time::Duration;
//! use async_trait::async_trait;
//! use pingora_error::ErrorTrait;
//! use pingora_memory_cache::{CacheStatus, Lookup, MemoryCache, RTCache};
//!
//! // A plain cache with TTLs.
//! let cache: MemoryCache<&str, u32> = MemoryCache::new(1000);
//! cache.put("hits", 7, Some(Duration::from_secs(30)));
//! assert_eq!(cache.get("hits"), (Some(7), CacheStatus::Hit));
//!
//! // A read-through cache: the lookup runs only on a miss.
//! struct Length;
//!
//! #[async_trait]
//! impl Lookup<String, usize, ()> for Length {
//!     async fn lookup(
//!         key: &String,
//!         _extra: Option<&()>,
//!     ) -> Result<(usize, Option<Duration>), Box<dyn ErrorTrait + Send + Sync>>
//!     where
//!         String: 'async_trait,
//!         (): 'async_trait,
//!     {
//!         Ok((key.len(), None))
//!     }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! let lengths: RTCache<String, usize, Length, ()> = RTCache::new(1000, None, None);
//! let (len, status) = lengths.get(&"pingora".to_string(), None, None).await;
//! assert_eq!((len.unwrap(), status), (7, CacheStatus::Miss));
//! # });
//! ```
//!
//! Time is read from `tokio::time::Instant`, so tests running on a paused tokio
//! clock can move TTLs forward without sleeping.
//!
//! This crate has no Cargo features.

#![warn(missing_docs, unreachable_pub)]

mod lock;
mod memory;
mod read_through;

use std::time::Duration;

pub use memory::MemoryCache;
pub use read_through::{Lookup, MultiLookup, RTCache};

/// Where a value returned by a cache came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheStatus {
    /// Found fresh in the cache.
    Hit,
    /// Not in the cache.
    Miss,
    /// In the cache, but past its TTL.
    Expired,
    /// Fetched by another caller's lookup that this caller waited for.
    LockHit,
    /// Past its TTL by the given duration, and returned anyway.
    Stale(Duration),
}

impl CacheStatus {
    /// A short lowercase name, for logs and headers: `hit`, `miss`, `expired`,
    /// `lock_hit` or `stale`.
    pub fn as_str(&self) -> &str {
        match self {
            CacheStatus::Hit => "hit",
            CacheStatus::Miss => "miss",
            CacheStatus::Expired => "expired",
            CacheStatus::LockHit => "lock_hit",
            CacheStatus::Stale(_) => "stale",
        }
    }

    /// Whether the value came from the cache rather than from a lookup by this
    /// caller: true for `Hit`, `LockHit` and `Stale`.
    pub fn is_hit(&self) -> bool {
        matches!(
            self,
            CacheStatus::Hit | CacheStatus::LockHit | CacheStatus::Stale(_)
        )
    }

    /// How long ago a stale value expired; `None` for every other status.
    pub fn stale(&self) -> Option<Duration> {
        match self {
            CacheStatus::Stale(age) => Some(*age),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names_and_predicates() {
        let stale = CacheStatus::Stale(Duration::from_secs(3));
        assert_eq!(stale.as_str(), "stale");
        assert_eq!(stale.stale(), Some(Duration::from_secs(3)));
        assert!(stale.is_hit());
        assert!(CacheStatus::Hit.is_hit() && CacheStatus::LockHit.is_hit());
        assert!(!CacheStatus::Miss.is_hit() && !CacheStatus::Expired.is_hit());
        assert_eq!(CacheStatus::LockHit.as_str(), "lock_hit");
        assert_eq!(CacheStatus::Miss.stale(), None);
    }
}
