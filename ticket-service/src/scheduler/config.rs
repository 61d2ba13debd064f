//! The scheduler's settings, read with the common helpers: a malformed one stops the process
//! at start with one line naming it (`DEADLINE_REMINDERS: expected ...`).

use chrono_tz::Tz;
use common::{
    Role, TicketState,
    config::{ConfigError, Source},
};
use std::time::Duration;

/// How far ahead of a response date a reminder goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Ahead {
    /// Calendar days in the office's time zone: the same wall-clock time that many days
    /// earlier, across a daylight-saving change too.
    Days(u32),
    /// Hours of elapsed time.
    Hours(u32),
}

impl Ahead {
    /// The step's name, as written: `7d`, `48h`.
    pub fn label(self) -> String {
        match self {
            Ahead::Days(n) => format!("{n}d"),
            Ahead::Hours(n) => format!("{n}h"),
        }
    }

    /// At most how long ahead, in elapsed time (a day is at most 25 hours).
    pub fn at_most(self) -> chrono::Duration {
        match self {
            Ahead::Days(n) => chrono::Duration::hours(i64::from(n) * 25),
            Ahead::Hours(n) => chrono::Duration::hours(i64::from(n)),
        }
    }
}

/// Everything the scheduler needs to know besides the database.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `SCHEDULER_TICK`: how often it looks for due steps.
    pub tick: Duration,
    /// `DEADLINE_REMINDERS`: reminders before an offer's response date, furthest first.
    pub deadline_reminders: Vec<Ahead>,
    /// `WAITING_TARGETS`: business days a ticket may wait in a state before its reminder.
    pub waiting_targets: Vec<(TicketState, u32)>,
    /// `ESCALATION_ROLE`: who is told when the reminder did not help.
    pub escalation_role: Role,
    /// `OFFICE_TIME_ZONE`: where days begin and end.
    pub time_zone: Tz,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            tick: Duration::from_secs(60),
            deadline_reminders: vec![Ahead::Days(7), Ahead::Days(2)],
            waiting_targets: vec![(TicketState::OfferRequested, 3), (TicketState::Granted, 20)],
            escalation_role: Role::BudgetDirector,
            time_zone: Tz::UTC,
        }
    }
}

impl Settings {
    /// Reads the settings from `source`; unset ones take their defaults.
    pub fn from_source<S: Source + ?Sized>(source: &S) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        Ok(Self {
            tick: match source.get("SCHEDULER_TICK") {
                None => defaults.tick,
                Some(raw) => {
                    common::config::tick(&raw).map_err(|m| ConfigError::new("SCHEDULER_TICK", m))?
                }
            },
            deadline_reminders: match source.get("DEADLINE_REMINDERS") {
                None => defaults.deadline_reminders,
                Some(raw) => {
                    reminders(&raw).map_err(|m| ConfigError::new("DEADLINE_REMINDERS", m))?
                }
            },
            waiting_targets: match source.get("WAITING_TARGETS") {
                None => defaults.waiting_targets,
                Some(raw) => targets(&raw).map_err(|m| ConfigError::new("WAITING_TARGETS", m))?,
            },
            escalation_role: match source.get("ESCALATION_ROLE") {
                None => defaults.escalation_role,
                Some(raw) => {
                    escalation(&raw).map_err(|m| ConfigError::new("ESCALATION_ROLE", m))?
                }
            },
            time_zone: common::config::office_time_zone(source)?.unwrap_or(defaults.time_zone),
        })
    }

    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&common::config::Env)
    }

    /// The business days a ticket may wait in `state`, if it has a target.
    pub fn target(&self, state: TicketState) -> Option<u32> {
        self.waiting_targets
            .iter()
            .find(|(s, _)| *s == state)
            .map(|(_, days)| *days)
    }
}

/// `7d,2d`, `48h`, or `none`: distinct, positive, furthest first.
fn reminders(raw: &str) -> Result<Vec<Ahead>, String> {
    if raw.trim().eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    let mut all = Vec::new();
    for part in raw.split(',') {
        let part = part.trim();
        let bad = || format!("expected days or hours ahead such as 7d,2d or 48h, got `{part}`");
        let (number, unit) = part.split_at(part.len().saturating_sub(1));
        let n: u32 = number.parse().map_err(|_| bad())?;
        if n == 0 || n > 366 * 24 {
            return Err(bad());
        }
        let ahead = match unit {
            "d" if n <= 366 => Ahead::Days(n),
            "h" => Ahead::Hours(n),
            _ => return Err(bad()),
        };
        if all.contains(&ahead) {
            return Err(format!("`{part}` is listed twice"));
        }
        all.push(ahead);
    }
    all.sort_by_key(|a| std::cmp::Reverse(a.at_most()));
    Ok(all)
}

/// `OFFER_REQUESTED:3,GRANTED:20`, or `none`: states that wait for someone, business days.
fn targets(raw: &str) -> Result<Vec<(TicketState, u32)>, String> {
    if raw.trim().eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    let mut all: Vec<(TicketState, u32)> = Vec::new();
    for part in raw.split(',') {
        let part = part.trim();
        let bad =
            || format!("expected STATE:business days such as OFFER_REQUESTED:3, got `{part}`");
        let (state, days) = part.split_once(':').ok_or_else(bad)?;
        let state: TicketState = state.trim().parse().map_err(|_| bad())?;
        if matches!(state, TicketState::OfferAccepted | TicketState::Cancelled) {
            return Err(format!("{state} is final: nothing waits in it"));
        }
        let days: u32 = days.trim().parse().map_err(|_| bad())?;
        if !(1..=366).contains(&days) {
            return Err(format!("expected 1 to 366 business days, got `{part}`"));
        }
        if all.iter().any(|(s, _)| *s == state) {
            return Err(format!("{state} is listed twice"));
        }
        all.push((state, days));
    }
    Ok(all)
}

/// A role that sees every ticket (an escalation names tickets of anyone).
fn escalation(raw: &str) -> Result<Role, String> {
    let role: Role = raw
        .trim()
        .parse()
        .map_err(|_| format!("expected a role name such as BUDGET_DIRECTOR, got `{raw}`"))?;
    if !role.sees_every_ticket() {
        return Err(format!(
            "{role} does not see every ticket: expected BUDGET_DIRECTOR, ASSOCIATE_CHAIR, GRAD_OFFICE or ADMIN"
        ));
    }
    Ok(role)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read(pairs: &[(&'static str, &'static str)]) -> Result<Settings, ConfigError> {
        Settings::from_source(&pairs.iter().copied().collect::<HashMap<_, _>>())
    }

    #[test]
    fn defaults_hold_without_settings() {
        assert_eq!(read(&[]), Ok(Settings::default()));
    }

    #[test]
    fn good_settings_parse() {
        let s = read(&[
            ("SCHEDULER_TICK", "30s"),
            ("DEADLINE_REMINDERS", "2d, 36h ,14d"),
            ("WAITING_TARGETS", "OFFER_PENDING:5"),
            ("ESCALATION_ROLE", "ADMIN"),
            ("OFFICE_TIME_ZONE", "America/Toronto"),
        ])
        .unwrap_or_default();
        assert_eq!(s.tick, Duration::from_secs(30));
        assert_eq!(
            s.deadline_reminders,
            vec![Ahead::Days(14), Ahead::Days(2), Ahead::Hours(36)]
        );
        assert_eq!(s.waiting_targets, vec![(TicketState::OfferPending, 5)]);
        assert_eq!(s.escalation_role, Role::Admin);
        assert_eq!(s.time_zone, chrono_tz::America::Toronto);
        let none = read(&[("DEADLINE_REMINDERS", "none"), ("WAITING_TARGETS", "NONE")])
            .unwrap_or_default();
        assert!(none.deadline_reminders.is_empty() && none.waiting_targets.is_empty());
    }

    #[test]
    fn a_bad_setting_is_one_line_naming_it() {
        for (var, value) in [
            ("SCHEDULER_TICK", "soon"),
            ("SCHEDULER_TICK", "0s"),
            ("SCHEDULER_TICK", "2d"),
            ("DEADLINE_REMINDERS", "7"),
            ("DEADLINE_REMINDERS", "7d,0d"),
            ("DEADLINE_REMINDERS", "7d,7d"),
            ("DEADLINE_REMINDERS", "1w"),
            ("WAITING_TARGETS", "OFFER_REQUESTED"),
            ("WAITING_TARGETS", "OFFER_REQUESTED:0"),
            ("WAITING_TARGETS", "PENDING:3"),
            ("WAITING_TARGETS", "CANCELLED:3"),
            ("WAITING_TARGETS", "GRANTED:3,GRANTED:4"),
            ("ESCALATION_ROLE", "BOSS"),
            ("ESCALATION_ROLE", "FACULTY"),
            ("OFFICE_TIME_ZONE", "Mars/Olympus"),
            ("OFFICE_TIME_ZONE", "Europe/Nowhere"),
        ] {
            let err = read(&[(var, value)]).err();
            let err = err.unwrap_or_else(|| panic!("{var}={value} was accepted"));
            assert_eq!(err.var, var);
            let line = err.to_string();
            assert!(line.starts_with(&format!("{var}: ")), "{line}");
            assert!(!line.contains('\n'), "{line}");
        }
    }
}
