//! The driver thread that advances the tick clock and fires due timers, and its life
//! cycle: started lazily by the first timer, parked while no timer is armed, stopped and
//! restarted around a `fork()`.

use std::sync::atomic::Ordering;
use std::task::Waker;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::wheel::BUCKETS;
use super::{ticks_rounded_down, TimerManager, TICK_NANOS};

/// No driver thread: none was needed yet (it starts with the first armed timer).
pub(super) const IDLE: u8 = 0;
/// The driver thread is ticking.
pub(super) const RUNNING: u8 = 1;
/// The driver thread is alive but parked because no timer is armed; arming one wakes it.
pub(super) const PARKED: u8 = 2;
/// The driver thread was stopped by `pause_for_fork`; nothing starts it until `unpause`.
pub(super) const PAUSED: u8 = 3;

/// What the manager knows about its driver thread; guarded by `TimerManager::control`.
#[derive(Debug)]
pub(super) struct DriverControl {
    thread: Option<JoinHandle<()>>,
    /// Whether a thread was running when `pause_for_fork` stopped it.
    restart_on_unpause: bool,
}

impl DriverControl {
    pub(super) const fn new() -> Self {
        DriverControl {
            thread: None,
            restart_on_unpause: false,
        }
    }
}

impl TimerManager {
    fn lock_control(&self) -> std::sync::MutexGuard<'_, DriverControl> {
        self.control
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The slow path of arming a timer while the driver is not known to be ticking.
    pub(super) fn start_driver_if_idle(&'static self) {
        match self.driver_state.load(Ordering::Acquire) {
            // Only the thread that moves the state out of PARKED unparks the driver.
            PARKED
                if self
                    .driver_state
                    .compare_exchange(PARKED, RUNNING, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok() =>
            {
                if let Some(thread) = &self.lock_control().thread {
                    thread.thread().unpark();
                }
            }
            IDLE => {
                let mut control = self.lock_control();
                if self.driver_state.load(Ordering::Acquire) == IDLE {
                    self.spawn_driver(&mut control);
                }
            }
            // RUNNING: nothing to do. PAUSED: the timer waits for `unpause`. PARKED with a
            // lost race: another thread has woken the driver.
            _ => {}
        }
    }

    /// Starts the driver thread. If the OS refuses a thread, the state stays IDLE and the
    /// next armed timer tries again; timers armed meanwhile fire once a driver runs.
    fn spawn_driver(&'static self, control: &mut DriverControl) {
        self.driver_state.store(RUNNING, Ordering::SeqCst);
        let spawned = thread::Builder::new()
            .name("pingora-timer".into())
            .spawn(move || self.drive());
        match spawned {
            Ok(handle) => control.thread = Some(handle),
            Err(_) => self.driver_state.store(IDLE, Ordering::SeqCst),
        }
    }

    pub(super) fn pause_driver(&self) {
        let mut control = self.lock_control();
        let previous = self.driver_state.swap(PAUSED, Ordering::SeqCst);
        if previous == PAUSED {
            return;
        }
        control.restart_on_unpause = control.thread.is_some();
        if let Some(handle) = control.thread.take() {
            handle.thread().unpark();
            // A driver that panicked (only a user's waker could make it) has stopped all
            // the same, which is what pausing wants.
            let _ = handle.join();
        }
    }

    pub(super) fn unpause_driver(&'static self) {
        let mut control = self.lock_control();
        if self.driver_state.load(Ordering::Acquire) != PAUSED {
            return;
        }
        if control.restart_on_unpause || self.armed_timers() > 0 {
            self.spawn_driver(&mut control);
        } else {
            self.driver_state.store(IDLE, Ordering::SeqCst);
        }
    }

    /// The driver thread's loop.
    fn drive(&'static self) {
        let epoch = self.epoch();
        let mut reached = self.reached_tick.load(Ordering::Acquire);
        let mut fired: Vec<Waker> = Vec::new();
        loop {
            if self.driver_state.load(Ordering::Acquire) == PAUSED {
                return;
            }
            let now = Instant::now();
            let now_tick = ticks_rounded_down(now.saturating_duration_since(epoch));
            if now_tick <= reached {
                let next_tick =
                    Duration::from_nanos(reached.saturating_add(1).saturating_mul(TICK_NANOS));
                let until = next_tick.saturating_sub(now.saturating_duration_since(epoch));
                // `pause_driver` unparks us early so that it does not wait out a tick.
                thread::park_timeout(until);
                continue;
            }
            // Publish the tick before firing: a timer armed after this finds itself due
            // without being inserted, and one woken below sees that it fired.
            self.reached_tick.store(now_tick, Ordering::Release);
            let armed = self.fire_due(reached, now_tick, &mut fired);
            reached = now_tick;
            if armed == 0 {
                self.park_while_idle();
            }
        }
    }

    /// Fires, in every shard, the timers due in ticks `reached + 1 ..= now_tick`.
    /// Returns how many timers are still armed.
    fn fire_due(&self, reached: u64, now_tick: u64, fired: &mut Vec<Waker>) -> usize {
        // After a long stall, one pass over every bucket covers the whole range.
        let steps = (now_tick - reached).min(BUCKETS as u64);
        let mut still_armed = 0;
        for shard in &self.shards {
            {
                let mut wheel = shard.lock();
                if wheel.len() == 0 {
                    continue;
                }
                for step in 1..=steps {
                    wheel.fire_bucket(reached + step, now_tick, fired);
                }
                still_armed += wheel.len();
            }
            // Wake outside the lock: a woken task may disarm its timer from another thread.
            for waker in fired.drain(..) {
                waker.wake();
            }
        }
        still_armed
    }

    /// Parks the driver until a timer is armed (or the driver is paused).
    fn park_while_idle(&self) {
        if self
            .driver_state
            .compare_exchange(RUNNING, PARKED, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return;
        }
        // A timer armed before a shard was checked here is seen by the check; one armed
        // after it was checked is armed after PARKED was stored (the shard lock orders the
        // two), so its arming thread sees PARKED and unparks us.
        if self.armed_timers() > 0 {
            let _ = self.driver_state.compare_exchange(
                PARKED,
                RUNNING,
                Ordering::SeqCst,
                Ordering::SeqCst,
            );
            return;
        }
        while self.driver_state.load(Ordering::Acquire) == PARKED {
            thread::park();
        }
    }
}
