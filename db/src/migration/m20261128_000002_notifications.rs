//! Email notifications: each recipient's preferences, and one row per (event, recipient)
//! recording what was (or was not) sent about a ticket event.

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
enum NotificationPreferences {
    Table,
    UserId,
    Email,
    Notes,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    EventId,
    TicketId,
    RecipientId,
    Subject,
    Status,
    Attempts,
    LastError,
    ProviderMessageId,
    CreatedAt,
    SentAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_notification_preferences(manager).await?;
        create_notifications(manager).await?;
        index_notifications(manager).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Notifications::Table).to_owned())
            .await?;
        manager
            .drop_table(
                Table::drop()
                    .table(NotificationPreferences::Table)
                    .to_owned(),
            )
            .await
    }
}

/// The `notification_preferences` table.
async fn create_notification_preferences(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(NotificationPreferences::Table)
                .col(
                    ColumnDef::new(NotificationPreferences::UserId)
                        .big_integer()
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(NotificationPreferences::Email)
                        .boolean()
                        .not_null()
                        .default(true),
                )
                .col(
                    ColumnDef::new(NotificationPreferences::Notes)
                        .boolean()
                        .not_null()
                        .default(false),
                )
                .col(
                    ColumnDef::new(NotificationPreferences::UpdatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("notification_preferences_user")
                        .from(
                            NotificationPreferences::Table,
                            NotificationPreferences::UserId,
                        )
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
    Ok(())
}

/// The `notifications` table.
async fn create_notifications(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Notifications::Table)
                .col(
                    ColumnDef::new(Notifications::Id)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(Notifications::EventId)
                        .big_integer()
                        .not_null(),
                )
                .col(ColumnDef::new(Notifications::TicketId).big_integer().null())
                .col(
                    ColumnDef::new(Notifications::RecipientId)
                        .big_integer()
                        .not_null(),
                )
                .col(ColumnDef::new(Notifications::Subject).text().not_null())
                .col(
                    ColumnDef::new(Notifications::Status)
                        .string_len(16)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(Notifications::Attempts)
                        .integer()
                        .not_null()
                        .default(0),
                )
                .col(ColumnDef::new(Notifications::LastError).text().null())
                .col(
                    ColumnDef::new(Notifications::ProviderMessageId)
                        .text()
                        .null(),
                )
                .col(
                    ColumnDef::new(Notifications::CreatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(Notifications::SentAt)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("notifications_event")
                        .from(Notifications::Table, Notifications::EventId)
                        .to(TicketEvents::Table, TicketEvents::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("notifications_ticket")
                        .from(Notifications::Table, Notifications::TicketId)
                        .to(Tickets::Table, Tickets::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("notifications_recipient")
                        .from(Notifications::Table, Notifications::RecipientId)
                        .to(Users::Table, Users::Id),
                )
                .to_owned(),
        )
        .await?;
    Ok(())
}

/// The indexes of `notifications`.
async fn index_notifications(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    // One notification per (event, recipient): a redelivered event sends nothing twice.
    manager
        .create_index(
            Index::create()
                .name("notifications_event_recipient")
                .table(Notifications::Table)
                .col(Notifications::EventId)
                .col(Notifications::RecipientId)
                .unique()
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("notifications_ticket_idx")
                .table(Notifications::Table)
                .col(Notifications::TicketId)
                .col(Notifications::Id)
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("notifications_recipient_idx")
                .table(Notifications::Table)
                .col(Notifications::RecipientId)
                .col(Notifications::Id)
                .to_owned(),
        )
        .await?;
    Ok(())
}
