//! Business days and wall-clock arithmetic in the office's time zone: weekends and the
//! `closed_days` an ADMIN keeps do not count, and "three business days later" or "seven days
//! before" keep the local time of day across a daylight-saving change.

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;
use db::entity::closed_day;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait};
use std::collections::BTreeSet;

/// How many calendar days a count of business days may span at most: a year of closures
/// is nonsense, and the walk must end.
const MAX_WALK: u32 = 3 * 366;

/// The office's calendar: its time zone and closed days.
#[derive(Debug, Clone)]
pub struct Calendar {
    zone: Tz,
    closed: BTreeSet<NaiveDate>,
}

impl Calendar {
    /// A calendar in `zone` with `closed` days besides weekends.
    pub fn new(zone: Tz, closed: impl IntoIterator<Item = NaiveDate>) -> Self {
        Self {
            zone,
            closed: closed.into_iter().collect(),
        }
    }

    /// The calendar with the closed days the database holds now.
    pub async fn load<C: ConnectionTrait>(db: &C, zone: Tz) -> Result<Self, DbErr> {
        let days = closed_day::Entity::find().all(db).await?;
        Ok(Self::new(zone, days.into_iter().map(|d| d.day)))
    }

    /// Whether people work on `day`.
    pub fn is_business_day(&self, day: NaiveDate) -> bool {
        !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) && !self.closed.contains(&day)
    }

    /// `days` business days after `from`: the same local time of day on the `days`th business
    /// day after `from`'s local date (from a Saturday, one business day is Monday).
    pub fn add_business_days(&self, from: DateTime<Utc>, days: u32) -> DateTime<Utc> {
        let local = from.with_timezone(&self.zone).naive_local();
        let mut day = local.date();
        let (mut left, mut walked) = (days, 0);
        while left > 0 && walked < MAX_WALK {
            day = day.succ_opt().unwrap_or(day);
            walked += 1;
            if self.is_business_day(day) {
                left -= 1;
            }
        }
        self.instant(day.and_time(local.time()))
    }

    /// `days` calendar days before `at`, at the same local time of day.
    pub fn days_before(&self, at: DateTime<Utc>, days: u32) -> DateTime<Utc> {
        let local = at.with_timezone(&self.zone).naive_local();
        self.instant(local - Duration::days(i64::from(days)))
    }

    /// The instant a local time names: the earlier of two in the repeated hour of autumn,
    /// and in the hour that spring skips, the time an hour later (02:30 becomes 03:30).
    fn instant(&self, local: NaiveDateTime) -> DateTime<Utc> {
        match self.zone.from_local_datetime(&local) {
            LocalResult::Single(at) => at.with_timezone(&Utc),
            LocalResult::Ambiguous(earlier, _) => earlier.with_timezone(&Utc),
            LocalResult::None => match self.zone.from_local_datetime(&(local + Duration::hours(1)))
            {
                LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => at.with_timezone(&Utc),
                // No zone skips two hours; read it as UTC rather than fail.
                LocalResult::None => local.and_utc(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America::New_York;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn weekends_and_closed_days_do_not_count() {
        let cal = Calendar::new(Tz::UTC, [date("2027-01-04")]);
        // Thursday 31 December 2026 + 3: Friday 1, (weekend), (closed Monday 4), Tue 5, Wed 6.
        assert_eq!(
            cal.add_business_days(utc("2026-12-31T10:00:00Z"), 3),
            utc("2027-01-06T10:00:00Z")
        );
        // From a Saturday, the first business day is Monday.
        let open = Calendar::new(Tz::UTC, []);
        assert_eq!(
            open.add_business_days(utc("2027-01-09T09:00:00Z"), 1),
            utc("2027-01-11T09:00:00Z")
        );
        assert_eq!(
            open.add_business_days(utc("2027-01-09T09:00:00Z"), 0),
            utc("2027-01-09T09:00:00Z")
        );
    }

    #[test]
    fn local_time_of_day_holds_across_daylight_saving() {
        let cal = Calendar::new(New_York, []);
        // Friday 12 March 2027, 10:00 EST (15:00 UTC); clocks go forward on Sunday 14 March.
        // One business day later is Monday 10:00 EDT, 14:00 UTC: 71 hours, not 72.
        assert_eq!(
            cal.add_business_days(utc("2027-03-12T15:00:00Z"), 1),
            utc("2027-03-15T14:00:00Z")
        );
        // Seven days before Friday 19 March 10:00 EDT is Friday 12 March 10:00 EST.
        assert_eq!(
            cal.days_before(utc("2027-03-19T14:00:00Z"), 7),
            utc("2027-03-12T15:00:00Z")
        );
    }

    #[test]
    fn skipped_and_repeated_hours_resolve() {
        let cal = Calendar::new(New_York, []);
        // 02:30 on 14 March 2027 does not exist in New York: 03:30 EDT.
        assert_eq!(
            cal.days_before(utc("2027-03-15T06:30:00Z"), 1),
            utc("2027-03-14T07:30:00Z")
        );
        // 01:30 on 7 November 2027 happens twice: the first, EDT.
        assert_eq!(
            cal.days_before(utc("2027-11-08T06:30:00Z"), 1),
            utc("2027-11-07T05:30:00Z")
        );
    }
}
