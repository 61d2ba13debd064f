//! The worker over the in-process stream, emails to the outbox: a redelivered event sends
//! nothing twice, unreadable or orphaned events are skipped without holding up the rest,
//! every event ends acknowledged, and a reminder's date reads in each recipient's zone.

use crate::on_both_databases;
use crate::support::{Backend, FACULTY_EMAIL, FSS_EMAIL, Fixture};
use common::{config::CommonSettings, stream::EventStream};
use db::entity::outbox::TICKET_EVENTS;
use notify_service::{MailSettings, worker};
use std::{collections::HashMap, path::PathBuf, time::Duration};

/// Outbox settings under a fresh data folder.
fn outbox_settings() -> (MailSettings, PathBuf) {
    let data = std::env::temp_dir().join(format!("tessera-notify-{}", uuid::Uuid::new_v4()));
    let data_str = data.display().to_string();
    let source = HashMap::from([
        ("DATA_DIR", data_str.as_str()),
        ("MAIL_FROM", "Tessera <tessera@test.edu>"),
    ]);
    let common = CommonSettings::from_source(&source).unwrap();
    (
        MailSettings::from_source(&source, &common).unwrap(),
        data.join("outbox"),
    )
}

fn eml_files(dir: &PathBuf) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

async fn publish(stream: &EventStream, payload: &str) {
    stream.publish(TICKET_EVENTS, payload).await.unwrap();
}

/// Whether every entry ends acknowledged: another consumer claiming finds nothing pending
/// (asked again for a while: the worker acknowledges just after recording the outcome).
async fn all_acknowledged(stream: &EventStream) -> bool {
    for _ in 0..100 {
        let pending = stream
            .claim_stale(
                TICKET_EVENTS,
                worker::GROUP,
                "inspector",
                Duration::ZERO,
                100,
            )
            .await
            .unwrap();
        if pending.is_empty() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

async fn a_redelivered_event_sends_nothing_twice(backend: Backend) {
    let fx = Fixture::new(&backend).await;
    let (settings, outbox) = outbox_settings();
    let stream = EventStream::memory();
    worker::Worker::new(fx.db.clone(), stream.clone(), settings)
        .unwrap()
        .start();

    let event = fx.granted_tickets(1).await.remove(0);
    let payload = serde_json::to_string(&event).unwrap();
    publish(&stream, &payload).await;
    let rows = fx.settled(2).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    // The relay sends it again (it died between the append and the mark).
    publish(&stream, &payload).await;
    // A second event after it shows the duplicate has been handled.
    let next = fx.granted_tickets(1).await.remove(0);
    publish(&stream, &serde_json::to_string(&next).unwrap()).await;
    let rows = fx.settled(4).await;

    assert_eq!(rows.len(), 4, "one row per (event, recipient): {rows:?}");
    let recipients: Vec<i64> = rows.iter().map(|r| r.recipient_id).collect();
    assert_eq!(
        recipients,
        [fx.cast.faculty, fx.cast.fss, fx.cast.faculty, fx.cast.fss]
    );
    let mut expected_files = Vec::new();
    for row in &rows {
        assert_eq!(row.status, "SENT", "{row:?}");
        assert_eq!(row.attempts, 1, "{row:?}");
        assert_eq!(
            row.provider_message_id.as_deref(),
            Some(format!("outbox/{}.eml", row.id).as_str())
        );
        assert!(row.sent_at.is_some());
        expected_files.push(format!("{}.eml", row.id));
    }
    expected_files.sort();
    assert_eq!(eml_files(&outbox), expected_files);
    let first = std::fs::read_to_string(outbox.join(format!("{}.eml", rows[0].id))).unwrap();
    assert!(
        first.contains(&format!("Subject: Ticket #{} granted", event.ticket_number)),
        "{first}"
    );
    assert!(first.contains(FACULTY_EMAIL), "{first}");
    let second = std::fs::read_to_string(outbox.join(format!("{}.eml", rows[1].id))).unwrap();
    assert!(second.contains(FSS_EMAIL), "{second}");
    assert!(all_acknowledged(&stream).await);
    std::fs::remove_dir_all(outbox.parent().unwrap()).ok();
    fx.cleanup().await;
}

async fn bad_events_are_skipped_without_holding_up_the_rest(backend: Backend) {
    let fx = Fixture::new(&backend).await;
    let (settings, outbox) = outbox_settings();
    let stream = EventStream::memory();
    worker::Worker::new(fx.db.clone(), stream.clone(), settings)
        .unwrap()
        .start();

    let mut orphan = fx.granted_tickets(1).await.remove(0);
    // A payload that is not an event, and an event whose history row does not exist.
    publish(&stream, "{not json").await;
    orphan.event_id += 1_000_000;
    publish(&stream, &serde_json::to_string(&orphan).unwrap()).await;
    let good = fx.granted_tickets(1).await.remove(0);
    publish(&stream, &serde_json::to_string(&good).unwrap()).await;

    let rows = fx.settled(2).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(
        rows.iter()
            .all(|r| r.event_id == good.event_id && r.status == "SENT")
    );
    assert_eq!(eml_files(&outbox).len(), 2);
    // Everything was acknowledged, the bad ones included (nothing is retried forever).
    assert!(all_acknowledged(&stream).await);
    std::fs::remove_dir_all(outbox.parent().unwrap()).ok();
    fx.cleanup().await;
}

async fn a_recipient_deactivated_before_the_send_gets_a_failed_row(backend: Backend) {
    deactivated_before_the_send(backend, false).await;
}

/// The same when nobody is left to email at all: the event's earlier rows still end.
async fn an_event_with_nobody_left_still_ends_its_rows(backend: Backend) {
    deactivated_before_the_send(backend, true).await;
}

async fn deactivated_before_the_send(backend: Backend, owner_too: bool) {
    use db::entity::{notification, user};
    use sea_orm::{ActiveModelTrait, EntityTrait, Set};
    let fx = Fixture::new(&backend).await;
    let (settings, outbox) = outbox_settings();
    let stream = EventStream::memory();
    let event = fx.granted_tickets(1).await.remove(0);
    // The rows were written (a worker that then died), the FSS left before the redelivery.
    for recipient in [fx.cast.faculty, fx.cast.fss] {
        notification::ActiveModel {
            event_id: Set(event.event_id),
            ticket_id: Set(Some(event.ticket_id)),
            recipient_id: Set(recipient),
            subject: Set("Ticket granted".into()),
            status: Set("QUEUED".into()),
            attempts: Set(0),
            created_at: Set(db::now()),
            ..Default::default()
        }
        .insert(&fx.db)
        .await
        .unwrap();
    }
    let leaving = if owner_too {
        vec![fx.cast.fss, fx.cast.faculty]
    } else {
        vec![fx.cast.fss]
    };
    for id in leaving {
        let mut gone: user::ActiveModel = user::Entity::find_by_id(id)
            .one(&fx.db)
            .await
            .unwrap()
            .unwrap()
            .into();
        gone.active = Set(false);
        gone.update(&fx.db).await.unwrap();
    }

    worker::Worker::new(fx.db.clone(), stream.clone(), settings)
        .unwrap()
        .start();
    publish(&stream, &serde_json::to_string(&event).unwrap()).await;
    let rows = fx.settled(2).await;
    let status: Vec<(i64, &str, Option<&str>)> = rows
        .iter()
        .map(|r| (r.recipient_id, r.status.as_str(), r.last_error.as_deref()))
        .collect();
    let gone = Some("the recipient's account is no longer active");
    let owner = if owner_too {
        (fx.cast.faculty, "FAILED", gone)
    } else {
        (fx.cast.faculty, "SENT", None)
    };
    assert_eq!(status, [owner, (fx.cast.fss, "FAILED", gone)]);
    assert_eq!(eml_files(&outbox).len(), usize::from(!owner_too));
    assert!(all_acknowledged(&stream).await);
    std::fs::remove_dir_all(outbox.parent().unwrap()).ok();
    fx.cleanup().await;
}

async fn a_reminder_shows_its_date_in_each_recipient_s_zone(backend: Backend) {
    let fx = Fixture::new(&backend).await;
    let (settings, outbox) = outbox_settings();
    let stream = EventStream::memory();
    worker::Worker::new(fx.db.clone(), stream.clone(), settings)
        .unwrap()
        .start();
    // The FSS reads in Tokyo; the faculty member chose no zone: the office's (UTC here).
    let tokyo = notify_service::preferences::Change {
        time_zone: Some(Some(chrono_tz::Asia::Tokyo)),
        ..Default::default()
    };
    notify_service::preferences::update(&fx.db, fx.cast.fss, &tokyo)
        .await
        .unwrap();
    let mut event = fx.granted_tickets(1).await.remove(0);
    event.kind = common::TicketEventKind::DeadlineReminder;
    event.state = common::TicketState::OfferPending;
    event.detail = Some("2027-04-15T23:59:59Z".into());
    publish(&stream, &serde_json::to_string(&event).unwrap()).await;
    let rows = fx.settled(2).await;
    let text = |user: i64| {
        let row = rows.iter().find(|r| r.recipient_id == user).unwrap();
        std::fs::read_to_string(outbox.join(format!("{}.eml", row.id))).unwrap()
    };
    let fss = text(fx.cast.fss);
    assert!(fss.contains("Fri 16 Apr 2027, 08:59 (Asia/Tokyo)"), "{fss}");
    let faculty = text(fx.cast.faculty);
    assert!(
        faculty.contains("Thu 15 Apr 2027, 23:59 (UTC)"),
        "{faculty}"
    );
    std::fs::remove_dir_all(outbox.parent().unwrap()).ok();
    fx.cleanup().await;
}

on_both_databases!(
    a_reminder_shows_its_date_in_each_recipient_s_zone,
    a_recipient_deactivated_before_the_send_gets_a_failed_row,
    an_event_with_nobody_left_still_ends_its_rows,
    a_redelivered_event_sends_nothing_twice,
    bad_events_are_skipped_without_holding_up_the_rest
);
