//! When each request of a run is meant to be sent.
//!
//! One arrival process for the whole run, shared by every simulated user: a free user
//! claims the next intended send time and waits for it. A slow server therefore makes
//! requests *late* (and the latency, measured from the intended time, shows it), never
//! *fewer*: the load stays open-loop however the server behaves. (A Poisson stream per
//! user would queue requests inside the generator and inflate the tail; see
//! MEASUREMENT.md.)
//!
//! The rate may change over the run ([`RateProfile`]: constant, steps, spikes). Arrivals
//! are Poisson (exponential gaps, from `rand_distr`) or evenly spaced, and drawn from a
//! seeded generator, so two runs with one seed intend the same sends.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp};

/// How the gaps between intended sends are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrivals {
    /// Exponential gaps: independent arrivals, as from many independent clients.
    Poisson,
    /// Every gap `1 / rate`.
    Even,
}

/// The intended rate over a run: consecutive segments, each with its own rate.
#[derive(Debug, Clone, PartialEq)]
pub struct RateProfile {
    segments: Vec<Segment>,
}

/// `rate` requests per second for `length`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment {
    pub length: Duration,
    pub rate: f64,
}

impl RateProfile {
    /// Refuses an empty profile and rates that are not finite and positive.
    pub fn new(segments: Vec<Segment>) -> Result<Self, String> {
        if segments.is_empty() {
            return Err("a rate profile needs at least one segment".to_owned());
        }
        if let Some(bad) = segments
            .iter()
            .find(|s| !(s.rate.is_finite() && s.rate > 0.0))
        {
            return Err(format!(
                "rates must be positive and finite, not {}",
                bad.rate
            ));
        }
        Ok(Self { segments })
    }

    /// `rate` requests per second for `length`.
    pub fn constant(rate: f64, length: Duration) -> Result<Self, String> {
        Self::new(vec![Segment { length, rate }])
    }

    /// `normal` for `before`, `spike` for `during`, `normal` again for `after`.
    pub fn spike(
        normal: f64,
        spike: f64,
        [before, during, after]: [Duration; 3],
    ) -> Result<Self, String> {
        Self::new(vec![
            Segment {
                length: before,
                rate: normal,
            },
            Segment {
                length: during,
                rate: spike,
            },
            Segment {
                length: after,
                rate: normal,
            },
        ])
    }

    /// `rates` one after another, `each` long: a step ramp.
    pub fn steps(rates: &[f64], each: Duration) -> Result<Self, String> {
        Self::new(
            rates
                .iter()
                .map(|&rate| Segment { length: each, rate })
                .collect(),
        )
    }

    pub fn length(&self) -> Duration {
        self.segments.iter().map(|s| s.length).sum()
    }

    /// The requests the profile intends in all, on average.
    pub fn expected_requests(&self) -> f64 {
        self.segments
            .iter()
            .map(|s| s.rate * s.length.as_secs_f64())
            .sum()
    }

    /// The segment in force `at` into the run, and when it ends; `None` past the end.
    fn segment_at(&self, at: Duration) -> Option<(Segment, Duration)> {
        let mut end = Duration::ZERO;
        for segment in &self.segments {
            end += segment.length;
            if at < end {
                return Some((*segment, end));
            }
        }
        None
    }
}

/// The run's shared sequence of intended send times.
#[derive(Debug)]
pub struct Schedule {
    start: Instant,
    profile: RateProfile,
    arrivals: Arrivals,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// The next intended send, as an offset from the start.
    next: Duration,
    rng: ChaCha8Rng,
    /// Sends handed out so far.
    claimed: u64,
}

impl Schedule {
    /// A schedule starting at `start` (usually a moment shortly ahead, when every user
    /// is ready), following `profile`.
    pub fn new(start: Instant, profile: RateProfile, arrivals: Arrivals, seed: u64) -> Self {
        let mut schedule = Self {
            start,
            profile,
            arrivals,
            state: Mutex::new(State {
                next: Duration::ZERO,
                rng: ChaCha8Rng::seed_from_u64(seed),
                claimed: 0,
            }),
        };
        // The first send comes one gap after the start, like every other.
        let state = schedule.state.get_mut().unwrap_or_else(|e| e.into_inner());
        let first = advance(
            &schedule.profile,
            schedule.arrivals,
            &mut state.rng,
            Duration::ZERO,
        );
        state.next = first.unwrap_or(Duration::MAX);
        schedule
    }

    pub fn start(&self) -> Instant {
        self.start
    }

    /// When the run's last intended send may fall.
    pub fn end(&self) -> Instant {
        self.start + self.profile.length()
    }

    /// Claims the next intended send time; `None` once the profile is over.
    pub fn claim(&self) -> Option<Instant> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.next == Duration::MAX {
            return None;
        }
        let intended = state.next;
        state.next = advance(&self.profile, self.arrivals, &mut state.rng, intended)
            .unwrap_or(Duration::MAX);
        state.claimed += 1;
        Some(self.start + intended)
    }

    /// Claims the next intended send for a user free at `now`, unless the run is over:
    /// the profile is done, or `now` is past its end by more than `grace`. A generator
    /// (or server) that fell behind thus stops at the end plus the grace instead of
    /// sending its backlog; what it never sent shows as an achieved rate below the
    /// intended one.
    pub fn claim_by(&self, now: Instant, grace: Duration) -> Option<Instant> {
        if now > self.end() + grace {
            return None;
        }
        self.claim()
    }

    /// How many sends a schedule of `profile`, `arrivals` and `seed` intends at or
    /// after `from` into it: the same seed replays the same sends.
    pub fn intended_from(
        profile: &RateProfile,
        arrivals: Arrivals,
        seed: u64,
        from: Duration,
    ) -> u64 {
        let start = Instant::now();
        let replay = Schedule::new(start, profile.clone(), arrivals, seed);
        std::iter::from_fn(|| replay.claim())
            .filter(|&at| at >= start + from)
            .count() as u64
    }

    /// Sends handed out so far.
    pub fn claimed(&self) -> u64 {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).claimed
    }
}

/// The next arrival after `from`, crossing into later segments as needed (the
/// exponential is memoryless, so restarting the draw at a boundary at the new rate is
/// exact); `None` past the profile's end.
fn advance(
    profile: &RateProfile,
    arrivals: Arrivals,
    rng: &mut ChaCha8Rng,
    from: Duration,
) -> Option<Duration> {
    let mut at = from;
    loop {
        let (segment, segment_end) = profile.segment_at(at)?;
        let gap = match arrivals {
            Arrivals::Even => 1.0 / segment.rate,
            Arrivals::Poisson => Exp::new(segment.rate).ok()?.sample(rng),
        };
        let next = at + Duration::from_secs_f64(gap);
        if next < segment_end {
            return Some(next);
        }
        if arrivals == Arrivals::Even {
            // Evenly spaced sends keep their phase across a change of rate.
            at = segment_end;
            profile.segment_at(at)?;
            return Some(at);
        }
        at = segment_end;
    }
}

/// Waits until `intended` precisely: tokio's timer rounds sleeps up to the next
/// millisecond, which would make every send about 1 ms late, so the wait is on the
/// [`timer`](crate::timer) thread's. Returns when it returned.
pub async fn wait_until(intended: Instant) -> Instant {
    crate::timer::sleep_until(intended).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(schedule: &Schedule) -> Vec<Duration> {
        std::iter::from_fn(|| schedule.claim())
            .map(|at| at - schedule.start())
            .collect()
    }

    #[test]
    fn poisson_arrivals_average_the_rate_and_stay_within_the_run() {
        let profile = RateProfile::constant(1_000.0, Duration::from_secs(20)).unwrap();
        let schedule = Schedule::new(Instant::now(), profile, Arrivals::Poisson, 7);
        let sends = drain(&schedule);
        // 20,000 expected; a Poisson count has a standard deviation of about 141.
        assert!((19_400..=20_600).contains(&sends.len()), "{}", sends.len());
        assert!(sends.windows(2).all(|w| w[0] <= w[1]), "in order");
        assert!(sends.iter().all(|&at| at < Duration::from_secs(20)));
        // Exponential gaps: about 63% of them shorter than the mean gap of 1 ms.
        let short = sends
            .windows(2)
            .filter(|w| w[1] - w[0] < Duration::from_millis(1))
            .count();
        let share = short as f64 / (sends.len() - 1) as f64;
        assert!((0.60..0.66).contains(&share), "{share}");
        assert_eq!(schedule.claimed(), sends.len() as u64);
    }

    #[test]
    fn one_seed_intends_the_same_sends() {
        let start = Instant::now();
        let profile = RateProfile::constant(500.0, Duration::from_secs(2)).unwrap();
        let a = drain(&Schedule::new(start, profile.clone(), Arrivals::Poisson, 3));
        let b = drain(&Schedule::new(start, profile.clone(), Arrivals::Poisson, 3));
        let c = drain(&Schedule::new(start, profile, Arrivals::Poisson, 4));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn steps_change_the_rate_where_they_say() {
        let profile = RateProfile::new(vec![
            Segment {
                length: Duration::from_secs(10),
                rate: 100.0,
            },
            Segment {
                length: Duration::from_secs(10),
                rate: 1_000.0,
            },
        ])
        .unwrap();
        let sends = drain(&Schedule::new(Instant::now(), profile, Arrivals::Even, 1));
        let first = sends
            .iter()
            .filter(|&&at| at < Duration::from_secs(10))
            .count();
        let second = sends.len() - first;
        assert!((999..=1_001).contains(&first), "{first}");
        assert!((9_999..=10_001).contains(&second), "{second}");
    }

    #[test]
    fn a_user_free_only_after_the_end_and_its_grace_claims_nothing() {
        let start = Instant::now();
        let second = Duration::from_secs(1);
        let profile = RateProfile::constant(100.0, second).unwrap();
        let schedule = Schedule::new(start, profile, Arrivals::Even, 1);
        let grace = Duration::from_millis(500);
        assert!(schedule.claim_by(start + second + grace, grace).is_some());
        assert_eq!(schedule.claim_by(start + second + 2 * grace, grace), None);
        assert_eq!(schedule.claimed(), 1);
    }

    #[test]
    fn a_spike_returns_to_normal() {
        let second = Duration::from_secs(1);
        let profile = RateProfile::spike(100.0, 1_000.0, [2 * second, second, 2 * second]).unwrap();
        assert_eq!(profile.length(), 5 * second);
        assert_eq!(profile.expected_requests(), 1_400.0);
        let sends = drain(&Schedule::new(Instant::now(), profile, Arrivals::Even, 1));
        let in_second = |n: u64| sends.iter().filter(|at| at.as_secs() == n).count();
        assert!((99..=101).contains(&in_second(1)), "{}", in_second(1));
        assert!((999..=1_001).contains(&in_second(2)), "{}", in_second(2));
        assert!((99..=101).contains(&in_second(4)), "{}", in_second(4));
        let ramp = RateProfile::steps(&[10.0, 20.0], second).unwrap();
        assert_eq!(ramp.expected_requests(), 30.0);
    }

    #[test]
    fn a_profile_must_have_positive_finite_rates() {
        assert!(RateProfile::new(vec![]).is_err());
        for rate in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(
                RateProfile::constant(rate, Duration::from_secs(1)).is_err(),
                "{rate}"
            );
        }
    }

    #[tokio::test]
    async fn waiting_lands_on_the_intended_moment_not_a_millisecond_late() {
        let _alone = crate::TIMING_TESTS.lock().await;
        let mut late = Vec::new();
        for n in 0..51u64 {
            let intended = Instant::now() + Duration::from_micros(3_000 + n * 37);
            let woke = wait_until(intended).await;
            assert!(woke >= intended);
            late.push(woke - intended);
        }
        late.sort();
        // A plain tokio sleep is typically most of a millisecond late.
        assert!(
            late[25] < Duration::from_micros(300),
            "median {:?}",
            late[25]
        );
    }
}
