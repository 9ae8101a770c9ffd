//! A whole `loadgen run`: calibrate the generator's timer, deploy each architecture in
//! turn, run the chosen scenarios against it, stop it, then the ceiling; judge the run,
//! write `run.json` and say what was found. An interrupt (Ctrl-C, SIGTERM) stops the
//! current deployment cleanly and still writes what was measured, marked interrupted.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, anyhow};
use indicatif::{ProgressBar, ProgressStyle};
use split::ProcessSetup;
use split::topology::Topology;
use tokio::sync::watch;

use crate::binaries::{Copies, Reference};
use crate::cgroups::{self, RunGroups};
use crate::deploy::{Build, DeployOptions, Deployment, System, unix_ms};
use crate::diversify;
use crate::interleaved;
use crate::journeys::{Action, Mix};
use crate::measure::{self, Bench};
use crate::metastable;
use crate::partial_failure::{self, Outage};
use crate::pinning::Cores;
use crate::results::{
    EndpointResult, Environment, Run, SCHEMA_VERSION, ScenarioResult, SystemResult,
};
use crate::rolling;
use crate::scale_hot::{self, CostModel, ScaleResult};
use crate::scenarios::{self, Profile, Scenario, internal_calls};

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
    /// The build the interleaved rounds compare this one with, if one.
    pub reference: Option<Reference>,
    pub cores: Cores,
    /// How long the supervisor waits before restarting a process that exited.
    pub restart_delay: Duration,
    /// Prices and targets of scale-hot's projection.
    pub cost_model: CostModel,
    pub command: Vec<String>,
    /// The workspace, for the git commit.
    pub workspace: PathBuf,
}

/// Set to true by the signal handler: the run stops at the next chance.
pub type Interrupt = watch::Receiver<bool>;

/// An [`Interrupt`] that turns true on SIGINT, SIGTERM or SIGHUP (a closed terminal)
/// (the handlers are installed before this returns; call it once, within the runtime).
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
    use tokio::signal::unix::{SignalKind, signal};
    let mut sigterm = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut sighup = signal(SignalKind::hangup()).context("installing the SIGHUP handler")?;
    tokio::spawn(async move {
        tokio::select! {
            _ = sigterm.recv() => {}
            _ = sighup.recv() => {}
        }
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

/// A run that got as far as writing its `run.json`.
#[derive(Debug)]
pub struct Finished {
    pub run: Run,
    /// Its folder.
    pub dir: PathBuf,
    /// The error that stopped it before the end, if one did (an interrupt is not one:
    /// `run.interrupted` says so). What it measured until then is in `run`.
    pub stopped_by: Option<anyhow::Error>,
}

/// Runs everything `options` asks for. An error before the run's folder exists, or
/// while writing `run.json`, is the `Err`; one that stops the measuring is kept in
/// [`Finished::stopped_by`], after what was measured is written.
pub async fn run(options: RunOptions, interrupt: Interrupt) -> Result<Finished> {
    let started = SystemTime::now();
    let (run_id, dir) = new_run_dir(&options.out)?;
    let progress = Progress::new();

    let limits = Cgroups::for_run(&options.topology, &run_id);
    if limits.unavailable {
        progress.println(&limits.note);
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
    let mut found = Run {
        schema_version: SCHEMA_VERSION,
        run_id: run_id.clone(),
        started_unix_ms: unix_ms(started),
        finished_unix_ms: 0,
        command: options.command.clone(),
        environment: Environment {
            reference: options.reference.clone(),
            ..Environment::here(&options.workspace, options.cores.count())
        },
        profile: options.profile.clone(),
        seed: options.seed,
        topology: options.topology.clone(),
        mix: options.mix.clone(),
        cores: options.cores.clone(),
        cgroups: limits.note.clone(),
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
        claims: Vec::new(),
    };
    let bench = Bench {
        seed: options.seed,
        generator_cores: options.cores.generator.len(),
        sut_cores: options.cores.system_under_test.len(),
        timer_bias,
        goose_reports: Some(dir.join("goose")),
    };
    // Each build runs from copies made alike, not from where it was found.
    let reference_bins = options.reference.as_ref().map(|r| r.bins.as_path());
    let bins = Copies::of(&options.bins, reference_bins)?;
    let session = Session {
        options: &options,
        bins: &bins,
        bench: &bench,
        progress: &progress,
        interrupt: &interrupt,
        body: dir.join("ceiling-body.json"),
        dir: &dir,
        cgroups: limits.groups.clone(),
    };

    // Each architecture with every scenario, then the ceiling with its own; last, the
    // interleaved turns, against all of them at once.
    let one_at_a_time: Vec<Scenario> = options
        .scenarios
        .iter()
        .copied()
        .filter(|&s| s != Scenario::Interleaved)
        .collect();
    let mut plan: Vec<(System, Vec<Scenario>)> = options
        .systems
        .iter()
        .map(|&system| (system, one_at_a_time.clone()))
        .filter(|(_, scenarios)| !scenarios.is_empty())
        .collect();
    if options.scenarios.contains(&Scenario::Ceiling) {
        plan.push((System::Ceiling, vec![Scenario::Ceiling]));
    }
    let mut failure = None;
    for (system, scenarios) in plan {
        if *interrupt.borrow() {
            break;
        }
        let (results, outcome) = session.measure_system(system, &scenarios).await;
        found.add(results);
        if let Err(e) = outcome {
            failure = Some(e);
            break;
        }
    }
    if failure.is_none()
        && !*interrupt.borrow()
        && options.scenarios.contains(&Scenario::Interleaved)
    {
        let (results, outcome) = session.interleaved().await;
        found.add(results);
        failure = outcome.err();
    }
    progress.finish();

    found.interrupted = *interrupt.borrow();
    if found.interrupted {
        found
            .invalid_because
            .push("interrupted before the end".to_owned());
    } else if let Some(e) = &failure {
        found
            .invalid_because
            .push(format!("stopped by an error: {e:#}"));
    }
    found.finished_unix_ms = unix_ms(SystemTime::now());
    found.judge();
    found.write(&dir)?;
    Ok(Finished {
        stopped_by: failure.filter(|_| !found.interrupted),
        run: found,
        dir,
    })
}

/// What every deployment of one run shares.
struct Session<'a> {
    options: &'a RunOptions,
    /// The binaries each build is deployed from.
    bins: &'a Copies,
    bench: &'a Bench,
    progress: &'a Progress,
    interrupt: &'a Interrupt,
    /// Where the product page the ceiling serves is kept.
    body: PathBuf,
    dir: &'a Path,
    cgroups: Option<Arc<RunGroups>>,
}

impl Session<'_> {
    /// How a system is deployed with `topology`, in its own folder `dir_name`.
    fn deploy_options(&self, topology: &Topology, dir_name: &str) -> DeployOptions {
        self.deploy_build(Build::Candidate, topology, dir_name)
    }

    /// [`deploy_options`](Self::deploy_options), of `build`.
    fn deploy_build(&self, build: Build, topology: &Topology, dir_name: &str) -> DeployOptions {
        let options = self.options;
        let bins = match (build, &self.bins.reference) {
            (Build::Reference, Some(reference)) => reference.clone(),
            _ => self.bins.candidate.clone(),
        };
        DeployOptions {
            bins,
            dir: self.dir.join(dir_name),
            topology: topology.clone(),
            shop_args: vec![
                "--products".into(),
                options.profile.products.to_string().into(),
                // Orders a fault left pending are settled within the audit's wait.
                "--settle-interval-secs".into(),
                "1".into(),
                "--stale-checkout-secs".into(),
                scenarios::stale_checkout(topology.preset)
                    .as_secs()
                    .to_string()
                    .into(),
            ],
            setup: ProcessSetup {
                cpus: options
                    .cores
                    .pinned
                    .then(|| crate::pinning::list(&options.cores.system_under_test)),
                withhold_test_knobs: build == Build::Reference,
            },
            start_deadline: START_DEADLINE,
            restart_delay: options.restart_delay,
            cgroups: self.cgroups.clone(),
            proxied: Default::default(),
        }
    }

    /// Deploys `system`, runs `scenarios` against it, and always stops it in order
    /// (an interrupt cuts the deploying or the measuring short, never the stopping).
    /// Returns what was measured, even when cut short, and how it ended.
    async fn measure_system(
        &self,
        system: System,
        scenarios: &[Scenario],
    ) -> (Vec<(Scenario, SystemResult)>, Result<()>) {
        let mut results = Vec::new();
        self.progress.phase(
            &format!("{}: deploying", system.name()),
            Duration::from_secs(5),
        );
        let options = self.deploy_options(&self.options.topology, system.name());
        let body = (system == System::Ceiling).then_some(self.body.as_path());
        let deployment = match until_interrupted(
            self.interrupt,
            Deployment::start(system, &options, body),
        )
        .await
        {
            Ok(deployment) => deployment,
            Err(e) => return (results, Err(e)),
        };
        let measured = until_interrupted(self.interrupt, async {
            if system != System::Ceiling && !self.body.exists() {
                capture_page(&deployment.url, &self.body).await?;
            }
            // Each scenario gets the process events of its own stretch (the first,
            // the starts too), and those of the deployments it made itself.
            let mut seen = 0;
            for &scenario in scenarios {
                let mut result = self.one_scenario(&deployment, scenario).await?;
                let events = deployment.events();
                // After those of any deployment of the scenario's own.
                result.process_events.extend_from_slice(&events[seen..]);
                seen = events.len();
                results.push((scenario, result));
            }
            Ok(())
        })
        .await;
        self.progress
            .phase(&format!("{}: stopping", system.name()), GRACE);
        let stopped = deployment.stop(GRACE).await;
        (results, measured.and(stopped))
    }

    /// The interleaved scenario: the ceiling and every architecture of the run deployed
    /// at once (and of the reference build, when the run has one), measured in turns,
    /// and all stopped in order whatever happened.
    async fn interleaved(&self) -> (Vec<(Scenario, SystemResult)>, Result<()>) {
        // The architectures first, each beside its reference: the ceiling serves a page
        // captured from one of them. Turns go ceiling, monolith with its reference,
        // split with its reference, and back.
        let mut sides: Vec<(System, Build)> = Vec::new();
        for &system in &self.options.systems {
            sides.push((system, Build::Candidate));
            if self.options.reference.is_some() {
                sides.push((system, Build::Reference));
            }
        }
        sides.push((System::Ceiling, Build::Candidate));
        let mut deployments: Vec<(Deployment, Build)> = Vec::new();
        let measured = until_interrupted(self.interrupt, async {
            for &(system, build) in &sides {
                let name = match build {
                    Build::Candidate => system.name().to_owned(),
                    Build::Reference => format!("{}-reference", system.name()),
                };
                self.progress.phase(
                    &format!("interleaved: deploying {name}"),
                    Duration::from_secs(5),
                );
                let options = self.deploy_build(
                    build,
                    &self.options.topology,
                    &format!("interleaved-{name}"),
                );
                let body = (system == System::Ceiling).then_some(self.body.as_path());
                let deployment = Deployment::start(system, &options, body).await?;
                let url = deployment.url.clone();
                // Kept before anything else can fail, so that it is stopped in order.
                deployments.push((deployment, build));
                if system != System::Ceiling && !self.body.exists() {
                    capture_page(&url, &self.body).await?;
                }
            }
            deployments.rotate_right(1);
            let sides: Vec<interleaved::Side> = deployments
                .iter()
                .map(|(deployment, build)| interleaved::Side {
                    deployment,
                    build: *build,
                })
                .collect();
            let phase =
                |what: &str, length| self.progress.phase(&format!("interleaved {what}"), length);
            let opts = self.options;
            interleaved::run(&sides, &opts.mix, &opts.profile, self.bench, phase).await
        })
        .await;
        // Every deployment's events, whatever happened (a crash is a finding); the turns
        // when the scenario finished.
        let (turns, mut outcome) = match measured {
            Ok(turns) => (turns, Ok(())),
            Err(e) => (Vec::new(), Err(e)),
        };
        let mut turns = turns.into_iter();
        let results = deployments
            .iter()
            .map(|(deployment, build)| {
                let result = SystemResult {
                    build: *build,
                    turns: turns.next().unwrap_or_default(),
                    process_events: deployment.events(),
                    ..SystemResult::empty(deployment.system)
                };
                (Scenario::Interleaved, result)
            })
            .collect();
        for (deployment, build) in deployments {
            let whose = build.suffix();
            self.progress.phase(
                &format!("interleaved: stopping {}{whose}", deployment.system.name()),
                GRACE,
            );
            let stopped = deployment.stop(GRACE).await;
            outcome = outcome.and(stopped);
        }
        (results, outcome)
    }

    /// One scenario against one deployment.
    async fn one_scenario(
        &self,
        deployment: &Deployment,
        scenario: Scenario,
    ) -> Result<SystemResult> {
        let (options, bench, profile) = (self.options, self.bench, &self.options.profile);
        let system = deployment.system;
        let phase = |what: &str, length| {
            self.progress.phase(
                &format!("{} {}: {what}", scenario.name(), system.name()),
                length,
            )
        };
        Ok(match scenario {
            Scenario::Capacity => {
                let ramp =
                    scenarios::ramp(deployment, &options.mix, profile, bench, "mix", phase).await?;
                with_ramp(system, ramp)
            }
            Scenario::Ceiling => {
                let page = Mix::only(Action::ProductPage);
                let ramp =
                    scenarios::ramp(deployment, &page, profile, bench, "product-page", phase)
                        .await?;
                with_ramp(system, ramp)
            }
            Scenario::CrashPayments
            | Scenario::HangRecommendations
            | Scenario::SlowInventory
            | Scenario::ErrorsCatalog
            | Scenario::ReplicaLoss => {
                let outage = Outage::of(scenario).context("a partial-failure scenario")?;
                let mix = &options.mix;
                let mut events = Vec::new();
                let found = match outage.topology(&options.topology) {
                    None => {
                        partial_failure::run(deployment, &outage, mix, profile, bench, phase)
                            .await?
                    }
                    // Its own replicas of the process at fault, on the same cores.
                    Some(topology) => {
                        // A folder of its own: no other scenario's orders or stock.
                        let name = format!("{}-{}", system.name(), scenario.name());
                        let deploy = self.deploy_options(&topology, &name);
                        phase(
                            &format!("deploying {} replicas", outage.fleet.unwrap_or(1)),
                            Duration::from_secs(5),
                        );
                        let fleet = Deployment::start(system, &deploy, None).await?;
                        let found =
                            partial_failure::run(&fleet, &outage, mix, profile, bench, phase).await;
                        events = fleet.events();
                        let stopped = fleet.stop(GRACE).await;
                        let found = found?;
                        stopped?;
                        found
                    }
                };
                SystemResult {
                    outage: Some(found),
                    process_events: events,
                    ..SystemResult::empty(system)
                }
            }
            Scenario::Metastable => {
                let mix = &options.mix;
                let mut spikes = Vec::new();
                let mut events = Vec::new();
                if system == System::Split {
                    let preset = options.topology.preset;
                    spikes.push(
                        metastable::run(deployment, Some(preset), mix, profile, bench, phase)
                            .await?,
                    );
                    // The other preset, on a split build of its own.
                    let mut topology = options.topology.clone();
                    topology.preset = metastable::other(preset);
                    let name = format!("split-{}", topology.preset.name());
                    let deploy = self.deploy_options(&topology, &name);
                    phase(
                        &format!("deploying with the {} preset", topology.preset.name()),
                        Duration::from_secs(5),
                    );
                    let other = Deployment::start(system, &deploy, None).await?;
                    let found =
                        metastable::run(&other, Some(topology.preset), mix, profile, bench, phase)
                            .await;
                    events = other.events();
                    let stopped = other.stop(GRACE).await;
                    spikes.push(found?);
                    stopped?;
                } else {
                    spikes
                        .push(metastable::run(deployment, None, mix, profile, bench, phase).await?);
                }
                SystemResult {
                    spikes,
                    process_events: events,
                    ..SystemResult::empty(system)
                }
            }
            Scenario::Diversify if system == System::Split => {
                let topology = diversify::switched(&options.topology);
                let deploy = self.deploy_options(&topology, "split-switched");
                phase(
                    &format!("deploying with {}", diversify::change(&options.topology)),
                    Duration::from_secs(5),
                );
                let switched = Deployment::start(system, &deploy, None).await?;
                let change = diversify::change(&options.topology);
                let found = diversify::run(
                    deployment,
                    &switched,
                    change,
                    &options.mix,
                    profile,
                    bench,
                    phase,
                )
                .await;
                let events = switched.events();
                let stopped = switched.stop(GRACE).await;
                let found = found?;
                stopped?;
                SystemResult {
                    diversify: Some(found),
                    process_events: events,
                    ..SystemResult::empty(system)
                }
            }
            Scenario::ScaleHot => {
                let mix = scale_hot::hot_mix();
                let base = scenarios::ramp(deployment, &mix, profile, bench, "hot", phase).await?;
                let topology = scale_hot::scaled(&options.topology);
                let deploy = self.deploy_options(&topology, &format!("{}-scaled", system.name()));
                let scaled_words = scale_hot::scaled_words(system);
                phase(&format!("deploying {scaled_words}"), Duration::from_secs(5));
                let scaled = Deployment::start(system, &deploy, None).await?;
                let found =
                    scenarios::ramp(&scaled, &mix, profile, bench, "hot-scaled", phase).await;
                let events = scaled.events();
                let stopped = scaled.stop(GRACE).await;
                let found = found?;
                stopped?;
                SystemResult {
                    scale: Some(ScaleResult::of(
                        base,
                        found,
                        bench.sut_cores,
                        options.cost_model,
                    )),
                    process_events: events,
                    ..SystemResult::empty(system)
                }
            }
            Scenario::RollingDeploy => {
                let topology = rolling::topology(&options.topology);
                let mut deploy =
                    self.deploy_options(&topology, &format!("{}-rolling", system.name()));
                deploy
                    .shop_args
                    .extend(rolling::shop_args().map(Into::into));
                phase(
                    &format!("deploying {} replicas", rolling::FLEET),
                    Duration::from_secs(5),
                );
                let fleet = Deployment::start(system, &deploy, None).await?;
                let found = rolling::run(&fleet, &options.mix, profile, bench, phase).await;
                let events = fleet.events();
                let stopped = fleet.stop(GRACE).await;
                let found = found?;
                stopped?;
                SystemResult {
                    rollout: Some(found),
                    process_events: events,
                    ..SystemResult::empty(system)
                }
            }
            // One process, one stack: nothing it can switch for one component alone.
            Scenario::Diversify => SystemResult::empty(system),
            Scenario::Interleaved => {
                anyhow::bail!("the interleaved scenario runs against every system at once")
            }
            Scenario::HopCost => {
                let found = scenarios::hop_cost(deployment, profile, bench, phase).await?;
                SystemResult {
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
                    ..SystemResult::empty(system)
                }
            }
        })
    }
}

fn with_ramp(system: System, ramp: scenarios::Ramp) -> SystemResult {
    SystemResult {
        ramp: Some(ramp),
        ..SystemResult::empty(system)
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

/// Per-process limits for a run, if the topology sets any and the machine allows.
struct Cgroups {
    groups: Option<Arc<RunGroups>>,
    /// What the results say about them.
    note: String,
    /// Limits were asked for and cannot be applied: worth saying once, up front.
    unavailable: bool,
}

impl Cgroups {
    fn for_run(topology: &Topology, run_id: &str) -> Self {
        let wanted = !topology.monolith.limits().is_unlimited()
            || topology.services.values().any(|s| !s.limits.is_unlimited());
        if !wanted {
            return Self {
                groups: None,
                note: "not used: the topology sets no limits".to_owned(),
                unavailable: false,
            };
        }
        match cgroups::detect().and_then(|h| h.create_run(run_id).map_err(|e| e.to_string())) {
            Ok(groups) => Self {
                groups: Some(Arc::new(groups)),
                note: "applied: per-process CPU and memory limits from the topology".to_owned(),
                unavailable: false,
            },
            Err(why) => Self {
                groups: None,
                note: format!(
                    "cgroups are not writable here ({why}): the topology's limits are not applied"
                ),
                unavailable: true,
            },
        }
    }
}

/// A new folder for a run in `out`, named by the UTC time (`20261128-143305`), with
/// `-2`, `-3`... when a run started in the same second.
fn new_run_dir(out: &Path) -> Result<(String, PathBuf)> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S").to_string();
    for n in 1.. {
        let run_id = if n == 1 {
            stamp.clone()
        } else {
            format!("{stamp}-{n}")
        };
        let dir = out.join(&run_id);
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok((run_id, dir)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("creating {}", dir.display())),
        }
    }
    unreachable!("some suffix is free")
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
    fn runs_in_the_same_second_get_folders_of_their_own() {
        let out = tempfile::tempdir().unwrap();
        let (first, a) = new_run_dir(out.path()).unwrap();
        let (second, b) = new_run_dir(out.path()).unwrap();
        assert_ne!(a, b);
        assert!(a.is_dir() && b.is_dir());
        assert_eq!(first.len(), "20261128-143305".len());
        assert!(second.starts_with(&first[..8]), "{first} {second}");
    }
}
