//! Layer 4: socket addresses ([`socket::SocketAddr`]) and the TCP / Unix byte stream
//! ([`stream::Stream`]) that listeners hand to applications.

pub mod socket;
pub mod stream;
