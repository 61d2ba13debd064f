//! `Mutation`: the caller changes their own email preferences; an ADMIN queues FAILED emails
//! again.

use super::{
    caller, db, signed_in,
    types::{Notification, NotificationPreferences},
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
    /// Changes the given switches of the caller's preferences; the others keep their value.
    async fn update_notification_preferences(
        &self,
        ctx: &Context<'_>,
        email: Option<bool>,
        notes: Option<bool>,
    ) -> Result<NotificationPreferences> {
        let me = signed_in(ctx)?;
        let updated = preferences::update(db(ctx), me, email, notes)
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
