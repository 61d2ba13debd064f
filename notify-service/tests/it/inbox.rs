//! The in-app inbox: the email worker writes one item per recipient beside each email (a
//! recipient who turned email off included), a redelivered event adds nothing, each user
//! reads and marks only their own items, pages are unread first then newest with cursors
//! that continue, every change is announced on the stream, and reading never emails again.

use crate::on_both_databases;
use crate::support::{Backend, Fixture};
use common::{
    Principal, Role, TicketEventMessage, TokenMinter,
    config::CommonSettings,
    inbox::{CHANGES_TOPIC, InboxChange},
    stream::EventStream,
};
use db::entity::{inbox_item, outbox::TICKET_EVENTS};
use notify_service::{MailSettings, worker};
use sea_orm::{ActiveModelTrait, EntityTrait, QueryOrder, Set};
use serde_json::{Value, json};
use std::{collections::HashMap, path::PathBuf};

/// notify-service's subgraph and email worker on one in-process stream, emails to an outbox.
struct Inbox {
    fx: Fixture,
    stream: EventStream,
    outbox: PathBuf,
    graphql: String,
    minter: TokenMinter,
}

const PAGE: &str = "query($first: Int, $after: String, $unreadOnly: Boolean) {
    inbox(first: $first, after: $after, unreadOnly: $unreadOnly) {
        edges { cursor node { id kind title summary unread readAt ticket { id } } }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        totalCount
    }
    inboxUnreadCount
}";

impl Inbox {
    async fn start(backend: &Backend) -> Self {
        let fx = Fixture::new(backend).await;
        let data = std::env::temp_dir().join(format!("tessera-inbox-{}", uuid::Uuid::new_v4()));
        let data_dir = data.display().to_string();
        let env = HashMap::from([
            ("DATABASE_URL", fx.database.url.as_str()),
            ("DATA_DIR", data_dir.as_str()),
            ("MAIL_FROM", "Tessera <tessera@test.edu>"),
        ]);
        let common = CommonSettings::from_source(&env).unwrap();
        let minter = TokenMinter::new(biscuit_auth::KeyPair::new());
        let stream = EventStream::memory();
        let settings = notify_service::Settings {
            common: common.clone(),
            port: 0,
            verifier: minter.verifier(),
        };
        let hooks = notify_service::HookSettings::from_source(&env, &common).unwrap();
        let server =
            notify_service::Application::serve(settings, fx.db.clone(), hooks, stream.clone())
                .await
                .unwrap();
        let graphql = format!("http://127.0.0.1:{}/graphql", server.port());
        tokio::spawn(server.run_until_stopped());
        let mail = MailSettings::from_source(&env, &common).unwrap();
        worker::Worker::new(fx.db.clone(), stream.clone(), mail)
            .unwrap()
            .start();
        Self {
            fx,
            stream,
            outbox: data.join("outbox"),
            graphql,
            minter,
        }
    }

    /// Answers `query` for `principal`.
    async fn as_principal(&self, principal: &Principal, query: &str, variables: Value) -> Value {
        reqwest::Client::new()
            .post(&self.graphql)
            .bearer_auth(self.minter.mint(principal).unwrap())
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Answers `query` for user `id` (their roles do not matter to the inbox).
    async fn gql(&self, id: i64, query: &str, variables: Value) -> Value {
        let principal = Principal::user(id, vec![Role::Faculty], vec![]);
        self.as_principal(&principal, query, variables).await
    }

    /// Publishes `events` to the worker and waits until `emails` notification rows are final.
    async fn deliver(&self, events: &[TicketEventMessage], emails: usize) {
        for event in events {
            let payload = serde_json::to_string(event).unwrap();
            self.stream.publish(TICKET_EVENTS, &payload).await.unwrap();
        }
        assert_eq!(self.fx.settled(emails).await.len(), emails);
    }

    async fn items(&self) -> Vec<inbox_item::Model> {
        inbox_item::Entity::find()
            .order_by_asc(inbox_item::Column::Id)
            .all(&self.fx.db)
            .await
            .unwrap()
    }

    /// Every announcement made so far, oldest first.
    async fn announced(&self) -> Vec<Vec<i64>> {
        let entries = self.stream.last(CHANGES_TOPIC, 1_000).await.unwrap();
        entries
            .iter()
            .map(|e| {
                serde_json::from_str::<InboxChange>(&e.payload)
                    .unwrap()
                    .users
            })
            .collect()
    }

    fn emails(&self) -> usize {
        std::fs::read_dir(&self.outbox).map_or(0, Iterator::count)
    }

    async fn stop(self) {
        std::fs::remove_dir_all(self.outbox.parent().unwrap()).ok();
        self.fx.cleanup().await;
    }
}

fn code(answer: &Value) -> &str {
    answer["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error in {answer}"))
}

/// The ids of a page's items, in order.
fn ids(answer: &Value) -> Vec<String> {
    answer["data"]["inbox"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("no page in {answer}"))
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_string())
        .collect()
}

async fn items_land_once_per_recipient_and_a_redelivery_adds_none(backend: Backend) {
    let inbox = Inbox::start(&backend).await;
    let cast = inbox.fx.cast;
    // The FSS turned email off: no email, but the item still lands.
    let email_off = notify_service::preferences::Change {
        email: Some(false),
        ..Default::default()
    };
    notify_service::preferences::update(&inbox.fx.db, cast.fss, &email_off)
        .await
        .unwrap();
    let event = inbox.fx.granted_tickets(1).await.remove(0);
    inbox.deliver(std::slice::from_ref(&event), 2).await;
    let statuses: Vec<_> = inbox
        .fx
        .notifications()
        .await
        .into_iter()
        .map(|n| n.status)
        .collect();
    assert_eq!(statuses, ["SENT", "SUPPRESSED"]);
    // Delivered again (the relay restarted), then a new event as a marker.
    let next = inbox.fx.granted_tickets(1).await.remove(0);
    inbox.deliver(&[event.clone(), next.clone()], 4).await;

    let items = inbox.items().await;
    let owners: Vec<(i64, i64)> = items.iter().map(|i| (i.event_id, i.user_id)).collect();
    assert_eq!(
        owners,
        [
            (event.event_id, cast.faculty),
            (event.event_id, cast.fss),
            (next.event_id, cast.faculty),
            (next.event_id, cast.fss),
        ],
        "one item per (event, recipient), none for the actor"
    );
    let first = &items[0];
    assert_eq!(first.ticket_id, event.ticket_id);
    assert_eq!(first.kind, "STATE_CHANGED");
    assert_eq!(
        first.title,
        format!("Ticket #{} granted", event.ticket_number)
    );
    assert_eq!(
        first.summary,
        format!(
            "Bea Budget granted ticket #{}: it can now be used for an offer.",
            event.ticket_number
        )
    );
    assert!(items.iter().all(|i| i.read_at.is_none()));
    // Each batch's recipients are announced; the redelivery announced them again.
    let announced = inbox.announced().await;
    assert!(announced.len() >= 2, "{announced:?}");
    assert!(
        announced
            .iter()
            .all(|users| users == &[cast.faculty, cast.fss]),
        "{announced:?}"
    );
    inbox.stop().await;
}

async fn each_user_reads_only_their_own_items(backend: Backend) {
    let inbox = Inbox::start(&backend).await;
    let cast = inbox.fx.cast;
    let events = inbox.fx.granted_tickets(2).await;
    inbox.deliver(&events, 4).await;
    let items = inbox.items().await;
    for user in [cast.faculty, cast.fss] {
        let page = inbox.gql(user, PAGE, json!({})).await;
        let mut own: Vec<String> = items
            .iter()
            .filter(|i| i.user_id == user)
            .map(|i| i.id.to_string())
            .collect();
        own.reverse();
        assert_eq!(ids(&page), own, "newest first: {page}");
        assert_eq!(page["data"]["inboxUnreadCount"], 2);
        let node = &page["data"]["inbox"]["edges"][0]["node"];
        assert_eq!(node["ticket"]["id"], events[1].ticket_id.to_string());
        assert_eq!(node["kind"], "STATE_CHANGED");
        assert_eq!(node["unread"], true);
    }
    // The actor was emailed nothing, so has nothing.
    let budget = inbox.gql(cast.budget, PAGE, json!({})).await;
    assert_eq!(ids(&budget), Vec::<String>::new());
    assert_eq!(budget["data"]["inboxUnreadCount"], 0);
    let anonymous = inbox
        .as_principal(&Principal::anonymous(), "{ inboxUnreadCount }", json!({}))
        .await;
    assert_eq!(code(&anonymous), "UNAUTHENTICATED");
    inbox.stop().await;
}

/// Items for the faculty member about `count` new events, written directly; their ids.
async fn items_for_faculty(inbox: &Inbox, count: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    for event in inbox.fx.granted_tickets(count).await {
        let item = inbox_item::ActiveModel {
            user_id: Set(inbox.fx.cast.faculty),
            event_id: Set(event.event_id),
            ticket_id: Set(event.ticket_id),
            kind: Set("STATE_CHANGED".into()),
            title: Set(format!("Ticket #{} granted", event.ticket_number)),
            summary: Set("Granted.".into()),
            created_at: Set(db::now()),
            read_at: Set(None),
            ..Default::default()
        }
        .insert(&inbox.fx.db)
        .await
        .unwrap();
        ids.push(item.id);
    }
    ids
}

async fn pages_are_unread_first_then_newest_and_cursors_continue(backend: Backend) {
    let inbox = Inbox::start(&backend).await;
    let faculty = inbox.fx.cast.faculty;
    let made = items_for_faculty(&inbox, 5).await;
    let read = json!({"ids": [made[1].to_string(), made[3].to_string()]});
    let marked = inbox
        .gql(
            faculty,
            "mutation($ids: [ID!]!) { markRead(ids: $ids) { id } }",
            read,
        )
        .await;
    assert!(marked.get("errors").is_none(), "{marked}");
    let expected: Vec<String> = [4, 2, 0, 3, 1]
        .iter()
        .map(|i| made[*i].to_string())
        .collect();

    let mut seen = Vec::new();
    let mut after = Value::Null;
    let mut pages = 0;
    loop {
        let page = inbox
            .gql(faculty, PAGE, json!({"first": 2, "after": after}))
            .await;
        let info = &page["data"]["inbox"]["pageInfo"];
        assert_eq!(info["hasPreviousPage"], pages > 0, "{page}");
        assert_eq!(page["data"]["inbox"]["totalCount"], 5);
        seen.extend(ids(&page));
        pages += 1;
        if info["hasNextPage"] == false {
            break;
        }
        after = info["endCursor"].clone();
    }
    assert_eq!(
        seen, expected,
        "unread newest first, then read newest first"
    );
    assert_eq!(pages, 3);

    let unread = json!({"first": 2, "unreadOnly": true});
    let page = inbox.gql(faculty, PAGE, unread).await;
    assert_eq!(ids(&page), expected[..2]);
    assert_eq!(page["data"]["inbox"]["totalCount"], 3);
    let after = page["data"]["inbox"]["pageInfo"]["endCursor"].clone();
    let rest = json!({"first": 2, "unreadOnly": true, "after": after});
    let page = inbox.gql(faculty, PAGE, rest).await;
    assert_eq!(ids(&page), expected[2..3]);
    assert_eq!(page["data"]["inbox"]["pageInfo"]["hasNextPage"], false);
    inbox.stop().await;
}

async fn bad_page_arguments_are_bad_user_input(backend: Backend) {
    let inbox = Inbox::start(&backend).await;
    let faculty = inbox.fx.cast.faculty;
    for (variables, field) in [
        (json!({"first": 0}), "first"),
        (json!({"first": 101}), "first"),
        (json!({"after": "not-a-cursor"}), "after"),
        // A ticket list's cursor is not one of the inbox.
        (
            json!({"after": "eyJmIjoiTlVNQkVSIiwiayI6MSwiaWQiOjJ9"}),
            "after",
        ),
    ] {
        let answer = inbox.gql(faculty, PAGE, variables).await;
        assert_eq!(code(&answer), "BAD_USER_INPUT", "{answer}");
        assert_eq!(answer["errors"][0]["extensions"]["field"], field);
    }
    inbox.stop().await;
}

const MARK: &str = "mutation($ids: [ID!]!) { markRead(ids: $ids) { id unread readAt } }";

async fn mark_read_is_for_ones_own_items_only(backend: Backend) {
    let inbox = Inbox::start(&backend).await;
    let cast = inbox.fx.cast;
    let events = inbox.fx.granted_tickets(1).await;
    inbox.deliver(&events, 2).await;
    let items = inbox.items().await;
    let (mine, theirs) = (items[0].id.to_string(), items[1].id.to_string());
    assert_eq!(
        (items[0].user_id, items[1].user_id),
        (cast.faculty, cast.fss)
    );

    // Someone else's item, one that does not exist and one that is not an id: the same
    // NOT_FOUND, and nothing is marked, not even the caller's own item named beside them.
    let missing = inbox
        .gql(cast.faculty, MARK, json!({"ids": ["987654"]}))
        .await;
    assert_eq!(code(&missing), "NOT_FOUND");
    for ids in [json!([&theirs]), json!([&mine, &theirs]), json!(["abc"])] {
        let answer = inbox.gql(cast.faculty, MARK, json!({ "ids": ids })).await;
        assert_eq!(code(&answer), "NOT_FOUND", "{answer}");
        assert_eq!(
            answer["errors"][0]["message"],
            missing["errors"][0]["message"]
        );
    }
    assert!(inbox.items().await.iter().all(|i| i.read_at.is_none()));

    let before = inbox.announced().await.len();
    let marked = inbox.gql(cast.faculty, MARK, json!({"ids": [&mine]})).await;
    let item = &marked["data"]["markRead"][0];
    assert_eq!(
        (item["id"].as_str(), &item["unread"]),
        (Some(mine.as_str()), &json!(false))
    );
    let announced = inbox.announced().await;
    assert_eq!(announced[before..], [vec![cast.faculty]]);
    // Marked again: it keeps when it was first read.
    let again = inbox.gql(cast.faculty, MARK, json!({"ids": [&mine]})).await;
    assert_eq!(again["data"]["markRead"][0]["readAt"], item["readAt"]);
    let count = inbox
        .gql(cast.faculty, "{ inboxUnreadCount }", json!({}))
        .await;
    assert_eq!(count["data"]["inboxUnreadCount"], 0);
    let fss = inbox.gql(cast.fss, "{ inboxUnreadCount }", json!({})).await;
    assert_eq!(
        fss["data"]["inboxUnreadCount"], 1,
        "the FSS's item is untouched"
    );
    let many: Vec<String> = (1..=101).map(|i| i.to_string()).collect();
    let too_many = inbox.gql(cast.faculty, MARK, json!({ "ids": many })).await;
    assert_eq!(code(&too_many), "BAD_USER_INPUT");
    inbox.stop().await;
}

async fn mark_all_read_marks_the_callers_items_only(backend: Backend) {
    let inbox = Inbox::start(&backend).await;
    let cast = inbox.fx.cast;
    let events = inbox.fx.granted_tickets(3).await;
    inbox.deliver(&events, 6).await;
    let all = "mutation { markAllRead }";
    let before = inbox.announced().await.len();
    assert_eq!(
        inbox.gql(cast.faculty, all, json!({})).await["data"]["markAllRead"],
        3
    );
    assert_eq!(inbox.announced().await[before..], [vec![cast.faculty]]);
    // Nothing left: nothing marked, nothing announced.
    assert_eq!(
        inbox.gql(cast.faculty, all, json!({})).await["data"]["markAllRead"],
        0
    );
    assert_eq!(inbox.announced().await.len(), before + 1);
    for item in inbox.items().await {
        assert_eq!(
            item.read_at.is_some(),
            item.user_id == cast.faculty,
            "{item:?}"
        );
    }
    let fss = inbox.gql(cast.fss, PAGE, json!({"unreadOnly": true})).await;
    assert_eq!(fss["data"]["inboxUnreadCount"], 3);
    let anonymous = inbox
        .as_principal(&Principal::anonymous(), all, json!({}))
        .await;
    assert_eq!(code(&anonymous), "UNAUTHENTICATED");
    inbox.stop().await;
}

async fn reading_the_inbox_never_sends_an_email_again(backend: Backend) {
    let inbox = Inbox::start(&backend).await;
    let cast = inbox.fx.cast;
    let first = inbox.fx.granted_tickets(1).await;
    inbox.deliver(&first, 2).await;
    assert_eq!(inbox.emails(), 2);
    let sent = inbox.fx.notifications().await;

    for user in [cast.faculty, cast.fss] {
        let page = inbox.gql(user, PAGE, json!({})).await;
        let ids = ids(&page);
        let marked = inbox.gql(user, MARK, json!({ "ids": ids })).await;
        assert!(marked.get("errors").is_none(), "{marked}");
        inbox.gql(user, "mutation { markAllRead }", json!({})).await;
    }
    // A later event's two emails are the only new ones: whatever reading did, it did before
    // the worker got to them.
    let second = inbox.fx.granted_tickets(1).await;
    inbox.deliver(&second, 4).await;
    assert_eq!(inbox.emails(), 4);
    let rows = inbox.fx.notifications().await;
    assert_eq!(
        rows[..2],
        sent[..],
        "the first emails' rows are as they were"
    );
    inbox.stop().await;
}

on_both_databases!(
    items_land_once_per_recipient_and_a_redelivery_adds_none,
    each_user_reads_only_their_own_items,
    pages_are_unread_first_then_newest_and_cursors_continue,
    bad_page_arguments_are_bad_user_input,
    mark_read_is_for_ones_own_items_only,
    mark_all_read_marks_the_callers_items_only,
    reading_the_inbox_never_sends_an_email_again
);
