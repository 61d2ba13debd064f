//! The documented read model of emails and webhook deliveries for the gateway: how many
//! there are in each status and how many wait, for its `/metrics`, without knowing
//! notify-service's tables. notify-service owns `notifications`, `webhooks` and
//! `webhook_deliveries`; the gateway reads them only through here.

use common::{NotificationStatus, WebhookDeliveryStatus};
use db::entity::{notification, webhook, webhook_delivery};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
    sea_query::{Expr, Query},
};

/// The number of emails in every status (a status with none counts 0), in
/// `NotificationStatus::ALL`'s order.
pub async fn email_counts(
    db: &DatabaseConnection,
) -> Result<Vec<(NotificationStatus, i64)>, DbErr> {
    let by_status: Vec<(String, i64)> = notification::Entity::find()
        .select_only()
        .column(notification::Column::Status)
        .column_as(Expr::col(notification::Column::Id).count(), "n")
        .group_by(notification::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    Ok(NotificationStatus::ALL
        .iter()
        .map(|&status| {
            let count = by_status
                .iter()
                .find(|(s, _)| s == status.as_str())
                .map_or(0, |(_, n)| *n);
            (status, count)
        })
        .collect())
}

/// The number of webhook deliveries in every status (a status with none counts 0), in
/// `WebhookDeliveryStatus::ALL`'s order.
pub async fn webhook_delivery_counts(
    db: &DatabaseConnection,
) -> Result<Vec<(WebhookDeliveryStatus, i64)>, DbErr> {
    let by_status: Vec<(String, i64)> = webhook_delivery::Entity::find()
        .select_only()
        .column(webhook_delivery::Column::Status)
        .column_as(Expr::col(webhook_delivery::Column::Id).count(), "n")
        .group_by(webhook_delivery::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    Ok(WebhookDeliveryStatus::ALL
        .iter()
        .map(|&status| {
            let count = by_status
                .iter()
                .find(|(s, _)| s == status.as_str())
                .map_or(0, |(_, n)| *n);
            (status, count)
        })
        .collect())
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
