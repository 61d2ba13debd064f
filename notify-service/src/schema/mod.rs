//! notify-service's GraphQL schema, a federation subgraph: `Notification`,
//! `NotificationPreferences`, `Query.notifications`, `Mutation.updateNotificationPreferences`,
//! and the entity fields `User.notificationPreferences` and `Ticket.notifications`.

/// Batch loaders, so a page of tickets or users costs one query per field.
pub mod loaders;
/// `Mutation`.
pub mod mutation;
/// `Query` and the entity resolvers.
pub mod query;
/// Object and enum types.
pub mod types;

use async_graphql::{Context, dataloader::DataLoader};
use common::{Principal, config::Mode, subgraph};
use sea_orm::DatabaseConnection;

use common::subgraph::{caller, db, signed_in};

/// The schema type.
pub type NotifySchema = subgraph::SubgraphSchema<query::Query, mutation::Mutation>;

/// Builds the schema over `db`.
pub fn build(db: DatabaseConnection, mode: Mode) -> NotifySchema {
    subgraph::schema::builder(query::Query, mutation::Mutation, mode)
        .data(db)
        .finish()
}

/// The subgraph SDL the supergraph is composed from.
pub fn sdl() -> String {
    subgraph::schema::sdl(query::Query, mutation::Mutation)
}

/// Attaches fresh loaders, which read with `caller`'s visibility, to a request (the kit's
/// router attaches the caller).
pub fn prepare(
    request: async_graphql::Request,
    caller: &Principal,
    db: &DatabaseConnection,
) -> async_graphql::Request {
    let loaders = loaders::Loaders {
        preferences: DataLoader::new(loaders::PreferencesLoader(db.clone()), tokio::spawn),
        ticket_notifications: DataLoader::new(
            loaders::TicketNotificationsLoader {
                db: db.clone(),
                caller: caller.clone(),
            },
            tokio::spawn,
        ),
    };
    request.data(loaders)
}

fn loaders<'a>(ctx: &Context<'a>) -> &'a loaders::Loaders {
    ctx.data_unchecked::<loaders::Loaders>()
}
