//! Cursor pagination: every ordering, forwards and backwards, over several pages, with tickets
//! created between pages, never repeats or skips a ticket.

use crate::on_both_databases;
use crate::support::{Backend, TestApp, Who, code, field, ok};
use serde_json::{Value, json};
use std::collections::HashSet;

const PAGE: &str = "query($f: TicketFilter, $o: TicketOrder, $first: Int, $after: String, $last: Int, $before: String) {
  tickets(filter: $f, orderBy: $o, first: $first, after: $after, last: $last, before: $before) {
    totalCount
    edges { cursor node { id number state owner { name } } }
    nodes { id }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}";

/// Pages forward through the list; returns the ids in list order.
async fn walk_forward(app: &TestApp, who: Who, order: Value, size: i64) -> Vec<String> {
    let mut ids = Vec::new();
    let mut after = Value::Null;
    let mut pages = 0;
    loop {
        let r = app
            .gql(
                who,
                PAGE,
                json!({"o": order, "first": size, "after": after}),
            )
            .await;
        let c = &ok(&r)["tickets"];
        let edges = c["edges"].as_array().unwrap();
        assert_eq!(
            edges.iter().map(|e| &e["node"]["id"]).collect::<Vec<_>>(),
            c["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| &n["id"])
                .collect::<Vec<_>>()
        );
        ids.extend(
            edges
                .iter()
                .map(|e| e["node"]["id"].as_str().unwrap().to_owned()),
        );
        assert_eq!(c["pageInfo"]["hasPreviousPage"], json!(pages > 0));
        pages += 1;
        if c["pageInfo"]["hasNextPage"] == json!(false) {
            break;
        }
        after = c["pageInfo"]["endCursor"].clone();
        assert!(pages < 100, "runaway pagination");
    }
    ids
}

async fn walk_backward(app: &TestApp, who: Who, order: Value, size: i64) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    let mut before = Value::Null;
    loop {
        let r = app
            .gql(
                who,
                PAGE,
                json!({"o": order, "last": size, "before": before}),
            )
            .await;
        let c = &ok(&r)["tickets"];
        let mut page: Vec<String> = c["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
            .collect();
        page.extend(ids);
        ids = page;
        if c["pageInfo"]["hasPreviousPage"] == json!(false) {
            break;
        }
        before = c["pageInfo"]["startCursor"].clone();
    }
    ids
}

/// 45 tickets over three owners, three of them GRANTED, as the graduate office sees them; the
/// app.
async fn forty_five_tickets(backend: Backend) -> TestApp {
    let app = TestApp::spawn(backend).await;
    app.create_tickets(Who::FacultyA, 25).await;
    app.create_tickets(Who::FacultyC, 17).await;
    // Spread the tickets over states so STATE ordering has ties to break.
    for t in app.create_tickets(Who::FacultyB, 3).await {
        ok(&app
            .gql(
                Who::Budget,
                "mutation($t: ID!) { grantTicket(ticketId: $t) { id } }",
                json!({"t": t}),
            )
            .await);
    }
    let r = app.gql(Who::Grad, PAGE, json!({"first": 1})).await;
    assert_eq!(ok(&r)["tickets"]["totalCount"], 45);
    app
}

async fn pages_never_repeat_or_skip(backend: Backend) {
    let app = forty_five_tickets(backend).await;
    for (field, direction) in [
        ("NUMBER", "ASC"),
        ("NUMBER", "DESC"),
        ("CREATED_AT", "DESC"),
        ("UPDATED_AT", "ASC"),
        ("STATE", "DESC"),
        ("OWNER_NAME", "ASC"),
    ] {
        let order = json!({"field": field, "direction": direction});
        let forward = walk_forward(&app, Who::Grad, order.clone(), 10).await;
        assert_eq!(forward.len(), 45, "{field} {direction}");
        assert_eq!(
            forward.iter().collect::<HashSet<_>>().len(),
            45,
            "{field} {direction}: duplicates"
        );
        let backward = walk_backward(&app, Who::Grad, order.clone(), 7).await;
        assert_eq!(backward, forward, "{field} {direction}: backwards differs");
    }
    app.cleanup().await;
}

async fn orders_sort_by_what_they_name(backend: Backend) {
    let app = forty_five_tickets(backend).await;
    // Numbers ascending are exactly 1..=45; descending owner names put Carol before Bob before Alice.
    let r = app.gql(Who::Grad, PAGE, json!({"first": 100})).await;
    let numbers: Vec<i64> = ok(&r)["tickets"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["number"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, (1..=45).collect::<Vec<_>>());
    let r = app
        .gql(
            Who::Grad,
            PAGE,
            json!({"first": 100, "o": {"field": "OWNER_NAME", "direction": "DESC"}}),
        )
        .await;
    let owners: Vec<&str> = ok(&r)["tickets"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["owner"]["name"].as_str().unwrap())
        .collect();
    let mut sorted = owners.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(owners, sorted);
    app.cleanup().await;
}

async fn tickets_created_while_paging_do_not_shift_the_pages(backend: Backend) {
    let app = forty_five_tickets(backend).await;
    let r = app.gql(Who::Grad, PAGE, json!({"first": 10})).await;
    let first_page: Vec<String> = ok(&r)["tickets"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_owned())
        .collect();
    let cursor = ok(&r)["tickets"]["pageInfo"]["endCursor"].clone();
    app.create_tickets(Who::FacultyA, 5).await;
    let r = app
        .gql(Who::Grad, PAGE, json!({"first": 10, "after": cursor}))
        .await;
    let second: Vec<i64> = ok(&r)["tickets"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["number"].as_i64().unwrap())
        .collect();
    assert_eq!(second, (11..=20).collect::<Vec<_>>());
    assert!(!first_page.is_empty());
    app.cleanup().await;
}

async fn filters_and_search(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.create_tickets(Who::FacultyA, 4).await;
    let t = app.requested_ticket(Who::FacultyC, "APP-777").await;
    let count = |r: &Value| ok(r)["tickets"]["totalCount"].as_i64().unwrap();
    let q = |f: Value| app.gql(Who::Grad, PAGE, json!({"f": f, "first": 50}));
    assert_eq!(count(&q(json!({"states": ["INITIAL"]})).await), 4);
    assert_eq!(
        count(&q(json!({"states": ["OFFER_REQUESTED", "GRANTED"]})).await),
        1
    );
    assert_eq!(
        count(&q(json!({"ownerId": app.id(Who::FacultyC).to_string()})).await),
        1
    );
    assert_eq!(count(&q(json!({"applicantNumber": "APP-777"})).await), 1);
    assert_eq!(
        count(&q(json!({"search": "test applicant"})).await),
        1,
        "applicant name, any case"
    );
    assert_eq!(
        count(&q(json!({"search": "app-77"})).await),
        1,
        "applicant number"
    );
    assert_eq!(count(&q(json!({"search": "ALICE"})).await), 4, "owner name");
    assert_eq!(count(&q(json!({"search": "5"})).await), 1, "ticket number");
    assert_eq!(
        count(&q(json!({"search": "100%"})).await),
        0,
        "wildcards are literal"
    );
    assert_eq!(count(&q(json!({"residency": "INTERNATIONAL"})).await), 0);
    assert_eq!(
        count(&q(json!({"cycle": "2027", "residency": "DOMESTIC"})).await),
        5
    );
    let r = app
        .gql(
            Who::Grad,
            "query($t: ID!) { ticket(id: $t) { number } }",
            json!({"t": t}),
        )
        .await;
    let number = ok(&r)["ticket"]["number"].clone();
    let r = app
        .gql(
            Who::Grad,
            "query($n: Int!) { ticketByNumber(number: $n) { id } }",
            json!({"n": number}),
        )
        .await;
    assert_eq!(ok(&r)["ticketByNumber"]["id"], t.as_str());
    let r = app
        .gql(
            Who::FacultyA,
            "query($n: Int!) { ticketByNumber(number: $n) { id } }",
            json!({"n": number}),
        )
        .await;
    assert_eq!(ok(&r)["ticketByNumber"], json!(null));
    app.cleanup().await;
}

async fn page_arguments_are_checked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.create_tickets(Who::FacultyA, 3).await;
    for (vars, name) in [
        (json!({"first": 101}), "first"),
        (json!({"last": 101}), "last"),
        (json!({"first": -1}), "first"),
        (json!({"first": 1, "last": 1}), "last"),
        (json!({"after": "not-a-cursor"}), "after"),
        (json!({"before": "eyJmIjoiTnVtYmVyIn0"}), "before"),
        (json!({"f": {"cycle": "27"}}), "cycle"),
        (json!({"f": {"ownerId": "x"}}), "ownerId"),
    ] {
        let r = app.gql(Who::Grad, PAGE, vars.clone()).await;
        assert_eq!(
            (code(&r), field(&r)),
            ("BAD_USER_INPUT", name),
            "{vars}: {r}"
        );
    }
    // A cursor from one ordering is refused by another.
    let r = app.gql(Who::Grad, PAGE, json!({"first": 1})).await;
    let cursor = ok(&r)["tickets"]["pageInfo"]["endCursor"].clone();
    let r = app
        .gql(
            Who::Grad,
            PAGE,
            json!({"first": 1, "after": cursor, "o": {"field": "CREATED_AT"}}),
        )
        .await;
    assert_eq!(field(&r), "after");
    let r = app.gql(Who::Grad, PAGE, json!({"first": 100})).await;
    assert_eq!(ok(&r)["tickets"]["nodes"].as_array().unwrap().len(), 3);
    app.cleanup().await;
}

on_both_databases!(
    pages_never_repeat_or_skip,
    orders_sort_by_what_they_name,
    tickets_created_while_paging_do_not_shift_the_pages,
    filters_and_search,
    page_arguments_are_checked
);
