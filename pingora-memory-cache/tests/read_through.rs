//! End-to-end behaviour of `RTCache`: coalesced lookups, error fan-out, TTLs, lock
//! timeouts and stale serving. Most tests run on tokio's paused clock, so "slow"
//! lookups cost no wall time.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use pingora_error::{ErrorTrait, ErrorType};
use pingora_memory_cache::{CacheStatus, Lookup, RTCache};
use tokio::task::JoinSet;

/// How a test's lookup behaves, passed as the cache's `extra` argument.
struct Behaviour {
    delay: Duration,
    fail: bool,
}

/// Lookup counters, one per test (each test names its own `ID`).
static LOOKUPS: [AtomicUsize; 8] = [const { AtomicUsize::new(0) }; 8];

/// A lookup that counts its calls, waits `delay`, then answers `key * 10` (or fails).
struct Counting<const ID: usize>;

#[async_trait]
impl<const ID: usize> Lookup<u64, u64, Behaviour> for Counting<ID> {
    async fn lookup(
        key: &u64,
        extra: Option<&Behaviour>,
    ) -> Result<(u64, Option<Duration>), Box<dyn ErrorTrait + Send + Sync>>
    where
        u64: 'async_trait,
        Behaviour: 'async_trait,
    {
        LOOKUPS[ID].fetch_add(1, Ordering::SeqCst);
        let behaviour = extra.ok_or("tests always pass a behaviour")?;
        tokio::time::sleep(behaviour.delay).await;
        if behaviour.fail {
            return Err("backend unavailable".into());
        }
        Ok((key * 10, None))
    }
}

fn lookups(id: usize) -> usize {
    LOOKUPS[id].load(Ordering::SeqCst)
}

const SLOW: Behaviour = Behaviour {
    delay: Duration::from_secs(5),
    fail: false,
};

type Cache<const ID: usize> = RTCache<u64, u64, Counting<ID>, Behaviour>;

async fn hundred_concurrent_gets<const ID: usize>(
    cache: &Arc<Cache<ID>>,
    behaviour: &'static Behaviour,
) -> Vec<(Result<u64, String>, CacheStatus)> {
    let mut tasks = JoinSet::new();
    for _ in 0..100 {
        let cache = Arc::clone(cache);
        tasks.spawn(async move {
            let (value, status) = cache.get(&7, None, Some(behaviour)).await;
            (value.map_err(|e| e.to_string()), status)
        });
    }
    tasks.join_all().await
}

#[tokio::test(start_paused = true)]
async fn hundred_concurrent_misses_run_one_lookup() {
    let cache: Arc<Cache<0>> = Arc::new(RTCache::new(100, None, None));
    let results = hundred_concurrent_gets(&cache, &SLOW).await;
    assert_eq!(lookups(0), 1);
    assert!(results.iter().all(|(value, _)| value == &Ok(70)));
    let statuses = |wanted: CacheStatus| results.iter().filter(|(_, s)| *s == wanted).count();
    assert_eq!(statuses(CacheStatus::Miss), 1);
    assert_eq!(statuses(CacheStatus::LockHit), 99);
    // And the value is cached now.
    let (value, status) = cache.get(&7, None, Some(&SLOW)).await;
    assert_eq!((value.ok(), status), (Some(70), CacheStatus::Hit));
    assert_eq!(lookups(0), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hundred_concurrent_misses_on_worker_threads_run_one_lookup() {
    static QUICK: Behaviour = Behaviour {
        delay: Duration::from_millis(50),
        fail: false,
    };
    let cache: Arc<Cache<1>> = Arc::new(RTCache::new(100, None, None));
    let results = hundred_concurrent_gets(&cache, &QUICK).await;
    assert_eq!(lookups(1), 1);
    assert!(results.iter().all(|(value, _)| value == &Ok(70)));
}

#[tokio::test(start_paused = true)]
async fn a_lookup_error_reaches_every_waiter() {
    static FAILING: Behaviour = Behaviour {
        delay: Duration::from_secs(5),
        fail: true,
    };
    let cache: Arc<Cache<2>> = Arc::new(RTCache::new(100, None, None));
    let results = hundred_concurrent_gets(&cache, &FAILING).await;
    assert_eq!(lookups(2), 1);
    for (value, _) in &results {
        let message = value.as_ref().expect_err("every caller must see the error");
        assert!(message.contains("backend unavailable"), "{message}");
    }
    // Nothing was cached: the next get looks up again.
    let (value, status) = cache.get(&7, None, Some(&FAILING)).await;
    let error = value.expect_err("the lookup still fails");
    assert_eq!(error.etype(), &ErrorType::InternalError);
    assert_eq!(status, CacheStatus::Miss);
    assert_eq!(lookups(2), 2);
}

#[tokio::test(start_paused = true)]
async fn values_expire_after_the_ttl_and_are_looked_up_again() {
    let cache: Cache<3> = RTCache::new(100, None, None);
    let ttl = Some(Duration::from_secs(60));
    let quick = Behaviour {
        delay: Duration::ZERO,
        fail: false,
    };
    assert_eq!(cache.get(&1, ttl, Some(&quick)).await.1, CacheStatus::Miss);
    tokio::time::advance(Duration::from_secs(59)).await;
    assert_eq!(cache.get(&1, ttl, Some(&quick)).await.1, CacheStatus::Hit);
    tokio::time::advance(Duration::from_secs(2)).await;
    let (value, status) = cache.get(&1, ttl, Some(&quick)).await;
    assert_eq!((value.ok(), status), (Some(10), CacheStatus::Expired));
    assert_eq!(lookups(3), 2);
}

#[tokio::test(start_paused = true)]
async fn a_waiter_looks_up_itself_after_the_lock_timeout() {
    let cache: Arc<Cache<4>> = Arc::new(RTCache::new(100, None, Some(Duration::from_secs(1))));
    let leader = {
        let cache = Arc::clone(&cache);
        tokio::spawn(async move { cache.get(&3, None, Some(&SLOW)).await.1 })
    };
    // Let the leader start its 5 s lookup.
    tokio::task::yield_now().await;
    assert_eq!(lookups(4), 1);
    let started = tokio::time::Instant::now();
    let (value, status) = cache.get(&3, None, Some(&SLOW)).await;
    // Gave up after 1 s, then ran its own 5 s lookup.
    assert_eq!(started.elapsed(), Duration::from_secs(6));
    assert_eq!((value.ok(), status), (Some(30), CacheStatus::Miss));
    assert_eq!(lookups(4), 2);
    assert_eq!(leader.await.ok(), Some(CacheStatus::Miss));
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_leader_releases_its_waiters_at_once() {
    let cache: Arc<Cache<5>> = Arc::new(RTCache::new(100, None, None));
    let leader = {
        let cache = Arc::clone(&cache);
        tokio::spawn(async move { cache.get(&4, None, Some(&SLOW)).await.1 })
    };
    tokio::task::yield_now().await;
    let waiter = {
        let cache = Arc::clone(&cache);
        tokio::spawn(async move { cache.get(&4, None, Some(&SLOW)).await })
    };
    tokio::task::yield_now().await;
    leader.abort();
    let (value, status) = waiter.await.expect("the waiter must not panic");
    assert_eq!((value.ok(), status), (Some(40), CacheStatus::Miss));
    assert_eq!(lookups(5), 2);
}

#[tokio::test(start_paused = true)]
async fn stale_values_are_served_while_one_caller_refreshes() {
    let cache: Arc<Cache<6>> = Arc::new(RTCache::new(100, None, None));
    let ttl = Some(Duration::from_secs(10));
    let stale_ttl = Duration::from_secs(30);
    let quick = Behaviour {
        delay: Duration::ZERO,
        fail: false,
    };
    assert_eq!(cache.get(&2, ttl, Some(&quick)).await.1, CacheStatus::Miss);
    tokio::time::advance(Duration::from_secs(15)).await;

    let refresher = {
        let cache = Arc::clone(&cache);
        tokio::spawn(async move { cache.get_stale(&2, ttl, Some(&SLOW), stale_ttl).await.1 })
    };
    tokio::task::yield_now().await;
    // The refresh is running: this caller gets the stale value without waiting.
    let started = tokio::time::Instant::now();
    let (value, status) = cache.get_stale(&2, ttl, Some(&SLOW), stale_ttl).await;
    assert_eq!(started.elapsed(), Duration::ZERO);
    assert_eq!(
        (value.ok(), status),
        (Some(20), CacheStatus::Stale(Duration::from_secs(5)))
    );
    assert_eq!(refresher.await.ok(), Some(CacheStatus::Expired));
    assert_eq!(cache.get(&2, ttl, Some(&quick)).await.1, CacheStatus::Hit);
    assert_eq!(lookups(6), 2);

    // Stale for longer than stale_ttl: looked up like an expired value.
    tokio::time::advance(Duration::from_secs(60)).await;
    let (_, status) = cache.get_stale(&2, ttl, Some(&quick), stale_ttl).await;
    assert_eq!(status, CacheStatus::Expired);
}

/// Batch lookup answering `key * 100`, or one value too few for keys above 1,000.
struct Batch;

#[async_trait]
impl pingora_memory_cache::MultiLookup<u64, u64, ()> for Batch {
    async fn multi_lookup(
        keys: &[&u64],
        _extra: Option<&()>,
    ) -> Result<Vec<(u64, Option<Duration>)>, Box<dyn ErrorTrait + Send + Sync>>
    where
        u64: 'async_trait,
        (): 'async_trait,
    {
        let mut values: Vec<_> = keys.iter().map(|k| (**k * 100, None)).collect();
        if keys.iter().any(|k| **k > 1_000) {
            values.pop();
        }
        Ok(values)
    }
}

#[tokio::test]
async fn multi_get_fetches_only_the_missing_keys_in_order() {
    let cache: RTCache<u64, u64, Batch, ()> = RTCache::new(100, None, None);
    let first = cache.multi_get([1, 2].iter(), None, None).await.ok();
    assert_eq!(
        first,
        Some(vec![(100, CacheStatus::Miss), (200, CacheStatus::Miss)])
    );
    let second = cache.multi_get([3, 2, 1].iter(), None, None).await.ok();
    assert_eq!(
        second,
        Some(vec![
            (300, CacheStatus::Miss),
            (200, CacheStatus::Hit),
            (100, CacheStatus::Hit)
        ])
    );
}

#[tokio::test]
async fn multi_get_rejects_a_lookup_answer_of_the_wrong_length() {
    let cache: RTCache<u64, u64, Batch, ()> = RTCache::new(100, None, None);
    let error = cache
        .multi_get([5, 5_000].iter(), None, None)
        .await
        .expect_err("one value for two keys is an error");
    assert_eq!(error.etype(), &ErrorType::InternalError);
}
