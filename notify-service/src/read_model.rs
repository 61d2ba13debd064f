//! The documented read model of emails for the gateway: how many notifications there are in
//! each status, for its `/metrics`, without knowing notify-service's table. notify-service
//! owns the `notifications` table; the gateway reads it only through here.

use common::NotificationStatus;
use db::entity::notification;
use sea_orm::{DatabaseConnection, DbErr, EntityTrait, QuerySelect, sea_query::Expr};

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
