//! Read buffers kept for reuse: a session that ends with nothing unread gives its read buffer
//! back here, and the next session on the same thread takes it instead of allocating.
//!
//! A buffer given back may still share its memory with pieces cut from it (a head's bytes, a
//! body piece) that live on for a while. Taking one reclaims only memory no piece refers to
//! any more (see [`BytesMut::try_reclaim`]), so nothing still referenced is ever overwritten.

use bytes::BytesMut;
use std::cell::RefCell;

/// Buffers kept per thread, at most.
const KEPT: usize = 8;
/// A buffer with more room than this (grown for a large head or body) is not kept.
const MAX_KEPT_CAPACITY: usize = 64 * 1024;

thread_local! {
    /// Buffers given back on this thread, oldest first.
    static SPARE: RefCell<Vec<BytesMut>> = const { RefCell::new(Vec::new()) };
}

/// An empty buffer with room for at least `capacity` bytes: a kept one whose memory is free
/// again, else a new one.
///
/// Sessions ask for different sizes (4 KiB to wait for a request, 32 KiB for a response), so
/// a kept buffer of about the size asked for is preferred: a small request taking a large
/// buffer would leave the next response without one.
pub(crate) fn take(capacity: usize) -> BytesMut {
    let reused = SPARE.try_with(|spare| {
        let mut spare = spare.borrow_mut();
        // Newest first: the pieces of older ones are more likely still alive.
        let fits = |buf: &mut BytesMut| buf.try_reclaim(capacity);
        let snug = |buf: &mut BytesMut| fits(buf) && buf.capacity() <= capacity.saturating_mul(4);
        let index = spare
            .iter_mut()
            .rposition(snug)
            .or_else(|| spare.iter_mut().rposition(fits))?;
        let buf = spare.remove(index);
        (buf.capacity() <= MAX_KEPT_CAPACITY).then_some(buf)
    });
    reused
        .ok()
        .flatten()
        .unwrap_or_else(|| BytesMut::with_capacity(capacity))
}

/// Keeps `buf` for a later [`take`] if it is empty and not oversized (else drops it). The
/// oldest kept buffer makes room when [`KEPT`] are kept already.
pub(crate) fn give_back(buf: BytesMut) {
    if !buf.is_empty() || buf.capacity() > MAX_KEPT_CAPACITY {
        return;
    }
    // During thread teardown the buffer is simply dropped.
    let _ = SPARE.try_with(|spare| {
        let mut spare = spare.borrow_mut();
        if spare.len() >= KEPT {
            spare.remove(0);
        }
        spare.push(buf);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clear_spare() {
        SPARE.with(|spare| spare.borrow_mut().clear());
    }

    #[test]
    fn a_buffer_given_back_is_taken_again_without_allocating() {
        clear_spare();
        let mut buf = take(4096);
        buf.extend_from_slice(b"GET / HTTP/1.1\r\n\r\n");
        let start = buf.as_ptr();
        buf.clear();
        give_back(buf);
        let again = take(4096);
        assert_eq!(again.as_ptr(), start);
        assert!(again.is_empty() && again.capacity() >= 4096);
    }

    #[test]
    fn memory_still_referenced_by_a_piece_is_not_reused() {
        clear_spare();
        let mut buf = take(4096);
        buf.extend_from_slice(&[7u8; 4000]);
        let piece = buf.split_to(4000).freeze();
        give_back(buf);
        // Only 96 bytes are free while `piece` lives: a fresh buffer is needed.
        let mut other = take(4096);
        other.extend_from_slice(&[1u8; 4096]);
        assert!(piece.iter().all(|&b| b == 7));
        drop(piece);
        // Now the first buffer's memory is free and is reused.
        let reclaimed = take(4096);
        assert!(reclaimed.capacity() >= 4096);
        SPARE.with(|spare| assert!(spare.borrow().is_empty()));
    }

    #[test]
    fn a_buffer_of_about_the_size_asked_for_is_preferred() {
        clear_spare();
        let small = BytesMut::with_capacity(4096);
        let large = BytesMut::with_capacity(32 * 1024);
        let small_at = small.as_ptr();
        let large_at = large.as_ptr();
        give_back(small);
        give_back(large);
        // The large one is newer, yet a small request takes the small one...
        assert_eq!(take(4096).as_ptr(), small_at);
        // ...and takes the large one when nothing else is kept.
        give_back(BytesMut::with_capacity(32 * 1024));
        let taken = take(4096);
        assert_ne!(taken.as_ptr(), small_at);
        assert!(taken.capacity() >= 32 * 1024);
        assert_eq!(take(32 * 1024).as_ptr(), large_at);
    }

    #[test]
    fn unread_bytes_or_oversized_buffers_are_not_kept() {
        clear_spare();
        let mut unread = BytesMut::with_capacity(64);
        unread.extend_from_slice(b"x");
        give_back(unread);
        give_back(BytesMut::with_capacity(MAX_KEPT_CAPACITY + 1));
        SPARE.with(|spare| assert!(spare.borrow().is_empty()));
    }

    #[test]
    fn at_most_kept_buffers_are_held() {
        clear_spare();
        for _ in 0..KEPT + 3 {
            give_back(BytesMut::with_capacity(16));
        }
        SPARE.with(|spare| assert_eq!(spare.borrow().len(), KEPT));
    }
}
