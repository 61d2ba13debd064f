//! Who is emailed: every step of the workflow emails the people it concerns, and each
//! person's preferences decide whether they get an email.

use super::{APPROVE, CANCEL, DECLINE, GRANT, NOTE, PREFS, REQUEST, RESPOND, WITHDRAW};
use super::{
    a_grant_emailing_the_owner_only, accepted, mutate, new_ticket, platform, received, sendgrid,
    settled, status_by_recipient, to, wait_for_requests,
};
use crate::on_both_databases;
use crate::support::{Backend, Platform, Who};
use serde_json::{Value, json};
use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};
use wiremock::MockServer;

/// The fake SendGrid's requests, as far as a test has checked them.
struct Inbox<'a> {
    fake: &'a MockServer,
    /// How many emails the test has seen so far.
    seen: usize,
}

impl Inbox<'_> {
    /// Runs a mutation as `client` and checks it emailed exactly `expected`, once each; every
    /// email so far.
    async fn step(
        &mut self,
        app: &Platform,
        client: &reqwest::Client,
        query: &str,
        variables: Value,
        expected: &[Who],
    ) -> Vec<Value> {
        mutate(app, client, query, variables).await;
        wait_for_requests(self.fake, self.seen + expected.len()).await;
        // Give a wrong extra recipient the time to arrive before comparing.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let all = received(self.fake).await;
        let new: BTreeSet<String> = all[self.seen..].iter().map(to).collect();
        let want: BTreeSet<String> = expected.iter().map(|w| w.email().to_string()).collect();
        assert_eq!(new, want, "{query}");
        assert_eq!(
            all.len(),
            self.seen + expected.len(),
            "{query}: one email each"
        );
        self.seen = all.len();
        all
    }
}

/// The grant's email: from the platform, says who granted, links the ticket.
fn a_grant_email_says_who_granted_and_links_the_ticket(grant: &Value, id: &str) {
    assert_eq!(grant["from"]["email"], "tessera@test.edu");
    assert!(
        grant["subject"].as_str().unwrap().ends_with("granted"),
        "{grant}"
    );
    let text = grant["content"][0]["value"].as_str().unwrap();
    assert!(text.contains("Bea Budget"), "{text}");
    assert!(
        text.contains(&format!("https://tessera.test.edu/tickets/{id}")),
        "{text}"
    );
}

async fn every_step_emails_the_people_it_concerns(backend: Backend) {
    let fake = MockServer::start().await;
    sendgrid().respond_with(accepted()).mount(&fake).await;
    let app = platform(backend, &fake).await;
    let budget = app.signed_in(Who::Budget).await;
    let faculty = app.signed_in(Who::FacultyA).await;
    let fss = app.signed_in(Who::FssA).await;
    let chair = app.signed_in(Who::Chair).await;
    let grad = app.signed_in(Who::Grad).await;
    let other = app.signed_in(Who::FacultyB).await;
    // Faculty B will co-supervise and asks for note emails; nobody else does.
    mutate(&app, &other, PREFS, json!({"notes": true})).await;

    let mut inbox = Inbox {
        fake: &fake,
        seen: 0,
    };

    let id = new_ticket(&app, &budget).await;
    let ticket = json!({"id": id});
    let request = json!({"input": {"ticketId": id, "applicant": {"applicantNumber": "A-100", "name": "Ada Lovelace"}, "supervisorIds": [app.id(Who::FacultyB).to_string()]}});
    let sent = inbox
        .step(
            &app,
            &budget,
            GRANT,
            ticket.clone(),
            &[Who::FacultyA, Who::FssA],
        )
        .await;
    a_grant_email_says_who_granted_and_links_the_ticket(sent.last().unwrap(), &id);

    let sent = inbox
        .step(&app, &faculty, REQUEST, request.clone(), &[Who::Chair])
        .await;
    assert!(
        sent.last().unwrap()["subject"]
            .as_str()
            .unwrap()
            .contains("Ada Lovelace")
    );
    let refused = json!({"id": id, "accepted": false});
    let rest: [(&reqwest::Client, &str, &Value, &[Who]); 8] = [
        (&chair, DECLINE, &ticket, &[Who::FacultyA, Who::FssA]),
        (&fss, REQUEST, &request, &[Who::Chair]),
        (&faculty, WITHDRAW, &ticket, &[Who::FssA]),
        (&faculty, REQUEST, &request, &[Who::Chair]),
        (
            &chair,
            APPROVE,
            &ticket,
            &[Who::FacultyA, Who::FssA, Who::Grad],
        ),
        // A note: only the supervisor who turned note emails on (the writer never).
        (&faculty, NOTE, &ticket, &[Who::FacultyB]),
        (
            &grad,
            RESPOND,
            &refused,
            &[Who::FacultyA, Who::FssA, Who::FacultyB, Who::Budget],
        ),
        (&budget, CANCEL, &ticket, &[Who::FacultyA, Who::FssA]),
    ];
    for (client, query, variables, expected) in rest {
        inbox
            .step(&app, client, query, variables.clone(), expected)
            .await;
    }

    // The record, read through the gateway by the owner: every email SENT, once.
    let rows = settled(&app, &faculty, &id, inbox.seen).await;
    assert_eq!(rows.len(), inbox.seen);
    for row in &rows {
        assert_eq!(row["status"], "SENT", "{row}");
        assert_eq!(row["attempts"], 1, "{row}");
    }
    app.cleanup().await;
}

async fn preferences_decide_who_gets_an_email(backend: Backend) {
    let fake = MockServer::start().await;
    sendgrid().respond_with(accepted()).mount(&fake).await;
    let app = platform(backend, &fake).await;
    let (_, rows) = a_grant_emailing_the_owner_only(&app).await;
    assert_eq!(
        status_by_recipient(&rows),
        BTreeMap::from([
            (Who::FacultyA.name().to_string(), "SENT".to_string()),
            (Who::FssA.name().to_string(), "SUPPRESSED".to_string()),
        ])
    );
    let sent = received(&fake).await;
    assert_eq!(
        sent.iter().map(to).collect::<Vec<_>>(),
        [Who::FacultyA.email()]
    );
    app.cleanup().await;
}

on_both_databases!(
    every_step_emails_the_people_it_concerns,
    preferences_decide_who_gets_an_email
);
