//! Schema migrations. Each runs unchanged on PostgreSQL and SQLite: tables through sea-query's
//! builder, and the two indexes it cannot express (an expression index and a partial index) as
//! SQL that both databases accept.

use sea_orm_migration::prelude::*;

mod m20261128_000001_initial;
mod m20261128_000002_notifications;
mod m20261128_000003_notification_lease;
mod m20261129_000001_export_jobs;
mod m20261202_000001_notification_retries;
mod m20261202_100001_user_role_changes;
mod m20261202_200001_webhooks;
mod m20261202_300001_ticket_due_at;
mod m20261203_000001_webhook_unfinished_index;
mod m20261203_100001_scheduler;
mod m20261203_200001_inbox_items;
mod m20261204_000001_digests;

/// Every migration, oldest first.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_initial::Migration),
            Box::new(m20261128_000002_notifications::Migration),
            Box::new(m20261128_000003_notification_lease::Migration),
            Box::new(m20261129_000001_export_jobs::Migration),
            Box::new(m20261202_000001_notification_retries::Migration),
            Box::new(m20261202_100001_user_role_changes::Migration),
            Box::new(m20261202_200001_webhooks::Migration),
            Box::new(m20261202_300001_ticket_due_at::Migration),
            Box::new(m20261203_000001_webhook_unfinished_index::Migration),
            Box::new(m20261203_100001_scheduler::Migration),
            Box::new(m20261203_200001_inbox_items::Migration),
            Box::new(m20261204_000001_digests::Migration),
        ]
    }
}
