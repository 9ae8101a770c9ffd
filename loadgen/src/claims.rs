//! The article's claims, judged from what a run measured: one verdict per scenario
//! that tests a claim, in a line with the numbers behind it, whichever way it falls.
//! Only what the run has evidence for gets a line.
//!
//! - [`verdicts`]: the lines, kept in `run.json`.
//! - [`tables`]: the partial-failure, metastable and diversify scenarios side by side,
//!   with the verdicts, for the terminal.

use serde::{Deserialize, Serialize};

use crate::deploy::System;
use crate::diversify::{self, Moved};
use crate::metastable::SpikeResult;
use crate::partial_failure::{AuditOutcome, OutageResult};
use crate::results::{Run, ScenarioResult};
use crate::rolling::RolloutResult;
use crate::scale_hot::ScaleResult;
use crate::scenarios::{Profile, Scenario};

/// One claim, judged on one scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimVerdict {
    /// `reliability`, `scalability`, `deployment`, `diversification`.
    pub claim: String,
    pub scenario: Scenario,
    /// The architecture the evidence favours; `None` when it does not tell them apart.
    pub favours: Option<System>,
    pub line: String,
    /// The books did not balance after the fault (or could not be audited): the
    /// scenario failed, whatever else it showed.
    pub failed: bool,
}

/// How far apart two availabilities must be to favour one side (a point of share).
const AVAILABILITY_MARGIN: f64 = 0.01;
/// How far apart two recovery times must be to favour one side, in seconds (the
/// timeline's resolution).
const RECOVERY_MARGIN_S: f64 = 1.0;

/// Every verdict the run has evidence for.
pub fn verdicts(run: &Run) -> Vec<ClaimVerdict> {
    run.scenarios
        .iter()
        .filter_map(|s| {
            replica_loss(s)
                .or_else(|| reliability(s))
                .or_else(|| deployment(s))
                .or_else(|| scalability(s))
                .or_else(|| metastability(s, &run.profile))
                .or_else(|| diversification(s))
        })
        .collect()
}

/// The diversify scenario's verdict: what switching one service's stack alone bought,
/// and whether the rest stayed put.
fn diversification(scenario: &ScenarioResult) -> Option<ClaimVerdict> {
    let found = scenario.systems.iter().find_map(|r| r.diversify.as_ref())?;
    let component = |name: &str| found.components.iter().find(|c| c.name == name);
    let own = component(&found.service.to_string())?;
    let percent =
        |change: Option<f64>| change.map_or("-".to_owned(), |c| format!("{:+.1}%", c * 100.0));
    let mut line = format!(
        "{} alone: {}'s CPU per request {:.1} -> {:.1} us ({}, turn-to-turn noise {:.1}%)",
        found.change,
        found.service,
        own.a,
        own.b,
        percent(own.change),
        own.noise * 100.0
    );
    let all = component(diversify::ALL);
    if let Some(all) = all {
        line.push_str(&format!(
            ", the whole split build's {:.1} -> {:.1} us ({})",
            all.a,
            all.b,
            percent(all.change)
        ));
    }
    // The others, by how much of the whole build's CPU per request they moved (a
    // service that does a microsecond per request can double in noise alone).
    let untouched: Vec<&Moved> = diversify::UNTOUCHED
        .iter()
        .filter_map(|c| component(&c.to_string()))
        .collect();
    if let (Some(all), Some(most)) = (
        all,
        untouched
            .iter()
            .max_by(|x, y| (x.b - x.a).abs().total_cmp(&(y.b - y.a).abs())),
    ) {
        line.push_str(&format!(
            "; services that neither are {} nor call it ({}) moved at most {:.1}% of the build's CPU per request ({}, {:+.1} us)",
            found.service,
            untouched
                .iter()
                .map(|m| m.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            (most.b - most.a).abs() / all.a.max(1e-9) * 100.0,
            most.name,
            most.b - most.a,
        ));
    }
    line.push_str("; the monolith has one stack for every component: it cannot switch one alone");
    // The claim is that a part can pick its own stack; the split build can, and the
    // numbers say whether it paid: a gain beyond the turns' own noise.
    let favours = own
        .change
        .is_some_and(|c| c < 0.0 && -c > own.noise)
        .then_some(System::Split);
    Some(ClaimVerdict {
        claim: "diversification".to_owned(),
        scenario: scenario.scenario,
        favours,
        line,
        failed: false,
    })
}

/// A system's spike, named with its preset: `monolith`, `split (bare)`.
fn spike_name(system: System, spike: &SpikeResult) -> String {
    match spike.preset {
        Some(preset) => format!("{} ({})", system.name(), preset.name()),
        None => system.name().to_owned(),
    }
}

/// The metastable scenario's verdict: does goodput come back after a spike, and what
/// do retries add?
fn metastability(scenario: &ScenarioResult, profile: &Profile) -> Option<ClaimVerdict> {
    let spikes: Vec<(System, &SpikeResult)> = scenario
        .systems
        .iter()
        .flat_map(|r| r.spikes.iter().map(move |s| (r.system, s)))
        .collect();
    if spikes.is_empty() {
        return None;
    }
    let each = |what: &dyn Fn(&SpikeResult) -> Option<String>| {
        spikes
            .iter()
            .filter_map(|(system, s)| Some(format!("{} in {}", what(s)?, spike_name(*system, s))))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let timing = &profile.spike;
    let mut line = format!(
        "after {:.0} req/s for {} s over {:.0} req/s, goodput came back {}; goodput during the spike {}",
        timing.spike,
        timing.during.as_secs(),
        timing.normal,
        each(&|s| Some(match s.recovered_after_s {
            Some(after) => format!("{after:.1} s after"),
            None => "never".to_owned(),
        })),
        each(&|s| Some(format!("{:.1}%", s.during.goodput * 100.0))),
    );
    let calls = each(&|s| {
        s.calls_per_request
            .map(|c| format!("{:.2} before, {:.2} during", c.before, c.during))
    });
    if !calls.is_empty() {
        line.push_str(&format!("; internal calls per request {calls}"));
    }
    // The monolith against the split build as the run's topology deploys it (its first
    // spike); the other preset is evidence beside.
    let monolith = spikes
        .iter()
        .find(|(system, _)| *system == System::Monolith);
    let split = spikes.iter().find(|(system, _)| *system == System::Split);
    let favours = match (monolith, split) {
        (Some((a, x)), Some((b, y))) => {
            let recovery = |s: &SpikeResult| s.recovered_after_s.unwrap_or(f64::INFINITY);
            if (recovery(x) - recovery(y)).abs() > RECOVERY_MARGIN_S {
                Some(if recovery(x) < recovery(y) { *a } else { *b })
            } else if (x.during.goodput - y.during.goodput).abs() > AVAILABILITY_MARGIN {
                Some(if x.during.goodput > y.during.goodput {
                    *a
                } else {
                    *b
                })
            } else {
                None
            }
        }
        _ => None,
    };
    Some(ClaimVerdict {
        claim: "reliability".to_owned(),
        scenario: scenario.scenario,
        favours,
        line,
        failed: false,
    })
}

/// The diversify scenario's table: each component's CPU per request and each
/// endpoint's p50, before and after the switch.
fn diversify_table(run: &Run) -> String {
    let mut out = String::new();
    for found in run
        .scenarios
        .iter()
        .flat_map(|s| s.systems.iter().filter_map(|r| r.diversify.as_ref()))
    {
        out.push_str(&format!(
            "\ndiversify ({}; medians of {} turns each, in alternation):\n",
            found.change,
            found
                .turns
                .iter()
                .filter(|t| !t.measurement.retried)
                .count()
                / 2
        ));
        out.push_str(&format!(
            "{:<22} {:>10} {:>10} {:>9} {:>9}\n",
            "CPU-us/req", "as is", "switched", "change", "noise"
        ));
        let row = |m: &Moved| {
            format!(
                "{:<22} {:>10.1} {:>10.1} {:>9} {:>8.1}%\n",
                m.name,
                m.a,
                m.b,
                m.change
                    .map_or("-".to_owned(), |c| format!("{:.1}%", c * 100.0)),
                m.noise * 100.0
            )
        };
        for m in &found.components {
            out.push_str(&row(m));
        }
        out.push_str(&format!(
            "{:<22} {:>10} {:>10} {:>9} {:>9}\n",
            "p50 ms", "as is", "switched", "change", "noise"
        ));
        for m in &found.endpoints {
            out.push_str(&row(m));
        }
    }
    out
}

/// How far apart two projected costs must be to favour one side (a share of the
/// larger): the projection multiplies the measured demand, noise included.
const COST_MARGIN: f64 = 0.05;

/// The scale-hot scenario's verdict: what scaling the hot part held, and what each
/// architecture would cost at 100 times the load.
fn scalability(scenario: &ScenarioResult) -> Option<ClaimVerdict> {
    let results: Vec<(System, &ScaleResult)> = scenario
        .systems
        .iter()
        .filter_map(|r| Some((r.system, r.scale.as_ref()?)))
        .collect();
    let (_, first) = results.first()?;
    let each = |what: &dyn Fn(&ScaleResult) -> String| {
        results
            .iter()
            .map(|(system, r)| format!("{} in {}", what(r), system.name()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let rate = |knee: Option<f64>| knee.map_or("-".to_owned(), |k| format!("{k:.0}"));
    let per = |value: Option<f64>| value.map_or("-".to_owned(), |v| format!("{v:.0}"));
    let largest = |r: &ScaleResult| r.projection.last().cloned();
    let mut line = format!(
        "mix {}: knee {} req/s; per core {}; per GB of memory {}",
        first.mix,
        each(&|r| format!(
            "{} -> {} scaled",
            rate(r.base_efficiency.knee),
            rate(r.scaled_efficiency.knee)
        )),
        each(&|r| format!(
            "{} -> {}",
            per(r.base_efficiency.per_core),
            per(r.scaled_efficiency.per_core)
        )),
        each(&|r| format!(
            "{} -> {}",
            per(r.base_efficiency.per_gb),
            per(r.scaled_efficiency.per_gb)
        )),
    );
    if let Some(sized) = largest(first) {
        line.push_str(&format!(
            "; sized for {:.0} req/s ({:.0}x the lower knee): {}",
            sized.rate,
            sized.factor,
            each(&|r| match largest(r) {
                Some(s) => format!(
                    "{:.0} cores, {:.1} GB, {:.2}/h",
                    s.cores, s.memory_gb, s.cost_per_hour
                ),
                None => "-".to_owned(),
            })
        ));
    }
    let favours = match results.as_slice() {
        [(a, x), (b, y)] => match (largest(x), largest(y)) {
            (Some(sx), Some(sy))
                if (sx.cost_per_hour - sy.cost_per_hour).abs()
                    > COST_MARGIN * sx.cost_per_hour.max(sy.cost_per_hour) =>
            {
                Some(if sx.cost_per_hour < sy.cost_per_hour {
                    *a
                } else {
                    *b
                })
            }
            _ => None,
        },
        _ => None,
    };
    Some(ClaimVerdict {
        claim: "scalability".to_owned(),
        scenario: scenario.scenario,
        favours,
        line,
        failed: false,
    })
}

/// The scale-hot scenario's tables, for the terminal: the ramps, then the projection.
fn scale_table(run: &Run) -> String {
    let mut out = String::new();
    for scenario in &run.scenarios {
        let rows: Vec<(System, &ScaleResult)> = scenario
            .systems
            .iter()
            .filter_map(|r| Some((r.system, r.scale.as_ref()?)))
            .collect();
        let Some((_, first)) = rows.first() else {
            continue;
        };
        out.push_str(&format!(
            "\n{} (mix {}):\n",
            scenario.scenario.name(),
            first.mix
        ));
        out.push_str(&format!(
            "{:<10} {:<8} {:>9} {:>10} {:>9} {:>9}\n",
            "system", "shape", "processes", "knee req/s", "per core", "per GB"
        ));
        let figure = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.0}"));
        for (system, r) in &rows {
            for (shape, e) in [
                ("one", &r.base_efficiency),
                ("scaled", &r.scaled_efficiency),
            ] {
                out.push_str(&format!(
                    "{:<10} {:<8} {:>9} {:>10} {:>9} {:>9}\n",
                    system.name(),
                    shape,
                    e.processes,
                    figure(e.knee),
                    figure(e.per_core),
                    figure(e.per_gb),
                ));
            }
        }
        out.push_str(&format!(
            "{:<10} {:>7} {:>10} {:>7} {:>9} {:>9}  {}\n",
            "system", "factor", "req/s", "cores", "GB", "per hour", "replicas"
        ));
        for (system, r) in &rows {
            for s in &r.projection {
                out.push_str(&format!(
                    "{:<10} {:>6.0}x {:>10.0} {:>7.0} {:>9.1} {:>9.2}  {}\n",
                    system.name(),
                    s.factor,
                    s.rate,
                    s.cores,
                    s.memory_gb,
                    s.cost_per_hour,
                    s.replicas
                        .iter()
                        .map(|(part, n)| format!("{part} {n}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        let m = &first.model;
        out.push_str(&format!(
            "  (factor: of {} req/s, the lower knee on one replica; sized from each part's CPU per request and memory per replica at the scaled knee; {:.0}% target utilization, {} core a replica, {} a core-hour, {} a GB-hour)\n",
            first.reference_rate.map_or("-".to_owned(), |r| format!("{r:.0}")),
            m.target_utilization * 100.0,
            m.cores_per_replica,
            m.price_core_hour,
            m.price_gb_hour
        ));
    }
    out
}

/// The rolling-deploy scenario's verdict: what releasing catalog cost each side.
fn deployment(scenario: &ScenarioResult) -> Option<ClaimVerdict> {
    let rollouts: Vec<(System, &RolloutResult)> = scenario
        .systems
        .iter()
        .filter_map(|r| Some((r.system, r.rollout.as_ref()?)))
        .collect();
    let (_, first) = rollouts.first()?;
    let each = |what: &dyn Fn(&RolloutResult) -> String| {
        rollouts
            .iter()
            .map(|(system, r)| format!("{} in {}", what(r), system.name()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut line = format!(
        "rolling release {} of catalog: {}; rollout {}; requests failed {}; p99 while rolling {}; \
         cold start (median) {}",
        first.rollout.release,
        each(&|r| format!(
            "{} processes ({})",
            r.rollout.replacements.len(),
            r.rollout
                .replacements
                .iter()
                .map(|p| p.process.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
        each(&|r| format!(
            "{:.1} s{}",
            r.rollout.duration_s,
            if r.rollout.overran {
                " (past its budget)"
            } else {
                ""
            }
        )),
        each(&|r| r.impact.failed.to_string()),
        each(&|r| format!("{:.1} ms (before {:.1})", r.p99_during_ms, r.p99_before_ms)),
        each(&|r| format!("{:.0} ms", median_cold_start(r))),
    );
    let failed = rollouts.iter().any(|(_, r)| !r.audit.passed());
    line.push_str("; audit: ");
    line.push_str(&each(&|r| audit_words(&r.audit)));
    // Fewer requests lost first; then a rollout shorter by more than the margin.
    let favours = match rollouts.as_slice() {
        [(a, x), (b, y)] => {
            let (ax, ay) = (
                x.impact.dependent_during.availability,
                y.impact.dependent_during.availability,
            );
            let (dx, dy) = (x.rollout.duration_s, y.rollout.duration_s);
            if (ax - ay).abs() > AVAILABILITY_MARGIN {
                Some(if ax > ay { *a } else { *b })
            } else if (dx - dy).abs() > RECOVERY_MARGIN_S {
                Some(if dx < dy { *a } else { *b })
            } else {
                None
            }
        }
        _ => None,
    };
    Some(ClaimVerdict {
        claim: "deployment".to_owned(),
        scenario: scenario.scenario,
        favours,
        line,
        failed,
    })
}

/// The median of a rollout's cold starts, in milliseconds.
fn median_cold_start(rollout: &RolloutResult) -> f64 {
    let mut starts: Vec<f64> = rollout
        .rollout
        .replacements
        .iter()
        .map(|r| r.cold_start_ms)
        .collect();
    starts.sort_by(f64::total_cmp);
    match starts.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => starts[n / 2],
        n => (starts[n / 2 - 1] + starts[n / 2]) / 2.0,
    }
}

/// The rolling-deploy scenario's table, for the terminal.
fn rollout_table(run: &Run) -> String {
    let mut out = String::new();
    for scenario in &run.scenarios {
        let rows: Vec<(System, &RolloutResult)> = scenario
            .systems
            .iter()
            .filter_map(|r| Some((r.system, r.rollout.as_ref()?)))
            .collect();
        if rows.is_empty() {
            continue;
        }
        out.push_str(&format!("\n{}:\n", scenario.scenario.name()));
        out.push_str(&format!(
            "{:<10} {:>9} {:>10} {:>7} {:>8} {:>12} {:>13} {:>13}  {}\n",
            "system",
            "processes",
            "rollout s",
            "failed",
            "worst s",
            "p99 before",
            "p99 rolling",
            "cold start",
            "audit"
        ));
        for (system, r) in rows {
            out.push_str(&format!(
                "{:<10} {:>9} {:>10.1} {:>7} {:>7.1}% {:>9.1} ms {:>10.1} ms {:>10.0} ms  {}\n",
                system.name(),
                r.rollout.replacements.len(),
                r.rollout.duration_s,
                r.impact.failed,
                r.impact.worst_second * 100.0,
                r.p99_before_ms,
                r.p99_during_ms,
                median_cold_start(r),
                if r.audit.passed() { "clean" } else { "FAILED" },
            ));
        }
    }
    if !out.is_empty() {
        out.push_str("  (cold start: the median from starting a process to its readiness)\n");
    }
    out
}

/// The metastable scenario's table, for the terminal.
fn spike_table(run: &Run) -> String {
    let mut out = String::new();
    for scenario in &run.scenarios {
        let spikes: Vec<(System, &SpikeResult)> = scenario
            .systems
            .iter()
            .flat_map(|r| r.spikes.iter().map(move |s| (r.system, s)))
            .collect();
        if spikes.is_empty() {
            continue;
        }
        let timing = &run.profile.spike;
        out.push_str(&format!(
            "
{} ({:.0} req/s, {:.0} for {} s, {:.0} again; goodput = answered within {:.0} ms):
",
            scenario.scenario.name(),
            timing.normal,
            timing.spike,
            timing.during.as_secs(),
            timing.normal,
            run.profile.slo.as_secs_f64() * 1e3,
        ));
        out.push_str(&format!(
            "{:<18} {:>10} {:>10} {:>10} {:>10} {:>16}
",
            "system", "before", "spike", "after", "back in s", "calls/req b/s/a"
        ));
        for (system, s) in &spikes {
            out.push_str(&format!(
                "{:<18} {:>9.1}% {:>9.1}% {:>9.1}% {:>10} {:>16}
",
                spike_name(*system, s),
                s.before.goodput * 100.0,
                s.during.goodput * 100.0,
                s.after.goodput * 100.0,
                s.recovered_after_s
                    .map_or("never".to_owned(), |t| format!("{t:.1}")),
                s.calls_per_request.map_or("-".to_owned(), |c| format!(
                    "{:.2}/{:.2}/{:.2}",
                    c.before, c.during, c.after
                )),
            ));
        }
    }
    out
}

/// The replica-loss scenario's verdict: how deep and how long the error spike of
/// losing one replica of several was, and were the books kept?
fn replica_loss(scenario: &ScenarioResult) -> Option<ClaimVerdict> {
    let outcomes: Vec<(System, &OutageResult)> = scenario
        .systems
        .iter()
        .filter_map(|r| Some((r.system, r.outage.as_ref()?)))
        .filter(|(_, o)| o.outage.fleet.is_some())
        .collect();
    let (_, first) = outcomes.first()?;
    let each = |what: &dyn Fn(&OutageResult) -> String| {
        outcomes
            .iter()
            .map(|(system, o)| format!("{} in {}", what(o), system.name()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut line = format!(
        "after the {}, requests failed {}; the worst second answered {}; \
         endpoints broken {}; back to normal {}",
        fault_words(first),
        each(&|o| o.impact.failed.to_string()),
        each(&|o| format!("{:.1}%", o.impact.worst_second * 100.0)),
        each(&|o| {
            format!(
                "{}/{}",
                o.impact.blast_radius.broken.len(),
                o.impact.blast_radius.endpoints
            )
        }),
        each(&|o| match o.impact.recovered_after_s {
            Some(s) => format!("{s:.1} s after the window"),
            None => "never".to_owned(),
        }),
    );
    let failed = outcomes.iter().any(|(_, o)| !o.audit.passed());
    line.push_str("; audit: ");
    line.push_str(&each(&|o| audit_words(&o.audit)));
    // Every endpoint needs the component whose replica went: all of them count.
    let favours = favoured(&outcomes, |o| o.impact.dependent_during.availability);
    Some(ClaimVerdict {
        claim: "reliability".to_owned(),
        scenario: scenario.scenario,
        favours,
        line,
        failed,
    })
}

/// The side whose `availability` during the fault is higher by more than the margin,
/// or else whose recovery is sooner by more than the margin; `None` for a tie or for
/// other than two sides.
fn favoured(
    outcomes: &[(System, &OutageResult)],
    availability: impl Fn(&OutageResult) -> f64,
) -> Option<System> {
    let [(a, x), (b, y)] = outcomes else {
        return None;
    };
    let (ax, ay) = (availability(x), availability(y));
    let recovery = |o: &OutageResult| o.impact.recovered_after_s.unwrap_or(f64::INFINITY);
    if (ax - ay).abs() > AVAILABILITY_MARGIN {
        Some(if ax > ay { *a } else { *b })
    } else if (recovery(x) - recovery(y)).abs() > RECOVERY_MARGIN_S {
        Some(if recovery(x) < recovery(y) { *a } else { *b })
    } else {
        None
    }
}

/// The partial-failure scenario's verdict: did the failure stay local, and were the
/// books kept?
fn reliability(scenario: &ScenarioResult) -> Option<ClaimVerdict> {
    let outcomes: Vec<(System, &OutageResult)> = scenario
        .systems
        .iter()
        .filter_map(|r| Some((r.system, r.outage.as_ref()?)))
        .collect();
    let (_, first) = outcomes.first()?;
    let component = first.outage.component();
    let each = |what: &dyn Fn(&OutageResult) -> String| {
        outcomes
            .iter()
            .map(|(system, o)| format!("{} in {}", what(o), system.name()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let percent = |share: f64| format!("{:.1}%", share * 100.0);
    let mut line = format!(
        "during the {} ({:.1} s), endpoints that do not need {component} answered {}; \
         endpoints broken {}; down (under 10% answered) {}; back to normal {}",
        fault_words(first),
        first.window.to_s - first.window.from_s,
        each(&|o| percent(o.impact.independent_during.availability)),
        each(&|o| {
            format!(
                "{}/{}",
                o.impact.blast_radius.broken.len(),
                o.impact.blast_radius.endpoints
            )
        }),
        each(&|o| format!("{} s", o.impact.down_seconds)),
        each(&|o| match o.impact.recovered_after_s {
            Some(s) => format!("{s:.1} s after"),
            None => "never".to_owned(),
        }),
    );
    let failed = outcomes.iter().any(|(_, o)| !o.audit.passed());
    line.push_str("; audit: ");
    line.push_str(&each(&|o| audit_words(&o.audit)));

    let favours = favoured(&outcomes, |o| o.impact.independent_during.availability);
    Some(ClaimVerdict {
        claim: "reliability".to_owned(),
        scenario: scenario.scenario,
        favours,
        line,
        failed,
    })
}

/// The fault, in words: "payments crash", "recommendations hang".
pub(crate) fn fault_words(outcome: &OutageResult) -> String {
    use crate::faults::Injection;
    use shop_faults::Fault;
    let component = outcome.outage.component();
    match &outcome.outage.injection {
        Injection::Component { fault, .. } => match fault {
            Fault::Abort => format!("{component} crash"),
            Fault::AbortAfter => format!("{component} crash after its work"),
            Fault::Hang => format!("{component} hang"),
            Fault::Slow {
                latency_ms,
                jitter_ms,
            } => format!(
                "{component} slowdown ({latency_ms}-{} ms)",
                latency_ms + jitter_ms
            ),
            Fault::Fail { rate } => format!("{component} errors ({:.0}%)", rate * 100.0),
            Fault::BurnCpu { cpu_ms } => format!("{component} CPU burn ({cpu_ms} ms a call)"),
            Fault::Tax { share } => format!("{component} {:.0}% slower", share * 100.0),
            Fault::Leak { kb_per_call, .. } => {
                format!("{component} memory leak ({kb_per_call} KiB a call)")
            }
        },
        Injection::Kill { .. } => match outcome.outage.fleet {
            Some(replicas) => format!(
                "kill of one of {replicas} replicas ({component}'s in split, a whole monolith in the monolith)"
            ),
            None => format!("kill of {component}'s process"),
        },
        Injection::Freeze { .. } => format!("freeze of {component}'s process"),
        Injection::Link { .. } | Injection::Squeeze { .. } => {
            format!("{}", outcome.outage.injection)
        }
    }
}

pub(crate) fn audit_words(audit: &AuditOutcome) -> String {
    match (&audit.error, audit.violations.as_slice()) {
        (Some(error), _) => format!("NOT RUN ({error})"),
        (None, []) => format!("clean ({} orders)", audit.acknowledged),
        (None, [first, ..]) => format!("{} VIOLATIONS (first: {first})", audit.violations.len()),
    }
}

/// The partial-failure, metastable and diversify scenarios side by side, then each
/// claim's verdict.
pub fn tables(run: &Run) -> String {
    let mut out = String::new();
    for scenario in &run.scenarios {
        let rows: Vec<(System, &OutageResult)> = scenario
            .systems
            .iter()
            .filter_map(|r| Some((r.system, r.outage.as_ref()?)))
            .collect();
        let Some((_, first)) = rows.first() else {
            continue;
        };
        out.push_str(&format!(
            "\n{} ({} for {:.1} s{}):\n",
            scenario.scenario.name(),
            fault_words(first),
            first.window.to_s - first.window.from_s,
            if first.outage.rearm {
                ", again after each restart"
            } else {
                ""
            }
        ));
        out.push_str(&format!(
            "{:<10} {:>12} {:>12} {:>8} {:>10} {:>7} {:>7} {:>9} {:>9} {:>7}  {}\n",
            "system",
            "others ok",
            "needing ok",
            "broken",
            "collateral",
            "failed",
            "worst s",
            "detect s",
            "recover s",
            "down s",
            "audit"
        ));
        let seconds = |s: Option<f64>| s.map_or("never".to_owned(), |s| format!("{s:.1}"));
        for (system, o) in &rows {
            let impact = &o.impact;
            out.push_str(&format!(
                "{:<10} {:>11.1}% {:>11.1}% {:>8} {:>10} {:>7} {:>6.1}% {:>9} {:>9} {:>7}  {}\n",
                system.name(),
                impact.independent_during.availability * 100.0,
                impact.dependent_during.availability * 100.0,
                format!(
                    "{}/{}",
                    impact.blast_radius.broken.len(),
                    impact.blast_radius.endpoints
                ),
                impact.blast_radius.collateral.len(),
                impact.failed,
                impact.worst_second * 100.0,
                seconds(impact.detected_after_s),
                seconds(impact.recovered_after_s),
                impact.down_seconds,
                audit_words(&o.audit),
            ));
        }
    }
    if !out.is_empty() {
        out.push_str(
            "  (others / needing ok: success share during the fault of the endpoints that do not / do need the component; failed: requests from the injection on; worst s: the lowest success share of a second)\n",
        );
    }
    out.push_str(&scale_table(run));
    out.push_str(&rollout_table(run));
    out.push_str(&spike_table(run));
    out.push_str(&diversify_table(run));
    for verdict in &run.claims {
        out.push_str(&format!(
            "{}{} ({}): {}{}\n",
            if verdict.failed { "FAILED " } else { "" },
            verdict.claim,
            verdict.scenario.name(),
            verdict.line,
            match verdict.favours {
                Some(system) => format!(" -> favours {}", system.name()),
                None => " -> no difference".to_owned(),
            }
        ));
    }
    out
}
