//! Live updates through the gateway with a real websocket client speaking
//! graphql-transport-ws: events as they commit, only to those who may see them, resumed with
//! `after` without loss or duplicates, across gateway replicas sharing Redis, through a relay
//! that died between commit and publish; sessions that end close their connections; export
//! progress; the inbox's unread count (`inbox`); the protocol's errors (`protocol`); a client
//! that does not read, and replicas (`delivery`).

mod delivery;
mod inbox;
mod protocol;

use crate::on_both_databases;
use crate::support::clients::{EVENTS, Ws, cookie, create_ticket, gql, open_subscriptions};
use crate::support::{Backend, Options, Platform, Who};
use serde_json::{Value, json};
use std::time::Duration;

pub fn options() -> Options {
    Options {
        relay: true,
        ..Options::default()
    }
}

async fn events_arrive_live_and_only_to_those_who_may_see_them(backend: Backend) {
    let app = Platform::spawn_with(backend, options()).await;
    let budget = cookie(&app.url, Who::Budget).await;
    let mut alice = Ws::signed_in(&app.url, &cookie(&app.url, Who::FacultyA).await).await;
    let mut bob = Ws::signed_in(&app.url, &cookie(&app.url, Who::FacultyB).await).await;
    let mut fss = Ws::signed_in(&app.url, &cookie(&app.url, Who::FssA).await).await;
    let mut office = Ws::signed_in(&app.url, &budget).await;
    alice.subscribe("a", EVENTS, json!({})).await;
    bob.subscribe("b", EVENTS, json!({})).await;
    fss.subscribe("f", EVENTS, json!({})).await;
    office
        .subscribe(
            "o",
            "subscription($t: ID) { ticketEvents(ticketId: $t) { kind ticket { id } } }",
            json!({}),
        )
        .await;
    open_subscriptions(&app.url, 4).await;

    let alices = create_ticket(&app.url, &budget, app.id(Who::FacultyA)).await;
    let event = alice.event("a").await;
    let event = &event["data"]["ticketEvents"];
    assert_eq!(event["kind"], "CREATED", "{event}");
    assert_eq!(event["ticket"]["id"], alices.as_str());
    // Nested fields resolve through federation like any query.
    assert_eq!(event["ticket"]["owner"]["name"], "Alice Faculty");
    assert_eq!(event["actor"]["name"], "Bea Budget");
    // Alice's support staff see her tickets; the office sees everything.
    let seen = fss.event("f").await;
    assert_eq!(
        seen["data"]["ticketEvents"]["ticket"]["id"],
        alices.as_str()
    );
    let seen = office.event("o").await;
    assert_eq!(
        seen["data"]["ticketEvents"]["ticket"]["id"],
        alices.as_str()
    );

    // Bob's first event is his own ticket's: Alice's never reached him (events keep their
    // order, so it would have come first).
    let bobs = create_ticket(&app.url, &budget, app.id(Who::FacultyB)).await;
    let seen = bob.event("b").await;
    assert_eq!(
        seen["data"]["ticketEvents"]["ticket"]["id"],
        bobs.as_str(),
        "{seen}"
    );
    assert_eq!(
        seen["data"]["ticketEvents"]["ticket"]["owner"]["name"],
        "Bob Faculty"
    );
    let seen = office.event("o").await;
    assert_eq!(seen["data"]["ticketEvents"]["ticket"]["id"], bobs.as_str());

    app.cleanup().await;
}

/// A subscription to one ticket (and some states) gets only that ticket's events; a
/// completed subscription is closed.
async fn a_subscription_to_one_ticket_gets_only_its_events(backend: Backend) {
    let app = Platform::spawn_with(backend, options()).await;
    let budget = cookie(&app.url, Who::Budget).await;
    let mut office = Ws::signed_in(&app.url, &budget).await;
    office.subscribe("o", EVENTS, json!({})).await;
    open_subscriptions(&app.url, 1).await;
    let bobs = create_ticket(&app.url, &budget, app.id(Who::FacultyB)).await;
    let seen = office.event("o").await;
    assert_eq!(seen["data"]["ticketEvents"]["ticket"]["id"], bobs.as_str());
    office.send(json!({"id": "o", "type": "complete"})).await;
    open_subscriptions(&app.url, 0).await;
    office
        .subscribe(
            "one",
            "subscription($t: ID, $s: [TicketState!]) { ticketEvents(ticketId: $t, states: $s) { kind toState ticket { id state } } }",
            json!({"t": bobs, "s": ["GRANTED"]}),
        )
        .await;
    open_subscriptions(&app.url, 1).await;
    create_ticket(&app.url, &budget, app.id(Who::FacultyB)).await;
    let granted = gql(
        &app.url,
        &budget,
        "mutation($id: ID!) { grantTicket(ticketId: $id) { state } }",
        json!({"id": bobs}),
    )
    .await;
    assert_eq!(
        granted["data"]["grantTicket"]["state"], "GRANTED",
        "{granted}"
    );
    let seen = office.event("one").await;
    assert_eq!(
        seen["data"]["ticketEvents"],
        json!({"kind": "STATE_CHANGED", "toState": "GRANTED", "ticket": {"id": bobs, "state": "GRANTED"}}),
    );
    app.cleanup().await;
}

async fn a_resume_with_after_loses_nothing_and_repeats_nothing(backend: Backend) {
    let app = Platform::spawn_with(backend, options()).await;
    let budget = cookie(&app.url, Who::Budget).await;
    let alice_cookie = cookie(&app.url, Who::FacultyA).await;
    let mut alice = Ws::signed_in(&app.url, &alice_cookie).await;
    alice.subscribe("1", EVENTS, json!({})).await;
    open_subscriptions(&app.url, 1).await;
    let first = create_ticket(&app.url, &budget, app.id(Who::FacultyA)).await;
    let seen = alice.event("1").await;
    assert_eq!(seen["data"]["ticketEvents"]["ticket"]["id"], first.as_str());
    let last_seen = seen["data"]["ticketEvents"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    drop(alice);
    open_subscriptions(&app.url, 0).await;

    // Missed while away: two of Alice's tickets (and one of Bob's, not hers to see).
    let mut missed = Vec::new();
    for owner in [Who::FacultyA, Who::FacultyB, Who::FacultyA] {
        let id = create_ticket(&app.url, &budget, app.id(owner)).await;
        if owner == Who::FacultyA {
            missed.push(id);
        }
    }
    let mut alice = Ws::signed_in(&app.url, &alice_cookie).await;
    alice
        .subscribe("2", EVENTS, json!({"after": last_seen}))
        .await;
    let mut got = Vec::new();
    for _ in 0..2 {
        let seen = alice.event("2").await;
        got.push(
            seen["data"]["ticketEvents"]["ticket"]["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(got, missed, "what was missed, in order");
    // Then live, with nothing repeated in between.
    open_subscriptions(&app.url, 1).await;
    let live = create_ticket(&app.url, &budget, app.id(Who::FacultyA)).await;
    let seen = alice.event("2").await;
    assert_eq!(
        seen["data"]["ticketEvents"]["ticket"]["id"],
        live.as_str(),
        "{seen}"
    );

    // An event this server does not have, or not an id at all: said so, on `after`.
    for (after, id) in [("99999999", "3"), ("abc", "4")] {
        alice.subscribe(id, EVENTS, json!({"after": after})).await;
        let error = alice.next().await;
        assert_eq!(error["type"], "error", "{error}");
        assert_eq!(error["id"], id);
        assert_eq!(
            error["payload"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{error}"
        );
        assert_eq!(
            error["payload"][0]["extensions"]["field"], "after",
            "{error}"
        );
    }
    app.cleanup().await;
}

async fn a_relay_killed_between_commit_and_publish_loses_nothing(backend: Backend) {
    let mut app = Platform::spawn_with(backend, options()).await;
    let budget = cookie(&app.url, Who::Budget).await;
    let mut alice = Ws::signed_in(&app.url, &cookie(&app.url, Who::FacultyA).await).await;
    alice.subscribe("1", EVENTS, json!({})).await;
    open_subscriptions(&app.url, 1).await;
    let before = create_ticket(&app.url, &budget, app.id(Who::FacultyA)).await;
    let seen = alice.event("1").await;
    assert_eq!(
        seen["data"]["ticketEvents"]["ticket"]["id"],
        before.as_str()
    );

    // The relay dies; a change commits with nobody to publish it.
    let relay = app.relay.take().unwrap();
    relay.abort();
    let _ = relay.await;
    let during = create_ticket(&app.url, &budget, app.id(Who::FacultyA)).await;
    use db::sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let waiting = db::entity::outbox::Entity::find()
        .filter(db::entity::outbox::Column::RelayedAt.is_null())
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(waiting, 1, "committed, not published");

    // A new relay sends it (and, in process, sends the last minutes again: the gateway hands
    // out each event once).
    app.relay = Some(ticket_service::relay::start(
        app.db.clone(),
        app.stream.clone(),
    ));
    let seen = alice.event("1").await;
    assert_eq!(
        seen["data"]["ticketEvents"]["ticket"]["id"],
        during.as_str(),
        "{seen}"
    );
    let after = create_ticket(&app.url, &budget, app.id(Who::FacultyA)).await;
    let seen = alice.event("1").await;
    assert_eq!(
        seen["data"]["ticketEvents"]["ticket"]["id"],
        after.as_str(),
        "{seen}"
    );
    app.cleanup().await;
}

async fn sessions_that_end_close_their_connections(backend: Backend) {
    let app = Platform::spawn_with(
        backend,
        Options {
            relay: true,
            // Whole seconds: the idle session ends 2 to 3 s after its last use.
            session: Some((Duration::from_secs(3), Duration::from_secs(3600))),
            ..Options::default()
        },
    )
    .await;
    // Logout closes the connections of that session at once.
    let alice = cookie(&app.url, Who::FacultyA).await;
    let mut ws = Ws::signed_in(&app.url, &alice).await;
    ws.subscribe("1", EVENTS, json!({})).await;
    open_subscriptions(&app.url, 1).await;
    let out = reqwest::Client::new()
        .post(format!("{}/auth/logout", app.url))
        .header("cookie", &alice)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    let (code, reason) = ws.closed().await;
    assert_eq!(code, 4403, "{reason}");
    assert!(reason.contains("session ended"), "{reason}");
    open_subscriptions(&app.url, 0).await;

    // Expiry too: an open connection is not activity, the idle session runs out.
    let bob = cookie(&app.url, Who::FacultyB).await;
    let mut ws = Ws::signed_in(&app.url, &bob).await;
    ws.subscribe("1", EVENTS, json!({})).await;
    let (code, reason) = ws.closed().await;
    assert_eq!(code, 4403, "{reason}");
    let me = gql(&app.url, &bob, "{ me { id } }", json!({})).await;
    assert_eq!(me["data"]["me"], Value::Null, "the session is over: {me}");

    // A revoked API token's connection closes too.
    let grad = cookie(&app.url, Who::Grad).await;
    let made = gql(
        &app.url,
        &grad,
        "mutation { createApiToken(name: \"feed\", scopes: [TICKETS_READ]) { token apiToken { id } } }",
        json!({}),
    )
    .await;
    let token = made["data"]["createApiToken"]["token"].as_str().unwrap();
    let mut ws = Ws::open(&app.url, &[]).await;
    ws.send(
        json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {token}")}}),
    )
    .await;
    assert_eq!(ws.next().await["type"], "connection_ack");
    ws.subscribe("1", EVENTS, json!({})).await;
    let grad = cookie(&app.url, Who::Grad).await;
    let revoked = gql(
        &app.url,
        &grad,
        "mutation($id: ID!) { revokeApiToken(id: $id) { revoked } }",
        json!({"id": made["data"]["createApiToken"]["apiToken"]["id"]}),
    )
    .await;
    assert_eq!(
        revoked["data"]["revokeApiToken"]["revoked"], true,
        "{revoked}"
    );
    let (code, reason) = ws.closed().await;
    assert_eq!(code, 4403, "{reason}");
    app.cleanup().await;
}

async fn export_progress_follows_a_job_to_its_end(backend: Backend) {
    let app = Platform::spawn_with(backend, options()).await;
    let budget = cookie(&app.url, Who::Budget).await;
    for _ in 0..3 {
        create_ticket(&app.url, &budget, app.id(Who::FacultyA)).await;
    }
    let alice = cookie(&app.url, Who::FacultyA).await;
    let job = gql(
        &app.url,
        &alice,
        "mutation { exportTickets { id } }",
        json!({}),
    )
    .await;
    let job = job["data"]["exportTickets"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut ws = Ws::signed_in(&app.url, &alice).await;
    ws.subscribe(
        "p",
        "subscription($id: ID!) { progress: exportProgress(id: $id) { id status rowsWritten downloadUrl requestedBy { name } } }",
        json!({"id": job}),
    )
    .await;
    let mut last = Value::Null;
    loop {
        let message = ws.next().await;
        if message["type"] == "complete" {
            assert_eq!(message["id"], "p");
            break;
        }
        assert_eq!(message["type"], "next", "{message}");
        last = message["payload"]["data"]["progress"].clone();
        assert_eq!(last["id"], job.as_str());
        assert_eq!(last["requestedBy"]["name"], "Alice Faculty");
    }
    assert_eq!(last["status"], "DONE", "{last}");
    assert_eq!(last["rowsWritten"], 3);
    assert_eq!(last["downloadUrl"], format!("/exports/{job}.csv"));

    // Someone else's job does not exist for Bob.
    let mut bob = Ws::signed_in(&app.url, &cookie(&app.url, Who::FacultyB).await).await;
    bob.subscribe(
        "p",
        "subscription($id: ID!) { exportProgress(id: $id) { status } }",
        json!({"id": job}),
    )
    .await;
    let error = bob.next().await;
    assert_eq!(error["type"], "error", "{error}");
    assert_eq!(
        error["payload"][0]["extensions"]["code"], "NOT_FOUND",
        "{error}"
    );
    app.cleanup().await;
}

on_both_databases!(
    events_arrive_live_and_only_to_those_who_may_see_them,
    a_subscription_to_one_ticket_gets_only_its_events,
    a_resume_with_after_loses_nothing_and_repeats_nothing,
    a_relay_killed_between_commit_and_publish_loses_nothing,
    sessions_that_end_close_their_connections,
    export_progress_follows_a_job_to_its_end,
);
