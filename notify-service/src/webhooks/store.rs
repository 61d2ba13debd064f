//! Webhooks as data: making, changing, rotating and deleting them, and reading a caller's
//! own (or anyone's, for an ADMIN). Someone else's hook is NOT_FOUND, like an invisible
//! ticket: a caller cannot tell it from a missing one.

use super::{address, config::HookSettings, signature};
use crate::error::{Result, ServiceError};
use chrono::{DateTime, Utc};
use common::{Principal, Role, TicketEventKind, TicketState, WebhookDeliveryStatus};
use db::entity::{webhook, webhook_delivery};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

/// How long a rotated-out secret still signs.
pub const ROTATION_OVERLAP: chrono::Duration = chrono::Duration::hours(24);

/// The longest description.
const MAX_DESCRIPTION: usize = 500;

/// Which events a hook wants.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Event kinds; empty for all.
    pub events: Vec<TicketEventKind>,
    /// Ticket states after the change; empty for all.
    pub states: Vec<TicketState>,
    /// One ticket only.
    pub ticket_id: Option<i64>,
}

/// A new hook.
#[derive(Debug, Clone)]
pub struct NewHook {
    /// Where to POST.
    pub url: String,
    /// For people.
    pub description: String,
    /// What it receives.
    pub filter: Filter,
}

/// Changes to a hook; `None` keeps a value.
#[derive(Debug, Clone, Default)]
pub struct Patch {
    /// A new URL.
    pub url: Option<String>,
    /// A new description.
    pub description: Option<String>,
    /// New event kinds.
    pub events: Option<Vec<TicketEventKind>>,
    /// New states.
    pub states: Option<Vec<TicketState>>,
    /// A new ticket (`Some(None)` for every ticket).
    pub ticket_id: Option<Option<i64>>,
    /// Enables or disables it.
    pub active: Option<bool>,
}

/// Names stored comma-separated.
pub fn join<T: std::fmt::Display>(values: &[T]) -> String {
    values
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// The names of a comma-separated column (unknown ones are dropped).
pub fn split<T: std::str::FromStr>(stored: &str) -> Vec<T> {
    stored
        .split(',')
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse().ok())
        .collect()
}

fn check_url(settings: &HookSettings, url: &str) -> Result<String> {
    address::check_url(url, settings.allow_http, settings.allow_private)
        .map(|u| u.to_string())
        .map_err(|message| ServiceError::bad_input("url", message))
}

fn check_description(description: &str) -> Result<String> {
    let description = description.trim();
    if description.chars().count() > MAX_DESCRIPTION {
        return Err(ServiceError::bad_input(
            "description",
            format!("the description is longer than {MAX_DESCRIPTION} characters"),
        ));
    }
    Ok(description.to_string())
}

/// The ticket of a filter must be one the caller sees (NOT_FOUND otherwise, as everywhere).
async fn check_ticket(db: &DatabaseConnection, caller: &Principal, id: Option<i64>) -> Result<()> {
    if let Some(id) = id
        && ticket_domain::visibility::find_visible(db, caller, id)
            .await?
            .is_none()
    {
        return Err(ServiceError::NotFound("ticket"));
    }
    Ok(())
}

/// Refuses a hook over the caller's limits: how many they have, how many they made in the
/// last hour.
async fn check_limits(db: &DatabaseConnection, settings: &HookSettings, owner: i64) -> Result<()> {
    let mine = webhook::Entity::find().filter(webhook::Column::OwnerId.eq(owner));
    if mine.clone().count(db).await? >= settings.max_per_user {
        return Err(ServiceError::bad_input(
            "url",
            format!(
                "you have {} webhooks, the most one person may have; delete one first",
                settings.max_per_user
            ),
        ));
    }
    let hour_ago = db::now() - chrono::Duration::hours(1);
    let recent = mine
        .filter(webhook::Column::CreatedAt.gt(hour_ago))
        .count(db)
        .await?;
    if recent >= settings.create_per_hour {
        return Err(ServiceError::RateLimited(format!(
            "you made {recent} webhooks in the last hour; try again later"
        )));
    }
    Ok(())
}

/// Makes a hook for `caller`; answers it and its secret (shown this once).
pub async fn create(
    db: &DatabaseConnection,
    settings: &HookSettings,
    caller: &Principal,
    new: NewHook,
) -> Result<(webhook::Model, String)> {
    let owner = caller.user_id.ok_or(ServiceError::Unauthenticated)?;
    let url = check_url(settings, &new.url)?;
    let description = check_description(&new.description)?;
    check_ticket(db, caller, new.filter.ticket_id).await?;
    check_limits(db, settings, owner).await?;
    let secret = signature::new_secret();
    let now = db::now();
    let row = webhook::ActiveModel {
        owner_id: Set(owner),
        url: Set(url),
        description: Set(description),
        events: Set(join(&new.filter.events)),
        states: Set(join(&new.filter.states)),
        ticket_id: Set(new.filter.ticket_id),
        secret: Set(secret.clone()),
        previous_secret: Set(None),
        previous_secret_until: Set(None),
        active: Set(true),
        disabled_reason: Set(None),
        failing_since: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok((row, secret))
}

/// The hook `id` if `caller` owns it or is an ADMIN; NOT_FOUND otherwise.
pub async fn find(db: &DatabaseConnection, caller: &Principal, id: i64) -> Result<webhook::Model> {
    let me = caller.user_id.ok_or(ServiceError::Unauthenticated)?;
    match webhook::Entity::find_by_id(id).one(db).await? {
        Some(hook) if hook.owner_id == me || caller.has_role(Role::Admin) => Ok(hook),
        _ => Err(ServiceError::NotFound("webhook")),
    }
}

/// The hooks of `owner` (the caller's own without one; someone else's for an ADMIN only),
/// oldest first.
pub async fn list(
    db: &DatabaseConnection,
    caller: &Principal,
    owner: Option<i64>,
) -> Result<Vec<webhook::Model>> {
    let me = caller.user_id.ok_or(ServiceError::Unauthenticated)?;
    let owner = owner.unwrap_or(me);
    if owner != me && !caller.has_role(Role::Admin) {
        return Err(ServiceError::Forbidden(
            "only an administrator may list someone else's webhooks".into(),
        ));
    }
    Ok(webhook::Entity::find()
        .filter(webhook::Column::OwnerId.eq(owner))
        .order_by_asc(webhook::Column::Id)
        .all(db)
        .await?)
}

/// Applies `patch` to hook `id`. Enabling a hook clears why it was disabled and its failure
/// streak; its waiting deliveries resume.
pub async fn update(
    db: &DatabaseConnection,
    settings: &HookSettings,
    caller: &Principal,
    id: i64,
    patch: Patch,
) -> Result<webhook::Model> {
    let hook = find(db, caller, id).await?;
    let mut row: webhook::ActiveModel = hook.clone().into();
    if let Some(url) = &patch.url {
        row.url = Set(check_url(settings, url)?);
    }
    if let Some(description) = &patch.description {
        row.description = Set(check_description(description)?);
    }
    if let Some(events) = &patch.events {
        row.events = Set(join(events));
    }
    if let Some(states) = &patch.states {
        row.states = Set(join(states));
    }
    if let Some(ticket) = patch.ticket_id {
        check_ticket(db, caller, ticket).await?;
        row.ticket_id = Set(ticket);
    }
    match patch.active {
        Some(true) if !hook.active => {
            row.active = Set(true);
            row.disabled_reason = Set(None);
            row.failing_since = Set(None);
        }
        Some(false) if hook.active => {
            row.active = Set(false);
            row.disabled_reason = Set(Some("disabled by a person".into()));
        }
        _ => {}
    }
    row.updated_at = Set(db::now());
    Ok(row.update(db).await?)
}

/// Deletes hook `id` and its deliveries; answers the hook as it was.
pub async fn delete(
    db: &DatabaseConnection,
    caller: &Principal,
    id: i64,
) -> Result<webhook::Model> {
    let hook = find(db, caller, id).await?;
    webhook::Entity::delete_by_id(hook.id).exec(db).await?;
    Ok(hook)
}

/// A new secret for hook `id` (answered this once); the current one keeps signing, beside
/// the new one, for `ROTATION_OVERLAP`.
pub async fn rotate(
    db: &DatabaseConnection,
    caller: &Principal,
    id: i64,
) -> Result<(webhook::Model, String)> {
    let hook = find(db, caller, id).await?;
    let secret = signature::new_secret();
    let now = db::now();
    let mut row: webhook::ActiveModel = hook.clone().into();
    row.previous_secret = Set(Some(hook.secret));
    row.previous_secret_until = Set(Some(now + ROTATION_OVERLAP));
    row.secret = Set(secret.clone());
    row.updated_at = Set(now);
    Ok((row.update(db).await?, secret))
}

/// The secrets that sign a request to `hook` at `now`: the current one, and the previous
/// one during its overlap.
pub fn signing_secrets(hook: &webhook::Model, now: DateTime<Utc>) -> Vec<&str> {
    let mut secrets = vec![hook.secret.as_str()];
    if let (Some(previous), Some(until)) = (&hook.previous_secret, hook.previous_secret_until)
        && until > now
    {
        secrets.push(previous.as_str());
    }
    secrets
}

/// A page of hook `hook`'s deliveries, newest first, after the delivery id `after`; one
/// more than `first` is read to tell whether there are more.
pub async fn deliveries(
    db: &DatabaseConnection,
    hook: i64,
    first: u64,
    after: Option<i64>,
) -> Result<(Vec<webhook_delivery::Model>, bool, u64)> {
    let all = webhook_delivery::Entity::find().filter(webhook_delivery::Column::WebhookId.eq(hook));
    let total = all.clone().count(db).await?;
    let mut page = all;
    if let Some(after) = after {
        page = page.filter(webhook_delivery::Column::Id.lt(after));
    }
    let mut rows = page
        .order_by_desc(webhook_delivery::Column::Id)
        .limit(first + 1)
        .all(db)
        .await?;
    let more = rows.len() as u64 > first;
    rows.truncate(usize::try_from(first).unwrap_or(usize::MAX));
    Ok((rows, more, total))
}

/// The delivery `id`, if the caller may see its hook.
pub async fn find_delivery(
    db: &DatabaseConnection,
    caller: &Principal,
    id: i64,
) -> Result<(webhook_delivery::Model, webhook::Model)> {
    let delivery = webhook_delivery::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound("webhook delivery"))?;
    let hook = find(db, caller, delivery.webhook_id)
        .await
        .map_err(|_| ServiceError::NotFound("webhook delivery"))?;
    Ok((delivery, hook))
}

/// Queues delivery `id` again, at once, with a fresh budget of attempts; the same body and
/// `webhook-id` are sent (a fresh timestamp and signature).
pub async fn redeliver(
    db: &DatabaseConnection,
    caller: &Principal,
    id: i64,
) -> Result<webhook_delivery::Model> {
    let (delivery, hook) = find_delivery(db, caller, id).await?;
    if !hook.active {
        return Err(ServiceError::bad_input(
            "id",
            "the webhook is disabled; enable it before redelivering",
        ));
    }
    let mut row: webhook_delivery::ActiveModel = delivery.into();
    row.status = Set(WebhookDeliveryStatus::Pending.as_str().into());
    row.attempts = Set(0);
    row.next_attempt_at = Set(Some(db::now()));
    row.claimed_until = Set(None);
    Ok(row.update(db).await?)
}

/// Queues a test event (`webhook.test`) to hook `id`.
pub async fn send_test(
    db: &DatabaseConnection,
    caller: &Principal,
    id: i64,
) -> Result<webhook_delivery::Model> {
    let hook = find(db, caller, id).await?;
    if !hook.active {
        return Err(ServiceError::bad_input(
            "id",
            "the webhook is disabled; enable it before sending a test event",
        ));
    }
    let now = db::now();
    let body = super::payload::test_event(hook.id, now);
    Ok(webhook_delivery::ActiveModel {
        webhook_id: Set(hook.id),
        event_id: Set(None),
        ticket_id: Set(None),
        event_type: Set(super::payload::TEST_TYPE.into()),
        payload: Set(body.to_string()),
        status: Set(WebhookDeliveryStatus::Pending.as_str().into()),
        attempts: Set(0),
        next_attempt_at: Set(Some(now)),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?)
}
