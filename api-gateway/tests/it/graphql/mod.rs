//! GraphQL over HTTP through the gateway: federated execution with the caller's identity,
//! POST and GET, content negotiation, the CSRF rule, introspection and GraphiQL, and a
//! subgraph that dies.

mod availability;
mod digests;
mod federation;
mod scheduler;

use crate::on_both_databases;
use crate::support::{Backend, Options, Platform, Who, code};
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde_json::{Value, json};

const CREATE: &str = "mutation($input: CreateTicketsInput!) { createTickets(input: $input) { id number state owner { name } } }";

pub async fn create_ticket(app: &Platform, budget: &reqwest::Client) -> Value {
    let body = app
        .gql(
            budget,
            CREATE,
            json!({"input": {"ownerId": app.id(Who::FacultyA).to_string(), "residency": "DOMESTIC", "cycle": "2027", "count": 1}}),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    body["data"]["createTickets"][0].clone()
}

async fn the_callers_identity_reaches_the_subgraph(backend: Backend) {
    let app = Platform::spawn(backend).await;
    let budget = app.signed_in(Who::Budget).await;
    let ticket = create_ticket(&app, &budget).await;
    assert_eq!(ticket["owner"]["name"], "Alice Faculty");
    assert_eq!(ticket["state"], "INITIAL");
    let id = ticket["id"].as_str().unwrap();

    // The owner's FSS sees it (visibility decided by the subgraph from the gateway's token)...
    let fss = app.signed_in(Who::FssA).await;
    let query = "query($id: ID!) { ticket(id: $id) { number owner { email } allowedTransitions history { kind actor { name } } } }";
    let body = app.gql(&fss, query, json!({"id": id})).await;
    assert_eq!(
        body["data"]["ticket"]["owner"]["email"],
        Who::FacultyA.email(),
        "{body}"
    );
    assert_eq!(
        body["data"]["ticket"]["history"][0]["actor"]["name"],
        "Bea Budget"
    );
    // ...another faculty member does not: the ticket is null, exactly as for a missing one.
    let other = app.signed_in(Who::FacultyB).await;
    let body = app.gql(&other, query, json!({"id": id})).await;
    assert_eq!(body, json!({"data": {"ticket": null}}));
    let missing = app.gql(&other, query, json!({"id": "999999"})).await;
    assert_eq!(missing, body);
    // Changing it is NOT_FOUND, the subgraph's code passed through intact.
    let body = app
        .gql(
            &other,
            "mutation($id: ID!) { addNote(ticketId: $id, body: \"hi\") { id } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(code(&body), Some("NOT_FOUND"), "{body}");
    // A move the caller may not make keeps the subgraph's code too.
    let body = app
        .gql(
            &other,
            "mutation($id: ID!) { grantTicket(ticketId: $id) { state } }",
            json!({"id": id}),
        )
        .await;
    assert!(
        matches!(code(&body), Some("NOT_FOUND" | "FORBIDDEN")),
        "{body}"
    );
    let body = app
        .gql(
            &budget,
            "mutation($id: ID!) { grantTicket(ticketId: $id, expectedVersion: 99) { state } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(code(&body), Some("CONFLICT"), "{body}");
    assert!(
        body["errors"][0]["extensions"]["version"].is_number(),
        "{body}"
    );
    app.cleanup().await;
}

async fn get_runs_queries_but_never_mutations(backend: Backend) {
    let app = Platform::spawn(backend).await;
    let budget = app.signed_in(Who::Budget).await;
    let get = budget
        .get(format!("{}/graphql", app.url))
        .query(&[
            (
                "query",
                "query Stats($c: String) { ticketStats(cycle: $c) { total } }",
            ),
            ("variables", r#"{"c": "2027"}"#),
            ("operationName", "Stats"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 200);
    let body: Value = get.json().await.unwrap();
    assert_eq!(body["data"]["ticketStats"]["total"], 0, "{body}");

    let mutation = format!(
        "mutation {{ createTickets(input: {{ownerId: \"{}\", residency: DOMESTIC, cycle: \"2027\"}}) {{ id }} }}",
        app.id(Who::FacultyA)
    );
    let get = budget
        .get(format!("{}/graphql", app.url))
        .query(&[("query", mutation.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 405);
    let body: Value = get.json().await.unwrap();
    assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{body}");
    let stats = app
        .gql(&budget, "{ ticketStats { total } }", json!({}))
        .await;
    assert_eq!(
        stats["data"]["ticketStats"]["total"], 0,
        "nothing was created: {stats}"
    );
    app.cleanup().await;
}

on_both_databases!(
    the_callers_identity_reaches_the_subgraph,
    get_runs_queries_but_never_mutations
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_requests_must_be_json() {
    let app = Platform::spawn(Backend::Sqlite).await;
    let budget = app.signed_in(Who::Budget).await;
    let mutation = format!(
        "mutation {{ createTickets(input: {{ownerId: \"{}\", residency: DOMESTIC, cycle: \"2027\"}}) {{ id }} }}",
        app.id(Who::FacultyA)
    );
    // What a forged cross-site form could send.
    for content_type in [
        "application/x-www-form-urlencoded",
        "text/plain",
        "multipart/form-data; boundary=x",
    ] {
        let r = budget
            .post(format!("{}/graphql", app.url))
            .header(CONTENT_TYPE, content_type)
            .body(json!({"query": mutation}).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 415, "{content_type}");
    }
    let stats = app
        .gql(&budget, "{ ticketStats { total } }", json!({}))
        .await;
    assert_eq!(stats["data"]["ticketStats"]["total"], 0, "{stats}");
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_are_400_and_negotiation_follows_accept() {
    let app = Platform::spawn(Backend::Sqlite).await;
    let client = app.signed_in(Who::Grad).await;
    let url = format!("{}/graphql", app.url);
    for body in ["{not json", r#"{"variables": {}}"#, r#"{"query": 5}"#] {
        let r = client
            .post(&url)
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{body}");
        let v: Value = r.json().await.unwrap();
        assert!(v["errors"][0]["message"].is_string(), "{v}");
    }
    // A syntax error: 400 with the GraphQL response type, 200 with plain JSON.
    let r = client
        .post(&url)
        .header(ACCEPT, "application/graphql-response+json")
        .json(&json!({"query": "{ tickets { "}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.headers()[CONTENT_TYPE],
        "application/graphql-response+json"
    );
    let r = client
        .post(&url)
        .header(ACCEPT, "application/json")
        .json(&json!({"query": "{ nope }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()[CONTENT_TYPE], "application/json");
    let v: Value = r.json().await.unwrap();
    assert!(
        v["errors"][0]["message"].as_str().unwrap().contains("nope"),
        "{v}"
    );
    // A successful request with the GraphQL response type.
    let r = client
        .post(&url)
        .header(
            ACCEPT,
            "application/graphql-response+json, application/json",
        )
        .json(&json!({"query": "{ me { email } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()[CONTENT_TYPE],
        "application/graphql-response+json"
    );
    app.cleanup().await;
}

const INTROSPECTION: &str = "{ __schema { queryType { name } } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspection_and_graphiql_are_for_admins_in_production() {
    let app = Platform::spawn_with(
        Backend::Sqlite,
        Options {
            production: true,
            ..Options::default()
        },
    )
    .await;
    let admin = app.signed_in(Who::Admin).await;
    let body = app.gql(&admin, INTROSPECTION, json!({})).await;
    assert_eq!(
        body["data"]["__schema"]["queryType"]["name"], "Query",
        "{body}"
    );
    let faculty = app.signed_in(Who::FacultyA).await;
    let body = app.gql(&faculty, INTROSPECTION, json!({})).await;
    assert_eq!(code(&body), Some("FORBIDDEN"), "{body}");
    let body = app.gql(&app.client(), INTROSPECTION, json!({})).await;
    assert_eq!(code(&body), Some("FORBIDDEN"), "{body}");
    // `__typename` is not introspection.
    let body = app.gql(&faculty, "{ __typename }", json!({})).await;
    assert_eq!(body["data"]["__typename"], "Query");
    // No field suggestions in production: an unknown field does not reveal its neighbours.
    let body = app
        .gql(&faculty, "{ ticketz { totalCount } }", json!({}))
        .await;
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("ticketz") && !message.contains("Did you mean"),
        "{body}"
    );

    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = no_redirects
        .get(format!("{}/graphiql", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/");
    assert_eq!(
        faculty
            .get(format!("{}/graphiql", app.url))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let r = admin
        .get(format!("{}/graphiql", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // GraphiQL comes from the embedded bundle, under a policy that runs only this origin's
    // scripts: nothing from a CDN reaches a page with an admin's session.
    assert_eq!(
        r.headers()["content-security-policy"],
        api_gateway::http::CONTENT_SECURITY_POLICY
    );
    assert!(api_gateway::http::CONTENT_SECURITY_POLICY.contains("script-src 'self';"));
    let page = r.text().await.unwrap();
    assert!(page.contains(r#"src="/assets/graphiql-"#), "{page}");
    assert!(!page.contains("://"), "an outside address: {page}");
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspection_is_for_anyone_signed_in_in_development() {
    let app = Platform::spawn(Backend::Sqlite).await;
    let faculty = app.signed_in(Who::FacultyA).await;
    let body = app.gql(&faculty, INTROSPECTION, json!({})).await;
    assert_eq!(
        body["data"]["__schema"]["queryType"]["name"], "Query",
        "{body}"
    );
    let body = app.gql(&app.client(), INTROSPECTION, json!({})).await;
    assert_eq!(code(&body), Some("FORBIDDEN"), "{body}");
    let r = faculty
        .get(format!("{}/graphiql", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    app.cleanup().await;
}

/// Inserts a notification row the way the email worker records one.
pub async fn record_notification(app: &Platform, ticket_id: i64, recipient: Who, status: &str) {
    use db::entity::{notification, ticket_event};
    use db::sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
    let event = ticket_event::Entity::find()
        .filter(ticket_event::Column::TicketId.eq(ticket_id))
        .one(&app.db)
        .await
        .unwrap()
        .expect("the ticket has a CREATED event");
    notification::ActiveModel {
        event_id: Set(event.id),
        ticket_id: Set(Some(ticket_id)),
        recipient_id: Set(app.id(recipient)),
        subject: Set(format!("Ticket {ticket_id}: granted")),
        status: Set(status.into()),
        attempts: Set(5),
        last_error: Set((status == "FAILED").then(|| "provider said 500".to_string())),
        created_at: Set(db::now()),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
}
