//! Reading and changing a user's notification preferences. A user without a row has the
//! defaults.
//!
//! The truth is a cadence per kind of event and channel (`Cadence`: at once, daily, weekly,
//! off), with the user's time zone and digest hour. The contract's first two switches are
//! views of it and shortcuts to it: `email` is "state changes reach me by email", and turning
//! it off turns every email off (on again: state changes and reminders at once, notes too if
//! notes are wanted); `notes` is "new notes reach me at all", and turning it on asks for them
//! in the inbox, and by email when `email` is on.

use chrono::{Utc, Weekday};
use chrono_tz::Tz;
use common::{Cadence, NotificationChannel as Channel, NotificationTopic as Topic};
use db::entity::notification_preference::{self as prefs};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QuerySelect, TransactionTrait, sea_query::OnConflict,
};
use std::collections::HashMap;

/// A user's preferences.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preferences {
    /// By topic (`Topic::ALL`'s order), then channel (`Channel::ALL`'s order).
    cadences: [[Cadence; 2]; 3],
    /// Their time zone; `None`: the office's.
    pub time_zone: Option<Tz>,
    /// The local hour digests go out at, 0-23.
    pub digest_hour: u32,
    /// The day weekly digests go out on.
    pub digest_weekday: Weekday,
}

impl Default for Preferences {
    fn default() -> Self {
        use Cadence::{Immediate, Off};
        Self {
            cadences: [[Immediate, Immediate], [Off, Off], [Immediate, Immediate]],
            time_zone: None,
            digest_hour: 8,
            digest_weekday: Weekday::Mon,
        }
    }
}

fn topic_index(topic: Topic) -> usize {
    match topic {
        Topic::StateChanges => 0,
        Topic::Notes => 1,
        Topic::Reminders => 2,
    }
}

fn channel_index(channel: Channel) -> usize {
    match channel {
        Channel::Email => 0,
        Channel::InApp => 1,
    }
}

/// A change the user asks for; what is `None` keeps its value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Change {
    /// The first switch: emails at all.
    pub email: Option<bool>,
    /// The second switch: notes at all.
    pub notes: Option<bool>,
    /// Cadences to set, applied after the switches.
    pub cadences: Vec<(Topic, Channel, Cadence)>,
    /// `Some(None)`: back to the office's zone.
    pub time_zone: Option<Option<Tz>>,
    /// 0-23 (checked by the caller).
    pub digest_hour: Option<u32>,
    /// The weekly digest's day.
    pub digest_weekday: Option<Weekday>,
}

impl Preferences {
    /// When `topic` reaches the user on `channel`.
    pub fn cadence(&self, topic: Topic, channel: Channel) -> Cadence {
        self.cadences[topic_index(topic)][channel_index(channel)]
    }

    fn set(&mut self, topic: Topic, channel: Channel, cadence: Cadence) {
        self.cadences[topic_index(topic)][channel_index(channel)] = cadence;
    }

    /// Sets `topic` on `channel` to "at once" if it is off (a digest choice is kept).
    fn turn_on(&mut self, topic: Topic, channel: Channel) {
        if self.cadence(topic, channel) == Cadence::Off {
            self.set(topic, channel, Cadence::Immediate);
        }
    }

    /// The first switch: state changes reach the user by email.
    pub fn email(&self) -> bool {
        self.cadence(Topic::StateChanges, Channel::Email) != Cadence::Off
    }

    /// The second switch: new notes reach the user, on either channel.
    pub fn notes(&self) -> bool {
        Channel::ALL
            .iter()
            .any(|c| self.cadence(Topic::Notes, *c) != Cadence::Off)
    }

    /// Every (topic, channel, cadence), in `Topic::ALL` then `Channel::ALL` order.
    pub fn cadences(&self) -> Vec<(Topic, Channel, Cadence)> {
        Topic::ALL
            .iter()
            .flat_map(|t| Channel::ALL.iter().map(move |c| (*t, *c)))
            .map(|(t, c)| (t, c, self.cadence(t, c)))
            .collect()
    }

    /// `change` applied: the switches first (email, then notes), then the cadences.
    pub fn apply(mut self, change: &Change) -> Self {
        match change.email {
            Some(false) => {
                for topic in Topic::ALL {
                    self.set(*topic, Channel::Email, Cadence::Off);
                }
            }
            Some(true) => {
                self.turn_on(Topic::StateChanges, Channel::Email);
                self.turn_on(Topic::Reminders, Channel::Email);
                if self.notes() {
                    self.turn_on(Topic::Notes, Channel::Email);
                }
            }
            None => {}
        }
        match change.notes {
            Some(false) => {
                for channel in Channel::ALL {
                    self.set(Topic::Notes, *channel, Cadence::Off);
                }
            }
            Some(true) => {
                self.turn_on(Topic::Notes, Channel::InApp);
                if self.email() {
                    self.turn_on(Topic::Notes, Channel::Email);
                }
            }
            None => {}
        }
        for (topic, channel, cadence) in &change.cadences {
            self.set(*topic, *channel, *cadence);
        }
        if let Some(zone) = change.time_zone {
            self.time_zone = zone;
        }
        if let Some(hour) = change.digest_hour {
            self.digest_hour = hour;
        }
        if let Some(day) = change.digest_weekday {
            self.digest_weekday = day;
        }
        self
    }

    fn from_row(row: &prefs::Model) -> Self {
        let defaults = Self::default();
        let mut found = defaults;
        let stored = [
            (Topic::StateChanges, Channel::Email, &row.state_email),
            (Topic::StateChanges, Channel::InApp, &row.state_in_app),
            (Topic::Notes, Channel::Email, &row.notes_email),
            (Topic::Notes, Channel::InApp, &row.notes_in_app),
            (Topic::Reminders, Channel::Email, &row.reminders_email),
            (Topic::Reminders, Channel::InApp, &row.reminders_in_app),
        ];
        for (topic, channel, text) in stored {
            let cadence = text
                .parse()
                .unwrap_or_else(|_| defaults.cadence(topic, channel));
            found.set(topic, channel, cadence);
        }
        found.time_zone = row.time_zone.as_deref().and_then(|z| z.parse().ok());
        found.digest_hour = u32::try_from(row.digest_hour)
            .ok()
            .filter(|h| *h < 24)
            .unwrap_or(defaults.digest_hour);
        found.digest_weekday = u8::try_from(row.digest_weekday)
            .ok()
            .and_then(|d| Weekday::try_from(d.wrapping_sub(1)).ok())
            .unwrap_or(defaults.digest_weekday);
        found
    }

    fn to_row(self, user_id: i64) -> prefs::ActiveModel {
        let text = |topic, channel| Set(self.cadence(topic, channel).as_str().to_owned());
        prefs::ActiveModel {
            user_id: Set(user_id),
            email: Set(self.email()),
            notes: Set(self.notes()),
            updated_at: Set(Utc::now()),
            state_email: text(Topic::StateChanges, Channel::Email),
            state_in_app: text(Topic::StateChanges, Channel::InApp),
            notes_email: text(Topic::Notes, Channel::Email),
            notes_in_app: text(Topic::Notes, Channel::InApp),
            reminders_email: text(Topic::Reminders, Channel::Email),
            reminders_in_app: text(Topic::Reminders, Channel::InApp),
            time_zone: Set(self.time_zone.map(|z| z.name().to_owned())),
            digest_hour: Set(i32::try_from(self.digest_hour).unwrap_or(8)),
            digest_weekday: Set(
                i32::try_from(self.digest_weekday.number_from_monday()).unwrap_or(1)
            ),
        }
    }
}

/// The preferences of each of `users` (defaults for those without a row).
pub async fn load_many<C: ConnectionTrait>(
    db: &C,
    users: &[i64],
) -> Result<HashMap<i64, Preferences>, DbErr> {
    let mut found = HashMap::new();
    for chunk in users.chunks(1_000) {
        let rows = prefs::Entity::find()
            .filter(prefs::Column::UserId.is_in(chunk.iter().copied()))
            .all(db)
            .await?;
        found.extend(rows.iter().map(|r| (r.user_id, Preferences::from_row(r))));
    }
    for user in users {
        found.entry(*user).or_default();
    }
    Ok(found)
}

/// Applies `change` to `user_id`'s preferences and returns the result. In one transaction
/// that first writes (a default row when there is none), so concurrent changes of one user
/// take turns and both land.
pub async fn update(
    db: &DatabaseConnection,
    user_id: i64,
    change: &Change,
) -> Result<Preferences, DbErr> {
    let txn = db.begin().await?;
    prefs::Entity::insert(Preferences::default().to_row(user_id))
        .on_conflict(
            OnConflict::column(prefs::Column::UserId)
                .do_nothing()
                .to_owned(),
        )
        .do_nothing()
        .exec_without_returning(&txn)
        .await?;
    let current = prefs::Entity::find_by_id(user_id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .map(|row| Preferences::from_row(&row))
        .unwrap_or_default();
    let updated = current.apply(change);
    prefs::Entity::update(updated.to_row(user_id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(updated)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Cadence::{Daily, Immediate, Off, Weekly};

    fn switches(email: Option<bool>, notes: Option<bool>) -> Change {
        Change {
            email,
            notes,
            ..Change::default()
        }
    }

    #[test]
    fn the_defaults_are_the_first_switches_defaults() {
        let p = Preferences::default();
        assert!(p.email());
        assert!(!p.notes());
        assert_eq!(p.cadence(Topic::Reminders, Channel::InApp), Immediate);
    }

    #[test]
    fn email_off_turns_every_email_off_and_on_again_keeps_notes_choice() {
        let p = Preferences::default().apply(&switches(None, Some(true)));
        assert_eq!(p.cadence(Topic::Notes, Channel::Email), Immediate);
        let off = p.apply(&switches(Some(false), None));
        assert!(!off.email());
        assert!(off.notes(), "notes still wanted, in the inbox");
        for topic in Topic::ALL {
            assert_eq!(off.cadence(*topic, Channel::Email), Off);
            assert_ne!(off.cadence(*topic, Channel::InApp), Off);
        }
        let on = off.apply(&switches(Some(true), None));
        assert_eq!(on.cadence(Topic::Notes, Channel::Email), Immediate);
        assert_eq!(on.cadence(Topic::Reminders, Channel::Email), Immediate);
    }

    #[test]
    fn notes_on_without_email_asks_for_the_inbox_only() {
        let p = Preferences::default().apply(&switches(Some(false), Some(true)));
        assert!(!p.email());
        assert!(p.notes());
        assert_eq!(p.cadence(Topic::Notes, Channel::Email), Off);
        assert_eq!(p.cadence(Topic::Notes, Channel::InApp), Immediate);
        let none = p.apply(&switches(None, Some(false)));
        assert!(!none.notes());
    }

    #[test]
    fn a_digest_choice_survives_the_switches() {
        let daily = Change {
            cadences: vec![(Topic::StateChanges, Channel::Email, Daily)],
            ..Change::default()
        };
        let p = Preferences::default().apply(&daily);
        assert!(p.email(), "a daily digest is still email");
        let p = p.apply(&switches(Some(true), None));
        assert_eq!(p.cadence(Topic::StateChanges, Channel::Email), Daily);
        let weekly = Change {
            cadences: vec![(Topic::Notes, Channel::InApp, Weekly)],
            ..Change::default()
        };
        assert!(p.apply(&weekly).notes());
    }
}
