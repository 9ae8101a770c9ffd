//! Two runs side by side (`loadgen report --compare OLD NEW`): each headline figure in
//! both, the change, and whether the change clears the noise band.
//!
//! The bands, and where each comes from:
//! - a knee moves in whole ramp steps: one step (the profile's ramp factor) is noise,
//!   as repeated runs of one tree showed (BENCHMARKS.md);
//! - latency and CPU per request: the largest spread between two turns of the same
//!   side that either run's `diversify` scenario measured (an A/A comparison inside a
//!   run); [`ASSUMED_NOISE`] when neither run has one, and the page says so;
//! - availability: one point of share, the claims' own margin;
//! - failed requests: two standard deviations of a Poisson count, 2 sqrt(n).

use maud::{Markup, html};

use crate::deploy::System;
use crate::diversify::ALL;
use crate::results::Run;
use crate::scenarios::Scenario;

use super::page::{self, number, system_name};
use super::verdicts::{common_rate, step_near};

/// The band used for latency and CPU when neither run measured its own.
pub const ASSUMED_NOISE: f64 = 0.10;

/// Which way is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    Higher,
    Lower,
}

/// How wide the noise band of a figure is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Band {
    /// Relative: a change within ±this share is noise.
    Relative(f64),
    /// Absolute, in the figure's own unit.
    Absolute(f64),
    /// A count of events (failed requests): two standard deviations of a Poisson
    /// count, 2 sqrt(n) of the larger of the two.
    Counting,
}

/// One headline figure of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// Names it across runs: scenario, system, what.
    pub key: String,
    pub system: System,
    pub unit: &'static str,
    pub value: f64,
    pub better: Better,
    pub kind: Kind,
    /// A knee the generator, not the system, ended: the system's is at least this.
    pub lower_bound: bool,
}

impl Figure {
    /// Its value and unit as the table shows them (`>=` before a lower bound).
    fn shown(&self) -> String {
        let digits = if self.kind == Kind::Count { 0 } else { 2 };
        let bound = if self.lower_bound { ">= " } else { "" };
        format!("{bound}{} {}", number(Some(self.value), digits), self.unit)
            .trim_end()
            .to_owned()
    }
}

/// What sort of figure it is: its noise band follows from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Knee,
    Latency,
    Cpu,
    Availability,
    Count,
}

/// The headline figures of `run`; latency and CPU at the capacity step nearest
/// `rate` (the run's own common rate when `None`).
pub fn figures(run: &Run, rate: Option<f64>) -> Vec<Figure> {
    let mut out = Vec::new();
    let figure = |key: String, system: System, unit, value: Option<f64>, better, kind| {
        value.filter(|v| v.is_finite()).map(|value| Figure {
            key,
            system,
            unit,
            value,
            better,
            kind,
            lower_bound: false,
        })
    };
    for scenario in &run.scenarios {
        let name = scenario.scenario.name();
        let common = rate.or_else(|| common_rate(scenario));
        for r in &scenario.systems {
            let system = r.system;
            if let Some(ramp) = &r.ramp {
                out.extend(
                    figure(
                        format!("{name}: knee"),
                        system,
                        "req/s",
                        ramp.knee,
                        Better::Higher,
                        Kind::Knee,
                    )
                    .map(|f| Figure {
                        lower_bound: ramp.knee_is_lower_bound,
                        ..f
                    }),
                );
                if let Some(m) = common.and_then(|c| step_near(&ramp.steps, c))
                    && scenario.scenario == Scenario::Capacity
                {
                    out.extend(figure(
                        format!("{name}: p50 at the common rate"),
                        system,
                        "ms",
                        Some(m.overall.corrected.p50_ms),
                        Better::Lower,
                        Kind::Latency,
                    ));
                    out.extend(figure(
                        format!("{name}: p99 at the common rate"),
                        system,
                        "ms",
                        Some(m.overall.corrected.p99_ms),
                        Better::Lower,
                        Kind::Latency,
                    ));
                    out.extend(figure(
                        format!("{name}: CPU per request at the common rate"),
                        system,
                        "us",
                        m.cost.sut_cpu_us_per_request,
                        Better::Lower,
                        Kind::Cpu,
                    ));
                }
            }
            for (endpoint, e) in &r.endpoints {
                let summary = e.measurement.endpoints.get(endpoint);
                out.extend(figure(
                    format!("{name}: {endpoint} p50"),
                    system,
                    "ms",
                    summary.map(|s| s.corrected.p50_ms),
                    Better::Lower,
                    Kind::Latency,
                ));
            }
            if let Some(o) = &r.outage {
                out.extend(figure(
                    format!("{name}: others' success during the fault"),
                    system,
                    "%",
                    Some(o.impact.independent_during.availability * 100.0),
                    Better::Higher,
                    Kind::Availability,
                ));
            }
            let impacts =
                (r.outage.iter().map(|o| &o.impact)).chain(r.rollout.iter().map(|o| &o.impact));
            for impact in impacts {
                out.extend(figure(
                    format!("{name}: failed requests"),
                    system,
                    "",
                    Some(impact.failed as f64),
                    Better::Lower,
                    Kind::Count,
                ));
            }
            if let Some(s) = &r.scale {
                out.extend(
                    figure(
                        format!("{name}: one-replica knee"),
                        system,
                        "req/s",
                        s.base.knee,
                        Better::Higher,
                        Kind::Knee,
                    )
                    .map(|f| Figure {
                        lower_bound: s.base.knee_is_lower_bound,
                        ..f
                    }),
                );
                out.extend(figure(
                    format!("{name}: cost at 100x"),
                    system,
                    "$/h",
                    s.projection.last().map(|p| p.cost_per_hour),
                    Better::Lower,
                    Kind::Cpu,
                ));
            }
        }
    }
    out
}

/// The noise bands of two runs compared, and whether each was measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Noise {
    pub knee: f64,
    pub latency: f64,
    pub cpu: f64,
    /// Whether latency's and CPU's bands were measured (an A/A spread), not assumed.
    pub measured: bool,
}

impl Noise {
    /// The bands for comparing `old` with `new`.
    pub fn of(old: &Run, new: &Run) -> Self {
        let spread = |pick: &dyn Fn(&crate::diversify::DiversifyResult) -> Option<f64>| {
            [old, new]
                .iter()
                .flat_map(|run| run.scenarios.iter().flat_map(|s| &s.systems))
                .filter_map(|r| pick(r.diversify.as_ref()?))
                .fold(None, |acc: Option<f64>, v| {
                    Some(acc.map_or(v, |a| a.max(v)))
                })
        };
        let latency = spread(&|d| d.endpoints.iter().map(|m| m.noise).reduce(f64::max));
        let cpu = spread(&|d| d.components.iter().find(|m| m.name == ALL).map(|m| m.noise));
        Self {
            knee: old.profile.ramp_factor.max(new.profile.ramp_factor) - 1.0,
            latency: latency.unwrap_or(ASSUMED_NOISE),
            cpu: cpu.unwrap_or(ASSUMED_NOISE),
            measured: latency.is_some() && cpu.is_some(),
        }
    }

    pub fn band(&self, kind: Kind) -> Band {
        match kind {
            Kind::Knee => Band::Relative(self.knee + 1e-9),
            Kind::Latency => Band::Relative(self.latency),
            Kind::Cpu => Band::Relative(self.cpu),
            Kind::Availability => Band::Absolute(1.0),
            Kind::Count => Band::Counting,
        }
    }
}

/// How one figure moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moved {
    Better,
    Worse,
    WithinNoise,
    /// The lower of two knees is a lower bound: the data cannot say which is higher.
    Inconclusive,
    /// Only the new run has it.
    New,
    /// Only the old run has it (a knee no step kept any more): worse.
    Gone,
}

/// How the figure `old` (in the old run) became `new`.
pub fn judged(old: Option<&Figure>, new: Option<&Figure>, noise: &Noise) -> Moved {
    match (old, new) {
        (Some(old), Some(new)) => {
            let lower = if new.value < old.value { new } else { old };
            let found = moved(old.value, new.value, noise.band(new.kind), new.better);
            if lower.lower_bound && found != Moved::WithinNoise {
                Moved::Inconclusive
            } else {
                found
            }
        }
        (None, Some(_)) => Moved::New,
        (Some(_), None) => Moved::Gone,
        (None, None) => Moved::WithinNoise,
    }
}

/// Whether going from `old` to `new` clears `band`, and which way.
pub fn moved(old: f64, new: f64, band: Band, better: Better) -> Moved {
    let outside = match band {
        Band::Relative(share) => (new - old).abs() > share * old.abs(),
        Band::Absolute(amount) => (new - old).abs() > amount,
        Band::Counting => (new - old).abs() > 2.0 * old.max(new).sqrt(),
    };
    if !outside {
        return Moved::WithinNoise;
    }
    match (new > old, better) {
        (true, Better::Higher) | (false, Better::Lower) => Moved::Better,
        _ => Moved::Worse,
    }
}

/// The comparison page.
pub fn page(old: &Run, new: &Run) -> String {
    let noise = Noise::of(old, new);
    // Latency and CPU at the same rate in both runs: the lower of their common rates.
    let capacity = |run: &Run| {
        run.scenarios
            .iter()
            .find(|s| s.scenario == Scenario::Capacity)
            .and_then(common_rate)
    };
    let rate = capacity(old)
        .into_iter()
        .chain(capacity(new))
        .min_by(f64::total_cmp);
    let before = figures(old, rate);
    let after = figures(new, rate);
    let same = |a: &Figure, b: &Figure| a.key == b.key && a.system == b.system;
    let rows: Vec<(Option<&Figure>, &Figure)> = after
        .iter()
        .map(|f| (before.iter().find(|b| same(b, f)), f))
        .collect();
    let gone: Vec<&Figure> = before
        .iter()
        .filter(|b| !after.iter().any(|f| same(b, f)))
        .collect();
    let title = format!("Run {} against {}", new.run_id, old.run_id);
    let band_words = |kind: Kind| match noise.band(kind) {
        Band::Relative(share) => format!("±{:.1}%", share * 100.0),
        Band::Absolute(amount) => format!("±{amount} point"),
        Band::Counting => "2 sqrt(n)".to_owned(),
    };
    let body: Markup = html! {
        h1 { (title) }
        p.sub { "old: " (old.run_id) " at " (old.environment.git_commit.get(..10).unwrap_or("?")) " · new: " (new.run_id) " at " (new.environment.git_commit.get(..10).unwrap_or("?")) }
        @if !old.valid || !new.valid {
            div.invalid { strong { "An invalid run is compared:" } " " (if old.valid { "" } else { "old " }) (if new.valid { "" } else { "new" }) " - its figures are not the systems' own." }
        }
        @if old.profile.name != new.profile.name {
            div.invalid { "The runs used different profiles: their figures are not comparable step for step." }
        }
        p {
            "Noise bands: knee ±1 ramp step (" (format!("{:.0}%", noise.knee * 100.0)) "); latency " (band_words(Kind::Latency))
            ", CPU " (band_words(Kind::Cpu))
            @if noise.measured { " (the largest A/A spread the diversify scenario measured in either run)" }
            @else { " (assumed: neither run measured an A/A spread; run diversify to measure one)" }
            "; availability ±1 point; failed requests 2 sqrt(n), a Poisson count's two standard deviations."
        }
        table {
            tr { th { "figure" } th { "system" } th.num { "old" } th.num { "new" } th.num { "change" } th { "band" } th { "verdict" } }
            @for (b, f) in &rows {
                tr {
                    td { (f.key) }
                    td { (system_name(f.system)) }
                    td.num { (b.map_or("-".to_owned(), |b| b.shown())) }
                    td.num { (f.shown()) }
                    td.num { (b.map_or("-".to_owned(), |b| change(b.value, f.value))) }
                    td { (band_words(f.kind)) }
                    td { (verdict(judged(*b, Some(f), &noise))) }
                }
            }
            @for b in &gone {
                tr {
                    td { (b.key) }
                    td { (system_name(b.system)) }
                    td.num { (b.shown()) }
                    td.num { "-" }
                    td.num { "-" }
                    td { (band_words(b.kind)) }
                    td { (verdict(Moved::Gone)) }
                }
            }
        }
        p { a href="report.html" { "the new run's report" } }
    };
    page::document(&title, body)
}

fn verdict(moved: Moved) -> Markup {
    html! {
        @match moved {
            Moved::Better => span.passed { "better" },
            Moved::Worse => span.failed { "worse" },
            Moved::Gone => span.failed { "gone (worse)" },
            Moved::WithinNoise => "within noise",
            Moved::Inconclusive => "inconclusive (a lower-bound knee)",
            Moved::New => "new figure",
        }
    }
}

fn change(old: f64, new: f64) -> String {
    if old == 0.0 {
        let sign = if new > old { "+" } else { "" };
        format!("{sign}{}", number(Some(new - old), 2))
    } else {
        format!("{:+.1}%", (new / old - 1.0) * 100.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_counts_only_outside_its_band() {
        let band = Band::Relative(0.1);
        assert_eq!(moved(100.0, 105.0, band, Better::Lower), Moved::WithinNoise);
        assert_eq!(moved(100.0, 111.0, band, Better::Lower), Moved::Worse);
        assert_eq!(moved(100.0, 89.0, band, Better::Lower), Moved::Better);
        assert_eq!(moved(100.0, 111.0, band, Better::Higher), Moved::Better);
        // Counts: two standard deviations of a Poisson count of the larger.
        assert_eq!(
            moved(687.0, 692.0, Band::Counting, Better::Lower),
            Moved::WithinNoise
        );
        assert_eq!(
            moved(0.0, 1.0, Band::Counting, Better::Lower),
            Moved::WithinNoise
        );
        assert_eq!(
            moved(0.0, 10.0, Band::Counting, Better::Lower),
            Moved::Worse
        );
        assert_eq!(
            moved(30.0, 5.0, Band::Counting, Better::Lower),
            Moved::Better
        );
    }

    #[test]
    fn a_lower_bound_knee_makes_a_move_inconclusive_and_a_lost_figure_is_worse() {
        let knee = |value, lower_bound| Figure {
            key: "capacity: knee".to_owned(),
            system: System::Split,
            unit: "req/s",
            value,
            better: Better::Higher,
            kind: Kind::Knee,
            lower_bound,
        };
        let noise = Noise {
            knee: 0.41,
            latency: 0.1,
            cpu: 0.1,
            measured: false,
        };
        let (low, high) = (knee(800.0, false), knee(3200.0, false));
        assert_eq!(judged(Some(&high), Some(&low), &noise), Moved::Worse);
        let bounded = knee(800.0, true);
        assert_eq!(
            judged(Some(&high), Some(&bounded), &noise),
            Moved::Inconclusive
        );
        assert_eq!(
            judged(Some(&bounded), Some(&high), &noise),
            Moved::Inconclusive
        );
        assert_eq!(
            judged(Some(&low), Some(&knee(900.0, true)), &noise),
            Moved::WithinNoise
        );
        assert_eq!(judged(Some(&low), None, &noise), Moved::Gone);
        assert_eq!(judged(None, Some(&low), &noise), Moved::New);
    }
}
