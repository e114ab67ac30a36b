//! Counting building blocks for rate limiting and load shedding.
//!
//! - [`estimator::Estimator`]: a count-min sketch, approximate per-key counts in fixed memory,
//!   updated with atomics from any number of threads.
//! - [`rate::Rate`]: per-key events in the current and the previous fixed-length window, and
//!   rates in events per second computed from them.
//! - [`inflight::Inflight`]: per-key counts of work in progress, each unit held by a guard
//!   that releases it when dropped.
//!
//! All three keep memory constant however many distinct keys show up, and answer with
//! estimates that can only err high (while counts only grow), which is the safe side for a
//! limiter: a client may be limited slightly early, never let through over its limit.
//!
//! ```
//! use std::time::Duration;
//! use pingora_limits::rate::Rate;
//!
//! // At most 2 requests per client per second.
//! let limiter = Rate::new(Duration::from_secs(1));
//! let client = "192.0.2.7";
//! let verdicts: Vec<bool> = (0..3).map(|_| limiter.observe(&client, 1) <= 2).collect();
//! assert_eq!(verdicts, [true, true, false]);
//! ```
//!
//! # Cargo features
//!
//! None.

#![warn(missing_docs, unreachable_pub)]

pub mod estimator;
pub mod inflight;
pub mod rate;
