//! The in-app inbox: `inbox_items`, one row per (user, ticket event) that would be emailed,
//! unread until the user marks it read. Unique on (user, event), so a redelivered event adds
//! nothing; indexed for the inbox's order (unread first, then newest) per user.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Tickets {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum TicketEvents {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum InboxItems {
    Table,
    Id,
    UserId,
    EventId,
    TicketId,
    Kind,
    Title,
    Summary,
    CreatedAt,
    ReadAt,
}

/// One item per (user, event).
const UNIQUE: &str = "inbox_items_user_event";
/// A user's unread items newest first (`read_at IS NULL`, then `id`): the first part of the
/// inbox, the unread count and "mark all read".
const UNREAD: &str = "inbox_items_user_read_id";
/// A user's items newest first: the read part of the inbox.
const NEWEST: &str = "inbox_items_user_id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_inbox_items(manager).await?;
        let indexes = [
            (UNIQUE, vec![InboxItems::UserId, InboxItems::EventId], true),
            (
                UNREAD,
                vec![InboxItems::UserId, InboxItems::ReadAt, InboxItems::Id],
                false,
            ),
            (NEWEST, vec![InboxItems::UserId, InboxItems::Id], false),
        ];
        for (name, columns, unique) in indexes {
            let mut index = Index::create();
            index.name(name).table(InboxItems::Table);
            for column in columns {
                index.col(column);
            }
            if unique {
                index.unique();
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(InboxItems::Table).to_owned())
            .await
    }
}

/// The `inbox_items` table.
async fn create_inbox_items(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(InboxItems::Table)
                .col(
                    ColumnDef::new(InboxItems::Id)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(ColumnDef::new(InboxItems::UserId).big_integer().not_null())
                .col(ColumnDef::new(InboxItems::EventId).big_integer().not_null())
                .col(
                    ColumnDef::new(InboxItems::TicketId)
                        .big_integer()
                        .not_null(),
                )
                .col(ColumnDef::new(InboxItems::Kind).string_len(32).not_null())
                .col(ColumnDef::new(InboxItems::Title).text().not_null())
                .col(ColumnDef::new(InboxItems::Summary).text().not_null())
                .col(
                    ColumnDef::new(InboxItems::CreatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(InboxItems::ReadAt)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("inbox_items_user")
                        .from(InboxItems::Table, InboxItems::UserId)
                        .to(Users::Table, Users::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("inbox_items_event")
                        .from(InboxItems::Table, InboxItems::EventId)
                        .to(TicketEvents::Table, TicketEvents::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("inbox_items_ticket")
                        .from(InboxItems::Table, InboxItems::TicketId)
                        .to(Tickets::Table, Tickets::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await
}
