//! `split-up` as a person runs it: everything comes up, and Ctrl-C (SIGINT to the
//! launcher) brings every process down, leaving none behind.

use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// The pids whose parent is `parent`, read from /proc.
fn children_of(parent: u32) -> Vec<u32> {
    let mut children = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // The fields after the command name (which may hold spaces) start at ") ".
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        let ppid: u32 = after.split(' ').nth(1).unwrap().parse().unwrap();
        if ppid == parent {
            children.push(pid);
        }
    }
    children
}

/// Starts `split-up` on `data` with a gateway on a free port, giving the services
/// `shop_args`; its stdout goes to `stdout`.
fn split_up(data: &std::path::Path, shop_args: &[&str], stdout: Stdio) -> tokio::process::Child {
    Command::new(env!("CARGO_BIN_EXE_split-up"))
        .args([
            "--data",
            data.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--",
        ])
        .args(shop_args)
        .stdout(stdout)
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

fn alive(pid: u32) -> bool {
    // A zombie has exited; only its entry is left for the parent to reap.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| !stat[stat.rfind(')').unwrap() + 2..].starts_with('Z'))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_every_process_it_started() {
    let data = tempfile::tempdir().unwrap();
    let mut launcher = split_up(
        data.path(),
        &["--products", "300", "--password-iterations", "64"],
        Stdio::piped(),
    );
    let pid = launcher.id().unwrap();
    let mut lines = BufReader::new(launcher.stdout.take().unwrap()).lines();
    let gateway = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some((_, url)) = line.split_once("gateway listening on ") {
                return url.trim().to_owned();
            }
        }
        panic!("split-up ended before the gateway was up");
    })
    .await
    .expect("split-up starts in time");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

    let page = reqwest::get(format!("{gateway}/api/products/SKU-00001"))
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let children = children_of(pid);
    assert_eq!(
        children.len(),
        8,
        "seven services and the gateway: {children:?}"
    );

    kill(Pid::from_raw(pid as i32), Signal::SIGINT).unwrap();
    let status = tokio::time::timeout(Duration::from_secs(60), launcher.wait())
        .await
        .expect("split-up stops in time")
        .unwrap();
    assert!(status.success(), "{status:?}");
    let left: Vec<u32> = children.into_iter().filter(|&pid| alive(pid)).collect();
    assert!(left.is_empty(), "processes left behind: {left:?}");
    assert!(
        reqwest::get(format!("{gateway}/health/live"))
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_while_starting_leaves_no_process() {
    let data = tempfile::tempdir().unwrap();
    // A big catalog keeps the first wave seeding long enough to be interrupted.
    let mut launcher = split_up(data.path(), &["--products", "100000"], Stdio::null());
    let pid = launcher.id().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let children = loop {
        let children = children_of(pid);
        if !children.is_empty() {
            break children;
        }
        assert!(std::time::Instant::now() < deadline, "no service started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    kill(Pid::from_raw(pid as i32), Signal::SIGTERM).unwrap();
    let status = tokio::time::timeout(Duration::from_secs(30), launcher.wait())
        .await
        .expect("split-up stops in time")
        .unwrap();
    assert!(status.success(), "{status:?}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let left: Vec<u32> = children.into_iter().filter(|&pid| alive(pid)).collect();
    assert!(left.is_empty(), "processes left behind: {left:?}");
}
