//! The performance figures the gate judges, each a ratio of two measurements taken in
//! the same round of the interleaved scenario: one value per round, so the rounds give
//! a small sample of it. A ratio of neighbours in time cancels what the machine does to
//! both (its speed, its neighbours, its clock), which absolute figures from two runs do
//! not (BENCHMARKS.md shows two runs of one tree 2x apart on a p99).
//!
//! - capacity against the ceiling: the ceiling's CPU per product page over the
//!   architecture's (the share of a bare endpoint's throughput a core could give);
//! - split over monolith: p50, p99 and CPU per request, for the product page and the mix;
//! - hop cost: what split adds to the product page's p50 per internal call, over the
//!   ceiling's p50 (a bare round trip);
//! - each component's mean time per call, as the processes hosting it count it, over the
//!   system's CPU per request in the same turn (every process of the architecture
//!   together); one figure per component, the geometric mean over both architectures
//!   and every workload that calls it: the only figures that can name a component. A
//!   component that gets slower is slower in both architectures, so every ratio between
//!   them stays put. The system's CPU per request runs on the same core as the
//!   component's calls, in the same processes and the same seconds, so it gauges how
//!   fast that core runs just then. Of the gauges tried (none, the load generator's CPU
//!   per request, the other components' times), it drifted least between the first
//!   three sets of runs made hours apart (the generator's, on the other core, by up to
//!   5%); in the fourth, inventory drifted about 7% under every gauge: a drift of the
//!   component itself, which no gauge takes out (BENCHMARKS.md, "The regression
//!   gate"). Its price: the component's own calls are
//!   part of the gauge, so a slower component shows less than its full change, by its
//!   share of the system's CPU (a tenth to a fifth for inventory). Within
//!   a run the rounds scatter about as much as the runs' medians do, so every turn that
//!   calls the component counts.
//!
//! In a run with a reference build (`loadgen run --reference`), every figure above is
//! taken of each build's turns (the ceiling's are shared), and the gate judges the
//! candidate's over the reference's, round by round: what the change between the two
//! builds did to it. The two builds of a system are measured at once, as a duet
//! ([`crate::interleaved`]), so what drifts between runs made hours apart (the
//! machine; in set 4, one component's process) and what the machine does from second
//! to second fall on both, and a baseline of runs comparing a build with itself holds
//! the noise of each ratio alone, near 1.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use shop_domain::Component;

use crate::deploy::{Build, System};
use crate::interleaved::{Turn, Workload};
use crate::journeys::Action;
use crate::results::Run;
use crate::scenarios::{Scenario, internal_calls};

/// Which way a figure gets worse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Worse {
    Higher,
    Lower,
}

/// One figure: its value in each round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    /// Names it, stable from run to run (the baseline is keyed by it).
    pub name: String,
    pub worse: Worse,
    /// The component it is about, if one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<Component>,
    /// Its value in each round, by round number (a round missing a side it needs is
    /// left out).
    pub rounds: BTreeMap<usize, f64>,
}

impl Figure {
    /// Its values, in round order: the sample the gate judges.
    pub fn values(&self) -> Vec<f64> {
        self.rounds.values().copied().collect()
    }
}

/// The figures the gate judges in `run`'s interleaved scenario; empty when it has none.
/// Without a reference build, the candidate's own ([`own_figures`]); with one, each of
/// those over the reference build's same figure in the same round: what the change
/// between the two builds did to it, near 1 when they are the same code.
pub fn figures(run: &Run) -> Vec<Figure> {
    let ours = own_figures(run, Build::Candidate);
    let theirs = own_figures(run, Build::Reference);
    if theirs.is_empty() {
        return ours;
    }
    ours.into_iter()
        .filter_map(|figure| {
            let reference = theirs.iter().find(|f| f.name == figure.name)?;
            let rounds: BTreeMap<usize, f64> = figure
                .rounds
                .iter()
                .filter_map(|(&round, &value)| Some((round, value / reference.rounds.get(&round)?)))
                .collect();
            Some(Figure {
                name: format!("{} / the reference build's", figure.name),
                rounds,
                ..figure
            })
        })
        .filter(|f| !f.rounds.is_empty())
        .collect()
}

/// The figures of `build`'s turns in `run`'s interleaved scenario (beside the ceiling's,
/// which both builds share); empty when it has none.
pub fn own_figures(run: &Run, build: Build) -> Vec<Figure> {
    let Some(scenario) = run
        .scenarios
        .iter()
        .find(|s| s.scenario == Scenario::Interleaved)
    else {
        return Vec::new();
    };
    let turns = Turns::of(
        scenario
            .systems
            .iter()
            .filter(|r| r.build == build || r.system == System::Ceiling)
            .map(|r| (r.system, r.turns.as_slice())),
    );
    if !turns
        .0
        .keys()
        .any(|&(system, _, _)| system != System::Ceiling)
    {
        return Vec::new();
    }
    let mut found = Vec::new();
    let page = Workload::ProductPage;
    for system in [System::Monolith, System::Split] {
        found.push(turns.ratio(
            format!(
                "{} capacity / ceiling's (product page, from CPU per request)",
                system.name()
            ),
            Worse::Lower,
            (System::Ceiling, page),
            (system, page),
            cpu_per_request,
        ));
    }
    for workload in [page, Workload::Mix] {
        let w = workload.name();
        let pair = ((System::Split, workload), (System::Monolith, workload));
        found.push(turns.ratio(
            format!("split / monolith p50 ({w})"),
            Worse::Higher,
            pair.0,
            pair.1,
            p50,
        ));
        found.push(turns.ratio(
            format!("split / monolith p99 ({w})"),
            Worse::Higher,
            pair.0,
            pair.1,
            p99,
        ));
        found.push(turns.ratio(
            format!("split / monolith CPU per request ({w})"),
            Worse::Higher,
            pair.0,
            pair.1,
            cpu_per_request,
        ));
    }
    found.push(turns.hop_cost());
    found.extend(turns.component_times());
    found.retain(|f| !f.rounds.is_empty());
    found
}

/// The turns that stand (not retried), by system, workload and round.
struct Turns<'a>(BTreeMap<(System, Workload, usize), &'a Turn>);

impl<'a> Turns<'a> {
    fn of(systems: impl Iterator<Item = (System, &'a [Turn])>) -> Self {
        let mut by = BTreeMap::new();
        for (system, turns) in systems {
            for turn in turns.iter().filter(|t| !t.measurement.retried) {
                by.insert((system, turn.workload, turn.round), turn);
            }
        }
        Self(by)
    }

    fn rounds(&self) -> Vec<usize> {
        let mut rounds: Vec<usize> = self.0.keys().map(|&(_, _, round)| round).collect();
        rounds.sort_unstable();
        rounds.dedup();
        rounds
    }

    fn get(&self, (system, workload): (System, Workload), round: usize) -> Option<&'a Turn> {
        self.0.get(&(system, workload, round)).copied()
    }

    /// `read(top) / read(bottom)` in every round that has both.
    fn ratio(
        &self,
        name: String,
        worse: Worse,
        top: (System, Workload),
        bottom: (System, Workload),
        read: impl Fn(&Turn) -> Option<f64>,
    ) -> Figure {
        let rounds = self
            .rounds()
            .into_iter()
            .filter_map(|round| {
                let (a, b) = (
                    read(self.get(top, round)?)?,
                    read(self.get(bottom, round)?)?,
                );
                (a > 0.0 && b > 0.0).then(|| (round, a / b))
            })
            .collect();
        Figure {
            name,
            worse,
            component: None,
            rounds,
        }
    }

    /// What split adds to the product page's p50 per internal call, in bare round
    /// trips (the ceiling's p50 of the same round).
    fn hop_cost(&self) -> Figure {
        let page = Workload::ProductPage;
        let calls = crate::report::sections::calls(internal_calls(Action::ProductPage)) as f64;
        let rounds = self
            .rounds()
            .into_iter()
            .filter_map(|round| {
                let split = p50(self.get((System::Split, page), round)?)?;
                let monolith = p50(self.get((System::Monolith, page), round)?)?;
                let bare = p50(self.get((System::Ceiling, page), round)?)?;
                // What split adds: a round where it added nothing has no ratio to take.
                (bare > 0.0 && split > monolith).then(|| (round, (split - monolith) / calls / bare))
            })
            .collect();
        Figure {
            name: "hop cost / bare round trip (product page p50, per internal call)".to_owned(),
            worse: Worse::Higher,
            component: None,
            rounds,
        }
    }

    /// Each component's time per call over the system's CPU per request, in every
    /// turn that calls it: per round, the geometric mean over both architectures and
    /// every workload that calls it in this run (the product page calls catalog,
    /// inventory and recommendations too; the cart, payments and orders only the mix).
    /// A round missing one of those turns is left out, so every round's value is a mean
    /// over the same kinds of turn.
    fn component_times(&self) -> Vec<Figure> {
        let systems = [System::Monolith, System::Split];
        let mut found = Vec::new();
        for component in Component::ALL {
            let called: Vec<Workload> = [Workload::ProductPage, Workload::Mix]
                .into_iter()
                .filter(|&w| {
                    self.0.iter().any(|(&(_, workload, _), turn)| {
                        workload == w && time_per_system_request(turn, component).is_some()
                    })
                })
                .collect();
            if called.is_empty() {
                continue;
            }
            let rounds: BTreeMap<usize, f64> = self
                .rounds()
                .into_iter()
                .filter_map(|round| {
                    let logs = called
                        .iter()
                        .flat_map(|&workload| systems.map(|system| (system, workload)))
                        .map(|key| {
                            time_per_system_request(self.get(key, round)?, component).map(f64::ln)
                        })
                        .collect::<Option<Vec<f64>>>()?;
                    let mean = logs.iter().sum::<f64>() / logs.len() as f64;
                    Some((round, mean.exp()))
                })
                .collect();
            if !rounds.is_empty() {
                found.push(Figure {
                    name: format!(
                        "{component} time per call / system CPU per request (every turn calling it)"
                    ),
                    worse: Worse::Higher,
                    component: Some(component),
                    rounds,
                });
            }
        }
        found
    }
}

/// `component`'s mean time per call in `turn` over the system's CPU per request there:
/// how many requests' worth of the system's CPU one call takes.
fn time_per_system_request(turn: &Turn, component: Component) -> Option<f64> {
    let us = turn.component_times.get(&component)?.mean_us()?;
    let system = cpu_per_request(turn)?;
    (us > 0.0 && system > 0.0).then(|| us / system)
}

/// The components `component` calls while it works, as the shop wires them (orders'
/// `OrdersDeps`, the cart's catalog): their time is inside its time.
pub fn callees(component: Component) -> &'static [Component] {
    use Component::*;
    match component {
        Orders => &[Cart, Catalog, Inventory, Payments],
        Cart => &[Catalog],
        Catalog | Inventory | Payments | Recommendations | Users => &[],
    }
}

fn cpu_per_request(turn: &Turn) -> Option<f64> {
    turn.measurement.cost.sut_cpu_us_per_request
}

fn p50(turn: &Turn) -> Option<f64> {
    Some(turn.measurement.overall.corrected.p50_ms)
}

fn p99(turn: &Turn) -> Option<f64> {
    Some(turn.measurement.overall.corrected.p99_ms)
}
