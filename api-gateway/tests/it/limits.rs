//! The limits of DESIGN.md, each answered before any subgraph is called: a refused mutation
//! leaves nothing behind.

use crate::support::{Backend, Options, Platform, Who, code};
use serde_json::{Value, json};

fn create_mutation(app: &Platform) -> String {
    format!(
        "createTickets(input: {{ownerId: \"{}\", residency: DOMESTIC, cycle: \"2027\"}}) {{ id }}",
        app.id(Who::FacultyA)
    )
}

async fn total(app: &Platform, client: &reqwest::Client) -> i64 {
    let body = app
        .gql(client, "{ ticketStats { total } }", json!({}))
        .await;
    body["data"]["ticketStats"]["total"]
        .as_i64()
        .expect("total")
}

fn too_complex(body: &Value) {
    assert_eq!(code(body), Some("QUERY_TOO_COMPLEX"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn depth_aliases_root_fields_and_complexity() {
    let app = Platform::spawn(Backend::Sqlite).await;
    let budget = app.signed_in(Who::Budget).await;

    // Depth: ticket > notes > ticket > notes ... Every cycle in the schema passes through a
    // list, so a legal deep query soon exceeds the complexity budget instead: a query nine
    // fields deep passes both, one seventeen deep is refused by the depth rule (which runs
    // first).
    let nest = |levels: usize| {
        let mut q = String::from("id");
        for level in (0..levels).rev() {
            let field = if level % 2 == 0 { "ticket" } else { "notes" };
            q = format!("{field} {{ {q} }}");
        }
        format!("{{ ticketByNumber(number: 1) {{ notes {{ {q} }} }} }}")
    };
    let ok = app.gql(&budget, &nest(6), json!({})).await;
    assert!(ok.get("errors").is_none(), "{ok}");
    let deep = app.gql(&budget, &nest(14), json!({})).await;
    too_complex(&deep);
    assert!(
        deep["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("depth"),
        "{deep}"
    );

    // More than 10,000 tokens, however flat.
    let flat = format!("{{ me {{ {} }} }}", "id ".repeat(10_001));
    too_complex(&app.gql(&budget, &flat, json!({})).await);

    // 31 aliases; a mutation that would have created tickets.
    let aliased: String = (0..31)
        .map(|i| format!("a{i}: {} ", create_mutation(&app)))
        .collect();
    too_complex(
        &app.gql(&budget, &format!("mutation {{ {aliased} }}"), json!({}))
            .await,
    );
    assert_eq!(total(&app, &budget).await, 0);

    // 21 root fields without aliases (the same field repeated merges, so vary arguments).
    let roots: String = (0..21)
        .map(|i| format!("t{i}: ticketByNumber(number: {i}) {{ id }} "))
        .collect();
    too_complex(&app.gql(&budget, &format!("{{ {roots} }}"), json!({})).await);
    let roots: String = (0..20)
        .map(|i| format!("t{i}: ticketByNumber(number: {i}) {{ id }} "))
        .collect();
    let ok = app.gql(&budget, &format!("{{ {roots} }}"), json!({})).await;
    assert!(ok.get("errors").is_none(), "{ok}");

    // Complexity: a page of 100 tickets with nested lists three deep.
    let heavy = "query($n: Int) { tickets(first: $n) { nodes { notes { ticket { notes { ticket { history { actor { name } } } } } } } } }";
    too_complex(&app.gql(&budget, heavy, json!({"n": 100})).await);
    let light =
        "query($n: Int) { tickets(first: $n) { nodes { number owner { name } notes { body } } } }";
    let ok = app.gql(&budget, light, json!({"n": 100})).await;
    assert!(ok.get("errors").is_none(), "{ok}");
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_two_megabytes_are_refused() {
    let app = Platform::spawn(Backend::Sqlite).await;
    let client = app.signed_in(Who::Grad).await;
    let padding = "x".repeat(2 * 1024 * 1024 + 1);
    let r = client
        .post(format!("{}/graphql", app.url))
        .json(&json!({"query": "{ me { id } }", "variables": {"pad": padding}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_rate_is_limited_per_user() {
    let app = Platform::spawn_with(
        Backend::Sqlite,
        Options {
            rate: Some((1000, 1)),
            ..Options::default()
        },
    )
    .await;
    let budget = app.signed_in(Who::Budget).await;
    let mutation = format!("mutation {{ {} }}", create_mutation(&app));
    // A burst of two is allowed, then requests are refused before reaching the subgraph.
    let mut created = 0;
    let mut refused = None;
    for _ in 0..10 {
        let r = app.post(&budget, &mutation, json!({})).await;
        if r.status() == 429 {
            refused = Some(r);
            break;
        }
        created += 1;
    }
    let refused = refused.expect("the burst is limited");
    assert!(refused.headers().get("retry-after").is_some());
    let body: Value = refused.json().await.unwrap();
    assert_eq!(code(&body), Some("RATE_LIMITED"), "{body}");
    assert!(
        body["errors"][0]["extensions"]["retryAfter"]
            .as_u64()
            .unwrap()
            >= 1
    );
    // Another user is not throttled by it.
    let grad = app.signed_in(Who::Grad).await;
    assert_eq!(
        total(&app, &grad).await,
        created,
        "the refused request created nothing"
    );
    app.cleanup().await;
}
