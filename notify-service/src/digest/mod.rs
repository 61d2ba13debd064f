//! Digests: a user who chose a daily or weekly digest for a kind of event gets, at their
//! digest hour in their time zone, one email listing what changed on which tickets since the
//! last one (never an empty one), and their held inbox items shown together.
//!
//! It runs beside the email worker, every `SCHEDULER_TICK` on its injectable clock (the
//! scheduler's, `common::clock`), safe with many workers the way the scheduler is: each digest
//! is a row unique on (user, cadence, due moment), inserted with insert-or-skip in the
//! transaction that takes the emails waiting for it. A worker that was down catches up with
//! one digest per user and cadence: the latest due moment takes everything that waited.
//!
//! `when` (the due moment, pure), `due` (what is due, a page of users at a time), `compose`
//! (the batched transaction), `render` (the email), `send` (sending, recording, retrying),
//! `release` (the inbox's held items).

mod compose;
mod due;
mod release;
mod render;
mod send;
pub mod when;

pub use db::entity::digest::{FAILED, QUEUED, SENT};

use crate::{config::MailSettings, mailer::Mailer};
use chrono::{DateTime, Utc};
use common::{clock::Clock, config::ConfigError, stream::EventStream};
use sea_orm::{DatabaseConnection, DbErr};
use std::{collections::HashMap, time::Duration};

/// The digests' settings.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// `SCHEDULER_TICK` (default 1m): how often due digests are looked for. (The zone of
    /// users who chose none is the mail settings' `OFFICE_TIME_ZONE`.)
    pub tick: Duration,
}

impl Settings {
    /// Reads the settings from `source`.
    pub fn from_source<S: common::config::Source + ?Sized>(
        source: &S,
    ) -> Result<Self, ConfigError> {
        let tick = match source.get("SCHEDULER_TICK") {
            None => Duration::from_secs(60),
            Some(raw) => {
                common::config::tick(&raw).map_err(|m| ConfigError::new("SCHEDULER_TICK", m))?
            }
        };
        Ok(Self { tick })
    }
}

/// What one tick did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tick {
    /// Inbox items shown.
    pub released: u64,
    /// Digests composed by this worker.
    pub composed: usize,
    /// Digests the provider accepted (composed now or sent again).
    pub sent: usize,
}

/// The digest worker.
#[derive(Clone)]
pub struct Runner {
    db: DatabaseConnection,
    stream: EventStream,
    mailer: Mailer,
    mail: MailSettings,
    settings: Settings,
    clock: Clock,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner").finish_non_exhaustive()
    }
}

impl Runner {
    /// A worker over `db`, announcing inbox changes on `stream`, sending as `mail` says.
    pub fn new(
        db: DatabaseConnection,
        stream: EventStream,
        mail: MailSettings,
        settings: Settings,
        clock: Clock,
    ) -> Result<Self, reqwest::Error> {
        Ok(Self {
            mailer: Mailer::from_settings(&mail)?,
            db,
            stream,
            mail,
            settings,
            clock,
        })
    }

    /// One pass at the clock's now: held inbox items shown, due digests composed and sent,
    /// and digests whose earlier send failed or was cut short sent again.
    pub async fn tick(&self) -> Result<Tick, DbErr> {
        let now = self.clock.now();
        let released = self.release_inbox(now).await?;
        let (composed, mut sent) = self.compose_due(now).await?;
        sent += self.resend(now).await?;
        Ok(Tick {
            released,
            composed,
            sent,
        })
    }

    /// Composes and sends every digest due at `now`, a page of users at a time.
    async fn compose_due(&self, now: DateTime<Utc>) -> Result<(usize, usize), DbErr> {
        let (mut composed, mut sent) = (0, 0);
        let mut after = 0;
        loop {
            let users = self.waiting_users(after).await?;
            let Some(last) = users.last() else {
                return Ok((composed, sent));
            };
            after = *last;
            let due = self.due_digests(&users, now).await?;
            let written = compose::compose(
                &self.db,
                &due,
                now,
                self.claim_until(now),
                &self.mail.public_url,
            )
            .await?;
            composed += written.len();
            sent += self.send_all(written, &HashMap::new()).await?;
            if users.len() < due::PAGE {
                return Ok((composed, sent));
            }
        }
    }

    /// How long a worker holds a digest it sends: the provider's timeout and a margin.
    fn claim_until(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + chrono::Duration::from_std(self.mail.timeout * 2).unwrap_or_default()
            + chrono::Duration::seconds(30)
    }

    /// Runs in the background for as long as the process: a tick at once, then one every
    /// `SCHEDULER_TICK`. A tick that fails is logged and the next one tries again.
    pub fn start(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut every = tokio::time::interval(self.settings.tick);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                match self.tick().await {
                    Ok(done) if done.composed + done.sent > 0 || done.released > 0 => {
                        tracing::info!(
                            composed = done.composed,
                            sent = done.sent,
                            released = done.released,
                            "digests sent"
                        );
                    }
                    Ok(_) => {}
                    Err(err) => tracing::warn!(%err, "digest tick failed"),
                }
            }
        })
    }
}
