//! The verdicts table: one row per claim the run has evidence for (a claim tested by
//! several scenarios gets a row for each), then one for the price. Each row gives the
//! figure that decided it for both architectures, which one it favours, the verdict in
//! words, and what the figure cannot say.

use std::collections::BTreeMap;

use crate::claims::ClaimVerdict;
use crate::deploy::System;
use crate::measure::{Measurement, Verdict};
use crate::results::{Run, ScenarioResult, SystemResult};
use crate::scenarios::Scenario;

use super::page::{number, percent};

/// One row of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// `reliability`, ..., `price`.
    pub claim: String,
    pub scenario: String,
    /// What the figures are.
    pub decided_by: String,
    /// The deciding figure per architecture.
    pub figures: BTreeMap<System, String>,
    pub favours: Option<System>,
    pub line: String,
    pub failed: bool,
    pub caveat: String,
}

/// The claims' rows in the run's order, then the price's.
pub fn rows(run: &Run) -> Vec<Row> {
    let mut rows: Vec<Row> = run
        .claims
        .iter()
        .filter_map(|verdict| {
            let scenario = run
                .scenarios
                .iter()
                .find(|s| s.scenario == verdict.scenario)?;
            Some(claim_row(run, verdict, scenario))
        })
        .collect();
    rows.extend(price_row(run));
    rows
}

/// The figure of one system that decided a verdict.
type DecidingFigure = fn(&SystemResult) -> Option<String>;

fn claim_row(run: &Run, verdict: &ClaimVerdict, scenario: &ScenarioResult) -> Row {
    let (decided_by, figure): (&str, DecidingFigure) = match scenario.scenario {
        Scenario::ReplicaLoss => (
            "requests failed after one of 3 replicas was killed; the worst second's success share",
            (|r| {
                let i = &r.outage.as_ref()?.impact;
                Some(format!(
                    "{} failed; worst second {}",
                    i.failed,
                    percent(Some(i.worst_second))
                ))
            }),
        ),
        Scenario::RollingDeploy => (
            "requests failed while a new release rolled through; the rollout's length",
            (|r| {
                let o = r.rollout.as_ref()?;
                Some(format!(
                    "{} failed; {} s",
                    o.impact.failed,
                    number(Some(o.rollout.duration_s), 1)
                ))
            }),
        ),
        Scenario::ScaleHot => (
            "cost of serving 100x the lower one-replica knee, from measured demand",
            (|r| {
                let s = r.scale.as_ref()?.projection.last()?;
                Some(format!(
                    "${}/h ({} cores, {} GB)",
                    number(Some(s.cost_per_hour), 2),
                    number(Some(s.cores), 0),
                    number(Some(s.memory_gb), 1)
                ))
            }),
        ),
        Scenario::Metastable => (
            "seconds to recover goodput after the spike",
            (|r| {
                let words: Vec<String> = r
                    .spikes
                    .iter()
                    .map(|s| {
                        let after = if s.never_recovered {
                            "never".to_owned()
                        } else {
                            format!("{} s", number(s.recovered_after_s, 0))
                        };
                        match s.preset {
                            Some(preset) => format!("{}: {after}", preset.name()),
                            None => after,
                        }
                    })
                    .collect();
                (!words.is_empty()).then(|| words.join("; "))
            }),
        ),
        Scenario::Diversify => (
            "CPU per request of the switched service, change after the switch",
            (|r| {
                let d = r.diversify.as_ref()?;
                let own = d
                    .components
                    .iter()
                    .find(|c| c.name == d.service.to_string())?;
                Some(format!(
                    "{} ({} -> {} us)",
                    own.change
                        .map_or("-".to_owned(), |c| format!("{:+.1}%", c * 100.0)),
                    number(Some(own.a), 1),
                    number(Some(own.b), 1)
                ))
            }),
        ),
        _ => (
            "success share, during the fault, of the endpoints that do not need the component; requests failed",
            (|r| {
                let i = &r.outage.as_ref()?.impact;
                Some(format!(
                    "{}; {} failed",
                    percent(Some(i.independent_during.availability)),
                    i.failed
                ))
            }),
        ),
    };
    let figures = scenario
        .systems
        .iter()
        .filter_map(|r| Some((r.system, figure(r)?)))
        .collect();
    Row {
        claim: verdict.claim.clone(),
        scenario: scenario.scenario.name().to_owned(),
        decided_by: decided_by.to_owned(),
        figures,
        favours: verdict.favours,
        line: verdict.line.clone(),
        failed: verdict.failed,
        caveat: caveat(run, scenario.scenario),
    }
}

/// What a scenario's figures cannot say, on this run's machine.
fn caveat(run: &Run, scenario: Scenario) -> String {
    let cores = run.environment.cores;
    match scenario {
        Scenario::ReplicaLoss => format!(
            "Replicas share one machine ({cores} cores): a process dies, not a host. The balancer does not retry, so requests in flight on the killed replica fail."
        ),
        Scenario::RollingDeploy => "The new release starts on the same machine from a binary already on disk: no image pull, no scheduling.".to_owned(),
        Scenario::ScaleHot => {
            let model = run
                .scenarios
                .iter()
                .flat_map(|s| &s.systems)
                .find_map(|r| r.scale.as_ref().map(|s| s.model));
            match model {
                Some(m) => format!(
                    "{cores} cores: figures past 2 replicas are projected by the cost model ({:.0}% target utilization, ${}/core-hour, ${}/GB-hour), not measured.",
                    m.target_utilization * 100.0,
                    m.price_core_hour,
                    m.price_gb_hour
                ),
                None => format!("{cores} cores: figures past 2 replicas are projected, not measured."),
            }
        }
        Scenario::Metastable => "One spike, one machine: the split build's retries are measured with its presets, not tuned.".to_owned(),
        Scenario::Diversify => "One wire format in one service; the monolith has no wire to switch, so only split has a figure.".to_owned(),
        _ => format!(
            "One machine ({cores} cores), loopback network: a fault in a process, not a host or a zone."
        ),
    }
}

/// The price: latency, CPU and memory per request at the highest rate both
/// architectures kept in `capacity`. It favours the architecture whose CPU per request
/// is at least [`PRICE_MARGIN`] lower.
fn price_row(run: &Run) -> Option<Row> {
    let (common, steps) = at_common_rate(run)?;
    let mut cpu = BTreeMap::new();
    let mut figures = BTreeMap::new();
    for (system, step) in steps {
        if let Some(c) = step.cost.sut_cpu_us_per_request {
            cpu.insert(system, c);
        }
        figures.insert(
            system,
            format!(
                "p50 {} ms, p99 {} ms; {} CPU-us/req; {} MB",
                number(Some(step.overall.corrected.p50_ms), 2),
                number(Some(step.overall.corrected.p99_ms), 2),
                number(step.cost.sut_cpu_us_per_request, 0),
                number(Some(step.cost.sut_peak_rss_mb), 0)
            ),
        );
    }
    let favours = match (cpu.get(&System::Monolith), cpu.get(&System::Split)) {
        (Some(&m), Some(&s)) if m <= s * (1.0 - PRICE_MARGIN) => Some(System::Monolith),
        (Some(&m), Some(&s)) if s <= m * (1.0 - PRICE_MARGIN) => Some(System::Split),
        _ => None,
    };
    let line = match (cpu.get(&System::Monolith), cpu.get(&System::Split)) {
        (Some(m), Some(s)) if *m > 0.0 => format!(
            "split spends {:.2}x the monolith's CPU per request at {} req/s",
            s / m,
            number(Some(common), 0)
        ),
        _ => "no CPU figure for both".to_owned(),
    };
    Some(Row {
        claim: "price".to_owned(),
        scenario: "capacity".to_owned(),
        decided_by: format!(
            "corrected latency, CPU and peak memory of the whole system at {} req/s, the highest rate both kept",
            number(Some(common), 0)
        ),
        figures,
        favours,
        line,
        failed: false,
        caveat: format!(
            "Favours the side using {:.0}% less CPU per request, if either. Both run on the same {} core(s){}; hop latency is loopback's.",
            PRICE_MARGIN * 100.0,
            run.cores.system_under_test.len(),
            if run.cores.pinned {
                ", pinned"
            } else {
                ", not pinned: the generator shared them"
            }
        ),
    })
}

/// How much less CPU per request the price favours.
pub const PRICE_MARGIN: f64 = 0.1;

/// The highest step rate every system kept in a ramp scenario.
pub fn common_rate(scenario: &ScenarioResult) -> Option<f64> {
    let knees: Vec<f64> = scenario
        .systems
        .iter()
        .filter_map(|r| r.ramp.as_ref()?.knee)
        .collect();
    knees.iter().copied().min_by(f64::total_cmp)
}

/// The kept step whose intended rate is nearest `rate`.
pub fn step_near(steps: &[Measurement], rate: f64) -> Option<&Measurement> {
    steps
        .iter()
        .filter(|m| m.verdict == Verdict::Kept && !m.retried)
        .min_by(|a, b| {
            (a.intended_rate - rate)
                .abs()
                .total_cmp(&(b.intended_rate - rate).abs())
        })
}

/// The capacity scenario's common rate ([`common_rate`]) and each system's kept step
/// nearest it: what the price, the spectrum and the cost per component compare. `None`
/// without a capacity scenario or a rate every system kept.
pub fn at_common_rate(run: &Run) -> Option<(f64, Vec<(System, &Measurement)>)> {
    let capacity = run
        .scenarios
        .iter()
        .find(|s| s.scenario == Scenario::Capacity)?;
    let common = common_rate(capacity)?;
    let steps = capacity
        .systems
        .iter()
        .filter_map(|r| Some((r.system, step_near(&r.ramp.as_ref()?.steps, common)?)))
        .collect();
    Some((common, steps))
}
