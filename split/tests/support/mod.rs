//! Starting the split shop as real processes for tests.

// Each test binary that includes this module uses a different part of it.
#![allow(dead_code)]

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use shop_contract::{Deployment, Target};
use split::{LaunchOptions, SplitDeployment, Topology};
use tempfile::TempDir;

pub use shop_contract::process::{TEST_ADMIN_TOKEN as ADMIN_TOKEN, TEST_PRODUCTS as PRODUCTS};

/// The gateway and every service on ports the OS picked, with their own data directory;
/// all of it goes away on drop.
#[derive(Debug)]
pub struct Split {
    pub deployment: SplitDeployment,
    pub target: Target,
    pub data: TempDir,
}

impl Deployment for Split {
    fn target(&self) -> &Target {
        &self.target
    }
}

pub async fn deploy() -> Split {
    deploy_with(Topology::default(), &[]).await
}

/// Deploys `topology`, giving every process `extra` flags besides the test defaults.
pub async fn deploy_with(topology: Topology, extra: &[&str]) -> Split {
    let data = shop_contract::process::scratch_dir();
    let mut shop_args: Vec<OsString> = shop_contract::process::test_shop_flags()
        .into_iter()
        .map(OsString::from)
        .collect();
    shop_args.extend(extra.iter().map(OsString::from));
    let bins = Path::new(env!("CARGO_BIN_EXE_split-gateway"))
        .parent()
        .expect("binaries live in a folder")
        .to_owned();
    let deployment = SplitDeployment::launch(LaunchOptions {
        bins,
        data: data.path().to_owned(),
        topology,
        gateway_listen: "127.0.0.1:0".parse().unwrap(),
        shop_args,
        start_deadline: Duration::from_secs(60),
        setup: Default::default(),
        proxied: Default::default(),
    })
    .await
    .unwrap_or_else(|e| panic!("launching the split shop: {e:#}"));
    let target = Target::new(
        deployment.gateway_url().to_owned(),
        ADMIN_TOKEN.to_owned(),
        PRODUCTS,
    );
    Split {
        deployment,
        target,
        data,
    }
}
