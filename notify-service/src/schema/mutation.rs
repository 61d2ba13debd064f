//! `Mutation`: the caller changes their own email preferences; an ADMIN queues FAILED emails
//! again.

use super::{
    caller, db, signed_in,
    types::{Notification, NotificationDelivery, NotificationPreferences, Weekday},
};
use crate::{error::ServiceError, preferences, records};
use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};
use common::Role;

/// The root of notify-service's changes.
#[derive(Debug, Default)]
pub struct Mutation;

#[Object(name = "NotificationMutation")]
impl Mutation {
    /// Changes what is given of the caller's preferences; the rest keeps its value. The
    /// switches apply first (`email`, then `notes`), then `deliveries`. `timeZone` is an IANA
    /// name (`America/Toronto`), or empty for the office's; `digestHour` is 0-23.
    #[allow(clippy::too_many_arguments)]
    async fn update_notification_preferences(
        &self,
        ctx: &Context<'_>,
        email: Option<bool>,
        notes: Option<bool>,
        deliveries: Option<Vec<NotificationDelivery>>,
        time_zone: Option<String>,
        digest_hour: Option<i32>,
        digest_weekday: Option<Weekday>,
    ) -> Result<NotificationPreferences> {
        let me = signed_in(ctx)?;
        let change = preferences::Change {
            email,
            notes,
            cadences: deliveries
                .unwrap_or_default()
                .into_iter()
                .map(|d| (d.topic.into(), d.channel.into(), d.cadence.into()))
                .collect(),
            time_zone: time_zone.map(|z| zone(&z)).transpose()?,
            digest_hour: digest_hour.map(hour).transpose()?,
            digest_weekday: digest_weekday.map(Into::into),
        };
        let updated = preferences::update(db(ctx), me, &change)
            .await
            .map_err(ServiceError::from)?;
        Ok(updated.into())
    }

    /// ADMIN only: queues FAILED emails again with a fresh retry budget (after a provider
    /// outage outlasted their retries, say): those named by `ids`, or every FAILED email
    /// created from `since` until before `until`, at most 1,000 at a time, oldest first (call
    /// again for the rest). Answers the emails queued again (those of `ids` that were not
    /// FAILED are left as they are); the email workers send them within seconds.
    async fn retry_notifications(
        &self,
        ctx: &Context<'_>,
        ids: Option<Vec<ID>>,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
    ) -> Result<Vec<Notification>> {
        signed_in(ctx)?;
        if !caller(ctx).has_role(Role::Admin) {
            return Err(
                ServiceError::Forbidden("only an administrator can retry emails".into()).into(),
            );
        }
        if ids.is_none() && since.is_none() && until.is_none() {
            return Err(ServiceError::BadInput {
                field: "ids",
                message: "name the emails (`ids`) or a period (`since`, `until`)".to_string(),
            }
            .into());
        }
        let ids = match ids {
            Some(ids) => Some(
                ids.iter()
                    .map(|id| {
                        id.trim()
                            .parse::<i64>()
                            .map_err(|_| ServiceError::BadInput {
                                field: "ids",
                                message: format!("`{}` is not an id", id.as_str()),
                            })
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            None => None,
        };
        let rows = records::queue_again(db(ctx), ids, since, until)
            .await
            .map_err(ServiceError::from)?;
        Ok(rows.into_iter().map(Notification).collect())
    }
}

/// A time zone as the user gave it: an IANA name, or empty for the office's.
fn zone(given: &str) -> Result<Option<chrono_tz::Tz>, ServiceError> {
    let given = given.trim();
    if given.is_empty() {
        return Ok(None);
    }
    given.parse().map(Some).map_err(|_| {
        ServiceError::bad_input(
            "timeZone",
            format!("`{given}` is not a time zone; give an IANA name such as America/Toronto"),
        )
    })
}

/// A digest hour: 0-23.
fn hour(given: i32) -> Result<u32, ServiceError> {
    u32::try_from(given)
        .ok()
        .filter(|h| *h < 24)
        .ok_or_else(|| ServiceError::bad_input("digestHour", "give an hour from 0 to 23"))
}
