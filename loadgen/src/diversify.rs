//! The diversification scenario: one service switches its stack alone (catalog's
//! callers speak postcard to it instead of JSON, or back) while every other service
//! stays as it was. The shop mix runs at one constant rate against the split build as
//! the run deploys it (A) and against a second split build with the switch (B), in
//! turns (A B A B...), since the machine's noise drifts; the medians of each give the
//! switched service's gain and show whether the others moved.
//!
//! The monolith has one process and one stack: switching one component's alone is not
//! something it can do, so it runs nothing here, and the verdict says so.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Result;
use serde::{Deserialize, Serialize};
use shop_domain::Component;
use shop_remote::Codec;
use split::topology::Topology;

use crate::deploy::Deployment;
use crate::journeys::Mix;
use crate::measure::{
    Bench, LAG_TOLERANCE, Load, Measurement, Retries, Sut, Verdict, measure, with_retries,
};
use crate::scenarios::{Profile, journey};
use crate::schedule::RateProfile;

/// The service that switches, and what it switches to.
pub const SWITCHED: Component = Component::Catalog;

/// The services that neither are [`SWITCHED`] nor call it (the gateway, cart, orders
/// and recommendations call catalog): the switch has no business moving them.
pub const UNTOUCHED: [Component; 3] = [Component::Inventory, Component::Payments, Component::Users];

/// The name of the whole split build among [`DiversifyResult::components`].
pub const ALL: &str = "(all)";

/// The topology with [`SWITCHED`]'s codec changed (JSON to postcard, or back).
pub fn switched(topology: &Topology) -> Topology {
    let mut switched = topology.clone();
    let mut spec = topology.spec(SWITCHED);
    spec.codec = match spec.codec {
        Codec::Json => Codec::Postcard,
        Codec::Postcard => Codec::Json,
    };
    switched.services.insert(SWITCHED, spec);
    switched
}

/// The switch, in words: `catalog: json -> postcard`.
pub fn change(topology: &Topology) -> String {
    let codec = |t: &Topology| format!("{:?}", t.spec(SWITCHED).codec).to_lowercase();
    format!(
        "{SWITCHED}: {} -> {}",
        codec(topology),
        codec(&switched(topology))
    )
}

/// What the switch did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiversifyResult {
    pub service: Component,
    pub change: String,
    /// Per component (a service's replicas together; the gateway; [`ALL`] for every
    /// process together): its CPU per request answered, the median of A's turns and
    /// of B's.
    pub components: Vec<Moved>,
    /// Per endpoint: the corrected p50, medians of A's turns and of B's.
    pub endpoints: Vec<Moved>,
    /// Every turn, in the order run (one the generator limited is `retried`, and the
    /// next turn of its side stands for it).
    pub turns: Vec<Turn>,
}

/// One figure before and after the switch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Moved {
    pub name: String,
    pub a: f64,
    pub b: f64,
    /// `b / a - 1`: negative is a gain; `None` when `a` is 0 (nothing to compare to).
    pub change: Option<f64>,
    /// The spread of the turns themselves: the largest relative difference between
    /// two of A's turns or two of B's (the noise a change must clear).
    pub noise: f64,
}

/// One turn of the load against one side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    /// `a` (as deployed) or `b` (switched).
    pub side: String,
    pub measurement: Measurement,
}

/// Runs the turns against `a` (the run's topology) and `b` (switched).
pub async fn run(
    a: &Deployment,
    b: &Deployment,
    change: String,
    mix: &Mix,
    profile: &Profile,
    bench: &Bench,
    mut progress: impl FnMut(&str, Duration),
) -> Result<DiversifyResult> {
    let timing = &profile.diversify;
    let length = profile.warm_up + timing.length;
    let mut turns = Vec::new();
    for round in 0..timing.rounds {
        for (side, deployment) in [("a", a), ("b", b)] {
            progress(
                &format!("diversify {side} round {} of {}", round + 1, timing.rounds),
                length,
            );
            // A turn the generator limited is no figure of the server's: it is measured
            // once more (as a ramp step is), and the first stays in `turns`, marked.
            turns.extend(
                with_retries(
                    Retries::ONCE,
                    |m| m.verdict == Verdict::GeneratorLimited,
                    |turn: &mut Turn| vec![&mut turn.measurement],
                    async |again| {
                        let load = Load {
                            label: format!("diversify-{side}-{}{again}", round + 1),
                            profile: RateProfile::constant(timing.rate, length)
                                .map_err(anyhow::Error::msg)?,
                            users: Profile::users_for(timing.rate),
                            warm_up: profile.warm_up,
                            deadline: profile.deadline,
                            lag_tolerance: LAG_TOLERANCE,
                        };
                        let sut = Sut::of(deployment).await;
                        let shoppers = journey(mix.clone(), profile, bench.seed, None);
                        Ok(Turn {
                            side: side.to_owned(),
                            measurement: measure(&sut, shoppers, &load, bench, profile.slo).await?,
                        })
                    },
                )
                .await?,
            );
        }
    }
    let components = moved(&turns, |m| {
        m.cost
            .components
            .iter()
            .filter_map(|c| Some((c.component.clone(), c.cpu_us_per_request?)))
            .chain(
                m.cost
                    .sut_cpu_us_per_request
                    .map(|all| (ALL.to_owned(), all)),
            )
            .collect()
    });
    let endpoints = moved(&turns, |m| {
        m.endpoints
            .iter()
            .map(|(name, summary)| (name.clone(), summary.corrected.p50_ms))
            .collect()
    });
    Ok(DiversifyResult {
        service: SWITCHED,
        change,
        components,
        endpoints,
        turns,
    })
}

/// Each figure `read` gives, A's median against B's.
fn moved(turns: &[Turn], read: impl Fn(&Measurement) -> BTreeMap<String, f64>) -> Vec<Moved> {
    let mut by_name: BTreeMap<String, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for turn in turns.iter().filter(|t| !t.measurement.retried) {
        for (name, value) in read(&turn.measurement) {
            let sides = by_name.entry(name).or_default();
            if turn.side == "a" {
                sides.0.push(value);
            } else {
                sides.1.push(value);
            }
        }
    }
    by_name
        .into_iter()
        .filter(|(_, (a, b))| !a.is_empty() && !b.is_empty())
        .map(|(name, (a, b))| {
            let (ma, mb) = (median(&a), median(&b));
            Moved {
                name,
                a: ma,
                b: mb,
                change: (ma > 0.0).then(|| mb / ma - 1.0),
                noise: spread(&a).max(spread(&b)),
            }
        })
        .collect()
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// The largest relative difference between two of `values` (0 for fewer than two).
fn spread(values: &[f64]) -> f64 {
    let (low, high) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
            (l.min(*v), h.max(*v))
        });
    if values.len() < 2 || low <= 0.0 {
        0.0
    } else {
        high / low - 1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_switch_flips_one_services_codec_and_nothing_else() {
        let topology = Topology::default();
        let switched = switched(&topology);
        assert_eq!(switched.spec(SWITCHED).codec, Codec::Postcard);
        for component in Component::ALL {
            if component != SWITCHED {
                assert_eq!(switched.spec(component), topology.spec(component));
            }
        }
        assert_eq!(switched.preset, topology.preset);
        assert_eq!(change(&topology), "catalog: json -> postcard");
        assert_eq!(self::switched(&switched).spec(SWITCHED).codec, Codec::Json);
    }

    #[test]
    fn medians_and_spreads_of_the_turns() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!((spread(&[100.0, 110.0, 105.0]) - 0.1).abs() < 1e-9);
        assert_eq!(spread(&[5.0]), 0.0);
    }
}
