//! The clock of timed work (the scheduler's reminders, the digests): the system's, or a manual
//! one that tests set and move, so a test can stand a week before a deadline, then a day
//! before, without waiting.

use chrono::{DateTime, Duration, DurationRound, Utc};
use std::sync::{Arc, Mutex, PoisonError};

/// What time the scheduler thinks it is.
#[derive(Debug, Clone, Default)]
pub enum Clock {
    /// The system clock.
    #[default]
    System,
    /// A clock that moves only when told (tests).
    Manual(ManualClock),
}

impl Clock {
    /// A manual clock standing at `at`, and the handle that moves it.
    pub fn manual(at: DateTime<Utc>) -> (Clock, ManualClock) {
        let handle = ManualClock(Arc::new(Mutex::new(at)));
        (Clock::Manual(handle.clone()), handle)
    }

    /// Now, to the microsecond (the precision both databases keep, so a time written and
    /// read back compares equal).
    pub fn now(&self) -> DateTime<Utc> {
        let now = match self {
            Clock::System => Utc::now(),
            Clock::Manual(manual) => manual.get(),
        };
        now.duration_trunc(Duration::microseconds(1)).unwrap_or(now)
    }
}

/// The handle of a manual clock; clones move the same clock.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    /// The time it stands at.
    pub fn get(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Puts it at `at` (backwards too: a test may replay a moment).
    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = at;
    }

    /// Moves it on by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        *now += by;
    }
}
