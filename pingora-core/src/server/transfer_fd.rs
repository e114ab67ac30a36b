//! Handing listening sockets to a new process during a graceful upgrade.
//!
//! The new process (started with `-u`) listens on the `upgrade_sock` Unix socket; the old one
//! connects and sends every listening socket with the address it is bound to, as `SCM_RIGHTS`
//! messages over a `SOCK_SEQPACKET` connection (which keeps message boundaries). The protocol:
//! a header `PFD1` + the socket count (u32, little endian); then batches of at most
//! [`FDS_PER_MESSAGE`] descriptors, each message carrying the batch's addresses (u16 length +
//! bytes each) in its data; finally the receiver answers `OK`.

use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};
use pingora_error::{Error, ErrorType, OkOrErr, OrErr, Result};
use socket2::{Domain, SockAddr, Socket, Type};
use std::collections::BTreeMap;
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// Descriptors sent per message; well below the kernel's limit of 253.
const FDS_PER_MESSAGE: usize = 64;
/// Pause between two attempts to meet the other process.
const RETRY_DELAY: Duration = Duration::from_secs(1);
/// How long one side waits for the other's next message once connected.
const MESSAGE_TIMEOUT: Duration = Duration::from_secs(5);
const HEADER_MAGIC: &[u8; 4] = b"PFD1";
const ACK: &[u8; 2] = b"OK";
/// Largest message data: a batch of addresses (each at most u16::MAX bytes, in practice short).
const MAX_MESSAGE: usize = 256 * 1024;

const TRANSFER_ERROR: ErrorType = ErrorType::Custom("FdTransferError");

/// The listening sockets of a server, by the address string they were configured with.
///
/// Filled by the listening services as they bind, or from the old process during an upgrade;
/// sent to the new process on the next upgrade.
#[derive(Debug, Default)]
pub struct Fds {
    sockets: BTreeMap<String, OwnedFd>,
}

impl Fds {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the listening socket for `bind`, replacing (and closing) any previous one.
    pub fn add(&mut self, bind: String, fd: OwnedFd) {
        self.sockets.insert(bind, fd);
    }

    /// The listening socket recorded for `bind`.
    pub fn get(&self, bind: &str) -> Option<BorrowedFd<'_>> {
        self.sockets.get(bind).map(|fd| fd.as_fd())
    }

    /// Number of recorded sockets.
    pub fn len(&self) -> usize {
        self.sockets.len()
    }

    /// Whether no socket is recorded.
    pub fn is_empty(&self) -> bool {
        self.sockets.is_empty()
    }

    /// Closes every recorded socket.
    pub(crate) fn clear(&mut self) {
        self.sockets.clear();
    }

    /// Sends every socket to the process waiting on `path`; returns how many were sent.
    ///
    /// Retries connecting `attempts` times, a second apart, so that the new process may start
    /// a little later than this call.
    pub(crate) fn send_to_sock(&self, path: &str, attempts: usize) -> Result<usize> {
        let address = SockAddr::unix(path).or_err(TRANSFER_ERROR, "invalid upgrade socket path")?;
        let socket = connect_with_retry(&address, path, attempts)?;
        socket
            .set_read_timeout(Some(MESSAGE_TIMEOUT))
            .or_err(TRANSFER_ERROR, "setting read timeout")?;
        let fd = socket.as_raw_fd();
        let count = u32::try_from(self.sockets.len()).or_err(TRANSFER_ERROR, "too many sockets")?;
        let mut header = HEADER_MAGIC.to_vec();
        header.extend_from_slice(&count.to_le_bytes());
        send_message(fd, &header, &[])?;

        let entries: Vec<_> = self.sockets.iter().collect();
        for batch in entries.chunks(FDS_PER_MESSAGE) {
            let mut data = vec![];
            let mut raw = vec![];
            for (bind, socket) in batch {
                let len = u16::try_from(bind.len())
                    .or_err_with(TRANSFER_ERROR, || format!("address too long: {bind}"))?;
                data.extend_from_slice(&len.to_le_bytes());
                data.extend_from_slice(bind.as_bytes());
                raw.push(socket.as_raw_fd());
            }
            send_message(fd, &data, &raw)?;
        }
        let mut ack = [0u8; 2];
        let got = nix::sys::socket::recv(fd, &mut ack, MsgFlags::empty())
            .or_err(TRANSFER_ERROR, "waiting for the new process to confirm")?;
        if &ack[..got] != ACK {
            return Error::e_explain(TRANSFER_ERROR, "new process did not confirm the sockets");
        }
        Ok(self.sockets.len())
    }

    /// Waits on `path` for the old process and receives its sockets.
    ///
    /// Waits `attempts` times one second for the old process to connect. The socket file is
    /// removed afterwards.
    pub(crate) fn receive_from_sock(path: &str, attempts: usize) -> Result<Fds> {
        let listener = listen_at(path)?;
        let result =
            accept_with_timeout(&listener, path, attempts).and_then(|conn| receive_all(&conn));
        let _ = std::fs::remove_file(path);
        result
    }
}

fn connect_with_retry(address: &SockAddr, path: &str, attempts: usize) -> Result<Socket> {
    let mut attempt = 1;
    loop {
        let socket = Socket::new(Domain::UNIX, Type::SEQPACKET, None)
            .or_err(TRANSFER_ERROR, "creating upgrade socket")?;
        match socket.connect(address) {
            Ok(()) => return Ok(socket),
            Err(e) if attempt < attempts.max(1) => {
                log::info!(
                    "new process not yet waiting on {path} ({e}); retry {attempt}/{attempts}"
                );
                attempt += 1;
                std::thread::sleep(RETRY_DELAY);
            }
            Err(e) => {
                return Err(Error::because(
                    TRANSFER_ERROR,
                    format!("no new process is waiting on {path}"),
                    e,
                ))
            }
        }
    }
}

fn listen_at(path: &str) -> Result<Socket> {
    // A file left by an earlier process would make bind fail.
    let _ = std::fs::remove_file(path);
    let address = SockAddr::unix(path).or_err(TRANSFER_ERROR, "invalid upgrade socket path")?;
    let socket = Socket::new(Domain::UNIX, Type::SEQPACKET, None)
        .or_err(TRANSFER_ERROR, "creating upgrade socket")?;
    socket
        .bind(&address)
        .or_err_with(TRANSFER_ERROR, || format!("binding upgrade socket {path}"))?;
    socket.listen(1).or_err_with(TRANSFER_ERROR, || {
        format!("listening on upgrade socket {path}")
    })?;
    Ok(socket)
}

fn accept_with_timeout(listener: &Socket, path: &str, attempts: usize) -> Result<Socket> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let wait = PollTimeout::try_from(RETRY_DELAY).unwrap_or(PollTimeout::MAX);
    for attempt in 1..=attempts.max(1) {
        let mut fds = [PollFd::new(listener.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, wait) {
            Ok(0) => log::info!("waiting for the old process on {path} ({attempt}/{attempts})"),
            Ok(_) => {
                let (conn, _) = listener
                    .accept()
                    .or_err(TRANSFER_ERROR, "accepting the old process")?;
                conn.set_read_timeout(Some(MESSAGE_TIMEOUT))
                    .or_err(TRANSFER_ERROR, "setting read timeout")?;
                return Ok(conn);
            }
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => {
                return Err(Error::because(
                    TRANSFER_ERROR,
                    "waiting for the old process",
                    e,
                ))
            }
        }
    }
    Error::e_explain(
        TRANSFER_ERROR,
        format!("no old process connected to {path}"),
    )
}

fn receive_all(conn: &Socket) -> Result<Fds> {
    let fd = conn.as_raw_fd();
    let (header, header_fds) = receive_message(fd)?;
    if !header_fds.is_empty() || header.len() != 8 || &header[..4] != HEADER_MAGIC {
        return Error::e_explain(TRANSFER_ERROR, "unexpected upgrade header");
    }
    let count = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
    let mut fds = Fds::new();
    while fds.len() < count {
        let (data, sockets) = receive_message(fd)?;
        let binds = parse_addresses(&data)?;
        if binds.len() != sockets.len() || sockets.is_empty() {
            return Error::e_explain(TRANSFER_ERROR, "addresses and sockets do not match");
        }
        for (bind, socket) in binds.into_iter().zip(sockets) {
            fds.add(bind, socket);
        }
    }
    nix::sys::socket::send(fd, ACK, MsgFlags::empty())
        .or_err(TRANSFER_ERROR, "confirming the sockets")?;
    Ok(fds)
}

fn parse_addresses(mut data: &[u8]) -> Result<Vec<String>> {
    let mut binds = vec![];
    while !data.is_empty() {
        let (len, rest) = data
            .split_first_chunk::<2>()
            .or_err(TRANSFER_ERROR, "truncated address length")?;
        let len = u16::from_le_bytes(*len) as usize;
        let bind = rest
            .get(..len)
            .or_err(TRANSFER_ERROR, "truncated address")?;
        binds.push(String::from_utf8_lossy(bind).into_owned());
        data = &rest[len..];
    }
    Ok(binds)
}

fn send_message(fd: RawFd, data: &[u8], fds: &[RawFd]) -> Result<()> {
    let iov = [IoSlice::new(data)];
    let rights = [ControlMessage::ScmRights(fds)];
    let cmsgs: &[ControlMessage<'_>] = if fds.is_empty() { &[] } else { &rights };
    sendmsg::<()>(fd, &iov, cmsgs, MsgFlags::empty(), None)
        .or_err(TRANSFER_ERROR, "sending sockets to the new process")?;
    Ok(())
}

/// Receives one message; the descriptors it carried are owned by the caller from here on.
fn receive_message(fd: RawFd) -> Result<(Vec<u8>, Vec<OwnedFd>)> {
    let mut data = vec![0u8; MAX_MESSAGE];
    let mut cmsg_buffer = nix::cmsg_space!([RawFd; FDS_PER_MESSAGE]);
    let mut iov = [IoSliceMut::new(&mut data)];
    let msg = recvmsg::<()>(
        fd,
        &mut iov,
        Some(&mut cmsg_buffer),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .or_err(TRANSFER_ERROR, "receiving sockets from the old process")?;
    let mut owned = vec![];
    for cmsg in msg
        .cmsgs()
        .or_err(TRANSFER_ERROR, "reading control messages")?
    {
        if let ControlMessageOwned::ScmRights(raw) = cmsg {
            for raw in raw {
                // SAFETY: SCM_RIGHTS just installed this descriptor in our table; nothing
                // else refers to it, so taking ownership here is the only owner.
                owned.push(unsafe { OwnedFd::from_raw_fd(raw) });
            }
        }
    }
    if msg
        .flags
        .intersects(MsgFlags::MSG_TRUNC | MsgFlags::MSG_CTRUNC)
    {
        return Error::e_explain(TRANSFER_ERROR, "upgrade message truncated");
    }
    let len = msg.bytes;
    if len == 0 && owned.is_empty() {
        return Error::e_explain(TRANSFER_ERROR, "old process closed the upgrade socket");
    }
    data.truncate(len);
    Ok((data, owned))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn temp_path(name: &str) -> String {
        let dir = std::env::temp_dir().join(format!("pingora-core-fd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name).to_str().unwrap().to_string()
    }

    fn transfer(count: usize, name: &str) {
        let path = temp_path(name);
        let mut fds = Fds::new();
        let mut ports = BTreeMap::new();
        for _ in 0..count {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let bind = listener.local_addr().unwrap().to_string();
            ports.insert(bind.clone(), listener.local_addr().unwrap());
            fds.add(bind, OwnedFd::from(listener));
        }
        let receiver_path = path.clone();
        let receiver = std::thread::spawn(move || Fds::receive_from_sock(&receiver_path, 5));
        // sent before or after the receiver listens: the sender retries
        let sent = fds.send_to_sock(&path, 5).unwrap();
        assert_eq!(sent, count);
        let received = receiver.join().unwrap().unwrap();
        assert_eq!(received.len(), count);
        for (bind, addr) in ports {
            let fd = received.get(&bind).unwrap().try_clone_to_owned().unwrap();
            let listener = TcpListener::from(fd);
            assert_eq!(listener.local_addr().unwrap(), addr);
        }
        assert!(!std::path::Path::new(&path).exists());
    }

    #[test]
    fn listeners_pass_between_processes_with_their_addresses() {
        transfer(3, "few.sock");
    }

    #[test]
    fn more_listeners_than_fit_in_one_message_pass() {
        transfer(FDS_PER_MESSAGE * 2 + 5, "many.sock");
    }

    #[test]
    fn an_empty_table_transfers() {
        transfer(0, "none.sock");
    }

    #[test]
    fn receiver_gives_up_after_its_attempts() {
        let path = temp_path("nobody.sock");
        assert!(Fds::receive_from_sock(&path, 1).is_err());
    }

    #[test]
    fn sender_gives_up_without_a_receiver() {
        let path = temp_path("absent.sock");
        assert!(Fds::new().send_to_sock(&path, 1).is_err());
    }
}
