//! The metastable scenario: the shop mix at a normal rate, a spike past what the split
//! build can take, then the normal rate again. A system that was merely overloaded
//! recovers once the spike passes; a metastable one stays down, held there by its own
//! work (retries, queues) after the trigger is gone.
//!
//! The monolith runs it once (its components call each other in-process: nothing to
//! retry); the split build runs it under each resilience preset, `bare` (no deadline,
//! no retry) and `hardened` (deadlines, retries under a budget, a breaker). Besides
//! goodput before, during and after, it counts the internal calls the services received
//! per public request (from every process's `/metrics`): the fan-out of the split
//! build, and on top of it the retries (retry amplification).

use std::time::Duration;

use anyhow::Result;
use serde::{Deserialize, Serialize};
use split::topology::Preset;

use crate::deploy::{Deployment, System};
use crate::journeys::Mix;
use crate::measure::{Bench, Load, Measurement, Sut, measure_during};
use crate::partial_failure::{EndpointGroup, Stretch};
use crate::scenarios::{Profile, journey};
use crate::schedule::RateProfile;

/// One system's (and preset's) run of the spike.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpikeResult {
    /// The split build's resilience preset; `None` for the monolith.
    pub preset: Option<Preset>,
    /// The spike's seconds on the load's timeline.
    pub spike_from_s: f64,
    pub spike_to_s: f64,
    pub before: Stretch,
    pub during: Stretch,
    pub after: Stretch,
    /// From the spike's end to the first of 5 seconds running with goodput back within
    /// 5% of before's; `None` (never recovered) when they did not come.
    pub recovered_after_s: Option<f64>,
    pub never_recovered: bool,
    /// Requests the services received on their internal routes per public request the
    /// entry point received, before, during and after the spike (split only).
    pub calls_per_request: Option<Phases>,
    pub measurement: Measurement,
}

/// One figure before, during and after the spike.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Phases {
    pub before: f64,
    pub during: f64,
    pub after: f64,
}

/// Runs the spike of `profile` against `deployment`.
pub async fn run(
    deployment: &Deployment,
    preset: Option<Preset>,
    mix: &Mix,
    profile: &Profile,
    bench: &Bench,
    mut progress: impl FnMut(&str, Duration),
) -> Result<SpikeResult> {
    let timing = &profile.spike;
    let before = profile.warm_up + timing.before;
    let length = before + timing.during + timing.after;
    let label = match preset {
        Some(preset) => format!("spike-{}", preset.name()),
        None => "spike".to_owned(),
    };
    progress(
        &format!(
            "{label}: {:.0} req/s, {:.0} for {} s, {:.0}",
            timing.normal,
            timing.spike,
            timing.during.as_secs(),
            timing.normal
        ),
        length,
    );
    let load = Load {
        label,
        profile: RateProfile::spike(
            timing.normal,
            timing.spike,
            [before, timing.during, timing.after],
        )
        .map_err(anyhow::Error::msg)?,
        users: timing.users,
        warm_up: profile.warm_up,
        deadline: timing.deadline,
        // A hundredth of the shoppers' patience: this scenario reads seconds.
        lag_tolerance: timing.deadline / 100,
    };
    let sut = Sut::of(deployment).await;
    let shoppers = journey(mix.clone(), profile, bench.seed, None);
    let marks = [profile.warm_up, before, before + timing.during, length];
    let observed = measure_during(&sut, shoppers, &load, bench, profile.slo, async |start| {
        let mut counts = Vec::new();
        for mark in marks {
            tokio::time::sleep_until((start + mark).into()).await;
            counts.push(Calls::read(deployment).await);
        }
        Ok(counts)
    })
    .await?;

    let (spike_from_s, spike_to_s) = (before.as_secs_f64(), (before + timing.during).as_secs_f64());
    let all = EndpointGroup::new(&observed.recorder, |_| true);
    let seconds = |from: Duration, to: Duration| (from.as_secs(), to.as_secs());
    let before_stretch = all.stretch(seconds(profile.warm_up, before));
    let recovered_after_s =
        all.recovered_after(spike_to_s, length.as_secs(), before_stretch.goodput);
    let calls_per_request = (deployment.system == System::Split).then(|| {
        let per = |a: &Calls, b: &Calls| {
            b.internal.saturating_sub(a.internal) as f64
                / b.public.saturating_sub(a.public).max(1) as f64
        };
        let c = &observed.beside;
        Phases {
            before: per(&c[0], &c[1]),
            during: per(&c[1], &c[2]),
            after: per(&c[2], &c[3]),
        }
    });
    Ok(SpikeResult {
        preset,
        spike_from_s,
        spike_to_s,
        before: before_stretch,
        during: all.stretch(seconds(before, before + timing.during)),
        after: all.stretch(seconds(before + timing.during, length)),
        recovered_after_s,
        never_recovered: recovered_after_s.is_none(),
        calls_per_request,
        measurement: observed.measurement,
    })
}

/// Requests answered so far, from every process's `/metrics`: on public routes
/// (`/api/...`, the gateway's or the monolith's) and on internal ones (`/internal/...`,
/// the services').
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Calls {
    public: u64,
    internal: u64,
}

impl Calls {
    /// Counted now; a process that does not answer (down, restarting) counts nothing.
    async fn read(deployment: &Deployment) -> Self {
        let mut calls = Calls::default();
        for (_, page) in crate::scrape::pages(deployment).await {
            for (route, n) in crate::scrape::requests_by_route(&page) {
                if route.starts_with("/api/") {
                    calls.public += n;
                } else if route.starts_with("/internal/") {
                    calls.internal += n;
                }
            }
        }
        calls
    }
}

/// When a run's deployment takes the other preset too: the one it was not given.
pub fn other(preset: Preset) -> Preset {
    match preset {
        Preset::Bare => Preset::Hardened,
        Preset::Hardened => Preset::Bare,
    }
}
