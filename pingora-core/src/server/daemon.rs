//! Turning the process into a daemon: fork, new session, pid file, stdio, privilege drop.
//!
//! Written with `nix` directly (the `daemonize` crate is unmaintained). Runs before any
//! runtime or thread exists, because `fork` copies only the calling thread.

use nix::fcntl::OFlag;
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::stat::{umask, Mode};
use nix::unistd::{chown, fork, pipe2, setgid, setsid, setuid, ForkResult, Gid, Group, Pid, User};
use parking_lot::Mutex;
use pingora_error::{ErrorType, OkOrErr, OrErr, Result};
use std::ffi::CString;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::time::Duration;

use super::configuration::ServerConf;

const DAEMON_ERROR: ErrorType = ErrorType::Custom("DaemonError");

/// Detaches the process: only the daemon returns from this call; the original process exits 0.
///
/// Steps: fork (the parent exits), `setsid`, fork again (the session leader exits, so the
/// daemon can never regain a terminal), umask 007, pid file (an old one is renamed to
/// `<pid_file>.old`; the new one is written atomically and owned by `user`), stdin and stdout
/// to `/dev/null`, stderr appended to `error_log` (or `/dev/null`), cwd to
/// `working_directory` (or `/`), then `group` and `user` are switched to.
pub(crate) fn daemonize(conf: &ServerConf) -> Result<()> {
    if conf.daemon_wait_for_ready {
        let timeout = conf
            .daemon_ready_timeout_seconds
            .map_or(DEFAULT_READY_TIMEOUT, |s| Duration::from_secs(s.get()));
        detach_and_wait_for_ready(timeout)?;
    } else {
        detach()?;
    }
    detach_from_session()?;
    umask(Mode::from_bits_truncate(0o007));
    let user = lookup_user(conf)?;
    let group = lookup_group(conf, user.as_ref())?;
    write_pid_file(Path::new(&conf.pid_file), user.as_ref(), group)?;
    redirect_stdio(conf.error_log.as_deref())?;
    let dir = conf.working_directory.as_deref().unwrap_or(Path::new("/"));
    std::env::set_current_dir(dir).or_err_with(DAEMON_ERROR, || {
        format!("changing directory to {}", dir.display())
    })?;
    drop_privileges(user.as_ref(), group)
}

/// How long the launching process waits for the daemon's readiness, when not configured.
const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(600);

/// The launching process waiting for the daemon's readiness signal, and the pipe whose
/// closing tells it that the daemon died first.
struct WaitingParent {
    pid: Pid,
    alive: OwnedFd,
}

static WAITING_PARENT: Mutex<Option<WaitingParent>> = Mutex::new(None);

/// Tells a launching process that waits (`daemon_wait_for_ready`) that the daemon is ready.
/// Does nothing when no process waits; only the first call signals.
pub(crate) fn notify_ready_parent() {
    let Some(parent) = WAITING_PARENT.lock().take() else {
        return;
    };
    match kill(parent.pid, Signal::SIGUSR1) {
        Ok(()) => log::info!(
            "told the launching process {} that the daemon is ready",
            parent.pid
        ),
        Err(e) => log::error!(
            "cannot tell the launching process {} we are ready: {e}",
            parent.pid
        ),
    }
    drop(parent.alive);
}

/// Forks; the parent waits for SIGUSR1 from the daemon and exits 0, or exits 1 when the
/// daemon dies first or `timeout` passes. The child carries on.
fn detach_and_wait_for_ready(timeout: Duration) -> Result<()> {
    let mut usr1 = SigSet::empty();
    usr1.add(Signal::SIGUSR1);
    // Blocked before the fork so that an early signal stays pending instead of killing us.
    usr1.thread_block()
        .or_err(DAEMON_ERROR, "blocking SIGUSR1")?;
    let (died, alive) = pipe2(OFlag::O_CLOEXEC).or_err(DAEMON_ERROR, "creating readiness pipe")?;
    let parent = nix::unistd::getpid();
    // SAFETY: as in `detach`: no other thread exists yet.
    match unsafe { fork() }.or_err(DAEMON_ERROR, "fork")? {
        ForkResult::Parent { .. } => {
            drop(alive);
            std::process::exit(wait_for_ready(&usr1, died, timeout))
        }
        ForkResult::Child => {
            drop(died);
            usr1.thread_unblock()
                .or_err(DAEMON_ERROR, "unblocking SIGUSR1")?;
            *WAITING_PARENT.lock() = Some(WaitingParent { pid: parent, alive });
            Ok(())
        }
    }
}

/// The launching process's exit code: 0 once SIGUSR1 arrives, 1 on timeout or daemon death.
fn wait_for_ready(usr1: &SigSet, died: OwnedFd, timeout: Duration) -> i32 {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use nix::sys::signalfd::SignalFd;
    let Ok(ready) = SignalFd::new(usr1) else {
        eprintln!("cannot wait for the daemon's readiness");
        return 1;
    };
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            eprintln!("daemon not ready within {timeout:?}");
            return 1;
        }
        let wait = PollTimeout::try_from(left).unwrap_or(PollTimeout::MAX);
        let mut fds = [
            PollFd::new(ready.as_fd(), PollFlags::POLLIN),
            PollFd::new(died.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, wait) {
            Ok(0) | Err(nix::errno::Errno::EINTR) => continue,
            Ok(_) => {}
            Err(e) => {
                eprintln!("waiting for the daemon failed: {e}");
                return 1;
            }
        }
        let signalled = fds[0]
            .revents()
            .is_some_and(|r| r.contains(PollFlags::POLLIN));
        if signalled {
            return 0;
        }
        if fds[1].any().unwrap_or(false) {
            eprintln!("daemon exited before it was ready");
            return 1;
        }
    }
}

/// Forks; the parent exits at once and the child carries on.
fn detach() -> Result<()> {
    // SAFETY: `daemonize` runs before the server starts any thread or runtime, so the child
    // is a complete copy of a single-threaded process and may go on running Rust code.
    match unsafe { fork() }.or_err(DAEMON_ERROR, "fork")? {
        ForkResult::Parent { .. } => std::process::exit(0),
        ForkResult::Child => Ok(()),
    }
}

/// Starts a new session (no controlling terminal) and forks again so the daemon is not its
/// leader.
fn detach_from_session() -> Result<()> {
    setsid().or_err(DAEMON_ERROR, "setsid")?;
    detach()
}

fn lookup_user(conf: &ServerConf) -> Result<Option<User>> {
    let Some(name) = &conf.user else {
        return Ok(None);
    };
    User::from_name(name)
        .or_err_with(DAEMON_ERROR, || format!("looking up user {name}"))?
        .or_err_with(DAEMON_ERROR, || format!("no user named {name}"))
        .map(Some)
}

fn lookup_group(conf: &ServerConf, user: Option<&User>) -> Result<Option<Gid>> {
    match &conf.group {
        Some(name) => Group::from_name(name)
            .or_err_with(DAEMON_ERROR, || format!("looking up group {name}"))?
            .or_err_with(DAEMON_ERROR, || format!("no group named {name}"))
            .map(|group| Some(group.gid)),
        // With only a user given, switch to the user's primary group.
        None => Ok(user.map(|user| user.gid)),
    }
}

/// Writes this process's id to `path` atomically (temporary file + rename).
pub(crate) fn write_pid_file(path: &Path, user: Option<&User>, group: Option<Gid>) -> Result<()> {
    if path.exists() {
        let mut old = path.as_os_str().to_owned();
        old.push(".old");
        if let Err(e) = std::fs::rename(path, &old) {
            log::warn!("cannot keep old pid file {}: {e}", path.display());
        }
    }
    let mut temp = path.as_os_str().to_owned();
    temp.push(format!(".{}.tmp", std::process::id()));
    let temp = Path::new(&temp);
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::File::create(temp)?;
        writeln!(file, "{}", std::process::id())?;
        file.sync_all()
    };
    write().or_err_with(DAEMON_ERROR, || {
        format!("writing pid file {}", temp.display())
    })?;
    if user.is_some() || group.is_some() {
        chown(temp, user.map(|u| u.uid), group).or_err_with(DAEMON_ERROR, || {
            format!("changing owner of pid file {}", path.display())
        })?;
    }
    std::fs::rename(temp, path).or_err_with(DAEMON_ERROR, || {
        format!("moving pid file into place at {}", path.display())
    })
}

fn redirect_stdio(error_log: Option<&str>) -> Result<()> {
    let null = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .or_err(DAEMON_ERROR, "opening /dev/null")?;
    let stderr_target = match error_log {
        Some(path) => OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .or_err_with(DAEMON_ERROR, || format!("opening error log {path}"))?,
        None => null
            .try_clone()
            .or_err(DAEMON_ERROR, "duplicating /dev/null")?,
    };
    nix::unistd::dup2_stdin(&null).or_err(DAEMON_ERROR, "redirecting stdin")?;
    nix::unistd::dup2_stdout(&null).or_err(DAEMON_ERROR, "redirecting stdout")?;
    nix::unistd::dup2_stderr(&stderr_target).or_err(DAEMON_ERROR, "redirecting stderr")?;
    Ok(())
}

fn drop_privileges(user: Option<&User>, group: Option<Gid>) -> Result<()> {
    if let Some(gid) = group {
        setgid(gid).or_err_with(DAEMON_ERROR, || format!("switching to group {gid}"))?;
    }
    if let Some(user) = user {
        let name = CString::new(user.name.as_str()).or_err(DAEMON_ERROR, "user name")?;
        let gid = group.unwrap_or(user.gid);
        nix::unistd::initgroups(&name, gid)
            .or_err_with(DAEMON_ERROR, || format!("setting groups of {}", user.name))?;
        setuid(user.uid)
            .or_err_with(DAEMON_ERROR, || format!("switching to user {}", user.name))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_file_is_written_and_old_one_kept() {
        let dir = std::env::temp_dir().join(format!("pingora-core-pid-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("p.pid");
        std::fs::write(&path, "1\n").unwrap();
        write_pid_file(&path, None, None).unwrap();
        let pid: u32 = std::fs::read_to_string(&path)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(pid, std::process::id());
        assert_eq!(
            std::fs::read_to_string(dir.join("p.pid.old")).unwrap(),
            "1\n"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unknown_user_is_an_error() {
        let conf = ServerConf {
            user: Some("no-such-user-pingora-test".into()),
            ..ServerConf::default()
        };
        let err = lookup_user(&conf).unwrap_err();
        assert_eq!(err.etype(), &DAEMON_ERROR);
    }
}
