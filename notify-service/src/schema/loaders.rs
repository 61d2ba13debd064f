//! DataLoaders: preferences by user, notifications by ticket (visible ones only).

use crate::preferences::{self, Preferences};
use crate::records;
use async_graphql::dataloader::Loader;
use common::Principal;
use db::entity::notification;
use sea_orm::{DatabaseConnection, DbErr};
use std::{collections::HashMap, sync::Arc};

/// The loaders of one request.
pub struct Loaders {
    /// Preferences by user id.
    pub preferences: async_graphql::dataloader::DataLoader<PreferencesLoader>,
    /// Notifications by ticket id.
    pub ticket_notifications: async_graphql::dataloader::DataLoader<TicketNotificationsLoader>,
}

/// Loads preferences, defaults for users without a row.
pub struct PreferencesLoader(pub DatabaseConnection);

impl Loader<i64> for PreferencesLoader {
    type Value = Preferences;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Preferences>, Self::Error> {
        preferences::load_many(&self.0, keys)
            .await
            .map_err(Arc::new)
    }
}

/// Loads the notifications of tickets the caller may see; other tickets get none.
pub struct TicketNotificationsLoader {
    /// The pool.
    pub db: DatabaseConnection,
    /// Whose visibility applies.
    pub caller: Principal,
}

impl Loader<i64> for TicketNotificationsLoader {
    type Value = Vec<notification::Model>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        let visible: Vec<i64> = records::visible_tickets(&self.db, &self.caller, keys)
            .await
            .map_err(Arc::new)?
            .into_iter()
            .collect();
        records::by_ticket(&self.db, &visible)
            .await
            .map_err(Arc::new)
    }
}
