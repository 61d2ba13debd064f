//! The errors of the webhook root fields: bad input named by its field, the limits on new
//! hooks, and someone else's hooks (NOT_FOUND, their list FORBIDDEN, an ADMIN's to manage).

use crate::hooks::{Hooks, code};
use crate::on_both_databases;
use crate::support::Backend;
use common::Role;
use serde_json::json;

const FACULTY: &[Role] = &[Role::Faculty];

async fn bad_input_is_refused_naming_its_field(backend: Backend) {
    let h = Hooks::start(
        &backend,
        &[
            ("WEBHOOK_ALLOW_HTTP", "false"),
            ("WEBHOOK_MAX_PER_USER", "2"),
        ],
    )
    .await;
    let me = (h.fx.cast.faculty, FACULTY);
    let create = "mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { secret webhook { id } } }";
    for (input, field) in [
        (json!({"url": "not a url"}), "url"),
        (json!({"url": "http://hooks.example.org/"}), "url"),
        (
            json!({"url": "https://hooks.example.org/", "description": "x".repeat(501)}),
            "description",
        ),
        (
            json!({"url": "https://hooks.example.org/", "ticketId": "abc"}),
            "ticketId",
        ),
    ] {
        let r = h.gql(me, create, json!({"input": input})).await;
        assert_eq!(code(&r), "BAD_USER_INPUT", "{input}: {r}");
        assert_eq!(r["errors"][0]["extensions"]["field"], field, "{r}");
    }
    // A ticket the caller cannot see is NOT_FOUND, as everywhere.
    let other = h.person("other@test.edu", FACULTY).await;
    let ticket = h.fx.granted_tickets(1).await[0].ticket_id;
    let r = h
        .gql(
            (other, FACULTY),
            create,
            json!({"input": {"url": "https://hooks.example.org/", "ticketId": ticket.to_string()}}),
        )
        .await;
    assert_eq!(code(&r), "NOT_FOUND", "{r}");

    let https = json!({"input": {"url": "https://hooks.example.org/"}});
    h.gql(me, create, https.clone()).await;
    h.gql(me, create, https.clone()).await;
    let r = h.gql(me, create, https).await;
    assert_eq!(
        code(&r),
        "BAD_USER_INPUT",
        "a third hook over the limit of 2: {r}"
    );

    h.cleanup().await;
}

async fn other_peoples_hooks_are_not_found_but_an_admin_manages_them(backend: Backend) {
    let h = Hooks::start(&backend, &[]).await;
    let me = (h.fx.cast.faculty, FACULTY);
    let other = h.person("other@test.edu", FACULTY).await;
    let (hook, _) = h.create(me, json!({})).await;
    h.create(me, json!({})).await;
    // Someone else's hook is not found; their list is forbidden; an ADMIN sees both.
    let theirs = (other, FACULTY);
    let r = h
        .gql(
            theirs,
            "query($id: ID!) { webhook(id: $id) { id } }",
            json!({"id": hook}),
        )
        .await;
    assert!(
        r["data"]["webhook"].is_null() && r.get("errors").is_none(),
        "{r}"
    );
    for mutation in [
        "deleteWebhook",
        "rotateWebhookSecret",
        "sendTestWebhookEvent",
    ] {
        let r = h
            .gql(
                theirs,
                &format!("mutation($id: ID!) {{ {mutation}(id: $id) {{ __typename }} }}"),
                json!({"id": hook}),
            )
            .await;
        assert_eq!(code(&r), "NOT_FOUND", "{mutation}: {r}");
    }
    let r = h
        .gql(
            theirs,
            "mutation($id: ID!) { updateWebhook(id: $id, input: {active: false}) { id } }",
            json!({"id": hook}),
        )
        .await;
    assert_eq!(code(&r), "NOT_FOUND", "{r}");
    let list = "query($owner: ID) { webhooks(ownerId: $owner) { id owner { id } } }";
    let r = h
        .gql(theirs, list, json!({"owner": me.0.to_string()}))
        .await;
    assert_eq!(code(&r), "FORBIDDEN", "{r}");
    let admin = (
        h.person("admin@test.edu", &[Role::Admin]).await,
        &[Role::Admin][..],
    );
    let r = h.gql(admin, list, json!({"owner": me.0.to_string()})).await;
    assert_eq!(r["data"]["webhooks"].as_array().unwrap().len(), 2, "{r}");
    let r = h.gql(me, list, json!({})).await;
    assert_eq!(r["data"]["webhooks"].as_array().unwrap().len(), 2, "{r}");
    let r = h
        .gql(
            admin,
            "mutation($id: ID!) { deleteWebhook(id: $id) { id } }",
            json!({"id": hook}),
        )
        .await;
    assert_eq!(r["data"]["deleteWebhook"]["id"], hook, "{r}");
    let r = h.gql(me, list, json!({})).await;
    assert_eq!(r["data"]["webhooks"].as_array().unwrap().len(), 1, "{r}");
    h.cleanup().await;
}

async fn new_hooks_are_rate_limited_per_user(backend: Backend) {
    let h = Hooks::start(&backend, &[("WEBHOOK_CREATE_PER_HOUR", "1")]).await;
    let me = (h.fx.cast.faculty, FACULTY);
    let create =
        "mutation { createWebhook(input: {url: \"https://hooks.example.org/\"}) { secret } }";
    let r = h.gql(me, create, json!({})).await;
    assert!(
        r["data"]["createWebhook"]["secret"]
            .as_str()
            .unwrap()
            .starts_with("whsec_"),
        "{r}"
    );
    let r = h.gql(me, create, json!({})).await;
    assert_eq!(code(&r), "RATE_LIMITED", "{r}");
    h.cleanup().await;
}

on_both_databases!(
    bad_input_is_refused_naming_its_field,
    other_peoples_hooks_are_not_found_but_an_admin_manages_them,
    new_hooks_are_rate_limited_per_user
);
