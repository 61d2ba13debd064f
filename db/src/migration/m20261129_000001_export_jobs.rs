//! Export jobs: one row per `exportTickets` call, from QUEUED to DONE or FAILED, with the
//! lease that lets exactly one worker write a job at a time and another take it over when
//! that worker dies.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ExportJobs {
    Table,
    Id,
    RequestedBy,
    Requester,
    Status,
    Filter,
    OrderBy,
    RowsWritten,
    TotalRows,
    Error,
    Attempts,
    LeaseUntil,
    CreatedAt,
    StartedAt,
    FinishedAt,
    ExpiredAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_export_jobs(manager).await?;
        index_export_jobs(manager).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ExportJobs::Table).to_owned())
            .await
    }
}

/// The `export_jobs` table.
async fn create_export_jobs(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(ExportJobs::Table)
                .col(
                    ColumnDef::new(ExportJobs::Id)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(ExportJobs::RequestedBy)
                        .big_integer()
                        .not_null(),
                )
                .col(ColumnDef::new(ExportJobs::Requester).text().not_null())
                .col(ColumnDef::new(ExportJobs::Status).string_len(16).not_null())
                .col(ColumnDef::new(ExportJobs::Filter).text().not_null())
                .col(ColumnDef::new(ExportJobs::OrderBy).text().not_null())
                .col(
                    ColumnDef::new(ExportJobs::RowsWritten)
                        .big_integer()
                        .not_null()
                        .default(0),
                )
                .col(ColumnDef::new(ExportJobs::TotalRows).big_integer().null())
                .col(ColumnDef::new(ExportJobs::Error).text().null())
                .col(
                    ColumnDef::new(ExportJobs::Attempts)
                        .integer()
                        .not_null()
                        .default(0),
                )
                .col(
                    ColumnDef::new(ExportJobs::LeaseUntil)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .col(
                    ColumnDef::new(ExportJobs::CreatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(ExportJobs::StartedAt)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .col(
                    ColumnDef::new(ExportJobs::FinishedAt)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .col(
                    ColumnDef::new(ExportJobs::ExpiredAt)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("export_jobs_requested_by")
                        .from(ExportJobs::Table, ExportJobs::RequestedBy)
                        .to(Users::Table, Users::Id),
                )
                .to_owned(),
        )
        .await?;
    Ok(())
}

/// The indexes of `export_jobs`.
async fn index_export_jobs(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    // `exportJobs` lists one requester's jobs, newest first.
    manager
        .create_index(
            Index::create()
                .name("export_jobs_requester_idx")
                .table(ExportJobs::Table)
                .col(ExportJobs::RequestedBy)
                .col(ExportJobs::Id)
                .to_owned(),
        )
        .await?;
    // The expiry sweep and the restart sweep look jobs up by status.
    manager
        .create_index(
            Index::create()
                .name("export_jobs_status_idx")
                .table(ExportJobs::Table)
                .col(ExportJobs::Status)
                .col(ExportJobs::FinishedAt)
                .to_owned(),
        )
        .await?;
    Ok(())
}
