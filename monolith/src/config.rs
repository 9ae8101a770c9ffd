//! The monolith's typed configuration: flags, each with an environment override.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use shop_config::ShopSettings;

/// The shop as one process: every component in-process, one SQLite database.
#[derive(Debug, Clone, Parser)]
#[command(name = "monolith", version, about)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port (printed at start).
    #[arg(long, env = "SHOP_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Directory for the database and the generated secrets (created if missing).
    #[arg(long, env = "SHOP_DATA")]
    pub data: PathBuf,

    /// Other live monolith processes use the same data folder (replicas behind a
    /// balancer): at start, settle only the stale unfinished checkouts, since a fresh
    /// one may be a live replica's. Alone, every unfinished checkout is settled at start.
    #[arg(long, env = "SHOP_SHARED_DATA")]
    pub shared_data: bool,

    /// What every shop process shares: seed, secrets, component knobs.
    #[command(flatten)]
    pub shop: ShopSettings,
}

impl Config {
    pub fn database(&self) -> PathBuf {
        self.data.join("shop.db")
    }
}
