//! A whole `loadgen run`: calibrate the generator's timer, deploy each architecture in
//! turn, run the chosen scenarios against it, stop it, then the ceiling; judge the run,
//! write `run.json` and say what was found. An interrupt (Ctrl-C, SIGTERM) stops the
//! current deployment cleanly and still writes what was measured, marked interrupted.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow};
use indicatif::{ProgressBar, ProgressStyle};
use split::topology::Topology;
use tokio::sync::watch;

use crate::cgroups::{self, RunGroups};
use crate::deploy::{DeployOptions, Deployment, System};
use crate::journeys::{Action, Mix};
use crate::measure::{self, Bench};
use crate::results::{
    Cores, EndpointResult, Environment, Run, SCHEMA_VERSION, ScenarioResult, SystemResult,
};
use crate::scenarios::{self, Profile, Scenario, internal_calls, journey};

/// What to run, and where.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub scenarios: Vec<Scenario>,
    /// The architectures, in the order they run.
    pub systems: Vec<System>,
    pub profile: Profile,
    /// `results/`: the run gets a folder of its own in it.
    pub out: PathBuf,
    pub seed: u64,
    pub topology: Topology,
    pub mix: Mix,
    /// The folder of the service binaries.
    pub bins: PathBuf,
    pub cores: Cores,
    /// How long the supervisor waits before restarting a process that exited.
    pub restart_delay: Duration,
    pub command: Vec<String>,
    /// The workspace, for the git commit.
    pub workspace: PathBuf,
}

/// Set to true by the signal handler: the run stops at the next chance.
pub type Interrupt = watch::Receiver<bool>;

/// An [`Interrupt`] that turns true on SIGINT or SIGTERM (the handlers are installed
/// before this returns; call it once, from within the runtime).
///
/// SIGINT goes through `ctrlc`, on purpose: goose installs a `ctrlc` handler of its own
/// when an attack starts, which would replace ours (and exit the process on a second
/// Ctrl-C, leaving the deployment running). Only one `ctrlc` handler may exist, so with
/// ours in first, goose's attempt fails and it carries on without one.
pub fn interrupt_on_signals() -> Result<Interrupt> {
    let (tell, interrupt) = watch::channel(false);
    let tell = Arc::new(tell);
    let on_sigint = tell.clone();
    ctrlc::set_handler(move || {
        on_sigint.send_replace(true);
    })
    .context("installing the Ctrl-C handler")?;
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    tokio::spawn(async move {
        sigterm.recv().await;
        tell.send_replace(true);
    });
    Ok(interrupt)
}

/// How long a deployment may take to start, seeding included.
const START_DEADLINE: Duration = Duration::from_secs(120);
/// How long each process gets to drain when stopped.
const GRACE: Duration = Duration::from_secs(10);
/// The SKU whose page the ceiling serves.
const CEILING_SKU: &str = "SKU-00042";

/// Runs everything `options` asks for; returns the run and its folder.
pub async fn run(options: RunOptions, interrupt: Interrupt) -> Result<(Run, PathBuf)> {
    let started = SystemTime::now();
    let run_id = run_id(started);
    let dir = options.out.join(&run_id);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let progress = Progress::new();

    let (groups, cgroups_note) = cgroups_for(&options.topology, &run_id);
    if let Some(note) = &cgroups_note.1 {
        progress.println(note);
    }
    progress.phase("calibrating the generator's timer", Duration::from_secs(1));
    let timer_bias = measure::calibrate_timer(16, 1_000.0, Duration::from_secs(1)).await?;

    let mut invalid_because = Vec::new();
    if cfg!(debug_assertions) {
        invalid_because.push(
            "the load generator is a debug build: it, not the server, may be the limit".to_owned(),
        );
    }
    if !options.cores.pinned {
        invalid_because.push(
            "the generator and the system under test shared their cores (fewer than 2 here)"
                .to_owned(),
        );
    }
    let mut record = Run {
        schema_version: SCHEMA_VERSION,
        run_id: run_id.clone(),
        started_unix_ms: unix_ms(started),
        finished_unix_ms: 0,
        command: options.command.clone(),
        environment: Environment::here(&options.workspace),
        profile: options.profile.clone(),
        seed: options.seed,
        topology: options.topology.clone(),
        mix: options.mix.clone(),
        cores: options.cores.clone(),
        cgroups: cgroups_note.0,
        timer_bias,
        valid: true,
        invalid_because,
        limits: Vec::new(),
        interrupted: false,
        scenarios: options
            .scenarios
            .iter()
            .map(|&scenario| ScenarioResult {
                scenario,
                about: scenario.about().to_owned(),
                systems: Vec::new(),
            })
            .collect(),
    };
    let bench = Bench {
        seed: options.seed,
        generator_cores: count_cores(&options.cores.generator),
        sut_cores: count_cores(&options.cores.system_under_test),
        timer_bias,
        goose_reports: Some(dir.join("goose")),
    };
    let deploy = |system: System| DeployOptions {
        bins: options.bins.clone(),
        dir: dir.join(system.name()),
        topology: options.topology.clone(),
        shop_args: vec![
            "--products".into(),
            options.profile.products.to_string().into(),
        ],
        cpus: options
            .cores
            .pinned
            .then(|| options.cores.system_under_test.clone()),
        start_deadline: START_DEADLINE,
        restart_delay: options.restart_delay,
        cgroups: groups.clone(),
    };

    let body = dir.join("ceiling-body.json");
    let mut outcome = Ok(());
    for &system in &options.systems {
        progress.phase(
            &format!("{}: deploying", system.name()),
            Duration::from_secs(5),
        );
        let step = async {
            let deployment = Deployment::start(system, &deploy(system), None).await?;
            let measured = until_interrupted(
                &interrupt,
                one_system(&deployment, &options, &bench, &progress, &body, &mut record),
            )
            .await;
            let events = deployment.events();
            for scenario in &mut record.scenarios {
                for result in &mut scenario.systems {
                    if result.system == system {
                        result.process_events = events.clone();
                    }
                }
            }
            progress.phase(&format!("{}: stopping", system.name()), GRACE);
            deployment.stop(GRACE).await?;
            measured
        };
        outcome = until_interrupted(&interrupt, step).await;
        if outcome.is_err() {
            break;
        }
    }
    if outcome.is_ok() && options.scenarios.contains(&Scenario::Ceiling) {
        let step = async {
            if !body.exists() {
                return Err(anyhow!("no product page was captured for the ceiling"));
            }
            progress.phase("ceiling: deploying", Duration::from_secs(2));
            let deployment =
                Deployment::start(System::Ceiling, &deploy(System::Ceiling), Some(&body)).await?;
            let measured = until_interrupted(&interrupt, async {
                let journey = journey(
                    Mix::only(Action::ProductPage),
                    &options.profile,
                    options.seed,
                );
                let ramp = scenarios::ramp(
                    &deployment,
                    journey,
                    &options.profile,
                    &bench,
                    "product-page",
                    |what, length| progress.phase(&format!("ceiling: {what}"), length),
                )
                .await?;
                push(
                    &mut record,
                    Scenario::Ceiling,
                    SystemResult {
                        system: System::Ceiling,
                        ramp: Some(ramp),
                        endpoints: Default::default(),
                        process_events: deployment.events(),
                    },
                );
                Ok(())
            })
            .await;
            deployment.stop(GRACE).await?;
            measured
        };
        outcome = until_interrupted(&interrupt, step).await;
    }
    progress.finish();

    record.interrupted = *interrupt.borrow();
    if record.interrupted {
        record
            .invalid_because
            .push("interrupted before the end".to_owned());
    }
    if let Err(e) = &outcome {
        record
            .invalid_because
            .push(format!("stopped by an error: {e:#}"));
    }
    record.finished_unix_ms = unix_ms(SystemTime::now());
    record.judge();
    record.write(&dir)?;
    drop(groups);
    match outcome {
        Err(e) if !record.interrupted => Err(e.context(format!(
            "the run stopped; what it measured is in {}",
            dir.join("run.json").display()
        ))),
        _ => Ok((record, dir)),
    }
}

/// Every scenario but the ceiling's own, against one deployed architecture.
async fn one_system(
    deployment: &Deployment,
    options: &RunOptions,
    bench: &Bench,
    progress: &Progress,
    body: &Path,
    record: &mut Run,
) -> Result<()> {
    let system = deployment.system;
    let profile = &options.profile;
    if !body.exists() {
        capture_page(&deployment.url, body).await?;
    }
    for &scenario in &options.scenarios {
        let phase = |what: &str, length| {
            progress.phase(
                &format!("{} {}: {what}", scenario.name(), system.name()),
                length,
            )
        };
        let result = match scenario {
            Scenario::Capacity => {
                let journey = journey(options.mix.clone(), profile, options.seed);
                let ramp =
                    scenarios::ramp(deployment, journey, profile, bench, "mix", phase).await?;
                with_ramp(system, ramp)
            }
            Scenario::Ceiling => {
                let journey = journey(Mix::only(Action::ProductPage), profile, options.seed);
                let ramp =
                    scenarios::ramp(deployment, journey, profile, bench, "product-page", phase)
                        .await?;
                with_ramp(system, ramp)
            }
            Scenario::HopCost => {
                let found = scenarios::hop_cost(deployment, profile, bench, phase).await?;
                SystemResult {
                    system,
                    ramp: None,
                    endpoints: found
                        .into_iter()
                        .map(|(action, measurement)| {
                            let calls = match system {
                                System::Split => internal_calls(action).to_owned(),
                                _ => "none (in-process)".to_owned(),
                            };
                            (
                                action.name().to_owned(),
                                EndpointResult {
                                    internal_calls: calls,
                                    measurement,
                                },
                            )
                        })
                        .collect(),
                    process_events: Vec::new(),
                }
            }
        };
        push(record, scenario, result);
    }
    Ok(())
}

fn with_ramp(system: System, ramp: scenarios::Ramp) -> SystemResult {
    SystemResult {
        system,
        ramp: Some(ramp),
        endpoints: Default::default(),
        process_events: Vec::new(),
    }
}

fn push(record: &mut Run, scenario: Scenario, result: SystemResult) {
    if let Some(entry) = record.scenarios.iter_mut().find(|s| s.scenario == scenario) {
        entry.systems.push(result);
    }
}

/// Saves the bytes of one product page, for the ceiling to serve.
async fn capture_page(url: &str, to: &Path) -> Result<()> {
    let page = reqwest::get(format!("{url}/api/products/{CEILING_SKU}"))
        .await?
        .error_for_status()?
        .bytes()
        .await?;
    std::fs::write(to, &page).with_context(|| format!("writing {}", to.display()))
}

/// Runs `work` unless an interrupt comes first.
async fn until_interrupted<T>(
    interrupt: &Interrupt,
    work: impl Future<Output = Result<T>>,
) -> Result<T> {
    let mut interrupt = interrupt.clone();
    tokio::select! {
        done = work => done,
        _ = interrupt.wait_for(|stop| *stop) => Err(anyhow!("interrupted")),
    }
}

/// Per-process limits, if the topology sets any and the machine allows; and what to
/// record (and say once) about it.
fn cgroups_for(
    topology: &Topology,
    run_id: &str,
) -> (Option<Arc<RunGroups>>, (String, Option<String>)) {
    let wanted = topology.monolith != Default::default()
        || topology
            .services
            .values()
            .any(|s| s.limits != Default::default());
    if !wanted {
        return (
            None,
            ("not used: the topology sets no limits".to_owned(), None),
        );
    }
    match cgroups::detect().and_then(|h| h.create_run(run_id).map_err(|e| e.to_string())) {
        Ok(groups) => (
            Some(Arc::new(groups)),
            (
                "applied: per-process CPU and memory limits from the topology".to_owned(),
                None,
            ),
        ),
        Err(why) => {
            let note = format!(
                "cgroups are not writable here ({why}): the topology's limits are not applied"
            );
            (None, (note.clone(), Some(note)))
        }
    }
}

fn count_cores(list: &str) -> usize {
    list.split(',')
        .filter(|part| !part.is_empty())
        .map(|part| match part.split_once('-') {
            Some((a, b)) => match (a.parse::<usize>(), b.parse::<usize>()) {
                (Ok(a), Ok(b)) if b >= a => b - a + 1,
                _ => 1,
            },
            None => 1,
        })
        .sum::<usize>()
        .max(1)
}

fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// `20261128-143305`, from the UTC time, unique to the second.
fn run_id(at: SystemTime) -> String {
    let secs = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60
    )
}

/// The progress display: what runs now, how long the whole run has taken and how long
/// this phase has left. Hidden when stderr is not a terminal.
struct Progress {
    bar: ProgressBar,
    /// Counts phases, so the ticker of one that ended stops moving the bar.
    phases: Arc<AtomicU64>,
}

impl Progress {
    fn new() -> Self {
        let bar = ProgressBar::new(1);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {msg:50} [{bar:24}] phase left {eta:>4}  (run {elapsed_precise})",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        Self {
            bar,
            phases: Arc::default(),
        }
    }

    /// A new phase that should take about `length`.
    fn phase(&self, what: &str, length: Duration) {
        self.bar.set_message(what.to_owned());
        self.bar.set_length(length.as_millis().max(1) as u64);
        self.bar.set_position(0);
        self.bar.reset_eta();
        let bar = self.bar.clone();
        let start = Instant::now();
        let phases = self.phases.clone();
        let this = phases.fetch_add(1, Ordering::SeqCst) + 1;
        tokio::spawn(async move {
            while start.elapsed() < length
                && !bar.is_finished()
                && phases.load(Ordering::SeqCst) == this
            {
                bar.set_position(start.elapsed().as_millis() as u64);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
    }

    fn println(&self, line: &str) {
        self.bar.println(line);
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_read_as_utc_dates() {
        let at = UNIX_EPOCH + Duration::from_secs(1_795_876_385);
        assert_eq!(run_id(at), "20261128-143305");
        assert_eq!(run_id(UNIX_EPOCH), "19700101-000000");
    }

    #[test]
    fn core_lists_count_their_cores() {
        assert_eq!(count_cores("0"), 1);
        assert_eq!(count_cores("0-3"), 4);
        assert_eq!(count_cores("0,2-3"), 3);
        assert_eq!(count_cores(""), 1);
    }
}
