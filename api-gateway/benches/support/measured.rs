//! One target's rounds of one query, as the gateway and mixed benchmarks measure them: rates,
//! latencies and CPU time by process.

use std::time::Duration;

/// One target's rounds for one query.
#[derive(Default)]
pub struct Measured {
    /// Requests per second of each round.
    pub rounds: Vec<f64>,
    /// Every request's latency, over all rounds.
    pub latencies: Vec<Duration>,
    /// The router process's CPU time over all rounds.
    pub cpu: Duration,
    /// The subgraphs' process's CPU time over all rounds.
    pub subgraphs: Duration,
    /// The machine's CPU time over all rounds (`machine_busy`).
    pub machine: Duration,
}

/// The median of `values` (the upper one of an even count).
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

impl Measured {
    /// The median round's requests per second.
    pub fn rps(&self) -> f64 {
        median(self.rounds.clone())
    }

    /// How this target's requests per second compare with `other`'s: the median of the ratios
    /// of rounds that ran one after the other (the machine's state drifts between runs and
    /// within them; neighbouring rounds see nearly the same machine).
    pub fn paired(&self, other: &Measured) -> f64 {
        median(
            self.rounds
                .iter()
                .zip(&other.rounds)
                .map(|(own, theirs)| own / theirs)
                .collect(),
        )
    }

    /// `time` per request, in microseconds.
    pub fn per_request(&self, time: Duration) -> f64 {
        time.as_secs_f64() * 1e6 / self.latencies.len().max(1) as f64
    }

    pub fn percentile(&mut self, p: f64) -> Duration {
        self.latencies.sort_unstable();
        let last = self.latencies.len() - 1;
        self.latencies[((self.latencies.len() as f64 * p) as usize).min(last)]
    }
}
