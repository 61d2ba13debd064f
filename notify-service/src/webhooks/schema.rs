//! The webhook root fields: `webhooks`, `webhook`, and the mutations that make, change,
//! rotate, delete, redeliver and test. They require a session at the gateway (API tokens
//! never reach them); here, a signed-in caller acting on their own hooks, or an ADMIN.

use super::{config::HookSettings, store, types::*};
use crate::error::ServiceError;
use async_graphql::{Context, ID, Object, Result};
use common::subgraph::{caller, db, signed_in};

fn settings<'a>(ctx: &Context<'a>) -> &'a HookSettings {
    ctx.data_unchecked::<HookSettings>()
}

/// The webhook reads.
#[derive(Debug, Default)]
pub struct WebhookQuery;

#[Object]
impl WebhookQuery {
    /// The caller's webhooks, oldest first; an ADMIN may name anyone (`ownerId`).
    async fn webhooks(&self, ctx: &Context<'_>, owner_id: Option<ID>) -> Result<Vec<Webhook>> {
        signed_in(ctx)?;
        let owner = owner_id
            .as_ref()
            .map(|id| parse_id("ownerId", id))
            .transpose()?;
        let hooks = store::list(db(ctx), caller(ctx), owner).await?;
        Ok(hooks.into_iter().map(Webhook).collect())
    }

    /// One of the caller's webhooks (anyone's for an ADMIN); null otherwise.
    async fn webhook(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Webhook>> {
        signed_in(ctx)?;
        let id = parse_id("id", &id)?;
        match store::find(db(ctx), caller(ctx), id).await {
            Ok(hook) => Ok(Some(Webhook(hook))),
            Err(ServiceError::NotFound(_)) => Ok(None),
            Err(err) => Err(err.into()),
        }
    }
}

/// The webhook changes.
#[derive(Debug, Default)]
pub struct WebhookMutation;

#[Object]
impl WebhookMutation {
    /// Registers a webhook acting as the caller; answers it and its signing secret, shown
    /// this once.
    async fn create_webhook(
        &self,
        ctx: &Context<'_>,
        input: CreateWebhookInput,
    ) -> Result<CreatedWebhook> {
        signed_in(ctx)?;
        let new = input.into_new()?;
        let (hook, secret) = store::create(db(ctx), settings(ctx), caller(ctx), new).await?;
        Ok(CreatedWebhook {
            webhook: Webhook(hook),
            secret,
        })
    }

    /// Changes a webhook; `active: true` enables a disabled one.
    async fn update_webhook(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateWebhookInput,
    ) -> Result<Webhook> {
        signed_in(ctx)?;
        let id = parse_id("id", &id)?;
        let patch = input.into_patch()?;
        let hook = store::update(db(ctx), settings(ctx), caller(ctx), id, patch).await?;
        Ok(Webhook(hook))
    }

    /// Deletes a webhook and its deliveries; answers it as it was.
    async fn delete_webhook(&self, ctx: &Context<'_>, id: ID) -> Result<Webhook> {
        signed_in(ctx)?;
        let id = parse_id("id", &id)?;
        Ok(Webhook(store::delete(db(ctx), caller(ctx), id).await?))
    }

    /// A new signing secret, shown this once; the previous one keeps signing beside it for
    /// 24 hours, so a receiver can switch without losing a request.
    async fn rotate_webhook_secret(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<RotatedWebhookSecret> {
        signed_in(ctx)?;
        let id = parse_id("id", &id)?;
        let (hook, secret) = store::rotate(db(ctx), caller(ctx), id).await?;
        Ok(RotatedWebhookSecret {
            webhook: Webhook(hook),
            secret,
        })
    }

    /// Sends a delivery again, now, with the same body and `webhook-id` and a fresh budget
    /// of attempts.
    async fn redeliver_webhook_delivery(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<WebhookDelivery> {
        signed_in(ctx)?;
        let id = parse_id("id", &id)?;
        Ok(WebhookDelivery(
            store::redeliver(db(ctx), caller(ctx), id).await?,
        ))
    }

    /// Sends a `webhook.test` event to a webhook; answers its delivery.
    async fn send_test_webhook_event(&self, ctx: &Context<'_>, id: ID) -> Result<WebhookDelivery> {
        signed_in(ctx)?;
        let id = parse_id("id", &id)?;
        Ok(WebhookDelivery(
            store::send_test(db(ctx), caller(ctx), id).await?,
        ))
    }
}
