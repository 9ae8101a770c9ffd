//! The partial-failure scenarios (reliability: does a failure stay local?). One
//! component crashes, hangs, slows down or errors for a window in the middle of a
//! constant load of the shop's mix, injected at the same logical spot in either
//! architecture; then the books are audited.
//!
//! - [`Outage`]: what goes wrong where, for each scenario.
//! - [`needs`]: the components each endpoint needs, by the business logic (the same in
//!   both architectures): the endpoints a fault *should* break.
//! - [`run`]: the load with the fault in its window, then the audit.
//! - [`Impact::of`]: what the record says: per endpoint availability, goodput and p99
//!   before, during and after; the blast radius; time to detect and to recover.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Result;
use serde::{Deserialize, Serialize};
use shop_domain::Component;
use shop_faults::Fault;
use split::topology::Topology;

use crate::audit::{self, Ledger, Violation};
use crate::deploy::{Deployment, EventKind, component_of, unix_ms};
use crate::faults::Injection;
use crate::journeys::{Action, Mix};
use crate::measure::{Bench, Load, Measurement, Sut, measure_during};
use crate::record::{Recorder, Tally};
use crate::scenarios::{Profile, Scenario, journey};
use crate::schedule::RateProfile;

/// A scenario's fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outage {
    pub injection: Injection,
    /// Put back each time the process hosting the component comes back within the
    /// window: a crash on every call for the whole window (a poison request, a bad
    /// release), not a single one.
    pub rearm: bool,
    /// The scenario deploys this many replicas of the process at fault (the faulty
    /// component's service in split, the whole monolith behind a balancer), of which
    /// one fails; `None`: the run's own deployment.
    pub fleet: Option<u32>,
}

/// Replicas of the process at fault in the replica-loss scenario.
pub const FLEET: u32 = 3;

impl Outage {
    /// The fault of a partial-failure scenario; `None` for the others.
    pub fn of(scenario: Scenario) -> Option<Self> {
        let component = |component, fault| Injection::Component { component, fault };
        let mut fleet = None;
        let (injection, rearm) = match scenario {
            // After the charge: the crash that loses an answer with the money already
            // taken, the one compensation has to make good.
            Scenario::CrashPayments => (component(Component::Payments, Fault::AbortAfter), true),
            Scenario::HangRecommendations => {
                (component(Component::Recommendations, Fault::Hang), false)
            }
            Scenario::SlowInventory => (
                component(
                    Component::Inventory,
                    Fault::Slow {
                        latency_ms: 100,
                        jitter_ms: 100,
                    },
                ),
                false,
            ),
            Scenario::ErrorsCatalog => (
                component(Component::Catalog, Fault::Fail { rate: 0.3 }),
                false,
            ),
            Scenario::ReplicaLoss => {
                fleet = Some(FLEET);
                let replica = (FLEET / 2) as usize;
                let kill = Injection::Kill {
                    component: Component::Catalog,
                    replica,
                };
                (kill, false)
            }
            Scenario::Capacity
            | Scenario::HopCost
            | Scenario::Ceiling
            | Scenario::RollingDeploy
            | Scenario::ScaleHot
            | Scenario::Metastable
            | Scenario::Diversify
            | Scenario::Interleaved => return None,
        };
        Some(Self {
            injection,
            rearm,
            fleet,
        })
    }

    /// `base` with [`fleet`](Self::fleet) replicas of the process at fault, on the
    /// same cores: `None` when the outage runs on the run's own deployment.
    pub fn topology(&self, base: &Topology) -> Option<Topology> {
        let replicas = self.fleet?;
        let mut topology = base.clone();
        topology.monolith.replicas = replicas;
        let spec = topology.services.entry(self.component()).or_default();
        spec.replicas = spec.replicas.max(replicas);
        Some(topology)
    }

    /// Whether it takes a process down (the supervisor then restarts it).
    pub fn crashes(&self) -> bool {
        match &self.injection {
            Injection::Component { fault, .. } => fault.crashes(),
            Injection::Kill { .. } => true,
            Injection::Freeze { .. } | Injection::Link { .. } | Injection::Squeeze { .. } => false,
        }
    }

    /// The component at fault.
    pub fn component(&self) -> Component {
        self.injection.component()
    }
}

/// The components `action` needs to answer: the calls its business logic makes,
/// whatever the wiring (users only at login, which comes before the load).
pub fn needs(action: Action) -> &'static [Component] {
    use Component::*;
    match action {
        Action::List | Action::Search => &[Catalog],
        Action::ProductPage => &[Catalog, Inventory, Recommendations],
        Action::AddToCart | Action::ViewCart | Action::RemoveFromCart => &[Cart, Catalog],
        Action::Checkout => &[Orders, Cart, Catalog, Inventory, Payments],
        Action::Recommendations => &[Cart, Orders, Recommendations, Catalog],
    }
}

/// When the fault was in, in seconds since the load's start (the timeline's origin)
/// and as wall-clock time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Window {
    pub from_s: f64,
    pub to_s: f64,
    pub from_unix_ms: u64,
    pub to_unix_ms: u64,
    /// Times the fault was put back after its process came back.
    pub rearmed: u32,
}

/// One endpoint (or a group) over one stretch of whole seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Stretch {
    pub from_s: u64,
    pub to_s: u64,
    pub requests: u64,
    /// Share answered with success.
    pub availability: f64,
    /// Share answered with success within the objective.
    pub goodput: f64,
    pub p99_ms: f64,
}

impl Stretch {
    fn of(tally: &Tally, (from_s, to_s): (u64, u64)) -> Self {
        let share = |n: u64| match tally.requests() {
            0 => 1.0,
            all => n as f64 / all as f64,
        };
        Self {
            from_s,
            to_s,
            requests: tally.requests(),
            availability: share(tally.successes),
            goodput: share(tally.good),
            p99_ms: tally.corrected.value_at_quantile(0.99) as f64 / 1e6,
        }
    }

    /// Whether it kept the objective: at most 1% failed, p99 within it.
    fn kept(&self, slo: Duration) -> bool {
        self.requests == 0 || (self.availability >= 0.99 && self.p99_ms <= slo.as_secs_f64() * 1e3)
    }
}

/// One endpoint before, during and after the fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointImpact {
    pub endpoint: String,
    /// It needs the component at fault: the fault was bound to reach it.
    pub needs_faulty: bool,
    pub before: Stretch,
    pub during: Stretch,
    pub after: Stretch,
    /// It kept its objective before and broke it during the fault.
    pub broke: bool,
    /// It already missed its objective before the fault.
    pub out_before: bool,
}

/// How far the fault reached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlastRadius {
    pub endpoints: usize,
    /// Endpoints that broke their objective during the fault.
    pub broken: Vec<String>,
    /// Endpoints that need the faulty component.
    pub dependent: Vec<String>,
    /// Broken though they do not need it: what the architecture added to the fault.
    pub collateral: Vec<String>,
}

/// What a fault did to one system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Impact {
    pub endpoints: Vec<EndpointImpact>,
    pub blast_radius: BlastRadius,
    /// The endpoints that need the faulty component, and those that do not, together.
    pub dependent_during: Stretch,
    pub independent_during: Stretch,
    /// From the injection to the end of the first second whose goodput (of the
    /// endpoints that need the component) fell below 95% of before's.
    pub detected_after_s: Option<f64>,
    /// From the fault's end to the first of 5 consecutive seconds with goodput back
    /// within 5% of before's (0 when it never left).
    pub recovered_after_s: Option<f64>,
    pub never_recovered: bool,
    /// Seconds, from the injection on, in which the system as a whole answered fewer
    /// than a tenth of its requests with success: down, to its users.
    pub down_seconds: u64,
    /// Requests that failed, all endpoints together, from the injection to the end:
    /// the error spike's size.
    pub failed: u64,
    /// The lowest share of requests answered with success in any second from the
    /// injection on: the error spike's depth (1.0 when nothing failed).
    pub worst_second: f64,
}

/// The consistency audit after a fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditOutcome {
    /// Checkouts acknowledged during the scenario.
    pub acknowledged: usize,
    pub violations: Vec<Violation>,
    /// Whether every order was settled when the audit ran (if not, money and stock
    /// checks that need it settled were skipped by the shop's audit).
    pub settled: bool,
    pub waited_s: f64,
    /// Set when the audit itself could not run: no verdict, not a pass.
    pub error: Option<String>,
}

impl AuditOutcome {
    pub fn passed(&self) -> bool {
        self.error.is_none() && self.violations.is_empty()
    }
}

/// What one system did in a partial-failure scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutageResult {
    pub outage: Outage,
    pub window: Window,
    pub measurement: Measurement,
    pub impact: Impact,
    pub audit: AuditOutcome,
}

/// Some of a run's endpoints, second by second.
pub struct EndpointGroup<'a, F> {
    recorder: &'a Recorder,
    member: F,
}

impl<F> std::fmt::Debug for EndpointGroup<'_, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndpointGroup").finish_non_exhaustive()
    }
}

impl<'a, F: Fn(&str) -> bool> EndpointGroup<'a, F> {
    /// The endpoints of `recorder` that `member` accepts.
    pub fn new(recorder: &'a Recorder, member: F) -> Self {
        Self { recorder, member }
    }

    /// Their requests over the whole seconds `from..to`, together.
    pub fn tally(&self, (from, to): (u64, u64)) -> Tally {
        let mut tally = Tally::second();
        for (endpoint, t) in self.recorder.between(from, to) {
            if (self.member)(endpoint) {
                tally.merge(&t);
            }
        }
        tally
    }

    pub fn stretch(&self, seconds: (u64, u64)) -> Stretch {
        Stretch::of(&self.tally(seconds), seconds)
    }

    /// Whether `second`'s goodput is within 5% of `baseline` (a second without
    /// requests is).
    pub fn normal(&self, second: u64, baseline: f64) -> bool {
        let stretch = self.stretch((second, second + 1));
        stretch.requests == 0 || stretch.goodput >= NORMAL_SHARE * baseline
    }

    /// From `end_s` (when a fault or a spike ended) to the first of 5 consecutive
    /// normal seconds that all end by `last` (0 when it never left normal); `None`
    /// when no such seconds came.
    pub fn recovered_after(&self, end_s: f64, last: u64, baseline: f64) -> Option<f64> {
        (end_s.floor() as u64..last)
            .find(|&s| {
                s + RECOVERED_FOR <= last
                    && (s..s + RECOVERED_FOR).all(|t| self.normal(t, baseline))
            })
            .map(|s| (s as f64 - end_s).max(0.0))
    }
}

/// Seconds of goodput within 5% of before's that count as recovered.
const RECOVERED_FOR: u64 = 5;
/// How close to before's goodput counts as normal.
const NORMAL_SHARE: f64 = 0.95;

/// Runs `outage` in its window of a constant load of `mix` against `deployment`, then
/// audits the books against what was acknowledged.
pub async fn run(
    deployment: &Deployment,
    outage: &Outage,
    mix: &Mix,
    profile: &Profile,
    bench: &Bench,
    mut progress: impl FnMut(&str, Duration),
) -> Result<OutageResult> {
    let timing = &profile.outage;
    let length = profile.warm_up + timing.before + timing.during + timing.after;
    progress(&format!("{} under load", outage.injection), length);
    let load = Load {
        label: format!("outage-{}", outage.component()),
        profile: RateProfile::constant(timing.rate, length).map_err(anyhow::Error::msg)?,
        users: timing.users(),
        warm_up: profile.warm_up,
        deadline: timing.deadline,
        // A hundredth of the shoppers' patience: this scenario reads seconds.
        lag_tolerance: timing.deadline / 100,
    };
    let ledger = Arc::new(Ledger::default());
    let shoppers = journey(mix.clone(), profile, bench.seed, Some(ledger.clone()));
    let sut = Sut::of(deployment).await;
    let fault_from = profile.warm_up + timing.before;
    let observed = measure_during(&sut, shoppers, &load, bench, profile.slo, async |start| {
        in_window(deployment, outage, start, fault_from, timing.during).await
    })
    .await?;
    let window = observed.beside;
    let impact = Impact::of(&observed.recorder, &window, outage.component(), profile);

    progress("settling and auditing", timing.settle_limit);
    let audit = audit_after(deployment, &ledger, timing.settle_limit).await;
    Ok(OutageResult {
        outage: outage.clone(),
        window,
        measurement: observed.measurement,
        impact,
        audit,
    })
}

/// Puts the fault in at `from` into the load, keeps it there (re-arming it when
/// asked) for `during`, and takes it out.
/// Injects the outage's fault. A crash fault can take its process down before the
/// answer to injecting it comes back (a checkout's call to payments lands between the
/// two): the process's exit, recorded by the supervisor, then shows it was armed.
async fn arm(deployment: &Deployment, outage: &Outage) -> Result<()> {
    let component = outage.component();
    let exits = || {
        deployment
            .events()
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Exited { .. }))
            .filter(|e| crate::results::hosts(&e.process, &component.to_string()))
            .count()
    };
    let before = exits();
    let Err(error) = deployment.inject(&outage.injection).await else {
        return Ok(());
    };
    if outage.crashes() {
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if exits() > before {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Err(error)
}

async fn in_window(
    deployment: &Deployment,
    outage: &Outage,
    start: Instant,
    from: Duration,
    during: Duration,
) -> Result<Window> {
    tokio::time::sleep_until((start + from).into()).await;
    let injected = Instant::now();
    let from_unix_ms = unix_ms(SystemTime::now());
    arm(deployment, outage).await?;
    let until = injected + during;
    let mut rearmed = 0;
    if outage.rearm {
        let component = outage.component();
        let hosting = deployment.process_hosting(component, 0)?;
        let hosts = |process: &str| process == hosting || component_of(process) == Some(component);
        let comebacks = || {
            deployment
                .events()
                .iter()
                .filter(|e| matches!(e.kind, EventKind::Restarted { .. }) && hosts(&e.process))
                .count()
        };
        let mut seen = comebacks();
        while Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(50).min(until - Instant::now())).await;
            let now = comebacks();
            if now > seen && Instant::now() < until {
                seen = now;
                arm(deployment, outage).await?;
                rearmed += 1;
            }
        }
    } else {
        tokio::time::sleep_until(until.into()).await;
    }
    let cleared = deployment.clear(&outage.injection).await;
    // An abort's process may be down right now: the one the supervisor starts next
    // comes up without the fault, so there is nothing left to take out.
    if !outage.crashes() {
        cleared?;
    }
    Ok(Window {
        from_s: injected.saturating_duration_since(start).as_secs_f64(),
        to_s: Instant::now()
            .saturating_duration_since(start)
            .as_secs_f64(),
        from_unix_ms,
        to_unix_ms: unix_ms(SystemTime::now()),
        rearmed,
    })
}

/// Waits (up to `limit`) for the shop to settle every order, then audits it against
/// `ledger`. Never fails: an audit that cannot run says why.
pub(crate) async fn audit_after(
    deployment: &Deployment,
    ledger: &Ledger,
    limit: Duration,
) -> AuditOutcome {
    let entries = ledger.entries();
    let waiting = Instant::now();
    let outcome = async {
        let token = deployment.admin_token()?;
        let settled = audit::settle(&deployment.url, &token, limit).await?;
        let violations = audit::audit(&deployment.url, &token, &entries).await?;
        anyhow::Ok((settled, violations))
    }
    .await;
    let waited_s = waiting.elapsed().as_secs_f64();
    match outcome {
        Ok((settled, violations)) => AuditOutcome {
            acknowledged: entries.len(),
            violations,
            settled,
            waited_s,
            error: None,
        },
        Err(e) => AuditOutcome {
            acknowledged: entries.len(),
            violations: Vec::new(),
            settled: false,
            waited_s,
            error: Some(format!("{e:#}")),
        },
    }
}

impl Impact {
    /// What `recorder` says about a fault on `component` over `window`.
    pub fn of(
        recorder: &Recorder,
        window: &Window,
        component: Component,
        profile: &Profile,
    ) -> Self {
        let first = profile.warm_up.as_secs();
        let last = recorder
            .endpoints
            .values()
            .filter_map(|record| record.seconds.keys().next_back())
            .max()
            .map_or(first, |s| s + 1);
        // Seconds wholly before the fault, those it touched, those wholly after.
        let before = (first, (window.from_s.floor() as u64).max(first));
        let during = (before.1, (window.to_s.ceil() as u64).max(before.1));
        let after = (during.1, last.max(during.1));
        let slo = profile.slo;

        let needs_faulty = |endpoint: &str| {
            endpoint
                .parse::<Action>()
                .is_ok_and(|action| needs(action).contains(&component))
        };
        let stretches = |(from, to)| recorder.between(from, to);
        let (b, d, a) = (stretches(before), stretches(during), stretches(after));
        let mut endpoints = Vec::new();
        for (endpoint, before_tally) in &b {
            let before = Stretch::of(before_tally, before);
            let during = d
                .get(endpoint)
                .map(|t| Stretch::of(t, during))
                .unwrap_or_default();
            let after = a
                .get(endpoint)
                .map(|t| Stretch::of(t, after))
                .unwrap_or_default();
            let out_before = !before.kept(slo);
            endpoints.push(EndpointImpact {
                endpoint: endpoint.to_string(),
                needs_faulty: needs_faulty(endpoint),
                before,
                during,
                after,
                broke: !out_before && !during.kept(slo),
                out_before,
            });
        }
        let names = |keep: &dyn Fn(&EndpointImpact) -> bool| {
            endpoints
                .iter()
                .filter(|e| keep(e))
                .map(|e| e.endpoint.clone())
                .collect::<Vec<_>>()
        };
        let blast_radius = BlastRadius {
            endpoints: endpoints.len(),
            broken: names(&|e| e.broke),
            dependent: names(&|e| e.needs_faulty),
            collateral: names(&|e| e.broke && !e.needs_faulty),
        };

        // Second by second, the endpoints that need the component together.
        let dependent = EndpointGroup::new(recorder, |e| needs_faulty(e));
        let independent = EndpointGroup::new(recorder, |e| !needs_faulty(e));
        let baseline = dependent.stretch(before).goodput;
        let detected_after_s = (during.0..after.1)
            .find(|&s| !dependent.normal(s, baseline))
            .map(|s| ((s + 1) as f64 - window.from_s).max(0.0));
        let recovered_after_s = dependent.recovered_after(window.to_s, after.1, baseline);
        let everything = EndpointGroup::new(recorder, |_| true);
        let down_seconds = (during.0..after.1)
            .filter(|&s| {
                let all = everything.tally((s, s + 1));
                all.requests() > 0 && (all.successes as f64) < 0.1 * all.requests() as f64
            })
            .count() as u64;
        let failed = everything.tally((during.0, after.1));
        let worst_second = (during.0..after.1)
            .map(|s| everything.stretch((s, s + 1)).availability)
            .fold(1.0, f64::min);
        Self {
            endpoints,
            blast_radius,
            dependent_during: dependent.stretch(during),
            independent_during: independent.stretch(during),
            detected_after_s,
            recovered_after_s,
            never_recovered: recovered_after_s.is_none(),
            down_seconds,
            failed: failed.requests() - failed.successes,
            worst_second,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Outcome, Sample};
    use crate::scenarios::ProfileName;

    /// A record of `seconds` seconds: each second, 10 list pages and 5 checkouts, 5 ms
    /// each, answered as `status(endpoint, second)` says.
    fn recorded(seconds: u64, status: impl Fn(&str, u64) -> u16) -> Recorder {
        let start = Instant::now();
        let mut recorder = Recorder::new(start, Duration::from_secs(1), Duration::from_millis(50));
        for second in 0..seconds {
            for (endpoint, count) in [("list", 10), ("checkout", 5)] {
                for i in 0..count {
                    let intended = start + Duration::from_millis(second * 1_000 + i * 90);
                    recorder.record(
                        endpoint,
                        Sample {
                            intended,
                            claimed: intended,
                            sent: intended,
                            done: intended + Duration::from_millis(5),
                            outcome: Outcome::Status(status(endpoint, second)),
                        },
                    );
                }
            }
        }
        recorder
    }

    fn window(from_s: f64, to_s: f64) -> Window {
        Window {
            from_s,
            to_s,
            from_unix_ms: 0,
            to_unix_ms: 0,
            rearmed: 0,
        }
    }

    fn profile() -> Profile {
        Profile::of(ProfileName::Quick)
    }

    #[test]
    fn a_failure_that_stays_local_breaks_only_what_needs_the_component() {
        // Checkout fails from second 5 to 10 (one second past the window's end).
        let recorder = recorded(20, |endpoint, s| match endpoint {
            "checkout" if (5..11).contains(&s) => 503,
            _ => 200,
        });
        let impact = Impact::of(
            &recorder,
            &window(5.0, 10.0),
            Component::Payments,
            &profile(),
        );
        assert_eq!(impact.blast_radius.broken, ["checkout"]);
        assert_eq!(impact.blast_radius.dependent, ["checkout"]);
        assert!(impact.blast_radius.collateral.is_empty());
        assert_eq!(impact.blast_radius.endpoints, 2);
        assert_eq!(impact.independent_during.availability, 1.0);
        assert_eq!(impact.dependent_during.availability, 0.0);
        // Seen at the end of the first failing second; back at the start of second 11.
        assert_eq!(impact.detected_after_s, Some(1.0));
        assert_eq!(impact.recovered_after_s, Some(1.0));
        assert!(!impact.never_recovered);
        assert_eq!(impact.down_seconds, 0);
        // Six seconds of five failed checkouts, out of fifteen requests a second.
        assert_eq!(impact.failed, 30);
        assert!((impact.worst_second - 10.0 / 15.0).abs() < 1e-9);
        let checkout = &impact.endpoints[0];
        assert_eq!(checkout.endpoint, "checkout");
        assert_eq!((checkout.before.from_s, checkout.before.to_s), (1, 5));
        assert_eq!(checkout.before.availability, 1.0);
        assert_eq!(checkout.after.to_s, 20);
    }

    #[test]
    fn a_failure_that_takes_everything_down_shows_as_collateral_and_down_time() {
        let recorder = recorded(20, |_, s| if (6..9).contains(&s) { 503 } else { 200 });
        let impact = Impact::of(
            &recorder,
            &window(5.5, 8.5),
            Component::Payments,
            &profile(),
        );
        assert_eq!(impact.blast_radius.collateral, ["list"]);
        assert_eq!(impact.blast_radius.broken.len(), 2);
        assert_eq!(impact.down_seconds, 3);
        assert_eq!((impact.failed, impact.worst_second), (45, 0.0));
        // The window's seconds are 5 to 8: three of four failed.
        assert!((impact.independent_during.availability - 0.25).abs() < 1e-9);
        assert_eq!(impact.detected_after_s, Some(1.5));
        assert_eq!(impact.recovered_after_s, Some(0.5));
    }

    #[test]
    fn slow_answers_are_not_goodput_and_a_fault_that_never_ends_never_recovers() {
        // Checkout fails from second 5 to the end: no 5 good seconds after the window.
        let recorder = recorded(20, |endpoint, s| {
            if endpoint == "checkout" && s >= 5 {
                500
            } else {
                200
            }
        });
        let impact = Impact::of(
            &recorder,
            &window(5.0, 10.0),
            Component::Payments,
            &profile(),
        );
        assert!(impact.never_recovered);
        assert_eq!(impact.recovered_after_s, None);

        // Successes later than the objective break it as surely as errors.
        let start = Instant::now();
        let mut slow = Recorder::new(start, Duration::ZERO, Duration::from_millis(50));
        for second in 0..14u64 {
            let late = if (4..8).contains(&second) { 300 } else { 5 };
            for i in 0..10 {
                let intended = start + Duration::from_millis(second * 1_000 + i * 90);
                slow.record(
                    "product-page",
                    Sample {
                        intended,
                        claimed: intended,
                        sent: intended,
                        done: intended + Duration::from_millis(late),
                        outcome: Outcome::Status(200),
                    },
                );
            }
        }
        let impact = Impact::of(&slow, &window(4.0, 8.0), Component::Inventory, &profile());
        assert_eq!(impact.blast_radius.broken, ["product-page"]);
        assert_eq!(impact.dependent_during.availability, 1.0);
        assert_eq!(impact.dependent_during.goodput, 0.0);
        assert_eq!(impact.detected_after_s, Some(1.0));
        assert_eq!(impact.recovered_after_s, Some(0.0));
    }

    #[test]
    fn every_endpoint_needs_what_its_business_logic_calls() {
        assert_eq!(needs(Action::List), [Component::Catalog]);
        assert!(needs(Action::Checkout).contains(&Component::Payments));
        assert!(needs(Action::ProductPage).contains(&Component::Recommendations));
        // Nothing but checkout pays.
        let paying: Vec<Action> = Action::ALL
            .into_iter()
            .filter(|a| needs(*a).contains(&Component::Payments))
            .collect();
        assert_eq!(paying, [Action::Checkout]);
        // Every partial-failure scenario has a fault, the others none.
        for scenario in Scenario::ALL {
            let partial = matches!(
                scenario,
                Scenario::CrashPayments
                    | Scenario::HangRecommendations
                    | Scenario::SlowInventory
                    | Scenario::ErrorsCatalog
                    | Scenario::ReplicaLoss
            );
            assert_eq!(Outage::of(scenario).is_some(), partial, "{scenario:?}");
        }
        assert!(Outage::of(Scenario::CrashPayments).unwrap().crashes());
        assert!(!Outage::of(Scenario::HangRecommendations).unwrap().crashes());
    }

    #[test]
    fn replica_loss_kills_one_of_three_of_each_side_on_a_fleet_of_its_own() {
        let outage = Outage::of(Scenario::ReplicaLoss).unwrap();
        assert!(outage.crashes() && !outage.rearm);
        let mut base = Topology::default();
        base.services.entry(Component::Cart).or_default().replicas = 2;
        let fleet = outage.topology(&base).unwrap();
        assert_eq!(fleet.monolith.replicas, FLEET);
        assert_eq!(fleet.spec(Component::Catalog).replicas, FLEET);
        assert_eq!(fleet.spec(Component::Cart).replicas, 2, "the rest as given");
        let Injection::Kill { replica, .. } = outage.injection else {
            panic!("{outage:?}")
        };
        assert!(replica < FLEET as usize);
        // The others run on the run's own deployment.
        assert_eq!(
            Outage::of(Scenario::CrashPayments).unwrap().topology(&base),
            None
        );
    }
}
