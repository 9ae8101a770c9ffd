//! One component as a service: its local implementation (the monolith's own code) on
//! its own database file, behind the internal routes, with stubs of the services it
//! calls, and the operational endpoints every process has.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use async_trait::async_trait;
use axum::Router;
use clap::Parser;
use shop_api::{Auditor, Metrics, Ops, Readiness, service_router};
use shop_components::{
    LocalCart, LocalCatalog, LocalInventory, LocalOrders, LocalPayments, LocalRecommendations,
    LocalUsers, OrdersDeps,
};
use shop_domain::{Component, Inventory, Orders, Payments, ShopError};
use shop_faults::{Edges, Fault, Faults};
use shop_remote::serve;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::remotes::Remotes;
use crate::topology::{DeploymentFlags, Directory};

/// A service process's flags (each with an environment override).
#[derive(Debug, Clone, Parser)]
#[command(version, about = "One shop component as a service")]
pub struct ServiceConfig {
    /// Address to listen on; port 0 picks a free port (printed at start).
    #[arg(long, env = "SHOP_LISTEN", default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,

    #[command(flatten)]
    pub deployment: DeploymentFlags,
}

/// `main` of the `split-COMPONENT` binaries: parse flags, bind, serve until SIGTERM/Ctrl-C.
pub fn main(component: Component) -> Result<()> {
    shop_config::init_tracing();
    let config = ServiceConfig::parse();
    tokio::runtime::Runtime::new()?.block_on(async {
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        run(
            component,
            listener,
            &config,
            shop_api::server::shutdown_signal(),
        )
        .await
    })
}

/// Serves `component` on `listener` until `shutdown` resolves, then drains.
pub async fn run(
    component: Component,
    listener: TcpListener,
    config: &ServiceConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let directory = Directory::read(&config.deployment.directory)?;
    let preset = directory.topology.preset;
    let metrics = Metrics::new("split", component.name(), preset.name());
    let hosted = Hosted::open(component, config, &directory, &metrics).await?;
    let ops = Ops {
        metrics,
        readiness: Readiness::default(),
        admin_token: config
            .deployment
            .shop
            .admin_token(&config.deployment.data)?
            .into(),
        faults: Arc::new(hosted.faults),
        auditor: Arc::new(hosted.auditor),
        release: config.deployment.shop.release.as_str().into(),
    };
    let readiness = ops.readiness.clone();
    let app = service_router(ops, hosted.routes);

    shop_api::server::serve(
        component.name(),
        listener,
        app,
        readiness,
        shutdown,
        shop_api::server::Drain {
            deregister: config.deployment.shop.deregister(),
            limit: config.deployment.shop.drain(),
        },
    )
    .await?;
    if let Some(task) = hosted.background {
        task.abort();
    }
    tracing::info!(%component, "stopped");
    Ok(())
}

/// A component opened for serving.
struct Hosted {
    routes: Router,
    /// The table its edge consults; `/admin/faults` edits it.
    faults: Faults,
    auditor: OwnAudit,
    /// Work it does besides answering (the orders settler).
    background: Option<JoinHandle<()>>,
}

impl Hosted {
    async fn open(
        component: Component,
        config: &ServiceConfig,
        directory: &Directory,
        metrics: &Arc<Metrics>,
    ) -> Result<Self> {
        std::fs::create_dir_all(&config.deployment.data)
            .with_context(|| format!("creating {}", config.deployment.data.display()))?;
        let db = config.deployment.data.join(format!("{component}.db"));
        let settings = &config.deployment.shop;
        let faults = Faults::default();
        if let Some(slowdown) = settings.test_slowdown.filter(|s| s.component == component) {
            let tax = Fault::Tax {
                share: slowdown.share,
            };
            faults.set(slowdown.component, tax)?;
        }
        let edges = Edges {
            faults: faults.clone(),
            observer: metrics.clone(),
        };
        let remotes = Remotes::new(directory, metrics.clone());
        let mut auditor = OwnAudit::Nothing;
        let mut background = None;
        let routes = match component {
            Component::Catalog => {
                let catalog = LocalCatalog::open(&db, &settings.seed())?;
                serve::catalog_routes(edges.catalog(Arc::new(catalog)))
            }
            Component::Inventory => {
                let inventory = LocalInventory::open(&db, &settings.seed())?
                    .with_stock_cache(settings.stock_cache());
                let inventory = edges.inventory(Arc::new(inventory));
                auditor = OwnAudit::Inventory(inventory.clone());
                serve::inventory_routes(inventory)
            }
            Component::Cart => {
                let cart = LocalCart::open(&db, remotes.catalog()?)?;
                serve::cart_routes(edges.cart(Arc::new(cart)))
            }
            Component::Payments => {
                let payments =
                    edges.payments(Arc::new(LocalPayments::open(&db, settings.payments())?));
                auditor = OwnAudit::Payments(payments.clone());
                serve::payments_routes(payments)
            }
            Component::Orders => {
                let local = Arc::new(
                    LocalOrders::open(
                        &db,
                        OrdersDeps {
                            cart: remotes.cart()?,
                            catalog: remotes.catalog()?,
                            inventory: remotes.inventory()?,
                            payments: remotes.payments()?,
                        },
                    )?
                    .with_refunds(settings.refunds()),
                );
                // Replicas share the orders file, so a pending order may be another live
                // replica's: only the stale ones are settled, at start-up as after.
                background = Some(tokio::spawn(
                    local
                        .clone()
                        .keep_settled(settings.settle_interval(), settings.stale_checkout()),
                ));
                let orders = edges.orders(local);
                auditor = OwnAudit::Orders(orders.clone());
                serve::orders_routes(orders)
            }
            Component::Recommendations => {
                let catalog = remotes.catalog()?;
                let recommendations =
                    LocalRecommendations::build(catalog.as_ref(), settings.recommendations())
                        .await?;
                serve::recommendations_routes(edges.recommendations(Arc::new(recommendations)))
            }
            Component::Users => {
                let token_key = settings.token_key(&config.deployment.data)?;
                let users = LocalUsers::open(&db, settings.users(token_key))?;
                serve::users_routes(edges.users(Arc::new(users)))
            }
        };
        Ok(Self {
            routes,
            faults,
            auditor,
            background,
        })
    }
}

/// What a service's `/admin/audit` reports: the totals of the data it owns, under its
/// component's name (the gateway's audit puts them together).
enum OwnAudit {
    Nothing,
    Inventory(Arc<dyn Inventory>),
    Payments(Arc<dyn Payments>),
    Orders(Arc<dyn Orders>),
}

#[async_trait]
impl Auditor for OwnAudit {
    async fn audit(&self) -> Result<serde_json::Value, ShopError> {
        match self {
            OwnAudit::Nothing => Ok(serde_json::json!({})),
            OwnAudit::Inventory(inventory) => under(Component::Inventory, inventory.audit().await?),
            OwnAudit::Payments(payments) => under(Component::Payments, payments.audit().await?),
            OwnAudit::Orders(orders) => under(Component::Orders, orders.audit().await?),
        }
    }
}

/// `{"COMPONENT": totals}`.
fn under(
    component: Component,
    totals: impl serde::Serialize,
) -> Result<serde_json::Value, ShopError> {
    let totals = serde_json::to_value(totals)
        .map_err(|e| ShopError::internal(format_args!("encoding the audit: {e}")))?;
    Ok(serde_json::json!({ component.name(): totals }))
}
