//! The documented read model of the outbox for the gateway: how many ticket events wait to be
//! relayed to the stream, for its `/metrics`, without knowing ticket-service's table.
//! ticket-service owns the `outbox` table (written in each change's transaction, emptied by
//! the relay); the gateway reads it only through here.

use db::entity::outbox;
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait, QueryFilter};

/// How many outbox rows the relay has not moved to the stream yet.
pub async fn outbox_backlog(db: &DatabaseConnection) -> Result<u64, DbErr> {
    outbox::Entity::find()
        .filter(outbox::Column::RelayedAt.is_null())
        .count(db)
        .await
}
