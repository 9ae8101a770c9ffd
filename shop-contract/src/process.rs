//! Real processes for tests: started on port 0, stopped on drop, whatever happens.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A running server process. Dropping it kills it (SIGKILL), so a failing or
/// panicking test leaves nothing behind.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    /// `http://127.0.0.1:PORT`, read from the process's "listening on" line.
    pub base_url: String,
}

impl ServerProcess {
    /// Starts `binary args...` and waits (at most `deadline`) for it to print
    /// `... listening on http://ADDR`. Its stderr goes to `log`.
    pub async fn start(
        binary: &Path,
        args: &[String],
        log: &Path,
        deadline: Duration,
    ) -> ServerProcess {
        let log_file = std::fs::File::create(log).expect("create log file");
        let mut child = Command::new(binary)
            .args(args)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let base_url = tokio::time::timeout(deadline, async {
            while let Some(line) = lines.next_line().await.expect("read stdout") {
                if let Some((_, url)) = line.split_once("listening on ") {
                    return Some(url.trim().to_owned());
                }
            }
            None
        })
        .await;
        let base_url = match base_url {
            Ok(Some(url)) => url,
            other => {
                let log = std::fs::read_to_string(log).unwrap_or_default();
                panic!(
                    "{} did not start ({other:?}); its log:\n{log}",
                    binary.display()
                )
            }
        };
        // Keep draining stdout so the process never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        ServerProcess { child, base_url }
    }

    pub fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id().expect("process is running") as i32)
    }

    pub fn signal(&self, signal: Signal) {
        kill(self.pid(), signal).expect("send signal");
    }

    /// Waits for the process to exit, at most `deadline`; returns its exit status.
    pub async fn wait(&mut self, deadline: Duration) -> std::process::ExitStatus {
        tokio::time::timeout(deadline, self.child.wait())
            .await
            .expect("process exits in time")
            .expect("wait for process")
    }

    /// SIGKILL, then reap.
    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }
}

/// A small catalog keeps start-up quick in debug builds; the contract does not depend on size.
pub const TEST_PRODUCTS: usize = 2_000;
/// The admin token every test deployment is given.
pub const TEST_ADMIN_TOKEN: &str = "test-admin-token";

/// The flags every test deployment's processes get: the small catalog, the admin token,
/// cheap password hashing, a short drain.
pub fn test_shop_flags() -> Vec<String> {
    [
        "--products",
        &TEST_PRODUCTS.to_string(),
        "--admin-token",
        TEST_ADMIN_TOKEN,
        "--password-iterations",
        "64",
        "--drain-secs",
        "5",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// A temporary directory that lives as long as the test needs it.
pub fn scratch_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("shop-test-")
        .tempdir()
        .expect("create temp dir")
}

/// Path of a workspace binary built next to the test binary (`target/<profile>/NAME`).
pub fn sibling_binary(name: &str) -> PathBuf {
    let mut dir = std::env::current_exe().expect("test binary path");
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join(name)
}

/// Sends `signal` and tolerates a process that is already gone.
pub fn try_signal(pid: Pid, signal: Signal) {
    let _ = kill(pid, signal);
}
