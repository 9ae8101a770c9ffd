//! Finding (and building) what a run deploys, and never measuring with a debug build
//! of the generator.
//!
//! The service binaries live in the same cargo target directory as the running
//! `loadgen`, under `release/`. When `loadgen` runs from this workspace, it asks cargo
//! to build them first (a no-op when they are fresh), so a run always measures the code
//! in the tree.
//!
//! A reference build (`loadgen run --reference REV`) is built from a git worktree of
//! that commit into a target directory of its own, `<target>/reference-build/`: in the
//! tree's own, cargo would take the worktree's artifacts for the tree's (a workspace
//! crate's fingerprint is the same whatever folder it is built from) and deploy the
//! reference as the candidate. Its binaries are copied out to
//! `<target>/reference/<commit>/`, where the next run with that reference finds them;
//! the first build compiles every dependency once more, later ones only what changed.
//!
//! A run deploys neither build from where it was found: [`Copies`] copies each into a
//! temporary folder of its own, alike. The same code runs measurably slower from the
//! file the linker wrote than from a copy of it (BENCHMARKS.md, "Every build from a
//! copy"), so two builds compared in one run must come from files made the same way.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};
use serde::{Deserialize, Serialize};

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

/// `cargo build --release` of `packages` of the workspace in `workspace` into the
/// running executable's target directory, its progress shown.
fn cargo_build_release(workspace: &Path, packages: &[&str]) -> Result<()> {
    cargo_build_release_into(workspace, packages, &target_dir()?)
}

/// [`cargo_build_release`] into `target`.
fn cargo_build_release_into(workspace: &Path, packages: &[&str], target: &Path) -> Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace)
        .args(["build", "--release", "--locked", "--bins", "--target-dir"])
        .arg(target);
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
    check_complete(&bins)?;
    Ok(bins)
}

/// The service binaries a run deploys: copies of each build's, made alike, in a
/// temporary folder removed with it.
///
/// The monolith served the product page at 4-6% more CPU per request from the file the
/// linker wrote than from a copy of that file, byte for byte the same, on the same core
/// at the same instants (`scripts/duet-probe.py --monolith-b`); two copies differed by
/// about 1%. A reference build is always a copy (`<target>/reference/<commit>/`), so
/// deploying the candidate from the linker's files would charge it that difference.
#[derive(Debug)]
pub struct Copies {
    /// The candidate's binaries.
    pub candidate: PathBuf,
    /// The reference build's, when the run has one: copies of their own even when the
    /// reference is the tree's build.
    pub reference: Option<PathBuf>,
    _dir: tempfile::TempDir,
}

impl Copies {
    /// Copies [`SERVICE_BINARIES`] from `candidate`, and from `reference` if given, each
    /// into a folder of its own.
    pub fn of(candidate: &Path, reference: Option<&Path>) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("loadgen-bins-")
            .tempdir()
            .context("making a folder for the run's binaries")?;
        let copy = |from: &Path, name: &str| -> Result<PathBuf> {
            let to = dir.path().join(name);
            std::fs::create_dir(&to).with_context(|| format!("creating {}", to.display()))?;
            for binary in SERVICE_BINARIES {
                let source = from.join(binary);
                std::fs::copy(&source, to.join(binary))
                    .with_context(|| format!("copying {} to {}", source.display(), to.display()))?;
            }
            Ok(to)
        };
        Ok(Self {
            candidate: copy(candidate, "candidate")?,
            reference: reference.map(|from| copy(from, "reference")).transpose()?,
            _dir: dir,
        })
    }
}

/// The build a run compares its own with, in the same rounds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    /// Its commit, when it was built from one (`--reference`); not known for
    /// `--reference-bins`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The folder of its service binaries.
    pub bins: PathBuf,
}

/// The reference a run was asked for, checked but not yet built: checked first, since
/// the builds take minutes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WantedReference {
    /// A commit of the workspace (`--reference REV`, resolved).
    Commit(String),
    /// Prebuilt binaries of a commit not known here (`--reference-bins DIR`), complete.
    Prebuilt(Reference),
}

impl WantedReference {
    /// The reference `--reference` or `--reference-bins` asks for (the first when both
    /// are given), if either is; an error means the flag's value is bad.
    pub fn of_flags(revision: Option<&str>, bins: Option<PathBuf>) -> Result<Option<Self>> {
        match (revision, bins) {
            (Some(revision), _) => Ok(Some(Self::Commit(Reference::resolve(revision)?))),
            (None, Some(bins)) => {
                check_complete(&bins)?;
                Ok(Some(Self::Prebuilt(Reference { commit: None, bins })))
            }
            (None, None) => Ok(None),
        }
    }

    /// Its binaries: built, or found ([`Reference::of_commit`]).
    pub fn into_reference(self, tree_bins: Option<&Path>) -> Result<Reference> {
        match self {
            Self::Commit(commit) => Reference::of_commit(commit, tree_bins),
            Self::Prebuilt(reference) => Ok(reference),
        }
    }
}

impl Reference {
    /// The commit `revision` names (anything `git rev-parse` takes: a commit,
    /// `HEAD~1`, `main`) in the workspace this `loadgen` was built from.
    pub fn resolve(revision: &str) -> Result<String> {
        let Some(workspace) = workspace() else {
            bail!(
                "--reference {revision} needs the workspace loadgen was built from; give --reference-bins instead"
            );
        };
        git(
            &workspace,
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("{revision}^{{commit}}"),
            ],
        )
        .with_context(|| {
            format!(
                "--reference {revision} names no commit of {}",
                workspace.display()
            )
        })
    }

    /// The service binaries of `commit` ([`resolve`](Self::resolve)): `tree_bins`, the
    /// tree's own build, when nothing the services are built from differs between the
    /// tree and `commit` (the same sources build the same code: only the debug info
    /// names the folder); else found where an earlier run left them, or built
    /// (minutes: every dependency the first time).
    pub fn of_commit(commit: String, tree_bins: Option<&Path>) -> Result<Self> {
        let workspace = workspace().context("the workspace loadgen was built from is gone")?;
        if let Some(tree_bins) = tree_bins
            && builds_the_same(&workspace, &commit)?
        {
            return Ok(Self {
                commit: Some(commit),
                bins: tree_bins.to_owned(),
            });
        }
        let bins = target_dir()?.join("reference").join(&commit);
        if check_complete(&bins).is_err() {
            build_reference(&workspace, &commit, &bins)?;
        }
        Ok(Self {
            commit: Some(commit),
            bins,
        })
    }
}

/// Builds the service binaries of `commit` from a git worktree of it, into
/// `<target>/reference-build/`, and moves them to `bins`, whole or not at all.
fn build_reference(workspace: &Path, commit: &str, bins: &Path) -> Result<()> {
    eprintln!("building the reference build, {commit} (release; a few minutes)...");
    let checkout = tempfile::Builder::new()
        .prefix("loadgen-reference-")
        .tempdir()
        .context("making a folder for the reference's worktree")?;
    let tree = checkout.path().join("tree");
    let tree_arg = tree.to_string_lossy().into_owned();
    git(
        workspace,
        &["worktree", "add", "--detach", &tree_arg, commit],
    )?;
    let build_dir = target_dir()?.join("reference-build");
    let built = cargo_build_release_into(&tree, &SERVICE_PACKAGES, &build_dir);
    // The worktree goes whatever the build did, and its registration with it.
    let removed = git(workspace, &["worktree", "remove", "--force", &tree_arg]);
    built.with_context(|| format!("building the reference build, {commit}"))?;
    removed?;
    let release = build_dir.join("release");
    let staging = bins.with_extension("partial");
    std::fs::create_dir_all(&staging).with_context(|| format!("creating {}", staging.display()))?;
    for name in SERVICE_BINARIES {
        std::fs::copy(release.join(name), staging.join(name)).with_context(|| {
            format!("{commit} built no {name}: it predates this loadgen's deployments")
        })?;
    }
    // A copy cut short is never taken for a build: it lands under its name last.
    if bins.exists() {
        std::fs::remove_dir_all(bins).with_context(|| format!("removing {}", bins.display()))?;
    }
    std::fs::rename(&staging, bins)
        .with_context(|| format!("moving the reference's binaries to {}", bins.display()))
}

/// What the service binaries are not built from: a change there leaves them as they are.
/// Tests and benchmarks, and the contract suite they share (a dev-dependency only), are
/// built into test binaries, never into the services.
const NOT_IN_THE_SERVICES: [&str; 8] = [
    ":!loadgen",
    ":!results",
    ":!scripts",
    ":!.ci",
    ":!*.md",
    ":!*/tests/*",
    ":!*/benches/*",
    ":!shop-contract",
];

/// Whether the service binaries of the tree in `workspace`, as it is (changes not
/// committed included), are built from the same files as those of `commit`.
fn builds_the_same(workspace: &Path, commit: &str) -> Result<bool> {
    let mut changed = vec!["diff", "--name-only", commit, "--", "."];
    changed.extend(NOT_IN_THE_SERVICES);
    let mut untracked = vec!["ls-files", "--others", "--exclude-standard", "--", "."];
    untracked.extend(NOT_IN_THE_SERVICES);
    Ok(git(workspace, &changed)?.is_empty() && git(workspace, &untracked)?.is_empty())
}

/// `git args...` in `workspace`: its output, trimmed, or an error with what git said.
fn git(workspace: &Path, args: &[&str]) -> Result<String> {
    let output = Command::new("git")
        .current_dir(workspace)
        .args(args)
        .output()
        .context("running git (is it installed?)")?;
    let said = String::from_utf8_lossy(&output.stderr);
    ensure!(
        output.status.success(),
        "git {} failed ({}){}",
        args.join(" "),
        output.status,
        match said.trim() {
            "" => String::new(),
            said => format!(": {said}"),
        }
    );
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// An error naming what `bins` lacks of [`SERVICE_BINARIES`], if anything.
fn check_complete(bins: &Path) -> Result<()> {
    let missing: Vec<&str> = SERVICE_BINARIES
        .iter()
        .copied()
        .filter(|name| !bins.join(name).is_file())
        .collect();
    ensure!(
        missing.is_empty(),
        "{} lacks {}: build them with `cargo build --release -p {}`",
        bins.display(),
        missing.join(", "),
        SERVICE_PACKAGES.join(" -p ")
    );
    Ok(())
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

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;

    use super::*;

    /// A git repository holding `files`, committed; returns it and the commit.
    fn repository(files: &[&str]) -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let run = |args: &[&str]| git(dir.path(), args).unwrap();
        run(&["init", "-q"]);
        for file in files {
            write(dir.path(), file, "fn main() {}");
        }
        run(&["add", "."]);
        run(&[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-q",
            "-m",
            "first",
        ]);
        let commit = run(&["rev-parse", "HEAD"]);
        (dir, commit)
    }

    fn write(root: &Path, file: &str, text: &str) {
        let path = root.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    const FILES: [&str; 5] = [
        "split/src/main.rs",
        "split/tests/faults.rs",
        "monolith/benches/page.rs",
        "shop-contract/src/lib.rs",
        "loadgen/src/main.rs",
    ];

    #[test]
    fn each_build_is_deployed_from_copies_of_its_own_removed_with_them() {
        let found = tempfile::tempdir().unwrap();
        for binary in SERVICE_BINARIES {
            write(found.path(), binary, binary);
        }
        let copies = Copies::of(found.path(), Some(found.path())).unwrap();
        let reference = copies.reference.clone().unwrap();
        for binary in SERVICE_BINARIES {
            let [original, candidate, referenced] = [found.path(), &copies.candidate, &reference]
                .map(|dir| std::fs::metadata(dir.join(binary)).unwrap());
            // The same bytes, in three files: the reference is not the candidate's file.
            for copy in [&candidate, &referenced] {
                assert_eq!(copy.len(), original.len());
                assert_ne!(copy.ino(), original.ino());
            }
            assert_ne!(candidate.ino(), referenced.ino());
            assert_eq!(
                std::fs::read(copies.candidate.join(binary)).unwrap(),
                binary.as_bytes()
            );
        }
        let dir = copies.candidate.parent().unwrap().to_owned();
        drop(copies);
        assert!(!dir.exists(), "the copies outlived the run");

        std::fs::remove_file(found.path().join("balancer")).unwrap();
        let missing = Copies::of(found.path(), None).unwrap_err();
        assert!(format!("{missing:#}").contains("balancer"), "{missing:#}");
    }

    #[test]
    fn changes_to_tests_benches_and_the_loadgen_leave_the_services_as_they_are() {
        let (dir, commit) = repository(&FILES);
        assert!(builds_the_same(dir.path(), &commit).unwrap());
        for file in &FILES[1..] {
            write(dir.path(), file, "fn main() { changed() }");
        }
        write(dir.path(), "split/tests/new.rs", "untracked");
        write(dir.path(), "README.md", "untracked");
        assert!(builds_the_same(dir.path(), &commit).unwrap());
    }

    #[test]
    fn a_change_to_a_service_s_source_tracked_or_not_builds_it_anew() {
        let (dir, commit) = repository(&FILES);
        write(dir.path(), "split/src/main.rs", "fn main() { changed() }");
        assert!(!builds_the_same(dir.path(), &commit).unwrap());

        let (dir, commit) = repository(&FILES);
        write(dir.path(), "split/src/new.rs", "untracked");
        assert!(!builds_the_same(dir.path(), &commit).unwrap());
    }
}
