//! The shop as one process.
//!
//! # Layout
//!
//! - [`config`]: [`Config`], the typed flags (each with an environment override).
//! - [`wire`]: opens every local component on the one database file, wraps each in its
//!   fault-injecting [`Edge`](shop_faults::Edge), and hands the wrapped ones to the
//!   components that call them, so an in-process call crosses the same edge a remote
//!   call would.
//! - [`run`]: serves the public API until shutdown, settling unfinished checkouts in
//!   the background. `main` only parses flags, binds and calls it.

pub mod config;

use std::future::Future;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use shop_api::{AppState, Metrics, Ops, Readiness, ShopAuditor};
use shop_components::{
    LocalCart, LocalCatalog, LocalInventory, LocalOrders, LocalPayments, LocalRecommendations,
    LocalUsers, OrdersDeps, PaymentsConfig, RecommendationsConfig, UsersConfig,
};
use shop_domain::{SeedConfig, Shop, TokenKey};
use shop_faults::{Edges, Faults};
use tokio::net::TcpListener;

pub use config::Config;

/// The wired shop and what `run` needs besides the router.
#[derive(Debug)]
pub struct Wired {
    pub state: AppState,
    /// The concrete orders component, for the settler (the trait has no settle).
    pub orders: Arc<LocalOrders>,
}

/// Opens every component on `config.database()` and wires them together in-process.
pub async fn wire(config: &Config) -> Result<Wired> {
    std::fs::create_dir_all(&config.data)
        .with_context(|| format!("creating {}", config.data.display()))?;
    let db = config.database();
    let seed = SeedConfig {
        seed: config.seed,
        products: config.products,
        embedding_dims: config.embedding_dims,
    };
    let token_key =
        TokenKey::new(secret(&config.data, "token.key", config.token_key.as_deref())?.as_bytes())?;
    let admin_token = secret(&config.data, "admin.token", config.admin_token.as_deref())?;

    let faults = Faults::default();
    let metrics = Metrics::new("monolith", "monolith");
    let edges = Edges {
        faults: faults.clone(),
        observer: metrics.clone(),
    };

    let catalog = edges.catalog(Arc::new(LocalCatalog::open(&db, &seed)?));
    let inventory = edges.inventory(Arc::new(
        LocalInventory::open(&db, &seed)?
            .with_stock_cache(Duration::from_millis(config.stock_cache_ms)),
    ));
    let cart = edges.cart(Arc::new(LocalCart::open(&db, catalog.clone())?));
    let payments = edges.payments(Arc::new(LocalPayments::open(
        &db,
        PaymentsConfig {
            latency: Duration::from_millis(config.payments_latency_ms),
            latency_jitter: Duration::from_millis(config.payments_jitter_ms),
            decline_rate: config.payments_decline_rate,
        },
    )?));
    let local_orders = Arc::new(LocalOrders::open(
        &db,
        OrdersDeps {
            cart: cart.clone(),
            catalog: catalog.clone(),
            inventory: inventory.clone(),
            payments: payments.clone(),
        },
    )?);
    let orders = edges.orders(local_orders.clone());
    let recommendations = edges.recommendations(Arc::new(
        LocalRecommendations::build(
            catalog.as_ref(),
            RecommendationsConfig {
                scoring_rounds: config.scoring_rounds,
                ..RecommendationsConfig::default()
            },
        )
        .await?,
    ));
    let users = edges.users(Arc::new(LocalUsers::open(
        &db,
        UsersConfig {
            token_key: token_key.clone(),
            token_ttl: Duration::from_secs(config.token_ttl_secs),
            password_iterations: config.password_iterations,
        },
    )?));

    let shop = Shop {
        catalog,
        inventory,
        cart,
        payments,
        orders,
        recommendations,
        users,
    };
    let ops = Ops {
        metrics,
        readiness: Readiness::default(),
        admin_token: admin_token.into(),
        faults: Arc::new(faults),
        auditor: Arc::new(ShopAuditor(shop.clone())),
    };
    let state = AppState {
        shop,
        tokens: token_key,
        ops,
    };
    Ok(Wired {
        state,
        orders: local_orders,
    })
}

/// Serves the shop on `listener` until `shutdown` resolves, then drains.
pub async fn run(
    listener: TcpListener,
    config: &Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let wired = wire(config).await?;
    let recovered = wired.orders.settle(Duration::ZERO).await?;
    tracing::info!(
        ?recovered,
        "settled checkouts left unfinished by the last run"
    );
    let settler = tokio::spawn(settle_periodically(
        wired.orders.clone(),
        Duration::from_secs(config.settle_interval_secs),
        config.stale_checkout(),
    ));

    let readiness = wired.state.ops.readiness.clone();
    let app = shop_api::router(wired.state);
    let address = listener.local_addr()?;
    println!("monolith listening on http://{address}");
    // Tests and launchers read that line to learn the port; do not leave it in a buffer.
    std::io::stdout().flush()?;
    shop_api::server::serve(listener, app, readiness, shutdown, config.drain()).await?;
    settler.abort();
    tracing::info!("stopped");
    Ok(())
}

/// Settles unfinished checkouts every `every`, compensating those pending longer than
/// `stale_after`.
async fn settle_periodically(orders: Arc<LocalOrders>, every: Duration, stale_after: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(e) = orders.settle(stale_after).await {
            tracing::warn!(%e, "settling checkouts failed; will retry");
        }
    }
}

/// A secret given in the configuration, or else the one kept in `dir/name` (created
/// with 32 random bytes, readable by the owner only, on first start).
fn secret(dir: &Path, name: &str, given: Option<&str>) -> Result<String> {
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
