//! The baseline the performance gates compare a run with: the figures of a few clean
//! runs of the `ci` profile on the machine class the gate runs on, every round of each
//! kept, and how far apart the runs' medians fell: the between-run noise that sets each
//! figure's tolerance. Made by `loadgen baseline RUN_DIR...`; kept in
//! `results/baseline/ci.json`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail, ensure};
use serde::{Deserialize, Serialize};
use shop_domain::Component;
use statrs::distribution::{ContinuousCDF, StudentsT};

use super::figures::{Figure, Worse, figures};
use super::stats::{Change, change, median};
use crate::results::Run;
use crate::scenarios::ProfileName;

pub const SCHEMA_VERSION: u32 = 2;

/// The least tolerance a figure gets, however close its baseline runs fell: a few
/// runs can agree by chance more closely than the next run will.
pub const MIN_TOLERANCE: f64 = 0.05;

/// How often a clean run may fail the performance gate by chance: one in a hundred.
/// A run judges every figure of the baseline at once, so each figure gets an equal
/// share of it (Bonferroni, [`Baseline::prediction_level`]): with fifteen figures, a
/// tolerance is the one-sided 99.93% prediction bound for one more clean run's median.
/// The share holds whether or not the figures move together, were the noise normal
/// (BENCHMARKS.md, "The regression gate", measures it).
pub const RUN_FALSE_ALARM: f64 = 0.01;

/// The fewest runs a baseline is made of: the spread between them sets the tolerances.
pub const MIN_RUNS: usize = 3;

/// The fewest rounds a figure needs, in the run and in each baseline run, to be judged:
/// fewer and its interval says nothing.
pub const MIN_ROUNDS: usize = 3;

/// The runs to compare against, as `results/baseline/ci.json` keeps them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    pub schema_version: u32,
    /// The run ids it was made from, and the commits they measured (each once, in the
    /// runs' order).
    pub runs: Vec<String>,
    pub git_commits: Vec<String>,
    /// The machine class: a run on another is compared for information only.
    pub cpu_model: String,
    pub cores: usize,
    pub profile: ProfileName,
    /// The reference build its runs compared every figure with, if they did
    /// (`loadgen run --reference`): a run is judged against it with one too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<BaselineReference>,
    pub figures: Vec<BaselineFigure>,
}

/// The reference build of a baseline's runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineReference {
    /// Its commit, when every run had the same one; none when they deployed prebuilt
    /// binaries or differed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

/// One figure in every baseline run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineFigure {
    pub name: String,
    pub worse: Worse,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<Component>,
    /// Per run, its rounds.
    pub runs: Vec<Vec<f64>>,
}

impl BaselineFigure {
    fn pooled(&self) -> Vec<f64> {
        self.runs.iter().flatten().copied().collect()
    }

    /// The standard deviation of the runs' medians, relative to their mean: how far
    /// apart clean runs of one tree fall. `None` under two runs.
    pub fn spread(&self) -> Option<f64> {
        let medians: Vec<f64> = self.runs.iter().filter_map(|r| median(r)).collect();
        if medians.len() < 2 {
            return None;
        }
        let n = medians.len() as f64;
        let mean = medians.iter().sum::<f64>() / n;
        if mean.is_nan() || mean <= 0.0 {
            return None;
        }
        let variance = medians.iter().map(|m| (m - mean).powi(2)).sum::<f64>() / (n - 1.0);
        Some(variance.sqrt() / mean)
    }

    /// The change a run must show, beyond its interval, to count: the one-sided
    /// prediction bound at `level` for one more clean run's median, `t * spread *
    /// sqrt(1 + 1/runs)` with t of `runs - 1` degrees of freedom, never under the floor.
    /// `None` under [`MIN_RUNS`] runs of it, too few to know its noise.
    pub fn tolerance(&self, level: f64) -> Option<f64> {
        debug_assert!(
            (0.5..1.0).contains(&level),
            "not a one-sided level: {level}"
        );
        let runs = self.runs.iter().filter(|r| median(r).is_some()).count();
        if runs < MIN_RUNS {
            return None;
        }
        let spread = self.spread()?;
        let t = StudentsT::new(0.0, 1.0, (runs - 1) as f64)
            .ok()?
            .inverse_cdf(level);
        let next_run = (1.0 + 1.0 / runs as f64).sqrt();
        Some((t * spread * next_run).max(MIN_TOLERANCE))
    }
}

impl Baseline {
    /// Made from `runs`: each valid, of the same profile and machine, with the
    /// interleaved scenario.
    pub fn of(runs: &[Run]) -> Result<Self> {
        let Some(first) = runs.first() else {
            bail!("a baseline needs at least {MIN_RUNS} runs");
        };
        let mut ids: Vec<&str> = runs.iter().map(|r| r.run_id.as_str()).collect();
        ids.sort_unstable();
        if let Some(twice) = ids.windows(2).find(|pair| pair[0] == pair[1]) {
            bail!(
                "run {} is given twice: each run counts once in the spread",
                twice[0]
            );
        }
        ensure!(
            ids.len() >= MIN_RUNS,
            "a baseline needs at least {MIN_RUNS} different runs (the spread between them sets each tolerance); given {}",
            ids.len()
        );
        let mut by_name: BTreeMap<String, BaselineFigure> = BTreeMap::new();
        for run in runs {
            ensure!(
                run.valid,
                "run {} is not valid ({}): a baseline is made of clean runs",
                run.run_id,
                run.invalid_because.join("; ")
            );
            ensure!(
                run.environment.test_knobs.is_empty(),
                "run {} ran with test-only settings ({}): a baseline is made of the shop as it is",
                run.run_id,
                run.environment.test_knobs.join(", ")
            );
            ensure!(
                run.profile.name == first.profile.name,
                "runs {} and {} have different profiles",
                first.run_id,
                run.run_id
            );
            ensure!(
                run.environment.reference.is_some() == first.environment.reference.is_some(),
                "runs {} and {} differ in having a reference build: a baseline's figures are all of one kind",
                first.run_id,
                run.run_id
            );
            ensure!(
                run.environment.cpu_model == first.environment.cpu_model
                    && run.environment.cores == first.environment.cores,
                "runs {} and {} ran on different machines",
                first.run_id,
                run.run_id
            );
            let found = figures(run);
            ensure!(
                !found.is_empty(),
                "run {} has no interleaved turns (run it with --profile ci)",
                run.run_id
            );
            for Figure {
                name,
                worse,
                component,
                rounds,
            } in found
            {
                ensure!(
                    rounds.len() >= MIN_ROUNDS,
                    "run {}: {name} has {} round(s), fewer than {MIN_ROUNDS}",
                    run.run_id,
                    rounds.len()
                );
                by_name
                    .entry(name.clone())
                    .or_insert_with(|| BaselineFigure {
                        name,
                        worse,
                        component,
                        runs: Vec::new(),
                    })
                    .runs
                    .push(rounds.into_values().collect());
            }
        }
        if let Some(thin) = by_name.values().find(|f| f.runs.len() < MIN_RUNS) {
            bail!(
                "{} was measured in {} of the runs, fewer than {MIN_RUNS}: a baseline could not judge it",
                thin.name,
                thin.runs.len()
            );
        }
        Ok(Self {
            schema_version: SCHEMA_VERSION,
            runs: runs.iter().map(|r| r.run_id.clone()).collect(),
            git_commits: runs.iter().fold(Vec::new(), |mut commits, run| {
                if !commits.contains(&run.environment.git_commit) {
                    commits.push(run.environment.git_commit.clone());
                }
                commits
            }),
            cpu_model: first.environment.cpu_model.clone(),
            cores: first.environment.cores,
            profile: first.profile.name,
            reference: first.environment.reference.as_ref().map(|first_reference| {
                let commit = first_reference.commit.clone();
                let shared = runs
                    .iter()
                    .all(|r| r.environment.reference.as_ref().map(|r| &r.commit) == Some(&commit));
                BaselineReference {
                    commit: commit.filter(|_| shared),
                }
            }),
            figures: by_name.into_values().collect(),
        })
    }

    pub fn read(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let not_a_baseline = || format!("{} is not a baseline", path.display());
        // The version first, so that an older baseline is named as one.
        #[derive(Deserialize)]
        struct Versioned {
            schema_version: u32,
        }
        let Versioned { schema_version } =
            serde_json::from_str(&text).with_context(not_a_baseline)?;
        ensure!(
            schema_version == SCHEMA_VERSION,
            "{} is a baseline of schema {schema_version}, this loadgen reads {SCHEMA_VERSION}: refresh it",
            path.display(),
        );
        serde_json::from_str(&text).with_context(not_a_baseline)
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let json = serde_json::to_string_pretty(self)? + "\n";
        std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))
    }

    /// The level of each figure's prediction bound: [`RUN_FALSE_ALARM`] shared
    /// equally among its figures.
    pub fn prediction_level(&self) -> f64 {
        1.0 - RUN_FALSE_ALARM / self.figures.len().max(1) as f64
    }

    /// Its profile's name (`ci`).
    pub fn profile_name(&self) -> String {
        crate::report::page::name_of(&self.profile)
    }

    /// Whether `run` ran where the baseline did (same CPU model and core count).
    pub fn same_machine(&self, run: &Run) -> bool {
        run.environment.cpu_model == self.cpu_model && run.environment.cores == self.cores
    }
}

/// How a figure of a run compares with the baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    pub name: String,
    pub component: Option<Component>,
    pub baseline: f64,
    pub run: f64,
    /// How much worse (negative: better), with its interval.
    pub change: Change,
    pub tolerance: f64,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Worse by more than the tolerance (more than clean runs differ by), and worse at
    /// the interval's better end too (not one round's luck).
    Regressed,
    /// Better in the same two senses.
    Improved,
    /// Within the noise.
    Unchanged,
}

/// Each figure of `run` that the baseline has, judged; and, for each of the baseline's
/// figures that could not be, why (not measured, too few rounds, nothing to divide by).
pub fn judge(baseline: &Baseline, run: &[Figure]) -> (Vec<Judged>, Vec<String>) {
    let mut judged = Vec::new();
    let mut missing = Vec::new();
    let level = baseline.prediction_level();
    for reference in &baseline.figures {
        let Some(figure) = run.iter().find(|f| f.name == reference.name) else {
            missing.push(format!(
                "{}: in the baseline, not measured in this run",
                reference.name
            ));
            continue;
        };
        if figure.rounds.len() < MIN_ROUNDS {
            missing.push(format!(
                "{}: {} round(s) in this run, fewer than the {MIN_ROUNDS} it takes to judge",
                reference.name,
                figure.rounds.len()
            ));
            continue;
        }
        let pooled = reference.pooled();
        let values = figure.values();
        let worse = |r: f64, b: f64| match reference.worse {
            Worse::Higher => r / b - 1.0,
            Worse::Lower => b / r - 1.0,
        };
        let (Some(change), Some(b), Some(r)) = (
            change(&pooled, &values, worse),
            median(&pooled),
            median(&values),
        ) else {
            missing.push(format!(
                "{}: cannot be compared (a median of 0, or no value)",
                reference.name
            ));
            continue;
        };
        let Some(tolerance) = reference.tolerance(level) else {
            missing.push(format!(
                "{}: in fewer than {MIN_RUNS} baseline runs, too few to know its noise",
                reference.name
            ));
            continue;
        };
        let verdict = if change.estimate > tolerance && change.low > 0.0 {
            Verdict::Regressed
        } else if change.estimate < -tolerance && change.high < 0.0 {
            Verdict::Improved
        } else {
            Verdict::Unchanged
        };
        judged.push(Judged {
            name: reference.name.clone(),
            component: reference.component,
            baseline: b,
            run: r,
            change,
            tolerance,
            verdict,
        });
    }
    (judged, missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figure(runs: Vec<Vec<f64>>) -> BaselineFigure {
        BaselineFigure {
            name: "catalog time per call / system CPU per request (every turn calling it)"
                .to_owned(),
            worse: Worse::Higher,
            component: Some(Component::Catalog),
            runs,
        }
    }

    /// Rounds 1, 2, ... holding `values`.
    fn numbered(values: Vec<f64>) -> BTreeMap<usize, f64> {
        (1..).zip(values).collect()
    }

    fn baseline(figures: Vec<BaselineFigure>) -> Baseline {
        Baseline {
            schema_version: SCHEMA_VERSION,
            runs: vec!["a".into(), "b".into()],
            git_commits: vec!["c".into()],
            cpu_model: "cpu".into(),
            cores: 2,
            profile: ProfileName::Ci,
            reference: None,
            figures,
        }
    }

    #[test]
    fn the_tolerance_is_a_prediction_bound_for_the_next_run_and_never_under_the_floor() {
        let tight = figure(vec![vec![1.0, 1.0], vec![1.0, 1.0], vec![1.0, 1.0]]);
        assert_eq!(tight.tolerance(0.995), Some(MIN_TOLERANCE));
        // Medians 1.0, 1.1 and 1.2: mean 1.1, deviation 0.1, so 9.09% of it. Student's
        // t of 2 degrees of freedom puts 0.5% above 9.925 (the tables' value).
        let loose = figure(vec![vec![1.0, 1.0], vec![1.1, 1.1], vec![1.2, 1.2]]);
        let spread = loose.spread().unwrap();
        assert!((spread - 0.1 / 1.1).abs() < 1e-9, "{spread}");
        let expected = 9.925 * spread * (1.0_f64 + 1.0 / 3.0).sqrt();
        let tolerance = loose.tolerance(0.995).unwrap();
        assert!(
            (tolerance / expected - 1.0).abs() < 1e-3,
            "{tolerance} vs {expected}"
        );
        // More runs, about as spread: a narrower bound (t of 7 degrees: 3.499).
        let eight = figure((0..8).map(|i| vec![[1.0, 1.1, 1.2][i % 3]]).collect());
        let spread = eight.spread().unwrap();
        let expected = 3.499 * spread * (1.0_f64 + 1.0 / 8.0).sqrt();
        let tolerance = eight.tolerance(0.995).unwrap();
        assert!(
            (tolerance / expected - 1.0).abs() < 1e-3,
            "{tolerance} vs {expected}"
        );
        // A stricter level, a wider bound: 0.1% above is t = 4.785 (the tables' value).
        let expected = 4.785 * spread * (1.0_f64 + 1.0 / 8.0).sqrt();
        let tolerance = eight.tolerance(0.999).unwrap();
        assert!(
            (tolerance / expected - 1.0).abs() < 1e-3,
            "{tolerance} vs {expected}"
        );
        // Two runs cannot say how far a third falls.
        assert_eq!(figure(vec![vec![1.0], vec![1.2]]).tolerance(0.995), None);
    }

    #[test]
    fn a_run_s_false_alarms_are_shared_among_its_figures() {
        let one = baseline(vec![figure(vec![vec![1.0]; 3])]);
        assert!((one.prediction_level() - (1.0 - RUN_FALSE_ALARM)).abs() < 1e-12);
        let fifteen = baseline(vec![figure(vec![vec![1.0]; 3]); 15]);
        let level = fifteen.prediction_level();
        assert!(
            (level - (1.0 - RUN_FALSE_ALARM / 15.0)).abs() < 1e-12,
            "{level}"
        );
    }

    #[test]
    fn a_change_one_figure_alone_would_call_is_noise_among_fifteen() {
        // Thousands of resamples: a core's worth, kept apart from the timing tests.
        let _alone = crate::TIMING_TESTS.blocking_lock();
        // Five runs, medians 1.00, 1.02, 0.98, 1.01, 0.99: 1.58% apart. Alone, the
        // figure is judged at 99% (t of 4 degrees: 3.747), a tolerance of 6.5%; as one
        // of fifteen at 99.93% (t of 7.99), a tolerance of about 13.8%.
        let reference = figure(
            [1.00, 1.02, 0.98, 1.01, 0.99]
                .iter()
                .map(|&m| vec![m; 3])
                .collect(),
        );
        let run = Figure {
            name: reference.name.clone(),
            worse: Worse::Higher,
            component: Some(Component::Catalog),
            rounds: numbered(vec![1.10; 4]),
        };
        let (alone, _) = judge(
            &baseline(vec![reference.clone()]),
            std::slice::from_ref(&run),
        );
        assert!((alone[0].tolerance - 0.065).abs() < 0.001, "{alone:?}");
        assert_eq!(alone[0].verdict, Verdict::Regressed, "{alone:?}");
        let (among, _) = judge(&baseline(vec![reference; 15]), &[run]);
        assert_eq!(among.len(), 15);
        assert!(among.iter().all(|j| j.tolerance > 0.12), "{among:?}");
        assert!(
            among.iter().all(|j| j.verdict == Verdict::Unchanged),
            "{among:?}"
        );
    }

    #[test]
    fn a_slower_component_is_a_regression_named_for_it_and_noise_is_not() {
        // Thousands of resamples: a core's worth, kept apart from the timing tests.
        let _alone = crate::TIMING_TESTS.blocking_lock();
        let reference = figure(vec![
            vec![1.00, 1.01, 0.99, 1.00, 1.02, 0.98],
            vec![1.01, 1.00, 0.99, 1.01, 1.00, 1.00],
            vec![0.99, 1.00, 1.01, 1.00, 0.99, 1.01],
        ]);
        let base = baseline(vec![reference.clone()]);
        let run = |rounds: Vec<f64>| Figure {
            name: reference.name.clone(),
            worse: Worse::Higher,
            component: Some(Component::Catalog),
            rounds: numbered(rounds),
        };
        let (judged, missing) = judge(&base, &[run(vec![1.11, 1.09, 1.10, 1.12, 1.10, 1.09])]);
        assert!(missing.is_empty());
        assert_eq!(judged[0].verdict, Verdict::Regressed, "{judged:?}");
        assert_eq!(judged[0].component, Some(Component::Catalog));
        let (judged, _) = judge(&base, &[run(vec![1.02, 0.99, 1.01, 1.00, 1.03, 0.98])]);
        assert_eq!(judged[0].verdict, Verdict::Unchanged, "{judged:?}");
        let (judged, _) = judge(&base, &[run(vec![0.80, 0.82, 0.79, 0.81, 0.80, 0.83])]);
        assert_eq!(judged[0].verdict, Verdict::Improved, "{judged:?}");
        let (judged, missing) = judge(&base, &[]);
        assert!(judged.is_empty());
        assert_eq!(missing.len(), 1);
        assert!(missing[0].starts_with(&reference.name), "{missing:?}");
        let (judged, missing) = judge(&base, &[run(vec![1.5, 1.5])]);
        assert!(judged.is_empty());
        assert!(missing[0].contains("fewer than the 3"), "{missing:?}");
    }

    #[test]
    fn where_lower_is_worse_a_drop_is_the_regression() {
        // Thousands of resamples: a core's worth, kept apart from the timing tests.
        let _alone = crate::TIMING_TESTS.blocking_lock();
        let mut reference = figure(vec![
            vec![0.50, 0.51, 0.49, 0.50],
            vec![0.51, 0.50, 0.50, 0.49],
            vec![0.49, 0.50, 0.51, 0.50],
        ]);
        reference.worse = Worse::Lower;
        let base = baseline(vec![reference.clone()]);
        let run = Figure {
            name: reference.name.clone(),
            worse: Worse::Lower,
            component: None,
            rounds: numbered(vec![0.40, 0.41, 0.40, 0.39]),
        };
        let (judged, _) = judge(&base, &[run]);
        assert_eq!(judged[0].verdict, Verdict::Regressed, "{judged:?}");
        assert!(
            (judged[0].change.estimate - 0.25).abs() < 0.01,
            "{judged:?}"
        );
    }
}
