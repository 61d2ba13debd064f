//! Webhooks: the endpoints users register (`webhooks`) and one row per (ticket event,
//! webhook) recording each delivery, its attempts and the receiver's answers
//! (`webhook_deliveries`, unique on the pair so a redelivered stream entry adds nothing).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Webhooks {
    Table,
    Id,
    OwnerId,
    Url,
    Description,
    Events,
    States,
    TicketId,
    Secret,
    PreviousSecret,
    PreviousSecretUntil,
    Active,
    DisabledReason,
    FailingSince,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    WebhookId,
    EventId,
    TicketId,
    EventType,
    Payload,
    Status,
    Attempts,
    ResponseCode,
    LatencyMs,
    LastError,
    ResponseExcerpt,
    NextAttemptAt,
    ClaimedUntil,
    CreatedAt,
    DeliveredAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_webhooks(manager).await?;
        create_deliveries(manager).await?;
        index(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(WebhookDeliveries::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Webhooks::Table).to_owned())
            .await
    }
}

fn id<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name)
        .big_integer()
        .not_null()
        .auto_increment()
        .primary_key()
        .to_owned()
}

fn time<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).timestamp_with_time_zone().to_owned()
}

/// The `webhooks` table.
async fn create_webhooks(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Webhooks::Table)
                .col(id(Webhooks::Id))
                .col(ColumnDef::new(Webhooks::OwnerId).big_integer().not_null())
                .col(ColumnDef::new(Webhooks::Url).text().not_null())
                .col(ColumnDef::new(Webhooks::Description).text().not_null())
                .col(ColumnDef::new(Webhooks::Events).text().not_null())
                .col(ColumnDef::new(Webhooks::States).text().not_null())
                .col(ColumnDef::new(Webhooks::TicketId).big_integer().null())
                .col(ColumnDef::new(Webhooks::Secret).text().not_null())
                .col(ColumnDef::new(Webhooks::PreviousSecret).text().null())
                .col(time(Webhooks::PreviousSecretUntil).null())
                .col(ColumnDef::new(Webhooks::Active).boolean().not_null())
                .col(ColumnDef::new(Webhooks::DisabledReason).text().null())
                .col(time(Webhooks::FailingSince).null())
                .col(time(Webhooks::CreatedAt).not_null())
                .col(time(Webhooks::UpdatedAt).not_null())
                .foreign_key(
                    ForeignKey::create()
                        .name("webhooks_owner_id")
                        .from(Webhooks::Table, Webhooks::OwnerId)
                        .to(Users::Table, Users::Id),
                )
                .to_owned(),
        )
        .await
}

/// The `webhook_deliveries` table.
async fn create_deliveries(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(WebhookDeliveries::Table)
                .col(id(WebhookDeliveries::Id))
                .col(
                    ColumnDef::new(WebhookDeliveries::WebhookId)
                        .big_integer()
                        .not_null(),
                )
                // Null for a test event (`sendTestWebhookEvent`).
                .col(
                    ColumnDef::new(WebhookDeliveries::EventId)
                        .big_integer()
                        .null(),
                )
                .col(
                    ColumnDef::new(WebhookDeliveries::TicketId)
                        .big_integer()
                        .null(),
                )
                .col(
                    ColumnDef::new(WebhookDeliveries::EventType)
                        .text()
                        .not_null(),
                )
                .col(ColumnDef::new(WebhookDeliveries::Payload).text().not_null())
                .col(
                    ColumnDef::new(WebhookDeliveries::Status)
                        .string_len(16)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(WebhookDeliveries::Attempts)
                        .integer()
                        .not_null()
                        .default(0),
                )
                .col(
                    ColumnDef::new(WebhookDeliveries::ResponseCode)
                        .integer()
                        .null(),
                )
                .col(
                    ColumnDef::new(WebhookDeliveries::LatencyMs)
                        .integer()
                        .null(),
                )
                .col(ColumnDef::new(WebhookDeliveries::LastError).text().null())
                .col(
                    ColumnDef::new(WebhookDeliveries::ResponseExcerpt)
                        .text()
                        .null(),
                )
                .col(time(WebhookDeliveries::NextAttemptAt).null())
                .col(time(WebhookDeliveries::ClaimedUntil).null())
                .col(time(WebhookDeliveries::CreatedAt).not_null())
                .col(time(WebhookDeliveries::DeliveredAt).null())
                .foreign_key(
                    ForeignKey::create()
                        .name("webhook_deliveries_webhook_id")
                        .from(WebhookDeliveries::Table, WebhookDeliveries::WebhookId)
                        .to(Webhooks::Table, Webhooks::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await
}

/// The indexes: one delivery per (event, webhook); a user's hooks; the sender's look for
/// due deliveries and its ordering rule; a hook's deliveries newest first.
async fn index(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_index(
            Index::create()
                .name("webhook_deliveries_event_webhook_key")
                .table(WebhookDeliveries::Table)
                .col(WebhookDeliveries::EventId)
                .col(WebhookDeliveries::WebhookId)
                .unique()
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("webhooks_owner_idx")
                .table(Webhooks::Table)
                .col(Webhooks::OwnerId)
                .col(Webhooks::Id)
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("webhook_deliveries_status_idx")
                .table(WebhookDeliveries::Table)
                .col(WebhookDeliveries::Status)
                .col(WebhookDeliveries::NextAttemptAt)
                .to_owned(),
        )
        .await?;
    // The sender's ordering rule: is there an earlier unfinished delivery of this ticket to
    // this hook?
    manager
        .create_index(
            Index::create()
                .name("webhook_deliveries_ticket_idx")
                .table(WebhookDeliveries::Table)
                .col(WebhookDeliveries::WebhookId)
                .col(WebhookDeliveries::TicketId)
                .col(WebhookDeliveries::Id)
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("webhook_deliveries_webhook_idx")
                .table(WebhookDeliveries::Table)
                .col(WebhookDeliveries::WebhookId)
                .col(WebhookDeliveries::Id)
                .to_owned(),
        )
        .await
}
