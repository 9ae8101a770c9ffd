//! `loadgen check`: the regression gate a pipeline runs on a finished run. It passes or
//! fails each gate, writes a Markdown summary (for a CI job's summary page) to stdout
//! and to `check.md` beside `run.json`, and exits 0 when every gate passed, 1 when one
//! failed.
//!
//! # Layout
//!
//! - [`hard`]: the gates with no tolerance: a valid run, every consistency invariant,
//!   no process exit the scenario did not cause.
//! - [`figures`]: the performance figures, ratios of two measurements of the same
//!   round of the interleaved scenario, one value per round.
//! - [`stats`]: the change of a figure's median and its bootstrap interval.
//! - [`baseline`]: the baseline file (`loadgen baseline`), each figure's tolerance from
//!   its runs' spread, and the verdict on each figure of a run.
//!
//! # The performance gate
//!
//! A figure regresses when its median over the run's rounds is worse than the
//! baseline's by more than its tolerance, and the better end of its 90% bootstrap
//! interval is still worse (not one round's luck). The tolerance is where the median of
//! one more clean run would stay: the one-sided prediction bound from the baseline
//! runs' medians (Student's t), at the level that shares [`baseline::RUN_FALSE_ALARM`]
//! among the figures, and at least [`baseline::MIN_TOLERANCE`]. A regression in a
//! component's figure names the component; a component's time includes the calls it
//! makes to others, so a caller that moved with a component it calls is said to have
//! moved with it, not named. Against a baseline from another machine class, the
//! figures are shown and not judged: ratios travel better than absolute figures, not
//! perfectly.

pub mod baseline;
pub mod figures;
pub mod hard;
pub mod stats;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Result, ensure};
use shop_domain::Component;

pub use self::baseline::{Baseline, Judged, Verdict};
pub use self::hard::{Gate, hard_gates};
use crate::results::Run;

/// What the performance gate found.
#[derive(Debug, Clone)]
pub struct Performance {
    pub gate: Gate,
    /// Every figure compared, in the baseline's order.
    pub judged: Vec<Judged>,
    pub baseline: Baseline,
}

/// The performance gate of `run` against `baseline`. Fails on a regression; a figure
/// the run lacks or cannot compare fails it too (a gate that silently measured less is
/// not a pass), as does a run with no interleaved turns at all (one that stopped early).
pub fn performance(run: &Run, baseline: Baseline) -> Performance {
    let found = figures::figures(run);
    let (judged, missing) = baseline::judge(&baseline, &found);
    let comparable = baseline.same_machine(run);
    let regressed: BTreeSet<Component> = judged
        .iter()
        .filter(|j| j.verdict == Verdict::Regressed)
        .filter_map(|j| j.component)
        .collect();
    let mut findings: Vec<String> = judged
        .iter()
        .filter(|j| j.verdict == Verdict::Regressed)
        .map(|j| {
            let whose = match j.component {
                None => String::new(),
                Some(c) => match figures::callees(c).iter().find(|d| regressed.contains(d)) {
                    Some(callee) => format!(
                        "{c} moved with {callee}, which it calls (its time includes those calls): "
                    ),
                    None => format!("{c} got slower: "),
                },
            };
            format!(
                "{whose}{} is {} worse than the baseline (90% interval {} to {}; tolerance {})",
                j.name,
                percent(j.change.estimate),
                percent(j.change.low),
                percent(j.change.high),
                percent(j.tolerance)
            )
        })
        .collect();
    if found.is_empty() {
        findings.push(
            "the run has no interleaved turns (it stopped before them, or did not run the ci profile's scenarios): nothing was measured to judge".to_owned(),
        );
    } else {
        findings.extend(reference_mismatch(&baseline, run));
        findings.extend(missing);
    }
    let regressed = !findings.is_empty();
    if !comparable {
        findings.insert(
            0,
            format!(
                "not judged: the baseline ran on {} ({} cores), this run on {} ({} cores); refresh the baseline on this machine class",
                baseline.cpu_model,
                baseline.cores,
                run.environment.cpu_model,
                run.environment.cores
            ),
        );
    } else if !regressed {
        findings.push(format!(
            "{} figures within their tolerance of baseline {}",
            judged.len(),
            baseline.runs.join(", ")
        ));
    }
    Performance {
        gate: Gate {
            name: "no performance regression",
            passed: !comparable || !regressed,
            findings,
        },
        judged,
        baseline,
    }
}

/// Why the run's component figures cannot be the baseline's, when one of them compared
/// with a reference build and the other did not.
fn reference_mismatch(baseline: &Baseline, run: &Run) -> Option<String> {
    match (&baseline.reference, &run.environment.reference) {
        (Some(theirs), None) => Some(match &theirs.commit {
            Some(commit) => format!(
                "the baseline's runs compared each component with a reference build and this run had none: run it with `--reference {commit}`"
            ),
            None => "the baseline's runs compared each component with a reference build and this run had none: run it with `--reference REV`".to_owned(),
        }),
        (None, Some(_)) => Some(
            "this run compared each component with a reference build and the baseline's runs did not: make a baseline of runs with one (results/baseline/README.md)".to_owned(),
        ),
        _ => None,
    }
}

/// The gates' summary as Markdown: a headline, a table, each failure's findings, then
/// every performance figure.
pub fn markdown(run: &Run, gates: &[Gate], performance: Option<&Performance>) -> String {
    let failed = gates.iter().filter(|g| !g.passed).count();
    let mut out = String::new();
    let headline = if failed == 0 {
        format!("## loadgen check: passed ({} gates)", gates.len())
    } else {
        format!(
            "## loadgen check: FAILED ({failed} of {} gates)",
            gates.len()
        )
    };
    let _ = writeln!(out, "{headline}\n");
    let _ = writeln!(
        out,
        "Run `{}` (profile {}, commit `{}`).\n",
        run.run_id,
        crate::report::page::name_of(&run.profile.name),
        run.environment.git_commit.get(..10).unwrap_or("?")
    );
    if !run.environment.test_knobs.is_empty() {
        let _ = writeln!(
            out,
            "Test-only settings were on (the shop broken on purpose): `{}`.\n",
            run.environment.test_knobs.join("`, `")
        );
    }
    if let Some(reference) = &run.environment.reference {
        let _ = writeln!(
            out,
            "Each component was compared with the reference build {} in the same rounds.\n",
            match &reference.commit {
                Some(commit) => format!("`{}`", commit.get(..10).unwrap_or(commit)),
                None => format!("in `{}`", reference.bins.display()),
            }
        );
    }
    let _ = writeln!(out, "| gate | result | found |\n| --- | --- | --- |");
    for gate in gates {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            gate.name,
            if gate.passed { "pass" } else { "**FAIL**" },
            cell(gate.findings.first().map_or("", String::as_str))
        );
    }
    // Every finding of a failed gate, and of a passed one with more to say (an
    // advisory or unjudged performance gate lists what it would have failed on).
    for gate in gates.iter().filter(|g| !g.passed || g.findings.len() > 1) {
        let _ = writeln!(out, "\n### {}\n", gate.name);
        for finding in &gate.findings {
            let _ = writeln!(out, "- {}", finding.replace('\n', " "));
        }
    }
    match performance {
        Some(performance) => figures_table(&mut out, performance),
        None => {
            let _ = writeln!(
                out,
                "\nNo baseline given (`--baseline FILE`): performance was not judged."
            );
        }
    }
    out
}

fn figures_table(out: &mut String, performance: &Performance) {
    let baseline = &performance.baseline;
    let _ = writeln!(
        out,
        "\n### Performance figures\n\nEach is a ratio of two measurements of one round of the interleaved scenario; \
         the median over rounds against baseline `{}` (commits {}; runs {}). \
         Change is how much worse (negative: better), with its 90% bootstrap interval.\n",
        baseline.profile_name(),
        baseline
            .git_commits
            .iter()
            .map(|c| format!("`{}`", c.get(..10).unwrap_or("?")))
            .collect::<Vec<_>>()
            .join(", "),
        baseline.runs.join(", ")
    );
    let _ = writeln!(
        out,
        "| figure | baseline | this run | change | interval | tolerance | verdict |\n| --- | ---: | ---: | ---: | --- | ---: | --- |"
    );
    for j in &performance.judged {
        let verdict = match j.verdict {
            Verdict::Regressed => "**worse**",
            Verdict::Improved => "better",
            Verdict::Unchanged => "within noise",
        };
        let _ = writeln!(
            out,
            "| {} | {:.4} | {:.4} | {} | {} to {} | {} | {verdict} |",
            cell(&j.name),
            j.baseline,
            j.run,
            percent(j.change.estimate),
            percent(j.change.low),
            percent(j.change.high),
            percent(j.tolerance)
        );
    }
}

fn percent(fraction: f64) -> String {
    format!("{:+.1}%", fraction * 100.0)
}

/// A table cell: pipes escaped, one line.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// Runs the gates on `run` (the performance gate too when a `baseline` is given: see
/// [`read_fitting`]) and returns the Markdown summary and whether every gate passed.
///
/// `advisory` reports the performance gate without letting it fail the run.
pub fn check(run: &Run, baseline: Option<Baseline>, advisory: bool) -> (String, bool) {
    let mut gates = hard_gates(run);
    let performance = baseline.map(|baseline| {
        let mut performance = performance(run, baseline);
        if advisory {
            performance.gate.name = "no performance regression (advisory)";
            if !performance.gate.passed {
                performance.gate.passed = true;
                performance.gate.findings.insert(
                    0,
                    "advisory (--advisory): these would fail the gate; reported, not failed"
                        .to_owned(),
                );
            }
        }
        performance
    });
    gates.extend(performance.iter().map(|p| p.gate.clone()));
    let summary = markdown(run, &gates, performance.as_ref());
    (summary, gates.iter().all(|g| g.passed))
}

/// The baseline at `path`, if it can judge `run`: it reads, has figures, and is of the
/// run's profile (a run that stopped before its interleaved turns is judged, and fails).
pub fn read_fitting(path: &Path, run: &Run) -> Result<Baseline> {
    let baseline = Baseline::read(path)?;
    ensure!(
        !baseline.figures.is_empty(),
        "{} holds no figures: make it again with `loadgen baseline`",
        path.display()
    );
    ensure!(
        baseline.profile == run.profile.name,
        "the baseline is of the {} profile and run {} of the {} profile: their figures do not compare",
        baseline.profile_name(),
        run.run_id,
        crate::report::page::name_of(&run.profile.name)
    );
    Ok(baseline)
}
