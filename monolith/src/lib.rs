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

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use shop_api::{AppState, Metrics, Ops, Readiness, ShopAuditor};
use shop_components::{
    LocalCart, LocalCatalog, LocalInventory, LocalOrders, LocalPayments, LocalRecommendations,
    LocalUsers, OrdersDeps,
};
use shop_domain::Shop;
use shop_faults::{Edges, Fault, Faults};
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
    let settings = &config.shop;
    let seed = settings.seed();
    let token_key = settings.token_key(&config.data)?;
    let admin_token = settings.admin_token(&config.data)?;

    let faults = Faults::default();
    if let Some(slowdown) = settings.test_slowdown {
        let tax = Fault::Tax {
            share: slowdown.share,
        };
        faults.set(slowdown.component, tax)?;
    }
    let metrics = Metrics::new("monolith", "monolith", "none");
    let edges = Edges {
        faults: faults.clone(),
        observer: metrics.clone(),
    };

    let catalog = edges.catalog(Arc::new(LocalCatalog::open(&db, &seed)?));
    let inventory = edges.inventory(Arc::new(
        LocalInventory::open(&db, &seed)?.with_stock_cache(settings.stock_cache()),
    ));
    let cart = edges.cart(Arc::new(LocalCart::open(&db, catalog.clone())?));
    let payments = edges.payments(Arc::new(LocalPayments::open(&db, settings.payments())?));
    let local_orders = Arc::new(
        LocalOrders::open(
            &db,
            OrdersDeps {
                cart: cart.clone(),
                catalog: catalog.clone(),
                inventory: inventory.clone(),
                payments: payments.clone(),
            },
        )?
        .with_refunds(settings.refunds()),
    );
    let orders = edges.orders(local_orders.clone());
    let recommendations = edges.recommendations(Arc::new(
        LocalRecommendations::build(catalog.as_ref(), settings.recommendations()).await?,
    ));
    let users = edges.users(Arc::new(LocalUsers::open(
        &db,
        settings.users(token_key.clone()),
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
        release: settings.release.as_str().into(),
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
    let stale_after = if config.shared_data {
        config.shop.stale_checkout()
    } else {
        Duration::ZERO
    };
    let recovered = wired.orders.settle(stale_after).await?;
    tracing::info!(
        ?recovered,
        "settled checkouts left unfinished by the last run"
    );
    let settler = tokio::spawn(
        wired
            .orders
            .clone()
            .keep_settled(config.shop.settle_interval(), config.shop.stale_checkout()),
    );

    let readiness = wired.state.ops.readiness.clone();
    let app = shop_api::router(wired.state);
    shop_api::server::serve(
        "monolith",
        listener,
        app,
        readiness,
        shutdown,
        shop_api::server::Drain {
            deregister: config.shop.deregister(),
            limit: config.shop.drain(),
        },
    )
    .await?;
    settler.abort();
    tracing::info!("stopped");
    Ok(())
}
