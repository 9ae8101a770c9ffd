//! The interleaved scenario: the ceiling, the monolith and the split build deployed
//! side by side and measured in turns at the same rates, round after round, the order
//! reversed every other round (ceiling, monolith, split; then split, monolith,
//! ceiling). Whatever the machine does meanwhile falls on every side alike, and each
//! round gives one value of every ratio the regression gate judges ([`crate::gate`]):
//! a turn's figures are only ever divided by figures of the same round.
//!
//! Each turn of the monolith and of split runs the product page and then the shop mix;
//! the ceiling serves the product page only. Besides latency and CPU, a turn reads the
//! time spent in each component from the processes' own `/metrics` over its measured
//! stretch ([`crate::scrape::component_times`]): the figure that names a component
//! when one gets slower.
//!
//! With a reference build (`loadgen run --reference`), its monolith and split are
//! sides too ([`Side`]), and each takes its turns together with the candidate's of the
//! same system, as a duet ([`crate::measure::measure_duet`]): the same load at both at
//! once, on the same core, their sends at the same instants. The gate then divides
//! each build's figures by the other's of the same turn, and what the machine did in
//! those seconds cancels.
//!
//! A turn the generator limited is measured again (`RETRIES`); a round in which one
//! stayed limited is set aside whole and measured again after the others
//! ([`SPOILED_ROUNDS_AGAIN`]).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::{Deserialize, Serialize};
use shop_domain::Component;

use crate::deploy::{Build, Deployment, System};
use crate::journeys::{Action, Mix};
use crate::measure::{
    Bench, LAG_TOLERANCE, Load, Measurement, Observed, Part, Retries, Sut, Verdict, measure_duet,
    measure_during, with_retries,
};
use crate::scenarios::{Profile, journey};
use crate::schedule::RateProfile;
use crate::scrape::{ByProcess, CallTime, between, component_times};

/// The interleaved scenario's load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InterleavedTiming {
    pub rounds: usize,
    /// The product page's rate: within split's knee for it, so every side keeps it.
    pub page_rate: f64,
    /// The shop mix's rate.
    pub mix_rate: f64,
    /// Measured length of each turn (after the profile's warm-up).
    #[serde(with = "crate::scenarios::seconds")]
    pub length: Duration,
}

impl Default for InterleavedTiming {
    /// The `ci` profile's: 8 rounds of 3 s turns at 400 req/s.
    fn default() -> Self {
        Self {
            rounds: 8,
            page_rate: 400.0,
            mix_rate: 400.0,
            length: Duration::from_secs(3),
        }
    }
}

/// What a turn sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    /// The product page alone: the one page the ceiling can serve too.
    ProductPage,
    /// The run's shop mix.
    Mix,
}

impl Workload {
    pub fn name(self) -> &'static str {
        match self {
            Workload::ProductPage => "product-page",
            Workload::Mix => "mix",
        }
    }

    /// The workloads `system` runs in each round, whichever build. A reference build
    /// runs the same turns as the candidate, so that each build's turns follow the same
    /// history: with one binary as both builds and the reference running the mix
    /// alone, the candidate's mix turns (each right after its own product page) timed
    /// catalog 8% and recommendations 4% faster than the reference's (after a pause).
    pub fn of(system: System) -> &'static [Workload] {
        match system {
            System::Ceiling => &[Workload::ProductPage],
            _ => &[Workload::ProductPage, Workload::Mix],
        }
    }
}

/// One turn of one system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    /// From 1.
    pub round: usize,
    pub workload: Workload,
    pub measurement: Measurement,
    /// Calls into each component over the measured stretch and the time they took, as
    /// the processes hosting it count them (none for the ceiling).
    pub component_times: BTreeMap<Component, CallTime>,
}

/// One deployment the rounds take turns at.
#[derive(Debug, Clone, Copy)]
pub struct Side<'a> {
    pub deployment: &'a Deployment,
    pub build: Build,
}

/// The rounds, against `sides` (each deployment once, in the order of the first round;
/// a system's reference build right after its candidate). Returns each side's turns, in
/// the order of `sides`.
///
/// The two builds of one system take their turns together, as a duet
/// ([`crate::measure::measure_duet`]): the same load at once against each, on the same
/// core, so that what the machine does in those seconds falls on both. Taken one after
/// the other, seconds apart, the two builds' CPU per product page (one binary as both)
/// scattered by 17% (monolith) and 13% (split) from round to round in the eight clean
/// runs of sets 10 and 11; at once, by 0.8% and 0.6% in the ten runs of the committed
/// baseline (BENCHMARKS.md, "Duets").
///
/// A round in which a turn stayed limited by the generator through its retries is set
/// aside (every turn of it marked `retried`) and a whole round measured in its place
/// after the others, [`SPOILED_ROUNDS_AGAIN`] times at most: the gate divides figures
/// of one round only, so a round stands whole or not at all.
pub async fn run(
    sides: &[Side<'_>],
    mix: &Mix,
    profile: &Profile,
    bench: &Bench,
    mut progress: impl FnMut(&str, Duration),
) -> Result<Vec<Vec<Turn>>> {
    let timing = &profile.interleaved;
    let mut turns: Vec<Vec<Turn>> = vec![Vec::new(); sides.len()];
    let systems: Vec<System> = sides.iter().map(|s| s.deployment.system).collect();
    let (mut round, mut rounds, mut again_left) = (0, timing.rounds, SPOILED_ROUNDS_AGAIN);
    while round < rounds {
        round += 1;
        let before: Vec<usize> = turns.iter().map(Vec::len).collect();
        let mut order = together(&systems);
        if round % 2 == 0 {
            order.reverse();
            order.iter_mut().for_each(|group| group.reverse());
        }
        for group in order {
            let members: Vec<Side> = group.iter().map(|&side| sides[side]).collect();
            let names: Vec<String> = members
                .iter()
                .map(|side| format!("{}{}", side.deployment.system.name(), side.build.suffix()))
                .collect();
            for &workload in Workload::of(members[0].deployment.system) {
                progress(
                    &format!(
                        "round {round} of {rounds}: {} {}",
                        names.join(" with "),
                        workload.name()
                    ),
                    profile.warm_up + timing.length,
                );
                let measured = turn(&members, round, workload, mix, profile, bench).await?;
                for (side, found) in group.iter().zip(measured) {
                    turns[*side].extend(found);
                }
            }
        }
        if again_left > 0 && set_aside_if_spoiled(&mut turns, &before) {
            again_left -= 1;
            rounds += 1;
        }
    }
    Ok(turns)
}

/// The sides measured together, as indices into the sides deploying `systems`: each
/// run of neighbours deploying the same system (its candidate and reference builds).
fn together(systems: &[System]) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (index, system) in systems.iter().enumerate() {
        match groups.last_mut() {
            Some(group) if systems[group[0]] == *system => group.push(index),
            _ => groups.push(vec![index]),
        }
    }
    groups
}

/// How many spoiled rounds are measured again, at most. A disturbance of this machine
/// can outlast a turn's retries: in one of set 7's clean `ci` runs, four of round 2's
/// mix turns were limited by the generator (sends 2.4-3.1 ms late at p99 while it used
/// 16% of its core), one of them through both retries, and the run was invalid for it.
pub const SPOILED_ROUNDS_AGAIN: usize = 2;

/// Whether the turns after `before` (each side's count before the round) hold one the
/// generator limited that was not measured again; if so, every one of them is marked
/// `retried`: the round will be measured again as a whole.
fn set_aside_if_spoiled(turns: &mut [Vec<Turn>], before: &[usize]) -> bool {
    let spoiled = turns.iter().zip(before).any(|(side, &from)| {
        side[from..]
            .iter()
            .any(|t| !t.measurement.retried && t.measurement.verdict == Verdict::GeneratorLimited)
    });
    if spoiled {
        for (side, &from) in turns.iter_mut().zip(before) {
            for turn in &mut side[from..] {
                turn.measurement.retried = true;
            }
        }
    }
    spoiled
}

/// How a turn the generator limited is measured again: twice at most, after a pause.
/// Retried straight away, once, a turn and its retry were both limited in 2 of 18
/// clean `ci` runs (the disturbance outlasted the 6 s of both), and the whole run was
/// invalid for it.
const RETRIES: Retries = Retries {
    times: 2,
    pause: Duration::from_secs(5),
};

/// One turn of `group` (one side, or a system's two builds as a duet), measured again
/// when the generator, not the server, limited it ([`RETRIES`]; the attempts before
/// the last stay, marked `retried`). Returns each side's attempts, in `group`'s order.
async fn turn(
    group: &[Side<'_>],
    round: usize,
    workload: Workload,
    mix: &Mix,
    profile: &Profile,
    bench: &Bench,
) -> Result<Vec<Vec<Turn>>> {
    let timing = &profile.interleaved;
    let (rate, mix) = match workload {
        Workload::ProductPage => (timing.page_rate, Mix::only(Action::ProductPage)),
        Workload::Mix => (timing.mix_rate, mix.clone()),
    };
    let attempts = with_retries(
        RETRIES,
        |m| m.verdict == Verdict::GeneratorLimited,
        |sides: &mut Vec<Turn>| sides.iter_mut().map(|t| &mut t.measurement).collect(),
        async |again| {
            let mut loads = Vec::new();
            let mut suts = Vec::new();
            let mut shoppers = Vec::new();
            for &Side { deployment, build } in group {
                let whose = match build {
                    Build::Candidate => "",
                    Build::Reference => "reference-",
                };
                loads.push(Load {
                    label: format!("interleaved-{whose}{}-{round}{again}", workload.name()),
                    profile: RateProfile::constant(rate, profile.warm_up + timing.length)
                        .map_err(anyhow::Error::msg)?,
                    users: Profile::users_for(rate),
                    warm_up: profile.warm_up,
                    deadline: profile.deadline,
                    lag_tolerance: LAG_TOLERANCE,
                });
                suts.push(Sut::of(deployment).await);
                shoppers.push(journey(mix.clone(), profile, bench.seed, None));
            }
            let part = |i: usize| Part {
                sut: &suts[i],
                journey: &shoppers[i],
                load: &loads[i],
            };
            let warm_up = profile.warm_up;
            let observed: Vec<Observed<_>> = match group {
                [one] => {
                    let Part { sut, journey, load } = part(0);
                    let beside = at_warm_up_end(one.deployment, warm_up);
                    vec![
                        measure_during(sut, journey.clone(), load, bench, profile.slo, beside)
                            .await?,
                    ]
                }
                [a, b] => {
                    let besides = [
                        at_warm_up_end(a.deployment, warm_up),
                        at_warm_up_end(b.deployment, warm_up),
                    ];
                    measure_duet([part(0), part(1)], bench, profile.slo, besides)
                        .await?
                        .into()
                }
                _ => anyhow::bail!("a turn is of one side or of two, not {}", group.len()),
            };
            let mut turns = Vec::new();
            for (side, observed) in group.iter().zip(observed) {
                let after = component_times(side.deployment).await;
                turns.push(Turn {
                    round,
                    workload,
                    measurement: observed.measurement,
                    component_times: between(&observed.beside, &after),
                });
            }
            Ok(turns)
        },
    )
    .await?;
    // By attempt, each side's; by side, each attempt's.
    let mut by_side: Vec<Vec<Turn>> = vec![Vec::new(); group.len()];
    for attempt in attempts {
        for (side, turn) in by_side.iter_mut().zip(attempt) {
            side.push(turn);
        }
    }
    Ok(by_side)
}

/// Reads `deployment`'s component times at the end of a load's warm-up, once handed the
/// load's start: with a reading after the load, they span the measured stretch (its
/// last answers drain within the deadline, as the CPU's do).
fn at_warm_up_end(
    deployment: &Deployment,
    warm_up: Duration,
) -> impl AsyncFnOnce(Instant) -> Result<ByProcess> + '_ {
    async move |start: Instant| {
        tokio::time::sleep_until((start + warm_up).into()).await;
        Ok(component_times(deployment).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A turn from the committed `ci` fixture, of `round`, with `verdict`.
    fn turn(round: usize, verdict: Verdict, retried: bool) -> Turn {
        let run: serde_json::Value =
            serde_json::from_str(include_str!("../tests/fixtures/ci-run.json")).unwrap();
        let mut found: Turn =
            serde_json::from_value(run["scenarios"][0]["systems"][0]["turns"][0].clone()).unwrap();
        found.round = round;
        found.measurement.verdict = verdict;
        found.measurement.retried = retried;
        found
    }

    fn retried(turns: &[Vec<Turn>]) -> Vec<Vec<bool>> {
        turns
            .iter()
            .map(|side| side.iter().map(|t| t.measurement.retried).collect())
            .collect()
    }

    #[test]
    fn each_system_s_two_builds_take_their_turns_together_and_the_ceiling_alone() {
        use System::{Ceiling, Monolith, Split};
        assert_eq!(
            together(&[Ceiling, Monolith, Monolith, Split, Split]),
            [vec![0], vec![1, 2], vec![3, 4]]
        );
        // Without a reference build, every side alone.
        assert_eq!(
            together(&[Ceiling, Monolith, Split]),
            [vec![0], vec![1], vec![2]]
        );
    }

    #[test]
    fn a_round_whose_limited_turn_stood_after_a_retry_is_kept() {
        let mut turns = vec![
            vec![turn(1, Verdict::Kept, false), turn(2, Verdict::Kept, false)],
            vec![
                turn(1, Verdict::Kept, false),
                turn(2, Verdict::GeneratorLimited, true),
                turn(2, Verdict::Kept, false),
            ],
        ];
        assert!(!set_aside_if_spoiled(&mut turns, &[1, 1]));
        assert_eq!(
            retried(&turns),
            [vec![false, false], vec![false, true, false]]
        );
    }

    #[test]
    fn a_round_with_a_turn_limited_through_its_retries_is_set_aside_whole() {
        let mut turns = vec![
            vec![turn(1, Verdict::Kept, false), turn(2, Verdict::Kept, false)],
            vec![
                turn(1, Verdict::Kept, false),
                turn(2, Verdict::GeneratorLimited, true),
                turn(2, Verdict::GeneratorLimited, false),
            ],
        ];
        assert!(set_aside_if_spoiled(&mut turns, &[1, 1]));
        // Round 2 of every side, and nothing of round 1.
        assert_eq!(
            retried(&turns),
            [vec![false, true], vec![false, true, true]]
        );
        // Set aside, it no longer spoils anything.
        assert!(!set_aside_if_spoiled(&mut turns, &[1, 1]));
    }
}
