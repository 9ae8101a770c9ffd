//! What one run saw, per endpoint: HdrHistograms of the corrected latency (completion
//! minus *intended* send time, wrk2's method, which a stalled server cannot hide) and of
//! the service time (completion minus actual send, what a closed-loop tool reports), for
//! the whole run and per one-second bucket, with counts of successes and of errors by
//! status. And the generator's own lag: how late a user that was free to send sent.
//!
//! Each user records into its own [`Recorder`], without locks; the run merges them.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// An answer with this status; 2xx counts as success.
    Status(u16),
    /// No answer before the request's deadline.
    Timeout,
    /// No answer at all (refused, reset).
    Failed,
}

impl Outcome {
    pub fn is_success(self) -> bool {
        matches!(self, Outcome::Status(200..=299))
    }
}

/// One request, as the user that sent it saw it.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// When the schedule meant it to go.
    pub intended: Instant,
    /// When the user claimed that send time: before it, the user was free and waiting.
    pub claimed: Instant,
    /// When it actually went.
    pub sent: Instant,
    pub done: Instant,
    pub outcome: Outcome,
}

/// Latencies from 1 us to 10 minutes, in nanoseconds, to `digits` significant digits.
/// Three digits take about 160 KB; two, about 20 KB (a second's histogram, of which a
/// run has one per endpoint per second, needs no more).
fn latency_histogram(digits: u8) -> Histogram<u64> {
    Histogram::new_with_bounds(1_000, 600_000_000_000, digits).expect("valid histogram bounds")
}

/// Digits of the whole run's histograms, and of each second's.
const RUN_DIGITS: u8 = 3;
const SECOND_DIGITS: u8 = 2;

fn record_into(histogram: &mut Histogram<u64>, latency: Duration) {
    // Saturates at the top bound rather than dropping the sample.
    histogram.saturating_record(latency.as_nanos().min(u64::MAX as u128) as u64);
}

/// One endpoint over one stretch of time.
#[derive(Debug, Clone)]
pub struct Tally {
    pub corrected: Histogram<u64>,
    pub service: Histogram<u64>,
    pub successes: u64,
    /// Successes answered within the run's objective (from the intended time): goodput.
    pub good: u64,
    /// Errors by outcome (a status that is not 2xx, a timeout, a failure).
    pub errors: BTreeMap<Outcome, u64>,
}

impl Default for Tally {
    fn default() -> Self {
        Self::new(RUN_DIGITS)
    }
}

impl Tally {
    fn new(digits: u8) -> Self {
        Self {
            corrected: latency_histogram(digits),
            service: latency_histogram(digits),
            successes: 0,
            good: 0,
            errors: BTreeMap::new(),
        }
    }

    /// An empty tally at the precision of one second's.
    pub fn second() -> Self {
        Self::new(SECOND_DIGITS)
    }

    fn add(&mut self, sample: &Sample, objective: Duration) {
        let corrected = sample.done.saturating_duration_since(sample.intended);
        record_into(&mut self.corrected, corrected);
        record_into(
            &mut self.service,
            sample.done.saturating_duration_since(sample.sent),
        );
        if sample.outcome.is_success() {
            self.successes += 1;
            self.good += u64::from(corrected <= objective);
        } else {
            *self.errors.entry(sample.outcome).or_default() += 1;
        }
    }

    pub fn merge(&mut self, other: &Tally) {
        self.corrected.add(&other.corrected).expect("same bounds");
        self.service.add(&other.service).expect("same bounds");
        self.successes += other.successes;
        self.good += other.good;
        for (outcome, count) in &other.errors {
            *self.errors.entry(*outcome).or_default() += count;
        }
    }

    pub fn requests(&self) -> u64 {
        self.successes + self.errors.values().sum::<u64>()
    }
}

/// Everything one endpoint saw: the whole run, and second by second.
#[derive(Debug, Clone, Default)]
pub struct EndpointRecord {
    pub total: Tally,
    /// By whole seconds since the run's start (of the intended send time).
    pub seconds: BTreeMap<u64, Tally>,
}

/// What a user (or, merged, a run) recorded.
#[derive(Debug, Clone)]
pub struct Recorder {
    start: Instant,
    /// How long past the start the warm-up lasts; its requests are not recorded.
    warm_up: Duration,
    /// Successes slower than this (from the intended time) are not good ones.
    objective: Duration,
    pub endpoints: BTreeMap<&'static str, EndpointRecord>,
    /// How late sends went when their user was free in time (the generator's own lag).
    pub own_lag: Histogram<u64>,
    /// Sends whose user was still busy at the intended time (the server's delay).
    pub late_claims: u64,
    /// The earliest intended send and the latest actual send recorded: the stretch the
    /// recorded requests took to go out, for the achieved rate.
    pub first_intended: Option<Instant>,
    pub last_sent: Option<Instant>,
}

impl Recorder {
    pub fn new(start: Instant, warm_up: Duration, objective: Duration) -> Self {
        Self {
            start,
            warm_up,
            objective,
            endpoints: BTreeMap::new(),
            own_lag: latency_histogram(RUN_DIGITS),
            late_claims: 0,
            first_intended: None,
            last_sent: None,
        }
    }

    /// Sends per second over the stretch the recorded requests took to go out: below
    /// the intended rate when the sends fell behind (users busy with a slow server, or
    /// a generator too slow to send on time).
    pub fn achieved_rate(&self) -> f64 {
        match (self.first_intended, self.last_sent) {
            (Some(first), Some(last)) if last > first => {
                self.overall().requests() as f64 / (last - first).as_secs_f64()
            }
            _ => 0.0,
        }
    }

    pub fn record(&mut self, endpoint: &'static str, sample: Sample) {
        let since_start = sample.intended.saturating_duration_since(self.start);
        if since_start < self.warm_up {
            return;
        }
        if sample.claimed <= sample.intended {
            record_into(
                &mut self.own_lag,
                sample.sent.saturating_duration_since(sample.intended),
            );
        } else {
            self.late_claims += 1;
        }
        self.first_intended = Some(
            self.first_intended
                .map_or(sample.intended, |t| t.min(sample.intended)),
        );
        self.last_sent = Some(self.last_sent.map_or(sample.sent, |t| t.max(sample.sent)));
        let record = self.endpoints.entry(endpoint).or_default();
        record.total.add(&sample, self.objective);
        record
            .seconds
            .entry(since_start.as_secs())
            .or_insert_with(Tally::second)
            .add(&sample, self.objective);
    }

    /// Adds what `other` (another user of the same run) recorded.
    pub fn merge(&mut self, other: &Recorder) {
        for (endpoint, theirs) in &other.endpoints {
            let ours = self.endpoints.entry(endpoint).or_default();
            ours.total.merge(&theirs.total);
            for (second, tally) in &theirs.seconds {
                ours.seconds
                    .entry(*second)
                    .or_insert_with(Tally::second)
                    .merge(tally);
            }
        }
        self.own_lag.add(&other.own_lag).expect("same bounds");
        self.late_claims += other.late_claims;
        self.first_intended = match (self.first_intended, other.first_intended) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last_sent = self.last_sent.max(other.last_sent);
    }

    /// Each endpoint over the whole seconds `from..to` since the start.
    pub fn between(&self, from: u64, to: u64) -> BTreeMap<&'static str, Tally> {
        self.endpoints
            .iter()
            .map(|(endpoint, record)| {
                let mut tally = Tally::second();
                for (_, second) in record.seconds.range(from..to) {
                    tally.merge(second);
                }
                (*endpoint, tally)
            })
            .collect()
    }

    /// Every endpoint together, for the whole run.
    pub fn overall(&self) -> Tally {
        let mut all = Tally::default();
        for record in self.endpoints.values() {
            all.merge(&record.total);
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(
        start: Instant,
        intended_ms: u64,
        claimed_ms: u64,
        sent_ms: u64,
        done_ms: u64,
        outcome: Outcome,
    ) -> Sample {
        let at = |ms| start + Duration::from_millis(ms);
        Sample {
            intended: at(intended_ms),
            claimed: at(claimed_ms),
            sent: at(sent_ms),
            done: at(done_ms),
            outcome,
        }
    }

    #[test]
    fn corrected_latency_counts_from_the_intended_time_and_service_time_from_the_send() {
        let start = Instant::now();
        let mut recorder = Recorder::new(start, Duration::from_secs(1), Duration::from_millis(10));
        // In the warm-up: not recorded.
        recorder.record(
            "page",
            sample(start, 500, 400, 500, 505, Outcome::Status(200)),
        );
        // The user was busy until 2,300 ms with a send meant for 2,000 ms: it waited 300 ms
        // in the generator because the server was slow, and took 5 ms once sent.
        recorder.record(
            "page",
            sample(start, 2_000, 2_300, 2_300, 2_305, Outcome::Status(200)),
        );
        recorder.record(
            "page",
            sample(start, 2_500, 2_400, 2_500, 2_520, Outcome::Status(503)),
        );
        let page = &recorder.endpoints["page"];
        assert_eq!(page.total.requests(), 2);
        assert_eq!(page.total.successes, 1);
        // It succeeded, 305 ms after it was meant to go: not within the 10 ms objective.
        assert_eq!(page.total.good, 0);
        assert_eq!(page.total.errors[&Outcome::Status(503)], 1);
        let ms = |h: &Histogram<u64>, q| h.value_at_quantile(q) as f64 / 1e6;
        assert!((ms(&page.total.corrected, 1.0) - 305.0).abs() < 1.0);
        assert!((ms(&page.total.service, 1.0) - 20.0).abs() < 0.1);
        assert_eq!(page.seconds.keys().copied().collect::<Vec<_>>(), vec![2]);
        // Only the send whose user was free counts toward the generator's own lag.
        assert_eq!(recorder.own_lag.len(), 1);
        assert_eq!(recorder.late_claims, 1);
    }

    #[test]
    fn merging_users_adds_everything_up() {
        let start = Instant::now();
        let objective = Duration::from_millis(50);
        let mut a = Recorder::new(start, Duration::ZERO, objective);
        let mut b = Recorder::new(start, Duration::ZERO, objective);
        a.record("page", sample(start, 10, 5, 10, 15, Outcome::Status(200)));
        b.record(
            "page",
            sample(start, 1_010, 1_005, 1_010, 1_020, Outcome::Timeout),
        );
        b.record("cart", sample(start, 20, 10, 20, 30, Outcome::Status(200)));
        a.merge(&b);
        assert_eq!(a.endpoints["page"].total.requests(), 2);
        assert_eq!(a.endpoints["page"].seconds.len(), 2);
        assert_eq!(a.overall().requests(), 3);
        assert_eq!(a.overall().errors[&Outcome::Timeout], 1);
        assert_eq!(a.overall().good, 2);
        // The first second alone: both successes, not the timeout meant for 1,010 ms.
        let first = a.between(0, 1);
        assert_eq!(first["page"].requests() + first["cart"].requests(), 2);
        assert_eq!(a.between(1, 5)["page"].errors[&Outcome::Timeout], 1);
        assert_eq!(a.own_lag.len(), 3);
        // Three sends between 10 ms and 1,010 ms.
        assert!(
            (a.achieved_rate() - 3.0).abs() < 1e-9,
            "{}",
            a.achieved_rate()
        );
    }
}
