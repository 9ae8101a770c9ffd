//! The catalog of scenarios, the profiles that size them, and how each one runs
//! against a deployment.
//!
//! - `capacity`: a step ramp of the shop's mix until the system falls behind; gives
//!   each architecture's knee and latency-throughput curve.
//! - `scale-hot`: the capacity ramp of a mix heavy in recommendations, on one replica
//!   and on the hot part scaled, and a cost projection ([`crate::scale_hot`]).
//! - `hop-cost`: a low constant rate on one endpoint at a time, from a catalog read to
//!   a checkout; split minus monolith is what the internal hops add.
//! - `ceiling`: the product-page ramp against a bare endpoint serving the same bytes,
//!   and against each architecture: the physical reference.
//! - `crash-payments`, `hang-recommendations`, `slow-inventory`, `errors-catalog`: a
//!   fault in one component for a window of a constant load, then an audit of the
//!   books ([`crate::partial_failure`] runs them).
//! - `replica-loss`: the same, with one of three replicas killed: of catalog in the
//!   split build, of the whole monolith behind a balancer in the other.
//! - `rolling-deploy`: a new release of catalog through its processes one at a time,
//!   under load ([`crate::rolling`] runs it).
//! - `metastable`: normal, spike, normal, on the monolith and on the split build under
//!   each resilience preset ([`crate::metastable`] runs it).
//! - `diversify`: catalog's wire format switched alone, in turns against the split
//!   build as deployed ([`crate::diversify`] runs it).
//! - `interleaved`: the ceiling, the monolith and split side by side, measured in
//!   alternating turns: the in-run ratios the regression gate judges
//!   ([`crate::interleaved`] runs it).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Result;
use clap::ValueEnum;
use serde::{Deserialize, Serialize};

use crate::audit::Ledger;
use crate::deploy::Deployment;
use crate::interleaved::InterleavedTiming;
use crate::journeys::{Action, Mix, ShopJourney};
use crate::measure::{Bench, Load, Measurement, Retries, Sut, Verdict, measure, with_retries};
use crate::schedule::RateProfile;

/// A scenario, by the name the command line takes.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, ValueEnum, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// Step ramp of the shop mix: each architecture's knee and latency curve.
    Capacity,
    /// Low load on endpoints of increasing depth: what each internal hop adds.
    HopCost,
    /// The product page against a bare endpoint serving the same bytes: the reference.
    Ceiling,
    /// payments crashes its process on every call for a window.
    CrashPayments,
    /// Calls into recommendations hang for a window.
    HangRecommendations,
    /// inventory answers 100-200 ms late for a window.
    SlowInventory,
    /// 30% of calls into catalog fail for a window.
    ErrorsCatalog,
    /// One of three replicas is killed: catalog's in split, a whole monolith's
    /// behind a balancer.
    ReplicaLoss,
    /// A new release of catalog rolls through its processes, one at a time, under
    /// load.
    RollingDeploy,
    /// A mix heavy in recommendations ramped, then again with the hot part scaled;
    /// both sized for 1x, 10x and 100x the lower knee.
    ScaleHot,
    /// Normal load, a spike past the split build's capacity, normal again: does
    /// goodput come back, and what do retries add?
    Metastable,
    /// One service switches its wire format alone: its gain, and whether the others
    /// moved.
    Diversify,
    /// The ceiling, the monolith and split deployed together and measured in
    /// alternating turns: the ratios the regression gate judges.
    Interleaved,
}

impl Scenario {
    /// The standard suite, in the order it runs (`interleaved` is the `ci` profile's).
    pub const ALL: [Scenario; 12] = [
        Scenario::Capacity,
        Scenario::ScaleHot,
        Scenario::HopCost,
        Scenario::Ceiling,
        Scenario::CrashPayments,
        Scenario::HangRecommendations,
        Scenario::SlowInventory,
        Scenario::ErrorsCatalog,
        Scenario::ReplicaLoss,
        Scenario::RollingDeploy,
        Scenario::Metastable,
        Scenario::Diversify,
    ];

    /// The `ci` profile's: capacity, hop cost, one crash with its audit, the ceiling,
    /// and the interleaved turns the gate's ratios come from.
    pub const CI: [Scenario; 5] = [
        Scenario::Capacity,
        Scenario::HopCost,
        Scenario::CrashPayments,
        Scenario::Ceiling,
        Scenario::Interleaved,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Capacity => "capacity",
            Scenario::HopCost => "hop-cost",
            Scenario::Ceiling => "ceiling",
            Scenario::CrashPayments => "crash-payments",
            Scenario::HangRecommendations => "hang-recommendations",
            Scenario::SlowInventory => "slow-inventory",
            Scenario::ErrorsCatalog => "errors-catalog",
            Scenario::ReplicaLoss => "replica-loss",
            Scenario::RollingDeploy => "rolling-deploy",
            Scenario::ScaleHot => "scale-hot",
            Scenario::Metastable => "metastable",
            Scenario::Diversify => "diversify",
            Scenario::Interleaved => "interleaved",
        }
    }

    /// What it shows, in one line.
    pub fn about(self) -> &'static str {
        match self {
            Scenario::Capacity => {
                "step ramp of the shop mix until each architecture falls behind: its knee and latency-throughput curve"
            }
            Scenario::HopCost => {
                "low constant load on a catalog read, the product page, the cart and checkout: the latency each internal hop adds in split"
            }
            Scenario::Ceiling => {
                "the product-page ramp against a bare axum endpoint serving the same bytes, and against each architecture: the physical reference"
            }
            Scenario::CrashPayments => {
                "payments crashes its process on every call for a window under the shop mix: what else stops answering, for how long, and is any money or stock lost"
            }
            Scenario::HangRecommendations => {
                "calls into recommendations hang for a window under the shop mix: which endpoints wait with it, and do the others keep answering"
            }
            Scenario::SlowInventory => {
                "inventory answers 100-200 ms late for a window under the shop mix: how far the slowness spreads"
            }
            Scenario::ErrorsCatalog => {
                "30% of calls into catalog fail for a window under the shop mix: which endpoints fail with it, and do the books stay balanced"
            }
            Scenario::ReplicaLoss => {
                "one of three replicas is SIGKILLed under the shop mix (catalog's in split, a whole monolith's behind a balancer, on the same cores) and restarted: the error spike, the recovery, and is anything lost"
            }
            Scenario::ScaleHot => {
                "a mix half recommendations ramped on one replica of everything, then with only recommendations scaled x2 (split) or the whole monolith x2: throughput per core and per GB, and both sized for 1x, 10x and 100x the lower of their knees by a cost model from the measured demand"
            }
            Scenario::RollingDeploy => {
                "a new release of catalog rolls through its processes one at a time under the shop mix, each deregistered, drained, restarted and waited for (split: catalog's 3 replicas alone; monolith: its 3 whole replicas): failed requests, the latency spike, the rollout's length, each cold start"
            }
            Scenario::Metastable => {
                "the shop mix at a normal rate, a spike past the split build's capacity, normal again (split under the bare and the hardened preset): does goodput come back, and how many internal calls does a request cost with retries"
            }
            Scenario::Interleaved => {
                "the ceiling, the monolith and split deployed side by side and measured in alternating turns (product page and shop mix at one rate, the order reversed every round): the in-run ratios the regression gate judges, and the time spent in each component"
            }
            Scenario::Diversify => {
                "catalog's callers switch from JSON to postcard (or back) while every other service stays: the switched service's gain in CPU and latency, and whether the others moved (split only: the monolith has one stack)"
            }
        }
    }
}

/// How long and how hard: `quick` for a look, `standard` for figures to keep, `ci`
/// for the regression gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProfileName {
    /// The whole suite at a glance: short steps, a smaller catalog.
    Quick,
    /// Figures to keep: longer steps, a finer ramp.
    Standard,
    /// The regression gate's subset ([`Scenario::CI`]), sized to finish in minutes.
    Ci,
}

impl ProfileName {
    /// What a run of this profile runs when no scenario is named.
    pub fn scenarios(self) -> &'static [Scenario] {
        match self {
            ProfileName::Quick | ProfileName::Standard => &Scenario::ALL,
            ProfileName::Ci => &Scenario::CI,
        }
    }
}

/// The sizes of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub name: ProfileName,
    /// Measured length of each ramp step (after its warm-up).
    #[serde(with = "seconds")]
    pub step: Duration,
    #[serde(with = "seconds")]
    pub warm_up: Duration,
    /// The ramp's first rate, and the factor from one step to the next.
    pub ramp_start: f64,
    pub ramp_factor: f64,
    pub ramp_max_steps: usize,
    /// The hop-cost scenario's rate and measured length per endpoint.
    pub hop_rate: f64,
    #[serde(with = "seconds")]
    pub hop_length: Duration,
    /// Products in the catalog.
    pub products: usize,
    /// The p99 a ramp step must keep to count as kept.
    #[serde(with = "seconds")]
    pub slo: Duration,
    /// The longest one request may take.
    #[serde(with = "seconds")]
    pub deadline: Duration,
    /// The partial-failure scenarios' load and fault window.
    pub outage: OutageTiming,
    /// The metastable scenario's rates and their lengths.
    pub spike: SpikeTiming,
    /// The diversification scenario's turns.
    pub diversify: DiversifyTiming,
    /// The time a rolling deploy is given, between the outage timing's `before` and
    /// `after` under its load (it takes what it takes; past this, the result says so).
    #[serde(with = "seconds")]
    pub rollout_budget: Duration,
    /// The interleaved scenario's rounds (absent from runs before it: the default).
    #[serde(default)]
    pub interleaved: InterleavedTiming,
}

/// The diversification scenario's load: `rounds` turns on each side, in alternation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiversifyTiming {
    pub rate: f64,
    /// Measured length of each turn (after the warm-up).
    #[serde(with = "seconds")]
    pub length: Duration,
    pub rounds: usize,
}

/// Normal, spike, normal: the metastable scenario's load (after the warm-up).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpikeTiming {
    pub normal: f64,
    /// Past the split build's knee (about 3,000 req/s on this machine's shared core),
    /// within the monolith's and the generator's.
    pub spike: f64,
    #[serde(with = "seconds")]
    pub before: Duration,
    #[serde(with = "seconds")]
    pub during: Duration,
    #[serde(with = "seconds")]
    pub after: Duration,
    /// The shoppers' patience.
    #[serde(with = "seconds")]
    pub deadline: Duration,
    /// Shoppers: as a client's connection pool, a bound on what is in flight at once.
    pub users: usize,
}

/// The load a partial-failure scenario runs, and where its fault window sits in it
/// (after the profile's warm-up).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutageTiming {
    /// A constant rate well under both architectures' knees.
    pub rate: f64,
    #[serde(with = "seconds")]
    pub before: Duration,
    #[serde(with = "seconds")]
    pub during: Duration,
    /// Long enough for a crashed process to come back and show 5 good seconds.
    #[serde(with = "seconds")]
    pub after: Duration,
    /// The shoppers' patience: a request unanswered by then counts as timed out.
    #[serde(with = "seconds")]
    pub deadline: Duration,
    /// The longest the audit waits for the shop to settle its orders.
    #[serde(with = "seconds")]
    pub settle_limit: Duration,
}

impl OutageTiming {
    /// Users enough that a hang holding half the mix (the product page and
    /// recommendations) for the whole deadline leaves the rest free to send on time.
    pub fn users(&self) -> usize {
        ((self.rate * self.deadline.as_secs_f64() * 0.6).ceil() as usize + 32).min(1024)
    }
}

impl Profile {
    pub fn of(name: ProfileName) -> Self {
        match name {
            ProfileName::Quick => Self {
                name,
                step: Duration::from_secs(2),
                warm_up: Duration::from_secs(1),
                ramp_start: 100.0,
                ramp_factor: 2.0,
                ramp_max_steps: 10,
                hop_rate: 50.0,
                hop_length: Duration::from_secs(3),
                products: 2_000,
                slo: Duration::from_millis(50),
                deadline: Duration::from_secs(5),
                outage: OutageTiming {
                    rate: 200.0,
                    before: Duration::from_secs(4),
                    during: Duration::from_secs(5),
                    after: Duration::from_secs(12),
                    deadline: Duration::from_secs(2),
                    settle_limit: SETTLE_LIMIT,
                },
                spike: SpikeTiming {
                    normal: 500.0,
                    spike: 4_000.0,
                    before: Duration::from_secs(4),
                    during: Duration::from_secs(4),
                    after: Duration::from_secs(12),
                    deadline: Duration::from_secs(2),
                    users: 512,
                },
                diversify: DiversifyTiming {
                    rate: 1_000.0,
                    length: Duration::from_secs(4),
                    rounds: 2,
                },
                rollout_budget: Duration::from_secs(15),
                interleaved: InterleavedTiming {
                    rounds: 4,
                    length: Duration::from_secs(2),
                    ..InterleavedTiming::default()
                },
            },
            ProfileName::Standard => Self {
                name,
                step: Duration::from_secs(6),
                warm_up: Duration::from_secs(2),
                ramp_start: 200.0,
                ramp_factor: 1.4,
                ramp_max_steps: 16,
                hop_rate: 100.0,
                hop_length: Duration::from_secs(10),
                products: 10_000,
                slo: Duration::from_millis(50),
                deadline: Duration::from_secs(5),
                outage: OutageTiming {
                    rate: 300.0,
                    before: Duration::from_secs(10),
                    during: Duration::from_secs(10),
                    after: Duration::from_secs(20),
                    deadline: Duration::from_secs(2),
                    settle_limit: SETTLE_LIMIT,
                },
                spike: SpikeTiming {
                    normal: 800.0,
                    spike: 4_000.0,
                    before: Duration::from_secs(8),
                    during: Duration::from_secs(8),
                    after: Duration::from_secs(24),
                    deadline: Duration::from_secs(2),
                    users: 512,
                },
                diversify: DiversifyTiming {
                    rate: 1_500.0,
                    length: Duration::from_secs(8),
                    rounds: 3,
                },
                rollout_budget: Duration::from_secs(30),
                interleaved: InterleavedTiming {
                    rounds: 8,
                    length: Duration::from_secs(5),
                    ..InterleavedTiming::default()
                },
            },
            // Quick's sizes; a ramp of five steps, from where both architectures are
            // far from their knees to where the ceiling's generator nears its own (in
            // run 20261130-055855, at 7db25c6, every system kept each step from 400 to
            // 3200 req/s, and the ceiling's ramp ended on the generator at 25600); a
            // shorter outage; and the interleaved rounds the gate reads.
            ProfileName::Ci => Self {
                name,
                ramp_start: 800.0,
                ramp_max_steps: 5,
                hop_length: Duration::from_secs(2),
                outage: OutageTiming {
                    before: Duration::from_secs(3),
                    during: Duration::from_secs(3),
                    after: Duration::from_secs(8),
                    ..Self::of(ProfileName::Quick).outage
                },
                interleaved: InterleavedTiming::default(),
                ..Self::of(ProfileName::Quick)
            },
        }
    }

    /// The rate of ramp step `index` (from 0).
    pub fn ramp_rate(&self, index: usize) -> f64 {
        (self.ramp_start * self.ramp_factor.powi(index as i32)).round()
    }

    /// Users for `rate`: enough to cover rate x 10 ms (Little's law: a few times the
    /// in-flight requests of a server answering in a couple of milliseconds), and no
    /// more, since each costs the generator. When the server is slower than that, sends
    /// wait for a free user, and the corrected latency counts the wait: the server's.
    pub fn users_for(rate: f64) -> usize {
        ((rate * 0.01).ceil() as usize).clamp(16, 128)
    }
}

/// The audit's longest wait for orders to settle: past the longest stale-checkout age
/// a run deploys with ([`stale_checkout`]), plus two settle passes.
const SETTLE_LIMIT: Duration = Duration::from_secs(75);

/// How old a pending checkout must be before the shop takes it for dead and
/// compensates it: longer than a checkout can take under `preset` (the hardened
/// preset's retries and deadlines add up to [`split::topology::CHECKOUT_DEADLINE`]).
/// The shop's own default, 120 s, would keep an audit waiting for minutes.
pub fn stale_checkout(preset: split::topology::Preset) -> Duration {
    match preset {
        split::topology::Preset::Bare => Duration::from_secs(15),
        split::topology::Preset::Hardened => {
            split::topology::CHECKOUT_DEADLINE + Duration::from_secs(20)
        }
    }
}

/// A duration as seconds, as the results file writes every duration.
pub(crate) mod seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(duration: &Duration, to: S) -> Result<S::Ok, S::Error> {
        to.serialize_f64(duration.as_secs_f64())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(from: D) -> Result<Duration, D::Error> {
        let seconds = f64::deserialize(from)?;
        Duration::try_from_secs_f64(seconds).map_err(serde::de::Error::custom)
    }
}

/// A ramp's steps and where it bent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ramp {
    pub steps: Vec<Measurement>,
    /// The highest step rate the system kept (achieved >= 99% of intended, p99 within
    /// the objective), if it kept any.
    pub knee: Option<f64>,
    /// True when the ramp ended before the system did: the generator, not the system,
    /// could go no further, or the system kept every step there was. Its knee is at
    /// least `knee`, maybe more.
    pub knee_is_lower_bound: bool,
    /// Why the ramp stopped.
    pub stopped: String,
}

/// Shoppers following `mix`, new ones: every call gives its users fresh accounts (so
/// empty carts, new checkout keys), whatever ran before on the deployment.
/// `ledger`, if given, has every checkout they see acknowledged written in it.
pub fn journey(
    mix: Mix,
    profile: &Profile,
    seed: u64,
    ledger: Option<Arc<Ledger>>,
) -> Arc<ShopJourney> {
    static MEASUREMENTS: AtomicU64 = AtomicU64::new(0);
    let n = MEASUREMENTS.fetch_add(1, Ordering::Relaxed);
    Arc::new(ShopJourney {
        mix,
        products: profile.products,
        username_prefix: format!("m{n}u"),
        seed: seed.wrapping_add(n),
        ledger,
    })
}

/// Steps the rate up by the profile's factor until a step is not kept twice in a row
/// (the server fell behind, or the generator did), or the steps run out. `progress`
/// hears of each step. Every measurement is kept in `steps`, retries included.
pub async fn ramp(
    deployment: &Deployment,
    mix: &Mix,
    profile: &Profile,
    bench: &Bench,
    label: &str,
    mut progress: impl FnMut(&str, Duration),
) -> Result<Ramp> {
    let mut steps: Vec<Measurement> = Vec::new();
    let mut ends = Vec::new();
    for index in 0..profile.ramp_max_steps {
        let rate = profile.ramp_rate(index);
        let length = profile.step + profile.warm_up;
        // A step that is not kept is measured once more before the ramp ends on it.
        let tries = with_retries(
            Retries::ONCE,
            |step| step.verdict != Verdict::Kept,
            |step| vec![step],
            async |again| {
                progress(
                    &format!("{label} step {} at {rate:.0} req/s{again}", index + 1),
                    length,
                );
                let load = Load {
                    label: format!("{label}-{rate:.0}{again}"),
                    profile: RateProfile::constant(rate, length).map_err(anyhow::Error::msg)?,
                    users: Profile::users_for(rate),
                    warm_up: profile.warm_up,
                    deadline: profile.deadline,
                    lag_tolerance: crate::measure::LAG_TOLERANCE,
                };
                let sut = Sut::of(deployment).await;
                let journey = journey(mix.clone(), profile, bench.seed, None);
                measure(&sut, journey, &load, bench, profile.slo).await
            },
        )
        .await?;
        let last = tries.last().expect("a step is measured at least once");
        let end = StepEnd {
            rate,
            verdict: last.verdict,
            reasons: last.reasons.join("; "),
        };
        steps.extend(tries);
        let kept = end.verdict == Verdict::Kept;
        ends.push(end);
        if !kept {
            break;
        }
    }
    Ok(Ramp::of(steps, &ends, profile))
}

/// How one step of a ramp ended: the verdict of its last try, at its rate.
#[derive(Debug, Clone)]
struct StepEnd {
    rate: f64,
    verdict: Verdict,
    reasons: String,
}

impl Ramp {
    /// What a ramp found, from its measurements and how each of its steps ended (it
    /// stops at the first step not kept, or when the profile's steps run out).
    fn of(steps: Vec<Measurement>, ends: &[StepEnd], profile: &Profile) -> Ramp {
        let knee = ends
            .iter()
            .take_while(|end| end.verdict == Verdict::Kept)
            .last()
            .map(|end| end.rate);
        let (knee_is_lower_bound, stopped) = match ends.last() {
            Some(StepEnd {
                rate,
                verdict: Verdict::Saturated,
                reasons,
            }) => (
                false,
                format!("fell behind at {rate:.0} req/s (twice): {reasons}"),
            ),
            Some(StepEnd {
                rate,
                verdict: Verdict::GeneratorLimited,
                reasons,
            }) => (
                true,
                format!(
                    "the load generator, not the server, was the limit at {rate:.0} req/s (twice): {reasons}"
                ),
            ),
            // The steps ran out before the system did.
            _ => (
                true,
                format!(
                    "kept every step (the profile's last is step {}, at {:.0} req/s)",
                    profile.ramp_max_steps,
                    profile.ramp_rate(profile.ramp_max_steps.saturating_sub(1))
                ),
            ),
        };
        Ramp {
            steps,
            knee,
            knee_is_lower_bound,
            stopped,
        }
    }
}

/// The endpoints of the hop-cost scenario, shallow to deep.
pub const HOP_ENDPOINTS: [Action; 4] = [
    Action::List,
    Action::ProductPage,
    Action::ViewCart,
    Action::Checkout,
];

/// The mix that exercises `action` for the hop-cost scenario: the action alone, except
/// that a cart view needs a cart worth pricing, so one send in five adds to it (a
/// checkout fills its own: with an empty cart the shopper adds first).
pub fn hop_mix(action: Action) -> Mix {
    match action {
        Action::ViewCart => "view-cart=4,add-to-cart=1".parse().expect("a valid mix"),
        other => Mix::only(other),
    }
}

/// The internal calls one request of `action` makes in the split build: the gateway's
/// calls, in order, and (after `->`) the calls those make.
pub fn internal_calls(action: Action) -> &'static str {
    match action {
        Action::List | Action::Search => "catalog",
        Action::ProductPage => "catalog, inventory, recommendations, catalog",
        Action::ViewCart | Action::AddToCart | Action::RemoveFromCart => "cart -> catalog",
        Action::Checkout => "orders -> cart, catalog, inventory, payments",
        Action::Recommendations => "cart, orders, recommendations, catalog",
    }
}

/// Each hop-cost endpoint at the profile's low rate (its figures are under its own
/// name in the measurement's endpoints; others in the mix are there beside it).
pub async fn hop_cost(
    deployment: &Deployment,
    profile: &Profile,
    bench: &Bench,
    mut progress: impl FnMut(&str, Duration),
) -> Result<Vec<(Action, Measurement)>> {
    let mut found = Vec::new();
    for action in HOP_ENDPOINTS {
        let length = profile.hop_length + profile.warm_up;
        progress(&format!("hop-cost {action}"), length);
        let load = Load {
            label: format!("hop-{action}"),
            profile: RateProfile::constant(profile.hop_rate, length).map_err(anyhow::Error::msg)?,
            users: 16,
            warm_up: profile.warm_up,
            deadline: profile.deadline,
            lag_tolerance: crate::measure::LAG_TOLERANCE,
        };
        let journey = journey(hop_mix(action), profile, bench.seed, None);
        let sut = Sut::of(deployment).await;
        let measured = measure(&sut, journey, &load, bench, profile.slo).await?;
        found.push((action, measured));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn end(rate: f64, verdict: Verdict) -> StepEnd {
        StepEnd {
            rate,
            verdict,
            reasons: format!("{verdict:?} at {rate}"),
        }
    }

    fn ramp_of(verdicts: &[Verdict]) -> Ramp {
        let profile = Profile::of(ProfileName::Ci);
        let ends: Vec<StepEnd> = verdicts
            .iter()
            .enumerate()
            .map(|(index, &verdict)| end(profile.ramp_rate(index), verdict))
            .collect();
        Ramp::of(Vec::new(), &ends, &profile)
    }

    #[test]
    fn a_ramp_the_system_ended_has_its_last_kept_step_for_knee_exactly() {
        let ramp = ramp_of(&[Verdict::Kept, Verdict::Kept, Verdict::Saturated]);
        assert_eq!(ramp.knee, Some(1_600.0));
        assert!(!ramp.knee_is_lower_bound);
        assert!(
            ramp.stopped.starts_with("fell behind at 3200 req/s"),
            "{}",
            ramp.stopped
        );
    }

    #[test]
    fn a_ramp_the_generator_or_the_profile_ended_has_a_knee_that_is_a_lower_bound() {
        let ramp = ramp_of(&[Verdict::Kept, Verdict::GeneratorLimited]);
        assert_eq!(ramp.knee, Some(800.0));
        assert!(ramp.knee_is_lower_bound);
        assert!(ramp.stopped.contains("generator"), "{}", ramp.stopped);

        let steps = Profile::of(ProfileName::Ci).ramp_max_steps;
        let ramp = ramp_of(&vec![Verdict::Kept; steps]);
        assert_eq!(ramp.knee, Some(12_800.0));
        assert!(ramp.knee_is_lower_bound);
        assert_eq!(
            ramp.stopped,
            "kept every step (the profile's last is step 5, at 12800 req/s)"
        );
    }

    #[test]
    fn a_ramp_whose_first_step_failed_has_no_knee() {
        let ramp = ramp_of(&[Verdict::Saturated]);
        assert_eq!(ramp.knee, None);
        assert!(!ramp.knee_is_lower_bound);
    }
}
