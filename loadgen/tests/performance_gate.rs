//! The performance gate as a pipeline runs it, on a real run of the interleaved
//! scenario (`tests/fixtures/ci-run.json`): `loadgen baseline` makes a baseline of it,
//! `loadgen check --baseline` passes the run against its own baseline, and fails a copy
//! made slower where it counts, naming what got slower, passes one where the whole
//! machine slowed, and fails a run that never reached its interleaved turns. Bad
//! baselines are refused (exit 2), and a baseline from another machine is shown, not
//! judged. A run with a reference build (`tests/fixtures/ci-reference-run.json`) is
//! judged on each component against the reference's, and its baseline says which
//! reference a run needs.

mod report_fixture;

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

const CI_RUN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/ci-run.json");
const CI_REFERENCE_RUN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/ci-reference-run.json"
);

fn ci_run() -> Value {
    serde_json::from_str(&std::fs::read_to_string(CI_RUN).unwrap()).unwrap()
}

/// A run whose interleaved rounds had a reference build beside the candidate.
fn ci_reference_run() -> Value {
    serde_json::from_str(&std::fs::read_to_string(CI_REFERENCE_RUN).unwrap()).unwrap()
}

fn loadgen(args: &[&Path]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(args)
        .output()
        .unwrap()
}

/// A baseline made of the fixture three times (as three runs), written under
/// `scratch`: no spread between them, so every tolerance is the floor.
fn baseline(scratch: &Path) -> PathBuf {
    baseline_of(scratch, ci_run())
}

/// A baseline made of `fixture` three times, as [`baseline`].
fn baseline_of(scratch: &Path, fixture: Value) -> PathBuf {
    let dirs: Vec<PathBuf> = ["a", "b", "c"]
        .into_iter()
        .map(|id| {
            let mut run = fixture.clone();
            run["run_id"] = format!("baseline-{id}").into();
            report_fixture::run_dir_with(scratch, &format!("baseline-{id}"), &run)
        })
        .collect();
    let file = scratch.join("baseline").join("ci.json");
    let mut args: Vec<&Path> = vec!["baseline".as_ref()];
    args.extend(dirs.iter().map(PathBuf::as_path));
    args.extend(["--out".as_ref(), file.as_path()]);
    let out = loadgen(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    file
}

/// `loadgen check RUN --baseline FILE` on `run`.
fn check(scratch: &Path, run: &Value, baseline: &Path) -> (Option<i32>, String, String) {
    let dir = report_fixture::run_dir_with(scratch, "checked", run);
    let out = loadgen(&["check".as_ref(), &dir, "--baseline".as_ref(), baseline]);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every turn of `system` in the interleaved scenario, of either build.
fn turns<'a>(run: &'a mut Value, system: &str) -> impl Iterator<Item = &'a mut Value> {
    interleaved(run)
        .filter(move |r| r["system"] == system)
        .flat_map(|r| r["turns"].as_array_mut().unwrap())
}

/// Every turn of `system` in the interleaved scenario, of the reference build or of the
/// candidate.
fn turns_of<'a>(
    run: &'a mut Value,
    system: &str,
    reference: bool,
) -> impl Iterator<Item = &'a mut Value> {
    interleaved(run)
        .filter(move |r| r["system"] == system && (r["build"] == "reference") == reference)
        .flat_map(|r| r["turns"].as_array_mut().unwrap())
}

/// The systems' results of the interleaved scenario.
fn interleaved(run: &mut Value) -> impl Iterator<Item = &mut Value> {
    run["scenarios"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|s| s["scenario"] == "interleaved")
        .unwrap()["systems"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
}

/// `run` with `component`'s calls `by` times longer in every turn of the candidate,
/// and of the reference too when `reference_too`.
fn slower(mut run: Value, component: &str, by: f64, reference_too: bool) -> Value {
    for system in ["monolith", "split"] {
        for reference in [false, true] {
            if reference && !reference_too {
                continue;
            }
            for turn in turns_of(&mut run, system, reference) {
                if let Some(time) = turn["component_times"].get_mut(component) {
                    scale(&mut time["seconds"], by);
                }
            }
        }
    }
    run
}

/// The fixture with split's CPU per request 30% higher in every turn.
fn split_costing_more() -> Value {
    let mut run = ci_run();
    for turn in turns(&mut run, "split") {
        scale(
            &mut turn["measurement"]["cost"]["sut_cpu_us_per_request"],
            1.3,
        );
    }
    run
}

/// The findings of the failed performance gate in `summary`.
fn performance_findings(summary: &str) -> &str {
    summary
        .split_once("### no performance regression")
        .unwrap_or_else(|| panic!("no failed performance gate: {summary}"))
        .1
}

fn scale(value: &mut Value, by: f64) {
    *value = (value.as_f64().unwrap() * by).into();
}

#[test]
fn a_run_against_its_own_baseline_passes_with_every_figure_listed() {
    let scratch = tempfile::tempdir().unwrap();
    let file = baseline(scratch.path());
    let figures = serde_json::from_str::<Value>(&std::fs::read_to_string(&file).unwrap()).unwrap()
        ["figures"]
        .as_array()
        .unwrap()
        .len();
    assert!(figures >= 15, "{figures}");
    let (code, summary, stderr) = check(scratch.path(), &ci_run(), &file);
    assert_eq!(code, Some(0), "{summary}{stderr}");
    assert!(
        summary.contains("| no performance regression | pass |"),
        "{summary}"
    );
    let rows = summary
        .lines()
        .filter(|l| l.ends_with("| within noise |"))
        .count();
    assert_eq!(rows, figures, "{summary}");
}

#[test]
fn a_slower_catalog_fails_the_gate_and_the_summary_names_catalog() {
    let scratch = tempfile::tempdir().unwrap();
    let file = baseline(scratch.path());
    let mut run = ci_run();
    for system in ["monolith", "split"] {
        for turn in turns(&mut run, system) {
            if let Some(catalog) = turn["component_times"].get_mut("catalog") {
                scale(&mut catalog["seconds"], 1.3);
            }
        }
    }
    let (code, summary, stderr) = check(scratch.path(), &run, &file);
    assert_eq!(code, Some(1), "{summary}{stderr}");
    let failed = performance_findings(&summary);
    assert!(failed.contains("catalog got slower"), "{summary}");
    assert!(!failed.contains("inventory got slower"), "{summary}");
}

#[test]
fn a_machine_slower_at_everything_is_not_a_slower_component() {
    // Every component call 30% longer, and every process's CPU per request with it
    // (the ceiling's and the generator's too): the machine slowed, not the code. Each
    // component figure divides a call's time by its system's CPU per request.
    let scratch = tempfile::tempdir().unwrap();
    let file = baseline(scratch.path());
    let mut run = ci_run();
    for system in ["ceiling", "monolith", "split"] {
        for turn in turns(&mut run, system) {
            for time in turn["component_times"]
                .as_object_mut()
                .unwrap()
                .values_mut()
            {
                scale(&mut time["seconds"], 1.3);
            }
            let cost = &mut turn["measurement"]["cost"];
            scale(&mut cost["sut_cpu_us_per_request"], 1.3);
            scale(&mut cost["generator_cpu_us_per_request"], 1.3);
        }
    }
    let (code, summary, stderr) = check(scratch.path(), &run, &file);
    assert_eq!(code, Some(0), "{summary}{stderr}");
    assert!(!summary.contains("got slower"), "{summary}");
}

#[test]
fn split_costing_more_cpu_fails_the_split_over_monolith_ratio() {
    let scratch = tempfile::tempdir().unwrap();
    let file = baseline(scratch.path());
    let run = split_costing_more();
    let (code, summary, _) = check(scratch.path(), &run, &file);
    assert_eq!(code, Some(1), "{summary}");
    assert!(
        summary.contains("- split / monolith CPU per request (mix) is"),
        "{summary}"
    );
    assert!(!summary.contains("got slower"), "{summary}");
}

#[test]
fn a_baseline_from_another_machine_is_shown_and_not_judged() {
    let scratch = tempfile::tempdir().unwrap();
    let file = baseline(scratch.path());
    let mut other: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    other["cpu_model"] = "Another CPU".into();
    std::fs::write(&file, other.to_string()).unwrap();
    let run = split_costing_more();
    let (code, summary, _) = check(scratch.path(), &run, &file);
    assert_eq!(code, Some(0), "{summary}");
    assert!(
        summary.contains("not judged: the baseline ran on Another CPU"),
        "{summary}"
    );
    assert!(summary.contains("| **worse** |"), "{summary}");
}

#[test]
fn baselines_that_cannot_judge_the_run_are_refused_as_bad_input() {
    let scratch = tempfile::tempdir().unwrap();
    let file = baseline(scratch.path());

    let (code, _, stderr) = check(scratch.path(), &ci_run(), &scratch.path().join("nope.json"));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("nope.json"), "{stderr}");

    let mut quick: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    quick["profile"] = "quick".into();
    std::fs::write(&file, quick.to_string()).unwrap();
    let (code, _, stderr) = check(scratch.path(), &ci_run(), &file);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("profile"), "{stderr}");

    std::fs::write(&file, "{}").unwrap();
    let (code, _, stderr) = check(scratch.path(), &ci_run(), &file);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("is not a baseline"), "{stderr}");
}

#[test]
fn a_run_that_never_reached_its_interleaved_turns_fails_the_gate() {
    let scratch = tempfile::tempdir().unwrap();
    let file = baseline(scratch.path());
    let mut stopped = report_fixture::json();
    stopped["profile"]["name"] = "ci".into();
    let (code, summary, stderr) = check(scratch.path(), &stopped, &file);
    assert_eq!(code, Some(1), "{summary}{stderr}");
    assert!(
        summary.contains("the run has no interleaved turns"),
        "{summary}"
    );
}

#[test]
fn a_baseline_needs_three_runs_each_counted_once() {
    let scratch = tempfile::tempdir().unwrap();
    let out_file = scratch.path().join("b.json");
    let dir = report_fixture::run_dir_with(scratch.path(), "one", &ci_run());
    // The same run three times is one run, counted thrice in the spread: refused.
    let out = loadgen(&[
        "baseline".as_ref(),
        &dir,
        &dir,
        &dir,
        "--out".as_ref(),
        &out_file,
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is given twice"), "{stderr}");
    // Two different runs cannot say how far a third falls.
    let mut other = ci_run();
    other["run_id"] = "another".into();
    let two = report_fixture::run_dir_with(scratch.path(), "two", &other);
    let out = loadgen(&["baseline".as_ref(), &dir, &two, "--out".as_ref(), &out_file]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("at least 3 different runs"), "{stderr}");
    assert!(!out_file.exists());
}

#[test]
fn a_baseline_is_made_of_clean_runs_only() {
    let scratch = tempfile::tempdir().unwrap();
    let mut invalid = ci_run();
    invalid["run_id"] = "invalid".into();
    invalid["valid"] = false.into();
    invalid["invalid_because"] = vec!["the generator fell behind"].into();
    let dir = report_fixture::run_dir_with(scratch.path(), "invalid", &invalid);
    let clean = report_fixture::run_dir_with(scratch.path(), "clean", &ci_run());
    let mut other = ci_run();
    other["run_id"] = "other".into();
    let other = report_fixture::run_dir_with(scratch.path(), "other", &other);
    let out = loadgen(&[
        "baseline".as_ref(),
        &clean,
        &other,
        &dir,
        "--out".as_ref(),
        &scratch.path().join("b.json"),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("is not valid (the generator fell behind)"),
        "{stderr}"
    );
    assert!(!scratch.path().join("b.json").exists());
}

#[test]
fn the_report_shows_every_figure_the_gate_judges() {
    let scratch = tempfile::tempdir().unwrap();
    let file = baseline(scratch.path());
    let baseline: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let dir = report_fixture::run_dir_with(scratch.path(), "reported", &ci_run());
    let page = loadgen::report::rebuild(&dir).unwrap();
    let html = std::fs::read_to_string(page).unwrap();
    let section = html
        .split_once("In-run ratios")
        .unwrap_or_else(|| panic!("no interleaved section"))
        .1;
    for figure in baseline["figures"].as_array().unwrap() {
        let name = figure["name"].as_str().unwrap();
        assert!(section.contains(name), "{name} not in the report");
    }
}

#[test]
fn advisory_reports_a_regression_without_failing_the_run() {
    let scratch = tempfile::tempdir().unwrap();
    let file = baseline(scratch.path());
    let mut run = ci_run();
    for turn in turns(&mut run, "monolith") {
        if let Some(catalog) = turn["component_times"].get_mut("catalog") {
            scale(&mut catalog["seconds"], 1.3);
        }
    }
    let dir = report_fixture::run_dir_with(scratch.path(), "advised", &run);
    let out = loadgen(&[
        "check".as_ref(),
        &dir,
        "--baseline".as_ref(),
        &file,
        "--advisory".as_ref(),
    ]);
    let summary = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{summary}");
    assert!(
        summary.contains("| no performance regression (advisory) | pass | advisory"),
        "{summary}"
    );
    assert!(summary.contains("catalog got slower"), "{summary}");
}

#[test]
fn with_a_reference_each_component_is_judged_against_the_reference_build() {
    let scratch = tempfile::tempdir().unwrap();
    let file = baseline_of(scratch.path(), ci_reference_run());
    let baseline: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let commit = ci_reference_run()["environment"]["reference"]["commit"].clone();
    assert_eq!(baseline["reference"]["commit"], commit);
    let names: Vec<&str> = baseline["figures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(names.len() >= 15, "{names:?}");
    assert!(
        names
            .iter()
            .all(|n| n.ends_with(" / the reference build's")),
        "{names:?}"
    );
    let (code, summary, stderr) = check(scratch.path(), &ci_reference_run(), &file);
    assert_eq!(code, Some(0), "{summary}{stderr}");
    assert!(
        summary.contains("compared with the reference build `20a00a11ec`"),
        "{summary}"
    );
}

#[test]
fn with_a_reference_a_component_slower_in_the_candidate_alone_is_named() {
    let scratch = tempfile::tempdir().unwrap();
    let file = baseline_of(scratch.path(), ci_reference_run());
    let run = slower(ci_reference_run(), "inventory", 1.3, false);
    let (code, summary, stderr) = check(scratch.path(), &run, &file);
    assert_eq!(code, Some(1), "{summary}{stderr}");
    let failed = performance_findings(&summary);
    assert!(failed.contains("inventory got slower"), "{summary}");
    assert!(!failed.contains("catalog got slower"), "{summary}");
}

#[test]
fn with_a_reference_what_slows_both_builds_is_drift_not_a_regression() {
    // What set 4 of BENCHMARKS.md saw: one component slower in every turn of a run,
    // whatever the build, and split dearer with it. Both builds share it, so no ratio
    // of one to the other moves.
    let scratch = tempfile::tempdir().unwrap();
    let file = baseline_of(scratch.path(), ci_reference_run());
    let mut run = slower(ci_reference_run(), "inventory", 1.3, true);
    for reference in [false, true] {
        for turn in turns_of(&mut run, "split", reference) {
            scale(
                &mut turn["measurement"]["cost"]["sut_cpu_us_per_request"],
                1.3,
            );
        }
    }
    let (code, summary, stderr) = check(scratch.path(), &run, &file);
    assert_eq!(code, Some(0), "{summary}{stderr}");
    assert!(!summary.contains("got slower"), "{summary}");
}

#[test]
fn with_a_reference_split_dearer_in_the_candidate_alone_fails_its_ratio() {
    let scratch = tempfile::tempdir().unwrap();
    let file = baseline_of(scratch.path(), ci_reference_run());
    let mut run = ci_reference_run();
    for turn in turns_of(&mut run, "split", false) {
        scale(
            &mut turn["measurement"]["cost"]["sut_cpu_us_per_request"],
            1.3,
        );
    }
    let (code, summary, _) = check(scratch.path(), &run, &file);
    assert_eq!(code, Some(1), "{summary}");
    assert!(
        summary.contains("- split / monolith CPU per request (mix) / the reference build's is"),
        "{summary}"
    );
}

#[test]
fn a_run_without_the_reference_its_baseline_had_is_told_which_to_use() {
    let scratch = tempfile::tempdir().unwrap();
    let file = baseline_of(scratch.path(), ci_reference_run());
    let (code, summary, stderr) = check(scratch.path(), &ci_run(), &file);
    assert_eq!(code, Some(1), "{summary}{stderr}");
    assert!(
        summary.contains("run it with `--reference 20a00a11eccd5856f98cab6b7902379acf137448`"),
        "{summary}"
    );
    // And the other way about: a baseline without one cannot judge a run with one.
    let file = baseline(scratch.path());
    let (code, summary, _) = check(scratch.path(), &ci_reference_run(), &file);
    assert_eq!(code, Some(1), "{summary}");
    assert!(
        summary.contains("the baseline's runs did not: make a baseline of runs with one"),
        "{summary}"
    );
}

#[test]
fn a_baseline_is_made_of_runs_all_with_a_reference_or_all_without() {
    let scratch = tempfile::tempdir().unwrap();
    let dirs: Vec<PathBuf> = [("a", ci_run()), ("b", ci_run()), ("c", ci_reference_run())]
        .into_iter()
        .map(|(id, mut run)| {
            run["run_id"] = id.into();
            report_fixture::run_dir_with(scratch.path(), id, &run)
        })
        .collect();
    let out_file = scratch.path().join("b.json");
    let mut args: Vec<&Path> = vec!["baseline".as_ref()];
    args.extend(dirs.iter().map(PathBuf::as_path));
    args.extend(["--out".as_ref(), out_file.as_path()]);
    let out = loadgen(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("differ in having a reference build"),
        "{stderr}"
    );
    assert!(!out_file.exists());
}
