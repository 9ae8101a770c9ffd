//! `loadgen check` on the report fixture, as a pipeline runs it: a clean run passes
//! (exit 0); a broken invariant, an unexpected process exit or an invalid run each
//! fail it (exit 1) and are named in the Markdown summary, which also lands in
//! `check.md`; a folder that summary cannot be written to is bad input (exit 2).

mod report_fixture;

use std::path::Path;
use std::process::Output;

use serde_json::{Value, json};

fn check(dir: &Path) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .arg("check")
        .arg(dir)
        .output()
        .unwrap()
}

/// The fixture's `scenario` result for `system`, to tamper with.
fn result<'a>(run: &'a mut Value, scenario: &str, system: &str) -> &'a mut Value {
    run["scenarios"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|s| s["scenario"] == scenario)
        .unwrap()["systems"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|r| r["system"] == system)
        .unwrap()
}

/// Records in `result` that inventory's process died of a segfault.
fn inventory_crashed(result: &mut Value) {
    let exit = json!({"at_unix_ms": 1, "process": "inventory-0", "event": "exited", "status": "signal: 11"});
    result["process_events"].as_array_mut().unwrap().push(exit);
}

/// Runs the gate on `run` and expects it to fail on `gate`, naming `finding`.
fn fails(run: &Value, gate: &str, finding: &str) {
    let scratch = tempfile::tempdir().unwrap();
    let dir = report_fixture::run_dir_with(scratch.path(), "tampered", run);
    let out = check(&dir);
    let summary = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{summary}");
    assert!(summary.contains("FAILED"), "{summary}");
    let section = summary
        .split_once(&format!("### {gate}"))
        .unwrap_or_else(|| panic!("no failed gate {gate}: {summary}"))
        .1;
    assert!(section.contains(finding), "{finding} not in: {summary}");
}

#[test]
fn a_clean_run_passes_and_leaves_its_summary() {
    let scratch = tempfile::tempdir().unwrap();
    let run = report_fixture::json();
    // The fixture's crash scenario restarted what it crashed: that is no failure.
    let crashed = run["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["systems"].as_array().unwrap())
        .flat_map(|r| r["process_events"].as_array().unwrap())
        .any(|e| e["event"] == "exited");
    assert!(crashed, "the fixture has no crash to tolerate");
    let dir = report_fixture::run_dir_with(scratch.path(), "clean", &run);
    let out = check(&dir);
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{summary}");
    assert!(summary.starts_with("## loadgen check: passed"), "{summary}");
    assert_eq!(
        std::fs::read_to_string(dir.join("check.md")).unwrap(),
        summary
    );
}

#[test]
fn a_folder_it_cannot_write_its_summary_to_is_bad_input_not_a_failed_gate() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = report_fixture::run_dir_with(scratch.path(), "stuck", &report_fixture::json());
    // A directory where check.md would go: no write succeeds, not even root's.
    std::fs::create_dir(dir.join("check.md")).unwrap();
    let out = check(&dir);
    let summary = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{summary}{stderr}");
    assert!(summary.starts_with("## loadgen check: passed"), "{summary}");
    assert!(stderr.contains("check.md"), "{stderr}");
}

#[test]
fn a_lost_order_fails_the_invariant_gate() {
    let mut run = report_fixture::json();
    let audit = &mut result(&mut run, "crash-payments", "split")["outage"]["audit"];
    audit["violations"] = json!([{"kind": "lost-order", "order_id": 4242}]);
    fails(
        &run,
        "every consistency invariant holds",
        "order 4242 was acknowledged and is gone",
    );
}

#[test]
fn an_audit_that_could_not_run_fails_the_invariant_gate() {
    let mut run = report_fixture::json();
    let audit = &mut result(&mut run, "rolling-deploy", "monolith")["rollout"]["audit"];
    audit["error"] = json!("the shop did not answer");
    fails(
        &run,
        "every consistency invariant holds",
        "the shop did not answer",
    );
}

#[test]
fn a_process_exit_no_scenario_asked_for_fails_its_gate() {
    let mut run = report_fixture::json();
    inventory_crashed(result(&mut run, "capacity", "split"));
    fails(&run, "no unexpected process exit", "inventory-0");
}

#[test]
fn an_invalid_run_fails_the_validity_gate() {
    let mut run = report_fixture::json();
    run["valid"] = json!(false);
    run["invalid_because"] =
        json!(["capacity split 800 req/s: the load generator, not the server, was the limit"]);
    fails(
        &run,
        "the run is valid",
        "the load generator, not the server",
    );
}

#[test]
fn a_crash_tolerates_only_the_process_it_crashed() {
    let mut run = report_fixture::json();
    inventory_crashed(result(&mut run, "crash-payments", "split"));
    fails(&run, "no unexpected process exit", "inventory-0");
}

#[test]
fn an_audit_left_unsettled_fails_the_invariant_gate() {
    let mut run = report_fixture::json();
    let audit = &mut result(&mut run, "replica-loss", "monolith")["outage"]["audit"];
    audit["settled"] = json!(false);
    fails(
        &run,
        "every consistency invariant holds",
        "money and stock were not checked",
    );
}

#[test]
fn a_run_marked_invalid_without_a_reason_fails() {
    let mut run = report_fixture::json();
    run["valid"] = json!(false);
    fails(&run, "the run is valid", "no reason given");
}
