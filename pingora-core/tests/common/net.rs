//! Loopback networking helpers shared by the end-to-end tests.

use socket2::{Domain, Socket, Type};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Mutex;

/// Ports already handed out in this test process.
static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// A loopback port that was free a moment ago, for a server the test starts next: the
/// kernel picks it for a socket bound to port 0, which is then closed. No port is handed
/// out twice in one test process.
///
/// The probe socket never listens and allows address reuse. A listening probe would be a
/// trap: a test on another thread that spawns a program (curl, nginx) forks while the probe
/// is open, the child holds a copy of it until it runs `exec`, and in that window clients
/// are accepted into the probe's queue, the server cannot bind (`EADDRINUSE`), and the
/// queued connections are reset when the child's copy closes. A bound, non-listening socket
/// with `SO_REUSEADDR` accepts nothing and does not stop the server (which also sets
/// `SO_REUSEADDR`) from binding and listening.
pub fn free_port() -> u16 {
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let port = probe_port().expect("bind a loopback port");
        if handed_out.insert(port) {
            return port;
        }
    }
}

/// Binds a reusable, non-listening socket to a kernel-chosen loopback port; returns the port.
fn probe_port() -> std::io::Result<u16> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())?;
    let local = socket.local_addr()?.as_socket();
    Ok(local.expect("a bound IPv4 socket has an IP address").port())
}
