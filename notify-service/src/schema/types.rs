//! The types notify-service owns (`Notification`, `NotificationPreferences`,
//! `NotificationStatus`) and its parts of the `User` and `Ticket` entities.

use super::{caller, loaders, signed_in};
use crate::error::ServiceError;
use crate::preferences::Preferences;
use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use db::entity::notification;

/// Where one email stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "common::NotificationStatus")]
pub enum NotificationStatus {
    /// Waiting to be sent (or retried).
    Queued,
    /// Accepted by the email provider.
    Sent,
    /// Given up on; `lastError` says why.
    Failed,
    /// Not sent: the recipient turned email off.
    Suppressed,
    /// Not sent alone: listed in the recipient's daily or weekly digest (waiting for it until
    /// the digest is composed).
    Digest,
}

/// When one kind of event reaches a user on one channel.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "common::Cadence")]
pub enum Cadence {
    /// As it happens: an email each, an inbox item at once.
    Immediate,
    /// In one digest a day, at the user's `digestHour` in their time zone.
    Daily,
    /// In one digest a week, on the user's `digestWeekday` at their `digestHour`.
    Weekly,
    /// Not at all.
    Off,
}

/// The kinds of event a user chooses a cadence for.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "common::NotificationTopic")]
pub enum NotificationTopic {
    /// A ticket moved on (granted, offer requested, approved, answered, cancelled) or its
    /// response date changed.
    StateChanges,
    /// A note was added.
    Notes,
    /// Reminders and escalations: a response date near or passed, a ticket waiting too long.
    Reminders,
}

/// Where notifications reach a user.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "common::NotificationChannel")]
pub enum NotificationChannel {
    /// By email.
    Email,
    /// In the web client's inbox.
    InApp,
}

/// A day of the week.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "chrono::Weekday")]
pub enum Weekday {
    /// Monday.
    #[graphql(name = "MONDAY")]
    Mon,
    /// Tuesday.
    #[graphql(name = "TUESDAY")]
    Tue,
    /// Wednesday.
    #[graphql(name = "WEDNESDAY")]
    Wed,
    /// Thursday.
    #[graphql(name = "THURSDAY")]
    Thu,
    /// Friday.
    #[graphql(name = "FRIDAY")]
    Fri,
    /// Saturday.
    #[graphql(name = "SATURDAY")]
    Sat,
    /// Sunday.
    #[graphql(name = "SUNDAY")]
    Sun,
}

/// How one kind of event reaches the user on one channel.
#[derive(SimpleObject, InputObject, Debug, Clone, Copy)]
#[graphql(input_name = "NotificationDeliveryInput")]
pub struct NotificationDelivery {
    /// The kind of event.
    pub topic: NotificationTopic,
    /// The channel.
    pub channel: NotificationChannel,
    /// When.
    pub cadence: Cadence,
}

/// A user's notification preferences.
#[derive(SimpleObject, Debug, Clone)]
pub struct NotificationPreferences {
    /// Email on every state change of tickets the user is involved in.
    pub email: bool,
    /// Also email when a note is added to such a ticket.
    pub notes: bool,
    /// Every kind of event on every channel, and when it reaches the user: at once, in a
    /// daily or weekly digest, or not at all. `email` and `notes` are shortcuts to these.
    pub deliveries: Vec<NotificationDelivery>,
    /// The user's time zone, an IANA name (`America/Toronto`); null: the office's.
    pub time_zone: Option<String>,
    /// The hour (0-23, in the user's time zone) digests go out at.
    pub digest_hour: i32,
    /// The day weekly digests go out on.
    pub digest_weekday: Weekday,
}

impl From<Preferences> for NotificationPreferences {
    fn from(p: Preferences) -> Self {
        Self {
            email: p.email(),
            notes: p.notes(),
            deliveries: p
                .cadences()
                .into_iter()
                .map(|(topic, channel, cadence)| NotificationDelivery {
                    topic: topic.into(),
                    channel: channel.into(),
                    cadence: cadence.into(),
                })
                .collect(),
            time_zone: p.time_zone.map(|z| z.name().to_owned()),
            digest_hour: i32::try_from(p.digest_hour).unwrap_or(8),
            digest_weekday: p.digest_weekday.into(),
        }
    }
}

/// The `User` entity, as far as notifications go.
#[derive(Debug, Clone, Copy)]
pub struct User(pub i64);

#[Object]
impl User {
    async fn id(&self) -> ID {
        ID(self.0.to_string())
    }

    /// Owned by the notification service.
    // Only the user themself and an ADMIN may read a user's preferences; anyone else gets
    // FORBIDDEN for this field.
    async fn notification_preferences(&self, ctx: &Context<'_>) -> Result<NotificationPreferences> {
        let me = signed_in(ctx)?;
        if me != self.0 && !caller(ctx).has_role(common::Role::Admin) {
            return Err(ServiceError::Forbidden(
                "only the user and an administrator may read notification preferences".into(),
            )
            .into());
        }
        let found = loaders(ctx)
            .preferences
            .load_one(self.0)
            .await
            .map_err(ServiceError::from)?;
        Ok(found.unwrap_or_default().into())
    }
}

/// The `Ticket` entity, as far as notifications go.
#[derive(Debug, Clone, Copy)]
pub struct Ticket(pub i64);

#[Object]
impl Ticket {
    async fn id(&self) -> ID {
        ID(self.0.to_string())
    }

    /// Owned by the notification service: the emails sent about this ticket, oldest first.
    async fn notifications(&self, ctx: &Context<'_>) -> Result<Vec<Notification>> {
        signed_in(ctx)?;
        let found = loaders(ctx)
            .ticket_notifications
            .load_one(self.0)
            .await
            .map_err(ServiceError::from)?;
        Ok(found
            .unwrap_or_default()
            .into_iter()
            .map(Notification)
            .collect())
    }
}

/// One email about a ticket event, to one recipient.
#[derive(Debug, Clone)]
pub struct Notification(pub notification::Model);

#[Object]
impl Notification {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn ticket(&self) -> Option<Ticket> {
        self.0.ticket_id.map(Ticket)
    }

    async fn recipient(&self) -> User {
        User(self.0.recipient_id)
    }

    async fn subject(&self) -> &str {
        &self.0.subject
    }

    async fn status(&self) -> Result<NotificationStatus> {
        let status: common::NotificationStatus = self.0.status.parse().map_err(|_| {
            async_graphql::Error::from(ServiceError::database_unavailable(format!(
                "notification {} has an unknown status {}",
                self.0.id, self.0.status
            )))
        })?;
        Ok(status.into())
    }

    async fn attempts(&self) -> i32 {
        self.0.attempts
    }

    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn sent_at(&self) -> Option<DateTime<Utc>> {
        self.0.sent_at
    }
}
