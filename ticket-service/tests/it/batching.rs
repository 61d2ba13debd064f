//! DataLoader batching: a page of tickets with its related rows costs the same number of SQL
//! statements whatever the page size.

use crate::on_both_databases;
use crate::support::{Backend, TestApp, Who, ok};
use serde_json::json;
use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

/// What the issue names: a page with owner, applicant, supervisors, notes and history.
const PAGE: &str = "query($n: Int!) { tickets(first: $n) { nodes { number owner { name } applicant { name } supervisors { name } notes { body } history { kind } } } }";
/// The same with a second level of users (note authors, history actors).
const NESTED: &str = "query($n: Int!) { tickets(first: $n) { nodes { number owner { name } applicant { name } supervisors { name } notes { body author { name } } history { kind actor { name } } } } }";

async fn a_page_costs_a_fixed_number_of_statements(backend: Backend) {
    let statements = Arc::new(AtomicUsize::new(0));
    let counter = statements.clone();
    let app = TestApp::spawn_with(backend, move |mut conn| {
        conn.set_metric_callback(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        conn
    })
    .await;
    for i in 0..30 {
        let t = app
            .granted_ticket(if i % 2 == 0 {
                Who::FacultyA
            } else {
                Who::FacultyB
            })
            .await;
        let owner = if i % 2 == 0 {
            Who::FacultyA
        } else {
            Who::FacultyB
        };
        ok(&app
            .request_offer(
                owner,
                &t,
                &format!("B-{i}"),
                json!([app.id(Who::FacultyC).to_string()]),
            )
            .await);
        ok(&app
            .gql(
                Who::Grad,
                "mutation($t: ID!) { addNote(ticketId: $t, body: \"checked\") { id } }",
                json!({"t": t}),
            )
            .await);
    }
    let cost = |query: &'static str, size: usize| {
        let (app, statements) = (&app, &statements);
        async move {
            statements.store(0, Ordering::SeqCst);
            let r = app.gql(Who::Grad, query, json!({"n": size})).await;
            assert_eq!(ok(&r)["tickets"]["nodes"].as_array().unwrap().len(), size);
            statements.load(Ordering::SeqCst)
        }
    };
    // The page, then one statement each for owners, applicants, supervisors, notes and history,
    // read ahead by the list's resolver (`schema::prefetch`): six, whatever the page size and
    // however loaded the machine.
    assert_eq!(cost(PAGE, 1).await, 6, "a page of one ticket");
    let size = 30;
    assert_eq!(cost(PAGE, size).await, 6, "a page of {size}");
    // A second level (note authors, history actors) goes through the DataLoaders, which send
    // what was asked for within their batch window: a loaded machine can split one kind over
    // several windows, so that level is held to the property that does not depend on timing,
    // fewer statements than tickets on the page (loading per row would cost one per note and
    // one per history entry).
    let n = cost(NESTED, size).await;
    assert!(n < size, "{n} statements for a nested page of {size}");
    app.cleanup().await;
}

on_both_databases!(a_page_costs_a_fixed_number_of_statements);
