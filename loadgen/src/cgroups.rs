//! Per-process CPU and memory limits for the system under test, through Linux cgroups
//! where this machine lets us write them, and a plain reason why not where it does not.
//!
//! # Layout
//!
//! - [`detect`] finds the cgroup interface ([`Hierarchy`]): v2 when `/sys/fs/cgroup` is
//!   the unified hierarchy, v1 when the `cpu` and `memory` controllers are mounted
//!   beneath it. It settles where the run's groups will live, and proves we can make
//!   them there by making (and removing) a probe group.
//! - [`Hierarchy::create_run`] makes the run's group, a [`RunGroups`].
//! - [`RunGroups::confine`] gives one process a group of its own with its [`Limits`];
//!   [`RunGroups::set_limits`] changes them mid-run.
//! - Dropping the [`RunGroups`] removes every group it made.
//!
//! The tree, once in each controller on v1 and once on v2:
//!
//! ```text
//! <base>/                   our own cgroup, or the hierarchy's root if that is not writable
//!   loadgen-<run_id>/       one per run: RunGroups
//!     <process name>/       one per confined process, with its limits
//! ```
//!
//! The base is our own cgroup rather than the root so that whatever confines the
//! generator (a container, a sandbox) also confines what it starts: the limits nest.
//!
//! Everything is done by writing the kernel's files, with no daemon (systemd) involved,
//! because the runs happen in containers and sandboxes where there is none.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// Where cgroup hierarchies are mounted on every distribution we know of.
const MOUNTS: &str = "/sys/fs/cgroup";

/// The CFS period for CPU limits: 100 ms, the kernel's default, short enough that a
/// throttled server stalls for at most a fraction of a typical request timeout.
const PERIOD_US: u64 = 100_000;

/// The kernel refuses CFS quotas below 1 ms (EINVAL), so smaller CPU limits are
/// raised to it: 10 millis, where anything smaller would not be a useful server anyway.
const MIN_QUOTA_US: u64 = 1_000;

/// Limits for one process, as the topology writes them. `None` is unlimited.
pub use split::topology::ProcessLimits as Limits;

/// The CFS quota per [`PERIOD_US`], in microseconds.
fn quota_us(limits: Limits) -> Option<u64> {
    limits
        .cpu_millis
        .map(|millis| (u64::from(millis) * PERIOD_US / 1000).max(MIN_QUOTA_US))
}

fn memory_bytes(limits: Limits) -> Option<u64> {
    limits.memory_mb.map(|mb| u64::from(mb) * 1024 * 1024)
}

/// Which cgroup interface the machine offers us, and where run groups go in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hierarchy {
    /// Legacy hierarchies, one per controller: the group runs are made under in each.
    V1 { cpu: PathBuf, memory: PathBuf },
    /// The unified hierarchy: the group runs are made under (ours, or the root), with
    /// the cpu and memory controllers enabled for its children.
    V2 { root: PathBuf },
}

/// Why a cgroup could not be made or changed.
#[derive(Debug)]
pub enum CgroupError {
    /// A run id or process name that is not one safe path component.
    BadName(String),
    /// A pid that cannot be meant: writing 0 to `cgroup.procs` would move the generator.
    BadPid(i32),
    /// `set_limits` for a name this run never confined.
    NotConfined(String),
    /// The kernel (or the file system) refused.
    Io { action: String, source: io::Error },
}

impl fmt::Display for CgroupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadName(name) => write!(
                f,
                "`{name}` is not a safe cgroup name (use letters, digits, `_`, `.` and `-`)"
            ),
            Self::BadPid(pid) => write!(f, "{pid} is not a process id"),
            Self::NotConfined(name) => {
                write!(f, "no process named `{name}` is confined in this run")
            }
            Self::Io { action, source } => write!(f, "cannot {action}: {source}"),
        }
    }
}

/// The I/O error is already part of the message (callers record `to_string()`), so it
/// is not also offered as a source, which `{:#}` would print twice.
impl std::error::Error for CgroupError {}

/// Detects a hierarchy under `/sys/fs/cgroup` where we can make groups with CPU and
/// memory limits; otherwise says why not (read-only, not root, controllers missing).
pub fn detect() -> Result<Hierarchy, String> {
    detect_at(Path::new(MOUNTS))
}

/// [`detect`] with the hierarchies mounted under `root` (tests use a fake tree). Our
/// own cgroups still come from `/proc/self/cgroup`; where they are not found under
/// `root`, the hierarchy's root is the base.
pub fn detect_at(root: &Path) -> Result<Hierarchy, String> {
    let own = fs::read_to_string("/proc/self/cgroup")
        .map(|text| OwnGroups::parse(&text))
        .unwrap_or_default();
    if root.join("cgroup.controllers").exists() {
        return detect_v2(root, &own);
    }
    detect_v1(root, &own)
        .map_err(|why| format!("{} is not a cgroup v2 hierarchy, and {why}", root.display()))
}

fn detect_v2(root: &Path, own: &OwnGroups) -> Result<Hierarchy, String> {
    let offered = read(&root.join("cgroup.controllers")).map_err(|e| e.to_string())?;
    for needed in ["cpu", "memory"] {
        if !offered.split_whitespace().any(|c| c == needed) {
            return Err(format!(
                "the cgroup v2 hierarchy at {} offers no {needed} controller",
                root.display()
            ));
        }
    }
    let base = writable_base(root, own.unified.as_deref(), |dir| {
        enable_controllers(dir).map_err(|e| e.to_string())?;
        probe(dir)
    })?;
    Ok(Hierarchy::V2 { root: base })
}

fn detect_v1(root: &Path, own: &OwnGroups) -> Result<Hierarchy, String> {
    let cpu = root.join("cpu");
    let memory = root.join("memory");
    if !cpu.join("cpu.cfs_quota_us").exists() {
        return Err(format!(
            "no cgroup v1 cpu controller with CFS quotas is mounted at {}",
            cpu.display()
        ));
    }
    if !memory.join("memory.limit_in_bytes").exists() {
        return Err(format!(
            "no cgroup v1 memory controller is mounted at {}",
            memory.display()
        ));
    }
    Ok(Hierarchy::V1 {
        cpu: writable_base(&cpu, own.cpu.as_deref(), probe)?,
        memory: writable_base(&memory, own.memory.as_deref(), probe)?,
    })
}

/// Our own cgroup (ours if `ready` accepts it, else the hierarchy's `root`), or why
/// neither will do.
fn writable_base(
    root: &Path,
    own: Option<&str>,
    ready: impl Fn(&Path) -> Result<(), String>,
) -> Result<PathBuf, String> {
    let mut reasons = Vec::new();
    if let Some(own) = own
        .and_then(|own| below(root, own))
        .filter(|own| own != root)
    {
        match ready(&own) {
            Ok(()) => return Ok(own),
            Err(why) => reasons.push(why),
        }
    }
    match ready(root) {
        Ok(()) => Ok(root.to_path_buf()),
        Err(why) => {
            reasons.push(why);
            Err(reasons.join("; "))
        }
    }
}

/// Makes and removes a group in `dir`: permission bits do not tell (read-only mounts,
/// delegation, v2's rule against processes in inner groups), the kernel does.
fn probe(dir: &Path) -> Result<(), String> {
    static PROBES: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "loadgen-probe-{}-{}",
        std::process::id(),
        PROBES.fetch_add(1, Ordering::Relaxed)
    );
    let group = dir.join(name);
    make_dir(&group).map_err(|e| e.to_string())?;
    let _ = fs::remove_dir(&group);
    Ok(())
}

/// Lets the children of a v2 group have CPU and memory limits.
fn enable_controllers(dir: &Path) -> Result<(), CgroupError> {
    let enabled = read(&dir.join("cgroup.subtree_control"))?;
    let has = |c: &str| enabled.split_whitespace().any(|e| e == c);
    if has("cpu") && has("memory") {
        return Ok(());
    }
    write(&dir.join("cgroup.subtree_control"), "+cpu +memory")
}

/// Our own cgroup in each hierarchy, as `/proc/self/cgroup` lists them.
#[derive(Debug, Default, PartialEq, Eq)]
struct OwnGroups {
    cpu: Option<String>,
    memory: Option<String>,
    /// The `0::` line: v2, or the unused unified hierarchy of a hybrid setup.
    unified: Option<String>,
}

impl OwnGroups {
    /// Reads lines like `4:memory:/a/b`, `2:cpu,cpuacct:/` and `0::/`.
    fn parse(text: &str) -> Self {
        let mut own = Self::default();
        for line in text.lines() {
            let mut fields = line.splitn(3, ':');
            let (Some(_id), Some(controllers), Some(path)) =
                (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            if controllers.is_empty() {
                own.unified = Some(path.to_owned());
            }
            for controller in controllers.split(',') {
                match controller {
                    "cpu" => own.cpu = Some(path.to_owned()),
                    "memory" => own.memory = Some(path.to_owned()),
                    _ => {}
                }
            }
        }
        own
    }
}

/// `group` (as `/proc/self/cgroup` writes it) inside the hierarchy mounted at `root`;
/// `None` when it climbs out, as it does when our cgroup is outside our namespace.
fn below(root: &Path, group: &str) -> Option<PathBuf> {
    let relative = Path::new(group.trim_start_matches('/'));
    if relative.as_os_str().is_empty() {
        return Some(root.to_path_buf());
    }
    relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then(|| root.join(relative))
}

impl Hierarchy {
    /// Makes the run's group, `loadgen-<run_id>`, under the base in each hierarchy.
    pub fn create_run(&self, run_id: &str) -> Result<RunGroups, CgroupError> {
        check_name(run_id)?;
        // Made before the directories so that a failure halfway removes what was made.
        let groups = RunGroups {
            run: self.join(&format!("loadgen-{run_id}")),
        };
        for dir in groups.run.dirs() {
            make_dir(dir)?;
        }
        if let Self::V2 { root } = &groups.run {
            enable_controllers(root)?;
        }
        Ok(groups)
    }

    /// The same hierarchy one level down, in the child `name`.
    fn join(&self, name: &str) -> Self {
        match self {
            Self::V1 { cpu, memory } => Self::V1 {
                cpu: cpu.join(name),
                memory: memory.join(name),
            },
            Self::V2 { root } => Self::V2 {
                root: root.join(name),
            },
        }
    }

    fn dirs(&self) -> Vec<&Path> {
        match self {
            Self::V1 { cpu, memory } => vec![cpu, memory],
            Self::V2 { root } => vec![root],
        }
    }

    /// Writes `limits` into a process's group, unlimited where they are `None`, so
    /// that a later call can also lift a limit.
    fn apply(&self, limits: Limits) -> Result<(), CgroupError> {
        let quota = quota_us(limits).map(|q| q.to_string());
        let bytes = memory_bytes(limits).map(|b| b.to_string());
        match self {
            Self::V1 { cpu, memory } => {
                write(&cpu.join("cpu.cfs_period_us"), &PERIOD_US.to_string())?;
                write(
                    &cpu.join("cpu.cfs_quota_us"),
                    quota.as_deref().unwrap_or("-1"),
                )?;
                set_v1_memory(memory, bytes.as_deref().unwrap_or("-1"))
            }
            Self::V2 { root } => {
                let quota = quota.as_deref().unwrap_or("max");
                write(&root.join("cpu.max"), &format!("{quota} {PERIOD_US}"))?;
                write(&root.join("memory.max"), bytes.as_deref().unwrap_or("max"))?;
                // Without swap off, a memory limit only moves the excess to swap.
                let swap = root.join("memory.swap.max");
                if swap.exists() {
                    let swap_limit = if bytes.is_some() { "0" } else { "max" };
                    let _ = write(&swap, swap_limit);
                }
                Ok(())
            }
        }
    }
}

/// Sets a v1 memory limit, and the same limit on memory plus swap where swap is
/// accounted, so that the limit is not just moved to swap. The kernel keeps memory
/// plus swap at or above memory alone, so raising needs it first and lowering last:
/// trying memory first, and again after, covers both without reading the old limit.
fn set_v1_memory(dir: &Path, bytes: &str) -> Result<(), CgroupError> {
    let memory = dir.join("memory.limit_in_bytes");
    let memsw = dir.join("memory.memsw.limit_in_bytes");
    let has_memsw = memsw.exists();
    if let Err(error) = write(&memory, bytes) {
        if !has_memsw {
            return Err(error);
        }
        let _ = write(&memsw, bytes);
        write(&memory, bytes)?;
    }
    if has_memsw {
        let _ = write(&memsw, bytes);
    }
    Ok(())
}

/// The per-process cgroups made for one run, removed when dropped.
///
/// Dropping moves any process still inside back to the group the run was made in,
/// then removes the groups; it is best effort and never panics, since the processes
/// have normally been stopped (and so left) already.
#[derive(Debug)]
pub struct RunGroups {
    /// The run's group in each hierarchy; every confined process gets a child of it.
    run: Hierarchy,
}

impl RunGroups {
    /// Makes the group `name` in this run with `limits` and moves the process `pid`
    /// (all its threads) into it. Confining a name again (a restarted process) reuses
    /// its group.
    ///
    /// On v1, CPU is `cpu.cfs_period_us` = 100000 with `cpu.cfs_quota_us` = 100 per
    /// milli and memory `memory.limit_in_bytes` (and `memory.memsw.limit_in_bytes`
    /// where swap is accounted); on v2, `cpu.max` and `memory.max` (and
    /// `memory.swap.max` = 0 where it exists).
    pub fn confine(&self, name: &str, pid: i32, limits: Limits) -> Result<(), CgroupError> {
        check_name(name)?;
        if pid <= 0 {
            return Err(CgroupError::BadPid(pid));
        }
        let leaf = self.run.join(name);
        for dir in leaf.dirs() {
            make_dir(dir)?;
        }
        leaf.apply(limits)?;
        for dir in leaf.dirs() {
            write(&dir.join("cgroup.procs"), &pid.to_string())?;
        }
        Ok(())
    }

    /// Changes the limits of the process confined as `name`, mid-run.
    pub fn set_limits(&self, name: &str, limits: Limits) -> Result<(), CgroupError> {
        check_name(name)?;
        let leaf = self.run.join(name);
        if !leaf.dirs().iter().all(|dir| dir.is_dir()) {
            return Err(CgroupError::NotConfined(name.to_owned()));
        }
        leaf.apply(limits)
    }

    /// Where the group of `name` lives, one directory per hierarchy (for the results);
    /// nothing for a name that could not be confined.
    pub fn paths(&self, name: &str) -> Vec<PathBuf> {
        if check_name(name).is_err() {
            return Vec::new();
        }
        self.run
            .join(name)
            .dirs()
            .into_iter()
            .map(Path::to_path_buf)
            .collect()
    }
}

impl Drop for RunGroups {
    fn drop(&mut self) {
        for run in self.run.dirs() {
            let Some(base) = run.parent() else { continue };
            let leaves = fs::read_dir(run)
                .into_iter()
                .flatten()
                .flatten()
                .map(|entry| entry.path())
                .filter(|path| path.is_dir());
            for leaf in leaves {
                for pid in read(&leaf.join("cgroup.procs")).unwrap_or_default().lines() {
                    let _ = write(&base.join("cgroup.procs"), pid);
                }
                remove_group(&leaf);
            }
            remove_group(run);
        }
    }
}

/// Removes an empty group. A process that was just killed can still keep its group
/// busy for a moment while it exits, so a busy group gets a few more tries.
fn remove_group(dir: &Path) {
    for _ in 0..20 {
        match fs::remove_dir(dir) {
            Err(e) if e.kind() == io::ErrorKind::ResourceBusy => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            _ => return,
        }
    }
}

/// Accepts one path component that cannot climb out of the run's group.
fn check_name(name: &str) -> Result<(), CgroupError> {
    let safe = !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if safe {
        Ok(())
    } else {
        Err(CgroupError::BadName(name.to_owned()))
    }
}

/// Makes a group, or accepts the one already there (a rerun, a restarted process).
fn make_dir(path: &Path) -> Result<(), CgroupError> {
    match fs::create_dir(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && path.is_dir() => Ok(()),
        Err(source) => Err(CgroupError::Io {
            action: format!("create {}", path.display()),
            source,
        }),
    }
}

fn read(path: &Path) -> Result<String, CgroupError> {
    fs::read_to_string(path).map_err(|source| CgroupError::Io {
        action: format!("read {}", path.display()),
        source,
    })
}

/// Writes one value in one `write`, as cgroup files want. Never creates the file: the
/// kernel makes them, so a missing one means the wrong directory or controller.
fn write(path: &Path, value: &str) -> Result<(), CgroupError> {
    OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .and_then(|mut file| file.write_all(value.as_bytes()))
        .map_err(|source| CgroupError::Io {
            action: format!("write `{value}` to {}", path.display()),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Child, Command};
    use std::time::{Duration, Instant};

    /// A child process that is killed and reaped however the test ends, so that a
    /// failed assertion does not leave a busy loop spinning.
    struct Killed(Child);

    impl Killed {
        fn spawn(command: &mut Command) -> Self {
            Self(command.spawn().expect("the test's child process starts"))
        }

        fn pid(&self) -> i32 {
            i32::try_from(self.0.id()).expect("pids fit in i32")
        }
    }

    impl Drop for Killed {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    /// The machine's cgroups, or `None` (after saying why) where they are not writable:
    /// the tests that need them then pass without checking anything, by design, so that
    /// the suite runs in unprivileged containers and on read-only mounts.
    fn writable_cgroups() -> Option<Hierarchy> {
        match detect() {
            Ok(hierarchy) => Some(hierarchy),
            Err(why) => {
                eprintln!("cgroups are not writable here, so this test checks nothing: {why}");
                None
            }
        }
    }

    /// Run ids unique to this test process, so that concurrent test runs do not meet.
    fn run_id(test: &str) -> String {
        format!("test-{}-{test}", std::process::id())
    }

    /// The control `file` of `name`'s group, in whichever hierarchy has it.
    fn control(groups: &RunGroups, name: &str, file: &str) -> String {
        let path = groups
            .paths(name)
            .into_iter()
            .map(|dir| dir.join(file))
            .find(|path| path.exists())
            .unwrap_or_else(|| panic!("no group of {name} has {file}"));
        fs::read_to_string(path).unwrap().trim().to_owned()
    }

    fn run_dirs(groups: &RunGroups, name: &str) -> Vec<PathBuf> {
        let parent = |leaf: PathBuf| leaf.parent().unwrap().to_path_buf();
        groups.paths(name).into_iter().map(parent).collect()
    }

    #[test]
    fn a_tree_without_controllers_is_refused_with_a_reason() {
        let fake = tempfile::tempdir().unwrap();
        fs::create_dir(fake.path().join("cpu")).unwrap();

        let why = detect_at(fake.path()).unwrap_err();

        assert!(why.contains("not a cgroup v2 hierarchy"), "{why}");
        assert!(why.contains("no cgroup v1 cpu controller"), "{why}");
    }

    #[test]
    fn a_v2_tree_without_the_memory_controller_is_refused() {
        let fake = tempfile::tempdir().unwrap();
        fs::write(
            fake.path().join("cgroup.controllers"),
            "cpuset cpu io pids\n",
        )
        .unwrap();

        let why = detect_at(fake.path()).unwrap_err();

        assert!(why.contains("offers no memory controller"), "{why}");
    }

    /// This machine may have no v2 controllers, so the v2 file formats are checked on a
    /// fake tree with the files the kernel would have made.
    #[test]
    fn v2_limits_are_written_in_the_kernels_formats() {
        let fake = tempfile::tempdir().unwrap();
        let root = fake.path();
        fs::write(root.join("cgroup.controllers"), "cpu io memory pids\n").unwrap();
        fs::write(root.join("cgroup.subtree_control"), "").unwrap();
        let hierarchy = detect_at(root).unwrap();
        assert_eq!(
            hierarchy,
            Hierarchy::V2 {
                root: root.to_path_buf()
            }
        );
        assert_eq!(
            fs::read_to_string(root.join("cgroup.subtree_control")).unwrap(),
            "+cpu +memory"
        );
        let leaf = root.join("loadgen-fake/web");
        fs::create_dir_all(&leaf).unwrap();
        fs::write(root.join("loadgen-fake/cgroup.subtree_control"), "").unwrap();
        for file in ["cpu.max", "memory.max", "memory.swap.max", "cgroup.procs"] {
            fs::write(leaf.join(file), "").unwrap();
        }
        let read = |file: &str| fs::read_to_string(leaf.join(file)).unwrap();

        let groups = hierarchy.create_run("fake").unwrap();
        let limits = Limits {
            cpu_millis: Some(200),
            memory_mb: Some(64),
        };
        groups.confine("web", 4242, limits).unwrap();

        assert_eq!(groups.paths("web"), vec![leaf.clone()]);
        assert_eq!(read("cpu.max"), "20000 100000");
        assert_eq!(read("memory.max"), "67108864");
        assert_eq!(read("memory.swap.max"), "0");
        assert_eq!(read("cgroup.procs"), "4242");

        groups
            .set_limits(
                "web",
                Limits {
                    cpu_millis: Some(5),
                    memory_mb: None,
                },
            )
            .unwrap();

        assert_eq!(
            read("cpu.max"),
            "1000 100000",
            "raised to the kernel's 1 ms minimum"
        );
        assert_eq!(read("memory.max"), "max");
        assert_eq!(read("memory.swap.max"), "max");
    }

    #[test]
    fn the_own_cgroup_lines_are_read_for_v1_and_v2() {
        let text = "9:name=systemd:/\n4:memory:/sandbox/abc\n2:cpu,cpuacct:/x\n1:cpuset:/\n0::/\n";

        let own = OwnGroups::parse(text);

        assert_eq!(own.cpu.as_deref(), Some("/x"));
        assert_eq!(own.memory.as_deref(), Some("/sandbox/abc"));
        assert_eq!(own.unified.as_deref(), Some("/"));
        let root = Path::new("/sys/fs/cgroup/memory");
        assert_eq!(below(root, "/sandbox/abc"), Some(root.join("sandbox/abc")));
        assert_eq!(below(root, "/"), Some(root.to_path_buf()));
        assert_eq!(
            below(root, "/../.."),
            None,
            "a cgroup outside our namespace"
        );
    }

    #[test]
    fn names_that_are_not_one_safe_path_component_are_refused() {
        for bad in ["", ".", "..", "a/b", "../etc", "web 1", "wéb", "a\nb"] {
            assert!(
                matches!(check_name(bad), Err(CgroupError::BadName(_))),
                "{bad:?}"
            );
        }
        for good in ["catalog", "orders-2", "a_b.c", "20261128-143305"] {
            assert!(check_name(good).is_ok(), "{good:?}");
        }
        let hierarchy = Hierarchy::V2 {
            root: PathBuf::from("/nonexistent"),
        };
        assert!(matches!(
            hierarchy.create_run("../x"),
            Err(CgroupError::BadName(_))
        ));
        let groups = RunGroups {
            run: hierarchy.join("loadgen-x"),
        };
        assert!(matches!(
            groups.confine("..", 1, Limits::default()),
            Err(CgroupError::BadName(_))
        ));
        assert!(matches!(
            groups.set_limits("a/b", Limits::default()),
            Err(CgroupError::BadName(_))
        ));
        assert!(matches!(
            groups.confine("web", 0, Limits::default()),
            Err(CgroupError::BadPid(0))
        ));
        assert!(groups.paths("../..").is_empty());
        assert!(Limits::default().is_unlimited());
    }

    /// Passes without checking anything where cgroups are not writable (see
    /// [`writable_cgroups`]).
    #[test]
    fn a_confined_process_has_its_limits_and_the_groups_go_when_dropped() {
        let Some(hierarchy) = writable_cgroups() else {
            return;
        };
        let groups = hierarchy.create_run(&run_id("confine")).unwrap();
        let run_dirs = run_dirs(&groups, "sleeper");
        let sleeper = Killed::spawn(Command::new("sleep").arg("5"));

        let limits = Limits {
            cpu_millis: Some(200),
            memory_mb: Some(64),
        };
        groups.confine("sleeper", sleeper.pid(), limits).unwrap();

        match &hierarchy {
            Hierarchy::V1 { .. } => {
                assert_eq!(control(&groups, "sleeper", "cpu.cfs_quota_us"), "20000");
                assert_eq!(control(&groups, "sleeper", "cpu.cfs_period_us"), "100000");
                assert_eq!(
                    control(&groups, "sleeper", "memory.limit_in_bytes"),
                    "67108864"
                );
            }
            Hierarchy::V2 { .. } => {
                assert_eq!(control(&groups, "sleeper", "cpu.max"), "20000 100000");
                assert_eq!(control(&groups, "sleeper", "memory.max"), "67108864");
            }
        }
        for dir in groups.paths("sleeper") {
            let procs = fs::read_to_string(dir.join("cgroup.procs")).unwrap();
            assert!(
                procs.lines().any(|p| p == sleeper.pid().to_string()),
                "{dir:?}: {procs}"
            );
        }

        groups
            .set_limits(
                "sleeper",
                Limits {
                    cpu_millis: Some(1500),
                    memory_mb: None,
                },
            )
            .unwrap();

        match &hierarchy {
            Hierarchy::V1 { .. } => {
                assert_eq!(control(&groups, "sleeper", "cpu.cfs_quota_us"), "150000");
                let unlimited: u64 = control(&groups, "sleeper", "memory.limit_in_bytes")
                    .parse()
                    .unwrap();
                assert!(unlimited > 1 << 60, "{unlimited}");
            }
            Hierarchy::V2 { .. } => {
                assert_eq!(control(&groups, "sleeper", "cpu.max"), "150000 100000");
                assert_eq!(control(&groups, "sleeper", "memory.max"), "max");
            }
        }
        assert!(matches!(
            groups.set_limits("stranger", Limits::default()),
            Err(CgroupError::NotConfined(_))
        ));

        drop(sleeper);
        drop(groups);

        for dir in run_dirs {
            assert!(!dir.exists(), "{dir:?} is left behind");
        }
    }

    /// Passes without checking anything where cgroups are not writable (see
    /// [`writable_cgroups`]).
    #[test]
    fn dropping_moves_a_live_process_back_out_before_removing_its_group() {
        let Some(hierarchy) = writable_cgroups() else {
            return;
        };
        let groups = hierarchy.create_run(&run_id("evacuate")).unwrap();
        let run_dirs = run_dirs(&groups, "survivor");
        let survivor = Killed::spawn(Command::new("sleep").arg("5"));
        let limits = Limits {
            cpu_millis: Some(500),
            memory_mb: None,
        };
        groups.confine("survivor", survivor.pid(), limits).unwrap();

        drop(groups);

        for dir in run_dirs {
            assert!(!dir.exists(), "{dir:?} is left behind");
            let base = dir.parent().unwrap();
            let procs = fs::read_to_string(base.join("cgroup.procs")).unwrap();
            assert!(
                procs.lines().any(|p| p == survivor.pid().to_string()),
                "{base:?}"
            );
        }
    }

    /// Busy-loops a shell confined to 200 millis for a second and checks it got well
    /// under half a core; loose on purpose, since a busy machine only lowers the share.
    /// Passes without checking anything where cgroups are not writable (see
    /// [`writable_cgroups`]).
    #[test]
    fn a_process_confined_to_a_fifth_of_a_core_uses_about_that() {
        let Some(hierarchy) = writable_cgroups() else {
            return;
        };
        let _alone = crate::TIMING_TESTS.blocking_lock();
        let groups = hierarchy.create_run(&run_id("throttle")).unwrap();
        let spinner = Killed::spawn(Command::new("sh").args(["-c", "while :; do :; done"]));
        let limits = Limits {
            cpu_millis: Some(200),
            memory_mb: None,
        };
        groups.confine("spinner", spinner.pid(), limits).unwrap();

        let (started, before) = (Instant::now(), cpu_seconds(spinner.pid()));
        std::thread::sleep(Duration::from_secs(1));
        let share = (cpu_seconds(spinner.pid()) - before) / started.elapsed().as_secs_f64();

        eprintln!(
            "a spinner limited to 200 millis used {:.0}% of a core",
            share * 100.0
        );
        assert!(share < 0.5, "{share}");
    }

    /// User plus system CPU time of `pid`, from `/proc/<pid>/stat`.
    fn cpu_seconds(pid: i32) -> f64 {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        // The command name, in parentheses, may hold spaces; the fields after it start
        // at the state (field 3), so utime (14) and stime (15) are the 12th and 13th.
        let after_name = &stat[stat.rfind(')').unwrap() + 1..];
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        ticks as f64 / clock_ticks_per_second()
    }

    /// USER_HZ, the unit of `/proc/<pid>/stat` times: 100 on every mainstream Linux,
    /// asked of `getconf` anyway since std cannot call `sysconf`.
    fn clock_ticks_per_second() -> f64 {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(100.0)
    }
}
