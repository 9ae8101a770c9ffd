//! Starting the monolith as a real process for tests.

// Each test binary that includes this module uses a different part of it.
#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use shop_contract::{Deployment, ServerProcess, Target};
use tempfile::TempDir;

pub use shop_contract::process::{TEST_ADMIN_TOKEN as ADMIN_TOKEN, TEST_PRODUCTS as PRODUCTS};

/// A monolith on port 0 with its own data directory; both go away on drop.
#[derive(Debug)]
pub struct Monolith {
    pub process: ServerProcess,
    pub target: Target,
    pub data: TempDir,
}

impl Deployment for Monolith {
    fn target(&self) -> &Target {
        &self.target
    }
}

pub async fn deploy() -> Monolith {
    let data = shop_contract::process::scratch_dir();
    let process = start(data.path()).await;
    let target = Target::new(process.base_url.clone(), ADMIN_TOKEN.to_owned(), PRODUCTS);
    Monolith {
        process,
        target,
        data,
    }
}

/// Starts a monolith on `data` (which may hold an earlier run's database).
pub async fn start(data: &Path) -> ServerProcess {
    let mut args: Vec<String> = ["--listen", "127.0.0.1:0", "--data"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.push(data.to_str().expect("utf-8 temp path").to_owned());
    args.extend(shop_contract::process::test_shop_flags());
    let log = data.join(format!("monolith-{}.log", std::process::id()));
    ServerProcess::start(
        Path::new(env!("CARGO_BIN_EXE_monolith")),
        &args,
        &log,
        Duration::from_secs(60),
    )
    .await
}
