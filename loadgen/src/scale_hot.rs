//! The scale-hot scenario (scalability: scale only the hot part). A mix heavy in
//! recommendations ramps until the system falls behind; then the hot part is scaled,
//! only recommendations in the split build, whole replicas of the monolith behind
//! the balancer, and the ramp runs again. From the measured demand of every part (CPU
//! per request, memory per replica) a small cost model sizes each architecture for 1, 10
//! and 100 times the load both held (the lower of their knees on one replica): the
//! same rates for both, so their costs compare.
//!
//! # The cost model
//!
//! For a target rate `R`, a part whose CPU per request is `d` µs needs
//! `ceil(R × d / (1e6 × u × c))` replicas (at least one), where `u` is the target
//! utilization and `c` the cores of one replica ([`CostModel`]). Its memory is its
//! replicas times its measured resident memory per replica, and its price per hour
//! is `cores × price per core-hour + GB × price per GB-hour`. The split build's parts
//! are its services and the gateway; the monolith's, the monolith. Neither counts the
//! load balancer in front: at scale both need one (the split build's gateways as much
//! as the monolith's replicas), so the `balancer` measured here in front of the
//! monolith's replicas stands for a cost both would pay, and is left out of both.
//! The demand comes from the scaled deployment's last kept ramp step: the busiest
//! load measured with the scaled shape, which is the shape the projection grows.
//!
//! What the model leaves out, on purpose: a replica's fixed CPU (it is measured
//! busy, so the idle share is in neither side), the network between machines (all of
//! it is loopback here), and that demand per request may change with scale.
//!
//! On this machine every replica shares the system under test's cores: scaling adds
//! no CPU, only processes and memory. The second ramp shows what replicas cost where
//! cores do not grow; the projection shows what they buy where they do.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use shop_domain::Component;
use split::topology::Topology;

use crate::deploy::System;
use crate::journeys::Mix;
use crate::measure::{Measurement, Verdict};
use crate::scenarios::Ramp;

/// The mix of the scenario: half of it recommendations, the rest browsing.
pub const HOT_MIX: &str =
    "recommendations=50,product-page=20,list=10,search=10,add-to-cart=5,view-cart=5";
/// The hot part.
pub const HOT: Component = Component::Recommendations;
/// Replicas of the hot part (split) or of the whole monolith in the scaled shape.
pub const SCALED: u32 = 2;
/// The loads the projection sizes for, as multiples of the reference rate.
pub const FACTORS: [f64; 3] = [1.0, 10.0, 100.0];

/// The scenario's mix.
pub fn hot_mix() -> Mix {
    HOT_MIX.parse().expect("a valid mix")
}

/// `base` with the hot part scaled: [`SCALED`] replicas of recommendations, and of the
/// monolith.
pub fn scaled(base: &Topology) -> Topology {
    let mut topology = base.clone();
    topology.monolith.replicas = topology.monolith.replicas.max(SCALED);
    let spec = topology.services.entry(HOT).or_default();
    spec.replicas = spec.replicas.max(SCALED);
    topology
}

/// Prices and targets of the projection (`--price-core-hour`, `--price-gb-hour`,
/// `--target-utilization`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CostModel {
    /// The busy share of its cores a replica is sized for.
    pub target_utilization: f64,
    /// Cores of one replica.
    pub cores_per_replica: f64,
    pub price_core_hour: f64,
    pub price_gb_hour: f64,
}

impl Default for CostModel {
    /// Utilization 60%, one core a replica, and a cloud's on-demand prices of the
    /// order of $0.04 a core-hour and $0.005 a GB-hour.
    fn default() -> Self {
        Self {
            target_utilization: 0.6,
            cores_per_replica: 1.0,
            price_core_hour: 0.04,
            price_gb_hour: 0.005,
        }
    }
}

impl CostModel {
    /// Checks the figures: a clear error for each that makes no sense.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.target_utilization > 0.0 && self.target_utilization <= 1.0) {
            return Err(format!(
                "the target utilization must be in (0, 1], not {}",
                self.target_utilization
            ));
        }
        if !(self.cores_per_replica > 0.0 && self.cores_per_replica.is_finite()) {
            return Err("the cores of a replica must be positive".to_owned());
        }
        for (name, price) in [
            ("core-hour", self.price_core_hour),
            ("GB-hour", self.price_gb_hour),
        ] {
            if !(price >= 0.0 && price.is_finite()) {
                return Err(format!(
                    "the price of a {name} must be 0 or more, not {price}"
                ));
            }
        }
        Ok(())
    }
}

/// One part's measured demand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Demand {
    /// `recommendations`, `gateway`, `monolith`, `balancer`, ...
    pub part: String,
    /// Its CPU per request answered by the system as a whole, in µs.
    pub cpu_us_per_request: f64,
    /// Its peak resident memory per replica, in MiB.
    pub rss_mb_per_replica: f64,
    /// Replicas it ran when measured.
    pub replicas: usize,
}

/// Parts measured that neither architecture's projection counts: the front balancer
/// (see the module's docs) and the fault proxy, which is not part of a system.
pub const NOT_PROJECTED: [&str; 2] = ["balancer", "link-proxy"];

/// The demand of every part, from `step`, but the [`NOT_PROJECTED`].
pub fn demand(step: &Measurement) -> Vec<Demand> {
    step.cost
        .components
        .iter()
        .filter(|c| !NOT_PROJECTED.contains(&c.component.as_str()) && c.processes > 0)
        .filter_map(|c| {
            Some(Demand {
                part: c.component.clone(),
                cpu_us_per_request: c.cpu_us_per_request?,
                rss_mb_per_replica: c.peak_rss_mb / c.processes as f64,
                replicas: c.processes,
            })
        })
        .collect()
}

/// One architecture sized for one rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sizing {
    /// The multiple of the measured knee.
    pub factor: f64,
    pub rate: f64,
    /// Replicas of each part.
    pub replicas: BTreeMap<String, u32>,
    pub cores: f64,
    pub memory_gb: f64,
    pub cost_per_hour: f64,
}

/// What `demand` needs to serve `rate` requests a second under `model`.
pub fn size(demand: &[Demand], rate: f64, factor: f64, model: &CostModel) -> Sizing {
    let per_replica = 1e6 * model.target_utilization * model.cores_per_replica;
    let mut replicas = BTreeMap::new();
    let (mut cores, mut memory_mb) = (0.0, 0.0);
    for part in demand {
        let needed = ((rate * part.cpu_us_per_request / per_replica).ceil() as u32).max(1);
        replicas.insert(part.part.clone(), needed);
        cores += needed as f64 * model.cores_per_replica;
        memory_mb += needed as f64 * part.rss_mb_per_replica;
    }
    let memory_gb = memory_mb / 1024.0;
    Sizing {
        factor,
        rate,
        replicas,
        cores,
        memory_gb,
        cost_per_hour: cores * model.price_core_hour + memory_gb * model.price_gb_hour,
    }
}

/// What one ramp held, per core and per GB of memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Efficiency {
    /// The highest rate kept; `None` when no step was.
    pub knee: Option<f64>,
    /// Processes of the system under test, the front balancer included.
    pub processes: usize,
    /// At the knee's step: requests per second per core of the system under test, and
    /// per GB of its peak resident memory.
    pub per_core: Option<f64>,
    pub per_gb: Option<f64>,
    pub peak_rss_mb: Option<f64>,
}

/// The last step of `ramp` that was kept, if any.
pub fn knee_step(ramp: &Ramp) -> Option<&Measurement> {
    ramp.steps.iter().rev().find(|m| m.verdict == Verdict::Kept)
}

impl Efficiency {
    pub fn of(ramp: &Ramp, sut_cores: usize) -> Self {
        let step = knee_step(ramp);
        let processes = step.map_or(0, |m| m.cost.components.iter().map(|c| c.processes).sum());
        let peak = step.map(|m| m.cost.sut_peak_rss_mb);
        Self {
            knee: ramp.knee,
            processes,
            per_core: step.map(|m| m.achieved_rate / sut_cores.max(1) as f64),
            per_gb: step
                .zip(peak)
                .filter(|(_, mb)| *mb > 0.0)
                .map(|(m, mb)| m.achieved_rate / (mb / 1024.0)),
            peak_rss_mb: peak,
        }
    }
}

/// What one system did in the scale-hot scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScaleResult {
    pub mix: String,
    /// One replica of everything (the monolith alone).
    pub base: Ramp,
    /// The hot part scaled: recommendations ×2 in split, the monolith ×2.
    pub scaled: Ramp,
    pub base_efficiency: Efficiency,
    pub scaled_efficiency: Efficiency,
    /// Every part's demand, from the scaled ramp's knee step.
    pub demand: Vec<Demand>,
    pub model: CostModel,
    /// The rate the projection multiplies: the lower base knee of the systems the
    /// run measured (its own, when it ran alone); `None` until [`project`](Self::project).
    pub reference_rate: Option<f64>,
    /// Sized for [`FACTORS`] times the reference rate.
    pub projection: Vec<Sizing>,
}

impl ScaleResult {
    /// Puts the two ramps together, with the demand they measured; projected later.
    pub fn of(base: Ramp, scaled: Ramp, sut_cores: usize, model: CostModel) -> Self {
        Self {
            mix: HOT_MIX.to_owned(),
            base_efficiency: Efficiency::of(&base, sut_cores),
            scaled_efficiency: Efficiency::of(&scaled, sut_cores),
            demand: knee_step(&scaled).map(demand).unwrap_or_default(),
            base,
            scaled,
            model,
            reference_rate: None,
            projection: Vec::new(),
        }
    }

    /// Sizes it for [`FACTORS`] times `reference` (nothing without a demand).
    pub fn project(&mut self, reference: f64) {
        self.reference_rate = Some(reference);
        self.projection = if self.demand.is_empty() {
            Vec::new()
        } else {
            FACTORS
                .iter()
                .map(|&factor| size(&self.demand, reference * factor, factor, &self.model))
                .collect()
        };
    }
}

/// Projects every system's result at the same rates: multiples of the lowest base knee
/// among them (the load every one of them held).
pub fn project_together<'a>(results: impl IntoIterator<Item = &'a mut ScaleResult>) {
    let mut results: Vec<&mut ScaleResult> = results.into_iter().collect();
    let reference = results
        .iter()
        .filter_map(|r| r.base.knee)
        .min_by(f64::total_cmp);
    if let Some(reference) = reference {
        for result in &mut results {
            result.project(reference);
        }
    }
}

/// How the scaled deployment is described in progress lines.
pub fn scaled_words(system: System) -> String {
    match system {
        System::Split => format!("{HOT} x{SCALED}"),
        _ => format!("{} whole replicas", SCALED),
    }
}

/// How long one ramp may take at most, for progress bars.
pub fn ramp_length(profile: &crate::scenarios::Profile) -> Duration {
    (profile.step + profile.warm_up) * profile.ramp_max_steps as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(name: &str, cpu: f64, rss: f64) -> Demand {
        Demand {
            part: name.to_owned(),
            cpu_us_per_request: cpu,
            rss_mb_per_replica: rss,
            replicas: 1,
        }
    }

    #[test]
    fn each_part_gets_the_replicas_its_demand_needs_and_the_price_follows() {
        let model = CostModel {
            target_utilization: 0.5,
            cores_per_replica: 1.0,
            price_core_hour: 0.04,
            price_gb_hour: 0.01,
        };
        // 10,000 req/s: recommendations does 120 µs each, 1.2 cores, 2.4 replicas at
        // half load: 3; catalog 20 µs, 0.4 replicas: 1; the gateway 50 µs: 1.
        let demand = [
            part("recommendations", 120.0, 512.0),
            part("catalog", 20.0, 256.0),
            part("gateway", 50.0, 256.0),
        ];
        let sized = size(&demand, 10_000.0, 10.0, &model);
        assert_eq!(sized.replicas["recommendations"], 3);
        assert_eq!(sized.replicas["catalog"], 1);
        assert_eq!(sized.replicas["gateway"], 1);
        assert_eq!(sized.cores, 5.0);
        assert!(
            (sized.memory_gb - 2.0).abs() < 1e-9,
            "3 x 0.5 + 0.25 + 0.25"
        );
        assert!((sized.cost_per_hour - (5.0 * 0.04 + 2.0 * 0.01)).abs() < 1e-9);
        // No load still needs one of each.
        let idle = size(&demand, 0.0, 0.0, &model);
        assert!(idle.replicas.values().all(|&r| r == 1));
    }

    fn result(knee: Option<f64>, demand: Vec<Demand>) -> ScaleResult {
        let ramp = Ramp {
            steps: Vec::new(),
            knee,
            knee_is_lower_bound: false,
            stopped: String::new(),
        };
        let mut result = ScaleResult::of(ramp.clone(), ramp, 1, CostModel::default());
        result.demand = demand;
        result
    }

    #[test]
    fn both_architectures_are_sized_for_the_same_rates_the_lower_knee_times_each_factor() {
        let mut monolith = result(Some(4_000.0), vec![part("monolith", 200.0, 40.0)]);
        let mut split = result(Some(1_000.0), vec![part("gateway", 100.0, 10.0)]);
        let mut nothing_kept = result(None, Vec::new());
        project_together([&mut monolith, &mut split, &mut nothing_kept]);
        for r in [&monolith, &split] {
            assert_eq!(r.reference_rate, Some(1_000.0));
            let rates: Vec<f64> = r.projection.iter().map(|s| s.rate).collect();
            assert_eq!(rates, [1_000.0, 10_000.0, 100_000.0]);
        }
        // 100,000 req/s of 200 us at 60% of one core a replica: 33.3, so 34.
        assert_eq!(monolith.projection[2].replicas["monolith"], 34);
        assert!(
            nothing_kept.projection.is_empty(),
            "no demand, nothing to size"
        );
    }

    #[test]
    fn the_scaled_shape_doubles_only_the_hot_part_in_split_and_the_whole_monolith() {
        let scaled = scaled(&Topology::default());
        assert_eq!(scaled.spec(HOT).replicas, SCALED);
        assert_eq!(scaled.spec(Component::Catalog).replicas, 1);
        assert_eq!(scaled.monolith.replicas, SCALED);
        assert!(hot_mix().to_string().contains("recommendations=50"));
    }

    #[test]
    fn a_cost_model_that_makes_no_sense_is_refused_with_its_reason() {
        assert!(CostModel::default().validate().is_ok());
        for (bad, why) in [
            (
                CostModel {
                    target_utilization: 0.0,
                    ..Default::default()
                },
                "utilization",
            ),
            (
                CostModel {
                    target_utilization: 1.5,
                    ..Default::default()
                },
                "utilization",
            ),
            (
                CostModel {
                    price_gb_hour: -1.0,
                    ..Default::default()
                },
                "GB-hour",
            ),
            (
                CostModel {
                    price_core_hour: f64::NAN,
                    ..Default::default()
                },
                "core-hour",
            ),
        ] {
            let error = bad.validate().unwrap_err();
            assert!(error.contains(why), "{error}");
        }
    }
}
