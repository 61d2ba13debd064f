//! How the suite ends each fault: it waits for recovery (every kind of request succeeding
//! again, emails settled, the live subscriber caught up), measures what the fault cost, adds
//! a row to the table and records what did not hold.

use super::accounting::{Row, after, emails_settled, live_caught_up, losses};
use super::{KINDS, RECOVERY_BOUND, SUBGRAPH_TIMEOUT, Suite};
use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

/// What one fault cost, measured once it is over.
struct Outcome {
    /// When every kind of request had succeeded again.
    back: Option<Instant>,
    settled: Option<Instant>,
    live: Option<Instant>,
    saw: String,
    slowest: Duration,
    answers: BTreeMap<String, u64>,
    lost: u64,
    lost_text: String,
    duplicates: u64,
}

impl Suite {
    /// The first moment after `restored` by which every kind of request has succeeded again.
    async fn requests_back(&self, restored: Instant) -> Option<Instant> {
        let deadline = restored + RECOVERY_BOUND;
        while Instant::now() < deadline {
            let all: Option<Vec<Instant>> = KINDS
                .iter()
                .map(|k| self.load.first_ok_after(k, restored))
                .collect();
            if let Some(all) = all {
                return all.into_iter().max();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    }

    /// Waits for recovery from a fault injected at `began` and ended at `restored`, and
    /// measures what it cost.
    async fn outcome(&self, began: Instant, restored: Instant) -> Outcome {
        let back = self.requests_back(restored).await;
        let settled = emails_settled(&self.db, &self.load, RECOVERY_BOUND).await;
        let (live, live_events) = live_caught_up(&self.db, &self.load, RECOVERY_BOUND).await;
        let (saw, slowest, answers) = self.load.saw(began, back.unwrap_or_else(Instant::now));
        let (lost, lost_text) = losses(&self.db, &self.load, &self.fake, &live_events).await;
        Outcome {
            back,
            settled,
            live,
            saw,
            slowest,
            answers,
            lost,
            lost_text,
            duplicates: self.fake.duplicates(),
        }
    }

    /// Every scenario ends here: wait until every kind of request succeeds again and every
    /// email is settled, then account (a row of the table, and what must hold).
    pub(super) async fn finish(
        &mut self,
        fault: String,
        began: Instant,
        restored: Instant,
        unavailable: bool,
    ) {
        let o = self.outcome(began, restored).await;
        let recovery = match o.back {
            Some(at) => format!(
                "requests {:.1} s, emails {}, live {}",
                at.saturating_duration_since(restored).as_secs_f64(),
                after(restored, o.settled),
                after(restored, o.live),
            ),
            None => "never".to_string(),
        };
        let duplicated = o.duplicates - self.duplicates_before;
        println!(
            "fault suite: {fault}: saw {}; slowest {} ms; lost {}; duplicated {duplicated}; recovery {recovery}",
            o.saw,
            o.slowest.as_millis(),
            o.lost_text
        );
        self.judge(&fault, &o, unavailable);
        self.rows.push(Row {
            saw: format!("{}; slowest answer {} ms", o.saw, o.slowest.as_millis()),
            lost: if o.lost == 0 {
                "nothing".into()
            } else {
                o.lost_text
            },
            duplicated: format!("{duplicated} emails"),
            recovery,
            fault,
        });
        self.duplicates_before = o.duplicates;
    }

    /// What must hold after every fault; what does not is a failure, reported at the end.
    fn judge(&mut self, fault: &str, o: &Outcome, unavailable: bool) {
        let failures = &mut self.failures;
        if o.back.is_none() {
            failures.push(format!("{fault}: requests never recovered"));
        }
        if o.settled.is_none() {
            failures.push(format!("{fault}: emails never settled"));
        }
        if o.live.is_none() {
            failures.push(format!("{fault}: the live subscriber never caught up"));
        }
        if o.lost > 0 {
            failures.push(format!("{fault}: lost {}", o.lost_text));
        }
        if o.slowest >= SUBGRAPH_TIMEOUT {
            failures.push(format!(
                "{fault}: a request took {} ms (a hang cut off by a timeout)",
                o.slowest.as_millis()
            ));
        }
        if unavailable && !o.answers.keys().any(|a| a.contains("503")) {
            failures.push(format!("{fault}: nobody was told UNAVAILABLE (503)"));
        }
    }
}
