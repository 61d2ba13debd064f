//! `Mutation`: the caller changes their own email preferences.

use super::{db, signed_in, types::NotificationPreferences};
use crate::{error::ServiceError, preferences};
use async_graphql::{Context, Object, Result};

/// The root of notify-service's changes.
#[derive(Debug, Default)]
pub struct Mutation;

#[Object]
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
}
