//! When a digest is due: the latest moment, at or before now, that is the user's digest hour
//! in their time zone (on their weekday, for a weekly one). Pure.
//!
//! A local hour that a daylight-saving change skips is taken an hour later (02:00 on the
//! spring-forward night is 03:00); one that happens twice is taken the first time.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use common::Cadence;

/// Where and when a user's digests go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// Their time zone (the office's when they chose none).
    pub zone: Tz,
    /// The local hour, 0-23.
    pub hour: u32,
    /// The weekly digest's day.
    pub weekday: Weekday,
}

impl Schedule {
    /// The latest moment at or before `now` a `cadence` digest was due; `None` for the
    /// cadences that have no digest.
    pub fn last_due(&self, cadence: Cadence, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if !matches!(cadence, Cadence::Daily | Cadence::Weekly) {
            return None;
        }
        let today = now.with_timezone(&self.zone).date_naive();
        (0..=8)
            .filter_map(|back| today.checked_sub_signed(Duration::days(back)))
            .filter(|day| cadence == Cadence::Daily || day.weekday() == self.weekday)
            .filter_map(|day| self.at(day))
            .find(|moment| *moment <= now)
    }

    /// The digest hour of `day`, in UTC.
    fn at(&self, day: NaiveDate) -> Option<DateTime<Utc>> {
        let local = day.and_hms_opt(self.hour, 0, 0)?;
        let found = self
            .zone
            .from_local_datetime(&local)
            .earliest()
            .or_else(|| {
                self.zone
                    .from_local_datetime(&(local + Duration::hours(1)))
                    .earliest()
            })?;
        Some(found.with_timezone(&Utc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    const TORONTO: Schedule = Schedule {
        zone: chrono_tz::America::Toronto,
        hour: 8,
        weekday: Weekday::Mon,
    };

    #[test]
    fn a_daily_digest_is_due_at_the_local_hour_of_today_or_yesterday() {
        // 08:00 in Toronto in December is 13:00 UTC.
        let before = utc("2026-12-03T12:59:00Z");
        assert_eq!(
            TORONTO.last_due(Cadence::Daily, before),
            Some(utc("2026-12-02T13:00:00Z"))
        );
        let at = utc("2026-12-03T13:00:00Z");
        assert_eq!(TORONTO.last_due(Cadence::Daily, at), Some(at));
        assert_eq!(TORONTO.last_due(Cadence::Immediate, at), None);
        assert_eq!(TORONTO.last_due(Cadence::Off, at), None);
    }

    #[test]
    fn a_weekly_digest_is_due_on_the_weekday() {
        // Thursday 3 December 2026: the last Monday 08:00 was 30 November.
        let now = utc("2026-12-03T15:00:00Z");
        assert_eq!(
            TORONTO.last_due(Cadence::Weekly, now),
            Some(utc("2026-11-30T13:00:00Z"))
        );
        // Monday 7 December, 07:59 local: still the week before's.
        let monday = utc("2026-12-07T12:59:00Z");
        assert_eq!(
            TORONTO.last_due(Cadence::Weekly, monday),
            Some(utc("2026-11-30T13:00:00Z"))
        );
    }

    #[test]
    fn the_local_hour_follows_daylight_saving() {
        // Toronto moves to EDT on Sunday 14 March 2027: 08:00 is 12:00 UTC from then on.
        let after = utc("2027-03-15T12:30:00Z");
        assert_eq!(
            TORONTO.last_due(Cadence::Daily, after),
            Some(utc("2027-03-15T12:00:00Z"))
        );
        // A 02:00 digest on the night 02:00 does not exist goes out at 03:00 EDT.
        let two = Schedule { hour: 2, ..TORONTO };
        assert_eq!(
            two.last_due(Cadence::Daily, utc("2027-03-14T08:00:00Z")),
            Some(utc("2027-03-14T07:00:00Z"))
        );
    }

    #[test]
    fn each_user_has_their_own_zone() {
        let tokyo = Schedule {
            zone: chrono_tz::Asia::Tokyo,
            ..TORONTO
        };
        // 08:00 in Tokyo is 23:00 UTC the day before.
        assert_eq!(
            tokyo.last_due(Cadence::Daily, utc("2026-12-03T15:00:00Z")),
            Some(utc("2026-12-02T23:00:00Z"))
        );
    }
}
