//! Finding (and building) what a run deploys, and never measuring with a debug build
//! of the generator.
//!
//! The service binaries live in the same cargo target directory as the running
//! `loadgen`, under `release/`. When `loadgen` runs from this workspace, it asks cargo
//! to build them first (a no-op when they are fresh), so a run always measures the code
//! in the tree.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// Every binary a deployment may start.
pub const SERVICE_BINARIES: [&str; 12] = [
    "monolith",
    "ceiling",
    "split-gateway",
    "split-catalog",
    "split-inventory",
    "split-cart",
    "split-payments",
    "split-orders",
    "split-recommendations",
    "split-users",
    "link-proxy",
    "balancer",
];

/// The workspace packages that build [`SERVICE_BINARIES`].
const SERVICE_PACKAGES: [&str; 4] = ["monolith", "split", "link-proxy", "balancer"];

/// The workspace this `loadgen` was built from, if it is still there.
pub fn workspace() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?.to_owned();
    dir.join("Cargo.toml").exists().then_some(dir)
}

/// The cargo target directory holding the running executable.
fn target_dir() -> Result<PathBuf> {
    let mut dir = std::env::current_exe().context("finding the running executable")?;
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.pop();
    Ok(dir)
}

/// `cargo build --release` of `packages` into the running executable's target
/// directory, its progress shown.
fn cargo_build_release(workspace: &Path, packages: &[&str]) -> Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace)
        .args(["build", "--release", "--locked", "--bins", "--target-dir"])
        .arg(target_dir()?);
    for package in packages {
        command.args(["-p", package]);
    }
    let status = command
        .status()
        .context("running cargo (is it installed?)")?;
    if !status.success() {
        bail!("cargo build --release failed ({status})");
    }
    Ok(())
}

/// The folder of the release service binaries: `explicit` as given, or the target
/// directory's `release/`, built first when the workspace is at hand.
pub fn service_binaries(explicit: Option<PathBuf>) -> Result<PathBuf> {
    let bins = match explicit {
        Some(bins) => bins,
        None => {
            if let Some(workspace) = workspace() {
                eprintln!("building the services (release; a minute or more the first time)...");
                cargo_build_release(&workspace, &SERVICE_PACKAGES)?;
            }
            target_dir()?.join("release")
        }
    };
    let missing: Vec<&str> = SERVICE_BINARIES
        .iter()
        .copied()
        .filter(|name| !bins.join(name).is_file())
        .collect();
    if !missing.is_empty() {
        bail!(
            "{} lacks {}: build them with `cargo build --release -p {}`, or pass --bins",
            bins.display(),
            missing.join(", "),
            SERVICE_PACKAGES.join(" -p ")
        );
    }
    Ok(bins)
}

/// In a debug build, replaces this process with the release build of `loadgen` (built
/// first), given the same arguments: an unoptimized generator would be the bottleneck
/// of every measurement. Returns only on failure.
pub fn switch_to_release() -> Result<std::convert::Infallible> {
    let Some(workspace) = workspace() else {
        bail!(
            "this is a debug build of loadgen, which would be the bottleneck: run `cargo run --release -p loadgen -- run`"
        );
    };
    eprintln!(
        "loadgen: a debug build would measure itself, not the shop; switching to the release build (building it first)..."
    );
    let mut packages = vec!["loadgen"];
    packages.extend(SERVICE_PACKAGES);
    cargo_build_release(&workspace, &packages)?;
    let release = target_dir()?.join("release").join("loadgen");
    let error = std::os::unix::process::CommandExt::exec(
        Command::new(&release).args(std::env::args_os().skip(1)),
    );
    Err(error).with_context(|| format!("starting {}", release.display()))
}
