//! The HTML report: `results/<run-id>/report.html`, both architectures side by side,
//! written at the end of every run and rebuilt from `run.json` alone by
//! `loadgen report`; `results/index.html`, every run on disk; and the comparison of two
//! runs (`loadgen report --compare OLD NEW`).
//!
//! # Layout
//!
//! - [`page`]: the page's frame (style, colours, number formats). Every string from
//!   data or configuration goes through maud, which escapes it.
//! - [`charts`]: the plots, drawn by plotters as SVG and embedded inline: the page
//!   needs no network and no script.
//! - [`verdicts`]: the verdicts table, one row per claim and one for the price, with
//!   the numbers that decided each.
//! - [`sections`]: the report itself, section by section: validity, verdicts, charts
//!   each with a table of its numbers, audits, how to reproduce, links.
//! - [`compare`]: two runs' headline figures, their deltas and the noise band.
//! - [`index`]: the list of runs.

pub mod charts;
pub mod compare;
pub mod index;
pub mod page;
pub mod sections;
pub mod verdicts;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::results::Run;

/// The report's file name in a run's folder.
pub const REPORT: &str = "report.html";
/// The list of runs, in the results folder.
pub const INDEX: &str = "index.html";

/// Reads `run.json` from a run's folder.
pub fn load(run_dir: &Path) -> Result<Run> {
    let path = run_dir.join("run.json");
    if !path.is_file() {
        bail!(
            "{} is not a run's folder: it has no run.json",
            run_dir.display()
        );
    }
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a run.json", path.display()))
}

/// Writes `report.html` into `run_dir` from `run`, and refreshes the index of the
/// folder holding it. Returns the report's path.
pub fn write(run: &Run, run_dir: &Path) -> Result<PathBuf> {
    let links = sections::Links::found_in(run_dir);
    let html = sections::report(run, &links)?;
    let path = run_dir.join(REPORT);
    std::fs::write(&path, html).with_context(|| format!("writing {}", path.display()))?;
    if let Some(results) = run_dir.parent() {
        index::write(results)?;
    }
    Ok(path)
}

/// Rebuilds the report of the run in `run_dir` from its `run.json`.
pub fn rebuild(run_dir: &Path) -> Result<PathBuf> {
    write(&load(run_dir)?, run_dir)
}

/// Writes the comparison of `old` with `new` into `new_dir`, `new`'s folder, as
/// `compare-<old run id>.html`. Returns its path.
pub fn write_comparison(old: &Run, new: &Run, new_dir: &Path) -> Result<PathBuf> {
    let html = compare::page(old, new);
    let id: String = old
        .run_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let path = new_dir.join(format!("compare-{id}.html"));
    std::fs::write(&path, html).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}
