//! The documented read model of emails and webhook deliveries for the gateway: how many
//! there are in each status and how many wait, for its `/metrics`, without knowing
//! notify-service's tables. notify-service owns `notifications`, `digests`, `webhooks` and
//! `webhook_deliveries`; the gateway reads them only through here.

use common::{NotificationStatus, WebhookDeliveryStatus};
use db::entity::{digest, notification, webhook, webhook_delivery};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
    Select,
    sea_query::{Expr, Query},
};

/// The number of emails in every status (a status with none counts 0), in
/// `NotificationStatus::ALL`'s order.
pub async fn email_counts(
    db: &DatabaseConnection,
) -> Result<Vec<(NotificationStatus, i64)>, DbErr> {
    let by_status = by_status(
        notification::Entity::find(),
        notification::Column::Status,
        notification::Column::Id,
        db,
    )
    .await?;
    Ok(every(
        NotificationStatus::ALL,
        NotificationStatus::as_str,
        &by_status,
    ))
}

/// The number of webhook deliveries in every status (a status with none counts 0), in
/// `WebhookDeliveryStatus::ALL`'s order.
pub async fn webhook_delivery_counts(
    db: &DatabaseConnection,
) -> Result<Vec<(WebhookDeliveryStatus, i64)>, DbErr> {
    let by_status = by_status(
        webhook_delivery::Entity::find(),
        webhook_delivery::Column::Status,
        webhook_delivery::Column::Id,
        db,
    )
    .await?;
    Ok(every(
        WebhookDeliveryStatus::ALL,
        WebhookDeliveryStatus::as_str,
        &by_status,
    ))
}

/// The rows of `select` counted by `status`.
async fn by_status<E: EntityTrait>(
    select: Select<E>,
    status: E::Column,
    id: E::Column,
    db: &DatabaseConnection,
) -> Result<Vec<(String, i64)>, DbErr> {
    select
        .select_only()
        .column(status)
        .column_as(Expr::col(id).count(), "n")
        .group_by(status)
        .into_tuple()
        .all(db)
        .await
}

/// Every status of `all` with its count in `by_status` (0 when absent).
fn every<T: Copy>(
    all: &[T],
    name: fn(T) -> &'static str,
    by_status: &[(String, i64)],
) -> Vec<(T, i64)> {
    all.iter()
        .map(|&status| {
            let count = by_status
                .iter()
                .find(|(s, _)| s == name(status))
                .map_or(0, |(_, n)| *n);
            (status, count)
        })
        .collect()
}

/// Webhook deliveries waiting to be sent (PENDING or RETRYING) to hooks that are enabled.
pub async fn webhook_backlog(db: &DatabaseConnection) -> Result<u64, DbErr> {
    let active = Query::select()
        .column(webhook::Column::Id)
        .from(webhook::Entity)
        .and_where(webhook::Column::Active.eq(true))
        .to_owned();
    webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::Status.is_in([
            WebhookDeliveryStatus::Pending.as_str(),
            WebhookDeliveryStatus::Retrying.as_str(),
        ]))
        .filter(webhook_delivery::Column::WebhookId.in_subquery(active))
        .count(db)
        .await
}

/// The number of digests in each status (QUEUED, SENT, FAILED; 0 when none).
pub async fn digest_counts(db: &DatabaseConnection) -> Result<Vec<(&'static str, i64)>, DbErr> {
    let by_status = by_status(
        digest::Entity::find(),
        digest::Column::Status,
        digest::Column::Id,
        db,
    )
    .await?;
    Ok(every(
        &[digest::QUEUED, digest::SENT, digest::FAILED],
        |s| s,
        &by_status,
    ))
}

/// Digests composed more than `late_after` after they were due (no worker ran meanwhile).
pub async fn digests_late(
    db: &DatabaseConnection,
    late_after: chrono::Duration,
) -> Result<u64, DbErr> {
    // Compared in Rust: the two databases subtract timestamps differently.
    let times: Vec<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)> =
        digest::Entity::find()
            .select_only()
            .columns([digest::Column::DueAt, digest::Column::CreatedAt])
            .filter(Expr::col(digest::Column::CreatedAt).gt(Expr::col(digest::Column::DueAt)))
            .into_tuple()
            .all(db)
            .await?;
    Ok(times
        .into_iter()
        .filter(|(due, composed)| *composed - *due > late_after)
        .count() as u64)
}

/// Emails waiting for their recipient's digest (DIGEST rows no digest took yet).
pub async fn digest_backlog(db: &DatabaseConnection) -> Result<u64, DbErr> {
    notification::Entity::find()
        .filter(Expr::cust("status = 'DIGEST' AND digest_id IS NULL"))
        .count(db)
        .await
}
