//! Per-key lookup locks: the first caller to miss a key leads its lookup; callers that
//! miss it meanwhile follow, waiting for the leader's outcome instead of looking up too.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use pingora_error::ErrorTrait;
use tokio::sync::watch;
use tokio::time::Instant;

/// A lookup failure, shared by the leader and every follower of one lookup.
pub(crate) type SharedError = Arc<Box<dyn ErrorTrait + Send + Sync>>;

/// What a finished lookup hands to its followers.
pub(crate) type Outcome<T> = Result<T, SharedError>;

/// Lock table shards: enough that unrelated keys rarely contend on one mutex.
const SHARDS: usize = 16;

/// One lookup in progress.
struct Flight<T> {
    id: u64,
    started: Instant,
    outcome: watch::Sender<Option<Outcome<T>>>,
}

/// The table of lookups in progress, by key hash.
pub(crate) struct LookupLocks<T> {
    shards: [Mutex<HashMap<u64, Flight<T>>>; SHARDS],
    next_id: AtomicU64,
    /// A lookup running longer than this no longer holds off new leaders.
    lock_age: Option<Duration>,
}

/// What a caller that missed the cache should do.
pub(crate) enum Role<'a, T> {
    /// Look the key up, then [`Leader::finish`].
    Lead(Leader<'a, T>),
    /// Wait for the current leader's outcome.
    Follow(watch::Receiver<Option<Outcome<T>>>),
}

/// The right and duty to publish a key's lookup outcome. Dropping it unpublished
/// (the leader's future was cancelled) releases the followers, which then look up
/// for themselves.
pub(crate) struct Leader<'a, T> {
    locks: &'a LookupLocks<T>,
    hash: u64,
    id: u64,
    outcome: watch::Sender<Option<Outcome<T>>>,
}

impl<T> LookupLocks<T> {
    fn shard(&self, hash: u64) -> &Mutex<HashMap<u64, Flight<T>>> {
        &self.shards[(hash >> 32) as usize % SHARDS]
    }
}

impl<T: Clone> LookupLocks<T> {
    pub(crate) fn new(lock_age: Option<Duration>) -> Self {
        LookupLocks {
            shards: std::array::from_fn(|_| Mutex::new(HashMap::new())),
            next_id: AtomicU64::new(0),
            lock_age,
        }
    }

    /// Joins the lookup of `hash` in progress, or leads a new one if there is none
    /// (or the one in progress is older than the lock age).
    pub(crate) fn acquire(&self, hash: u64) -> Role<'_, T> {
        let now = Instant::now();
        let mut shard = self.shard(hash).lock();
        if let Some(flight) = shard.get(&hash) {
            let too_old = self
                .lock_age
                .is_some_and(|age| now.saturating_duration_since(flight.started) > age);
            if !too_old {
                return Role::Follow(flight.outcome.subscribe());
            }
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (outcome, _) = watch::channel(None);
        shard.insert(
            hash,
            Flight {
                id,
                started: now,
                outcome: outcome.clone(),
            },
        );
        Role::Lead(Leader {
            locks: self,
            hash,
            id,
            outcome,
        })
    }

    /// Whether a lookup of `hash` is in progress (for tests).
    #[cfg(test)]
    pub(crate) fn is_locked(&self, hash: u64) -> bool {
        self.shard(hash).lock().contains_key(&hash)
    }
}

impl<T> Leader<'_, T> {
    /// Publishes the outcome to every follower and releases the lock.
    pub(crate) fn finish(self, outcome: Outcome<T>) {
        self.outcome.send_replace(Some(outcome));
        // Dropping `self` removes the table entry.
    }
}

impl<T> Drop for Leader<'_, T> {
    fn drop(&mut self) {
        let mut shard = self.locks.shard(self.hash).lock();
        // A newer leader may have taken over after the lock aged; leave its entry be.
        if shard.get(&self.hash).is_some_and(|f| f.id == self.id) {
            shard.remove(&self.hash);
        }
    }
}

/// How a follower's wait ended.
pub(crate) enum Wait<T> {
    /// The leader published this outcome.
    Done(Outcome<T>),
    /// The leader gave up without an outcome, or the wait timed out.
    GaveUp,
}

/// Waits for the leader's outcome, at most `timeout` (`None`: as long as it takes).
pub(crate) async fn follow<T: Clone>(
    mut receiver: watch::Receiver<Option<Outcome<T>>>,
    timeout: Option<Duration>,
) -> Wait<T> {
    let wait = async {
        match receiver.wait_for(Option::is_some).await {
            Ok(outcome) => outcome.clone().map_or(Wait::GaveUp, Wait::Done),
            // The sender is gone: the leader was dropped without finishing.
            Err(_) => Wait::GaveUp,
        }
    };
    match timeout {
        Some(timeout) => tokio::time::timeout(timeout, wait)
            .await
            .unwrap_or(Wait::GaveUp),
        None => wait.await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_second_caller_follows_the_first() {
        let locks = LookupLocks::<u32>::new(None);
        let Role::Lead(leader) = locks.acquire(1) else {
            panic!("the first caller must lead");
        };
        let Role::Follow(receiver) = locks.acquire(1) else {
            panic!("the second caller must follow");
        };
        // Another key is independent.
        assert!(matches!(locks.acquire(2), Role::Lead(_)));
        leader.finish(Ok(5));
        assert!(!locks.is_locked(1));
        assert!(matches!(follow(receiver, None).await, Wait::Done(Ok(5))));
    }

    #[tokio::test]
    async fn a_dropped_leader_releases_its_followers() {
        let locks = LookupLocks::<u32>::new(None);
        let leader = locks.acquire(1);
        let Role::Follow(receiver) = locks.acquire(1) else {
            panic!("the second caller must follow");
        };
        drop(leader);
        assert!(!locks.is_locked(1));
        assert!(matches!(follow(receiver, None).await, Wait::GaveUp));
    }

    #[tokio::test(start_paused = true)]
    async fn an_aged_lock_lets_a_new_leader_in() {
        let locks = LookupLocks::<u32>::new(Some(Duration::from_secs(1)));
        let old = locks.acquire(1);
        tokio::time::advance(Duration::from_secs(2)).await;
        let Role::Lead(new) = locks.acquire(1) else {
            panic!("an aged lock must not hold off a new leader");
        };
        // The old leader finishing must not remove the new leader's entry.
        drop(old);
        assert!(locks.is_locked(1));
        drop(new);
        assert!(!locks.is_locked(1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_follower_gives_up_after_the_timeout() {
        let locks = LookupLocks::<u32>::new(None);
        let _leader = locks.acquire(1);
        let Role::Follow(receiver) = locks.acquire(1) else {
            panic!("the second caller must follow");
        };
        let waited = follow(receiver, Some(Duration::from_millis(100))).await;
        assert!(matches!(waited, Wait::GaveUp));
    }
}
