//! The server process: configuration, services, worker runtimes, signals, graceful upgrade
//! and daemon mode.
//!
//! A program builds a [`Server`], adds services, and calls [`Server::run_forever`]:
//!
//! ```no_run
//! use pingora_core::server::{configuration::Opt, Server};
//! use pingora_core::services::background::{background_service, BackgroundService};
//! # struct Job;
//! # #[async_trait::async_trait]
//! # impl BackgroundService for Job {}
//!
//! let mut server = Server::new(Some(Opt::parse_args())).unwrap();
//! server.bootstrap();
//! server.add_service(background_service("job", Job));
//! server.run_forever();
//! ```

mod bootstrap;
pub mod configuration;
mod daemon;
pub(crate) mod runtime;
mod signals;
mod transfer_fd;

use parking_lot::Mutex;
use pingora_error::Result;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc, watch};

use crate::services::background::GenBackgroundService;
use crate::services::{
    CatchPanic, DependencyGraph, ServiceHandle, ServiceReadyNotifier, ServiceWithDependents,
};
pub use configuration::{Opt, ServerConf};
use runtime::Runtime;
pub use signals::{ShutdownSignal, ShutdownSignalWatch, UnixShutdownSignalWatch};
pub use transfer_fd::Fds;

/// Turns `true` when the server starts shutting down; every service gets one.
pub type ShutdownWatch = watch::Receiver<bool>;

/// The listening sockets shared by the services of a server (see [`Fds`]).
#[cfg(unix)]
pub type ListenFds = Arc<Mutex<Fds>>;

/// After handing its sockets to a new process, the old one keeps serving this long before it
/// stops accepting and drains.
const UPGRADE_CLOSE_DELAY: Duration = Duration::from_secs(5);

/// Where the server is in its life; see [`Server::watch_execution_phase`].
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutionPhase {
    /// Being configured.
    Setup,
    /// [`Server::bootstrap`] is running (receiving sockets during an upgrade).
    Bootstrap,
    /// Bootstrap is done.
    BootstrapComplete,
    /// Services run.
    Running,
    /// Sending the listening sockets to a new process.
    GracefulUpgradeTransferringFds,
    /// Sockets sent; still serving for a short while.
    GracefulUpgradeCloseTimeout,
    /// A graceful shutdown started.
    GracefulTerminate,
    /// Services were told to stop.
    ShutdownStarted,
    /// Waiting for in-flight work.
    ShutdownGracePeriod,
    /// Stopping the runtimes.
    ShutdownRuntimes,
    /// Everything stopped.
    Terminated,
}

/// How [`Server::run`] learns that it should stop.
pub struct RunArgs {
    /// Source of the shutdown decision; Unix signals by default.
    #[cfg(unix)]
    pub shutdown_signal: Box<dyn ShutdownSignalWatch>,
}

impl Default for RunArgs {
    fn default() -> Self {
        RunArgs {
            shutdown_signal: Box::new(UnixShutdownSignalWatch),
        }
    }
}

/// A service as added to the server.
struct ServiceEntry {
    handle: ServiceHandle,
    service: Box<dyn ServiceWithDependents>,
}

/// The server: it owns the configuration and the services, and runs them until told to stop.
///
/// Nothing listens, forks or starts a thread before [`run`](Self::run) /
/// [`run_forever`](Self::run_forever).
pub struct Server {
    services: Vec<ServiceEntry>,
    dependencies: Arc<Mutex<DependencyGraph>>,
    #[cfg(unix)]
    listen_fds: Option<ListenFds>,
    shutdown_sender: watch::Sender<bool>,
    shutdown_watch: ShutdownWatch,
    execution_phase: broadcast::Sender<ExecutionPhase>,
    bootstrapped: bool,
    bootstrap_service_added: bool,
    /// The server-wide settings.
    pub configuration: Arc<ServerConf>,
    /// The command line the server was created with.
    pub options: Option<Opt>,
}

impl Server {
    /// Creates a server from the command line: the file named by `-c` is loaded (defaults when
    /// there is none) and `-d` is applied.
    ///
    /// With `-t`, a configuration that fails to load is printed and the process exits 1.
    pub fn new(opt: impl Into<Option<Opt>>) -> Result<Server> {
        let opt = opt.into();
        let conf = match &opt {
            Some(opt) => match ServerConf::load_yaml_with_opt_override(opt) {
                Ok(conf) => conf,
                Err(e) if opt.test => {
                    eprintln!("configuration test failed: {e}");
                    std::process::exit(1);
                }
                Err(e) => return Err(e),
            },
            None => ServerConf::from_yaml("---\nversion: 1")?,
        };
        Ok(Self::new_with_opt_and_conf(opt, conf))
    }

    /// Creates a server from an explicit configuration; `opt.conf` is ignored, `-d` applies.
    pub fn new_with_opt_and_conf(raw_opt: impl Into<Option<Opt>>, mut conf: ServerConf) -> Server {
        let options = raw_opt.into();
        if let Some(opt) = &options {
            conf.merge_with_opt(opt);
        }
        let (shutdown_sender, shutdown_watch) = watch::channel(false);
        let (execution_phase, _) = broadcast::channel(64);
        Server {
            services: vec![],
            dependencies: Arc::default(),
            #[cfg(unix)]
            listen_fds: None,
            shutdown_sender,
            shutdown_watch,
            execution_phase,
            bootstrapped: false,
            bootstrap_service_added: false,
            configuration: Arc::new(conf),
            options,
        }
    }

    /// Prepares the server; safe to call more than once.
    ///
    /// With `-t` it prints the configuration and exits 0. With `-u` it waits on `upgrade_sock`
    /// for the old process's listening sockets, and exits 1 if none arrive.
    pub fn bootstrap(&mut self) {
        if self.bootstrapped {
            return;
        }
        self.set_phase(ExecutionPhase::Bootstrap);
        let opt = self.options.clone().unwrap_or_default();
        if opt.test {
            self.print_config_test(&opt);
            std::process::exit(0);
        }
        #[cfg(unix)]
        {
            let fds = if opt.upgrade {
                let conf = &self.configuration;
                match Fds::receive_from_sock(&conf.upgrade_sock, conf.upgrade_sock_retries()) {
                    Ok(fds) => {
                        log::info!(
                            "received {} listening sockets from the old process",
                            fds.len()
                        );
                        fds
                    }
                    Err(e) => {
                        log::error!("graceful upgrade failed: {e}");
                        eprintln!("graceful upgrade failed: {e}");
                        std::process::exit(1);
                    }
                }
            } else {
                Fds::new()
            };
            self.listen_fds = Some(Arc::new(Mutex::new(fds)));
        }
        self.bootstrapped = true;
        self.set_phase(ExecutionPhase::BootstrapComplete);
    }

    /// Does the work of [`bootstrap`](Self::bootstrap) in a background service named
    /// "Bootstrap Service" instead, i.e. after a daemon forked.
    ///
    /// Services that listen on sockets inherited during an upgrade must then depend on the
    /// returned handle. Once it is done, a launching process that waits for the daemon
    /// (`daemon_wait_for_ready`) is told that the daemon is ready. `-t` is still handled here,
    /// at once.
    ///
    /// ```no_run
    /// # use async_trait::async_trait;
    /// # use pingora_core::{apps::ServerApp, protocols::Stream, server::ShutdownWatch};
    /// # use std::sync::Arc;
    /// # struct MyApp;
    /// # #[async_trait]
    /// # impl ServerApp for MyApp {
    /// #     async fn process_new(self: &Arc<Self>, _io: Stream, _s: &ShutdownWatch) -> Option<Stream> { None }
    /// # }
    /// use pingora_core::prelude::*;
    /// use pingora_core::services::listening::Service;
    ///
    /// let mut server = Server::new(Some(Opt::parse_args())).unwrap();
    /// let bootstrap = server.bootstrap_as_a_service();
    /// let mut service = Service::new("app".to_string(), MyApp);
    /// service.add_tcp("0.0.0.0:8080");
    /// server.add_service(service).add_dependency(&bootstrap);
    /// server.run_forever();
    /// ```
    pub fn bootstrap_as_a_service(&mut self) -> ServiceHandle {
        let opt = self.options.clone().unwrap_or_default();
        if opt.test {
            self.print_config_test(&opt);
            std::process::exit(0);
        }
        let fds = self
            .listen_fds
            .get_or_insert_with(|| Arc::new(Mutex::new(Fds::new())))
            .clone();
        self.bootstrapped = true;
        self.bootstrap_service_added = true;
        let task = bootstrap::BootstrapTask {
            upgrade: opt.upgrade,
            upgrade_sock: self.configuration.upgrade_sock.clone(),
            attempts: self.configuration.upgrade_sock_retries(),
            fds,
            phase: self.execution_phase.clone(),
        };
        self.add_service(GenBackgroundService::new(
            "Bootstrap Service".to_string(),
            Arc::new(task),
        ))
    }

    fn print_config_test(&self, opt: &Opt) {
        let source = opt.conf.as_deref().unwrap_or("(built-in defaults)");
        println!("# configuration test ok: {source}");
        if let Some(path) = &opt.conf {
            if let Ok(text) = std::fs::read_to_string(path) {
                let unknown = configuration::unknown_keys(&text);
                if !unknown.is_empty() {
                    println!("# keys not used by the server: {}", unknown.join(", "));
                }
            }
        }
        print!("{}", self.configuration.to_yaml());
    }

    /// Adds a service; it starts when the server runs.
    pub fn add_service(&mut self, service: impl ServiceWithDependents + 'static) -> ServiceHandle {
        self.add_boxed_service(Box::new(service))
    }

    /// Adds a boxed service; it starts when the server runs.
    pub fn add_boxed_service(&mut self, service: Box<dyn ServiceWithDependents>) -> ServiceHandle {
        let id = self.dependencies.lock().add_node();
        let handle = ServiceHandle::new(id, service.name().to_string(), self.dependencies.clone());
        self.services.push(ServiceEntry {
            handle: handle.clone(),
            service,
        });
        handle
    }

    /// Adds several services at once.
    pub fn add_services(
        &mut self,
        services: Vec<Box<dyn ServiceWithDependents>>,
    ) -> Vec<ServiceHandle> {
        services
            .into_iter()
            .map(|service| self.add_boxed_service(service))
            .collect()
    }

    /// Follows the server's life phases.
    pub fn watch_execution_phase(&self) -> broadcast::Receiver<ExecutionPhase> {
        self.execution_phase.subscribe()
    }

    fn set_phase(&self, phase: ExecutionPhase) {
        log::debug!("server phase: {phase:?}");
        let _ = self.execution_phase.send(phase);
    }

    /// Runs the services until a shutdown signal, then returns (the process continues).
    ///
    /// The calling thread becomes the server's main thread: it waits for `run_args.shutdown_signal`
    /// and runs the shutdown sequence, so do not call this from inside an async task (use
    /// [`tokio::task::spawn_blocking`] or a thread). Each service runs on its own runtime. With
    /// daemon mode on, the process forks first and only the daemon returns from this call.
    ///
    /// ```
    /// # use async_trait::async_trait;
    /// use pingora_core::server::{RunArgs, Server, ShutdownSignal, ShutdownSignalWatch};
    /// # use pingora_core::services::background::{background_service, BackgroundService};
    ///
    /// struct StopAtOnce;
    /// #[async_trait]
    /// impl ShutdownSignalWatch for StopAtOnce {
    ///     async fn recv(&self) -> ShutdownSignal {
    ///         ShutdownSignal::GracefulTerminate
    ///     }
    /// }
    /// # struct Job;
    /// # #[async_trait]
    /// # impl BackgroundService for Job {}
    ///
    /// let mut server = Server::new(None).unwrap();
    /// server.add_service(background_service("job", Job));
    /// server.run(RunArgs { shutdown_signal: Box::new(StopAtOnce) });
    /// // still here: the program goes on
    /// ```
    pub fn run(mut self, run_args: RunArgs) {
        self.bootstrap();
        let conf = self.configuration.clone();
        #[cfg(unix)]
        if conf.daemon {
            if let Err(e) = daemon::daemonize(&conf) {
                log::error!("cannot daemonize: {e}");
                eprintln!("cannot daemonize: {e}");
                std::process::exit(1);
            }
        }
        let main_runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                log::error!("cannot start the main runtime: {e}");
                return;
            }
        };
        // The first poll registers signal handlers, before any service can be reached.
        let mut signal = run_args.shutdown_signal.recv();
        let early = main_runtime.block_on(async {
            tokio::select! {
                biased;
                signal = &mut signal => Some(signal),
                _ = std::future::ready(()) => None,
            }
        });
        let (runtimes, mut services_done) = self.start_services();
        self.set_phase(ExecutionPhase::Running);
        log::info!("server running {} services", runtimes.len());
        #[cfg(unix)]
        if !self.bootstrap_service_added {
            // Bootstrap already happened before the fork: the daemon is ready now.
            daemon::notify_ready_parent();
        }

        let mut next = match early {
            Some(signal) => signal,
            None => main_runtime.block_on(signal),
        };
        loop {
            match next {
                ShutdownSignal::FastShutdown => {
                    self.set_phase(ExecutionPhase::ShutdownStarted);
                    self.shutdown_sender.send_replace(true);
                    self.stop_runtimes(runtimes, Duration::ZERO);
                    break;
                }
                ShutdownSignal::GracefulTerminate => {
                    self.set_phase(ExecutionPhase::GracefulTerminate);
                    let watch = run_args.shutdown_signal.as_ref();
                    self.graceful_stop(&main_runtime, watch, runtimes, &mut services_done);
                    break;
                }
                ShutdownSignal::GracefulUpgrade => {
                    if self.send_listeners(&main_runtime) {
                        self.set_phase(ExecutionPhase::GracefulUpgradeCloseTimeout);
                        let watch = run_args.shutdown_signal.as_ref();
                        let delay = async { tokio::time::sleep(UPGRADE_CLOSE_DELAY).await };
                        if wait_unless_fast_shutdown(&main_runtime, watch, delay).is_none() {
                            self.set_phase(ExecutionPhase::ShutdownStarted);
                            self.shutdown_sender.send_replace(true);
                            self.stop_runtimes(runtimes, Duration::ZERO);
                            break;
                        }
                        self.graceful_stop(&main_runtime, watch, runtimes, &mut services_done);
                        break;
                    }
                    // Nobody took the sockets: keep serving rather than go dark.
                    next = main_runtime.block_on(run_args.shutdown_signal.recv());
                }
            }
        }
        self.set_phase(ExecutionPhase::Terminated);
        log::info!("server stopped");
    }

    /// [`run`](Self::run) with Unix signals, then exits the process with status 0.
    pub fn run_forever(self) -> ! {
        self.run(RunArgs::default());
        std::process::exit(0)
    }

    /// Starts every service on its own runtime; returns the runtimes and a receiver that
    /// yields `None` once every service's start task has returned.
    fn start_services(&mut self) -> (Vec<Runtime>, mpsc::Receiver<()>) {
        let (done_sender, services_done) = mpsc::channel::<()>(1);
        let ready: Vec<_> = self
            .services
            .iter()
            .map(|_| watch::channel(false))
            .collect();
        let ready_watches: Vec<_> = ready.iter().map(|(_, rx)| rx.clone()).collect();
        let mut runtimes = vec![];
        let services = std::mem::take(&mut self.services);
        let graph = self.dependencies.lock();
        for ((entry, (ready_sender, _)), id) in services.into_iter().zip(ready).zip(0..) {
            let ServiceEntry {
                handle,
                mut service,
            } = entry;
            let threads = service.threads().unwrap_or(self.configuration.threads);
            let runtime = match Runtime::new(handle.name(), threads, &self.configuration) {
                Ok(runtime) => runtime,
                Err(e) => {
                    log::error!("cannot start threads of service {}: {e}", handle.name());
                    continue;
                }
            };
            let dependencies: Vec<_> = graph
                .dependencies(id)
                .iter()
                .map(|&dep| ready_watches[dep].clone())
                .collect();
            #[cfg(unix)]
            let fds = self.listen_fds.clone();
            let shutdown = self.shutdown_watch.clone();
            let per_fd = self.configuration.listener_tasks_per_fd;
            let done = done_sender.clone();
            let name: Arc<str> = Arc::from(handle.name());
            let task = async move {
                let _done = done;
                if !dependencies.is_empty() {
                    let started = Instant::now();
                    for mut dependency in dependencies {
                        let _ = dependency.wait_for(|ready| *ready).await;
                    }
                    service.on_startup_delay(started.elapsed());
                }
                let notifier = ServiceReadyNotifier::new(ready_sender);
                service
                    .start_service(
                        #[cfg(unix)]
                        fds,
                        shutdown,
                        per_fd,
                        notifier,
                    )
                    .await;
            };
            runtime
                .handle()
                .spawn(CatchPanic::new(task, "start task", name));
            runtimes.push(runtime);
        }
        (runtimes, services_done)
    }

    /// Sends the listening sockets to the new process; returns whether it took them.
    fn send_listeners(&self, main_runtime: &tokio::runtime::Runtime) -> bool {
        self.set_phase(ExecutionPhase::GracefulUpgradeTransferringFds);
        #[cfg(unix)]
        {
            let Some(fds) = self.listen_fds.clone() else {
                return true;
            };
            if fds.lock().is_empty() {
                log::info!("no listening sockets to hand over");
                return true;
            }
            let path = self.configuration.upgrade_sock.clone();
            let attempts = self.configuration.upgrade_sock_retries();
            let send = move || fds.lock().send_to_sock(&path, attempts);
            let sent = main_runtime.block_on(async { tokio::task::spawn_blocking(send).await });
            match sent {
                Ok(Ok(count)) => {
                    log::info!("handed {count} listening sockets to the new process");
                    true
                }
                Ok(Err(e)) => {
                    log::error!("graceful upgrade failed, still serving: {e}");
                    false
                }
                Err(e) => {
                    log::error!("graceful upgrade failed, still serving: {e}");
                    false
                }
            }
        }
        #[cfg(not(unix))]
        true
    }

    /// Stops accepting, waits for in-flight work up to the grace period, then stops the
    /// runtimes allowing the graceful shutdown timeout.
    fn graceful_stop(
        &self,
        main_runtime: &tokio::runtime::Runtime,
        signal: &dyn ShutdownSignalWatch,
        runtimes: Vec<Runtime>,
        services_done: &mut mpsc::Receiver<()>,
    ) {
        self.set_phase(ExecutionPhase::ShutdownStarted);
        self.shutdown_sender.send_replace(true);
        // Close the server's copies of the listening sockets; the accept tasks close theirs as
        // they stop, so new connections are refused from now on (or, after an upgrade, go to
        // the new process only).
        #[cfg(unix)]
        if let Some(fds) = &self.listen_fds {
            fds.lock().clear();
        }
        self.set_phase(ExecutionPhase::ShutdownGracePeriod);
        let grace = self.configuration.grace_period();
        let drain = async { tokio::time::timeout(grace, services_done.recv()).await };
        let timeout = match wait_unless_fast_shutdown(main_runtime, signal, drain) {
            Some(Ok(_)) => self.configuration.graceful_shutdown_timeout(),
            Some(Err(_)) => {
                log::warn!("grace period of {grace:?} over with work still in flight");
                self.configuration.graceful_shutdown_timeout()
            }
            None => Duration::ZERO,
        };
        self.stop_runtimes(runtimes, timeout);
    }

    /// Stops all runtimes in parallel, each allowed `timeout`.
    fn stop_runtimes(&self, runtimes: Vec<Runtime>, timeout: Duration) {
        self.set_phase(ExecutionPhase::ShutdownRuntimes);
        let stoppers: Vec<_> = runtimes
            .into_iter()
            .map(|runtime| std::thread::spawn(move || runtime.shutdown_timeout(timeout)))
            .collect();
        for stopper in stoppers {
            let _ = stopper.join();
        }
    }
}

/// Runs `work` on the main runtime unless a fast shutdown is asked for first (`None`).
///
/// Any other signal arriving meanwhile is logged and ends the watching (a shutdown is
/// already on), so a watch that keeps answering at once cannot spin this loop.
fn wait_unless_fast_shutdown<T>(
    main_runtime: &tokio::runtime::Runtime,
    signal: &dyn ShutdownSignalWatch,
    work: impl std::future::Future<Output = T>,
) -> Option<T> {
    main_runtime.block_on(async {
        tokio::pin!(work);
        tokio::select! {
            done = &mut work => return Some(done),
            next = signal.recv() => match next {
                ShutdownSignal::FastShutdown => return None,
                other => log::info!("already shutting down; ignoring {other:?}"),
            },
        }
        Some(work.await)
    })
}
