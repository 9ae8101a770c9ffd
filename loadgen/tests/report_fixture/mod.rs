//! The checked-in `tests/fixtures/run.json` (a real quick run, trimmed: see
//! `tests/fixtures/README.md`), and reports rendered from it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The fixture's path.
pub const RUN_JSON: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/run.json");

/// The fixture as plain JSON, to read figures from without the code under test.
pub fn json() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(RUN_JSON).unwrap()).unwrap()
}

/// Writes `run` as `scratch/results/<id>/run.json`; returns the run's folder.
pub fn run_dir_with(scratch: &Path, id: &str, run: &serde_json::Value) -> PathBuf {
    let dir = scratch.join("results").join(id);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("run.json"), serde_json::to_string(run).unwrap()).unwrap();
    dir
}

/// Renders the fixture's report under `scratch`; returns its path.
pub fn report(scratch: &Path) -> PathBuf {
    let dir = run_dir_with(scratch, "fixture", &json());
    loadgen::report::rebuild(&dir).unwrap()
}
