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

use async_graphql::{Context, EmptySubscription, SDLExportOptions, Schema, dataloader::DataLoader};
use common::{Principal, config::Mode};
use sea_orm::DatabaseConnection;

/// The schema type.
pub type NotifySchema = Schema<query::Query, mutation::Mutation, EmptySubscription>;

/// A defence in depth: the gateway enforces the real limits before it calls a subgraph.
const MAX_DEPTH: usize = 32;

/// Builds the schema over `db`.
pub fn build(db: DatabaseConnection, mode: Mode) -> NotifySchema {
    let mut builder = Schema::build(query::Query, mutation::Mutation, EmptySubscription)
        .enable_federation()
        .limit_depth(MAX_DEPTH)
        .data(db);
    if mode == Mode::Production {
        builder = builder.disable_suggestions();
    }
    builder.finish()
}

/// The subgraph SDL the supergraph is composed from.
pub fn sdl() -> String {
    Schema::build(query::Query, mutation::Mutation, EmptySubscription)
        .enable_federation()
        .finish()
        .sdl_with_options(SDLExportOptions::new().federation())
}

/// Attaches the caller and fresh loaders to a request.
pub fn prepare(
    request: async_graphql::Request,
    caller: Principal,
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
    request.data(caller).data(loaders)
}

fn db<'a>(ctx: &Context<'a>) -> &'a DatabaseConnection {
    ctx.data_unchecked::<DatabaseConnection>()
}

fn caller<'a>(ctx: &Context<'a>) -> &'a Principal {
    ctx.data_unchecked::<Principal>()
}

fn loaders<'a>(ctx: &Context<'a>) -> &'a loaders::Loaders {
    ctx.data_unchecked::<loaders::Loaders>()
}

/// The signed-in caller's id, or UNAUTHENTICATED.
fn signed_in(ctx: &Context<'_>) -> Result<i64, crate::error::ServiceError> {
    caller(ctx)
        .user_id
        .ok_or(crate::error::ServiceError::Unauthenticated)
}
