//! `loadgen`: measure the monolith and the split build side by side.
//!
//! `loadgen scenarios` lists what it can run, `loadgen run` runs it (both
//! architectures, the standard suite, by default) and writes its HTML report,
//! `loadgen report` rebuilds a report (or compares two runs), `loadgen check` gates a
//! run for CI, `loadgen up` deploys one
//! architecture and keeps it up. See `loadgen help <command>`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use loadgen::deploy::{DeployOptions, Deployment, System};
use loadgen::journeys::Mix;
use loadgen::runner::{self, RunOptions};
use loadgen::scale_hot::CostModel;
use loadgen::scenarios::{Profile, ProfileName, Scenario};
use loadgen::{binaries, gate};
use split::topology::Topology;

#[derive(Debug, Parser)]
#[command(
    name = "loadgen",
    version,
    about = "Measure the shop as a monolith and as services, side by side."
)]
struct Cli {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Debug, Subcommand)]
enum Commands {
    /// List the scenarios, one line each with what it shows.
    Scenarios,
    /// Deploy each architecture, drive the scenarios against it, write results.
    Run(RunArgs),
    /// Rebuild a run's HTML report from its run.json, or compare two runs.
    Report(ReportArgs),
    /// The regression gate: check a finished run; exit 0 if it passes, 1 if not.
    Check(CheckArgs),
    /// Make the performance gate's baseline from clean runs of the ci profile.
    Baseline(BaselineArgs),
    /// Deploy one architecture locally and keep it up until Ctrl-C.
    Up(UpArgs),
}

#[derive(Debug, clap::Args)]
struct CheckArgs {
    /// The run's folder (`results/<run-id>`): its Markdown summary goes to stdout and check.md.
    run_dir: PathBuf,
    /// A baseline (`loadgen baseline`, e.g. results/baseline/ci.json) to judge the run's
    /// performance figures against; without one only the hard gates run.
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// Judge performance and report it, without failing on it (the hard gates still
    /// fail): for a gate on a machine class whose false-alarm rate is not yet measured.
    #[arg(long, requires = "baseline")]
    advisory: bool,
}

#[derive(Debug, clap::Args)]
struct BaselineArgs {
    /// Folders of clean runs of the ci profile on this machine class (three or more).
    #[arg(required = true)]
    run_dirs: Vec<PathBuf>,
    /// Where the baseline goes.
    #[arg(long, default_value = "results/baseline/ci.json")]
    out: PathBuf,
}

#[derive(Debug, clap::Args)]
struct ReportArgs {
    /// The run's folder (`results/<run-id>`): its report.html is written again from its run.json.
    #[arg(required_unless_present = "compare")]
    run_dir: Option<PathBuf>,
    /// Compare two runs' folders instead: OLD then NEW. The page goes into NEW's folder.
    #[arg(long, num_args = 2, value_names = ["OLD", "NEW"], conflicts_with = "run_dir")]
    compare: Option<Vec<PathBuf>>,
}

/// Which architectures to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Arch {
    Monolith,
    Split,
    /// The monolith, then the split build.
    Both,
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Scenarios to run (see `loadgen scenarios`); the profile's when none is named
    /// (the whole suite, or for `ci` the gate's subset).
    #[arg(value_enum)]
    scenarios: Vec<Scenario>,
    /// Which architectures to measure.
    #[arg(long, value_enum, default_value = "both")]
    arch: Arch,
    /// How long and how hard: `quick` for a look, `standard` for figures to keep, `ci`
    /// for the regression gate (its subset in under 8 minutes, then `loadgen check`).
    #[arg(long, value_enum, default_value = "standard")]
    profile: ProfileName,
    /// Where runs go: each gets a folder `<out>/<run-id>/`.
    #[arg(long, default_value = "results")]
    out: PathBuf,
    /// Seeds the arrivals and every user's choices: the same seed intends the same sends.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// The split topology (TOML: replicas, codec, preset, limits); one replica of
    /// everything, JSON, `bare`, when not given.
    #[arg(long)]
    topology: Option<PathBuf>,
    /// The shop mix, as `action=weight,...` (actions: list, search, product-page,
    /// add-to-cart, view-cart, remove-from-cart, checkout, recommendations).
    #[arg(long, default_value_t = Mix::shop())]
    mix: Mix,
    /// A folder of prebuilt service binaries to deploy instead of building the release ones.
    #[arg(long)]
    bins: Option<PathBuf>,
    /// Compare with this commit (anything `git rev-parse` takes) in the interleaved
    /// rounds: its monolith and split run beside this tree's, without the test-only
    /// settings, and each component's time is judged against theirs. Built once, into
    /// `<target>/reference/<commit>/`, then reused.
    #[arg(long, value_name = "REV", conflicts_with = "reference_bins")]
    reference: Option<String>,
    /// As --reference, with a folder of prebuilt service binaries of the reference.
    #[arg(long, value_name = "DIR")]
    reference_bins: Option<PathBuf>,
    /// How long the supervisor waits before restarting a process that died, in ms.
    #[arg(long, default_value_t = 1_000)]
    restart_delay_ms: u64,
    /// scale-hot's cost model: the price of a core for an hour.
    #[arg(long, default_value_t = CostModel::default().price_core_hour)]
    price_core_hour: f64,
    /// scale-hot's cost model: the price of a GB of memory for an hour.
    #[arg(long, default_value_t = CostModel::default().price_gb_hour)]
    price_gb_hour: f64,
    /// scale-hot's cost model: the busy share of its cores each replica is sized for.
    #[arg(long, default_value_t = CostModel::default().target_utilization)]
    target_utilization: f64,
}

#[derive(Debug, clap::Args)]
struct UpArgs {
    /// Which architecture to deploy.
    #[arg(long, value_enum)]
    arch: UpArch,
    /// The split topology (TOML), as for `run`.
    #[arg(long)]
    topology: Option<PathBuf>,
    /// Where the deployment's databases and logs go (a fresh temporary folder when not given).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Products in the catalog.
    #[arg(long, default_value_t = 10_000)]
    products: usize,
    /// A folder of prebuilt service binaries to deploy instead of building the release ones.
    #[arg(long)]
    bins: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum UpArch {
    Monolith,
    Split,
}

/// Exit codes: 0 done, 1 failed, 2 bad input, 130 interrupted.
fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if e.kind() == clap::error::ErrorKind::InvalidSubcommand => {
            let given = std::env::args().nth(1).unwrap_or_default();
            return bad_input(format!(
                "no command `{given}`; the commands: scenarios, run, report, check, up (see `loadgen --help`)"
            ));
        }
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version
        // clap's errors span several lines (the choices, the usage): one line here.
        Err(e) => {
            let text = e.render().to_string();
            let line: Vec<&str> = text
                .lines()
                .map(str::trim)
                .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more"))
                .filter(|l| !l.is_empty())
                .collect();
            let line = line.join(" ");
            return bad_input(line.strip_prefix("error: ").unwrap_or(&line));
        }
    };
    match cli.command {
        Commands::Scenarios => {
            for scenario in Scenario::ALL.into_iter().chain([Scenario::Interleaved]) {
                println!("{:<10} {}", scenario.name(), scenario.about());
            }
            ExitCode::SUCCESS
        }
        Commands::Run(args) => run(args),
        Commands::Report(args) => report(args),
        Commands::Check(args) => check(args),
        Commands::Baseline(args) => baseline(args),
        Commands::Up(args) => up(args),
    }
}

fn bad_input(error: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::from(2)
}

fn failed(error: anyhow::Error) -> ExitCode {
    eprintln!("error: {error:#}");
    ExitCode::FAILURE
}

fn read_topology(path: Option<&PathBuf>) -> Result<Topology> {
    match path {
        Some(path) => Topology::read(path),
        None => Ok(Topology::default()),
    }
}

fn run(args: RunArgs) -> ExitCode {
    let topology = match read_topology(args.topology.as_ref()) {
        Ok(topology) => topology,
        Err(e) => return bad_input(format!("{e:#}")),
    };
    let cost_model = CostModel {
        price_core_hour: args.price_core_hour,
        price_gb_hour: args.price_gb_hour,
        target_utilization: args.target_utilization,
        ..CostModel::default()
    };
    if let Err(e) = cost_model.validate() {
        return bad_input(e);
    }
    if cfg!(debug_assertions) && std::env::var_os("LOADGEN_ALLOW_DEBUG").is_none() {
        return match binaries::switch_to_release() {
            Err(e) => failed(e),
        };
    }
    // The reference asked for is checked before the builds, which take minutes.
    let reference =
        binaries::WantedReference::of_flags(args.reference.as_deref(), args.reference_bins);
    let reference = match reference {
        Ok(reference) => reference,
        Err(e) => return bad_input(format!("{e:#}")),
    };
    // Built before pinning, so cargo has every core.
    let tree_build = args.bins.is_none();
    let bins = match binaries::service_binaries(args.bins) {
        Ok(bins) => bins,
        Err(e) => return failed(e),
    };
    let reference = reference.map(|wanted| wanted.into_reference(tree_build.then_some(&bins)));
    let reference = match reference.transpose() {
        Ok(reference) => reference,
        Err(e) => return failed(e),
    };
    let cores = loadgen::pinning::split_cores();
    if let Err(e) = loadgen::pinning::pin_self(&cores) {
        eprintln!("warning: the generator could not be pinned: {e}");
    }
    let scenarios = if args.scenarios.is_empty() {
        args.profile.scenarios().to_vec()
    } else {
        let mut chosen = args.scenarios;
        chosen.sort();
        chosen.dedup();
        chosen
    };
    let systems = match args.arch {
        Arch::Monolith => vec![System::Monolith],
        Arch::Split => vec![System::Split],
        Arch::Both => vec![System::Monolith, System::Split],
    };
    let options = RunOptions {
        scenarios,
        systems,
        profile: Profile::of(args.profile),
        out: args.out,
        seed: args.seed,
        topology,
        mix: args.mix,
        bins,
        reference,
        cores,
        restart_delay: std::time::Duration::from_millis(args.restart_delay_ms),
        cost_model,
        command: std::env::args().collect(),
        workspace: binaries::workspace().unwrap_or_else(|| PathBuf::from(".")),
    };
    runtime().block_on(async {
        let interrupt = match runner::interrupt_on_signals() {
            Ok(interrupt) => interrupt,
            Err(e) => return failed(e),
        };
        let quiet = QuietStdout::start();
        let outcome = runner::run(options, interrupt.clone()).await;
        drop(quiet);
        match outcome {
            Ok(finished) => finish(finished),
            Err(e) => failed(e),
        }
    })
}

/// Prints a finished run's summary and writes its report; its exit code: 1 when it
/// stopped before the end or an audit failed, 130 when interrupted.
fn finish(
    runner::Finished {
        run,
        dir,
        stopped_by,
    }: runner::Finished,
) -> ExitCode {
    println!("{}", run.summary_table());
    println!("results: {}", dir.join("run.json").display());
    match loadgen::report::write(&run, &dir) {
        Ok(path) => println!("report: {}", path.display()),
        Err(e) => eprintln!("warning: the report was not written: {e:#}"),
    }
    if let Some(e) = stopped_by {
        failed(e.context("the run stopped before the end; the report shows what it measured"))
    } else if run.interrupted {
        ExitCode::from(130)
    } else if run.failed() {
        eprintln!("a scenario failed: the books did not balance after its fault");
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// A report from a run's folder, or the comparison of two. A folder without a
/// readable run.json is bad input (exit 2); failing to write is exit 1.
fn report(args: ReportArgs) -> ExitCode {
    let dirs = match (args.compare, args.run_dir) {
        (Some(pair), _) => pair,
        (None, Some(dir)) => vec![dir],
        (None, None) => Vec::new(),
    };
    let mut runs = Vec::new();
    for dir in &dirs {
        match loadgen::report::load(dir) {
            Ok(run) => runs.push(run),
            Err(e) => return bad_input(format!("{e:#}")),
        }
    }
    let written = match (runs.as_slice(), dirs.as_slice()) {
        ([old, new], [_, new_dir]) => loadgen::report::write_comparison(old, new, new_dir),
        ([run], [dir]) => loadgen::report::write(run, dir),
        _ => return bad_input("name a run's folder, or --compare OLD NEW"),
    };
    match written {
        Ok(path) => {
            println!("report: {}", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => failed(e),
    }
}

/// The gate: 0 passed, 1 a gate failed, 2 bad input (no readable run in the folder, a
/// baseline that cannot judge it, or a folder `check.md` cannot be written to).
fn check(args: CheckArgs) -> ExitCode {
    let run = match loadgen::report::load(&args.run_dir) {
        Ok(run) => run,
        Err(e) => return bad_input(format!("{e:#}")),
    };
    let baseline = match args.baseline.map(|path| gate::read_fitting(&path, &run)) {
        None => None,
        Some(Ok(baseline)) => Some(baseline),
        Some(Err(e)) => return bad_input(format!("{e:#}")),
    };
    let (summary, passed) = gate::check(&run, baseline, args.advisory);
    print!("{summary}");
    let path = args.run_dir.join("check.md");
    if let Err(e) = std::fs::write(&path, &summary) {
        return bad_input(format!(
            "writing {}: {e} (the summary above is the gate's verdict)",
            path.display()
        ));
    }
    if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn baseline(args: BaselineArgs) -> ExitCode {
    let runs: Result<Vec<_>> = args
        .run_dirs
        .iter()
        .map(|d| loadgen::report::load(d))
        .collect();
    let made = runs.and_then(|runs| gate::Baseline::of(&runs));
    let baseline = match made {
        Ok(baseline) => baseline,
        Err(e) => return bad_input(format!("{e:#}")),
    };
    match baseline.write(&args.out) {
        Ok(()) => {
            println!(
                "baseline of {} figures from {} run(s) written to {}",
                baseline.figures.len(),
                baseline.runs.len(),
                args.out.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => failed(e),
    }
}

fn up(args: UpArgs) -> ExitCode {
    let topology = match read_topology(args.topology.as_ref()) {
        Ok(topology) => topology,
        Err(e) => return bad_input(format!("{e:#}")),
    };
    let bins = match binaries::service_binaries(args.bins) {
        Ok(bins) => bins,
        Err(e) => return failed(e),
    };
    runtime().block_on(async {
        match keep_up(args.arch, args.data, args.products, topology, bins).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => failed(e),
        }
    })
}

async fn keep_up(
    arch: UpArch,
    data: Option<PathBuf>,
    products: usize,
    topology: Topology,
    bins: PathBuf,
) -> Result<()> {
    let system = match arch {
        UpArch::Monolith => System::Monolith,
        UpArch::Split => System::Split,
    };
    let scratch;
    let dir = match data {
        Some(dir) => dir,
        None => {
            scratch = tempfile::Builder::new().prefix("loadgen-up-").tempdir()?;
            scratch.path().to_owned()
        }
    };
    let options = DeployOptions {
        bins,
        dir: dir.clone(),
        topology,
        shop_args: vec!["--products".into(), products.to_string().into()],
        setup: Default::default(),
        start_deadline: std::time::Duration::from_secs(120),
        restart_delay: std::time::Duration::from_secs(1),
        cgroups: None,
        proxied: Default::default(),
    };
    let mut interrupt = runner::interrupt_on_signals()?;
    let deployment = tokio::select! {
        deployment = Deployment::start(system, &options, None) => deployment.context("deploying")?,
        _ = interrupt.wait_for(|stop| *stop) => return Ok(()),
    };
    println!("{} up: {}", system.name(), deployment.url);
    println!("logs and data: {}", dir.display());
    println!(
        "admin token: {}",
        std::fs::read_to_string(dir.join("admin.token"))
            .unwrap_or_default()
            .trim()
    );
    println!("Ctrl-C to stop");
    let _ = interrupt.wait_for(|stop| *stop).await;
    println!("stopping");
    deployment.stop(std::time::Duration::from_secs(10)).await
}

/// goose prints "All N users launched." to stdout as each measurement starts, whatever
/// its settings: while this lives, stdout (fd 1) points at /dev/null, and it is put
/// back on drop. The run's own output goes to stderr (progress) or comes after.
struct QuietStdout {
    saved: Option<std::os::fd::RawFd>,
}

impl QuietStdout {
    fn start() -> Self {
        use std::os::fd::AsRawFd;
        let saved = (|| {
            let null = std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/null")
                .ok()?;
            let saved = nix::unistd::dup(1).ok()?;
            nix::unistd::dup2(null.as_raw_fd(), 1).ok()?;
            Some(saved)
        })();
        Self { saved }
    }
}

impl Drop for QuietStdout {
    fn drop(&mut self) {
        if let Some(saved) = self.saved.take() {
            let _ = nix::unistd::dup2(saved, 1);
            let _ = nix::unistd::close(saved);
        }
    }
}

/// A current-thread runtime: the generator has one core (see `pinning`), and on one
/// core it drove more load than a multi-thread one (MEASUREMENT.md).
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}
