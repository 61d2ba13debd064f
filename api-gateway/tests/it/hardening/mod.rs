//! Issue 18, tried as an attacker would: deep JSON, sign-in CSRF, sessions after a new
//! password, security headers, `/metrics`, who reads whose details, control characters in
//! names, lockouts, and subgraph names in errors.

use crate::on_both_databases;
use crate::support::{Backend, Options, PASSWORD, Platform, Who, code};
use reqwest::header::{CONTENT_TYPE, COOKIE, ORIGIN, SET_COOKIE};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const ME: &str = "{ me { id } }";

fn nested(levels: usize) -> String {
    format!("{}{}", "[".repeat(levels), "]".repeat(levels))
}

async fn healthy(app: &Platform) {
    let health = reqwest::get(format!("{}/healthz", app.url)).await;
    assert_eq!(
        health.map(|r| r.status().as_u16()).ok(),
        Some(200),
        "the gateway stopped answering /healthz"
    );
}

/// Asserts a 400 whose body is a BAD_USER_INPUT (or, for a document, QUERY_TOO_COMPLEX,
/// answered 200 like every limit of a well-formed request) saying what was nested too deep.
async fn refused_as_too_deep(response: reqwest::Response, expected_code: &str, what: &str) {
    let status = if expected_code == "QUERY_TOO_COMPLEX" {
        200
    } else {
        400
    };
    assert_eq!(response.status(), status, "{what}");
    let body: Value = response.json().await.unwrap();
    let found = body["errors"][0]["extensions"]["code"]
        .as_str()
        .or(body["error"]["code"].as_str());
    assert_eq!(found, Some(expected_code), "{what}: {body}");
    assert!(body.to_string().contains("nested"), "{what}: {body}");
}

/// Finding 1: JSON nested 10,000 and 100,000 deep, in every place the gateway and the
/// subgraphs parse JSON, is refused with 400 and every process keeps serving. The gateway
/// serves on this test's tokio workers (2 MiB stacks, like production's).
async fn deep_json_is_refused_and_everything_keeps_serving(backend: Backend) {
    let app = Platform::spawn(backend).await;
    let client = reqwest::Client::new();
    for levels in [10_000, 100_000] {
        let deep = nested(levels);
        let graphql = format!("{}/graphql", app.url);
        let bodies = [
            (
                "variables",
                format!(r#"{{"query":"{{__typename}}","variables":{{"x":{deep}}}}}"#),
            ),
            (
                "extensions",
                format!(r#"{{"query":"{{__typename}}","extensions":{{"x":{deep}}}}}"#),
            ),
            ("the body", deep.clone()),
        ];
        for (what, body) in bodies {
            let response = client
                .post(&graphql)
                .header(CONTENT_TYPE, "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            refused_as_too_deep(response, "BAD_USER_INPUT", what).await;
            healthy(&app).await;
        }
        // A link as long as 100,000 levels is longer than any URL the server takes.
        let params: &[&str] = if levels == 10_000 {
            &["variables", "extensions"]
        } else {
            &[]
        };
        for &param in params {
            let response = client
                .get(&graphql)
                .query(&[
                    ("query", "{__typename}".to_string()),
                    (param, format!(r#"{{"x":{deep}}}"#)),
                ])
                .send()
                .await
                .unwrap();
            refused_as_too_deep(response, "BAD_USER_INPUT", param).await;
            healthy(&app).await;
        }
        let login = client
            .post(format!("{}/auth/login", app.url))
            .header(CONTENT_TYPE, "application/json")
            .body(format!(r#"{{"email":{deep},"password":"x"}}"#))
            .send()
            .await
            .unwrap();
        refused_as_too_deep(login, "BAD_USER_INPUT", "a sign-in").await;
        // A document nested as deep, as selections and as a list value.
        let selections = format!("{}{}", "{a".repeat(levels), "}".repeat(levels));
        let list = format!("{{ user(id: {}) {{ id }} }}", nested(levels));
        for document in [selections, list] {
            let response = client
                .post(&graphql)
                .json(&json!({ "query": document }))
                .send()
                .await
                .unwrap();
            refused_as_too_deep(response, "QUERY_TOO_COMPLEX", "a document").await;
        }
        // Straight to each subgraph, without a token: the body is refused before anything
        // parses it.
        for subgraph in &app.gateway_settings.subgraphs {
            let response = client
                .post(&subgraph.url)
                .header(CONTENT_TYPE, "application/json")
                .body(format!(
                    r#"{{"query":"{{__typename}}","variables":{{"x":{deep}}}}}"#
                ))
                .send()
                .await
                .unwrap();
            refused_as_too_deep(response, "BAD_USER_INPUT", subgraph.name).await;
            let health = subgraph.url.replace("/graphql", "/healthz");
            assert_eq!(
                client.get(&health).send().await.unwrap().status(),
                200,
                "{}",
                subgraph.name
            );
        }
        healthy(&app).await;
    }
    // A body over the subgraphs' 2 MiB is refused before it is read whole.
    for subgraph in &app.gateway_settings.subgraphs {
        let sent = client
            .post(&subgraph.url)
            .header(CONTENT_TYPE, "application/json")
            .body(format!(r#"{{"query":"{}"}}"#, "a".repeat(3 * 1024 * 1024)))
            .send()
            .await;
        match sent {
            Ok(response) => assert_eq!(response.status(), 413, "{}", subgraph.name),
            // The subgraph answered 413 and closed the connection while the client was still
            // writing the rest (a broken pipe): refused all the same.
            Err(err) => assert!(err.is_request(), "{}: {err}", subgraph.name),
        }
        // On a new connection: the refused one may have been closed under the client's pool.
        let health = subgraph.url.replace("/graphql", "/healthz");
        assert_eq!(
            reqwest::get(&health).await.unwrap().status(),
            200,
            "{}",
            subgraph.name
        );
    }
    // Honest nesting still works: a list variable a few levels deep reaches validation.
    let client = app.signed_in(Who::Budget).await;
    let body = app
        .gql(
            &client,
            "query($s: [TicketState!]) { tickets(filter: {states: $s}) { totalCount } }",
            json!({"s": ["GRANTED"]}),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    app.cleanup().await;
}

/// Finding 2: sign-in and sign-out take JSON from this site only, like `/graphql`.
async fn sign_in_and_out_refuse_forms_and_other_sites(backend: Backend) {
    let app = Platform::spawn(backend).await;
    let client = reqwest::Client::new();
    let credentials = json!({"email": Who::Grad.email(), "password": PASSWORD}).to_string();
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        let mut request = client
            .post(format!("{}/auth/login", app.url))
            .body(credentials.clone());
        if let Some(content_type) = content_type {
            request = request.header(CONTENT_TYPE, content_type);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 415, "{content_type:?}");
        assert!(response.headers().get(SET_COOKIE).is_none());
    }
    let cross_site = client
        .post(format!("{}/auth/login", app.url))
        .header(CONTENT_TYPE, "application/json")
        .header(ORIGIN, "https://evil.example.com")
        .body(credentials.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), 403);
    assert!(cross_site.headers().get(SET_COOKIE).is_none());

    let cookie = app.session_cookie(Who::Grad, PASSWORD).await;
    // A forged sign-out (a form, or a script on another site) leaves the session alone.
    let form = client
        .post(format!("{}/auth/logout", app.url))
        .header(COOKIE, &cookie)
        .header(CONTENT_TYPE, "text/plain")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 415);
    let other_site = client
        .post(format!("{}/auth/logout", app.url))
        .header(COOKIE, &cookie)
        .header(ORIGIN, "https://evil.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(other_site.status(), 403);
    assert!(signed_in_with(&app, &cookie).await);
    // The web client's own sign-out: no body, same origin.
    let own = client
        .post(format!("{}/auth/logout", app.url))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 204);
    assert!(!signed_in_with(&app, &cookie).await);
    app.cleanup().await;
}

async fn signed_in_with(app: &Platform, cookie: &str) -> bool {
    let body: Value = reqwest::Client::new()
        .post(format!("{}/graphql", app.url))
        .header(COOKIE, cookie)
        .json(&json!({"query": ME}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    !body["data"]["me"].is_null()
}

/// Waits (at most a minute) until `cookie` no longer opens a session: the gateway reloads a
/// user at most every few seconds.
async fn until_signed_out(app: &Platform, cookie: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if !signed_in_with(app, cookie).await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    false
}

const SET_PASSWORD: &str =
    "mutation($id: ID!, $p: String!) { updateUser(input: {id: $id, password: $p}) { id } }";

async fn set_password(app: &Platform, admin_cookie: &str, who: Who, password: &str) {
    let body: Value = reqwest::Client::new()
        .post(format!("{}/graphql", app.url))
        .header(COOKIE, admin_cookie)
        .json(&json!({"query": SET_PASSWORD, "variables": {"id": app.id(who).to_string(), "p": password}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(body.get("errors").is_none(), "{body}");
}

/// Finding 3: a password set by an administrator ends the user's sessions; an administrator
/// who sets their own keeps the session they did it in and loses the others.
async fn a_new_password_ends_the_old_sessions(options: Options) {
    let app = Platform::spawn_with(Backend::Sqlite, options).await;
    let admin = app.session_cookie(Who::Admin, PASSWORD).await;
    let laptop = app.session_cookie(Who::FacultyB, PASSWORD).await;
    let phone = app.session_cookie(Who::FacultyB, PASSWORD).await;
    set_password(&app, &admin, Who::FacultyB, "a brand new password").await;
    assert!(
        until_signed_out(&app, &laptop).await,
        "the old session held"
    );
    assert!(until_signed_out(&app, &phone).await, "the old session held");
    let again = app
        .session_cookie(Who::FacultyB, "a brand new password")
        .await;
    assert!(signed_in_with(&app, &again).await);

    let other_admin_session = app.session_cookie(Who::Admin, PASSWORD).await;
    set_password(&app, &admin, Who::Admin, "the admin's new password").await;
    assert!(
        until_signed_out(&app, &other_admin_session).await,
        "the admin's other session held"
    );
    assert!(
        signed_in_with(&app, &admin).await,
        "the session that changed the password ended"
    );
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_password_ends_the_old_sessions_in_process() {
    a_new_password_ends_the_old_sessions(Options::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_password_ends_the_old_sessions_in_redis() {
    if let Some(redis) = crate::support::redis_or_skip().await {
        a_new_password_ends_the_old_sessions(Options {
            redis: Some(redis),
            ..Options::default()
        })
        .await;
    }
}

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// Finding 4: every response, whatever answered it, carries the security headers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_the_security_headers() {
    let app = Platform::spawn(Backend::Sqlite).await;
    let client = reqwest::Client::new();
    let responses = [
        client.get(format!("{}/", app.url)).send().await.unwrap(),
        client
            .get(format!("{}/tickets/12", app.url))
            .send()
            .await
            .unwrap(),
        client
            .get(format!("{}/healthz", app.url))
            .send()
            .await
            .unwrap(),
        client
            .get(format!("{}/exports/1.csv", app.url))
            .send()
            .await
            .unwrap(),
        client
            .post(format!("{}/graphql", app.url))
            .json(&json!({"query": ME}))
            .send()
            .await
            .unwrap(),
        app.login(&client, "nobody@test.edu", "wrong").await,
    ];
    for response in responses {
        let headers = response.headers();
        let at = response.url().path().to_string();
        assert_eq!(headers["content-security-policy"], CSP, "{at}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{at}");
        assert_eq!(headers["referrer-policy"], "same-origin", "{at}");
        assert_eq!(headers["x-frame-options"], "DENY", "{at}");
    }
    app.cleanup().await;
}

async fn metrics_status(url: &str, token: Option<&str>) -> u16 {
    let mut request = reqwest::Client::new().get(format!("{url}/metrics"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap().status().as_u16()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Finding 5: `/metrics` is open only in development; production serves it to the bearer
/// of `METRICS_TOKEN` or on `METRICS_ADDR`, and 404 on the public port otherwise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_for_the_operator_in_production() {
    let development = Platform::spawn(Backend::Sqlite).await;
    assert_eq!(metrics_status(&development.url, None).await, 200);
    development.cleanup().await;

    let production = Options {
        production: true,
        ..Options::default()
    };
    let closed = Platform::spawn_with(Backend::Sqlite, production.clone()).await;
    assert_eq!(metrics_status(&closed.url, None).await, 404);
    closed.cleanup().await;

    let secret = "a-long-scrape-secret-0123456789";
    let token = Platform::spawn_with(
        Backend::Sqlite,
        Options {
            env: vec![("METRICS_TOKEN", secret.to_string())],
            ..production.clone()
        },
    )
    .await;
    assert_eq!(metrics_status(&token.url, None).await, 401);
    assert_eq!(metrics_status(&token.url, Some("guess")).await, 401);
    assert_eq!(metrics_status(&token.url, Some(secret)).await, 200);
    token.cleanup().await;

    let port = free_port();
    let listener = Platform::spawn_with(
        Backend::Sqlite,
        Options {
            env: vec![("METRICS_ADDR", format!("127.0.0.1:{port}"))],
            ..production
        },
    )
    .await;
    assert_eq!(metrics_status(&listener.url, None).await, 404);
    let scraped = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap();
    assert_eq!(scraped.status(), 200);
    assert!(
        scraped
            .text()
            .await
            .unwrap()
            .contains("tessera_gateway_queue_depth")
    );
    listener.cleanup().await;
}

const DIRECTORY: &str = "{ users { id name email roles } }";
const DETAILS: &str =
    "query($id: ID!) { user(id: $id) { id name email roles notificationPreferences { email } } }";

/// Finding 6, for every role: what `users` and `user(id)` tell each caller about others.
async fn the_directory_shows_each_role_what_it_needs(backend: Backend) {
    let app = Platform::spawn(backend).await;
    let staff = [Who::Admin, Who::Budget, Who::Chair, Who::Grad];
    for caller in Who::ALL {
        let client = app.signed_in(caller).await;
        let sees_everyone = staff.contains(&caller);
        let body = app.gql(&client, DIRECTORY, json!({})).await;
        assert!(body.get("errors").is_none(), "{caller:?}: {body}");
        let listed: Vec<i64> = body["data"]["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_str().unwrap().parse().unwrap())
            .collect();
        for other in Who::ALL {
            let is_faculty = matches!(other, Who::FacultyA | Who::FacultyB);
            let visible = sees_everyone || other == caller || is_faculty;
            assert_eq!(
                listed.contains(&app.id(other)),
                visible,
                "{caller:?} lists {other:?}"
            );
            let body = app
                .gql(&client, DETAILS, json!({"id": app.id(other).to_string()}))
                .await;
            let user = &body["data"]["user"];
            if !visible {
                assert!(user.is_null(), "{caller:?} reads {other:?}: {body}");
                continue;
            }
            let preferences_forbidden = other != caller && caller != Who::Admin;
            if preferences_forbidden {
                // Only the preferences are refused; the non-null field takes its user along.
                assert_eq!(
                    code(&body),
                    Some("FORBIDDEN"),
                    "{caller:?} on {other:?}: {body}"
                );
                assert_eq!(
                    body["errors"][0]["path"].as_array().and_then(|p| p.last()),
                    Some(&json!("notificationPreferences")),
                    "{body}"
                );
                let body = app
                    .gql(
                        &client,
                        "query($id: ID!) { user(id: $id) { name email roles } }",
                        json!({"id": app.id(other).to_string()}),
                    )
                    .await;
                assert!(
                    body.get("errors").is_none(),
                    "{caller:?} on {other:?}: {body}"
                );
                let roles = &body["data"]["user"]["roles"];
                if sees_everyone {
                    assert_ne!(roles, &json!([]), "{caller:?} on {other:?}");
                } else {
                    // Faculty and FSS see another's FACULTY role and nothing else.
                    assert_eq!(roles, &json!(["FACULTY"]), "{caller:?} on {other:?}");
                }
            } else {
                assert!(
                    body.get("errors").is_none(),
                    "{caller:?} on {other:?}: {body}"
                );
                assert_eq!(user["email"], other.email());
            }
        }
    }
    // Through a ticket, a faculty member may reach someone the directory does not show
    // them (who created it): the name, never the email.
    let budget = app.signed_in(Who::Budget).await;
    let created = app
        .gql(
            &budget,
            "mutation($o: ID!) { createTickets(input: {ownerId: $o, residency: DOMESTIC, cycle: \"2027\"}) { id } }",
            json!({"o": app.id(Who::FacultyA).to_string()}),
        )
        .await;
    let ticket = created["data"]["createTickets"][0]["id"].clone();
    let faculty = app.signed_in(Who::FacultyA).await;
    let name = app
        .gql(
            &faculty,
            "query($t: ID!) { ticket(id: $t) { createdBy { name } } }",
            json!({"t": ticket}),
        )
        .await;
    assert_eq!(
        name["data"]["ticket"]["createdBy"]["name"], "Bea Budget",
        "{name}"
    );
    let email = app
        .gql(
            &faculty,
            "query($t: ID!) { ticket(id: $t) { createdBy { email } } }",
            json!({"t": ticket}),
        )
        .await;
    assert_eq!(code(&email), Some("FORBIDDEN"), "{email}");
    app.cleanup().await;
}

/// Finding 7: control characters and direction overrides never get into names or notes.
async fn control_characters_are_refused_naming_the_field(backend: Backend) {
    let app = Platform::spawn(backend).await;
    let admin = app.signed_in(Who::Admin).await;
    let create = "mutation($name: String!) { createUser(input: {email: \"new@test.edu\", name: $name, roles: [FACULTY], password: \"long enough password\"}) { id } }";
    for name in [
        "Nul\u{0}Name",
        "Line\r\nBreak",
        "Ann \u{202E}nimdA",
        "Esc\u{1b}[2J",
    ] {
        let body = app.gql(&admin, create, json!({"name": name})).await;
        assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{name:?}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "name", "{body}");
    }
    let rename =
        "mutation($id: ID!, $name: String!) { updateUser(input: {id: $id, name: $name}) { name } }";
    let body = app
        .gql(
            &admin,
            rename,
            json!({"id": app.id(Who::FacultyB).to_string(), "name": "Bob \u{202E}ytlucaF"}),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "name", "{body}");

    let budget = app.signed_in(Who::Budget).await;
    let created = app
        .gql(
            &budget,
            "mutation($o: ID!) { createTickets(input: {ownerId: $o, residency: DOMESTIC, cycle: \"2027\"}) { id } }",
            json!({"o": app.id(Who::FacultyA).to_string()}),
        )
        .await;
    let ticket = created["data"]["createTickets"][0]["id"].clone();
    let granted = app
        .gql(
            &budget,
            "mutation($t: ID!) { grantTicket(ticketId: $t) { state } }",
            json!({"t": ticket}),
        )
        .await;
    assert_eq!(
        granted["data"]["grantTicket"]["state"], "GRANTED",
        "{granted}"
    );
    let faculty = app.signed_in(Who::FacultyA).await;
    let request = "mutation($t: ID!, $name: String!) { requestOffer(input: {ticketId: $t, applicant: {applicantNumber: \"A-1\", name: $name}}) { state } }";
    let body = app
        .gql(
            &faculty,
            request,
            json!({"t": ticket, "name": "Pat\r\nSmith"}),
        )
        .await;
    assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "name", "{body}");

    let note = "mutation($t: ID!, $body: String!) { addNote(ticketId: $t, body: $body) { body } }";
    let body = app
        .gql(&faculty, note, json!({"t": ticket, "body": "two\nlines"}))
        .await;
    assert_eq!(body["data"]["addNote"]["body"], "two\nlines", "{body}");
    for bad in ["nul\u{0}", "cr\rhere", "\u{202E}reversed"] {
        let body = app
            .gql(&faculty, note, json!({"t": ticket, "body": bad}))
            .await;
        assert_eq!(
            body["errors"][0]["extensions"]["field"], "body",
            "{bad:?}: {body}"
        );
    }
    app.cleanup().await;
}

on_both_databases!(
    deep_json_is_refused_and_everything_keeps_serving,
    sign_in_and_out_refuse_forms_and_other_sites,
    the_directory_shows_each_role_what_it_needs,
    control_characters_are_refused_naming_the_field
);

/// A client whose connections come from `address` (any 127.0.0.0/8 address reaches the
/// gateway on 127.0.0.1): another client address, as far as the gateway can tell.
fn client_from(address: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(address))
        .build()
        .unwrap()
}

/// Finding 8: failures lock one address out of one account, and an address out of
/// everything, but never the account: its owner signs in from an address that has not
/// failed.
async fn nobody_can_lock_someone_else_out(options: Options) {
    let app = Platform::spawn_with(Backend::Sqlite, options).await;
    let attacker = client_from([127, 0, 0, 1]);
    for _ in 0..5 {
        let r = app.login(&attacker, Who::Grad.email(), "wrong").await;
        assert_eq!(r.status(), 401);
    }
    // This address is done with this account, even with the right password...
    let locked = app.login(&attacker, Who::Grad.email(), PASSWORD).await;
    assert_eq!(locked.status(), 429);
    let retry: u64 = locked.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 15 * 60, "{retry}");
    let body: Value = locked.json().await.unwrap();
    assert_eq!(body["error"]["code"], "RATE_LIMITED");
    // ...but the owner, elsewhere, signs in (after a short wait the account's failures
    // impose on every attempt).
    let owner = client_from([127, 0, 0, 2]);
    assert_eq!(
        app.login(&owner, Who::Grad.email(), PASSWORD)
            .await
            .status(),
        200
    );
    // The attacker's address may still sign in to other accounts...
    assert_eq!(
        app.login(&attacker, Who::Chair.email(), PASSWORD)
            .await
            .status(),
        200
    );
    // ...until it has failed too often, whatever the emails; other addresses are unaffected.
    for i in 0..15 {
        let r = app
            .login(&attacker, &format!("guess{i}@test.edu"), "wrong")
            .await;
        assert_eq!(r.status(), 401);
    }
    let blocked = app.login(&attacker, Who::Budget.email(), PASSWORD).await;
    assert_eq!(blocked.status(), 429);
    assert!(blocked.headers().contains_key("retry-after"));
    let elsewhere = client_from([127, 0, 0, 3]);
    assert_eq!(
        app.login(&elsewhere, Who::Budget.email(), PASSWORD)
            .await
            .status(),
        200
    );
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lockout_in_process() {
    nobody_can_lock_someone_else_out(Options::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lockout_in_redis() {
    if let Some(redis) = crate::support::redis_or_skip().await {
        nobody_can_lock_someone_else_out(Options {
            redis: Some(redis),
            ..Options::default()
        })
        .await;
    }
}

/// Finding 9: errors name the subgraph they came from only to ADMIN and in development.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_name_subgraphs_only_to_admins_and_developers() {
    // notificationPreferences of someone else: FORBIDDEN, from notify-service.
    let query = "query($id: ID!) { user(id: $id) { notificationPreferences { email } } }";
    for (production, who, named) in [
        (true, Who::Chair, false),
        (true, Who::Admin, true),
        (false, Who::Chair, true),
    ] {
        let app = Platform::spawn_with(
            Backend::Sqlite,
            Options {
                production,
                ..Options::default()
            },
        )
        .await;
        let client = app.signed_in(who).await;
        let other = if who == Who::Admin {
            Who::Chair
        } else {
            Who::Grad
        };
        let variables = json!({"id": app.id(other).to_string()});
        let body = if who == Who::Admin {
            // An ADMIN may read anyone's preferences: another subgraph error.
            app.gql(
                &client,
                "mutation { updateUser(input: {id: \"999999\", name: \"x\"}) { id } }",
                json!({}),
            )
            .await
        } else {
            app.gql(&client, query, variables).await
        };
        let errors = body["errors"].as_array().cloned().unwrap_or_default();
        assert!(!errors.is_empty(), "{body}");
        let service_named = errors
            .iter()
            .any(|e| e["extensions"].get("service").is_some());
        assert_eq!(
            service_named, named,
            "production {production}, {who:?}: {body}"
        );
        app.cleanup().await;
    }
}

/// Found by the fuzz: a selection under `__typename` made the engine fail with an internal
/// error, answered 500 INTERNAL; it is the request's fault.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_selection_under_a_scalar_is_bad_input_not_internal() {
    let app = Platform::spawn(Backend::Sqlite).await;
    for query in [
        "{ __typename { id } }",
        "{ me { __typename { name } } }",
        "{ me { ... on User { __typename { id } } } }",
    ] {
        let response = app.post(&app.client(), query, json!({})).await;
        assert!(response.status().as_u16() < 500, "{query}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{query}: {body}");
    }
    app.cleanup().await;
}
