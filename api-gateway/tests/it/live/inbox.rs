//! `Subscription.inboxUnreadCount` over the websocket: the count when it starts, then again
//! whenever the subscriber's inbox changes (an email's item arriving through the email
//! worker, items marked read over HTTP as from another tab), and never someone else's. An API
//! token may follow its user's count and read the inbox, not mark it.

use crate::on_both_databases;
use crate::support::clients::{Ws, cookie, create_ticket, gql, open_subscriptions};
use crate::support::{Backend, Options, Platform, Who, code};
use serde_json::{Value, json};
use std::collections::HashMap;

const COUNT: &str = "subscription { inboxUnreadCount }";

const GRANT: &str = "mutation($id: ID!) { grantTicket(ticketId: $id) { state } }";

/// The relay and the email worker (to the test's outbox): tickets' events reach inboxes.
fn options() -> Options {
    Options {
        relay: true,
        mail: Some(HashMap::new()),
        ..Options::default()
    }
}

/// The count in a `next` message of subscription `id`.
async fn count(ws: &mut Ws, id: &str, key: &str) -> Value {
    ws.event(id).await["data"][key].clone()
}

async fn the_unread_count_follows_the_inbox_live(backend: Backend) {
    let app = Platform::spawn_with(backend, options()).await;
    let budget = cookie(&app.url, Who::Budget).await;
    let alice = cookie(&app.url, Who::FacultyA).await;
    let mut bell = Ws::signed_in(&app.url, &alice).await;
    bell.subscribe("n", COUNT, json!({})).await;
    assert_eq!(count(&mut bell, "n", "inboxUnreadCount").await, 0);
    let mut bob = Ws::signed_in(&app.url, &cookie(&app.url, Who::FacultyB).await).await;
    bob.subscribe(
        "b",
        "subscription Bell { unread: inboxUnreadCount }",
        json!({}),
    )
    .await;
    assert_eq!(count(&mut bob, "b", "unread").await, 0);
    open_subscriptions(&app.url, 2).await;

    // Granting Alice's ticket emails her (and Fay): the item lands and her count goes up.
    let ticket = create_ticket(&app.url, &budget, app.id(Who::FacultyA)).await;
    let granted = gql(&app.url, &budget, GRANT, json!({"id": ticket})).await;
    assert_eq!(
        granted["data"]["grantTicket"]["state"], "GRANTED",
        "{granted}"
    );
    assert_eq!(count(&mut bell, "n", "inboxUnreadCount").await, 1);

    // She reads it elsewhere: the item links to the ticket, and marking it read is pushed.
    let inbox = gql(
        &app.url,
        &alice,
        "{ inbox { edges { node { id title unread ticket { id number state } } } } }",
        json!({}),
    )
    .await;
    let item = &inbox["data"]["inbox"]["edges"][0]["node"];
    assert_eq!(item["ticket"]["id"], ticket.as_str(), "{inbox}");
    assert_eq!(item["ticket"]["state"], "GRANTED");
    let number = item["ticket"]["number"].as_i64().unwrap();
    assert_eq!(item["title"], format!("Ticket #{number} granted"));
    let marked = gql(
        &app.url,
        &alice,
        "mutation($ids: [ID!]!) { markRead(ids: $ids) { unread } }",
        json!({"ids": [item["id"]]}),
    )
    .await;
    assert_eq!(marked["data"]["markRead"][0]["unread"], false, "{marked}");
    assert_eq!(count(&mut bell, "n", "inboxUnreadCount").await, 0);

    // Bob heard nothing of Alice's inbox: his next count is about his own ticket.
    let bobs = create_ticket(&app.url, &budget, app.id(Who::FacultyB)).await;
    gql(&app.url, &budget, GRANT, json!({"id": bobs})).await;
    assert_eq!(count(&mut bob, "b", "unread").await, 1);
    app.cleanup().await;
}

async fn an_api_token_follows_the_count_but_does_not_mark(backend: Backend) {
    let app = Platform::spawn_with(backend, options()).await;
    let budget = cookie(&app.url, Who::Budget).await;
    let alice = cookie(&app.url, Who::FacultyA).await;
    let made = gql(
        &app.url,
        &alice,
        "mutation { createApiToken(name: \"bell\", scopes: [TICKETS_READ]) { token } }",
        json!({}),
    )
    .await;
    let token = made["data"]["createApiToken"]["token"].as_str().unwrap();
    let authorization = format!("Bearer {token}");
    let mut ws = Ws::open(&app.url, &[]).await;
    ws.send(json!({"type": "connection_init", "payload": {"authorization": authorization}}))
        .await;
    assert_eq!(ws.next().await["type"], "connection_ack");
    ws.subscribe("n", COUNT, json!({})).await;
    assert_eq!(count(&mut ws, "n", "inboxUnreadCount").await, 0);
    open_subscriptions(&app.url, 1).await;
    let ticket = create_ticket(&app.url, &budget, app.id(Who::FacultyA)).await;
    gql(&app.url, &budget, GRANT, json!({"id": ticket})).await;
    assert_eq!(count(&mut ws, "n", "inboxUnreadCount").await, 1);

    let by_token = |query: &'static str| {
        let authorization = authorization.clone();
        let url = format!("{}/graphql", app.url);
        async move {
            reqwest::Client::new()
                .post(url)
                .header("authorization", authorization)
                .json(&json!({"query": query}))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let read = by_token("{ inboxUnreadCount inbox { totalCount } }").await;
    assert_eq!(read["data"]["inboxUnreadCount"], 1, "{read}");
    assert_eq!(read["data"]["inbox"]["totalCount"], 1);
    let mark = by_token("mutation { markAllRead }").await;
    assert_eq!(code(&mark), Some("FORBIDDEN"), "{mark}");
    let still = gql(&app.url, &alice, "{ inboxUnreadCount }", json!({})).await;
    assert_eq!(still["data"]["inboxUnreadCount"], 1, "{still}");
    app.cleanup().await;
}

on_both_databases!(
    the_unread_count_follows_the_inbox_live,
    an_api_token_follows_the_count_but_does_not_mark,
);
