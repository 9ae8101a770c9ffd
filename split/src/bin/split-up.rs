//! Brings the whole split shop up on this machine, and down again on Ctrl-C or SIGTERM.
//!
//! ```sh
//! cargo run --release -p split --bin split-up -- --data ./data-split
//! cargo run --release -p split --bin split-up -- --data ./d --topology split.toml -- --products 2000
//! ```

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::Parser;
use split::{LaunchOptions, ProcessSetup, SplitDeployment, Topology};

/// Starts every service of the split shop, then its gateway.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Data directory: one database per service, the secrets, logs/, directory.json.
    #[arg(long, env = "SHOP_DATA")]
    data: PathBuf,

    /// Topology file (TOML): replicas, codecs, resilience preset. Default: one replica
    /// of each service, JSON over HTTP/1.1, preset "bare".
    #[arg(long)]
    topology: Option<PathBuf>,

    /// Where the gateway listens.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,

    /// The longest any process may take to start, in seconds.
    #[arg(long, default_value_t = 120)]
    start_timeout_secs: u64,

    /// The cores every process may run on, as `taskset --cpu-list` takes them (`0`, `0-1`).
    #[arg(long)]
    cpus: Option<String>,

    /// Longest wait for each process to drain when stopping, in seconds.
    #[arg(long, default_value_t = 10)]
    drain_secs: u64,

    /// Flags for every service and the gateway (`--products 2000`, ...), after `--`.
    #[arg(last = true)]
    shop_args: Vec<OsString>,
}

#[tokio::main]
async fn main() -> Result<()> {
    shop_config::init_tracing();
    let args = Args::parse();
    let topology = match &args.topology {
        Some(path) => Topology::read(path)?,
        None => Topology::default(),
    };
    // Listening from the start: a signal during the launch drops it, and with it (SIGKILL
    // on drop) every process it had started.
    let shutdown = shop_api::server::shutdown_signal();
    tokio::pin!(shutdown);
    let launch = SplitDeployment::launch(LaunchOptions {
        bins: LaunchOptions::bins_beside_current_exe()?,
        data: args.data.clone(),
        topology,
        gateway_listen: args.listen,
        shop_args: args.shop_args,
        start_deadline: Duration::from_secs(args.start_timeout_secs),
        setup: ProcessSetup {
            cpus: args.cpus,
            withhold_test_knobs: false,
        },
        proxied: Default::default(),
    });
    let deployment = tokio::select! {
        deployment = launch => deployment?,
        () = &mut shutdown => {
            println!("stopped while starting");
            return Ok(());
        }
    };
    for (component, replicas) in &deployment.directory.replicas {
        println!("{component:>16}: {}", replicas.join(" "));
    }
    println!(
        "split shop up: gateway listening on {}",
        deployment.gateway_url()
    );
    println!(
        "logs in {}; Ctrl-C stops everything",
        args.data.join("logs").display()
    );
    shop_api::server::shutdown_signal().await;
    deployment
        .stop(Duration::from_secs(args.drain_secs))
        .await?;
    println!("split shop stopped");
    Ok(())
}
