//! The scheduler's tables. `scheduled_runs`: one row per timed step the scheduler handled (a
//! deadline reminder, a waiting-too-long reminder or escalation), unique on what the step is,
//! so that however many replicas tick at once, and however often one restarts, a step is
//! written (and its event sent) once. `closed_days`: the office's calendar of days that do not
//! count as business days besides weekends, edited by an ADMIN.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tickets {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ScheduledRuns {
    Table,
    Id,
    Kind,
    TicketId,
    Step,
    Anchor,
    DueAt,
    RanAt,
    Outcome,
    Late,
}

#[derive(DeriveIden)]
enum ClosedDays {
    Table,
    Day,
    Label,
    CreatedBy,
    CreatedAt,
}

/// The one key a step is written under: two replicas inserting it, one waits and skips.
const RUN_KEY: &str = "scheduled_runs_step";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(scheduled_runs()).await?;
        manager
            .create_index(
                Index::create()
                    .name(RUN_KEY)
                    .table(ScheduledRuns::Table)
                    .col(ScheduledRuns::Kind)
                    .col(ScheduledRuns::TicketId)
                    .col(ScheduledRuns::Step)
                    .col(ScheduledRuns::Anchor)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager.create_table(closed_days()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ClosedDays::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(ScheduledRuns::Table).to_owned())
            .await
    }
}

fn scheduled_runs() -> TableCreateStatement {
    Table::create()
        .table(ScheduledRuns::Table)
        .col(
            ColumnDef::new(ScheduledRuns::Id)
                .big_integer()
                .not_null()
                .auto_increment()
                .primary_key(),
        )
        .col(
            ColumnDef::new(ScheduledRuns::Kind)
                .string_len(32)
                .not_null(),
        )
        .col(
            ColumnDef::new(ScheduledRuns::TicketId)
                .big_integer()
                .not_null(),
        )
        .col(
            ColumnDef::new(ScheduledRuns::Step)
                .string_len(32)
                .not_null(),
        )
        .col(
            ColumnDef::new(ScheduledRuns::Anchor)
                .timestamp_with_time_zone()
                .not_null(),
        )
        .col(
            ColumnDef::new(ScheduledRuns::DueAt)
                .timestamp_with_time_zone()
                .not_null(),
        )
        .col(
            ColumnDef::new(ScheduledRuns::RanAt)
                .timestamp_with_time_zone()
                .not_null(),
        )
        .col(
            ColumnDef::new(ScheduledRuns::Outcome)
                .string_len(16)
                .not_null(),
        )
        .col(
            ColumnDef::new(ScheduledRuns::Late)
                .boolean()
                .not_null()
                .default(false),
        )
        .foreign_key(
            ForeignKey::create()
                .name("scheduled_runs_ticket")
                .from(ScheduledRuns::Table, ScheduledRuns::TicketId)
                .to(Tickets::Table, Tickets::Id),
        )
        .to_owned()
}

fn closed_days() -> TableCreateStatement {
    Table::create()
        .table(ClosedDays::Table)
        .col(
            ColumnDef::new(ClosedDays::Day)
                .date()
                .not_null()
                .primary_key(),
        )
        .col(ColumnDef::new(ClosedDays::Label).string_len(200).not_null())
        .col(ColumnDef::new(ClosedDays::CreatedBy).big_integer().null())
        .col(
            ColumnDef::new(ClosedDays::CreatedAt)
                .timestamp_with_time_zone()
                .not_null(),
        )
        .foreign_key(
            ForeignKey::create()
                .name("closed_days_created_by")
                .from(ClosedDays::Table, ClosedDays::CreatedBy)
                .to(Users::Table, Users::Id),
        )
        .to_owned()
}
