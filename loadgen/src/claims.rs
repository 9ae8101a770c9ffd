//! The article's claims, judged from what a run measured: one verdict per scenario
//! that tests a claim, in a line with the numbers behind it, whichever way it falls.
//! Only what the run has evidence for gets a line.
//!
//! - [`verdicts`]: the lines, kept in `run.json`.
//! - [`outage_table`]: the partial-failure scenarios side by side, for the terminal.

use serde::Serialize;

use crate::deploy::System;
use crate::partial_failure::OutageResult;
use crate::results::{Run, ScenarioResult};
use crate::scenarios::Scenario;

/// One claim, judged on one scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    run.scenarios.iter().filter_map(reliability).collect()
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
    line.push_str(&each(&|o| audit_words(o)));

    let favours = match outcomes.as_slice() {
        [(a, x), (b, y)] => {
            let (ax, ay) = (
                x.impact.independent_during.availability,
                y.impact.independent_during.availability,
            );
            let recovery = |o: &OutageResult| o.impact.recovered_after_s.unwrap_or(f64::INFINITY);
            if (ax - ay).abs() > AVAILABILITY_MARGIN {
                Some(if ax > ay { *a } else { *b })
            } else if (recovery(x) - recovery(y)).abs() > RECOVERY_MARGIN_S {
                Some(if recovery(x) < recovery(y) { *a } else { *b })
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
        failed,
    })
}

/// The fault, in words: "payments crash", "recommendations hang".
fn fault_words(outcome: &OutageResult) -> String {
    use crate::faults::Injection;
    use shop_faults::Fault;
    let component = outcome.outage.component();
    match &outcome.outage.injection {
        Injection::Component { fault, .. } => match fault {
            Fault::Abort => format!("{component} crash"),
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
            Fault::Leak { kb_per_call, .. } => {
                format!("{component} memory leak ({kb_per_call} KiB a call)")
            }
        },
        Injection::Kill { .. } => format!("kill of {component}'s process"),
        Injection::Freeze { .. } => format!("freeze of {component}'s process"),
        Injection::Link { .. } | Injection::Squeeze { .. } => {
            format!("{}", outcome.outage.injection)
        }
    }
}

fn audit_words(outcome: &OutageResult) -> String {
    let audit = &outcome.audit;
    match (&audit.error, audit.violations.as_slice()) {
        (Some(error), _) => format!("NOT RUN ({error})"),
        (None, []) => format!("clean ({} orders)", audit.acknowledged),
        (None, [first, ..]) => format!("{} VIOLATIONS (first: {first})", audit.violations.len()),
    }
}

/// The partial-failure scenarios side by side, with each claim's verdict.
pub fn outage_table(run: &Run) -> String {
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
            "{:<10} {:>12} {:>12} {:>8} {:>10} {:>9} {:>9} {:>7}  {}\n",
            "system",
            "others ok",
            "needing ok",
            "broken",
            "collateral",
            "detect s",
            "recover s",
            "down s",
            "audit"
        ));
        let seconds = |s: Option<f64>| s.map_or("never".to_owned(), |s| format!("{s:.1}"));
        for (system, o) in &rows {
            let impact = &o.impact;
            out.push_str(&format!(
                "{:<10} {:>11.1}% {:>11.1}% {:>8} {:>10} {:>9} {:>9} {:>7}  {}\n",
                system.name(),
                impact.independent_during.availability * 100.0,
                impact.dependent_during.availability * 100.0,
                format!(
                    "{}/{}",
                    impact.blast_radius.broken.len(),
                    impact.blast_radius.endpoints
                ),
                impact.blast_radius.collateral.len(),
                seconds(impact.detected_after_s),
                seconds(impact.recovered_after_s),
                impact.down_seconds,
                audit_words(o),
            ));
        }
    }
    if !out.is_empty() {
        out.push_str(
            "  (others / needing ok: success share during the fault of the endpoints that do not / do need the component)\n",
        );
    }
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
