//! The settings every shop process shares: the seed of the catalog, the secrets, and the
//! knobs of the components, as flags with environment overrides (`SHOP_*`). The monolith
//! and every split service flatten [`ShopSettings`] into their own flags, so one name
//! means one thing everywhere.
//!
//! # Layout
//!
//! - [`ShopSettings`]: the flags, and the component configurations built from them.
//! - [`secret`]: a secret from the flags, or else kept in a file of the data directory.
//! - [`init_tracing`]: logs to stderr, filtered by `RUST_LOG` (default `info`).

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use shop_components::{PaymentsConfig, RecommendationsConfig, Refunds, UsersConfig};
use shop_domain::{Component, SeedConfig, TokenKey};

/// What every shop process may be told about the shop.
#[derive(Debug, Clone, Args)]
pub struct ShopSettings {
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

    /// This process's release, as `/health/live` reports it: a rolling deploy starts
    /// the new release's processes with another label, and can tell them apart.
    #[arg(long, env = "SHOP_RELEASE", default_value = "1")]
    pub release: String,

    /// At shutdown, how long to go on serving while `/health/ready` says draining, so
    /// that balancers take this process out of their rotation before it stops
    /// accepting connections, in milliseconds (a rolling deploy's drain).
    #[arg(long, env = "SHOP_DEREGISTER_MS", default_value_t = 0)]
    pub deregister_ms: u64,

    /// Longest wait for in-flight requests at shutdown, in seconds.
    #[arg(long, env = "SHOP_DRAIN_SECS", default_value_t = 10)]
    pub drain_secs: u64,

    /// How often unfinished checkouts are settled (stock commits, compensations), in seconds.
    #[arg(long, env = "SHOP_SETTLE_INTERVAL_SECS", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub settle_interval_secs: u64,

    /// Age in seconds after which a pending checkout is taken for dead and compensated.
    /// Must exceed the longest a checkout can take, faults included. The monolith, alone
    /// on its database, also compensates every pending checkout at start-up whatever its
    /// age; a split orders replica does not (another replica may own it).
    #[arg(long, env = "SHOP_STALE_CHECKOUT_SECS", default_value_t = 120,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub stale_checkout_secs: u64,

    /// TEST ONLY, breaks the books: a failed checkout that may have been charged is not
    /// refunded. It exists to show that the audit and `loadgen check` catch a broken
    /// invariant; off by default, never for a real shop.
    #[arg(long, env = "SHOP_TEST_SKIP_REFUNDS", hide = true,
          value_parser = clap::builder::BoolishValueParser::new())]
    pub test_skip_refunds: bool,

    /// TEST ONLY: one component slower from the start, as COMPONENT=SHARE
    /// (`catalog=0.1`: every catalog call 10% slower, in CPU as in time), where that
    /// component runs. It exists to show that `loadgen check` catches a slowdown and
    /// names the component; off by default.
    #[arg(long, env = "SHOP_TEST_SLOWDOWN", hide = true, value_parser = parse_slowdown)]
    pub test_slowdown: Option<Slowdown>,
}

/// A component made slower on purpose (`--test-slowdown`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slowdown {
    pub component: Component,
    /// How much slower: 0.1 is 10% (above 0, at most 10).
    pub share: f64,
}

fn parse_slowdown(raw: &str) -> Result<Slowdown, String> {
    let (component, share) = raw
        .split_once('=')
        .ok_or_else(|| format!("`{raw}` is not COMPONENT=SHARE (e.g. catalog=0.1)"))?;
    let component = Component::parse(component.trim()).map_err(|e| e.to_string())?;
    let share: f64 = share
        .trim()
        .parse()
        .map_err(|_| format!("`{share}` is not a share (e.g. 0.1 for 10%)"))?;
    if !(share > 0.0 && share <= 10.0) {
        return Err(format!(
            "the share must be above 0 and at most 10, not {share}"
        ));
    }
    Ok(Slowdown { component, share })
}

impl ShopSettings {
    pub fn seed(&self) -> SeedConfig {
        SeedConfig {
            seed: self.seed,
            products: self.products,
            embedding_dims: self.embedding_dims,
        }
    }

    pub fn drain(&self) -> Duration {
        Duration::from_secs(self.drain_secs)
    }

    pub fn deregister(&self) -> Duration {
        Duration::from_millis(self.deregister_ms)
    }

    pub fn stale_checkout(&self) -> Duration {
        Duration::from_secs(self.stale_checkout_secs)
    }

    /// Whether checkouts refund what they may have charged ([`Self::test_skip_refunds`]).
    pub fn refunds(&self) -> Refunds {
        if self.test_skip_refunds {
            Refunds::Skipped
        } else {
            Refunds::Made
        }
    }

    pub fn settle_interval(&self) -> Duration {
        Duration::from_secs(self.settle_interval_secs)
    }

    pub fn stock_cache(&self) -> Duration {
        Duration::from_millis(self.stock_cache_ms)
    }

    /// The token key from `--token-key`, or else the one kept in `data/token.key`.
    pub fn token_key(&self, data: &Path) -> Result<TokenKey> {
        let raw = secret(data, "token.key", self.token_key.as_deref())?;
        Ok(TokenKey::new(raw.as_bytes())?)
    }

    /// The admin token from `--admin-token`, or else the one kept in `data/admin.token`.
    pub fn admin_token(&self, data: &Path) -> Result<String> {
        secret(data, "admin.token", self.admin_token.as_deref())
    }

    pub fn payments(&self) -> PaymentsConfig {
        PaymentsConfig {
            latency: Duration::from_millis(self.payments_latency_ms),
            latency_jitter: Duration::from_millis(self.payments_jitter_ms),
            decline_rate: self.payments_decline_rate,
        }
    }

    pub fn recommendations(&self) -> RecommendationsConfig {
        RecommendationsConfig {
            scoring_rounds: self.scoring_rounds,
            ..RecommendationsConfig::default()
        }
    }

    pub fn users(&self, token_key: TokenKey) -> UsersConfig {
        UsersConfig {
            token_key,
            token_ttl: Duration::from_secs(self.token_ttl_secs),
            password_iterations: self.password_iterations,
        }
    }
}

/// Logs to stderr (stdout carries the "listening on" line launchers read), filtered by
/// `RUST_LOG`, `info` by default.
pub fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
}

/// A secret given in the configuration, or else the one kept in `dir/name` (created
/// with 32 random bytes, readable by the owner only, on first start).
pub fn secret(dir: &Path, name: &str, given: Option<&str>) -> Result<String> {
    if let Some(given) = given {
        return Ok(given.to_owned());
    }
    let path = dir.join(name);
    match std::fs::read_to_string(&path) {
        Ok(existing) => return Ok(existing.trim().to_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    }
    use std::os::unix::fs::OpenOptionsExt;
    let value: String = (0..32)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(value.as_bytes())?;
    file.sync_all()?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_created_once_then_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = secret(dir.path(), "admin.token", None).unwrap();
        assert_eq!(first.len(), 64);
        assert_eq!(secret(dir.path(), "admin.token", None).unwrap(), first);
        assert_eq!(
            secret(dir.path(), "admin.token", Some("given")).unwrap(),
            "given"
        );
    }
}
