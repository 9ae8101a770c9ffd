//! What a run leaves on disk: `results/<run-id>/run.json` (its schema is documented in
//! `results/README.md` and versioned by [`SCHEMA_VERSION`]), beside the deployments'
//! logs and goose's reports; and the compact table the terminal ends with.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use split::topology::Topology;

use crate::binaries::Reference;
use crate::claims::ClaimVerdict;
use crate::deploy::{Build, EventKind, ProcessEvent, System};
use crate::diversify::DiversifyResult;
use crate::interleaved::Turn;
use crate::journeys::Mix;
use crate::measure::{Lag, Measurement, Verdict};
use crate::metastable::SpikeResult;
use crate::partial_failure::OutageResult;
use crate::pinning::Cores;
use crate::rolling::RolloutResult;
use crate::scale_hot::ScaleResult;
use crate::scenarios::{Profile, Ramp, Scenario};

/// Bumped whenever a field changes meaning or goes away (adding one does not).
pub const SCHEMA_VERSION: u32 = 2;

/// Everything one `loadgen run` found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Run {
    pub schema_version: u32,
    pub run_id: String,
    pub started_unix_ms: u64,
    pub finished_unix_ms: u64,
    /// The command line that made it.
    pub command: Vec<String>,
    pub environment: Environment,
    pub profile: Profile,
    pub seed: u64,
    pub topology: Topology,
    pub mix: Mix,
    pub cores: Cores,
    /// Whether per-process limits could be applied, and how.
    pub cgroups: String,
    /// The generator's lag at rest: the bias every corrected latency carries.
    pub timer_bias: Lag,
    /// False when any measurement was limited by the generator, a process failed, the
    /// run was interrupted, or the generator was not an optimized build.
    pub valid: bool,
    pub invalid_because: Vec<String>,
    /// Ramps the generator, not the system, ended: their knees are lower bounds.
    pub limits: Vec<String>,
    pub interrupted: bool,
    pub scenarios: Vec<ScenarioResult>,
    /// The verdict on each claim the run has evidence for ([`Run::judge`] fills it).
    pub claims: Vec<ClaimVerdict>,
}

/// The machine and the build.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Environment {
    pub cpu_model: String,
    pub cores: usize,
    pub memory_gb: f64,
    pub kernel: String,
    pub rustc: String,
    pub git_commit: String,
    /// Whether the generator was an optimized build.
    pub release_build: bool,
    /// The test-only settings (`SHOP_TEST_...=value`) the shop's processes inherited:
    /// a run with any is the shop broken on purpose (absent from older runs).
    #[serde(default)]
    pub test_knobs: Vec<String>,
    /// The build the interleaved rounds compared this one with, if one
    /// (`loadgen run --reference`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<Reference>,
}

/// One scenario's results, per system.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScenarioResult {
    pub scenario: Scenario,
    pub about: String,
    pub systems: Vec<SystemResult>,
}

/// What one system did in one scenario.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SystemResult {
    pub system: System,
    /// Which build: the reference only in the interleaved scenario of a run with one.
    #[serde(default, skip_serializing_if = "Build::is_candidate")]
    pub build: Build,
    /// The ramp, for `capacity` and `ceiling`.
    pub ramp: Option<Ramp>,
    /// Single-endpoint measurements, for `hop-cost`: by endpoint.
    pub endpoints: BTreeMap<String, EndpointResult>,
    /// The fault, what it did and the audit after it, for the partial-failure
    /// scenarios.
    pub outage: Option<OutageResult>,
    /// The spike, for `metastable`: once for the monolith, once per preset for split.
    pub spikes: Vec<SpikeResult>,
    /// The switch, for `diversify` (split only).
    pub diversify: Option<DiversifyResult>,
    /// The deploy, for `rolling-deploy`.
    pub rollout: Option<RolloutResult>,
    /// Both ramps and the projection, for `scale-hot`.
    pub scale: Option<ScaleResult>,
    /// Its turns, for `interleaved` (absent from runs before it).
    #[serde(default)]
    pub turns: Vec<Turn>,
    /// Every process exit and restart during the scenario.
    pub process_events: Vec<ProcessEvent>,
}

impl SystemResult {
    /// Its ramps: capacity's or ceiling's, or scale-hot's two.
    pub fn ramps(&self) -> impl Iterator<Item = &Ramp> {
        self.ramp
            .iter()
            .chain(self.scale.iter().flat_map(|s| [&s.base, &s.scaled]))
    }

    /// Process events the scenario did not ask for. A crash the scenario caused, and
    /// the restart after it, are the scenario, as are a deploy's replacements; the
    /// exit of a process that does not host the crashed component, a restart that
    /// failed, or limits not applied never are.
    pub fn unexpected_events(&self) -> impl Iterator<Item = &ProcessEvent> {
        let crashed = self
            .outage
            .as_ref()
            .filter(|o| o.outage.crashes())
            .map(|o| o.outage.component().to_string());
        self.process_events
            .iter()
            .filter(move |event| match event.kind {
                EventKind::Started { .. } | EventKind::Replaced { .. } => false,
                EventKind::Exited { .. } | EventKind::Restarted { .. } => {
                    !crashed.as_deref().is_some_and(|c| hosts(&event.process, c))
                }
                EventKind::RestartFailed { .. } | EventKind::Unconfined { .. } => true,
            })
    }

    /// A result with nothing in it yet.
    pub fn empty(system: System) -> Self {
        Self {
            system,
            build: Build::Candidate,
            ramp: None,
            endpoints: BTreeMap::new(),
            outage: None,
            spikes: Vec::new(),
            diversify: None,
            rollout: None,
            scale: None,
            turns: Vec::new(),
            process_events: Vec::new(),
        }
    }
}

/// Whether the process named `process` hosts `component`: the monolith (alone, or a
/// replica) hosts every one; a split process is named after its component and replica
/// (`payments-0`), as `Deployment::process_hosting` names them.
pub(crate) fn hosts(process: &str, component: &str) -> bool {
    let replica_of = |name: &str| {
        process == name
            || process
                .strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('-'))
                .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
    };
    replica_of("monolith") || replica_of(component)
}

/// One endpoint at low load (hop-cost).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EndpointResult {
    /// The internal calls it makes in the split build.
    pub internal_calls: String,
    pub measurement: Measurement,
}

impl Run {
    /// Files each result under its scenario.
    pub fn add(&mut self, results: Vec<(Scenario, SystemResult)>) {
        for (scenario, result) in results {
            if let Some(entry) = self.scenarios.iter_mut().find(|s| s.scenario == scenario) {
                entry.systems.push(result);
            }
        }
    }

    /// Every measurement in the run.
    pub fn measurements(&self) -> impl Iterator<Item = &Measurement> {
        self.scenarios.iter().flat_map(|s| {
            s.systems.iter().flat_map(|r| {
                r.ramps()
                    .flat_map(|ramp| ramp.steps.iter())
                    .chain(r.endpoints.values().map(|e| &e.measurement))
                    .chain(r.outage.iter().map(|o| &o.measurement))
                    .chain(r.rollout.iter().map(|o| &o.measurement))
                    .chain(r.spikes.iter().map(|s| &s.measurement))
                    .chain(
                        r.diversify
                            .iter()
                            .flat_map(|d| d.turns.iter().map(|t| &t.measurement)),
                    )
                    .chain(r.turns.iter().map(|t| &t.measurement))
            })
        })
    }

    /// Marks the run invalid where a result rests on a measurement the generator
    /// limited, or a process exited on its own. A ramp that ends because the generator
    /// could go no further is not invalid: it reports its knee as a lower bound (and
    /// says so in `limits`).
    pub fn judge(&mut self) {
        let mut reasons = Vec::new();
        let mut limits = Vec::new();
        for scenario in &self.scenarios {
            let name = scenario.scenario.name();
            for result in &scenario.systems {
                let system = match result.build {
                    Build::Candidate => result.system.name().to_owned(),
                    Build::Reference => format!("{} (reference build)", result.system.name()),
                };
                for ramp in result.ramps().filter(|r| r.knee_is_lower_bound) {
                    limits.push(format!("{name} {system}: {}", ramp.stopped));
                }
                let steps = result.ramps().flat_map(|r| {
                    // The ramp's last measurement ends it (its verdict is `stopped`), and
                    // a retried one is stood for by its retry.
                    let earlier = r.steps.split_last().map_or(&[][..], |(_, earlier)| earlier);
                    earlier.iter().filter(|m| !m.retried)
                });
                let single = result.endpoints.values().map(|e| &e.measurement);
                let outage = result
                    .outage
                    .iter()
                    .map(|o| &o.measurement)
                    .chain(result.rollout.iter().map(|r| &r.measurement));
                let spikes = result.spikes.iter().map(|s| &s.measurement);
                let turns = result
                    .diversify
                    .iter()
                    .flat_map(|d| d.turns.iter().map(|t| &t.measurement))
                    .chain(result.turns.iter().map(|t| &t.measurement))
                    .filter(|m| !m.retried);
                for m in steps.chain(single).chain(outage).chain(spikes).chain(turns) {
                    if m.verdict == Verdict::GeneratorLimited {
                        reasons.push(format!(
                            "{name} {system} {}: the load generator, not the server, was the limit ({})",
                            m.label,
                            m.reasons.join("; ")
                        ));
                    }
                }
                for event in result.unexpected_events() {
                    reasons.push(format!(
                        "{name} {system}: {} {:?}",
                        event.process, event.kind
                    ));
                }
            }
        }
        for scenario in &mut self.scenarios {
            crate::scale_hot::project_together(
                scenario.systems.iter_mut().filter_map(|r| r.scale.as_mut()),
            );
        }
        self.invalid_because.extend(reasons);
        self.limits = limits;
        self.valid = self.invalid_because.is_empty();
        self.claims = crate::claims::verdicts(self);
    }

    /// Whether a scenario failed outright: the books did not balance after a fault.
    pub fn failed(&self) -> bool {
        self.claims.iter().any(|c| c.failed)
    }

    /// Writes `run.json` into `dir`.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let path = dir.join("run.json");
        let json = serde_json::to_string_pretty(self)?;
        std::fs::write(&path, json).with_context(|| format!("writing {}", path.display()))
    }

    /// The table the terminal ends with: per system, its knee, its latency at a rate
    /// every system kept, its CPU per request and its memory.
    pub fn summary_table(&self) -> String {
        let capacity = self
            .scenarios
            .iter()
            .find(|s| s.scenario == Scenario::Capacity);
        let mut out = String::new();
        if let Some(capacity) = capacity {
            let ramps: Vec<(&SystemResult, &Ramp)> = capacity
                .systems
                .iter()
                .filter_map(|r| Some((r, r.ramp.as_ref()?)))
                .collect();
            // The highest step rate every system kept: where their latencies compare.
            let common = ramps
                .iter()
                .map(|(_, ramp)| ramp.knee.unwrap_or(0.0))
                .fold(f64::INFINITY, f64::min);
            out.push_str(&format!(
                "capacity (shop mix), latencies at {} req/s, the highest rate all kept:\n",
                if common.is_finite() && common > 0.0 {
                    format!("{common:.0}")
                } else {
                    "-".to_owned()
                }
            ));
            out.push_str(&format!(
                "{:<10} {:>12} {:>10} {:>10} {:>12} {:>10}\n",
                "system", "knee req/s", "p50 ms", "p99 ms", "CPU-us/req", "RSS MB"
            ));
            for (result, ramp) in &ramps {
                let at = ramp
                    .steps
                    .iter()
                    .filter(|m| m.verdict == Verdict::Kept)
                    .min_by(|a, b| {
                        (a.intended_rate - common)
                            .abs()
                            .total_cmp(&(b.intended_rate - common).abs())
                    });
                let knee_step = ramp.steps.iter().rfind(|m| m.verdict == Verdict::Kept);
                let fmt = |v: Option<f64>, digits: usize| {
                    v.map_or("-".to_owned(), |v| format!("{v:.digits$}"))
                };
                out.push_str(&format!(
                    "{:<10} {:>12} {:>10} {:>10} {:>12} {:>10}\n",
                    result.system.name(),
                    knee(ramp),
                    fmt(at.map(|m| m.overall.corrected.p50_ms), 2),
                    fmt(at.map(|m| m.overall.corrected.p99_ms), 2),
                    fmt(knee_step.and_then(|m| m.cost.sut_cpu_us_per_request), 1),
                    fmt(knee_step.map(|m| m.cost.sut_peak_rss_mb), 1),
                ));
            }
            for (result, ramp) in &ramps {
                out.push_str(&format!("  {}: {}\n", result.system.name(), ramp.stopped));
            }
            out.push_str("  (knee: the highest step kept; \">=\": the ramp ended before the system did: on the generator, or at its last step)\n");
        }
        if let Some(hops) = self
            .scenarios
            .iter()
            .find(|s| s.scenario == Scenario::HopCost)
        {
            out.push_str("\nhop-cost (corrected p50 / p99 ms at low load):\n");
            let endpoints: Vec<&String> = hops
                .systems
                .first()
                .map(|r| r.endpoints.keys().collect())
                .unwrap_or_default();
            out.push_str(&format!("{:<18}", "endpoint"));
            for result in &hops.systems {
                out.push_str(&format!(" {:>18}", result.system.name()));
            }
            out.push('\n');
            for endpoint in endpoints {
                out.push_str(&format!("{endpoint:<18}"));
                for result in &hops.systems {
                    let cell = result
                        .endpoints
                        .get(endpoint)
                        .and_then(|e| e.measurement.endpoints.get(endpoint))
                        .map_or("-".to_owned(), |s| {
                            format!("{:.2} / {:.2}", s.corrected.p50_ms, s.corrected.p99_ms)
                        });
                    out.push_str(&format!(" {cell:>18}"));
                }
                out.push('\n');
            }
        }
        if let Some(ceiling) = self
            .scenarios
            .iter()
            .find(|s| s.scenario == Scenario::Ceiling)
        {
            out.push_str("\nceiling (product page):\n");
            for result in &ceiling.systems {
                if let Some(ramp) = &result.ramp {
                    let cpu = ramp
                        .steps
                        .iter()
                        .rfind(|m| m.verdict == Verdict::Kept)
                        .and_then(|m| m.cost.sut_cpu_us_per_request);
                    out.push_str(&format!(
                        "{:<10} knee {:>8} req/s, {:>8} CPU-us/req; {}\n",
                        result.system.name(),
                        knee(ramp),
                        cpu.map_or("-".to_owned(), |c| format!("{c:.1}")),
                        ramp.stopped
                    ));
                }
            }
        }
        out.push_str(&crate::claims::tables(self));
        let lag: Vec<f64> = self
            .measurements()
            .filter_map(|m| m.cost.generator_cpu_us_per_request)
            .collect();
        if !lag.is_empty() {
            let mut sorted = lag.clone();
            sorted.sort_by(f64::total_cmp);
            out.push_str(&format!(
                "\nload generator: {:.1} CPU-us per request sent (median of {} measurements); timer bias p50 {:.3} ms, p99 {:.3} ms\n",
                sorted[sorted.len() / 2],
                sorted.len(),
                self.timer_bias.p50_us / 1e3,
                self.timer_bias.p99_us / 1e3,
            ));
        }
        for limit in &self.limits {
            out.push_str(&format!("limit: {limit}\n"));
        }
        if self.valid {
            out.push_str("run: valid\n");
        } else {
            out.push_str("run: INVALID\n");
            for reason in &self.invalid_because {
                out.push_str(&format!("  - {reason}\n"));
            }
        }
        out
    }
}

/// A ramp's knee as the table shows it: `>= 6872` when the ramp ended before the system
/// did (on the generator, or at its last step).
fn knee(ramp: &Ramp) -> String {
    match (ramp.knee, ramp.knee_is_lower_bound) {
        (Some(k), true) => format!(">= {k:.0}"),
        (Some(k), false) => format!("{k:.0}"),
        (None, _) => "-".to_owned(),
    }
}

impl Environment {
    /// This machine and build, read from /proc and the tools at hand ("unknown" where
    /// one is missing); `cores` as the run could use them (before pinning).
    pub fn here(workspace: &Path, cores: usize) -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| {
                l.strip_prefix("model name")?
                    .split_once(':')
                    .map(|(_, v)| v.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".to_owned());
        let memory_gb = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                let kb: f64 = m.lines().next()?.split_whitespace().nth(1)?.parse().ok()?;
                Some(kb / 1024.0 / 1024.0)
            })
            .unwrap_or(0.0);
        let output = |program: &str, args: &[&str]| {
            Command::new(program)
                .args(args)
                .current_dir(workspace)
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
                .unwrap_or_else(|| "unknown".to_owned())
        };
        Self {
            cpu_model,
            cores,
            memory_gb,
            kernel: output("uname", &["-r"]),
            rustc: output("rustc", &["--version"]),
            git_commit: output("git", &["rev-parse", "HEAD"]),
            release_build: !cfg!(debug_assertions),
            test_knobs: test_knobs(std::env::vars()),
            reference: None,
        }
    }
}

/// The `SHOP_TEST_` variables among `vars`, as `NAME=value`, sorted.
fn test_knobs(vars: impl Iterator<Item = (String, String)>) -> Vec<String> {
    let mut knobs: Vec<String> = vars
        .filter(|(name, _)| name.starts_with("SHOP_TEST_"))
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    knobs.sort();
    knobs
}

#[cfg(test)]
mod tests {
    use super::{hosts, test_knobs};

    #[test]
    fn only_the_shops_test_settings_are_knobs() {
        let vars = [
            ("SHOP_TEST_SLOWDOWN", "inventory=0.1"),
            ("SHOP_LISTEN", "x"),
            ("PATH", "/bin"),
        ];
        let vars = vars.map(|(n, v)| (n.to_owned(), v.to_owned()));
        assert_eq!(
            test_knobs(vars.into_iter()),
            ["SHOP_TEST_SLOWDOWN=inventory=0.1"]
        );
    }

    #[test]
    fn a_component_is_hosted_by_its_replicas_and_by_the_monolith() {
        assert!(hosts("payments-0", "payments"));
        assert!(hosts("payments-12", "payments"));
        assert!(hosts("monolith", "payments"));
        assert!(hosts("monolith-2", "catalog"));
        assert!(!hosts("inventory-0", "payments"));
        assert!(!hosts("payments-gateway", "payments"));
        assert!(!hosts("payments-", "payments"));
        assert!(!hosts("gateway", "catalog"));
    }
}
