//! The stream's contract, checked against both implementations: every test runs on the
//! in-process stream and (when a server answers, required in CI) on one in Redis.

use super::*;

/// The in-process stream, and (when a server answers, required in CI) one in Redis under
/// a fresh prefix: every test runs against both.
async fn streams() -> Vec<EventStream> {
    let mut all = vec![EventStream::memory()];
    if let Some(url) = testkit::redis_or_skip().await {
        let client = ::redis::Client::open(url.as_str()).unwrap();
        let prefix = format!("tessera-stream-test-{}", uuid_like());
        all.push(EventStream::redis(client, &prefix).await.unwrap());
    }
    all
}

fn uuid_like() -> String {
    use rand::Rng;
    format!("{:032x}", rand::thread_rng().r#gen::<u128>())
}

fn payloads(entries: &[Entry]) -> Vec<&str> {
    entries.iter().map(|e| e.payload.as_str()).collect()
}

#[tokio::test]
async fn a_follower_reads_on_from_any_entry_and_waits_for_new_ones() {
    for stream in streams().await {
        for i in 0..4 {
            stream.publish("f", &format!("p{i}")).await.unwrap();
        }
        let last = stream.last("f", 2).await.unwrap();
        assert_eq!(payloads(&last), ["p2", "p3"], "{stream:?}");
        assert!(stream.last("none", 2).await.unwrap().is_empty());
        let mut follower = stream.follower("f");
        let block = Duration::from_millis(1);
        let all = follower.next_after(None, 10, block).await.unwrap();
        assert_eq!(payloads(&all), ["p0", "p1", "p2", "p3"], "{stream:?}");
        let after = follower
            .next_after(Some(&all[1].id), 1, block)
            .await
            .unwrap();
        assert_eq!(payloads(&after), ["p2"], "{stream:?}");
        let none = follower
            .next_after(Some(&all[3].id), 10, block)
            .await
            .unwrap();
        assert!(none.is_empty(), "{stream:?}");
        // A wait ends with the entry published meanwhile.
        let publisher = stream.clone();
        let published = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            publisher.publish("f", "p4").await.unwrap()
        });
        let waited = follower
            .next_after(Some(&all[3].id), 10, Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(payloads(&waited), ["p4"], "{stream:?}");
        assert_eq!(waited[0].id, published.await.unwrap());
        assert!(matches!(
            follower.next_after(Some("x"), 1, block).await,
            Err(StreamError::BadId(_))
        ));
    }
}

#[tokio::test]
async fn idle_consumers_holding_nothing_are_forgotten() {
    for stream in streams().await {
        let idle = Duration::from_millis(50);
        let block = Duration::from_millis(1);
        // No topic, then no group: nothing to forget, and no error.
        assert_eq!(
            stream.forget_idle_consumers("f", "g", idle).await.unwrap(),
            0
        );
        stream.publish("f", "p0").await.unwrap();
        assert_eq!(
            stream.forget_idle_consumers("f", "g", idle).await.unwrap(),
            0
        );
        stream.publish("f", "p1").await.unwrap();
        // `gone` handled p0; `holder` keeps p1 pending.
        let done = stream.read_group("f", "g", "gone", 1, block).await.unwrap();
        assert_eq!(payloads(&done), ["p0"], "{stream:?}");
        stream.ack("f", "g", &[done[0].id.clone()]).await.unwrap();
        let held = stream
            .read_group("f", "g", "holder", 1, block)
            .await
            .unwrap();
        assert_eq!(payloads(&held), ["p1"], "{stream:?}");
        tokio::time::sleep(idle * 2).await;
        // Not idle for long enough: kept.
        stream.publish("f", "p2").await.unwrap();
        let fresh = stream
            .read_group("f", "g", "fresh", 1, block)
            .await
            .unwrap();
        stream.ack("f", "g", &[fresh[0].id.clone()]).await.unwrap();
        let removed = stream.forget_idle_consumers("f", "g", idle).await.unwrap();
        // Only Redis lists consumers; the in-process stream has none to forget.
        let expected = usize::from(stream.in_redis().is_some());
        assert_eq!(removed, expected, "{stream:?}");
        // The holder's entry is still pending: another consumer can take it over.
        let claimed = stream
            .claim_stale("f", "g", "heir", idle, 10)
            .await
            .unwrap();
        assert_eq!(payloads(&claimed), ["p1"], "{stream:?}");
        // A forgotten consumer that was alive after all just reads on.
        stream.publish("f", "p3").await.unwrap();
        let read = stream.read_group("f", "g", "gone", 1, block).await.unwrap();
        assert_eq!(payloads(&read), ["p3"], "{stream:?}");
    }
}

#[tokio::test]
async fn a_group_hands_each_entry_out_once_until_claimed() {
    for stream in streams().await {
        for i in 0..5 {
            stream.publish("t", &format!("p{i}")).await.unwrap();
        }
        let block = Duration::from_millis(1);
        let a = stream.read_group("t", "g", "a", 3, block).await.unwrap();
        let b = stream.read_group("t", "g", "b", 3, block).await.unwrap();
        assert_eq!(payloads(&a), ["p0", "p1", "p2"], "{stream:?}");
        assert_eq!(payloads(&b), ["p3", "p4"], "{stream:?}");
        assert!(
            stream
                .read_group("t", "g", "b", 3, block)
                .await
                .unwrap()
                .is_empty()
        );
        // Another group sees everything again.
        assert_eq!(
            stream
                .read_group("t", "h", "x", 10, block)
                .await
                .unwrap()
                .len(),
            5
        );
        // a acknowledges one and dies; b claims the other two, and its own.
        stream.ack("t", "g", &[a[0].id.clone()]).await.unwrap();
        let claimed = stream
            .claim_stale("t", "g", "b", Duration::ZERO, 10)
            .await
            .unwrap();
        assert_eq!(payloads(&claimed), ["p1", "p2", "p3", "p4"], "{stream:?}");
    }
}

#[tokio::test]
async fn a_blocked_reader_holds_up_nobody_else() {
    for stream in streams().await {
        stream.publish("quiet", "first").await.unwrap();
        let reader = {
            let stream = stream.clone();
            tokio::spawn(async move {
                stream
                    .read_group("quiet", "g", "a", 10, Duration::ZERO)
                    .await
                    .unwrap();
                // Nothing more comes: this read waits out its whole block.
                stream
                    .read_group("quiet", "g", "a", 10, Duration::from_secs(5))
                    .await
                    .unwrap()
            })
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
        // Publishing and acknowledging elsewhere answer while the reader still waits
        // (on one shared connection they would wait behind its block).
        let id = stream.publish("busy", "p").await.unwrap();
        stream.ack("busy", "g", &[id]).await.unwrap();
        assert!(
            !reader.is_finished(),
            "{stream:?}: a publish waited for a blocked read"
        );
        reader.abort();
    }
}

#[tokio::test]
async fn a_renewed_entry_is_not_taken_over_and_a_stopped_holders_is() {
    for stream in streams().await {
        let idle = Duration::from_millis(300);
        let block = Duration::from_millis(1);
        stream.publish("r", "p0").await.unwrap();
        stream.publish("r", "p1").await.unwrap();
        let held = stream
            .read_group("r", "g", "alive", 1, block)
            .await
            .unwrap();
        let left = stream.read_group("r", "g", "dead", 1, block).await.unwrap();
        let ids = [held[0].id.clone(), left[0].id.clone()];
        for _ in 0..4 {
            tokio::time::sleep(idle / 3).await;
            // `alive` renews both ids: only its own is renewed.
            stream.renew("r", "g", "alive", &ids).await.unwrap();
        }
        let claimed = stream
            .claim_stale("r", "g", "heir", idle, 10)
            .await
            .unwrap();
        assert_eq!(payloads(&claimed), ["p1"], "{stream:?}");
        // Taken over, it is the heir's: the old holder's renewal does not take it back.
        stream.renew("r", "g", "dead", &ids).await.unwrap();
        tokio::time::sleep(idle * 2).await;
        let again = stream
            .claim_stale("r", "g", "other", idle, 10)
            .await
            .unwrap();
        assert_eq!(payloads(&again), ["p0", "p1"], "{stream:?}");
        stream.renew("none", "g", "alive", &ids).await.unwrap();
    }
}

#[tokio::test]
async fn claiming_before_any_group_read_finds_nothing() {
    for stream in streams().await {
        stream.publish("t", "p0").await.unwrap();
        let claimed = stream
            .claim_stale("t", "g", "a", Duration::ZERO, 10)
            .await
            .unwrap();
        assert!(claimed.is_empty(), "{stream:?}");
        let claimed = stream
            .claim_stale("missing", "g", "a", Duration::ZERO, 10)
            .await
            .unwrap();
        assert!(claimed.is_empty(), "{stream:?}");
        // The entry is still there for the group's first reader.
        let got = stream
            .read_group("t", "g", "a", 10, Duration::from_millis(1))
            .await
            .unwrap();
        assert_eq!(payloads(&got), ["p0"], "{stream:?}");
    }
}

#[tokio::test]
async fn readers_resume_after_an_id_and_ids_increase() {
    for stream in streams().await {
        let mut ids = Vec::new();
        for i in 0..4 {
            ids.push(stream.publish("t", &format!("p{i}")).await.unwrap());
        }
        let parsed: Vec<_> = ids.iter().map(|i| parse_id(i).unwrap()).collect();
        assert!(parsed.windows(2).all(|w| w[0] < w[1]));
        let rest = stream.read_after("t", Some(&ids[1]), 10).await.unwrap();
        assert_eq!(
            rest.iter().map(|e| e.id.clone()).collect::<Vec<_>>(),
            ids[2..]
        );
        let all = stream.read_after("t", None, 10).await.unwrap();
        assert_eq!(payloads(&all), ["p0", "p1", "p2", "p3"]);
        assert!(matches!(
            stream.read_after("t", Some("nope"), 1).await,
            Err(StreamError::BadId(_))
        ));
    }
}

/// Redis killed: every call is an error at once (the redis crate's default reconnect
/// backoff held them for up to two minutes); started again with its data, the same stream
/// works without being made again.
#[tokio::test]
async fn a_redis_outage_fails_fast_and_heals_when_redis_returns() {
    let Some(mut redis) = testkit::private::PrivateRedis::start() else {
        return;
    };
    let client = ::redis::Client::open(redis.url()).unwrap();
    let stream = EventStream::redis(client, "outage").await.unwrap();
    stream.publish("t", "before").await.unwrap();
    redis.kill();
    for _ in 0..3 {
        // A bound that only a hang reaches.
        let answered =
            tokio::time::timeout(Duration::from_secs(10), stream.publish("t", "during")).await;
        assert!(
            matches!(answered, Ok(Err(StreamError::Unavailable(_)))),
            "a dead Redis must be an error at once, got {answered:?}"
        );
        let read = tokio::time::timeout(
            Duration::from_secs(10),
            stream.read_group("t", "g", "c", 10, Duration::from_millis(100)),
        )
        .await;
        assert!(matches!(read, Ok(Err(_))), "{read:?}");
    }
    redis.start_again();
    let mut published = None;
    for _ in 0..100 {
        if let Ok(id) = stream.publish("t", "after").await {
            published = Some(id);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(published.is_some(), "the stream never reconnected");
    let all = stream.read_after("t", None, 10).await.unwrap();
    assert_eq!(payloads(&all), ["before", "after"]);
}

#[tokio::test]
async fn a_blocked_reader_wakes_on_publish() {
    for stream in streams().await {
        let reader = {
            let stream = stream.clone();
            tokio::spawn(async move {
                stream
                    .read_group("t", "g", "a", 1, Duration::from_secs(30))
                    .await
                    .unwrap()
            })
        };
        tokio::task::yield_now().await;
        stream.publish("t", "hello").await.unwrap();
        let got = reader.await.unwrap();
        assert_eq!(payloads(&got), ["hello"]);
    }
}
