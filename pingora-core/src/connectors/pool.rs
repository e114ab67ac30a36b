//! The pool of idle upstream connections, keyed by a peer's reuse hash.
//!
//! Rules:
//! - a connection is handed only to a peer with the same key, newest first (LIFO: the most
//!   recently used connection is the least likely to have been closed by the peer);
//! - each idle connection is watched by its own task: if the peer closes it, sends anything,
//!   or it stays idle past its `idle_timeout`, it is closed and removed at once;
//! - the pool holds at most `size` connections over all keys; adding one more closes the one
//!   that has been idle longest (LRU);
//! - checkout asks the watcher to hand the connection back and checks once more, without
//!   waiting, that no byte arrived in the meantime.
//!
//! The state sits behind one mutex taken briefly per operation; nothing awaits while holding it.

use crate::protocols::Stream;
use lru::LruCache;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::task::Poll;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Idle connections of many peers, bounded in number.
pub(crate) struct ConnectionPool {
    state: Arc<Mutex<PoolState>>,
    next_id: AtomicU64,
}

struct PoolState {
    /// Idle connections of each key, oldest first.
    idle: HashMap<u64, Vec<IdleConnection>>,
    /// Connection id → key, in order of release; `None` when the pool size is 0.
    recency: Option<LruCache<u64, u64>>,
}

/// A connection parked in the pool: its watcher task holds the stream.
struct IdleConnection {
    id: u64,
    /// Sending asks the watcher to return the stream; dropping tells it to close the stream.
    hand_back: oneshot::Sender<()>,
    watcher: JoinHandle<Option<Stream>>,
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
                idle: HashMap::new(),
                recency: NonZeroUsize::new(size).map(LruCache::new),
            })),
            next_id: AtomicU64::new(0),
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
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (hand_back, hand_back_rx) = oneshot::channel();
        let evicted;
        {
            let mut state = self.state.lock();
            let Some(recency) = state.recency.as_mut() else {
                return;
            };
            evicted = recency.push(id, key);
            // Spawned under the lock so that the watcher cannot try to remove its entry
            // before the entry exists.
            let watcher = runtime.spawn(watch(
                Arc::downgrade(&self.state),
                key,
                id,
                stream,
                hand_back_rx,
                idle_timeout,
            ));
            state.idle.entry(key).or_default().push(IdleConnection {
                id,
                hand_back,
                watcher,
            });
            if let Some((old_id, old_key)) = evicted {
                // Dropping the entry drops `hand_back`, which makes its watcher close the stream.
                state.remove(old_key, old_id);
            }
        }
    }

    /// Takes the most recently parked healthy connection of `key`, if any.
    pub(crate) async fn checkout(&self, key: u64) -> Option<Stream> {
        loop {
            let candidate = self.state.lock().pop_newest(key)?;
            // The watcher may have just found the stream unusable; then try the next one.
            if candidate.hand_back.send(()).is_err() {
                continue;
            }
            if let Ok(Some(stream)) = candidate.watcher.await {
                return Some(stream);
            }
        }
    }

    /// Number of idle connections parked.
    #[cfg(test)]
    pub(crate) fn idle_count(&self) -> usize {
        self.state.lock().idle.values().map(Vec::len).sum()
    }
}

impl PoolState {
    fn pop_newest(&mut self, key: u64) -> Option<IdleConnection> {
        let list = self.idle.get_mut(&key)?;
        let conn = list.pop();
        if list.is_empty() {
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
