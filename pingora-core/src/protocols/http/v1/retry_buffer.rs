//! [`RetryBuffer`]: a bounded copy of a request body, kept so that a request can be sent again
//! to another upstream after a failed attempt.

use bytes::{Bytes, BytesMut};

/// A copy of the body read so far, up to a limit; past it the copy is dropped for good.
#[derive(Debug)]
pub(crate) struct RetryBuffer {
    data: BytesMut,
    limit: usize,
    truncated: bool,
}

impl RetryBuffer {
    pub(crate) fn new(limit: usize) -> Self {
        RetryBuffer {
            data: BytesMut::new(),
            limit,
            truncated: false,
        }
    }

    /// Appends `bytes`, or marks the buffer truncated when they do not fit.
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        if self.truncated {
            return;
        }
        if self.data.len() + bytes.len() > self.limit {
            self.truncated = true;
            self.data = BytesMut::new();
        } else {
            self.data.extend_from_slice(bytes);
        }
    }

    /// The whole body so far, unless it was truncated.
    pub(crate) fn get(&self) -> Option<Bytes> {
        // Asked on every attempt, usually with nothing kept: that answer costs no allocation.
        (!self.truncated).then(|| match self.data.is_empty() {
            true => Bytes::new(),
            false => Bytes::copy_from_slice(&self.data),
        })
    }

    pub(crate) fn is_truncated(&self) -> bool {
        self.truncated
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_buffer_keeps_bytes_until_the_limit_then_gives_up() {
        let mut buffer = RetryBuffer::new(5);
        buffer.push(b"abc");
        assert_eq!(buffer.get().unwrap(), "abc");
        buffer.push(b"def");
        assert!(buffer.is_truncated());
        assert!(buffer.get().is_none());
        buffer.push(b"");
        assert!(buffer.get().is_none());
    }
}
