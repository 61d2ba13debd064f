//! Retries that outlast a provider's outage: `failures` counts the calls that failed (5xx,
//! timeouts) since the email was last queued, apart from `attempts` (every call, 429s
//! included), so rate limiting never uses up an email's budget and an ADMIN can queue a
//! FAILED email again with a fresh one; `retry_requested_at` marks an email an ADMIN queued
//! again, which the email workers look for.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Failures,
    RetryRequestedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds only one at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(Notifications::Table)
                    .add_column(
                        ColumnDef::new(Notifications::Failures)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Notifications::Table)
                    .add_column(
                        ColumnDef::new(Notifications::RetryRequestedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Notifications::RetryRequestedAt, Notifications::Failures] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Notifications::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
