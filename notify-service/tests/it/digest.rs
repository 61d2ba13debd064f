//! Digests with a moved clock: a daily and a weekly digest list what changed since the last
//! one (each change once), at the user's hour in their zone, none when nothing happened; the
//! inbox items held for a digest show at its moment; two workers compose each digest once;
//! a digest whose send failed is sent again by a restarted worker, once; and the preferences
//! behind it all, through GraphQL, with their errors.

use crate::on_both_databases;
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
struct Digests {
    fx: Fixture,
    stream: EventStream,
    data: PathBuf,
    env: HashMap<&'static str, String>,
    graphql: String,
    minter: TokenMinter,
}

/// Every field of `NotificationPreferences`.
const FIELDS: &str =
    "email notes timeZone digestHour digestWeekday deliveries { topic channel cadence }";

impl Digests {
    async fn start(backend: &Backend) -> Self {
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
    fn mail(&self, extra: &[(&'static str, String)]) -> MailSettings {
        let mut env = self.env.clone();
        env.extend(extra.iter().cloned());
        let view: HashMap<&str, &str> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        MailSettings::from_source(&view, &Self::common_of(&self.env)).unwrap()
    }

    /// A digest worker over its own pool on `clock`, sending as `mail` says.
    async fn runner(&self, clock: &Clock, mail: MailSettings) -> Runner {
        let db = db::connect(&self.fx.database.url).await.unwrap();
        let settings = Settings {
            tick: std::time::Duration::from_secs(1),
        };
        Runner::new(db, self.stream.clone(), mail, settings, clock.clone()).unwrap()
    }

    async fn gql(&self, user: i64, query: &str, variables: Value) -> Value {
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
    async fn deliver(&self, events: &[TicketEventMessage], rows: usize) {
        for event in events {
            let payload = serde_json::to_string(event).unwrap();
            self.stream.publish(TICKET_EVENTS, &payload).await.unwrap();
        }
        assert_eq!(self.fx.settled(rows).await.len(), rows);
    }

    /// The outbox's digest files' contents, by name.
    fn digest_files(&self) -> Vec<(String, String)> {
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

    async fn digests(&self) -> Vec<digest::Model> {
        digest::Entity::find()
            .order_by_asc(digest::Column::Id)
            .all(&self.fx.db)
            .await
            .unwrap()
    }

    async fn unread(&self, user: i64) -> i64 {
        let answer = self.gql(user, "{ inboxUnreadCount }", json!({})).await;
        answer["data"]["inboxUnreadCount"]
            .as_i64()
            .unwrap_or_else(|| panic!("{answer}"))
    }

    async fn stop(self) {
        std::fs::remove_dir_all(&self.data).ok();
        self.fx.cleanup().await;
    }
}

/// The state changes of `user` on both channels at `cadence`, at `hour` in `zone`, weekly on
/// `weekday`.
fn digest_of(cadence: Cadence, zone: chrono_tz::Tz, hour: u32, weekday: chrono::Weekday) -> Change {
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

async fn waiting_rows(fx: &Fixture, user: i64) -> Vec<notification::Model> {
    notification::Entity::find()
        .filter(notification::Column::RecipientId.eq(user))
        .order_by_asc(notification::Column::Id)
        .all(&fx.db)
        .await
        .unwrap()
}

async fn tick(
    runner: &Runner,
    hand: &ManualClock,
    at: DateTime<Utc>,
) -> notify_service::digest::Tick {
    hand.set(at);
    runner.tick().await.unwrap()
}

/// Three tickets granted: every email waits for its digest, the FSS's inbox items too.
async fn held_until_the_digests(d: &Digests) {
    let cast = d.fx.cast;
    d.deliver(&d.fx.granted_tickets(3).await, 6).await;
    for (user, held) in [(cast.fss, "DAILY"), (cast.faculty, "WEEKLY")] {
        let rows = waiting_rows(&d.fx, user).await;
        assert!(
            rows.iter()
                .all(|r| r.status == "DIGEST" && r.held_for.as_deref() == Some(held)),
            "{rows:?}"
        );
    }
    assert!(d.digest_files().is_empty());
    assert!(
        !d.data.join("outbox").exists()
            || std::fs::read_dir(d.data.join("outbox")).unwrap().count() == 0,
        "no single email went out"
    );
    assert_eq!(
        d.unread(cast.fss).await,
        0,
        "the FSS's items wait for the digest"
    );
    assert_eq!(
        d.unread(cast.faculty).await,
        3,
        "the faculty member's inbox is immediate"
    );
}

/// The FSS's first daily digest was sent, listing the three changes.
async fn first_daily_sent(d: &Digests) {
    let cast = d.fx.cast;
    let files = d.digest_files();
    assert_eq!(files.len(), 1);
    assert!(
        files[0]
            .1
            .contains("Your daily Tessera digest: 3 changes on 3 tickets"),
        "{}",
        files[0].1
    );
    let first = d.digests().await;
    assert_eq!(
        (first[0].user_id, first[0].changes, first[0].status.as_str()),
        (cast.fss, 3, "SENT")
    );
    assert!(
        waiting_rows(&d.fx, cast.fss)
            .await
            .iter()
            .all(|r| r.digest_id == Some(first[0].id))
    );
}

/// In the end: the FSS had two daily digests (3 changes, then 1), the faculty member one
/// weekly (all 4), each sent once.
async fn two_daily_and_one_weekly(d: &Digests) {
    let cast = d.fx.cast;
    let all = d.digests().await;
    let mine = |user| {
        all.iter()
            .filter(move |x| x.user_id == user)
            .map(|x| (x.cadence.as_str(), x.changes))
            .collect::<Vec<_>>()
    };
    assert_eq!(mine(cast.fss), [("DAILY", 3), ("DAILY", 1)]);
    assert_eq!(mine(cast.faculty), [("WEEKLY", 4)]);
    assert!(all.iter().all(|x| x.status == "SENT"));
    let files = d.digest_files();
    assert_eq!(files.len(), 3);
    assert!(
        files
            .iter()
            .any(|(_, text)| text.contains("Your weekly Tessera digest: 4 changes on 4 tickets"))
    );
}

async fn daily_and_weekly_digests_list_each_change_once_and_never_empty(backend: Backend) {
    let d = Digests::start(&backend).await;
    let cast = d.fx.cast;
    let t0 = Utc::now();
    let toronto = Schedule {
        zone: chrono_tz::America::Toronto,
        hour: 8,
        weekday: chrono::Weekday::Mon,
    };
    // The FSS reads a daily digest at 08:00 in Toronto, on both channels; the faculty member
    // a weekly one by email only, three days on at 17:00 UTC (after the FSS's first daily).
    let weekday = t0.weekday().succ().succ().succ();
    let weekly = Schedule {
        zone: chrono_tz::UTC,
        hour: 17,
        weekday,
    };
    preferences::update(
        &d.fx.db,
        cast.fss,
        &digest_of(Cadence::Daily, toronto.zone, 8, chrono::Weekday::Mon),
    )
    .await
    .unwrap();
    let mut faculty = digest_of(Cadence::Weekly, chrono_tz::UTC, 17, weekday);
    faculty.cadences[1].2 = Cadence::Immediate;
    preferences::update(&d.fx.db, cast.faculty, &faculty)
        .await
        .unwrap();

    held_until_the_digests(&d).await;

    let (clock, hand) = Clock::manual(t0);
    let runner = d.runner(&clock, d.mail(&[])).await;
    let other = d.runner(&clock, d.mail(&[])).await;
    assert_eq!(
        tick(&runner, &hand, t0).await.composed,
        0,
        "nothing is due yet"
    );

    // The FSS's first daily digest: the three changes, and their three inbox items.
    let daily = toronto
        .last_due(Cadence::Daily, t0 + Duration::days(1))
        .unwrap();
    assert!(daily > t0);
    let done = tick(&runner, &hand, daily).await;
    assert_eq!((done.composed, done.sent, done.released), (1, 1, 3));
    assert_eq!(tick(&other, &hand, daily).await.composed, 0, "never twice");
    assert_eq!(d.unread(cast.fss).await, 3);
    first_daily_sent(&d).await;

    // A day with nothing new: no digest.
    let quiet = tick(&runner, &hand, daily + Duration::days(1)).await;
    assert_eq!((quiet.composed, quiet.released), (0, 0));
    // One more change, then the next day's digest lists it alone.
    d.deliver(&d.fx.granted_tickets(1).await, 8).await;
    let weekly_due = weekly
        .last_due(Cadence::Weekly, t0 + Duration::days(4))
        .unwrap();
    let end = weekly_due.max(daily + Duration::days(2)) + Duration::minutes(1);
    tick(&runner, &hand, daily + Duration::days(2)).await;
    tick(&other, &hand, end).await;
    tick(&runner, &hand, end).await;

    two_daily_and_one_weekly(&d).await;
    d.stop().await;
}

async fn two_workers_compose_once_and_a_restart_sends_a_failed_digest_once(backend: Backend) {
    let d = Digests::start(&backend).await;
    let cast = d.fx.cast;
    let utc = digest_of(Cadence::Daily, chrono_tz::UTC, 6, chrono::Weekday::Mon);
    preferences::update(&d.fx.db, cast.fss, &utc).await.unwrap();
    d.deliver(&d.fx.granted_tickets(5).await, 10).await;

    // The provider is down: both workers try at the same moment.
    let fake = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(wiremock::ResponseTemplate::new(503))
        .mount(&fake)
        .await;
    let down = d.mail(&[
        ("SENDGRID_API_KEY", "SG.test".into()),
        ("SENDGRID_API_URL", fake.uri()),
    ]);
    let t0 = Utc::now();
    let due = Schedule {
        zone: chrono_tz::UTC,
        hour: 6,
        weekday: chrono::Weekday::Mon,
    }
    .last_due(Cadence::Daily, t0 + Duration::days(1))
    .unwrap();
    let (clock, hand) = Clock::manual(due);
    let (a, b) = (
        d.runner(&clock, down.clone()).await,
        d.runner(&clock, down).await,
    );
    let (x, y) = tokio::join!(a.tick(), b.tick());
    let (x, y) = (x.unwrap(), y.unwrap());
    assert_eq!((x.composed + y.composed, x.sent + y.sent), (1, 0));
    let held = d.digests().await;
    assert_eq!(held.len(), 1);
    assert_eq!(
        (held[0].status.as_str(), held[0].attempts, held[0].changes),
        ("QUEUED", 1, 5)
    );
    assert!(held[0].last_error.is_some());

    // Restarted with a working mailer, after the retry's wait: sent once, then nothing more.
    let restarted = d.runner(&clock, d.mail(&[])).await;
    let again = tick(&restarted, &hand, due + Duration::hours(1)).await;
    assert_eq!((again.composed, again.sent), (0, 1));
    assert_eq!(
        tick(&restarted, &hand, due + Duration::hours(2)).await,
        Default::default()
    );
    let sent = d.digests().await;
    assert_eq!(
        (sent.len(), sent[0].status.as_str(), sent[0].attempts),
        (1, "SENT", 2)
    );
    let files = d.digest_files();
    assert_eq!(files.len(), 1);
    assert!(
        files[0].1.contains("5 changes on 5 tickets"),
        "{}",
        files[0].1
    );
    d.stop().await;
}

async fn preferences_round_trip_through_graphql_and_bad_ones_change_nothing(backend: Backend) {
    let d = Digests::start(&backend).await;
    let me = d.fx.cast.faculty;
    let update = format!(
        "mutation($d: [NotificationDeliveryInput!], $tz: String, $h: Int, $w: Weekday) {{ updateNotificationPreferences(deliveries: $d, timeZone: $tz, digestHour: $h, digestWeekday: $w) {{ {FIELDS} }} }}"
    );
    let set = d
        .gql(
            me,
            &update,
            json!({
                "d": [{"topic": "NOTES", "channel": "IN_APP", "cadence": "WEEKLY"},
                      {"topic": "STATE_CHANGES", "channel": "EMAIL", "cadence": "DAILY"}],
                "tz": "Europe/Paris", "h": 18, "w": "FRIDAY"
            }),
        )
        .await;
    let p = &set["data"]["updateNotificationPreferences"];
    assert_eq!(p["timeZone"], "Europe/Paris", "{set}");
    assert_eq!(
        (p["digestHour"].as_i64(), p["digestWeekday"].as_str()),
        (Some(18), Some("FRIDAY"))
    );
    assert_eq!(
        (p["email"].as_bool(), p["notes"].as_bool()),
        (Some(true), Some(true))
    );
    let deliveries = p["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 6);
    assert!(
        deliveries.contains(&json!({"topic": "NOTES", "channel": "IN_APP", "cadence": "WEEKLY"}))
    );
    assert!(
        deliveries
            .contains(&json!({"topic": "STATE_CHANGES", "channel": "EMAIL", "cadence": "DAILY"}))
    );

    for (variables, field) in [
        (json!({"tz": "Mars/Olympus"}), "timeZone"),
        (json!({"h": 24}), "digestHour"),
        (json!({"h": -1}), "digestHour"),
    ] {
        let refused = d.gql(me, &update, variables).await;
        assert_eq!(
            refused["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{refused}"
        );
        assert_eq!(
            refused["errors"][0]["extensions"]["field"], field,
            "{refused}"
        );
    }
    // Nothing changed; an empty zone is the office's again.
    let back = d.gql(me, &update, json!({"tz": ""})).await;
    let p = &back["data"]["updateNotificationPreferences"];
    assert_eq!(
        (p["timeZone"].clone(), p["digestHour"].as_i64()),
        (Value::Null, Some(18)),
        "{back}"
    );
    d.stop().await;
}

on_both_databases!(
    daily_and_weekly_digests_list_each_change_once_and_never_empty,
    two_workers_compose_once_and_a_restart_sends_a_failed_digest_once,
    preferences_round_trip_through_graphql_and_bad_ones_change_nothing,
);
