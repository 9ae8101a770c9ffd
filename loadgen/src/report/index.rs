//! `results/index.html`: every run on disk, newest first, with its headline numbers
//! and a link to its report.

use std::path::Path;

use anyhow::{Context, Result};
use maud::html;

use crate::deploy::System;
use crate::results::Run;
use crate::scenarios::Scenario;

use super::page::{self, knee, system_name};
use super::{INDEX, REPORT};

/// One folder of the results folder.
enum Entry {
    Run(Box<Run>),
    /// A folder with a `run.json` that could not be read.
    Unreadable {
        id: String,
        error: String,
    },
}

/// Writes `index.html` into `results`, listing every run folder in it.
pub fn write(results: &Path) -> Result<()> {
    let mut entries = Vec::new();
    let folders =
        std::fs::read_dir(results).with_context(|| format!("listing {}", results.display()))?;
    for folder in folders.flatten() {
        let path = folder.path();
        if !path.join("run.json").is_file() {
            continue;
        }
        let id = folder.file_name().to_string_lossy().into_owned();
        entries.push(match super::load(&path) {
            Ok(run) => (id, Entry::Run(Box::new(run))),
            Err(e) => (
                id.clone(),
                Entry::Unreadable {
                    id,
                    error: format!("{e:#}"),
                },
            ),
        });
    }
    // Run ids start with their date: newest first is reverse name order.
    entries.sort_by(|a, b| b.0.cmp(&a.0));
    let body = html! {
        h1 { "Runs" }
        p.sub { (entries.len()) " run(s) in this folder, newest first. Each links to its report." }
        table {
            tr { th { "run" } th { "profile" } th { "scenarios" } th { "valid" } th { "commit" } th.num { "capacity knee, " (system_name(System::Monolith)) } th.num { "capacity knee, " (system_name(System::Split)) } th { "verdicts" } }
            @for (folder, entry) in &entries {
                @match entry {
                    Entry::Run(run) => {
                        @let report = format!("{folder}/{REPORT}");
                        @let has_report = results.join(folder).join(REPORT).is_file();
                        tr {
                            td { @if has_report { a href=(report) { (folder) } } @else { a href=(format!("{folder}/run.json")) { (folder) } " (no report yet)" } }
                            td { (page::name_of(&run.profile.name)) }
                            td { (run.scenarios.iter().map(|s| s.scenario.name()).collect::<Vec<_>>().join(", ")) }
                            td { @if run.valid { span.passed { "valid" } } @else { span.failed { "INVALID" } } }
                            td { code { (run.environment.git_commit.get(..10).unwrap_or("?")) } }
                            td.num { (capacity_knee(run, System::Monolith)) }
                            td.num { (capacity_knee(run, System::Split)) }
                            td { (verdict_words(run)) }
                        }
                    }
                    Entry::Unreadable { id, error } => {
                        tr { td { (id) } td colspan="7" { span.failed { "unreadable: " } (error) } }
                    }
                }
            }
        }
    };
    let path = results.join(INDEX);
    std::fs::write(&path, page::document("Runs", body))
        .with_context(|| format!("writing {}", path.display()))
}

fn capacity_knee(run: &Run, system: System) -> String {
    run.scenarios
        .iter()
        .filter(|s| s.scenario == Scenario::Capacity)
        .flat_map(|s| &s.systems)
        .filter(|r| r.system == system)
        .find_map(|r| r.ramp.as_ref())
        .map_or("-".to_owned(), |ramp| {
            knee(ramp.knee, ramp.knee_is_lower_bound)
        })
}

/// "3 favour the monolith, 1 split, 2 neither; 1 FAILED".
fn verdict_words(run: &Run) -> String {
    let count = |who: Option<System>| run.claims.iter().filter(|c| c.favours == who).count();
    let failed = run.claims.iter().filter(|c| c.failed).count();
    let mut words = format!(
        "{} favour the monolith, {} split, {} neither",
        count(Some(System::Monolith)),
        count(Some(System::Split)),
        count(None)
    );
    if failed > 0 {
        words.push_str(&format!("; {failed} FAILED"));
    }
    words
}
