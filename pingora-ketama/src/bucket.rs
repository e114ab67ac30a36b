//! A server and its weight, and the ring points nginx derives from them.

use std::net::SocketAddr;

/// One server on the ring: an address and a weight.
///
/// A server with weight `w` gets `w` times as many ring points as a server with weight 1,
/// so it receives about `w` times as many keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Bucket {
    pub(crate) node: SocketAddr,
    pub(crate) weight: u32,
}

impl Bucket {
    /// A bucket for `node` with the given `weight`.
    ///
    /// # Panics
    ///
    /// Panics if `weight` is 0: a server that should get no keys belongs off the list.
    ///
    /// ```
    /// use pingora_ketama::Bucket;
    ///
    /// let bucket = Bucket::new("127.0.0.1:8080".parse().unwrap(), 3);
    /// # let _ = bucket;
    /// ```
    pub fn new(node: SocketAddr, weight: u32) -> Self {
        assert!(weight != 0, "a ketama bucket needs a weight of at least 1");
        Bucket { node, weight }
    }
}

/// The text nginx hashes for a server: the host part of the `server` line, a NUL byte, then
/// the port digits.
///
/// nginx takes the host text as written in its configuration, so an IPv6 host keeps its
/// brackets (`[::1]`). We write the address in its canonical form; an nginx configuration
/// must spell the address the same way (canonical, with the port) for the two to agree.
fn seed_text(node: &SocketAddr) -> String {
    match node {
        SocketAddr::V4(v4) => format!("{}\0{}", v4.ip(), v4.port()),
        SocketAddr::V6(v6) => format!("[{}]\0{}", v6.ip(), v6.port()),
    }
}

/// Appends the `points` ring hashes of `node` to `out`, each paired with `tag`.
///
/// Each point is the CRC32 of the seed text followed by the previous point's hash as four
/// little-endian bytes; the first point follows a "previous hash" of 0. This chain is what
/// nginx's `hash ... consistent` computes, and is what makes our ring and nginx's agree.
pub(crate) fn push_points(node: &SocketAddr, points: usize, tag: u32, out: &mut Vec<(u32, u32)>) {
    let mut seed = crc32fast::Hasher::new();
    seed.update(seed_text(node).as_bytes());
    let mut previous: u32 = 0;
    out.reserve(points);
    for _ in 0..points {
        let mut hasher = seed.clone();
        hasher.update(&previous.to_le_bytes());
        previous = hasher.finalize();
        out.push((previous, tag));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "weight of at least 1")]
    fn zero_weight_bucket_panics() {
        let _ = Bucket::new("127.0.0.1:80".parse().unwrap(), 0);
    }

    #[test]
    fn seed_text_is_host_nul_port() {
        assert_eq!(
            seed_text(&"127.0.0.2:9001".parse().unwrap()),
            "127.0.0.2\x009001"
        );
        assert_eq!(seed_text(&"[::1]:443".parse().unwrap()), "[::1]\x00443");
    }

    #[test]
    fn first_point_chains_from_a_zero_hash() {
        let node: SocketAddr = "10.0.0.1:80".parse().unwrap();
        let mut points = Vec::new();
        push_points(&node, 2, 7, &mut points);

        let first = crc32fast::hash(b"10.0.0.1\x0080\x00\x00\x00\x00");
        let mut second_input = b"10.0.0.1\x0080".to_vec();
        second_input.extend_from_slice(&first.to_le_bytes());
        let second = crc32fast::hash(&second_input);
        assert_eq!(points, vec![(first, 7), (second, 7)]);
    }
}
