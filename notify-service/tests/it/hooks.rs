//! The webhook harness: notify-service's subgraph (webhook settings for tests: plain http
//! and loopback allowed, retries in milliseconds), the delivery worker on an in-process
//! stream, a receiver that verifies with the reference library, and GraphQL calls signed as
//! the gateway would sign them.

use crate::receiver::Receiver;
use crate::support::{Backend, Fixture};
use common::{
    Principal, Role, TicketEventMessage, TokenMinter, config::CommonSettings, stream::EventStream,
};
use db::entity::{outbox::TICKET_EVENTS, user, webhook_delivery};
use notify_service::HookSettings;
use sea_orm::{ActiveModelTrait, EntityTrait, QueryOrder, Set};
use serde_json::{Value, json};
use std::{collections::HashMap, time::Duration};

pub struct Hooks {
    pub fx: Fixture,
    /// Where the worker's emails go (`.eml` files).
    pub outbox: std::path::PathBuf,
    pub receiver: Receiver,
    pub stream: EventStream,
    graphql: String,
    minter: TokenMinter,
}

/// The settings of the tests: `extra` over http and loopback allowed and quick retries.
pub fn settings(database_url: &str, extra: &[(&str, &str)]) -> HookSettings {
    let mut env = HashMap::from([
        ("DATABASE_URL", database_url),
        ("WEBHOOK_ALLOW_HTTP", "true"),
        ("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", "true"),
        ("WEBHOOK_RETRY_BASE_MS", "20"),
        ("WEBHOOK_RETRY_MAX_MS", "100"),
        ("WEBHOOK_TIMEOUT_MS", "2000"),
    ]);
    env.extend(extra.iter().copied());
    let common = CommonSettings::from_source(&env).unwrap();
    HookSettings::from_source(&env, &common).unwrap()
}

impl Hooks {
    /// The subgraph and the worker, both with `extra` settings.
    pub async fn start(backend: &Backend, extra: &[(&str, &str)]) -> Self {
        Self::start_with(backend, extra, extra).await
    }

    /// The subgraph with `subgraph` settings, the worker with `worker` settings.
    pub async fn start_with(
        backend: &Backend,
        subgraph: &[(&str, &str)],
        worker: &[(&str, &str)],
    ) -> Self {
        let fx = Fixture::new(backend).await;
        let minter = TokenMinter::new(biscuit_auth::KeyPair::new());
        let env = HashMap::from([("DATABASE_URL", fx.database.url.as_str())]);
        let app = notify_service::Settings {
            common: CommonSettings::from_source(&env).unwrap(),
            port: 0,
            verifier: minter.verifier(),
        };
        let hooks = settings(&fx.database.url, subgraph);
        let server = notify_service::Application::build_with_hooks(app, fx.db.clone(), hooks)
            .await
            .unwrap();
        let graphql = format!("http://127.0.0.1:{}/graphql", server.port());
        tokio::spawn(server.run_until_stopped());
        let stream = EventStream::memory();
        let outbox = std::env::temp_dir().join(format!("tessera-hooks-{}", uuid::Uuid::new_v4()));
        let mailer = notify_service::mailer::Mailer::Outbox {
            dir: outbox.clone(),
            from: "Tessera <tessera@test.edu>".parse().unwrap(),
        };
        notify_service::webhooks::worker::Worker::new(
            fx.db.clone(),
            stream.clone(),
            settings(&fx.database.url, worker),
        )
        .unwrap()
        .notifying(mailer)
        .start();
        Self {
            outbox,
            receiver: Receiver::start().await,
            fx,
            stream,
            graphql,
            minter,
        }
    }

    /// A new active user with `roles`.
    pub async fn person(&self, email: &str, roles: &[Role]) -> i64 {
        let now = db::now();
        user::ActiveModel {
            email: Set(email.into()),
            name: Set(email.into()),
            roles: Set(user::format_roles(roles)),
            password_hash: Set(None),
            active: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&self.fx.db)
        .await
        .unwrap()
        .id
    }

    /// Answers `query` with `variables` for `who` (a user id and their roles).
    pub async fn gql(&self, who: (i64, &[Role]), query: &str, variables: Value) -> Value {
        let principal = Principal::user(who.0, who.1.to_vec(), vec![]);
        let token = self.minter.mint(&principal).unwrap();
        reqwest::Client::new()
            .post(&self.graphql)
            .bearer_auth(token)
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Makes a hook for `who` to the receiver with `filter` (extra input fields); answers
    /// its id and secret.
    pub async fn create(&self, who: (i64, &[Role]), filter: Value) -> (String, String) {
        let mut input = json!({"url": self.receiver.url, "description": "test"});
        for (key, value) in filter.as_object().cloned().unwrap_or_default() {
            input[key] = value;
        }
        let r = self
            .gql(
                who,
                "mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { secret webhook { id } } }",
                json!({ "input": input }),
            )
            .await;
        let created = &r["data"]["createWebhook"];
        assert!(created.is_object(), "{r}");
        (
            created["webhook"]["id"].as_str().unwrap().to_string(),
            created["secret"].as_str().unwrap().to_string(),
        )
    }

    pub async fn publish(&self, events: &[TicketEventMessage]) {
        for event in events {
            self.stream
                .publish(TICKET_EVENTS, &serde_json::to_string(event).unwrap())
                .await
                .unwrap();
        }
    }

    pub async fn deliveries(&self) -> Vec<webhook_delivery::Model> {
        webhook_delivery::Entity::find()
            .order_by_asc(webhook_delivery::Column::Id)
            .all(&self.fx.db)
            .await
            .unwrap()
    }

    /// The deliveries once `count` exist and none is unfinished (or after a generous wait).
    pub async fn settled(&self, count: usize) -> Vec<webhook_delivery::Model> {
        let mut rows = Vec::new();
        for _ in 0..1_200 {
            rows = self.deliveries().await;
            if rows.len() >= count
                && rows
                    .iter()
                    .all(|r| r.status == "DELIVERED" || r.status == "FAILED")
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        rows
    }

    pub async fn cleanup(self) {
        std::fs::remove_dir_all(&self.outbox).ok();
        self.fx.cleanup().await;
    }
}

/// The error code of the first error of `r`.
pub fn code(r: &Value) -> &str {
    r["errors"][0]["extensions"]["code"].as_str().unwrap_or("")
}
