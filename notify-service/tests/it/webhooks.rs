//! Webhooks end to end over the subgraph, the delivery worker and a receiver that verifies
//! with the Standard Webhooks reference library: every event kind signed and delivered,
//! visibility and filters, ordering, rotation, private addresses, redelivery and test
//! events.

use crate::hooks::{Hooks, code};
use crate::on_both_databases;
use crate::receiver::{Receiver, verifies};
use crate::support::Backend;
use common::{Role, TicketEventKind, TicketState};
use db::entity::{user, webhook};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::json;

const FACULTY: &[Role] = &[Role::Faculty];
const BUDGET: &[Role] = &[Role::BudgetDirector];

async fn every_event_kind_arrives_signed_and_verified(backend: Backend) {
    let h = Hooks::start(&backend, &[]).await;
    let me = (h.fx.cast.faculty, FACULTY);
    let (hook, secret) = h.create(me, json!({})).await;
    h.receiver.trust(&[&secret]);
    let mut events = h.fx.granted_tickets(TicketEventKind::ALL.len()).await;
    for (event, kind) in events.iter_mut().zip(TicketEventKind::ALL) {
        event.kind = *kind;
    }
    h.publish(&events).await;

    let got = h.receiver.wait_for(events.len()).await;
    assert_eq!(got.len(), events.len());
    for event in &events {
        // Different tickets, so in any order (several requests in flight to the hook).
        let id = format!("msg_{}", event.event_id);
        let request = got.iter().find(|r| r.id == id).expect(&id);
        assert_eq!(request.verified_by, [0], "{request:?}");
        let kind = event.kind.as_str().to_ascii_lowercase();
        assert_eq!(request.body["type"], format!("ticket.{kind}"));
        let data = &request.body["data"];
        assert_eq!(data["eventId"], event.event_id.to_string());
        assert_eq!(data["ticket"]["id"], event.ticket_id.to_string());
        assert_eq!(data["ticket"]["state"], "GRANTED");
        assert_eq!(data["actor"]["name"], "Bea Budget");
    }
    let rows = h.settled(events.len()).await;
    assert!(
        rows.iter()
            .all(|r| r.status == "DELIVERED" && r.attempts == 1 && r.response_code == Some(200)),
        "{rows:?}"
    );

    // Integrators see the deliveries, newest first, a page at a time.
    let query = "query($id: ID!, $after: String) { webhook(id: $id) { deliveries(first: 5, after: $after) { totalCount hasNextPage endCursor nodes { status responseCode attempts messageId eventType latencyMs requestExcerpt } } } }";
    let r = h.gql(me, query, json!({"id": hook})).await;
    let page = &r["data"]["webhook"]["deliveries"];
    let last = events.len() - 1;
    assert_eq!(page["totalCount"], events.len(), "{r}");
    assert_eq!(page["hasNextPage"], true);
    assert_eq!(page["nodes"][0]["status"], "DELIVERED");
    assert_eq!(
        page["nodes"][0]["messageId"],
        format!("msg_{}", events[last].event_id)
    );
    let r = h
        .gql(me, query, json!({"id": hook, "after": page["endCursor"]}))
        .await;
    let rest = &r["data"]["webhook"]["deliveries"];
    // The second page: up to five more (there are more kinds than two pages hold).
    assert_eq!(
        rest["nodes"].as_array().unwrap().len(),
        (events.len() - 5).min(5),
        "{r}"
    );
    assert_eq!(rest["hasNextPage"], events.len() > 10);
    h.cleanup().await;
}

async fn a_tampered_body_and_an_old_timestamp_are_rejected(backend: Backend) {
    let h = Hooks::start(&backend, &[]).await;
    let (_, secret) = h.create((h.fx.cast.faculty, FACULTY), json!({})).await;
    h.receiver.trust(&[&secret]);
    h.publish(&h.fx.granted_tickets(1).await).await;
    let got = h.receiver.wait_for(1).await;
    let original = &got[0];
    assert!(verifies(&secret, &original.raw, &original.headers));

    let mut tampered = original.raw.to_vec();
    let at = tampered.iter().position(|b| *b == b'G').unwrap();
    tampered[at] = b'X';
    assert!(!verifies(&secret, &tampered, &original.headers));

    let old = chrono::Utc::now().timestamp() - 600;
    let signed_old = standardwebhooks::Webhook::new(&secret)
        .unwrap()
        .sign(&original.id, old, &original.raw)
        .unwrap();
    let mut headers = original.headers.clone();
    headers.insert("webhook-timestamp", old.to_string().parse().unwrap());
    headers.insert("webhook-signature", signed_old.parse().unwrap());
    assert!(!verifies(&secret, &original.raw, &headers));
    // The receiver answers such a request 401.
    let answer = reqwest::Client::new()
        .post(&h.receiver.url)
        .headers(headers)
        .body(original.raw.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 401);
    h.cleanup().await;
}

async fn hooks_hear_only_what_their_owner_may_see_and_their_filter_takes(backend: Backend) {
    let h = Hooks::start(&backend, &[]).await;
    let other = h.person("other@test.edu", FACULTY).await;
    let gone = h.person("gone@test.edu", BUDGET).await;
    let mine = (h.fx.cast.faculty, FACULTY);
    let (_, secret) = h.create(mine, json!({})).await;
    let (_, other_secret) = h.create((other, FACULTY), json!({})).await;
    let (_, notes_secret) = h.create(mine, json!({"events": ["NOTE_ADDED"]})).await;
    let (_, offers_secret) = h
        .create(
            (h.fx.cast.budget, BUDGET),
            json!({"states": ["OFFER_PENDING"]}),
        )
        .await;
    let (_, gone_secret) = h.create((gone, BUDGET), json!({})).await;
    let mut events = h.fx.granted_tickets(3).await;
    let (_, one_secret) = h
        .create(mine, json!({"ticketId": events[2].ticket_id.to_string()}))
        .await;
    // The last event leaves its ticket OFFER_PENDING, the second is a note.
    events[1].kind = TicketEventKind::NoteAdded;
    events[2].state = TicketState::OfferPending;
    // Hooks hear only events after they were made.
    for event in &mut events {
        event.at = db::now();
    }
    user::Entity::update_many()
        .col_expr(user::Column::Active, Expr::value(false))
        .filter(user::Column::Id.eq(gone))
        .exec(&h.fx.db)
        .await
        .unwrap();
    h.receiver.trust(&[
        &secret,
        &other_secret,
        &notes_secret,
        &offers_secret,
        &gone_secret,
        &one_secret,
    ]);
    h.publish(&events).await;

    // Mine: all 3; the other faculty member's: none; notes: 1; offers: 1; one ticket: 1.
    h.receiver.wait_for(6).await;
    let rows = h.settled(6).await;
    let got = h.receiver.received();
    let heard = |secret: usize| -> Vec<String> {
        got.iter()
            .filter(|r| r.verified_by == [secret])
            .map(|r| r.id.clone())
            .collect()
    };
    let ids: Vec<String> = events
        .iter()
        .map(|e| format!("msg_{}", e.event_id))
        .collect();
    // Three tickets, so in any order.
    let mut everything = heard(0);
    everything.sort();
    let mut all = ids.clone();
    all.sort();
    assert_eq!(everything, all);
    assert!(
        heard(1).is_empty(),
        "another faculty member's hook heard of my tickets"
    );
    assert_eq!(heard(2), [ids[1].clone()]);
    assert_eq!(heard(3), [ids[2].clone()]);
    assert!(
        heard(4).is_empty(),
        "a deactivated owner's hook still hears"
    );
    assert_eq!(heard(5), [ids[2].clone()]);
    assert_eq!(got.len(), 6, "{got:?}");
    assert_eq!(rows.len(), 6);
    h.cleanup().await;
}

async fn rotation_signs_with_both_secrets_during_the_overlap(backend: Backend) {
    let h = Hooks::start(&backend, &[]).await;
    let me = (h.fx.cast.faculty, FACULTY);
    let (hook, old) = h.create(me, json!({})).await;
    let r = h
        .gql(
            me,
            "mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret webhook { secretPreview previousSecretExpiresAt } } }",
            json!({"id": hook}),
        )
        .await;
    let rotated = &r["data"]["rotateWebhookSecret"];
    let new = rotated["secret"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    assert_eq!(
        rotated["webhook"]["secretPreview"],
        format!("{}…", &new[..10])
    );
    assert!(
        rotated["webhook"]["previousSecretExpiresAt"].is_string(),
        "{r}"
    );
    // A receiver that knows either secret accepts the request.
    h.receiver.trust(&[&old, &new]);
    h.publish(&h.fx.granted_tickets(1).await).await;
    let got = h.receiver.wait_for(1).await;
    assert_eq!(got[0].verified_by, [0, 1], "{got:?}");
    assert_eq!(got[0].signature.split(' ').count(), 2);

    // Once the overlap ends, only the new secret signs.
    webhook::Entity::update_many()
        .col_expr(
            webhook::Column::PreviousSecretUntil,
            Expr::value(Some(db::now() - chrono::Duration::seconds(1))),
        )
        .exec(&h.fx.db)
        .await
        .unwrap();
    h.publish(&h.fx.granted_tickets(1).await).await;
    let got = h.receiver.wait_for(2).await;
    assert_eq!(got[1].verified_by, [1], "{got:?}");
    assert_eq!(got[1].signature.split(' ').count(), 1);
    h.cleanup().await;
}

async fn private_addresses_are_refused(backend: Backend) {
    let private = [("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", "false")];
    // At creation: an address written into the URL.
    let h = Hooks::start_with(&backend, &private, &private).await;
    let me = (h.fx.cast.faculty, FACULTY);
    for url in [
        "http://127.0.0.1:9/hook",
        "https://169.254.169.254/latest",
        "http://localhost/x",
        "http://[fd00::1]/",
    ] {
        let r = h
            .gql(
                me,
                "mutation($url: String!) { createWebhook(input: {url: $url}) { secret } }",
                json!({"url": url}),
            )
            .await;
        assert_eq!(code(&r), "BAD_USER_INPUT", "{url}: {r}");
        assert_eq!(r["errors"][0]["extensions"]["field"], "url");
    }
    h.cleanup().await;

    // At delivery: a name that resolves to a loopback address (the subgraph allowed it,
    // the worker does not).
    let h = Hooks::start_with(&backend, &[], &private).await;
    let me = (h.fx.cast.faculty, FACULTY);
    let port = h
        .receiver
        .url
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let r = h
        .gql(
            me,
            "mutation($url: String!) { createWebhook(input: {url: $url}) { secret } }",
            json!({"url": format!("http://localhost:{port}/hook")}),
        )
        .await;
    assert!(r["data"]["createWebhook"]["secret"].is_string(), "{r}");
    h.publish(&h.fx.granted_tickets(1).await).await;
    let rows = h.settled(1).await;
    assert_eq!(rows[0].status, "FAILED", "{rows:?}");
    let error = rows[0].last_error.as_deref().unwrap();
    assert!(
        error.contains("localhost resolves to") && error.contains("loopback"),
        "{error}"
    );
    assert!(h.receiver.received().is_empty());
    h.cleanup().await;
}

async fn a_delivery_is_redelivered_and_a_test_event_sent(backend: Backend) {
    let h = Hooks::start(&backend, &[]).await;
    let me = (h.fx.cast.faculty, FACULTY);
    let (hook, secret) = h.create(me, json!({})).await;
    h.receiver.trust(&[&secret]);
    h.publish(&h.fx.granted_tickets(1).await).await;
    let rows = h.settled(1).await;
    let r = h
        .gql(
            me,
            "mutation($id: ID!) { redeliverWebhookDelivery(id: $id) { status attempts } }",
            json!({"id": rows[0].id.to_string()}),
        )
        .await;
    assert_eq!(
        r["data"]["redeliverWebhookDelivery"]["status"], "PENDING",
        "{r}"
    );
    let got = h.receiver.wait_for(2).await;
    assert_eq!(got[1].id, got[0].id);
    assert_eq!(got[1].body, got[0].body);
    assert_eq!(got[1].verified_by, [0]);

    let r = h
        .gql(
            me,
            "mutation($id: ID!) { sendTestWebhookEvent(id: $id) { id eventType } }",
            json!({"id": hook}),
        )
        .await;
    assert_eq!(
        r["data"]["sendTestWebhookEvent"]["eventType"], "webhook.test",
        "{r}"
    );
    let got = h.receiver.wait_for(3).await;
    assert_eq!(got[2].body["type"], "webhook.test");
    assert_eq!(got[2].body["data"]["webhookId"], hook);
    assert_eq!(got[2].verified_by, [0]);
    let rows = h.settled(2).await;
    assert!(rows.iter().all(|r| r.status == "DELIVERED"), "{rows:?}");
    h.cleanup().await;
}

async fn one_tickets_events_arrive_in_order_while_others_go_ahead(backend: Backend) {
    let h = Hooks::start(
        &backend,
        &[
            // Long enough that B, never held back, arrives first on a busy machine.
            ("WEBHOOK_RETRY_BASE_MS", "1000"),
            ("WEBHOOK_RETRY_MAX_MS", "1000"),
        ],
    )
    .await;
    let (_, secret) = h.create((h.fx.cast.faculty, FACULTY), json!({})).await;
    h.receiver.trust(&[&secret]);
    // The first event of ticket A fails once; A's second event waits for it, ticket B's
    // event does not.
    let mut events = h.fx.granted_tickets(2).await;
    h.receiver
        .script_for(&format!("msg_{}", events[0].event_id), &[500]);
    let mut second = events[0].clone();
    second.event_id = events[1].event_id + 1_000;
    second.state = TicketState::OfferRequested;
    events.insert(1, second);
    h.publish(&events).await;
    let got = h.receiver.wait_for(4).await;
    let order: Vec<String> = got.iter().map(|r| r.id.clone()).collect();
    let id = |i: usize| format!("msg_{}", events[i].event_id);
    // A1 and B may go out together (a hook takes several tickets at once); A1's retry waits
    // for its backoff, B does not, and A2 waits for A1.
    let a: Vec<&String> = order.iter().filter(|o| **o != id(2)).collect();
    assert_eq!(
        a,
        [&id(0), &id(0), &id(1)],
        "A1 (500), A1 again, then A2: {order:?}"
    );
    let b = order.iter().position(|o| *o == id(2));
    assert!(
        b.is_some_and(|b| b < 2),
        "B went ahead of A1's retry: {order:?}"
    );
    h.settled(3).await;
    h.cleanup().await;
}

async fn a_hook_takes_several_tickets_at_once_up_to_its_limit(backend: Backend) {
    let h = Hooks::start(&backend, &[("WEBHOOK_HOOK_CONCURRENCY", "3")]).await;
    // A receiver that takes a while over each request: the worker does not wait for one
    // ticket's answer before sending another ticket's event, but never has more than three
    // requests open to the hook.
    let slow = Receiver::slow(std::time::Duration::from_millis(200)).await;
    let (_, secret) = h
        .create((h.fx.cast.faculty, FACULTY), json!({"url": slow.url}))
        .await;
    slow.trust(&[&secret]);
    let events = h.fx.granted_tickets(10).await;
    h.publish(&events).await;
    let got = slow.wait_for(10).await;
    assert_eq!(got.len(), 10);
    assert_eq!(slow.most_in_flight(), 3);
    let rows = h.settled(10).await;
    assert!(
        rows.iter()
            .all(|r| r.status == "DELIVERED" && r.attempts == 1),
        "{rows:?}"
    );
    h.cleanup().await;
}

on_both_databases!(
    a_hook_takes_several_tickets_at_once_up_to_its_limit,
    one_tickets_events_arrive_in_order_while_others_go_ahead,
    every_event_kind_arrives_signed_and_verified,
    a_tampered_body_and_an_old_timestamp_are_rejected,
    hooks_hear_only_what_their_owner_may_see_and_their_filter_takes,
    rotation_signs_with_both_secrets_during_the_overlap,
    private_addresses_are_refused,
    a_delivery_is_redelivered_and_a_test_event_sent
);
