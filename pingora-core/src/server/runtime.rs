//! Worker runtimes of a service: one work-stealing runtime, or N single-threaded ones.

use std::cell::RefCell;
use std::io;
use std::sync::{mpsc as std_mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::runtime::{Builder, Handle};
use tokio::sync::oneshot;

use super::configuration::ServerConf;

thread_local! {
    /// On a thread of a no-steal runtime: the handles of all threads of that runtime.
    static NO_STEAL_PEERS: RefCell<Option<Arc<[Handle]>>> = const { RefCell::new(None) };
}

/// The runtimes a service's work should be spread over, as seen from the calling task.
///
/// On a no-steal runtime these are the handles of each of its threads; elsewhere it is the
/// current runtime alone (which spreads work itself).
pub(crate) fn worker_handles() -> Vec<Handle> {
    NO_STEAL_PEERS
        .with(|peers| peers.borrow().as_ref().map(|p| p.to_vec()))
        .unwrap_or_else(|| vec![Handle::current()])
}

/// The threads of one service.
pub(crate) enum Runtime {
    /// One multi-threaded runtime whose threads steal work from each other.
    Steal(tokio::runtime::Runtime),
    /// Independent single-threaded runtimes, one per thread.
    NoSteal(NoStealRuntime),
}

/// Threads each running their own current-thread runtime.
pub(crate) struct NoStealRuntime {
    handles: Arc<[Handle]>,
    stops: Vec<oneshot::Sender<Duration>>,
    threads: Vec<JoinHandle<()>>,
}

/// The first 16 characters of a service name, as thread names.
fn thread_name(name: &str) -> String {
    name.chars().take(16).collect()
}

impl Runtime {
    /// Starts `threads` worker threads for the service `name`.
    pub(crate) fn new(name: &str, threads: usize, conf: &ServerConf) -> io::Result<Self> {
        let threads = threads.max(1);
        if conf.work_stealing {
            let mut builder = Builder::new_multi_thread();
            builder
                .enable_all()
                .worker_threads(threads)
                .thread_name(thread_name(name));
            apply_blocking_limits(&mut builder, conf);
            return builder.build().map(Runtime::Steal);
        }
        let (handle_tx, handle_rx) = std_mpsc::channel();
        let mut stops = vec![];
        let mut joins = vec![];
        let mut peer_txs = vec![];
        for _ in 0..threads {
            let mut builder = Builder::new_current_thread();
            builder.enable_all();
            apply_blocking_limits(&mut builder, conf);
            let rt = builder.build()?;
            let (stop_tx, stop_rx) = oneshot::channel::<Duration>();
            let (peers_tx, peers_rx) = std_mpsc::channel::<Arc<[Handle]>>();
            let handle_tx = handle_tx.clone();
            let join = std::thread::Builder::new()
                .name(thread_name(name))
                .spawn(move || {
                    let _ = handle_tx.send(rt.handle().clone());
                    if let Ok(peers) = peers_rx.recv() {
                        NO_STEAL_PEERS.with(|p| *p.borrow_mut() = Some(peers));
                    }
                    let timeout = rt.block_on(stop_rx).unwrap_or(Duration::ZERO);
                    rt.shutdown_timeout(timeout);
                })?;
            stops.push(stop_tx);
            joins.push(join);
            peer_txs.push(peers_tx);
        }
        drop(handle_tx);
        let handles: Arc<[Handle]> = handle_rx.iter().take(threads).collect();
        for peers_tx in peer_txs {
            let _ = peers_tx.send(handles.clone());
        }
        Ok(Runtime::NoSteal(NoStealRuntime {
            handles,
            stops,
            threads: joins,
        }))
    }

    /// Where the service's own start task runs.
    pub(crate) fn handle(&self) -> Handle {
        match self {
            Runtime::Steal(rt) => rt.handle().clone(),
            Runtime::NoSteal(rt) => rt.handles[0].clone(),
        }
    }

    /// Stops the runtime, letting running tasks take up to `timeout` to notice.
    pub(crate) fn shutdown_timeout(self, timeout: Duration) {
        match self {
            Runtime::Steal(rt) => rt.shutdown_timeout(timeout),
            Runtime::NoSteal(rt) => {
                for stop in rt.stops {
                    let _ = stop.send(timeout);
                }
                for thread in rt.threads {
                    let _ = thread.join();
                }
            }
        }
    }
}

fn apply_blocking_limits(builder: &mut Builder, conf: &ServerConf) {
    if let Some(max) = conf.max_blocking_threads {
        builder.max_blocking_threads(max);
    }
    if let Some(ttl) = conf.blocking_threads_ttl_seconds {
        builder.thread_keep_alive(Duration::from_secs(ttl));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_steal_runtime_spreads_over_distinct_threads() {
        let conf = ServerConf {
            work_stealing: false,
            ..ServerConf::default()
        };
        let rt = Runtime::new("test-nosteal", 2, &conf).unwrap();
        let handles = rt.handle().block_on(async {
            tokio::spawn(async { worker_handles().len() })
                .await
                .unwrap()
        });
        assert_eq!(handles, 2);
        rt.shutdown_timeout(Duration::from_secs(1));
    }

    #[test]
    fn steal_runtime_is_one_handle() {
        let conf = ServerConf::default();
        let rt = Runtime::new("test-steal", 2, &conf).unwrap();
        let n = rt.handle().block_on(async { worker_handles().len() });
        assert_eq!(n, 1);
        rt.shutdown_timeout(Duration::from_secs(1));
    }
}
