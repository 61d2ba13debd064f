//! A daily and a weekly digest with their contents, none when nothing happened; the
//! preferences behind them through GraphQL, with their errors.

use super::*;
use crate::on_both_databases;

/// Three tickets granted: every email waits for its digest, the FSS's inbox items too.
async fn held_until_the_digests(d: &Digests) {
    let cast = d.fx.cast;
    d.deliver(&d.fx.granted_tickets(3).await, 6).await;
    for (user, held) in [(cast.fss, "DAILY"), (cast.faculty, "WEEKLY")] {
        let rows = waiting_rows(&d.fx, user).await;
        assert!(
            rows.iter()
                .all(|r| r.status == "DIGEST" && r.held_for.as_deref() == Some(held)),
            "{rows:?}"
        );
    }
    assert!(d.digest_files().is_empty());
    assert!(
        !d.data.join("outbox").exists()
            || std::fs::read_dir(d.data.join("outbox")).unwrap().count() == 0,
        "no single email went out"
    );
    assert_eq!(
        d.unread(cast.fss).await,
        0,
        "the FSS's items wait for the digest"
    );
    assert_eq!(
        d.unread(cast.faculty).await,
        3,
        "the faculty member's inbox is immediate"
    );
}

/// The FSS's first daily digest was sent, listing the three changes.
async fn first_daily_sent(d: &Digests) {
    let cast = d.fx.cast;
    let files = d.digest_files();
    assert_eq!(files.len(), 1);
    assert!(
        files[0]
            .1
            .contains("Your daily Tessera digest: 3 changes on 3 tickets"),
        "{}",
        files[0].1
    );
    let first = d.digests().await;
    assert_eq!(
        (first[0].user_id, first[0].changes, first[0].status.as_str()),
        (cast.fss, 3, "SENT")
    );
    assert!(
        waiting_rows(&d.fx, cast.fss)
            .await
            .iter()
            .all(|r| r.digest_id == Some(first[0].id))
    );
}

/// In the end: the FSS had two daily digests (3 changes, then 1), the faculty member one
/// weekly (all 4), each sent once.
async fn two_daily_and_one_weekly(d: &Digests) {
    let cast = d.fx.cast;
    let all = d.digests().await;
    let mine = |user| {
        all.iter()
            .filter(move |x| x.user_id == user)
            .map(|x| (x.cadence.as_str(), x.changes))
            .collect::<Vec<_>>()
    };
    assert_eq!(mine(cast.fss), [("DAILY", 3), ("DAILY", 1)]);
    assert_eq!(mine(cast.faculty), [("WEEKLY", 4)]);
    assert!(all.iter().all(|x| x.status == "SENT"));
    let files = d.digest_files();
    assert_eq!(files.len(), 3);
    assert!(
        files
            .iter()
            .any(|(_, text)| text.contains("Your weekly Tessera digest: 4 changes on 4 tickets"))
    );
}

async fn daily_and_weekly_digests_list_each_change_once_and_never_empty(backend: Backend) {
    let d = Digests::start(&backend).await;
    let cast = d.fx.cast;
    let t0 = Utc::now();
    let toronto = Schedule {
        zone: chrono_tz::America::Toronto,
        hour: 8,
        weekday: chrono::Weekday::Mon,
    };
    // The FSS reads a daily digest at 08:00 in Toronto, on both channels; the faculty member
    // a weekly one by email only, three days on at 17:00 UTC (after the FSS's first daily).
    let weekday = t0.weekday().succ().succ().succ();
    let weekly = Schedule {
        zone: chrono_tz::UTC,
        hour: 17,
        weekday,
    };
    preferences::update(
        &d.fx.db,
        cast.fss,
        &digest_of(Cadence::Daily, toronto.zone, 8, chrono::Weekday::Mon),
    )
    .await
    .unwrap();
    let mut faculty = digest_of(Cadence::Weekly, chrono_tz::UTC, 17, weekday);
    faculty.cadences[1].2 = Cadence::Immediate;
    preferences::update(&d.fx.db, cast.faculty, &faculty)
        .await
        .unwrap();

    held_until_the_digests(&d).await;

    let (clock, hand) = Clock::manual(t0);
    let runner = d.runner(&clock, d.mail(&[])).await;
    let other = d.runner(&clock, d.mail(&[])).await;
    assert_eq!(
        tick(&runner, &hand, t0).await.composed,
        0,
        "nothing is due yet"
    );

    // The FSS's first daily digest: the three changes, and their three inbox items.
    let daily = toronto
        .last_due(Cadence::Daily, t0 + Duration::days(1))
        .unwrap();
    assert!(daily > t0);
    let done = tick(&runner, &hand, daily).await;
    assert_eq!((done.composed, done.sent, done.released), (1, 1, 3));
    assert_eq!(tick(&other, &hand, daily).await.composed, 0, "never twice");
    assert_eq!(d.unread(cast.fss).await, 3);
    first_daily_sent(&d).await;

    // A day with nothing new: no digest.
    let quiet = tick(&runner, &hand, daily + Duration::days(1)).await;
    assert_eq!((quiet.composed, quiet.released), (0, 0));
    // One more change, then the next day's digest lists it alone.
    d.deliver(&d.fx.granted_tickets(1).await, 8).await;
    let weekly_due = weekly
        .last_due(Cadence::Weekly, t0 + Duration::days(4))
        .unwrap();
    let end = weekly_due.max(daily + Duration::days(2)) + Duration::minutes(1);
    tick(&runner, &hand, daily + Duration::days(2)).await;
    tick(&other, &hand, end).await;
    tick(&runner, &hand, end).await;

    two_daily_and_one_weekly(&d).await;
    d.stop().await;
}

async fn preferences_round_trip_through_graphql_and_bad_ones_change_nothing(backend: Backend) {
    let d = Digests::start(&backend).await;
    let me = d.fx.cast.faculty;
    let update = format!(
        "mutation($d: [NotificationDeliveryInput!], $tz: String, $h: Int, $w: Weekday) {{ updateNotificationPreferences(deliveries: $d, timeZone: $tz, digestHour: $h, digestWeekday: $w) {{ {FIELDS} }} }}"
    );
    let set = d
        .gql(
            me,
            &update,
            json!({
                "d": [{"topic": "NOTES", "channel": "IN_APP", "cadence": "WEEKLY"},
                      {"topic": "STATE_CHANGES", "channel": "EMAIL", "cadence": "DAILY"}],
                "tz": "Europe/Paris", "h": 18, "w": "FRIDAY"
            }),
        )
        .await;
    let p = &set["data"]["updateNotificationPreferences"];
    assert_eq!(p["timeZone"], "Europe/Paris", "{set}");
    assert_eq!(
        (p["digestHour"].as_i64(), p["digestWeekday"].as_str()),
        (Some(18), Some("FRIDAY"))
    );
    assert_eq!(
        (p["email"].as_bool(), p["notes"].as_bool()),
        (Some(true), Some(true))
    );
    let deliveries = p["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 6);
    assert!(
        deliveries.contains(&json!({"topic": "NOTES", "channel": "IN_APP", "cadence": "WEEKLY"}))
    );
    assert!(
        deliveries
            .contains(&json!({"topic": "STATE_CHANGES", "channel": "EMAIL", "cadence": "DAILY"}))
    );

    for (variables, field) in [
        (json!({"tz": "Mars/Olympus"}), "timeZone"),
        (json!({"h": 24}), "digestHour"),
        (json!({"h": -1}), "digestHour"),
    ] {
        let refused = d.gql(me, &update, variables).await;
        assert_eq!(
            refused["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{refused}"
        );
        assert_eq!(
            refused["errors"][0]["extensions"]["field"], field,
            "{refused}"
        );
    }
    // Nothing changed; an empty zone is the office's again.
    let back = d.gql(me, &update, json!({"tz": ""})).await;
    let p = &back["data"]["updateNotificationPreferences"];
    assert_eq!(
        (p["timeZone"].clone(), p["digestHour"].as_i64()),
        (Value::Null, Some(18)),
        "{back}"
    );
    d.stop().await;
}

on_both_databases!(
    daily_and_weekly_digests_list_each_change_once_and_never_empty,
    preferences_round_trip_through_graphql_and_bad_ones_change_nothing,
);
