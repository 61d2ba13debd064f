//! DataLoaders: every field that reads related rows goes through one of these, so a page of
//! tickets costs one statement per kind of related row, whatever the page size. One set is
//! made per request, so nothing is cached across callers.

use async_graphql::dataloader::{DataLoader, Loader};
use db::entity::{applicant, note, ticket, ticket_event, ticket_supervisor, user, user_support};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder};
use std::{collections::HashMap, sync::Arc};

/// Errors are shared between the fields waiting on one batch.
pub type LoadError = Arc<DbErr>;

macro_rules! by_id_loader {
    ($(#[$meta:meta])* $name:ident, $entity:ident) => {
        $(#[$meta])*
        pub struct $name(pub DatabaseConnection);

        impl Loader<i64> for $name {
            type Value = $entity::Model;
            type Error = LoadError;

            async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
                let rows = $entity::Entity::find()
                    .filter($entity::Column::Id.is_in(keys.to_vec()))
                    .all(&self.0)
                    .await?;
                Ok(rows.into_iter().map(|r| (r.id, r)).collect())
            }
        }
    };
}

by_id_loader!(
    /// Users by id.
    UserLoader, user
);
by_id_loader!(
    /// Applicants by id.
    ApplicantLoader, applicant
);
by_id_loader!(
    /// Tickets by id (for notes' and events' `ticket`; visibility was checked on the way in).
    TicketLoader, ticket
);

/// A ticket's supervisors, with their user rows, in one joined statement.
pub struct SupervisorsLoader(pub DatabaseConnection);

impl Loader<i64> for SupervisorsLoader {
    type Value = Vec<user::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        let rows = ticket_supervisor::Entity::find()
            .find_also_related(user::Entity)
            .filter(ticket_supervisor::Column::TicketId.is_in(keys.to_vec()))
            .order_by_asc(user::Column::Name)
            .all(&self.0)
            .await?;
        let mut out: HashMap<i64, Vec<user::Model>> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for (link, user) in rows {
            if let Some(user) = user {
                out.entry(link.ticket_id).or_default().push(user);
            }
        }
        Ok(out)
    }
}

/// The faculty ids an FSS user supports.
pub struct SupportsLoader(pub DatabaseConnection);

impl Loader<i64> for SupportsLoader {
    type Value = Vec<i64>;
    type Error = LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        let rows = user_support::Entity::find()
            .filter(user_support::Column::FssId.is_in(keys.to_vec()))
            .order_by_asc(user_support::Column::FacultyId)
            .all(&self.0)
            .await?;
        let mut out: HashMap<i64, Vec<i64>> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for row in rows {
            out.entry(row.fss_id).or_default().push(row.faculty_id);
        }
        Ok(out)
    }
}

macro_rules! per_ticket_loader {
    ($(#[$meta:meta])* $name:ident, $entity:ident) => {
        $(#[$meta])*
        pub struct $name(pub DatabaseConnection);

        impl Loader<i64> for $name {
            type Value = Vec<$entity::Model>;
            type Error = LoadError;

            async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
                let rows = $entity::Entity::find()
                    .filter($entity::Column::TicketId.is_in(keys.to_vec()))
                    .order_by_asc($entity::Column::Id)
                    .all(&self.0)
                    .await?;
                let mut out: HashMap<i64, Self::Value> = keys.iter().map(|k| (*k, Vec::new())).collect();
                for row in rows {
                    out.entry(row.ticket_id).or_default().push(row);
                }
                Ok(out)
            }
        }
    };
}

per_ticket_loader!(
    /// A ticket's notes, oldest first.
    NotesLoader, note
);
per_ticket_loader!(
    /// A ticket's history, oldest first.
    HistoryLoader, ticket_event
);

/// The loaders of one request.
pub struct Loaders {
    /// Users by id.
    pub users: DataLoader<UserLoader>,
    /// Applicants by id.
    pub applicants: DataLoader<ApplicantLoader>,
    /// Tickets by id.
    pub tickets: DataLoader<TicketLoader>,
    /// Supervisors per ticket.
    pub supervisors: DataLoader<SupervisorsLoader>,
    /// Supported faculty per FSS user.
    pub supports: DataLoader<SupportsLoader>,
    /// Notes per ticket.
    pub notes: DataLoader<NotesLoader>,
    /// History per ticket.
    pub history: DataLoader<HistoryLoader>,
}

impl Loaders {
    /// Fresh loaders over `db`.
    pub fn new(db: &DatabaseConnection) -> Self {
        let spawn = |f| tokio::spawn(f);
        Self {
            users: DataLoader::new(UserLoader(db.clone()), spawn),
            applicants: DataLoader::new(ApplicantLoader(db.clone()), spawn),
            tickets: DataLoader::new(TicketLoader(db.clone()), spawn),
            supervisors: DataLoader::new(SupervisorsLoader(db.clone()), spawn),
            supports: DataLoader::new(SupportsLoader(db.clone()), spawn),
            notes: DataLoader::new(NotesLoader(db.clone()), spawn),
            history: DataLoader::new(HistoryLoader(db.clone()), spawn),
        }
    }
}
