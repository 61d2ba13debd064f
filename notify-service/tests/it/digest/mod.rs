//! Digests with a moved clock: the fixture (notify-service's subgraph and email worker on one
//! stream, digest workers on their own pools and a manual clock) and, in `cadences`, a daily
//! and a weekly digest and the preferences behind them; in `outage`, workers together,
//! restarted and down for days.

use crate::support::{Backend, Fixture};
use chrono::{DateTime, Datelike, Duration, Utc};
use common::{
    Cadence, NotificationChannel, NotificationTopic, Principal, Role, TicketEventMessage,
    TokenMinter,
    clock::{Clock, ManualClock},
    config::CommonSettings,
    stream::EventStream,
};
use db::entity::{digest, notification, outbox::TICKET_EVENTS};
use notify_service::{
    MailSettings,
    digest::{Runner, Settings, when::Schedule},
    preferences::{self, Change},
    worker,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use std::{collections::HashMap, path::PathBuf};

/// notify-service's subgraph and email worker on one stream, emails to an outbox.
pub(super) struct Digests {
    pub(super) fx: Fixture,
    pub(super) stream: EventStream,
    pub(super) data: PathBuf,
    pub(super) env: HashMap<&'static str, String>,
    pub(super) graphql: String,
    pub(super) minter: TokenMinter,
}

/// Every field of `NotificationPreferences`.
pub(super) const FIELDS: &str =
    "email notes timeZone digestHour digestWeekday deliveries { topic channel cadence }";

impl Digests {
    pub(super) async fn start(backend: &Backend) -> Self {
        let fx = Fixture::new(backend).await;
        let data = std::env::temp_dir().join(format!("tessera-digest-{}", uuid::Uuid::new_v4()));
        let env: HashMap<&'static str, String> = HashMap::from([
            ("DATABASE_URL", fx.database.url.clone()),
            ("DATA_DIR", data.display().to_string()),
            ("MAIL_FROM", "Tessera <tessera@test.edu>".to_string()),
        ]);
        // PostgreSQL with Redis, as in production; SQLite with the in-process stream.
        let redis = match backend {
            Backend::Postgres(_) => testkit::redis_or_skip().await,
            Backend::Sqlite => None,
        };
        let stream = match redis {
            Some(url) => {
                let mut with_redis = env.clone();
                with_redis.insert("REDIS_URL", url);
                EventStream::open(&Self::common_of(&with_redis))
                    .await
                    .unwrap()
            }
            None => EventStream::memory(),
        };
        let minter = TokenMinter::new(biscuit_auth::KeyPair::new());
        let common = Self::common_of(&env);
        let settings = notify_service::Settings {
            common: common.clone(),
            port: 0,
            verifier: minter.verifier(),
        };
        let view: HashMap<&str, &str> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let hooks = notify_service::HookSettings::from_source(&view, &common).unwrap();
        let server =
            notify_service::Application::serve(settings, fx.db.clone(), hooks, stream.clone())
                .await
                .unwrap();
        let graphql = format!("http://127.0.0.1:{}/graphql", server.port());
        tokio::spawn(server.run_until_stopped());
        let me = Self {
            fx,
            stream,
            data,
            env,
            graphql,
            minter,
        };
        worker::Worker::new(me.fx.db.clone(), me.stream.clone(), me.mail(&[]))
            .unwrap()
            .start();
        me
    }

    fn common_of(env: &HashMap<&'static str, String>) -> CommonSettings {
        let view: HashMap<&str, &str> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        CommonSettings::from_source(&view).unwrap()
    }

    /// The mail settings, with `extra` variables.
    pub(super) fn mail(&self, extra: &[(&'static str, String)]) -> MailSettings {
        let mut env = self.env.clone();
        env.extend(extra.iter().cloned());
        let view: HashMap<&str, &str> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        MailSettings::from_source(&view, &Self::common_of(&self.env)).unwrap()
    }

    /// A digest worker over its own pool on `clock`, sending as `mail` says.
    pub(super) async fn runner(&self, clock: &Clock, mail: MailSettings) -> Runner {
        let db = db::connect(&self.fx.database.url).await.unwrap();
        let settings = Settings {
            tick: std::time::Duration::from_secs(1),
        };
        Runner::new(db, self.stream.clone(), mail, settings, clock.clone()).unwrap()
    }

    pub(super) async fn gql(&self, user: i64, query: &str, variables: Value) -> Value {
        let principal = Principal::user(user, vec![Role::Faculty], vec![]);
        reqwest::Client::new()
            .post(&self.graphql)
            .bearer_auth(self.minter.mint(&principal).unwrap())
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Publishes `events` and waits until `rows` notification rows exist, none QUEUED.
    pub(super) async fn deliver(&self, events: &[TicketEventMessage], rows: usize) {
        for event in events {
            let payload = serde_json::to_string(event).unwrap();
            self.stream.publish(TICKET_EVENTS, &payload).await.unwrap();
        }
        assert_eq!(self.fx.settled(rows).await.len(), rows);
    }

    /// The outbox's digest files' contents, by name.
    pub(super) fn digest_files(&self) -> Vec<(String, String)> {
        let mut found: Vec<(String, String)> = std::fs::read_dir(self.data.join("outbox"))
            .map(|dir| {
                dir.filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|name| name.starts_with("digest-"))
                    .map(|name| {
                        let text =
                            std::fs::read_to_string(self.data.join("outbox").join(&name)).unwrap();
                        (name, text)
                    })
                    .collect()
            })
            .unwrap_or_default();
        found.sort();
        found
    }

    pub(super) async fn digests(&self) -> Vec<digest::Model> {
        digest::Entity::find()
            .order_by_asc(digest::Column::Id)
            .all(&self.fx.db)
            .await
            .unwrap()
    }

    pub(super) async fn unread(&self, user: i64) -> i64 {
        let answer = self.gql(user, "{ inboxUnreadCount }", json!({})).await;
        answer["data"]["inboxUnreadCount"]
            .as_i64()
            .unwrap_or_else(|| panic!("{answer}"))
    }

    pub(super) async fn stop(self) {
        std::fs::remove_dir_all(&self.data).ok();
        self.fx.cleanup().await;
    }
}

/// The state changes of `user` on both channels at `cadence`, at `hour` in `zone`, weekly on
/// `weekday`.
pub(super) fn digest_of(
    cadence: Cadence,
    zone: chrono_tz::Tz,
    hour: u32,
    weekday: chrono::Weekday,
) -> Change {
    Change {
        cadences: vec![
            (
                NotificationTopic::StateChanges,
                NotificationChannel::Email,
                cadence,
            ),
            (
                NotificationTopic::StateChanges,
                NotificationChannel::InApp,
                cadence,
            ),
        ],
        time_zone: Some(Some(zone)),
        digest_hour: Some(hour),
        digest_weekday: Some(weekday),
        ..Change::default()
    }
}

pub(super) async fn waiting_rows(fx: &Fixture, user: i64) -> Vec<notification::Model> {
    notification::Entity::find()
        .filter(notification::Column::RecipientId.eq(user))
        .order_by_asc(notification::Column::Id)
        .all(&fx.db)
        .await
        .unwrap()
}

pub(super) async fn tick(
    runner: &Runner,
    hand: &ManualClock,
    at: DateTime<Utc>,
) -> notify_service::digest::Tick {
    hand.set(at);
    runner.tick().await.unwrap()
}

mod cadences;
mod outage;
