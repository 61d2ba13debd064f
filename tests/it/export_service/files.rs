//! The file itself: Excel's CSV dialect, exactly the rows of the ticket list with the same
//! filter, order and visibility, and text that survives quoting and formula prefixing.

use super::support::{Backend, TestApp, Who, ok, parse_strict, small_batches};
use crate::on_both_databases;
use db::entity::note;
use sea_orm::{ActiveModelTrait, Set};
use serde_json::{Value, json};

const LIST: &str = "query($f: TicketFilter, $o: TicketOrder) { tickets(filter: $f, orderBy: $o, first: 100) { totalCount nodes { number } } }";

/// The ticket numbers `who` sees in the list with `filter` and `order`, and its totalCount.
async fn listed(app: &TestApp, who: Who, filter: Value, order: Value) -> (Vec<String>, usize) {
    let r = app
        .tickets(who, LIST, json!({"f": filter, "o": order}))
        .await;
    let list = &ok(&r)["tickets"];
    let numbers = list["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["number"].to_string())
        .collect();
    (numbers, list["totalCount"].as_u64().unwrap() as usize)
}

async fn the_file_is_excel_csv_with_exactly_the_listed_rows(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let _worker = app.worker(small_batches()).start();
    app.granted(Who::FacultyA, 7).await;
    app.granted(Who::FacultyB, 4).await;
    let id = app.export(Who::FacultyA, Value::Null, Value::Null).await;
    let job = app.finished(&id).await;
    assert_eq!(job.status, "DONE", "{job:?}");

    let records = parse_strict(&app.file(&id));
    let (header, rows) = records.split_first().unwrap();
    assert_eq!(
        header[0], "Ticket",
        "Excel takes a file starting with ID for SYLK"
    );
    // The web client's words: the file reads like the list it was exported from.
    assert_eq!(
        header[..5],
        ["Ticket", "Cycle", "Funding", "State", "Faculty member"]
    );
    assert_eq!(header[8], "Issued (UTC)");
    assert_eq!(header[10], "Response due (UTC)");
    assert_eq!(header.len(), 12);
    let (numbers, total) = listed(&app, Who::FacultyA, Value::Null, Value::Null).await;
    assert_eq!(total, 7, "faculty A sees only their own tickets");
    assert_eq!(rows.len(), total);
    assert_eq!(
        rows.iter().map(|r| r[0].clone()).collect::<Vec<_>>(),
        numbers
    );
    assert!(
        rows.iter()
            .all(|r| r[4] == "Alice Faculty" && r[3] == "Granted" && r[2] == "Domestic")
    );
    // `YYYY-MM-DD HH:MM:SS`.
    let created = &rows[0][8];
    assert!(
        chrono::NaiveDateTime::parse_from_str(created, "%Y-%m-%d %H:%M:%S").is_ok(),
        "{created}"
    );

    let r = app
        .exports(
            Who::FacultyA,
            "query($id: ID!) { exportJob(id: $id) { status rowsWritten totalRows downloadUrl finishedAt filter } }",
            json!({"id": id}),
        )
        .await;
    let job = &ok(&r)["exportJob"];
    assert_eq!(job["status"], "DONE");
    assert_eq!(
        (job["rowsWritten"].as_u64(), job["totalRows"].as_u64()),
        (Some(7), Some(7))
    );
    assert_eq!(job["downloadUrl"], format!("/exports/{id}.csv"));
    assert_eq!(job["filter"], "{}");
    app.cleanup().await;
}

async fn filters_order_and_visibility_are_the_ticket_lists(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let _worker = app.worker(small_batches()).start();
    let a = app.granted(Who::FacultyA, 5).await;
    app.granted(Who::FacultyB, 5).await;
    // Two of A's tickets cancelled: a state filter has something to leave out.
    for t in &a[..2] {
        let r = app
            .tickets(
                Who::Budget,
                "mutation($t: ID!) { cancelTicket(ticketId: $t, reason: \"budget\") { state } }",
                json!({"t": t}),
            )
            .await;
        ok(&r);
    }
    let cases = [
        (
            Who::FssA,
            json!({"states": ["GRANTED"]}),
            json!({"field": "NUMBER", "direction": "DESC"}),
        ),
        (
            Who::Grad,
            Value::Null,
            json!({"field": "OWNER_NAME", "direction": "DESC"}),
        ),
        (
            Who::Grad,
            json!({"search": "bob"}),
            json!({"field": "STATE"}),
        ),
        (
            Who::FacultyB,
            json!({"cycle": "2027"}),
            json!({"field": "CREATED_AT"}),
        ),
    ];
    for (who, filter, order) in cases {
        let id = app.export(who, filter.clone(), order.clone()).await;
        let job = app.finished(&id).await;
        assert_eq!(job.status, "DONE", "{job:?}");
        let rows = parse_strict(&app.file(&id));
        let exported: Vec<String> = rows[1..].iter().map(|r| r[0].clone()).collect();
        let (numbers, total) = listed(&app, who, filter.clone(), order.clone()).await;
        assert_eq!(exported, numbers, "{who:?} {filter} {order}");
        assert_eq!(exported.len(), total);
        assert_eq!(job.total_rows, Some(total as i64));
    }
    app.cleanup().await;
}

async fn formulas_are_defused_and_awkward_text_round_trips(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let _worker = app.worker(small_batches()).start();
    // Quotes and commas; line breaks in names are refused at the API now (notes keep theirs).
    let awkward = "O\"Brien, \"Jr\", 'Ñúñez'";
    let ids = app.granted(Who::FacultyA, 8).await;
    let r = app
        .tickets(
            Who::FacultyA,
            "mutation($t: ID!, $name: String!) { requestOffer(input: {ticketId: $t, applicant: {applicantNumber: \"=1+1\", name: $name}}) { state } }",
            json!({"t": ids[0], "name": awkward}),
        )
        .await;
    ok(&r);
    // Notes through the API are trimmed, so the whitespace triggers go straight to the table.
    let starts = ["=SUM(A1)", "+1", "-1", "@cmd", "\tTab", "\rCR", "\nLF"];
    for (ticket, body) in ids[1..].iter().zip(starts) {
        note::ActiveModel {
            ticket_id: Set(ticket.parse().unwrap()),
            author_id: Set(app.id(Who::FacultyA)),
            body: Set(body.into()),
            resolved: Set(false),
            resolved_by: Set(None),
            created_at: Set(db::now()),
            edited_at: Set(None),
            ..Default::default()
        }
        .insert(&app.db)
        .await
        .unwrap();
    }
    // Two notes on the first ticket: joined oldest first.
    for body in ["first, with \"quotes\"", "second"] {
        let r = app
            .tickets(
                Who::FacultyA,
                "mutation($t: ID!, $b: String!) { addNote(ticketId: $t, body: $b) { id } }",
                json!({"t": ids[0], "b": body}),
            )
            .await;
        ok(&r);
    }
    let id = app.export(Who::FacultyA, Value::Null, Value::Null).await;
    assert_eq!(app.finished(&id).await.status, "DONE");
    let rows = parse_strict(&app.file(&id));
    let first = &rows[1];
    assert_eq!(first[6], "'=1+1", "applicant number");
    assert_eq!(first[7], awkward, "applicant name");
    assert_eq!(first[11], "first, with \"quotes\"\n\nsecond");
    assert_eq!(first[5], "Alice Faculty", "the owner supervises");
    for (row, body) in rows[2..].iter().zip(starts) {
        assert_eq!(row[11], format!("'{body}"));
    }
    app.cleanup().await;
}

on_both_databases!(
    the_file_is_excel_csv_with_exactly_the_listed_rows,
    filters_order_and_visibility_are_the_ticket_lists,
    formulas_are_defused_and_awkward_text_round_trips,
);
