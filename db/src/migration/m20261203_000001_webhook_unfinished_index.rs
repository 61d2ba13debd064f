//! The webhook sender's index: unfinished deliveries (PENDING, RETRYING) in id order, so
//! "the oldest due ones" walks the few rows still to send and stops at its limit, instead of
//! reading and sorting every unfinished row on each look (measured: 7 ms a look at 10,000
//! waiting, most of PostgreSQL's time in the webhook benchmark). Partial, so delivered rows,
//! nearly all of them, cost it nothing. The sender's query names the same statuses as
//! literals, which both databases need to use a partial index.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    Status,
}

const INDEX: &str = "webhook_deliveries_unfinished_idx";

/// The statuses of an unfinished delivery, as `common::WebhookDeliveryStatus` names them.
const UNFINISHED: [&str; 2] = ["PENDING", "RETRYING"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::Id)
                    .and_where(Expr::col(WebhookDeliveries::Status).is_in(UNFINISHED))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(INDEX)
                    .table(WebhookDeliveries::Table)
                    .to_owned(),
            )
            .await
    }
}
