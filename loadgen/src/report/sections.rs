//! The report, section by section: what the run is and whether it is valid, the
//! verdicts, then each chart with a table of every number it plots, the audits, how to
//! reproduce the run, and links to what else it left on disk.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::Result;
use maud::{Markup, PreEscaped, html};
use plotters::style::RGBColor;

use crate::claims::{audit_words, fault_words};
use crate::deploy::{Build, System};
use crate::measure::{Measurement, Percentiles};
use crate::partial_failure::{Impact, OutageResult};
use crate::results::{Run, ScenarioResult};
use crate::scenarios::{Ramp, Scenario};

use super::charts::{self, Bar, Mark, Panel, Series};
use super::page::{self, colour, knee, number, percent, system_name};
use super::verdicts;

/// Files beside `run.json` the report links to, relative to the run's folder.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Links {
    /// The processes' logs (`*.log`).
    pub logs: Vec<PathBuf>,
    /// goose's own HTML reports.
    pub goose: Vec<PathBuf>,
}

impl Links {
    /// What `run_dir` holds (nothing, where it cannot be read).
    pub fn found_in(run_dir: &Path) -> Self {
        let mut links = Self::default();
        let mut folders = vec![run_dir.to_owned()];
        while let Some(folder) = folders.pop() {
            let Ok(entries) = std::fs::read_dir(&folder) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let Ok(relative) = path.strip_prefix(run_dir) else {
                    continue;
                };
                if path.is_dir() {
                    folders.push(path.clone());
                } else if path.extension().is_some_and(|e| e == "log") {
                    links.logs.push(relative.to_owned());
                } else if relative.starts_with("goose")
                    && path.extension().is_some_and(|e| e == "html")
                {
                    links.goose.push(relative.to_owned());
                }
            }
        }
        links.logs.sort();
        links.goose.sort();
        links
    }
}

/// The whole report of `run`.
pub fn report(run: &Run, links: &Links) -> Result<String> {
    let title = format!("Monolith vs split: run {}", run.run_id);
    let body = html! {
        h1 { (title) }
        p.sub {
            (started(run)) " · profile " (page::name_of(&run.profile.name))
            " · seed " (run.seed) " · commit " (short(&run.environment.git_commit))
            " · " (run.scenarios.len()) " scenario(s)"
        }
        nav {
            a href="#verdicts" { "verdicts" } a href="#capacity" { "capacity" }
            a href="#hop-cost" { "hop cost" } a href="#faults" { "faults" }
            a href="#cost" { "cost" } a href="#audits" { "audits" }
            a href="#reproduce" { "reproduce" } a href="#files" { "files" }
        }
        (validity(run))
        (verdicts_section(run))
        (capacity(run)?)
        (hop_cost(run)?)
        (faults(run)?)
        (cost(run)?)
        (diversify(run))
        (interleaved(run))
        (audits(run))
        (reproduce(run))
        (files(links))
    };
    Ok(page::document(&title, body))
}

fn started(run: &Run) -> String {
    chrono::DateTime::from_timestamp_millis(run.started_unix_ms as i64).map_or_else(
        || "start unknown".to_owned(),
        |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

fn short(commit: &str) -> &str {
    commit.get(..10).unwrap_or(commit)
}

/// Red at the top when the run is invalid, with every reason; the knees that are
/// lower bounds either way.
fn validity(run: &Run) -> Markup {
    html! {
        section id="validity" {
            @if run.valid {
                p.valid { "Valid: every measurement kept its schedule and every process behaved as the scenario asked." }
            } @else {
                div.invalid {
                    strong { "INVALID RUN" }
                    @if run.interrupted { " (interrupted)" }
                    ": its figures are not the systems' own. Why:"
                    ul { @for reason in &run.invalid_because { li { (reason) } } }
                }
            }
            @if !run.limits.is_empty() {
                p { "Knees that are lower bounds (the generator, not the system, ended the ramp):" }
                ul { @for limit in &run.limits { li { (limit) } } }
            }
        }
    }
}

fn verdicts_section(run: &Run) -> Markup {
    let rows = verdicts::rows(run);
    html! {
        section id="verdicts" {
            h2 { "Verdicts" }
            @if rows.is_empty() {
                p { "This run has no scenario that judges a claim." }
            } @else {
                table {
                    tr { th { "claim" } th { "scenario" } th { "decided by" } th { (system_name(System::Monolith)) } th { (system_name(System::Split)) } th { "favours" } th { "verdict and caveat" } }
                    @for row in &rows {
                        tr {
                            td { @if row.failed { span.failed { "FAILED " } } (row.claim) }
                            td { (row.scenario) }
                            td { (row.decided_by) }
                            td { (row.figures.get(&System::Monolith).map_or("-", String::as_str)) }
                            td { (row.figures.get(&System::Split).map_or("-", String::as_str)) }
                            td { @match row.favours { Some(s) => (system_name(s)), None => "neither" } }
                            td { (row.line) br; span.caveat { (row.caveat) } }
                        }
                    }
                }
            }
        }
    }
}

/// A figure: the chart, its caption, and the table of its numbers.
fn figure(svg: String, caption: &str, table: Markup) -> Markup {
    html! {
        figure {
            (PreEscaped(svg))
            figcaption { (caption) }
        }
        (table)
    }
}

/// The steps a ramp measured (a retried step is stood for by its retry).
fn steps(ramp: &Ramp) -> impl Iterator<Item = &Measurement> {
    ramp.steps.iter().filter(|m| !m.retried)
}

/// Latency against throughput, for every ramp of the run.
fn capacity(run: &Run) -> Result<Markup> {
    let mut blocks = Vec::new();
    for scenario in &run.scenarios {
        let ramps: Vec<(String, System, &Ramp)> = scenario
            .systems
            .iter()
            .flat_map(|r| {
                let own = r
                    .ramp
                    .iter()
                    .map(move |ramp| (r.system.name().to_owned(), r.system, ramp));
                let scaled = r.scale.iter().flat_map(move |s| {
                    [
                        (
                            format!("{} one replica", r.system.name()),
                            r.system,
                            &s.base,
                        ),
                        (
                            format!("{} hot part x2", r.system.name()),
                            r.system,
                            &s.scaled,
                        ),
                    ]
                });
                own.chain(scaled)
            })
            .collect();
        if ramps.is_empty() {
            continue;
        }
        let mut series = Vec::new();
        let mut knees = Vec::new();
        for (name, system, ramp) in &ramps {
            // The second ramp of a system (scale-hot's scaled one) in a darker shade.
            let shade = if name.ends_with("x2") {
                darker(colour(*system))
            } else {
                colour(*system)
            };
            let points = |pick: fn(&Percentiles) -> f64| {
                steps(ramp)
                    .map(|m| (m.achieved_rate, pick(&m.overall.corrected).max(0.01)))
                    .collect()
            };
            series.push(Series {
                label: format!("{name} p50"),
                colour: shade,
                width: 1,
                points: points(|p| p.p50_ms),
            });
            series.push(Series {
                label: format!("{name} p99"),
                colour: shade,
                width: 3,
                points: points(|p| p.p99_ms),
            });
            if let Some(step) = crate::scale_hot::knee_step(ramp) {
                knees.push(Mark {
                    label: format!("knee {}", knee(ramp.knee, ramp.knee_is_lower_bound)),
                    colour: shade,
                    at: (step.achieved_rate, step.overall.corrected.p99_ms.max(0.01)),
                });
            }
        }
        let svg = charts::latency_curve(&series, &knees)?;
        let table = html! {
            table {
                tr { th { "system" } th { "intended req/s" } th { "achieved req/s" } th { "p50 ms" } th { "p90 ms" } th { "p99 ms" } th { "p99.9 ms" } th { "step" } th { "CPU-us/req" } th { "peak RSS MB" } }
                @for (name, system, ramp) in &ramps {
                    @for m in steps(ramp) {
                        tr {
                            td { span class=(system.name()) { (name) } }
                            td.num { (number(Some(m.intended_rate), 0)) }
                            td.num { (number(Some(m.achieved_rate), 0)) }
                            td.num { (number(Some(m.overall.corrected.p50_ms), 2)) }
                            td.num { (number(Some(m.overall.corrected.p90_ms), 2)) }
                            td.num { (number(Some(m.overall.corrected.p99_ms), 2)) }
                            td.num { (number(Some(m.overall.corrected.p999_ms), 2)) }
                            td { (page::name_of(&m.verdict)) }
                            td.num { (number(m.cost.sut_cpu_us_per_request, 1)) }
                            td.num { (number(Some(m.cost.sut_peak_rss_mb), 1)) }
                        }
                    }
                    tr { td colspan="10" { span class=(system.name()) { (name) } ": knee " (knee(ramp.knee, ramp.knee_is_lower_bound)) " req/s; " (ramp.stopped) } }
                }
            }
        };
        blocks.push(html! {
            h3 { (scenario.scenario.name()) }
            p.caveat { (scenario.about) }
            (figure(svg, "Corrected latency (from each request's intended send time) against the throughput achieved at each ramp step; thin lines p50, thick p99; the dot marks the knee, the highest step kept.", table))
        });
    }
    let spectrum = spectrum(run)?;
    Ok(html! {
        section id="capacity" {
            h2 { "Capacity: latency against throughput" }
            @if blocks.is_empty() { p { "No ramp in this run." } }
            @for block in &blocks { (block) }
            (spectrum)
        }
    })
}

fn darker(RGBColor(r, g, b): RGBColor) -> RGBColor {
    RGBColor(r / 2, g / 2, b / 2)
}

/// The percentile spectrum at the highest rate every system kept in `capacity`.
fn spectrum(run: &Run) -> Result<Markup> {
    let Some((_, rows)) = verdicts::at_common_rate(run) else {
        return Ok(html! {});
    };
    let values = |p: &Percentiles| {
        [
            p.p50_ms, p.p90_ms, p.p99_ms, p.p999_ms, p.p9999_ms, p.max_ms,
        ]
    };
    let series: Vec<Series> = rows
        .iter()
        .map(|(system, m)| Series {
            label: format!(
                "{} at {} req/s",
                system.name(),
                number(Some(m.intended_rate), 0)
            ),
            colour: colour(*system),
            width: 2,
            points: values(&m.overall.corrected)
                .into_iter()
                .enumerate()
                // A run from before p99.99 was recorded has none: no point, not a 0.
                .filter(|(_, v)| *v > 0.0)
                .map(|(i, v)| (i as f64, v))
                .collect(),
        })
        .collect();
    let svg = charts::spectrum(&series)?;
    let table = html! {
        table {
            tr { th { "system" } th { "req/s" } @for p in charts::SPECTRUM { th { (p) " ms" } } }
            @for (system, m) in &rows {
                tr {
                    td { (system_name(*system)) }
                    td.num { (number(Some(m.intended_rate), 0)) }
                    @for v in values(&m.overall.corrected) { td.num { (number(Some(v).filter(|v| *v > 0.0), 2)) } }
                }
            }
        }
    };
    Ok(html! {
        h3 { "Latency percentile spectrum" }
        (figure(svg, "Corrected latency from p50 to the maximum at the highest rate both architectures kept in capacity (log scale).", table))
    })
}

/// The internal calls an endpoint's request makes, counted from their description
/// (`"orders -> cart, catalog"`: 3).
pub fn calls(internal_calls: &str) -> usize {
    internal_calls
        .split([',', '>'])
        .map(|s| s.trim_matches(|c: char| c == '-' || c.is_whitespace()))
        .filter(|s| !s.is_empty())
        .count()
}

fn hop_cost(run: &Run) -> Result<Markup> {
    let Some(hops) = run
        .scenarios
        .iter()
        .find(|s| s.scenario == Scenario::HopCost)
    else {
        return Ok(html! {});
    };
    let of = |system: System| hops.systems.iter().find(|r| r.system == system);
    let (Some(monolith), Some(split)) = (of(System::Monolith), of(System::Split)) else {
        return Ok(html! {});
    };
    struct Hop<'a> {
        endpoint: &'a str,
        described: &'a str,
        calls: usize,
        monolith: Percentiles,
        split: Percentiles,
    }
    let hops: Vec<Hop> = split
        .endpoints
        .iter()
        .filter_map(|(endpoint, e)| {
            let summary = |r: &crate::results::SystemResult| {
                Some(
                    r.endpoints
                        .get(endpoint)?
                        .measurement
                        .endpoints
                        .get(endpoint)?
                        .corrected,
                )
            };
            Some(Hop {
                endpoint,
                described: &e.internal_calls,
                calls: calls(&e.internal_calls),
                monolith: summary(monolith)?,
                split: summary(split)?,
            })
        })
        .collect();
    let added = |h: &Hop, pick: fn(&Percentiles) -> f64| pick(&h.split) - pick(&h.monolith);
    let series = [
        (
            "p50",
            1u32,
            (|p: &Percentiles| p.p50_ms) as fn(&Percentiles) -> f64,
        ),
        ("p99", 3, |p: &Percentiles| p.p99_ms),
    ]
    .into_iter()
    .map(|(name, width, pick)| Series {
        label: format!("split minus monolith, {name}"),
        colour: if width == 1 {
            colour(System::Split)
        } else {
            darker(colour(System::Split))
        },
        width,
        points: hops
            .iter()
            .map(|h| (h.calls as f64, added(h, pick)))
            .collect(),
    })
    .collect::<Vec<_>>();
    let names: Vec<String> = hops.iter().map(|h| h.endpoint.to_owned()).collect();
    let svg = charts::named_points(
        "internal calls per request in split",
        "added corrected latency (ms)",
        &series,
        &names,
    )?;
    let table = html! {
        table {
            tr { th { "endpoint" } th { "internal calls in split" } th.num { "monolith p50 / p99 ms" } th.num { "split p50 / p99 ms" } th.num { "added p50 ms" } th.num { "added p99 ms" } th.num { "added p50 per call ms" } }
            @for h in &hops {
                tr {
                    td { (h.endpoint) }
                    td { (h.described) " (" (h.calls) ")" }
                    td.num { (number(Some(h.monolith.p50_ms), 2)) " / " (number(Some(h.monolith.p99_ms), 2)) }
                    td.num { (number(Some(h.split.p50_ms), 2)) " / " (number(Some(h.split.p99_ms), 2)) }
                    td.num { (number(Some(added(h, |p| p.p50_ms)), 2)) }
                    td.num { (number(Some(added(h, |p| p.p99_ms)), 2)) }
                    td.num { (number(Some(added(h, |p| p.p50_ms) / h.calls.max(1) as f64), 3)) }
                }
            }
        }
    };
    Ok(html! {
        section id="hop-cost" {
            h2 { "Hop cost" }
            p.caveat { (hops_about(run)) }
            (figure(svg, "What the split build adds to each endpoint's corrected latency at low load, against the internal calls the request makes there.", table))
        }
    })
}

fn hops_about(run: &Run) -> String {
    format!(
        "Each endpoint alone at {} req/s for {} s per architecture.",
        number(Some(run.profile.hop_rate), 0),
        number(Some(run.profile.hop_length.as_secs_f64()), 0)
    )
}

/// Requests of the endpoints `member` accepts, per second: (second, requests, good,
/// errors).
fn per_second(m: &Measurement, member: impl Fn(&str) -> bool) -> BTreeMap<u64, (u64, u64, u64)> {
    let mut seconds: BTreeMap<u64, (u64, u64, u64)> = BTreeMap::new();
    for s in m.timeline.iter().filter(|s| member(&s.endpoint)) {
        let entry = seconds.entry(s.second).or_default();
        entry.0 += s.requests;
        entry.1 += s.good;
        entry.2 += s.errors;
    }
    seconds
}

/// One system's line through a timeline figure.
struct Line<'a> {
    label: String,
    colour: RGBColor,
    measurement: &'a Measurement,
    /// The fault's (or deploy's, or spike's) start on the measurement's timeline.
    from_s: f64,
}

impl<'a> Line<'a> {
    /// One line per system, in its colour: `(system, measurement, the event's start)`.
    fn per_system(rows: impl Iterator<Item = (System, &'a Measurement, f64)>) -> Vec<Self> {
        rows.map(|(system, measurement, from_s)| Line {
            label: system.name().to_owned(),
            colour: colour(system),
            measurement,
            from_s,
        })
        .collect()
    }
}

/// Goodput and error share panels for each endpoint group, x from the fault's start.
fn timeline_figure(
    event: &str,
    lines: &[Line],
    groups: &[(String, BTreeSet<String>)],
    window_s: f64,
) -> Result<(String, Markup)> {
    let mut panels = Vec::new();
    let mut rows = Vec::new();
    let mut x = (0.0f64, window_s);
    for (group, members) in groups {
        let member = |e: &str| members.is_empty() || members.contains(e);
        let mut goodput = Vec::new();
        let mut errors = Vec::new();
        let mut top = 1.0f64;
        for line in lines {
            let seconds = per_second(line.measurement, member);
            let at = |second: u64| second as f64 + 0.5 - line.from_s;
            let good: Vec<(f64, f64)> = seconds
                .iter()
                .map(|(&s, &(_, g, _))| (at(s), g as f64))
                .collect();
            let bad: Vec<(f64, f64)> = seconds
                .iter()
                .map(|(&s, &(n, _, e))| {
                    (
                        at(s),
                        if n == 0 {
                            0.0
                        } else {
                            100.0 * e as f64 / n as f64
                        },
                    )
                })
                .collect();
            for (s, &(n, g, e)) in &seconds {
                rows.push((group.clone(), line.label.clone(), at(*s), n, g, e));
            }
            top = good.iter().map(|p| p.1).fold(top, f64::max);
            if let (Some(first), Some(last)) = (good.first(), good.last()) {
                x = (x.0.min(first.0.floor()), x.1.max(last.0.ceil()));
            }
            goodput.push(Series {
                label: line.label.clone(),
                colour: line.colour,
                width: 2,
                points: good,
            });
            errors.push(Series {
                label: line.label.clone(),
                colour: line.colour,
                width: 2,
                points: bad,
            });
        }
        panels.push(Panel {
            title: format!("{group}: goodput"),
            y_desc: "good requests/s".to_owned(),
            y_max: top * 1.1,
            series: goodput,
        });
        panels.push(Panel {
            title: format!("{group}: errors"),
            y_desc: "failed (% of requests)".to_owned(),
            y_max: 100.0,
            series: errors,
        });
    }
    let svg = charts::timelines(event, &panels, x, (0.0, window_s))?;
    let table = html! {
        details {
            summary { "Every second plotted (" (rows.len()) " rows)" }
            table {
                tr { th { "group" } th { "system" } th.num { "second from the start" } th.num { "requests" } th.num { "good" } th.num { "failed" } }
                @for (group, system, at, n, g, e) in &rows {
                    tr { td { (group) } td { (system) } td.num { (number(Some(*at), 1)) } td.num { (n) } td.num { (g) } td.num { (e) } }
                }
            }
        }
    };
    Ok((svg, table))
}

/// The endpoints that need the faulty component, and the others.
fn groups(impact: &Impact, component: &str) -> Vec<(String, BTreeSet<String>)> {
    let (needs, rest): (Vec<_>, Vec<_>) = impact.endpoints.iter().partition(|e| e.needs_faulty);
    let names = |v: Vec<&crate::partial_failure::EndpointImpact>| {
        v.into_iter()
            .map(|e| e.endpoint.clone())
            .collect::<BTreeSet<_>>()
    };
    let mut groups = Vec::new();
    if !needs.is_empty() {
        groups.push((format!("needing {component}"), names(needs)));
    }
    if !rest.is_empty() {
        groups.push((format!("not needing {component}"), names(rest)));
    }
    groups
}

fn faults(run: &Run) -> Result<Markup> {
    let outages: Vec<(&ScenarioResult, Vec<(System, &OutageResult)>)> = run
        .scenarios
        .iter()
        .map(|s| {
            (
                s,
                s.systems
                    .iter()
                    .filter_map(|r| Some((r.system, r.outage.as_ref()?)))
                    .collect::<Vec<_>>(),
            )
        })
        .filter(|(_, v)| !v.is_empty())
        .collect();
    let mut blocks = Vec::new();
    if !outages.is_empty() {
        blocks.push(blast_radius(&outages)?);
    }
    for (scenario, rows) in &outages {
        let (_, first) = rows[0];
        let component = first.outage.component().to_string();
        let lines = Line::per_system(
            rows.iter()
                .map(|(s, o)| (*s, &o.measurement, o.window.from_s)),
        );
        let window = first.window.to_s - first.window.from_s;
        let (svg, seconds) =
            timeline_figure("fault", &lines, &groups(&first.impact, &component), window)?;
        let table = html! {
            table {
                tr { th { "system" } th.num { "others ok" } th.num { "needing ok" } th.num { "broken" } th { "collateral" } th.num { "failed" } th.num { "worst second" } th.num { "detected s" } th.num { "recovered s" } th.num { "down s" } th { "audit" } }
                @for (system, o) in rows {
                    @let i = &o.impact;
                    tr {
                        td { (system_name(*system)) }
                        td.num { (percent(Some(i.independent_during.availability))) }
                        td.num { (percent(Some(i.dependent_during.availability))) }
                        td.num { (i.blast_radius.broken.len()) "/" (i.blast_radius.endpoints) }
                        td { (i.blast_radius.collateral.join(", ")) }
                        td.num { (i.failed) }
                        td.num { (percent(Some(i.worst_second))) }
                        td.num { (number(i.detected_after_s, 1)) }
                        td.num { @if i.never_recovered { "never" } @else { (number(i.recovered_after_s, 1)) } }
                        td.num { (i.down_seconds) }
                        td { (audit_words(&o.audit)) }
                    }
                }
            }
            (seconds)
        };
        blocks.push(html! {
            h3 { (scenario.scenario.name()) ": " (fault_words(first)) " for " (number(Some(window), 1)) " s" @if first.outage.rearm { ", again after each restart" } }
            (figure(svg, "Per second, all systems aligned on the fault's start; the shaded band is the fault window.", table))
        });
    }
    for scenario in &run.scenarios {
        let rollouts: Vec<(System, &crate::rolling::RolloutResult)> = scenario
            .systems
            .iter()
            .filter_map(|r| Some((r.system, r.rollout.as_ref()?)))
            .collect();
        let Some((_, first)) = rollouts.first() else {
            continue;
        };
        let lines = Line::per_system(
            rollouts
                .iter()
                .map(|(s, r)| (*s, &r.measurement, r.rollout.from_s)),
        );
        let longest = rollouts
            .iter()
            .map(|(_, r)| r.rollout.duration_s)
            .fold(0.0, f64::max);
        let (svg, seconds) = timeline_figure(
            "rollout",
            &lines,
            &[("all endpoints".to_owned(), BTreeSet::new())],
            longest,
        )?;
        let table = html! {
            table {
                tr { th { "system" } th { "release" } th.num { "rollout s" } th.num { "failed" } th.num { "worst second" } th.num { "p99 before ms" } th.num { "p99 during ms" } th { "replacements: stop ms / cold start ms" } th { "audit" } }
                @for (system, r) in &rollouts {
                    tr {
                        td { (system_name(*system)) }
                        td { (r.rollout.release) }
                        td.num { (number(Some(r.rollout.duration_s), 1)) @if r.rollout.overran { " (overran)" } }
                        td.num { (r.impact.failed) }
                        td.num { (percent(Some(r.impact.worst_second))) }
                        td.num { (number(Some(r.p99_before_ms), 1)) }
                        td.num { (number(Some(r.p99_during_ms), 1)) }
                        td { @for p in &r.rollout.replacements { (p.process) ": " (number(Some(p.stop_ms), 0)) " / " (number(Some(p.cold_start_ms), 0)) br; } }
                        td { (audit_words(&r.audit)) }
                    }
                }
            }
            (seconds)
        };
        blocks.push(html! {
            h3 { (scenario.scenario.name()) ": release " (first.rollout.release) " of catalog, one process at a time" }
            (figure(svg, "Per second, aligned on the rollout's start; the shaded band is the longest rollout.", table))
        });
    }
    for scenario in &run.scenarios {
        let spikes: Vec<(String, RGBColor, &crate::metastable::SpikeResult)> = scenario
            .systems
            .iter()
            .flat_map(|r| {
                r.spikes.iter().map(move |s| match s.preset {
                    Some(preset) => (
                        format!("{} {}", r.system.name(), preset.name()),
                        if preset.name() == "bare" {
                            colour(r.system)
                        } else {
                            darker(colour(r.system))
                        },
                        s,
                    ),
                    None => (r.system.name().to_owned(), colour(r.system), s),
                })
            })
            .collect();
        let Some((_, _, first)) = spikes.first() else {
            continue;
        };
        let lines: Vec<Line> = spikes
            .iter()
            .map(|(label, c, s)| Line {
                label: label.clone(),
                colour: *c,
                measurement: &s.measurement,
                from_s: s.spike_from_s,
            })
            .collect();
        let (svg, seconds) = timeline_figure(
            "spike",
            &lines,
            &[("all endpoints".to_owned(), BTreeSet::new())],
            first.spike_to_s - first.spike_from_s,
        )?;
        let table = html! {
            table {
                tr { th { "system" } th.num { "goodput before" } th.num { "during" } th.num { "after" } th.num { "recovered after s" } th.num { "internal calls per request before / during / after" } }
                @for (label, _, s) in &spikes {
                    tr {
                        td { (label) }
                        td.num { (percent(Some(s.before.goodput))) }
                        td.num { (percent(Some(s.during.goodput))) }
                        td.num { (percent(Some(s.after.goodput))) }
                        td.num { @if s.never_recovered { "never" } @else { (number(s.recovered_after_s, 1)) } }
                        td.num { @match &s.calls_per_request { Some(c) => { (number(Some(c.before), 2)) " / " (number(Some(c.during), 2)) " / " (number(Some(c.after), 2)) }, None => "-" } }
                    }
                }
            }
            (seconds)
        };
        blocks.push(html! {
            h3 { (scenario.scenario.name()) ": a spike past capacity and back" }
            (figure(svg, "Per second, aligned on the spike's start; the shaded band is the spike.", table))
        });
    }
    Ok(html! {
        section id="faults" {
            h2 { "Faults, deploys and spikes" }
            @if blocks.is_empty() { p { "No fault, deploy or spike in this run." } }
            @for block in &blocks { (block) }
        }
    })
}

/// Endpoint x fault, coloured by the endpoint's success share during the fault, one
/// grid per architecture.
fn blast_radius(outages: &[(&ScenarioResult, Vec<(System, &OutageResult)>)]) -> Result<Markup> {
    let mut endpoints: Vec<String> = Vec::new();
    for (_, rows) in outages {
        for (_, o) in rows {
            for e in &o.impact.endpoints {
                if !endpoints.contains(&e.endpoint) {
                    endpoints.push(e.endpoint.clone());
                }
            }
        }
    }
    let columns: Vec<String> = outages
        .iter()
        .map(|(s, _)| s.scenario.name().to_owned())
        .collect();
    let systems: BTreeSet<System> = outages
        .iter()
        .flat_map(|(_, rows)| rows.iter().map(|(s, _)| *s))
        .collect();
    let mut grids = Vec::new();
    for system in &systems {
        let cells: Vec<Vec<Option<f64>>> = endpoints
            .iter()
            .map(|endpoint| {
                outages
                    .iter()
                    .map(|(_, rows)| {
                        let (_, o) = rows.iter().find(|(s, _)| s == system)?;
                        o.impact
                            .endpoints
                            .iter()
                            .find(|e| &e.endpoint == endpoint)
                            .map(|e| e.during.availability)
                    })
                    .collect()
            })
            .collect();
        let svg = charts::share_grid(
            &format!("{}: success share during the fault", system.name()),
            &endpoints,
            &columns,
            &cells,
        )?;
        grids.push((system, svg, cells));
    }
    Ok(html! {
        h3 { "Blast radius" }
        div.side {
            @for (_, svg, _) in &grids { figure { (PreEscaped(svg)) } }
        }
        p.caveat { "Red at 0%, amber at 90%, green at 100%; grey: no figure. An endpoint the fault had no reason to reach that turns red is the architecture's doing." }
        table {
            tr { th { "system" } th { "endpoint" } @for c in &columns { th { (c) } } }
            @for (system, _, cells) in &grids {
                @for (endpoint, row) in endpoints.iter().zip(cells) {
                    tr { td { (system_name(**system)) } td { (endpoint) } @for cell in row { td.num { (percent(*cell)) } } }
                }
            }
        }
    })
}

/// CPU and memory per request per component at capacity's common rate, and the
/// projected cost from scale-hot.
fn cost(run: &Run) -> Result<Markup> {
    let mut blocks = Vec::new();
    if let Some((common, at)) = verdicts::at_common_rate(run) {
        let bars = |pick: &dyn Fn(&crate::measure::ComponentCost, &Measurement) -> Option<f64>| -> Vec<Bar> {
            at.iter()
                .map(|(system, m)| Bar {
                    name: system.name().to_owned(),
                    parts: m.cost.components.iter().filter_map(|c| Some((c.component.clone(), pick(c, m)?))).collect(),
                })
                .collect()
        };
        let cpu =
            charts::stacked_bars("CPU per request (us)", &bars(&|c, _| c.cpu_us_per_request))?;
        let per_rate = |c: &crate::measure::ComponentCost, m: &Measurement| {
            (m.achieved_rate > 0.0).then(|| c.peak_rss_mb / (m.achieved_rate / 1000.0))
        };
        let memory = charts::stacked_bars("peak RSS per 1,000 req/s (MB)", &bars(&per_rate))?;
        blocks.push(html! {
            h3 { "Per component at " (number(Some(common), 0)) " req/s" }
            div.side { figure { (PreEscaped(cpu)) } figure { (PreEscaped(memory)) } }
            p.caveat { "Stacked by component, at the capacity step both architectures kept; memory is each component's peak resident set, divided by the rate served." }
            table {
                tr { th { "system" } th { "component" } th.num { "processes" } th.num { "CPU-us/req" } th.num { "peak RSS MB" } th.num { "MB per 1,000 req/s" } }
                @for (system, m) in &at {
                    @for c in &m.cost.components {
                        tr {
                            td { (system_name(*system)) } td { (c.component) } td.num { (c.processes) }
                            td.num { (number(c.cpu_us_per_request, 1)) }
                            td.num { (number(Some(c.peak_rss_mb), 1)) }
                            td.num { (number(per_rate(c, m), 2)) }
                        }
                    }
                }
            }
        });
    }
    for scenario in &run.scenarios {
        let scaled: Vec<(System, &crate::scale_hot::ScaleResult)> = scenario
            .systems
            .iter()
            .filter_map(|r| Some((r.system, r.scale.as_ref()?)))
            .collect();
        if scaled.iter().all(|(_, s)| s.projection.is_empty()) {
            continue;
        }
        let series: Vec<Series> = scaled
            .iter()
            .map(|(system, s)| Series {
                label: system.name().to_owned(),
                colour: colour(*system),
                width: 2,
                points: s
                    .projection
                    .iter()
                    .map(|p| (p.rate, p.cost_per_hour))
                    .collect(),
            })
            .collect();
        let svg = charts::log_log("requests/s served", "projected cost ($ per hour)", &series)?;
        let table = html! {
            table {
                tr { th { "system" } th.num { "factor" } th.num { "req/s" } th { "replicas" } th.num { "cores" } th.num { "memory GB" } th.num { "$ per hour" } }
                @for (system, s) in &scaled {
                    @for p in &s.projection {
                        tr {
                            td { (system_name(*system)) }
                            td.num { (number(Some(p.factor), 0)) "x" }
                            td.num { (number(Some(p.rate), 0)) }
                            td { (p.replicas.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")) }
                            td.num { (number(Some(p.cores), 0)) }
                            td.num { (number(Some(p.memory_gb), 2)) }
                            td.num { (number(Some(p.cost_per_hour), 2)) }
                        }
                    }
                    tr {
                        td colspan="7" {
                            (system_name(*system)) ": one replica knee " (number(s.base_efficiency.knee, 0))
                            " req/s, hot part x2 " (number(s.scaled_efficiency.knee, 0)) " req/s; demand per request: "
                            (s.demand.iter().map(|d| format!("{} {:.0} us", d.part, d.cpu_us_per_request)).collect::<Vec<_>>().join(", "))
                        }
                    }
                }
            }
        };
        blocks.push(html! {
            h3 { "Projected cost (" (scenario.scenario.name()) ")" }
            (figure(svg, "Each architecture sized by the cost model for 1x, 10x and 100x the lower one-replica knee, from the CPU and memory it was measured to need (log-log).", table))
        });
    }
    Ok(html! {
        section id="cost" {
            h2 { "Cost" }
            @if blocks.is_empty() { p { "No capacity or scale-hot figures in this run." } }
            @for block in &blocks { (block) }
        }
    })
}

fn diversify(run: &Run) -> Markup {
    let found: Vec<&crate::diversify::DiversifyResult> = run
        .scenarios
        .iter()
        .flat_map(|s| &s.systems)
        .filter_map(|r| r.diversify.as_ref())
        .collect();
    html! {
        @for d in &found {
            section id="diversify" {
                h2 { "Diversification: " (d.service.to_string()) ", " (d.change) }
                table {
                    tr { th { "what" } th.num { "A (as deployed)" } th.num { "B (switched)" } th.num { "change" } th.num { "noise (A/A, B/B)" } }
                    @for m in d.components.iter().chain(&d.endpoints) {
                        tr {
                            td { (m.name) }
                            td.num { (number(Some(m.a), 2)) }
                            td.num { (number(Some(m.b), 2)) }
                            td.num { (m.change.map_or("-".to_owned(), |c| format!("{:+.1}%", c * 100.0))) }
                            td.num { (format!("{:.1}%", m.noise * 100.0)) }
                        }
                    }
                }
                p.caveat { "Components: CPU-us per request answered; endpoints: corrected p50 in ms. Medians of each side's turns." }
            }
        }
    }
}

/// The interleaved scenario's figures, as the regression gate reads them: one value per
/// round and their median.
fn interleaved(run: &Run) -> Markup {
    let figures = crate::gate::figures::figures(run);
    let rounds: std::collections::BTreeSet<usize> = figures
        .iter()
        .flat_map(|f| f.rounds.keys().copied())
        .collect();
    html! {
        @if !figures.is_empty() {
            section id="interleaved" {
                h2 { "In-run ratios (the regression gate's figures)" }
                p {
                    "The ceiling, the monolith and split measured in turns, the order reversed every round; "
                    "each figure is taken from measurements of one round. A component's figure is its "
                    "time per call, where it runs, over the system's CPU per request (all its processes) in "
                    "the same turn, over every turn that calls it, both architectures (their geometric mean); "
                    "in a run with a reference build (" code { "--reference" } "), each figure is this build's "
                    "over the reference build's in the same round (this build's own are below). "
                    code { "loadgen check RUN_DIR --baseline results/baseline/ci.json" }
                    " judges them."
                }
                (figures_table(&figures, &rounds))
                @if run.environment.reference.is_some() {
                    h3 { "This build's own ratios" }
                    (figures_table(&crate::gate::figures::own_figures(run, Build::Candidate), &rounds))
                }
            }
        }
    }
}

/// Figures, a row each: their value in each of `rounds` and their median.
fn figures_table(
    figures: &[crate::gate::figures::Figure],
    rounds: &std::collections::BTreeSet<usize>,
) -> Markup {
    html! {
        table {
            tr {
                th { "figure" } th { "worse when" }
                @for round in rounds { th.num { "round " (round) } }
                th.num { "median" }
            }
            @for f in figures {
                tr {
                    td { (f.name) }
                    td { (match f.worse { crate::gate::figures::Worse::Higher => "higher", crate::gate::figures::Worse::Lower => "lower" }) }
                    @for round in rounds { td.num { (number(f.rounds.get(round).copied(), 3)) } }
                    td.num { (number(crate::gate::stats::median(&f.values()), 3)) }
                }
            }
        }
    }
}

/// Every consistency audit, with its violations.
fn audits(run: &Run) -> Markup {
    let mut rows = Vec::new();
    for scenario in &run.scenarios {
        for r in &scenario.systems {
            let audit = r
                .outage
                .as_ref()
                .map(|o| &o.audit)
                .or(r.rollout.as_ref().map(|o| &o.audit));
            if let Some(audit) = audit {
                rows.push((scenario.scenario.name(), r.system, audit));
            }
        }
    }
    html! {
        section id="audits" {
            h2 { "Consistency audits" }
            @if rows.is_empty() {
                p { "No fault or deploy, so no audit, in this run." }
            } @else {
                table {
                    tr { th { "scenario" } th { "system" } th.num { "acknowledged orders" } th { "settled" } th.num { "waited s" } th { "outcome" } }
                    @for (scenario, system, audit) in &rows {
                        tr {
                            td { (scenario) } td { (system_name(*system)) }
                            td.num { (audit.acknowledged) }
                            td { (if audit.settled { "yes" } else { "no" }) }
                            td.num { (number(Some(audit.waited_s), 1)) }
                            td {
                                @if audit.passed() { span.passed { "clean" } }
                                @else if let Some(error) = &audit.error { span.failed { "not run: " (error) } }
                                @else {
                                    span.failed { (audit.violations.len()) " violation(s)" }
                                    ul { @for v in &audit.violations { li { (v.to_string()) } } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The command as a shell would take it back.
pub fn shell_words(command: &[String]) -> String {
    command
        .iter()
        .map(|word| {
            if !word.is_empty()
                && word
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c))
            {
                word.clone()
            } else {
                format!("'{}'", word.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn reproduce(run: &Run) -> Markup {
    let e = &run.environment;
    html! {
        section id="reproduce" {
            h2 { "Reproduce" }
            p { "At commit " code { (e.git_commit) } ", from the workspace:" }
            pre { (shell_words(&run.command)) }
            table {
                tr { th { "CPU" } td { (e.cpu_model) } }
                tr { th { "cores" } td { (e.cores) " (system under test on " (format!("{:?}", run.cores.system_under_test)) ", generator on " (format!("{:?}", run.cores.generator)) (if run.cores.pinned { ", pinned" } else { ", not pinned" }) ")" } }
                tr { th { "memory" } td { (number(Some(e.memory_gb), 1)) " GB" } }
                tr { th { "kernel" } td { (e.kernel) } }
                tr { th { "compiler" } td { (e.rustc) } }
                tr { th { "generator build" } td { (if e.release_build { "optimized" } else { "debug (not valid for figures)" }) } }
                tr { th { "cgroups" } td { (run.cgroups) } }
                tr { th { "seed" } td { (run.seed) } }
                tr { th { "timer bias" } td { "p50 " (number(Some(run.timer_bias.p50_us), 1)) " us, p99 " (number(Some(run.timer_bias.p99_us), 1)) " us" } }
                tr { th { "mix" } td { (run.mix.to_string()) } }
                @if !e.test_knobs.is_empty() {
                    tr { th { "test-only settings" } td { (e.test_knobs.join(", ")) " (the shop broken on purpose)" } }
                }
            }
            h3 { "Profile" }
            pre { (pretty(&run.profile)) }
            h3 { "Topology" }
            pre { (pretty(&run.topology)) }
        }
    }
}

/// Pretty JSON of one of the run's parts, for the reproduce section.
fn pretty(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("(not written: {e})"))
}

fn files(links: &Links) -> Markup {
    let href = |p: &PathBuf| p.to_string_lossy().into_owned();
    html! {
        section id="files" {
            h2 { "Files" }
            ul {
                li { a href="run.json" { "run.json" } " (everything above, and more, as data)" }
                li { a href="../index.html" { "all runs" } }
            }
            @if !links.goose.is_empty() {
                h3 { "goose's own reports" }
                ul { @for p in &links.goose { li { a href=(href(p)) { (href(p)) } } } }
            }
            @if !links.logs.is_empty() {
                h3 { "Process logs" }
                ul { @for p in &links.logs { li { a href=(href(p)) { (href(p)) } } } }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_calls_are_counted_from_their_description() {
        assert_eq!(calls("catalog"), 1);
        assert_eq!(calls("cart -> catalog"), 2);
        assert_eq!(calls("orders -> cart, catalog, inventory, payments"), 5);
        assert_eq!(calls("catalog, inventory, recommendations, catalog"), 4);
        assert_eq!(calls(""), 0);
    }

    #[test]
    fn commands_are_quoted_for_a_shell() {
        let words = ["loadgen", "run", "--mix", "list=1,checkout=2", "it's", ""].map(String::from);
        assert_eq!(
            shell_words(&words),
            r"loadgen run --mix list=1,checkout=2 'it'\''s' ''"
        );
    }
}
