//! The command line as people meet it: the catalog, clear errors with exit code 2, and
//! runs that are interrupted (SIGINT, SIGTERM) or fail (a service that cannot start)
//! leave nothing running.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

fn loadgen() -> Command {
    Command::new(env!("CARGO_BIN_EXE_loadgen"))
}

#[test]
fn scenarios_lists_each_with_what_it_shows() {
    let out = loadgen().arg("scenarios").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for name in ["capacity", "hop-cost", "ceiling"] {
        assert!(
            text.lines()
                .any(|l| l.starts_with(name) && l.len() > name.len() + 20),
            "{text}"
        );
    }
}

/// Runs `loadgen args...` and expects exit code 2 with `expected` in its one-line error.
fn refused(args: &[&str], expected: &str) {
    let out = loadgen()
        .args(args)
        .env("LOADGEN_ALLOW_DEBUG", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
    assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
    assert!(stderr.contains(expected), "{args:?}: {stderr}");
}

#[test]
fn bad_input_is_refused_with_the_valid_choices() {
    refused(&["run", "nope"], "capacity, hop-cost, ceiling");
    refused(&["run", "--arch", "both-ish"], "monolith, split, both");
    refused(&["run", "--profile", "slow"], "quick, standard");
    refused(&["run", "--seed", "-1"], "-1");
    refused(&["run", "--seed", "many"], "--seed");
    refused(&["run", "--mix", "browse=1"], "product-page");
    refused(
        &["run", "--target-utilization", "1.5"],
        "target utilization",
    );
    refused(&["run", "--price-gb-hour=-1"], "GB-hour");
    refused(&["run", "--price-core-hour", "cheap"], "--price-core-hour");
    refused(&["run", "--reference", "no-such-commit"], "names no commit");
    refused(
        &["run", "--reference", "HEAD", "--reference-bins", "/tmp"],
        "cannot be used with",
    );
    refused(
        &["run", "--reference-bins", "/no/such/bins"],
        "/no/such/bins lacks",
    );
    refused(&["up"], "--arch");
    refused(&["up", "--arch", "both"], "monolith, split");
    refused(&["fly"], "scenarios");
    refused(&["report"], "RUN_DIR");
    refused(&["check"], "RUN_DIR");
    refused(
        &["check", "/no/such/run"],
        "/no/such/run is not a run's folder",
    );
    refused(
        &["report", "/no/such/run"],
        "/no/such/run is not a run's folder",
    );
    refused(&["report", "--compare", "/no/such/run"], "--compare");
    refused(
        &["report", "--compare", "/no/such/old", "/no/such/new"],
        "/no/such/old",
    );
}

#[test]
fn an_unreadable_topology_is_one_line_and_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    refused(
        &["run", "--topology", "/no/such/topology.toml"],
        "/no/such/topology.toml",
    );
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[services.catalog]\nreplicas = 0\n").unwrap();
    refused(&["run", "--topology", bad.to_str().unwrap()], "replicas");
}

/// Pids of live processes whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<i32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let zombie = std::fs::read_to_string(entry.path().join("stat"))
            .map(|s| {
                s.rsplit(')')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with('Z')
            })
            .unwrap_or(true);
        if !zombie && String::from_utf8_lossy(&cmdline).contains(needle) {
            found.push(pid);
        }
    }
    found
}

#[test]
fn ctrl_c_mid_run_stops_every_process_and_still_writes_the_results() {
    interrupted_mid_run(Signal::SIGINT);
}

#[test]
fn sigterm_mid_run_stops_every_process_and_still_writes_the_results() {
    interrupted_mid_run(Signal::SIGTERM);
}

#[test]
fn a_service_that_cannot_start_fails_the_run_writes_what_it_got_to_and_leaves_nothing_running() {
    let out = tempfile::tempdir().unwrap();
    let out_path = out.path().to_str().unwrap().to_owned();
    // The real binaries, but orders (the last to start) is broken.
    let bins = tempfile::tempdir().unwrap();
    let real = support::service_bins();
    for name in loadgen::binaries::SERVICE_BINARIES {
        let to = bins.path().join(name);
        if name == "split-orders" {
            std::fs::write(
                &to,
                "#!/bin/sh\necho 'orders: broken on purpose' >&2\nexit 3\n",
            )
            .unwrap();
            let mut permissions = std::fs::metadata(&to).unwrap().permissions();
            std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
            std::fs::set_permissions(&to, permissions).unwrap();
        } else {
            std::os::unix::fs::symlink(real.join(name), &to).unwrap();
        }
    }
    let run = split_hop_cost(&out_path, bins.path()).output().unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("orders-0"), "{stderr}");
    assert!(stderr.contains("broken on purpose"), "{stderr}");
    assert!(
        stderr.contains("the run stopped before the end"),
        "{stderr}"
    );
    let left = processes_mentioning(&out_path);
    assert!(left.is_empty(), "left running: {left:?}");
    // What it got to is still written, marked invalid, with its report.
    assert!(glob_exists(out.path(), "report.html"), "no report written");
    let run = written_run(out.path());
    assert_eq!(run["valid"], false);
    assert_eq!(run["interrupted"], false);
    let why = run["invalid_because"].to_string();
    assert!(why.contains("stopped by an error"), "{why}");
}

/// `loadgen run hop-cost` of the split build (four endpoints, a few seconds each), its
/// results in `out`, deploying the binaries in `bins`.
fn split_hop_cost(out: &str, bins: &Path) -> Command {
    let mut command = loadgen();
    command
        .args(["run", "hop-cost", "--arch", "split", "--profile", "quick"])
        .args(["--out", out])
        .arg("--bins")
        .arg(bins)
        .env("LOADGEN_ALLOW_DEBUG", "1");
    command
}

/// A split hop-cost run writing into `out`, once it is in the middle of its
/// measurements: every service up and load flowing (hop-cost runs four endpoints for a
/// few seconds each). With the pids of its services.
fn split_run_mid_measurement(out: &Path) -> (std::process::Child, Vec<i32>) {
    let out_path = out.to_str().unwrap().to_owned();
    let bins = support::service_bins();
    let mut run = split_hop_cost(&out_path, &bins)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let services = loop {
        let running = processes_mentioning(&out_path);
        // goose's folder appears as the first measurement starts: goose, which
        // installs a Ctrl-C handler of its own, is running.
        let measuring = glob_exists(out, "goose");
        if measuring && running.len() >= 8 {
            break running;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the split build did not come up: {running:?}"
        );
        assert!(run.try_wait().unwrap().is_none(), "loadgen ended early");
        std::thread::sleep(Duration::from_millis(200));
    };
    std::thread::sleep(Duration::from_secs(2));
    (run, services)
}

#[test]
fn a_run_killed_outright_leaves_no_process_behind() {
    let out = tempfile::tempdir().unwrap();
    let (mut run, services) = split_run_mid_measurement(out.path());
    // No handler runs on SIGKILL: the kernel must take the services down with it.
    run.kill().unwrap();
    run.wait().unwrap();
    let out_path = out.path().to_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = processes_mentioning(out_path);
        if left.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "left running: {left:?} (of {services:?})"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Sends `signal` to a run in the middle of its measurements, and checks it stops,
/// stops every process it started, and writes what it measured.
fn interrupted_mid_run(signal: Signal) {
    let out = tempfile::tempdir().unwrap();
    let out_path = out.path().to_str().unwrap().to_owned();
    let (mut run, services) = split_run_mid_measurement(out.path());

    kill(Pid::from_raw(run.id() as i32), signal).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = run.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "loadgen did not stop after {signal}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(status.code(), Some(130));
    let left = processes_mentioning(&out_path);
    assert!(left.is_empty(), "left running: {left:?} (of {services:?})");
    let run = written_run(out.path());
    assert_eq!(run["interrupted"], true);
    assert_eq!(run["valid"], false);
}

/// Whether `<dir>/<any run id>/<rest>` exists.
fn glob_exists(dir: &Path, rest: &str) -> bool {
    std::fs::read_dir(dir)
        .map(|entries| entries.flatten().any(|e| e.path().join(rest).exists()))
        .unwrap_or(false)
}

/// The `run.json` a run wrote into `<dir>/<its run id>/`.
fn written_run(dir: &Path) -> serde_json::Value {
    let run_json = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path().join("run.json"))
        .find(|p| p.exists())
        .expect("run.json written");
    serde_json::from_str(&std::fs::read_to_string(run_json).unwrap()).unwrap()
}
