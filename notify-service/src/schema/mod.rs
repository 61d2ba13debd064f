//! notify-service's GraphQL schema, a federation subgraph: `Notification`,
//! `NotificationPreferences`, `Query.notifications`, `Mutation.updateNotificationPreferences`,
//! the entity fields `User.notificationPreferences` and `Ticket.notifications`, webhooks
//! (`crate::webhooks`) and the inbox (`crate::inbox`).

/// Batch loaders, so a page of tickets or users costs one query per field.
pub mod loaders;
/// `Mutation`.
pub mod mutation;
/// `Query` and the entity resolvers.
pub mod query;
/// Object and enum types.
pub mod types;

use crate::inbox::{
    announce::Announcer,
    schema::{InboxMutation, InboxQuery},
};
use crate::webhooks::{
    HookSettings,
    schema::{WebhookMutation, WebhookQuery},
};
use async_graphql::{Context, MergedObject, dataloader::DataLoader};
use common::{Principal, config::Mode, stream::EventStream, subgraph};
use sea_orm::DatabaseConnection;

use common::subgraph::{caller, db, signed_in};

/// Every read: notifications, webhooks and the inbox.
#[derive(MergedObject, Debug, Default)]
pub struct Query(query::Query, WebhookQuery, InboxQuery);

/// Every change: preferences, emails queued again, webhooks, inbox items read.
#[derive(MergedObject, Debug, Default)]
pub struct Mutation(mutation::Mutation, WebhookMutation, InboxMutation);

/// The schema type.
pub type NotifySchema = subgraph::SubgraphSchema<Query, Mutation>;

/// Builds the schema over `db`, webhooks checked as `hooks` say, inbox changes announced on
/// `stream`.
pub fn build(
    db: DatabaseConnection,
    mode: Mode,
    hooks: HookSettings,
    stream: EventStream,
) -> NotifySchema {
    subgraph::schema::builder(Query::default(), Mutation::default(), mode)
        .data(db)
        .data(hooks)
        .data(Announcer(stream))
        .finish()
}

/// The subgraph SDL the supergraph is composed from.
pub fn sdl() -> String {
    subgraph::schema::sdl(Query::default(), Mutation::default())
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
