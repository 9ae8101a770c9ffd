//! The hard gates: no tolerance, no baseline.
//! - the run is valid: the generator kept its schedule, nothing was interrupted;
//! - every consistency audit after a fault or a deploy passed;
//! - no process exited, restarted or failed to start unless its scenario crashed it.

use crate::results::Run;

/// One gate's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gate {
    pub name: &'static str,
    pub passed: bool,
    /// What it found: one line per reason it failed, or what it checked.
    pub findings: Vec<String>,
}

/// The hard gates of `run`, in the order the summary gives them.
pub fn hard_gates(run: &Run) -> Vec<Gate> {
    let mut valid = Vec::new();
    if run.interrupted {
        valid.push("the run was interrupted".to_owned());
    }
    valid.extend(run.invalid_because.iter().cloned());
    if !run.valid && valid.is_empty() {
        valid.push("the run is marked invalid, with no reason given".to_owned());
    }
    let mut audits = Vec::new();
    let mut audited = 0;
    let mut crashes = Vec::new();
    for scenario in &run.scenarios {
        let name = scenario.scenario.name();
        for result in &scenario.systems {
            let system = result.system.name();
            let outcomes = result
                .outage
                .iter()
                .map(|o| &o.audit)
                .chain(result.rollout.iter().map(|r| &r.audit));
            for audit in outcomes {
                audited += 1;
                if let Some(error) = &audit.error {
                    audits.push(format!("{name} {system}: the audit could not run: {error}"));
                } else if !audit.settled {
                    audits.push(format!(
                        "{name} {system}: orders were still pending after {:.0} s, so money and stock were not checked",
                        audit.waited_s
                    ));
                }
                for violation in &audit.violations {
                    audits.push(format!("{name} {system}: {violation}"));
                }
            }
            for event in result.unexpected_events() {
                crashes.push(format!(
                    "{name} {system}: {} {:?}",
                    event.process, event.kind
                ));
            }
        }
    }
    let or_else = |found: Vec<String>, fine: String| {
        let passed = found.is_empty();
        (passed, if passed { vec![fine] } else { found })
    };
    let (valid_passed, valid) = or_else(valid, "every measurement kept its schedule".to_owned());
    let (audits_passed, audits) = or_else(
        audits,
        format!("{audited} audit(s), every acknowledged order read back and the books balanced"),
    );
    let (crashes_passed, crashes) = or_else(
        crashes,
        "no process exited or restarted but those the scenarios crashed".to_owned(),
    );
    vec![
        Gate {
            name: "the run is valid",
            passed: valid_passed,
            findings: valid,
        },
        Gate {
            name: "every consistency invariant holds",
            passed: audits_passed,
            findings: audits,
        },
        Gate {
            name: "no unexpected process exit",
            passed: crashes_passed,
            findings: crashes,
        },
    ]
}
