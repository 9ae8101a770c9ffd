//! The rolling-deploy scenario (deployment: can one part be released alone?). A new
//! release of catalog goes out under a constant load of the shop's mix, one process
//! at a time: each is told to stop (it says it is not ready, goes on serving for
//! [`DEREGISTER`] so the balancers take it out, drains), is started again as the new
//! release where it was, and is waited for until ready. The split build replaces only
//! catalog's replicas; the monolith, where catalog is a part of every process, replaces
//! every whole replica. Then the books are audited.
//!
//! Both run [`FLEET`] replicas of what is rolled (the split build's other services
//! one each, as the run's topology has them), on the same cores, behind the same
//! balancing code ([`shop_remote::rotation`]).

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};
use shop_domain::Component;
use split::topology::Topology;

use crate::audit::Ledger;
use crate::deploy::{Deployment, Replacement, System, unix_ms};
use crate::journeys::Mix;
use crate::measure::{Bench, Load, Measurement, Sut, measure_during};
use crate::partial_failure::{AuditOutcome, EndpointGroup, Impact, Window, audit_after};
use crate::scenarios::{Profile, journey};
use crate::schedule::RateProfile;

/// The component a new release of goes out.
pub const ROLLED: Component = Component::Catalog;
/// Replicas of what is rolled: three, so that two serve while one is replaced.
pub const FLEET: u32 = 3;
/// The label of the new release (the first is `1`).
pub const RELEASE: &str = "2";
/// How long a process told to stop goes on serving, not ready, before it stops
/// accepting: longer than the balancers' three failed probes 200 ms apart.
pub const DEREGISTER: Duration = Duration::from_millis(1_000);

/// `base` with [`FLEET`] replicas of catalog and of the monolith.
pub fn topology(base: &Topology) -> Topology {
    let mut topology = base.clone();
    topology.monolith.replicas = FLEET;
    let spec = topology.services.entry(ROLLED).or_default();
    spec.replicas = spec.replicas.max(FLEET);
    topology
}

/// The flags every process of the scenario's fleet gets besides the run's.
pub fn shop_args() -> [String; 2] {
    [
        "--deregister-ms".to_owned(),
        DEREGISTER.as_millis().to_string(),
    ]
}

/// The processes a new release of catalog replaces, in order.
pub fn rolled(deployment: &Deployment) -> Vec<String> {
    match deployment.system {
        System::Split => deployment.process_names(ROLLED),
        _ => (0..FLEET)
            .map(|i| format!("monolith-{i}"))
            .filter(|name| deployment.has_process(name))
            .collect(),
    }
}

/// The deploy itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rollout {
    pub release: String,
    /// Seconds since the load's start (the timeline's origin) it began and ended.
    pub from_s: f64,
    pub to_s: f64,
    pub duration_s: f64,
    pub replacements: Vec<Replacement>,
    /// It ran past the time it was given under the load: its end was not measured.
    pub overran: bool,
}

/// What one system did in the rolling-deploy scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RolloutResult {
    pub rollout: Rollout,
    pub measurement: Measurement,
    /// Per endpoint before, during and after; failed requests and the worst second.
    pub impact: Impact,
    /// All endpoints together, corrected p99 before the deploy and while it ran.
    pub p99_before_ms: f64,
    pub p99_during_ms: f64,
    pub audit: AuditOutcome,
}

/// Rolls a new release of catalog through `deployment` under a constant load of
/// `mix`, then audits the books.
pub async fn run(
    deployment: &Deployment,
    mix: &Mix,
    profile: &Profile,
    bench: &Bench,
    mut progress: impl FnMut(&str, Duration),
) -> Result<RolloutResult> {
    let processes = rolled(deployment);
    if processes.len() < 2 {
        bail!("a rolling deploy needs replicas to roll through; this deployment has {processes:?}");
    }
    let timing = &profile.outage;
    let budget = profile.rollout_budget;
    let length = profile.warm_up + timing.before + budget + timing.after;
    progress(
        &format!(
            "release {RELEASE} of {ROLLED} through {}",
            processes.join(", ")
        ),
        length,
    );
    let load = Load {
        label: "rolling-deploy".to_owned(),
        profile: RateProfile::constant(timing.rate, length).map_err(anyhow::Error::msg)?,
        users: timing.users(),
        warm_up: profile.warm_up,
        deadline: timing.deadline,
        lag_tolerance: timing.deadline / 100,
    };
    let ledger = Arc::new(Ledger::default());
    let shoppers = journey(mix.clone(), profile, bench.seed, Some(ledger.clone()));
    let sut = Sut::of(deployment).await;
    let from = profile.warm_up + timing.before;
    let observed = measure_during(&sut, shoppers, &load, bench, profile.slo, async |start| {
        tokio::time::sleep_until((start + from).into()).await;
        let began = Instant::now();
        let from_unix_ms = unix_ms(SystemTime::now());
        let mut replacements = Vec::new();
        for process in &processes {
            replacements.push(deployment.replace(process, RELEASE).await?);
        }
        let ended = Instant::now();
        let seconds = |at: Instant| at.duration_since(start).as_secs_f64();
        let rollout = Rollout {
            release: RELEASE.to_owned(),
            from_s: seconds(began),
            to_s: seconds(ended),
            duration_s: ended.duration_since(began).as_secs_f64(),
            replacements,
            overran: ended.duration_since(began) > budget,
        };
        let window = Window {
            from_s: rollout.from_s,
            to_s: rollout.to_s,
            from_unix_ms,
            to_unix_ms: unix_ms(SystemTime::now()),
            rearmed: 0,
        };
        Ok((rollout, window))
    })
    .await?;
    let (rollout, window) = observed.beside;
    for process in &processes {
        let release = deployment.release_of(process).await?;
        if release != RELEASE {
            bail!("{process} reports release {release} after the deploy, not {RELEASE}");
        }
    }
    let impact = Impact::of(&observed.recorder, &window, ROLLED, profile);
    let everything = EndpointGroup::new(&observed.recorder, |_| true);
    let first = profile.warm_up.as_secs();
    let before = (first, (window.from_s.floor() as u64).max(first));
    let during = (before.1, (window.to_s.ceil() as u64).max(before.1));

    progress("settling and auditing", timing.settle_limit);
    let audit = audit_after(deployment, &ledger, timing.settle_limit).await;
    Ok(RolloutResult {
        rollout,
        measurement: observed.measurement,
        impact,
        p99_before_ms: everything.stretch(before).p99_ms,
        p99_during_ms: everything.stretch(during).p99_ms,
        audit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fleet_has_three_of_what_is_rolled_and_deregisters_past_three_probes() {
        let fleet = topology(&Topology::default());
        assert_eq!(fleet.monolith.replicas, FLEET);
        assert_eq!(fleet.spec(ROLLED).replicas, FLEET);
        assert_eq!(fleet.spec(Component::Orders).replicas, 1);
        let probes =
            shop_remote::rotation::PROBE_EVERY * shop_remote::rotation::PROBE_FAILURES_TO_EJECT;
        assert!(DEREGISTER > probes, "{DEREGISTER:?} <= {probes:?}");
        assert_eq!(shop_args(), ["--deregister-ms", "1000"]);
    }
}
