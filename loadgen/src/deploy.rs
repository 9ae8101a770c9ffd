//! The system under test, deployed on this machine: the monolith (one process, or
//! `monolith-0`... behind the `balancer` when the topology asks for replicas), the split
//! build (every service's replicas and the gateway, through [`split::SplitDeployment`])
//! or the ceiling (the physical reference).
//!
//! Every process runs on the cores given to the system under test (`taskset`), in a
//! process group of its own, with its stderr in `logs/NAME.log` of the deployment's
//! folder (its databases and secrets beside them), and with the CPU and memory limits
//! of the topology where cgroups allow. A
//! process counts as up once `/health/ready` answers 200. A supervisor restarts a
//! process that exits on its own after a delay, as an orchestrator would, and keeps a
//! timestamped record of every exit and restart. [`Deployment::stop`] stops everything
//! in order; dropping a deployment (a panic, an error) kills every process.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use shop_domain::Component;
use split::launch::{LaunchOptions, ProcessSetup, SplitDeployment, Supervised};
use split::topology::{ProcessLimits, START_ORDER, Topology};
use tokio::sync::Mutex as AsyncMutex;
use tokio::task::JoinHandle;

use crate::cgroups::RunGroups;
use crate::cost::Watched;

/// The longest a process told to stop may take before it is killed: its drain limit
/// (10 s by default) and more.
pub const STOP_GRACE: Duration = Duration::from_secs(15);

/// What is deployed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum System {
    Monolith,
    Split,
    /// A bare axum endpoint answering every GET with one captured product page.
    Ceiling,
}

impl System {
    pub fn name(self) -> &'static str {
        match self {
            System::Monolith => "monolith",
            System::Split => "split",
            System::Ceiling => "ceiling",
        }
    }
}

/// Which build of the shop a deployment runs.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Build {
    /// The build under test: the tree `loadgen` runs from, or `--bins`.
    #[default]
    Candidate,
    /// The build it is compared with in the same rounds (`loadgen run --reference`),
    /// run as it is: the test-only settings never reach it.
    Reference,
}

impl Build {
    pub fn is_candidate(&self) -> bool {
        *self == Build::Candidate
    }

    /// What follows a system's name in progress lines: nothing for the candidate.
    pub fn suffix(self) -> &'static str {
        match self {
            Build::Candidate => "",
            Build::Reference => " (reference)",
        }
    }
}

/// How to deploy, whatever is deployed.
#[derive(Debug, Clone)]
pub struct DeployOptions {
    /// The folder holding the `monolith`, `ceiling` and `split-*` binaries.
    pub bins: PathBuf,
    /// This deployment's folder: its databases, secrets and `logs/`.
    pub dir: PathBuf,
    pub topology: Topology,
    /// Flags for every shop process (`--products 2000`, ...).
    pub shop_args: Vec<OsString>,
    /// How each process starts: the system under test's cores (all when none are
    /// given), and whether the test-only settings reach it (not for a reference build).
    pub setup: ProcessSetup,
    /// The longest a process may take to start and become ready.
    pub start_deadline: Duration,
    /// How long the supervisor waits before restarting a process that exited.
    pub restart_delay: Duration,
    /// Where per-process limits go, when cgroups are writable here.
    pub cgroups: Option<Arc<RunGroups>>,
    /// Split services whose incoming links go through the fault proxy, for network
    /// faults (the monolith has no such links: it ignores this).
    pub proxied: BTreeSet<Component>,
}

/// One process of a deployment.
#[derive(Debug, Clone)]
struct Member {
    name: String,
    limits: ProcessLimits,
    process: Arc<AsyncMutex<Supervised>>,
}

/// Something that happened to a process, and when (Unix milliseconds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessEvent {
    pub at_unix_ms: u64,
    pub process: String,
    #[serde(flatten)]
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum EventKind {
    Started {
        pid: u32,
    },
    /// It ended without being asked to (a crash, a kill from outside).
    Exited {
        status: String,
    },
    Restarted {
        pid: u32,
    },
    RestartFailed {
        error: String,
    },
    /// Its limits could not be applied.
    Unconfined {
        error: String,
    },
    /// Stopped on purpose and started again as another release (a rolling deploy).
    Replaced {
        pid: u32,
        release: String,
    },
}

/// One process replaced by another release, as a rolling deploy does it: told to
/// stop (it deregisters and drains), then started again where it was, and waited for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Replacement {
    pub process: String,
    pub release: String,
    pub stopped_unix_ms: u64,
    /// From SIGTERM to its exit: deregistering and draining.
    pub stop_ms: f64,
    /// From starting the new process to its `/health/ready` answering 200.
    pub cold_start_ms: f64,
}

/// A running system under test.
#[derive(Debug)]
pub struct Deployment {
    pub system: System,
    /// Where its public API answers: `http://127.0.0.1:PORT`.
    pub url: String,
    /// Its folder: databases, secrets, `logs/`.
    pub dir: PathBuf,
    /// The fault proxy's control API (`http://127.0.0.1:PORT`), when links go through it.
    pub link_proxy: Option<String>,
    /// The run's cgroups, where limits can be applied (and changed mid-run).
    cgroups: Option<Arc<RunGroups>>,
    /// In stop order: the entry point first.
    members: Vec<Member>,
    events: Arc<Mutex<Vec<ProcessEvent>>>,
    /// Processes being brought back by someone (the supervisor restarting one, a
    /// deploy replacing one): the supervisor leaves them alone.
    busy: Busy,
    stopping: Arc<AtomicBool>,
    supervisor: Option<JoinHandle<()>>,
    start_deadline: Duration,
    /// How long a process may take to stop cleanly before it is killed.
    stop_grace: Duration,
}

type Busy = Arc<Mutex<BTreeSet<String>>>;

/// Takes a process out of the busy set when dropped.
struct Unbusy<'a>(&'a Busy, &'a str);

impl Drop for Unbusy<'_> {
    fn drop(&mut self) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(self.1);
    }
}

impl Deployment {
    /// Deploys `system`. The ceiling serves the bytes of `ceiling_body`.
    pub async fn start(
        system: System,
        options: &DeployOptions,
        ceiling_body: Option<&Path>,
    ) -> Result<Self> {
        // The split launcher keeps its logs in `logs/` of its data folder: so do all.
        let data = options.dir.clone();
        let logs = data.join("logs");
        std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
        // One process on the system under test's cores, logging to `logs/NAME.log`.
        let start_one = |binary: &'static str, name: String, args: Vec<OsString>| {
            let log = logs.join(format!("{name}.log"));
            async move {
                let binary = options.bins.join(binary);
                let (deadline, setup) = (options.start_deadline, &options.setup);
                Supervised::start_pinned(&name, &binary, args, &log, deadline, setup).await
            }
        };
        let members = match system {
            System::Monolith => {
                let mut args: Vec<OsString> = vec![
                    "--listen".into(),
                    "127.0.0.1:0".into(),
                    "--data".into(),
                    data.clone().into(),
                ];
                args.extend(options.shop_args.iter().cloned());
                let spec = options.topology.monolith;
                if spec.replicas <= 1 {
                    let process = start_one("monolith", "monolith".to_owned(), args).await?;
                    vec![member(process, spec.limits())]
                } else {
                    // Whole copies on one data folder, behind the balancer. The first
                    // seeds the database before the others open it.
                    args.push("--shared-data".into());
                    let mut replicas = Vec::new();
                    for index in 0..spec.replicas {
                        let name = format!("monolith-{index}");
                        replicas.push(start_one("monolith", name, args.clone()).await?);
                    }
                    let mut balancer_args: Vec<OsString> =
                        vec!["--listen".into(), "127.0.0.1:0".into()];
                    for replica in &replicas {
                        balancer_args.extend(["--replica".into(), replica.base_url.clone().into()]);
                    }
                    let balancer =
                        start_one("balancer", "balancer".to_owned(), balancer_args).await?;
                    let mut members = vec![member(balancer, ProcessLimits::default())];
                    members.extend(replicas.into_iter().map(|p| member(p, spec.limits())));
                    members
                }
            }
            System::Ceiling => {
                let body = ceiling_body.context("the ceiling needs a body to serve")?;
                let args = vec![
                    "--listen".into(),
                    "127.0.0.1:0".into(),
                    "--body".into(),
                    body.into(),
                ];
                // Held to the monolith's limits: it stands for the monolith's page.
                let process = start_one("ceiling", "ceiling".to_owned(), args).await?;
                vec![member(process, options.topology.monolith.limits())]
            }
            System::Split => {
                let split = SplitDeployment::launch(LaunchOptions {
                    bins: options.bins.clone(),
                    data: data.clone(),
                    topology: options.topology.clone(),
                    gateway_listen: "127.0.0.1:0".parse()?,
                    shop_args: options.shop_args.clone(),
                    start_deadline: options.start_deadline,
                    setup: options.setup.clone(),
                    proxied: options.proxied.clone(),
                })
                .await?;
                let SplitDeployment {
                    mut services,
                    gateway,
                    link_proxy,
                    ..
                } = split;
                let mut members = vec![member(gateway, ProcessLimits::default())];
                for wave in START_ORDER.iter().rev() {
                    for component in wave.iter() {
                        let limits = options.topology.spec(*component).limits;
                        for process in services.remove(component).into_iter().flatten() {
                            members.push(member(process, limits));
                        }
                    }
                }
                // Last to stop: the links of every service run through it.
                members.extend(link_proxy.map(|p| member(p, ProcessLimits::default())));
                members
            }
        };
        let url = members[0].process.lock().await.base_url.clone();
        let mut link_proxy = None;
        for member in members.iter().filter(|m| m.name == "link-proxy") {
            link_proxy = Some(member.process.lock().await.base_url.clone());
        }
        let mut deployment = Self {
            system,
            url,
            dir: data.clone(),
            link_proxy,
            cgroups: options.cgroups.clone(),
            members,
            events: Arc::default(),
            busy: Arc::default(),
            stopping: Arc::default(),
            supervisor: None,
            start_deadline: options.start_deadline,
            stop_grace: STOP_GRACE,
        };
        for member in &deployment.members {
            let process = member.process.lock().await;
            let pid = process.pid().map_or(0, |p| p.as_raw() as u32);
            deployment.record(&member.name, EventKind::Started { pid });
            if let Some(groups) = &options.cgroups {
                confine(groups, member, &process, &deployment.events);
            }
        }
        if let Err(e) = wait_ready(&deployment.url, options.start_deadline).await {
            return Err(e.context(format!(
                "{} did not become ready; the ends of its logs:\n{}",
                system.name(),
                log_tails(&logs, 10)
            )));
        }
        deployment.supervisor = Some(tokio::spawn(supervise(
            deployment.members.clone(),
            deployment.events.clone(),
            deployment.busy.clone(),
            deployment.stopping.clone(),
            options.restart_delay,
            options.start_deadline,
            options.cgroups.clone(),
        )));
        Ok(deployment)
    }

    fn record(&self, process: &str, kind: EventKind) {
        record(&self.events, process, kind);
    }

    /// The token `/admin/` answers to, as the processes wrote it in their folder.
    pub fn admin_token(&self) -> Result<String> {
        let path = self.dir.join("admin.token");
        let token = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        Ok(token.trim().to_owned())
    }

    /// Replaces the process called `process` with release `release` of it: SIGTERM
    /// (it deregisters and drains as its flags say; killed after a grace), then the
    /// same binary with `--release RELEASE` where it was, waited for until ready. The
    /// supervisor does not step in meanwhile.
    pub async fn replace(&self, process: &str, release: &str) -> Result<Replacement> {
        let member = self.member(process)?;
        let newly = self
            .busy
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(member.name.clone());
        if !newly {
            bail!("{process} is being restarted or replaced already");
        }
        // Out of the busy set however this ends, a cancelled future included.
        let _done = Unbusy(&self.busy, &member.name);
        self.replace_member(member, release).await
    }

    async fn replace_member(&self, member: &Member, release: &str) -> Result<Replacement> {
        let stopped_unix_ms = unix_ms(SystemTime::now());
        let stop = Instant::now();
        let respawn = {
            let mut process = member.process.lock().await;
            process.stop(self.stop_grace).await?;
            process.respawn().with_flag("--release", release)
        };
        let stop_ms = stop.elapsed().as_secs_f64() * 1e3;
        let start = Instant::now();
        let fresh = respawn.start(self.start_deadline).await?;
        wait_ready(&fresh.base_url, self.start_deadline).await?;
        let cold_start_ms = start.elapsed().as_secs_f64() * 1e3;
        let mut process = member.process.lock().await;
        *process = fresh;
        let pid = process.pid().map_or(0, |p| p.as_raw() as u32);
        self.record(
            &member.name,
            EventKind::Replaced {
                pid,
                release: release.to_owned(),
            },
        );
        if let Some(groups) = &self.cgroups {
            confine(groups, member, &process, &self.events);
        }
        Ok(Replacement {
            process: member.name.clone(),
            release: release.to_owned(),
            stopped_unix_ms,
            stop_ms,
            cold_start_ms,
        })
    }

    /// The release the process called `process` reports on `/health/live`.
    pub async fn release_of(&self, process: &str) -> Result<String> {
        let url = self.member(process)?.process.lock().await.base_url.clone();
        let live: serde_json::Value = reqwest::get(format!("{url}/health/live"))
            .await?
            .error_for_status()?
            .json()
            .await
            .with_context(|| format!("reading {process}'s /health/live"))?;
        live["release"]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("{process}'s /health/live names no release: {live}"))
    }

    fn member(&self, process: &str) -> Result<&Member> {
        self.members
            .iter()
            .find(|m| m.name == process)
            .ok_or_else(|| anyhow::anyhow!("no process `{process}` in this deployment"))
    }

    /// Sends `signal` to the process called `process` (`monolith`, `catalog-0`).
    pub async fn signal(&self, process: &str, signal: nix::sys::signal::Signal) -> Result<()> {
        self.member(process)?.process.lock().await.signal(signal);
        Ok(())
    }

    /// Every process now, for the cost sampler.
    pub async fn watched(&self) -> Vec<Watched> {
        let mut watched = Vec::new();
        for member in &self.members {
            if let Some(pid) = member.process.lock().await.pid() {
                watched.push(Watched {
                    name: member.name.clone(),
                    pid: pid.as_raw(),
                });
            }
        }
        watched
    }

    /// Holds the process `process` to `limits` through its cgroup from now on; `None`
    /// puts back the topology's own. Refused where the run has no writable cgroups.
    pub async fn limit(&self, process: &str, limits: Option<ProcessLimits>) -> Result<()> {
        let groups = self.cgroups.as_ref().with_context(|| {
            format!("cannot change the limits of {process}: this run has no writable cgroups")
        })?;
        let member = self
            .members
            .iter()
            .find(|m| m.name == process)
            .with_context(|| format!("no process `{process}` in this deployment"))?;
        let pid = member
            .process
            .lock()
            .await
            .pid()
            .with_context(|| format!("{process} is not running"))?;
        // Confining again keeps the group and moves the (maybe restarted) process in.
        groups
            .confine(&member.name, pid.as_raw(), limits.unwrap_or(member.limits))
            .with_context(|| format!("limiting {process}"))
    }

    /// Where each process answers now (its own `/metrics`, `/health`).
    pub async fn process_urls(&self) -> Vec<String> {
        self.named_process_urls()
            .await
            .into_iter()
            .map(|(_, url)| url)
            .collect()
    }

    /// Each process's name (`monolith`, `catalog-0`, `gateway`) and where it answers now.
    pub async fn named_process_urls(&self) -> Vec<(String, String)> {
        let mut urls = Vec::new();
        for member in &self.members {
            let url = member.process.lock().await.base_url.clone();
            urls.push((member.name.clone(), url));
        }
        urls
    }

    /// Whether one of its processes is called `name`.
    pub fn has_process(&self, name: &str) -> bool {
        self.members.iter().any(|m| m.name == name)
    }

    /// The names of the processes hosting `component` (`inventory-0`, ...).
    pub fn process_names(&self, component: Component) -> Vec<String> {
        self.members
            .iter()
            .filter(|m| component_of(&m.name) == Some(component))
            .map(|m| m.name.clone())
            .collect()
    }

    /// Every exit and restart so far.
    pub fn events(&self) -> Vec<ProcessEvent> {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Stops the supervisor, then every process in order (SIGTERM, at most `grace` to
    /// drain, then SIGKILL).
    pub async fn stop(mut self, grace: Duration) -> Result<()> {
        self.stopping.store(true, Ordering::SeqCst);
        if let Some(supervisor) = self.supervisor.take() {
            supervisor.abort();
            let _ = supervisor.await;
        }
        let mut first_error = None;
        for member in &self.members {
            if let Err(e) = member.process.lock().await.stop(grace).await {
                first_error.get_or_insert(e.context(format!("stopping {}", member.name)));
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        // The supervisor holds the processes too: without it gone, dropping the
        // deployment would not drop (and so kill) them.
        self.stopping.store(true, Ordering::SeqCst);
        if let Some(supervisor) = self.supervisor.take() {
            supervisor.abort();
        }
    }
}

fn member(process: Supervised, limits: ProcessLimits) -> Member {
    Member {
        name: process.name.clone(),
        limits,
        process: Arc::new(AsyncMutex::new(process)),
    }
}

/// `at` in Unix milliseconds, as the results write times.
pub fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn record(events: &Mutex<Vec<ProcessEvent>>, process: &str, kind: EventKind) {
    match &kind {
        EventKind::Started { .. } => {}
        other => tracing::warn!(process, event = ?other, "process event"),
    }
    events
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(ProcessEvent {
            at_unix_ms: unix_ms(SystemTime::now()),
            process: process.to_owned(),
            kind,
        });
}

/// Applies `member`'s limits to its process, if it has any.
fn confine(
    groups: &RunGroups,
    member: &Member,
    process: &Supervised,
    events: &Mutex<Vec<ProcessEvent>>,
) {
    let limits = member.limits;
    if limits.is_unlimited() {
        return;
    }
    let Some(pid) = process.pid() else { return };
    if let Err(error) = groups.confine(&member.name, pid.as_raw(), limits) {
        record(
            events,
            &member.name,
            EventKind::Unconfined {
                error: error.to_string(),
            },
        );
    }
}

/// The last `lines` lines of every log in `logs`, each under its file's name.
fn log_tails(logs: &Path, lines: usize) -> String {
    let mut files: Vec<PathBuf> = std::fs::read_dir(logs)
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    let mut out = String::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        out.push_str(&format!("== {}\n", file.display()));
        for line in &all[all.len().saturating_sub(lines)..] {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Waits until `GET {url}/health/ready` answers 200, at most `deadline`.
pub async fn wait_ready(url: &str, deadline: Duration) -> Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(1))
        .build()?;
    let ready = format!("{url}/health/ready");
    let give_up = tokio::time::Instant::now() + deadline;
    loop {
        let last = match client.get(&ready).send().await {
            Ok(response) if response.status().is_success() => return Ok(()),
            Ok(response) => format!("it answered {}", response.status()),
            Err(e) => e.to_string(),
        };
        if tokio::time::Instant::now() >= give_up {
            bail!("{ready} was not ready within {deadline:?} ({last})");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every 100 ms, looks for processes that exited on their own; each one is restarted
/// after `delay` on its old address (and confined again), and both are recorded.
async fn supervise(
    members: Vec<Member>,
    events: Arc<Mutex<Vec<ProcessEvent>>>,
    restarting: Busy,
    stopping: Arc<AtomicBool>,
    delay: Duration,
    start_deadline: Duration,
    cgroups: Option<Arc<RunGroups>>,
) {
    let mut ticks = tokio::time::interval(Duration::from_millis(100));
    // Owned here, so aborting the supervisor aborts a pending restart too.
    let mut restarts = tokio::task::JoinSet::new();
    loop {
        ticks.tick().await;
        while restarts.try_join_next().is_some() {}
        for member in &members {
            if stopping.load(Ordering::SeqCst) {
                return;
            }
            let busy = || {
                restarting
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .contains(&member.name)
            };
            if busy() {
                continue;
            }
            // Asked again with the process held: a deploy marks it busy before it
            // takes the process to stop it.
            let exited = {
                let mut process = member.process.lock().await;
                match process.exited() {
                    Ok(Some(status)) if !busy() => status,
                    _ => continue,
                }
            };
            record(
                &events,
                &member.name,
                EventKind::Exited {
                    status: exited.to_string(),
                },
            );
            restarting
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(member.name.clone());
            let (member, events, stopping, restarting, cgroups) = (
                member.clone(),
                events.clone(),
                stopping.clone(),
                restarting.clone(),
                cgroups.clone(),
            );
            restarts.spawn(async move {
                tokio::time::sleep(delay).await;
                if stopping.load(Ordering::SeqCst) {
                    return;
                }
                // Started without holding the process, so measuring (which reads every
                // process's pid) never waits for a restart; swapped in once ready.
                let respawn = member.process.lock().await.respawn();
                let restarted = match respawn.start(start_deadline).await {
                    Ok(process) => {
                        let ready = wait_ready(&process.base_url, start_deadline).await;
                        ready.map(|()| process)
                    }
                    Err(e) => Err(e),
                };
                match restarted {
                    Ok(fresh) => {
                        let mut process = member.process.lock().await;
                        *process = fresh;
                        let pid = process.pid().map_or(0, |p| p.as_raw() as u32);
                        record(&events, &member.name, EventKind::Restarted { pid });
                        if let Some(groups) = &cgroups {
                            confine(groups, &member, &process, &events);
                        }
                    }
                    Err(e) => record(
                        &events,
                        &member.name,
                        EventKind::RestartFailed {
                            error: format!("{e:#}"),
                        },
                    ),
                }
                restarting
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&member.name);
            });
        }
    }
}

/// What the replicas of one service or of the monolith share as a name: `catalog` for
/// `catalog-1`, `monolith` for `monolith-2`; any other process is its own group.
pub fn replica_group(process: &str) -> &str {
    match process.rsplit_once('-') {
        Some((group, index)) if !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit()) => {
            group
        }
        _ => process,
    }
}

/// The component a split process serves, from its name (`catalog-0`), if any.
pub fn component_of(process: &str) -> Option<Component> {
    let (name, _) = process.rsplit_once('-')?;
    Component::ALL.into_iter().find(|c| c.to_string() == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicas_group_under_their_service_and_others_stand_alone() {
        assert_eq!(replica_group("catalog-1"), "catalog");
        assert_eq!(replica_group("monolith-12"), "monolith");
        for alone in ["monolith", "gateway", "link-proxy", "balancer", "catalog-"] {
            assert_eq!(replica_group(alone), alone);
        }
        assert_eq!(component_of("catalog-1"), Some(Component::Catalog));
        assert_eq!(component_of("monolith-1"), None);
    }
}
