//! Bringing a split deployment up and down: every service's replicas, then the gateway,
//! as child processes on loopback ports the OS picks, each stopped on every path
//! (SIGTERM and a bounded wait on [`SplitDeployment::stop`], SIGKILL on drop).

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use shop_domain::Component;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::topology::{Directory, START_ORDER, Topology};

/// How a process is started, beyond its binary and flags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessSetup {
    /// The cores it may run on (a `taskset` list such as `0` or `0-1`); all when `None`.
    pub cpus: Option<String>,
    /// Whether the shop's test-only settings (`SHOP_TEST_...`) in the launcher's
    /// environment are kept from it: a reference build deployed beside the build
    /// under test runs as it is, whatever the one under test was told.
    pub withhold_test_knobs: bool,
}

/// The prefix of the variables [`ProcessSetup::withhold_test_knobs`] keeps back.
pub const TEST_KNOB_PREFIX: &str = "SHOP_TEST_";

/// The command that runs `binary` as `setup` says and has the kernel kill it when the
/// thread that started it dies: `setpriv --pdeathsig KILL` (util-linux, as `taskset`
/// is) execs what follows with that set, and it survives the execs. Without `setpriv`
/// on the machine, the process is only stopped on the launcher's own paths.
fn command_for(binary: &Path, setup: &ProcessSetup) -> Command {
    static SETPRIV: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let setpriv = *SETPRIV.get_or_init(|| {
        std::process::Command::new("setpriv")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    let mut words: Vec<OsString> = Vec::new();
    if setpriv {
        words.extend(["setpriv", "--pdeathsig", "KILL"].map(OsString::from));
    }
    if let Some(cpus) = &setup.cpus {
        words.extend(["taskset", "--cpu-list", cpus].map(OsString::from));
    }
    words.push(binary.into());
    let mut command = Command::new(&words[0]);
    command.args(&words[1..]);
    if setup.withhold_test_knobs {
        for name in test_knobs(std::env::vars_os()) {
            command.env_remove(name);
        }
    }
    command
}

/// The names of the test-only settings among `vars`.
fn test_knobs(vars: impl Iterator<Item = (OsString, OsString)>) -> Vec<OsString> {
    vars.map(|(name, _)| name)
        .filter(|name| name.to_string_lossy().starts_with(TEST_KNOB_PREFIX))
        .collect()
}

/// A child process serving HTTP, known by the URL it printed. Dropping it kills it.
#[derive(Debug)]
pub struct Supervised {
    /// `catalog-0`, `gateway`, ...: names its log file and its errors.
    pub name: String,
    /// `http://127.0.0.1:PORT`, from its "listening on" line.
    pub base_url: String,
    binary: PathBuf,
    args: Vec<OsString>,
    log: PathBuf,
    setup: ProcessSetup,
    child: Child,
}

impl Supervised {
    /// Starts `binary args...`, waits at most `deadline` for its "listening on URL" line;
    /// its stderr is appended to `log`.
    pub async fn start(
        name: &str,
        binary: &Path,
        args: Vec<OsString>,
        log: &Path,
        deadline: Duration,
    ) -> Result<Self> {
        Self::start_pinned(name, binary, args, log, deadline, &ProcessSetup::default()).await
    }

    /// [`start`](Self::start), as `setup` says: on its cores only (set before the
    /// program runs, so every thread it makes inherits them), and without the test-only
    /// settings if it says so.
    ///
    /// The process gets a process group of its own: a Ctrl-C at the terminal reaches
    /// only whoever launched it, which then stops it in order. And it is killed when
    /// the thread that started it dies, so that a launcher killed outright (SIGKILL, a
    /// broken pipe) leaves no orphan behind: start processes from threads that live as
    /// long as they should (a runtime's own threads, not a blocking pool's).
    pub async fn start_pinned(
        name: &str,
        binary: &Path,
        args: Vec<OsString>,
        log: &Path,
        deadline: Duration,
        setup: &ProcessSetup,
    ) -> Result<Self> {
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("opening {}", log.display()))?;
        let mut command = command_for(binary, setup);
        let mut child = command
            .args(&args)
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {} ({})", name, binary.display()))?;
        let stdout = child.stdout.take().context("stdout is piped")?;
        let mut lines = BufReader::new(stdout).lines();
        let listening = tokio::time::timeout(deadline, async {
            while let Some(line) = lines.next_line().await? {
                if let Some((_, url)) = line.split_once("listening on ") {
                    return Ok(Some(url.trim().to_owned()));
                }
            }
            Ok::<_, std::io::Error>(None)
        })
        .await;
        let base_url = match listening {
            Ok(Ok(Some(url))) => url,
            other => {
                let _ = child.kill().await;
                let text = std::fs::read_to_string(log).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                let tail = lines[lines.len().saturating_sub(20)..].join("\n");
                bail!(
                    "{name} did not start ({other:?}); the end of {}:\n{tail}",
                    log.display()
                );
            }
        };
        // Keep reading stdout, so the child never blocks on a full pipe, into its log
        // beside its stderr.
        let mut log_file = std::fs::OpenOptions::new().append(true).open(log).ok();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(file) = &mut log_file {
                    use std::io::Write;
                    let _ = writeln!(file, "{line}");
                }
            }
        });
        Ok(Self {
            name: name.to_owned(),
            base_url,
            binary: binary.to_owned(),
            args,
            log: log.to_owned(),
            setup: setup.clone(),
            child,
        })
    }

    /// Where its stderr goes.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// How it ended, if it has (without waiting).
    pub fn exited(&mut self) -> Result<Option<ExitStatus>> {
        Ok(self.child.try_wait()?)
    }

    pub fn pid(&self) -> Option<Pid> {
        self.child.id().map(|id| Pid::from_raw(id as i32))
    }

    /// Sends `signal`; a process already gone is not an error.
    pub fn signal(&self, signal: Signal) {
        if let Some(pid) = self.pid() {
            let _ = kill(pid, signal);
        }
    }

    /// SIGTERM, then at most `grace` for a clean exit, then SIGKILL.
    pub async fn stop(&mut self, grace: Duration) -> Result<ExitStatus> {
        self.signal(Signal::SIGTERM);
        match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(status) => Ok(status?),
            Err(_) => {
                tracing::warn!(name = %self.name, ?grace, "no clean exit in time; killing");
                self.child.kill().await?;
                Ok(self.child.wait().await?)
            }
        }
    }

    /// SIGKILL, as a crash would end it, and reap it.
    pub async fn kill(&mut self) -> Result<ExitStatus> {
        self.child.kill().await?;
        Ok(self.child.wait().await?)
    }

    /// Starts the same binary again on the address it had, as after a crash and a
    /// restart by a supervisor: callers find it where it was.
    pub async fn restart(&mut self, deadline: Duration) -> Result<()> {
        if self.child.try_wait()?.is_none() {
            self.kill().await?;
        }
        *self = self.respawn().start(deadline).await?;
        Ok(())
    }

    /// What it takes to start this process again where it was, to use without
    /// holding on to the process (a supervisor starts the new one, then swaps it in).
    pub fn respawn(&self) -> Respawn {
        let address = self.base_url.trim_start_matches("http://");
        Respawn {
            name: self.name.clone(),
            binary: self.binary.clone(),
            args: with_listen(&self.args, address),
            log: self.log.clone(),
            setup: self.setup.clone(),
        }
    }
}

/// A process to start again on its old address; see [`Supervised::respawn`].
#[derive(Debug, Clone)]
pub struct Respawn {
    name: String,
    binary: PathBuf,
    args: Vec<OsString>,
    log: PathBuf,
    setup: ProcessSetup,
}

impl Respawn {
    /// The same process with `flag` set to `value` (replaced, or added): a new
    /// release of it, say, with `--release 2`.
    pub fn with_flag(mut self, flag: &str, value: &str) -> Self {
        self.args = with_value(&self.args, flag, value);
        self
    }

    /// Starts it (the old process must be gone, or its address is taken).
    pub async fn start(&self, deadline: Duration) -> Result<Supervised> {
        Supervised::start_pinned(
            &self.name,
            &self.binary,
            self.args.clone(),
            &self.log,
            deadline,
            &self.setup,
        )
        .await
    }
}

/// `args` with the value of `--listen` replaced by `address`.
fn with_listen(args: &[OsString], address: &str) -> Vec<OsString> {
    with_value(args, "--listen", address)
}

/// `args` with the value of `flag` replaced by `value`, or the two appended.
fn with_value(args: &[OsString], flag: &str, value: &str) -> Vec<OsString> {
    let mut out = args.to_vec();
    match out.iter().position(|a| a == flag) {
        Some(at) if at + 1 < out.len() => out[at + 1] = value.into(),
        _ => out.extend([flag.into(), value.into()]),
    }
    out
}

/// What to launch, and where.
#[derive(Debug, Clone)]
pub struct LaunchOptions {
    /// The folder holding the `split-*` binaries.
    pub bins: PathBuf,
    /// The deployment's data directory: databases, secrets, the directory file, logs.
    pub data: PathBuf,
    pub topology: Topology,
    /// Where the gateway listens; port 0 picks one.
    pub gateway_listen: SocketAddr,
    /// Flags given to every process (`--products 2000`, `--admin-token ...`).
    pub shop_args: Vec<OsString>,
    /// The longest any process may take to start (seeding included).
    pub start_deadline: Duration,
    /// How every process is started: its cores, whether it sees the test-only settings.
    pub setup: ProcessSetup,
    /// Services whose incoming links all go through the fault proxy (`link-proxy`,
    /// from `bins`, started first): each replica gets a proxy named after it
    /// (`inventory-0`), and the directory sends callers to the proxy.
    pub proxied: BTreeSet<Component>,
}

impl LaunchOptions {
    /// The binaries next to the running executable (`target/<profile>/`), which is
    /// where cargo puts `split-up` and the services alike.
    pub fn bins_beside_current_exe() -> Result<PathBuf> {
        let mut dir = std::env::current_exe()?;
        dir.pop();
        if dir.ends_with("deps") {
            dir.pop();
        }
        Ok(dir)
    }
}

/// A running split deployment.
#[derive(Debug)]
pub struct SplitDeployment {
    pub directory: Directory,
    /// Every service's replicas, in start order.
    pub services: BTreeMap<Component, Vec<Supervised>>,
    pub gateway: Supervised,
    /// The fault proxy, when some service's links go through it.
    pub link_proxy: Option<Supervised>,
    pub data: PathBuf,
}

/// The binary that serves `component`.
pub fn service_binary(component: Component) -> String {
    format!("split-{component}")
}

impl SplitDeployment {
    /// Starts every service (each wave after the services it calls), then the gateway.
    pub async fn launch(options: LaunchOptions) -> Result<Self> {
        options.topology.validate()?;
        let data = &options.data;
        let logs = data.join("logs");
        std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
        // Create the shared secrets before any process races to.
        let settings = shop_args_settings(&options.shop_args)?;
        settings.admin_token(data)?;
        settings.token_key(data)?;

        let directory_path = data.join("directory.json");
        let mut directory = Directory {
            topology: options.topology.clone(),
            replicas: BTreeMap::new(),
        };
        let common = |listen: &str| -> Vec<OsString> {
            let mut args: Vec<OsString> = vec![
                "--listen".into(),
                listen.into(),
                "--data".into(),
                data.into(),
                "--directory".into(),
                directory_path.clone().into(),
            ];
            args.extend(options.shop_args.iter().cloned());
            args
        };

        let link_proxy = match options.proxied.is_empty() {
            true => None,
            false => Some(
                Supervised::start_pinned(
                    "link-proxy",
                    &options.bins.join("link-proxy"),
                    vec!["--listen".into(), "127.0.0.1:0".into()],
                    &logs.join("link-proxy.log"),
                    options.start_deadline,
                    &options.setup,
                )
                .await?,
            ),
        };
        let mut services = BTreeMap::new();
        for wave in START_ORDER {
            directory.write(&directory_path)?;
            // The first replica of each service creates and seeds its database; the
            // others start once it has, so they never wait on its seeding transaction.
            for later_replicas in [false, true] {
                let mut starting = Vec::new();
                for &component in wave {
                    for replica in 0..options.topology.spec(component).replicas {
                        if (replica > 0) != later_replicas {
                            continue;
                        }
                        let name = format!("{component}-{replica}");
                        let binary = options.bins.join(service_binary(component));
                        let log = logs.join(format!("{name}.log"));
                        let args = common("127.0.0.1:0");
                        let deadline = options.start_deadline;
                        let setup = &options.setup;
                        starting.push(async move {
                            let started = Supervised::start_pinned(
                                &name, &binary, args, &log, deadline, setup,
                            )
                            .await;
                            (component, started)
                        });
                    }
                }
                for (component, started) in futures::future::join_all(starting).await {
                    let process = started?;
                    let url = match &link_proxy {
                        Some(proxy) if options.proxied.contains(&component) => {
                            proxy_link(&proxy.base_url, &process.name, &process.base_url).await?
                        }
                        _ => process.base_url.clone(),
                    };
                    directory.replicas.entry(component).or_default().push(url);
                    services
                        .entry(component)
                        .or_insert_with(Vec::new)
                        .push(process);
                }
            }
        }
        directory.write(&directory_path)?;
        let gateway = Supervised::start_pinned(
            "gateway",
            &options.bins.join("split-gateway"),
            common(&options.gateway_listen.to_string()),
            &logs.join("gateway.log"),
            options.start_deadline,
            &options.setup,
        )
        .await?;
        Ok(Self {
            directory,
            services,
            gateway,
            link_proxy,
            data: data.clone(),
        })
    }

    pub fn gateway_url(&self) -> &str {
        &self.gateway.base_url
    }

    /// Replica `index` of `component`'s service.
    pub fn replica(&mut self, component: Component, index: usize) -> Result<&mut Supervised> {
        self.services
            .get_mut(&component)
            .and_then(|replicas| replicas.get_mut(index))
            .ok_or_else(|| anyhow!("{component} has no replica {index}"))
    }

    /// Stops the gateway, then the services in the reverse of their start order, each
    /// with SIGTERM and at most `grace` to drain.
    pub async fn stop(mut self, grace: Duration) -> Result<()> {
        self.gateway.stop(grace).await?;
        for wave in START_ORDER.iter().rev() {
            for component in wave.iter() {
                for process in self.services.get_mut(component).into_iter().flatten() {
                    process.stop(grace).await?;
                }
            }
        }
        if let Some(proxy) = &mut self.link_proxy {
            proxy.stop(grace).await?;
        }
        Ok(())
    }
}

/// Asks the fault proxy at `control` for a proxy called `name` in front of the
/// replica at `upstream` (`http://HOST:PORT`); answers the URL to call it through.
async fn proxy_link(control: &str, name: &str, upstream: &str) -> Result<String> {
    let address = upstream
        .strip_prefix("http://")
        .with_context(|| format!("{name} answers at {upstream}, not http://"))?;
    let created: serde_json::Value = reqwest::Client::new()
        .post(format!("{control}/proxies"))
        .json(&serde_json::json!({"name": name, "listen": "127.0.0.1:0", "upstream": address}))
        .send()
        .await?
        .error_for_status()
        .with_context(|| format!("putting a proxy in front of {name}"))?
        .json()
        .await?;
    let listen = created["listen"]
        .as_str()
        .with_context(|| format!("the proxy of {name} says no address: {created}"))?;
    Ok(format!("http://{listen}"))
}

/// The shared settings as the services will parse them from `shop_args` (and the
/// environment), so the launcher creates the same secrets they will read.
fn shop_args_settings(shop_args: &[OsString]) -> Result<shop_config::ShopSettings> {
    use clap::{Args, Command, FromArgMatches};
    let command = shop_config::ShopSettings::augment_args(Command::new("shop"));
    let matches = command
        .try_get_matches_from(
            std::iter::once(OsString::from("shop")).chain(shop_args.iter().cloned()),
        )
        .context("the flags for the services")?;
    Ok(shop_config::ShopSettings::from_arg_matches(&matches)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(args: &[OsString]) -> Vec<&str> {
        args.iter().map(|a| a.to_str().unwrap()).collect()
    }

    #[test]
    fn a_setup_that_withholds_test_knobs_removes_each_from_the_command() {
        let vars = [
            ("SHOP_TEST_SLOWDOWN", "inventory=0.1"),
            ("PATH", "/bin"),
            ("SHOP_SEED", "1"),
        ]
        .map(|(k, v)| (OsString::from(k), OsString::from(v)));
        assert_eq!(
            test_knobs(vars.into_iter()),
            [OsString::from("SHOP_TEST_SLOWDOWN")]
        );
        let setup = ProcessSetup {
            cpus: Some("0".into()),
            withhold_test_knobs: true,
        };
        let command = command_for(Path::new("/bin/true"), &setup);
        let std = command.as_std();
        let args: Vec<_> = std::iter::once(std.get_program())
            .chain(std.get_args())
            .collect();
        assert!(
            args.windows(3).any(|w| w == ["taskset", "--cpu-list", "0"]),
            "{args:?}"
        );
        // Whatever this test's environment holds of them is removed, nothing else.
        let removed: Vec<_> = command.as_std().get_envs().collect();
        assert!(
            removed.iter().all(|(name, value)| {
                value.is_none() && name.to_string_lossy().starts_with(TEST_KNOB_PREFIX)
            }),
            "{removed:?}"
        );
        let inherited = command_for(Path::new("/bin/true"), &ProcessSetup::default());
        assert_eq!(inherited.as_std().get_envs().count(), 0);
    }

    #[test]
    fn a_flag_is_replaced_where_it_is_or_added_at_the_end() {
        let args: Vec<OsString> = ["--listen", "127.0.0.1:0", "--products", "200"]
            .map(OsString::from)
            .to_vec();
        assert_eq!(
            words(&with_listen(&args, "127.0.0.1:8081")),
            ["--listen", "127.0.0.1:8081", "--products", "200"]
        );
        let released = with_value(&args, "--release", "2");
        assert_eq!(
            words(&released),
            [
                "--listen",
                "127.0.0.1:0",
                "--products",
                "200",
                "--release",
                "2"
            ]
        );
        assert_eq!(words(&with_value(&released, "--release", "3"))[5], "3");
    }
}
