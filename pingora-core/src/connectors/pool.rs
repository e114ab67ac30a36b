//! The pool of idle upstream connections, keyed by a peer's reuse hash.
//!
//! Rules:
//! - a connection is handed only to a peer with the same key, newest first (LIFO: the most
//!   recently used connection is the least likely to have been closed by the peer);
//! - a released connection is first only *parked*: nothing watches it, and checkout checks,
//!   without waiting, that no byte, EOF or error arrived meanwhile. Under load most
//!   connections are taken again within microseconds, and this costs no task at all;
//! - once parked for [`WATCH_AFTER`] (found by one sweeper task per pool, alive only while
//!   something is parked), a connection gets its own watcher task: if the peer closes it,
//!   sends anything, or it stays idle past its `idle_timeout`, it is closed and removed at
//!   once. So a connection spoiled while idle is never handed out, and is closed within about
//!   twice [`WATCH_AFTER`] at worst. An `idle_timeout` is enforced exactly at checkout; a
//!   connection that expires while parked is closed by the next sweep;
//! - the pool holds at most `size` connections over all keys; adding one more closes the one
//!   that has been idle longest (LRU);
//! - checkout of a watched connection asks its watcher to hand it back and checks once more,
//!   without waiting, that no byte arrived in the meantime.
//!
//! The state sits behind one mutex taken briefly per operation; nothing awaits while holding it.

use crate::protocols::Stream;
use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::num::NonZeroUsize;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::Poll;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// How long a released connection stays parked (checked only at checkout) before a watcher
/// task takes it over; also the sweeper's period.
const WATCH_AFTER: Duration = Duration::from_millis(50);

/// Idle connections of many peers, bounded in number.
pub(crate) struct ConnectionPool {
    state: Arc<Mutex<PoolState>>,
}

struct PoolState {
    /// Idle connections of each key, oldest first. Keys are peers' `reuse_hash`es, hashed
    /// again with aHash: a few instructions, where the default SipHash cost a full second hash
    /// on every checkout and release.
    idle: HashMap<u64, Vec<IdleConnection>, ahash::RandomState>,
    /// The order of release; `None` when the pool size is 0.
    recency: Option<Recency>,
    /// The id of the next connection released: ids grow in order of release.
    next_id: u64,
    /// The sweeper task runs (it stops once nothing is parked).
    sweeping: bool,
}

/// A connection in the pool.
struct IdleConnection {
    id: u64,
    held: Held,
}

/// Who holds an idle connection's stream.
enum Held {
    /// The pool itself, since `since`; nothing watches the stream yet.
    Parked {
        stream: Stream,
        since: Instant,
        idle_timeout: Option<Duration>,
    },
    /// A watcher task.
    Watched {
        /// Sending asks the watcher to return the stream; dropping tells it to close it.
        hand_back: oneshot::Sender<()>,
        watcher: JoinHandle<Option<Stream>>,
    },
}

/// Why a watcher stopped watching.
enum WatchEnd {
    CheckedOut,
    Evicted,
    Unusable,
    Expired,
}

impl ConnectionPool {
    /// A pool holding at most `size` idle connections (0: no pooling).
    pub(crate) fn new(size: usize) -> Self {
        ConnectionPool {
            state: Arc::new(Mutex::new(PoolState {
                idle: HashMap::default(),
                recency: NonZeroUsize::new(size).map(Recency::new),
                next_id: 0,
                sweeping: false,
            })),
        }
    }

    /// Parks `stream` under `key` for at most `idle_timeout` (`None`: no limit; zero: the
    /// stream is closed at once). Outside a tokio runtime the stream is closed.
    pub(crate) fn release(&self, key: u64, stream: Stream, idle_timeout: Option<Duration>) {
        if idle_timeout.is_some_and(|t| t.is_zero()) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let since = Instant::now();
        let evicted;
        let start_sweeper;
        {
            let mut state = self.state.lock();
            let id = state.next_id;
            state.next_id += 1;
            let Some(recency) = state.recency.as_mut() else {
                return;
            };
            let oldest = recency.push(id, key);
            state.idle.entry(key).or_default().push(IdleConnection {
                id,
                held: Held::Parked {
                    stream,
                    since,
                    idle_timeout,
                },
            });
            // Dropping an evicted entry closes its stream (or makes its watcher close it).
            evicted = oldest.and_then(|(old_id, old_key)| state.remove(old_key, old_id));
            start_sweeper = !state.sweeping;
            state.sweeping = true;
        }
        drop(evicted);
        if start_sweeper {
            runtime.spawn(sweep(Arc::downgrade(&self.state)));
        }
    }

    /// Takes the most recently parked healthy connection of `key`, if any.
    pub(crate) async fn checkout(&self, key: u64) -> Option<Stream> {
        loop {
            let candidate = self.state.lock().pop_newest(key)?;
            match candidate.held {
                Held::Parked {
                    mut stream,
                    since,
                    idle_timeout,
                } => {
                    let expired = idle_timeout.is_some_and(|limit| since.elapsed() >= limit);
                    if !expired && is_quiet(&mut stream).await {
                        return Some(stream);
                    }
                }
                Held::Watched { hand_back, watcher } => {
                    // The watcher may have just found the stream unusable; then try the next.
                    if hand_back.send(()).is_err() {
                        continue;
                    }
                    if let Ok(Some(stream)) = watcher.await {
                        return Some(stream);
                    }
                }
            }
        }
    }

    /// Number of idle connections parked.
    #[cfg(test)]
    pub(crate) fn idle_count(&self) -> usize {
        self.state.lock().idle.values().map(Vec::len).sum()
    }

    /// Whether the sweeper task runs.
    #[cfg(test)]
    fn is_sweeping(&self) -> bool {
        self.state.lock().sweeping
    }
}

/// Idle connections in order of release, so the one idle longest is known. Ids grow in order
/// of release, so the queue stays sorted by id.
struct Recency {
    size: usize,
    /// `(id, key)` of each idle connection, oldest first.
    order: VecDeque<(u64, u64)>,
}

impl Recency {
    fn new(size: NonZeroUsize) -> Self {
        Recency {
            size: size.get(),
            order: VecDeque::new(),
        }
    }

    /// Records connection `id` of `key` as the newest; returns the `(id, key)` of the oldest
    /// when that makes more than `size`.
    fn push(&mut self, id: u64, key: u64) -> Option<(u64, u64)> {
        self.order.push_back((id, key));
        if self.order.len() > self.size {
            self.order.pop_front()
        } else {
            None
        }
    }

    fn pop(&mut self, id: &u64) {
        if let Ok(index) = self.order.binary_search_by_key(id, |&(id, _)| id) {
            self.order.remove(index);
        }
    }
}

impl PoolState {
    fn pop_newest(&mut self, key: u64) -> Option<IdleConnection> {
        let list = self.idle.get_mut(&key)?;
        let conn = list.pop();
        // While the sweeper runs it drops empty lists; until then the list is kept for the
        // next release of the same key (usually imminent) to reuse.
        if list.is_empty() && !self.sweeping {
            self.idle.remove(&key);
        }
        let conn = conn?;
        if let Some(recency) = self.recency.as_mut() {
            recency.pop(&conn.id);
        }
        Some(conn)
    }

    fn remove(&mut self, key: u64, id: u64) -> Option<IdleConnection> {
        let list = self.idle.get_mut(&key)?;
        let index = list.iter().position(|c| c.id == id)?;
        let conn = list.remove(index);
        if list.is_empty() {
            self.idle.remove(&key);
        }
        if let Some(recency) = self.recency.as_mut() {
            recency.pop(&id);
        }
        Some(conn)
    }

    /// Hands each connection parked for [`WATCH_AFTER`] or more to a watcher task, and takes
    /// out those past their idle timeout (returned, to be closed outside the lock). Drops
    /// empty lists; clears `sweeping` when nothing is left parked.
    fn watch_settled(&mut self, pool: &Weak<Mutex<PoolState>>, now: Instant) -> Vec<Stream> {
        let mut expired = Vec::new();
        let mut still_parked = false;
        for (&key, list) in self.idle.iter_mut() {
            let settled = |c: &IdleConnection| matches!(c.held, Held::Parked { since, .. } if now - since >= WATCH_AFTER);
            if !list.iter().any(settled) {
                still_parked |= list.iter().any(|c| matches!(c.held, Held::Parked { .. }));
                continue;
            }
            let mut kept = Vec::with_capacity(list.len());
            for conn in list.drain(..) {
                let id = conn.id;
                let held = match conn.held {
                    Held::Parked {
                        stream,
                        since,
                        idle_timeout,
                    } if now - since >= WATCH_AFTER => {
                        let left = idle_timeout.map(|limit| limit.saturating_sub(now - since));
                        if left.is_some_and(|t| t.is_zero()) {
                            if let Some(recency) = self.recency.as_mut() {
                                recency.pop(&id);
                            }
                            expired.push(stream);
                            continue;
                        }
                        let (hand_back, hand_back_rx) = oneshot::channel();
                        // Spawned under the lock so that the watcher cannot try to remove
                        // its entry before the entry exists.
                        let watcher =
                            tokio::spawn(watch(pool.clone(), key, id, stream, hand_back_rx, left));
                        Held::Watched { hand_back, watcher }
                    }
                    held => {
                        still_parked |= matches!(held, Held::Parked { .. });
                        held
                    }
                };
                kept.push(IdleConnection { id, held });
            }
            *list = kept;
        }
        self.idle.retain(|_, list| !list.is_empty());
        self.sweeping = still_parked;
        expired
    }
}

/// The sweeper: every [`WATCH_AFTER`], hands settled parked connections to watchers; stops
/// when nothing is parked (the next release starts it again) or the pool is gone.
async fn sweep(pool: Weak<Mutex<PoolState>>) {
    loop {
        tokio::time::sleep(WATCH_AFTER).await;
        let Some(state) = pool.upgrade() else {
            return;
        };
        let (expired, sweeping) = {
            let mut state = state.lock();
            let expired = state.watch_settled(&pool, Instant::now());
            (expired, state.sweeping)
        };
        drop(expired);
        if !sweeping {
            return;
        }
    }
}

/// Holds an idle stream until it is checked out, evicted, expires, or turns unusable.
async fn watch(
    state: Weak<Mutex<PoolState>>,
    key: u64,
    id: u64,
    mut stream: Stream,
    mut hand_back: oneshot::Receiver<()>,
    idle_timeout: Option<Duration>,
) -> Option<Stream> {
    let mut probe = [0u8; 1];
    let expiry = async {
        match idle_timeout {
            Some(limit) => tokio::time::sleep(limit).await,
            None => std::future::pending().await,
        }
    };
    let end = tokio::select! {
        biased;
        signal = &mut hand_back => match signal {
            Ok(()) => WatchEnd::CheckedOut,
            Err(_) => WatchEnd::Evicted,
        },
        // Data, EOF or an error on an idle connection all make it unfit for a new request.
        // `read` is cancel safe: while pending it consumes nothing.
        _ = stream.read(&mut probe) => WatchEnd::Unusable,
        () = expiry => WatchEnd::Expired,
    };
    match end {
        WatchEnd::CheckedOut => is_quiet(&mut stream).await.then_some(stream),
        WatchEnd::Evicted => None,
        WatchEnd::Unusable | WatchEnd::Expired => {
            if let Some(state) = state.upgrade() {
                let removed = state.lock().remove(key, id);
                drop(removed);
            }
            None
        }
    }
}

/// True when a read on `stream` would block right now: no data, no EOF, no error pending.
async fn is_quiet(stream: &mut Stream) -> bool {
    let mut probe = [0u8; 1];
    std::future::poll_fn(|cx| {
        let mut buf = ReadBuf::new(&mut probe);
        Poll::Ready(Pin::new(&mut *stream).poll_read(cx, &mut buf).is_pending())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncWriteExt, DuplexStream};

    fn pair() -> (Stream, DuplexStream) {
        let (ours, theirs) = tokio::io::duplex(64);
        (Box::new(ours), theirs)
    }

    /// Waits (bounded) until the pool holds `n` idle connections.
    async fn until_idle_count(pool: &ConnectionPool, n: usize) {
        for _ in 0..200 {
            if pool.idle_count() == n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(pool.idle_count(), n);
    }

    /// Waits (bounded) until the sweeper task has stopped.
    async fn until_not_sweeping(pool: &ConnectionPool) {
        for _ in 0..400 {
            if !pool.is_sweeping() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(!pool.is_sweeping());
    }

    #[tokio::test]
    async fn released_stream_is_checked_out_by_the_same_key_only() {
        let pool = ConnectionPool::new(4);
        let (stream, _peer) = pair();
        pool.release(1, stream, None);
        assert!(pool.checkout(2).await.is_none());
        assert!(pool.checkout(1).await.is_some());
        assert!(pool.checkout(1).await.is_none());
    }

    #[tokio::test]
    async fn newest_connection_is_reused_first() {
        let pool = ConnectionPool::new(4);
        let (old, mut old_peer) = pair();
        let (new, mut new_peer) = pair();
        pool.release(1, old, None);
        pool.release(1, new, None);
        let mut got = pool.checkout(1).await.unwrap();
        got.write_all(b"x").await.unwrap();
        let mut byte = [0u8; 1];
        new_peer.read_exact(&mut byte).await.unwrap();
        drop(got);
        let mut got = pool.checkout(1).await.unwrap();
        got.write_all(b"y").await.unwrap();
        old_peer.read_exact(&mut byte).await.unwrap();
        assert_eq!(&byte, b"y");
    }

    #[tokio::test]
    async fn zero_idle_timeout_or_zero_size_disables_pooling() {
        let pool = ConnectionPool::new(4);
        let (stream, _peer) = pair();
        pool.release(1, stream, Some(Duration::ZERO));
        assert!(pool.checkout(1).await.is_none());

        let pool = ConnectionPool::new(0);
        let (stream, _peer) = pair();
        pool.release(1, stream, None);
        assert!(pool.checkout(1).await.is_none());
    }

    #[tokio::test]
    async fn closed_by_peer_while_idle_is_dropped() {
        let pool = ConnectionPool::new(4);
        let (stream, peer) = pair();
        pool.release(1, stream, None);
        drop(peer);
        until_idle_count(&pool, 0).await;
        assert!(pool.checkout(1).await.is_none());
    }

    #[tokio::test]
    async fn stray_bytes_while_idle_make_the_connection_unusable() {
        let pool = ConnectionPool::new(4);
        let (stream, mut peer) = pair();
        pool.release(1, stream, None);
        peer.write_all(b"HTTP/1.1 408\r\n\r\n").await.unwrap();
        until_idle_count(&pool, 0).await;
        assert!(pool.checkout(1).await.is_none());
    }

    #[tokio::test]
    async fn bytes_racing_the_checkout_are_caught() {
        let pool = ConnectionPool::new(4);
        let (stream, mut peer) = pair();
        pool.release(1, stream, None);
        // Written and checked out without yielding to the watcher in between.
        peer.write_all(b"!").await.unwrap();
        assert!(pool.checkout(1).await.is_none());
    }

    #[tokio::test]
    async fn idle_timeout_evicts() {
        let pool = ConnectionPool::new(4);
        let (stream, _peer) = pair();
        pool.release(1, stream, Some(Duration::from_millis(30)));
        assert_eq!(pool.idle_count(), 1);
        until_idle_count(&pool, 0).await;
        assert!(pool.checkout(1).await.is_none());
    }

    #[tokio::test]
    async fn quickly_taken_connection_needs_no_watcher_and_the_sweeper_stops() {
        let pool = ConnectionPool::new(4);
        let (stream, _peer) = pair();
        pool.release(1, stream, None);
        assert!(pool.is_sweeping());
        let stream = pool.checkout(1).await.unwrap();
        until_not_sweeping(&pool).await;
        // Released again, it is parked, then watched, and still handed out healthy.
        pool.release(1, stream, None);
        until_not_sweeping(&pool).await;
        assert_eq!(pool.idle_count(), 1);
        assert!(pool.checkout(1).await.is_some());
    }

    #[tokio::test]
    async fn bytes_arriving_after_the_watcher_took_over_make_the_connection_unusable() {
        let pool = ConnectionPool::new(4);
        let (stream, mut peer) = pair();
        pool.release(1, stream, None);
        // The sweeper stops once the connection is handed to a watcher.
        until_not_sweeping(&pool).await;
        peer.write_all(b"!").await.unwrap();
        until_idle_count(&pool, 0).await;
        assert!(pool.checkout(1).await.is_none());
    }

    #[tokio::test]
    async fn size_limit_evicts_the_least_recently_released_across_keys() {
        let pool = ConnectionPool::new(2);
        let (a, mut a_peer) = pair();
        let (b, _b_peer) = pair();
        let (c, _c_peer) = pair();
        pool.release(1, a, None);
        pool.release(2, b, None);
        pool.release(3, c, None);
        assert_eq!(pool.idle_count(), 2);
        // The evicted connection is closed, so its peer reads EOF.
        let mut buf = [0u8; 1];
        let read = tokio::time::timeout(Duration::from_secs(5), a_peer.read(&mut buf)).await;
        assert_eq!(read.unwrap().unwrap(), 0);
        assert!(pool.checkout(1).await.is_none());
        assert!(pool.checkout(2).await.is_some());
        assert!(pool.checkout(3).await.is_some());
    }
}
