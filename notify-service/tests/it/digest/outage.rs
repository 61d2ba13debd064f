//! Workers and outages: two workers compose each digest once, a restarted worker sends a
//! digest whose send failed, once, and a worker that was down for days sends one digest
//! with everything that waited.

use super::*;
use crate::on_both_databases;

async fn two_workers_compose_once_and_a_restart_sends_a_failed_digest_once(backend: Backend) {
    let d = Digests::start(&backend).await;
    let cast = d.fx.cast;
    let utc = digest_of(Cadence::Daily, chrono_tz::UTC, 6, chrono::Weekday::Mon);
    preferences::update(&d.fx.db, cast.fss, &utc).await.unwrap();
    d.deliver(&d.fx.granted_tickets(5).await, 10).await;

    // The provider is down: both workers try at the same moment.
    let fake = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(wiremock::ResponseTemplate::new(503))
        .mount(&fake)
        .await;
    let down = d.mail(&[
        ("SENDGRID_API_KEY", "SG.test".into()),
        ("SENDGRID_API_URL", fake.uri()),
    ]);
    let t0 = Utc::now();
    let due = Schedule {
        zone: chrono_tz::UTC,
        hour: 6,
        weekday: chrono::Weekday::Mon,
    }
    .last_due(Cadence::Daily, t0 + Duration::days(1))
    .unwrap();
    let (clock, hand) = Clock::manual(due);
    let (a, b) = (
        d.runner(&clock, down.clone()).await,
        d.runner(&clock, down).await,
    );
    let (x, y) = tokio::join!(a.tick(), b.tick());
    let (x, y) = (x.unwrap(), y.unwrap());
    assert_eq!((x.composed + y.composed, x.sent + y.sent), (1, 0));
    let held = d.digests().await;
    assert_eq!(held.len(), 1);
    assert_eq!(
        (held[0].status.as_str(), held[0].attempts, held[0].changes),
        ("QUEUED", 1, 5)
    );
    assert!(held[0].last_error.is_some());

    // Restarted with a working mailer, after the retry's wait: sent once, then nothing more.
    let restarted = d.runner(&clock, d.mail(&[])).await;
    let again = tick(&restarted, &hand, due + Duration::hours(1)).await;
    assert_eq!((again.composed, again.sent), (0, 1));
    assert_eq!(
        tick(&restarted, &hand, due + Duration::hours(2)).await,
        Default::default()
    );
    let sent = d.digests().await;
    assert_eq!(
        (sent.len(), sent[0].status.as_str(), sent[0].attempts),
        (1, "SENT", 2)
    );
    let files = d.digest_files();
    assert_eq!(files.len(), 1);
    assert!(
        files[0].1.contains("5 changes on 5 tickets"),
        "{}",
        files[0].1
    );
    d.stop().await;
}

async fn a_worker_down_for_days_sends_one_digest_with_everything_that_waited(backend: Backend) {
    let d = Digests::start(&backend).await;
    let fss = d.fx.cast.fss;
    let daily = digest_of(Cadence::Daily, chrono_tz::UTC, 9, chrono::Weekday::Mon);
    preferences::update(&d.fx.db, fss, &daily).await.unwrap();
    d.deliver(&d.fx.granted_tickets(2).await, 4).await;
    d.deliver(&d.fx.granted_tickets(2).await, 8).await;
    let t0 = Utc::now();
    let first = Schedule {
        zone: chrono_tz::UTC,
        hour: 9,
        weekday: chrono::Weekday::Mon,
    }
    .last_due(Cadence::Daily, t0 + Duration::days(1))
    .unwrap();
    // No worker ran for the next three digests; one starts in the afternoon of the third day.
    let (clock, hand) = Clock::manual(first);
    let late = d.runner(&clock, d.mail(&[])).await;
    let done = tick(&late, &hand, first + Duration::days(2) + Duration::hours(5)).await;
    assert_eq!((done.composed, done.sent, done.released), (1, 1, 4));
    assert_eq!(
        tick(&late, &hand, first + Duration::days(2) + Duration::hours(6)).await,
        Default::default(),
        "the missed ones are not sent after it"
    );
    let sent = d.digests().await;
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].changes, sent[0].due_at),
        (4, first + Duration::days(2)),
        "the latest due moment takes everything"
    );
    d.stop().await;
}

on_both_databases!(
    two_workers_compose_once_and_a_restart_sends_a_failed_digest_once,
    a_worker_down_for_days_sends_one_digest_with_everything_that_waited,
);
