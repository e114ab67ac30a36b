//! Loopback networking helpers shared by the end-to-end tests.

use std::net::TcpListener;

/// A loopback port that was free a moment ago: bound with port 0, then released.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener
        .local_addr()
        .expect("a bound socket has an address")
        .port()
}
