//! The monolith's typed configuration: flags, each with an environment override.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

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

    /// Seed of the generated catalog and stock; the same seed gives the same shop.
    #[arg(long, env = "SHOP_SEED", default_value_t = 42)]
    pub seed: u64,

    /// Number of products in the catalog.
    #[arg(long, env = "SHOP_PRODUCTS", default_value_t = 10_000)]
    pub products: usize,

    /// Length of each product embedding (the cost of a "for me" recommendation grows with it).
    #[arg(long, env = "SHOP_EMBEDDING_DIMS", default_value_t = 128)]
    pub embedding_dims: usize,

    /// How many times a "for me" request scores the whole catalog (CPU cost knob).
    #[arg(long, env = "SHOP_SCORING_ROUNDS", default_value_t = 1)]
    pub scoring_rounds: u32,

    /// Secret for signing session tokens. Default: read from (or created in) DATA/token.key.
    #[arg(long, env = "SHOP_TOKEN_KEY", hide_env_values = true)]
    pub token_key: Option<String>,

    /// How long a session token stays valid, in seconds.
    #[arg(long, env = "SHOP_TOKEN_TTL_SECS", default_value_t = 86_400)]
    pub token_ttl_secs: u64,

    /// Token required by /admin/ in X-Admin-Token. Default: read from (or created in) DATA/admin.token.
    #[arg(long, env = "SHOP_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,

    /// PBKDF2 iterations per password hash. Low by default: every load-test user logs in at start.
    #[arg(long, env = "SHOP_PASSWORD_ITERATIONS", default_value_t = 4096)]
    pub password_iterations: u32,

    /// Simulated latency of the external payment processor, in milliseconds.
    #[arg(long, env = "SHOP_PAYMENTS_LATENCY_MS", default_value_t = 0)]
    pub payments_latency_ms: u64,

    /// Extra random payment latency, uniform from 0 to this, in milliseconds.
    #[arg(long, env = "SHOP_PAYMENTS_JITTER_MS", default_value_t = 0)]
    pub payments_jitter_ms: u64,

    /// Share of charges the processor declines at random (0 to 1).
    #[arg(long, env = "SHOP_PAYMENTS_DECLINE_RATE", default_value_t = 0.0)]
    pub payments_decline_rate: f64,

    /// How long a product page may show stock from memory, in milliseconds (0: always read
    /// the table). This process's own writes show at once whatever the value.
    #[arg(long, env = "SHOP_STOCK_CACHE_MS", default_value_t = 250)]
    pub stock_cache_ms: u64,

    /// Longest wait for in-flight requests at shutdown, in seconds.
    #[arg(long, env = "SHOP_DRAIN_SECS", default_value_t = 10)]
    pub drain_secs: u64,

    /// How often unfinished checkouts are settled (stock commits, compensations), in seconds.
    #[arg(long, env = "SHOP_SETTLE_INTERVAL_SECS", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub settle_interval_secs: u64,

    /// Age in seconds after which a pending checkout is taken for dead and compensated.
    /// Must exceed the longest a checkout can take, faults included; at start-up every
    /// pending checkout is compensated whatever its age.
    #[arg(long, env = "SHOP_STALE_CHECKOUT_SECS", default_value_t = 120,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub stale_checkout_secs: u64,
}

impl Config {
    pub fn drain(&self) -> Duration {
        Duration::from_secs(self.drain_secs)
    }

    pub fn stale_checkout(&self) -> Duration {
        Duration::from_secs(self.stale_checkout_secs)
    }

    pub fn database(&self) -> PathBuf {
        self.data.join("shop.db")
    }
}
