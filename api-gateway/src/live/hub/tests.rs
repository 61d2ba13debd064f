//! The hub alone: grouping of resolutions, letting go of slow subscribers, filters, and
//! resuming from the window.

use super::*;
use crate::live::WINDOW;
use crate::live::resolve::Resolved;
use common::{Role, TicketEventKind};
use futures::FutureExt;
use std::sync::atomic::{AtomicUsize, Ordering};

fn message(event_id: i64, ticket_id: i64, owner: i64, state: TicketState) -> TicketEventMessage {
    TicketEventMessage {
        event_id,
        ticket_id,
        ticket_number: ticket_id,
        kind: TicketEventKind::StateChanged,
        actor_id: 1,
        from_state: None,
        to_state: Some(state),
        state,
        owner_id: owner,
        supervisor_ids: vec![],
        applicant: None,
        detail: None,
        at: chrono::Utc::now(),
    }
}

fn entry(id: i64, owner: i64) -> Entry {
    Entry {
        id: format!("{id}-0"),
        payload: serde_json::to_string(&message(id, id, owner, TicketState::Granted)).unwrap(),
    }
}

fn hub() -> Arc<Hub> {
    Hub::new(
        EventStream::memory(),
        prometheus::IntGauge::new("open", "open").unwrap(),
    )
}

/// The same query for `user`, built afresh each time.
fn resolution(user: i64) -> Arc<Resolution> {
    Arc::new(Resolution::new(
        user,
        "q".into(),
        None,
        Default::default(),
        "k".into(),
    ))
}

async fn subscribe(hub: &Arc<Hub>, principal: &Principal, kick: Arc<Notify>) -> TicketSubscription {
    let user = principal.user_id.unwrap();
    hub.subscribe_tickets(
        Filter::default(),
        principal.clone(),
        resolution(user),
        kick,
        None,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn subscribers_alike_share_a_resolution_and_a_slow_one_is_let_go() {
    let hub = hub();
    let office = Principal::user(3, vec![Role::GradOffice], vec![]);
    let kick = Arc::new(Notify::new());
    // Equal resolutions, separately built: grouped by key, not by pointer.
    let mut fast = vec![
        subscribe(&hub, &office, Arc::new(Notify::new())).await,
        subscribe(&hub, &office, Arc::new(Notify::new())).await,
    ];
    let slow = subscribe(&hub, &office, kick.clone()).await;
    let resolved = AtomicUsize::new(0);
    let resolve = |_: Arc<Resolution>, id: i64| -> Outcome {
        resolved.fetch_add(1, Ordering::SeqCst);
        futures::future::ready(Some(Arc::new(Resolved::new(id.to_string().into()))))
            .boxed()
            .shared()
    };
    for id in 1..=QUEUE as i64 {
        hub.dispatch_ticket_event(entry(id, 7), resolve);
        for subscription in &mut fast {
            let delivery = subscription.live.recv().await.unwrap();
            let resolved = delivery.outcome.await.unwrap();
            assert_eq!(&*resolved.body, id.to_string().as_str());
            // One message per subscription id, shared by everyone who uses that id.
            let a = resolved.next_message("1");
            assert_eq!(a, resolved.next_message("1"));
            assert_eq!(
                a.as_str(),
                format!(r#"{{"id":"1","type":"next","payload":{id}}}"#)
            );
        }
    }
    assert_eq!(resolved.load(Ordering::SeqCst), QUEUE, "one per event");
    assert_eq!(
        hub.lock().tickets.len(),
        3,
        "the slow one is still within its queue"
    );
    // One more than its queue holds: it is let go and told so, the others go on.
    hub.dispatch_ticket_event(entry(QUEUE as i64 + 1, 7), resolve);
    assert_eq!(hub.lock().tickets.len(), 2);
    tokio::time::timeout(Duration::from_secs(5), kick.notified())
        .await
        .unwrap();
    for subscription in &mut fast {
        assert!(subscription.live.recv().await.is_some());
    }
    assert_eq!(
        hub.open.get(),
        3,
        "until the connection drops the registration"
    );
    drop(slow);
    assert_eq!(hub.open.get(), 2);
}

#[test]
fn filters_match_by_ticket_and_by_state() {
    let m = message(1, 5, 7, TicketState::Granted);
    assert!(Filter::default().matches(&m));
    assert!(
        Filter {
            ticket_id: Some(5),
            states: None
        }
        .matches(&m)
    );
    assert!(
        !Filter {
            ticket_id: Some(6),
            states: None
        }
        .matches(&m)
    );
    assert!(
        Filter {
            ticket_id: None,
            states: Some(vec![TicketState::Initial, TicketState::Granted])
        }
        .matches(&m)
    );
    assert!(
        !Filter {
            ticket_id: None,
            states: Some(vec![TicketState::Initial])
        }
        .matches(&m)
    );
}

#[tokio::test]
async fn a_resume_gets_what_followed_its_event_and_the_window_is_bounded() {
    let hub = hub();
    let entries = (1..=WINDOW as i64 + 5)
        .map(|i| Entry {
            id: format!("{i}-0"),
            payload: serde_json::to_string(&message(i, i % 3, 7, TicketState::Granted)).unwrap(),
        })
        .collect();
    hub.preload(entries);
    // An event sent twice is kept once.
    hub.preload(vec![Entry {
        id: "999999-0".into(),
        payload: serde_json::to_string(&message(20, 2, 7, TicketState::Granted)).unwrap(),
    }]);
    assert_eq!(hub.lock().window.len(), WINDOW);
    let owner = Principal::user(7, vec![Role::Faculty], vec![]);
    let filter = Filter {
        ticket_id: Some(1),
        states: None,
    };
    let after = WINDOW as i64 - 5;
    let sub = hub
        .subscribe_tickets(
            filter.clone(),
            owner.clone(),
            resolution(7),
            Arc::new(Notify::new()),
            Some(after),
        )
        .await
        .unwrap();
    let ids: Vec<i64> = sub.replay.iter().map(|e| e.message.event_id).collect();
    let expected: Vec<i64> = ((after + 1)..=WINDOW as i64 + 5)
        .filter(|i| i % 3 == 1)
        .collect();
    assert_eq!(ids, expected);
    assert_eq!(hub.open.get(), 1);
    drop(sub);
    assert_eq!(hub.open.get(), 0);
    assert!(hub.lock().tickets.is_empty());
    // Fell out of the window: refused, not silently resumed with a gap.
    let refused = hub
        .subscribe_tickets(
            filter,
            owner,
            resolution(7),
            Arc::new(Notify::new()),
            Some(3),
        )
        .await
        .unwrap_err();
    assert_eq!(refused, ResumeError::Unknown(3));
    // Someone else's tickets are not replayed to a faculty member.
    let other = Principal::user(8, vec![Role::Faculty], vec![]);
    let sub = hub
        .subscribe_tickets(
            Filter::default(),
            other,
            resolution(8),
            Arc::new(Notify::new()),
            Some(after),
        )
        .await
        .unwrap();
    assert!(sub.replay.is_empty());
}

#[tokio::test]
async fn an_inbox_change_reaches_the_subscribers_of_the_inboxes_it_names_once_per_group() {
    let hub = hub();
    let count = |user: i64| {
        Arc::new(
            Resolution::new(user, "q".into(), None, Default::default(), "k".into()).without_id(),
        )
    };
    let (_a1, mut first_tab) = hub.subscribe_inbox(7, count(7), Arc::new(Notify::new()));
    let (_a2, mut second_tab) = hub.subscribe_inbox(7, count(7), Arc::new(Notify::new()));
    let (_b, mut other) = hub.subscribe_inbox(8, count(8), Arc::new(Notify::new()));
    let resolved = AtomicUsize::new(0);
    let resolve = |resolution: Arc<Resolution>, id: i64| -> Outcome {
        resolved.fetch_add(1, Ordering::SeqCst);
        assert!(!resolution.takes_id);
        futures::future::ready(Some(Arc::new(Resolved::new(id.to_string().into()))))
            .boxed()
            .shared()
    };
    hub.dispatch_inbox(&InboxChange { users: vec![7, 9] }, resolve);
    for tab in [&mut first_tab, &mut second_tab] {
        let delivery = tab.recv().await.unwrap();
        assert!(!delivery.last);
        assert_eq!(&*delivery.outcome.await.unwrap().body, "7");
    }
    assert!(other.try_recv().is_err(), "user 8's inbox did not change");
    assert_eq!(
        resolved.load(Ordering::SeqCst),
        1,
        "one count for one user's tabs"
    );
    hub.dispatch_inbox(&InboxChange { users: vec![8] }, resolve);
    assert_eq!(
        &*other.recv().await.unwrap().outcome.await.unwrap().body,
        "8"
    );
    assert!(first_tab.try_recv().is_err());
    assert_eq!(hub.open.get(), 3);
}
