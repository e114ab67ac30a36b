//! Listening services: endpoints plus a [`ServerApp`] that serves every accepted connection.

use async_trait::async_trait;
use std::os::fd::OwnedFd;
use std::sync::Arc;
use tokio::sync::mpsc;

use super::CatchPanic;
use crate::apps::ServerApp;
use crate::listeners::{bind_endpoint, Acceptor, Listeners, ServerAddress, TcpSocketOptions};
use crate::protocols::Stream;
#[cfg(unix)]
use crate::server::ListenFds;
use crate::server::{runtime, ShutdownWatch};

/// A service that listens on endpoints and hands each connection to its app.
///
/// Every connection runs on its own task. At shutdown the service stops accepting, waits for
/// its connections to finish, then calls the app's [`cleanup`](ServerApp::cleanup).
///
/// ```
/// use async_trait::async_trait;
/// use pingora_core::apps::ServerApp;
/// use pingora_core::protocols::Stream;
/// use pingora_core::server::ShutdownWatch;
/// use pingora_core::services::listening::Service;
/// use std::sync::Arc;
///
/// struct Drop;
/// #[async_trait]
/// impl ServerApp for Drop {
///     async fn process_new(self: &Arc<Self>, _io: Stream, _s: &ShutdownWatch) -> Option<Stream> {
///         None
///     }
/// }
///
/// let mut service = Service::new("dropper".to_string(), Drop);
/// service.add_tcp("127.0.0.1:6190");
/// service.add_uds("/tmp/dropper.sock", None);
/// service.threads = Some(2);
/// ```
pub struct Service<A> {
    name: String,
    listeners: Listeners,
    app_logic: Option<Arc<A>>,
    /// Worker threads of this service; `None` uses the configured `threads`.
    pub threads: Option<usize>,
}

impl<A> Service<A> {
    /// A service with no endpoints yet.
    pub fn new(name: String, app_logic: A) -> Self {
        Self::with_listeners(name, Listeners::new(), app_logic)
    }

    /// A service listening on `listeners`.
    pub fn with_listeners(name: String, listeners: Listeners, app_logic: A) -> Self {
        Service {
            name,
            listeners,
            app_logic: Some(Arc::new(app_logic)),
            threads: None,
        }
    }

    /// Listens on a TCP address such as `"0.0.0.0:80"`.
    pub fn add_tcp(&mut self, addr: &str) {
        self.listeners.add_tcp(addr);
    }

    /// Listens on a TCP address with the given socket options.
    pub fn add_tcp_with_settings(&mut self, addr: &str, options: TcpSocketOptions) {
        self.listeners.add_tcp_with_settings(addr, options);
    }

    /// Listens on a Unix socket; the file gets `permissions` (`0o666` when `None`).
    #[cfg(unix)]
    pub fn add_uds(&mut self, path: &str, permissions: Option<std::fs::Permissions>) {
        self.listeners.add_uds(path, permissions);
    }

    /// Listens on `address`.
    pub fn add_address(&mut self, address: ServerAddress) {
        self.listeners.add_address(address);
    }

    /// The endpoints, to inspect or extend.
    pub fn endpoints(&mut self) -> &mut Listeners {
        &mut self.listeners
    }

    /// The app serving the connections.
    pub fn app_logic(&self) -> Option<&A> {
        self.app_logic.as_deref()
    }

    /// The app, mutable while the service has not started (and so does not share it yet).
    pub fn app_logic_mut(&mut self) -> Option<&mut A> {
        self.app_logic.as_mut().and_then(Arc::get_mut)
    }
}

#[async_trait]
impl<A: ServerApp + Send + Sync + 'static> super::Service for Service<A> {
    async fn start_service(
        &mut self,
        #[cfg(unix)] fds: Option<ListenFds>,
        shutdown: ShutdownWatch,
        listeners_per_fd: usize,
    ) {
        let Some(app) = self.app_logic.clone() else {
            log::error!("service {} has no app", self.name);
            return;
        };
        let name: Arc<str> = Arc::from(self.name.as_str());
        let handles = runtime::worker_handles();
        // Every connection task holds a sender; `recv` yields `None` once all are gone.
        let (in_flight, mut all_done) = mpsc::channel::<()>(1);
        let mut accept_loops = vec![];
        for address in self.listeners.addresses() {
            let fd = match bind_endpoint(address, fds.as_ref()).await {
                Ok(fd) => fd,
                Err(e) => panic!("service {name} cannot listen on {address}: {e}"),
            };
            for handle in &handles {
                for _ in 0..listeners_per_fd.max(1) {
                    let fd = match fd.try_clone() {
                        Ok(fd) => fd,
                        Err(e) => panic!("service {name} cannot duplicate listener {address}: {e}"),
                    };
                    let task = accept_loop(AcceptLoop {
                        name: name.clone(),
                        address: address.clone(),
                        fd,
                        app: app.clone(),
                        shutdown: shutdown.clone(),
                        in_flight: in_flight.clone(),
                    });
                    accept_loops.push(handle.spawn(CatchPanic::new(
                        task,
                        "accept loop",
                        name.clone(),
                    )));
                }
            }
        }
        drop(in_flight);
        for accept_loop in accept_loops {
            let _ = accept_loop.await;
        }
        let _ = all_done.recv().await;
        app.cleanup().await;
        log::info!("service {name} stopped");
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn threads(&self) -> Option<usize> {
        self.threads
    }
}

/// What one accept task needs.
struct AcceptLoop<A> {
    name: Arc<str>,
    address: ServerAddress,
    fd: OwnedFd,
    app: Arc<A>,
    shutdown: ShutdownWatch,
    in_flight: mpsc::Sender<()>,
}

/// Accepts connections until shutdown, spawning one task per connection on this thread's runtime.
async fn accept_loop<A: ServerApp + Send + Sync + 'static>(task: AcceptLoop<A>) {
    let AcceptLoop {
        name,
        address,
        fd,
        app,
        mut shutdown,
        in_flight,
    } = task;
    let acceptor = match Acceptor::new(&address, fd) {
        Ok(acceptor) => acceptor,
        Err(e) => {
            log::error!("service {name} cannot accept on {address}: {e}");
            return;
        }
    };
    while !*shutdown.borrow_and_update() {
        tokio::select! {
            biased;
            changed = shutdown.changed() => {
                if changed.is_err() {
                    break; // the server is gone
                }
            }
            accepted = acceptor.accept() => match accepted {
                Ok(stream) => {
                    let connection = serve_connection(app.clone(), stream, shutdown.clone(), in_flight.clone());
                    tokio::spawn(CatchPanic::new(connection, "connection task", name.clone()));
                }
                Err(e) => log::debug!("service {name}: accept on {address} failed: {e}"),
            },
        }
    }
    log::debug!("service {name} stopped accepting on {address}");
}

/// Feeds one connection to the app until the app lets it go.
async fn serve_connection<A: ServerApp + Send + Sync + 'static>(
    app: Arc<A>,
    mut stream: Stream,
    shutdown: ShutdownWatch,
    _in_flight: mpsc::Sender<()>,
) {
    while let Some(reused) = app.process_new(stream, &shutdown).await {
        stream = reused;
    }
}
