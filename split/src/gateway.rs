//! The gateway: the public API (the very router the monolith serves), over stubs of
//! every service. Its `/admin/faults` forwards to the services hosting each component,
//! and its `/admin/audit` puts the services' books together.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use async_trait::async_trait;
use clap::Parser;
use reqwest::Method;
use serde::Deserialize;
use shop_api::{AppState, FaultControl, Metrics, Ops, Readiness, ShopAuditor};
use shop_domain::{Component, ShopError};
use shop_faults::Fault;
use tokio::net::TcpListener;

use crate::remotes::Remotes;
use crate::topology::{DeploymentFlags, Directory};

/// The gateway's flags (each with an environment override).
#[derive(Debug, Clone, Parser)]
#[command(
    version,
    about = "The shop's public API, served by calling its services"
)]
pub struct GatewayConfig {
    /// Address to listen on; port 0 picks a free port (printed at start).
    #[arg(long, env = "SHOP_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    #[command(flatten)]
    pub deployment: DeploymentFlags,
}

/// `main` of `split-gateway`.
pub fn main() -> Result<()> {
    shop_config::init_tracing();
    let config = GatewayConfig::parse();
    tokio::runtime::Runtime::new()?.block_on(async {
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        run(listener, &config, shop_api::server::shutdown_signal()).await
    })
}

/// Serves the public API on `listener` until `shutdown` resolves, then drains.
pub async fn run(
    listener: TcpListener,
    config: &GatewayConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let directory = Directory::read(&config.deployment.directory)?;
    let metrics = Metrics::new("split", "gateway", directory.topology.preset.name());
    let shop = Remotes::new(&directory, metrics.clone()).shop()?;
    let admin_token = config
        .deployment
        .shop
        .admin_token(&config.deployment.data)?;
    let ops = Ops {
        metrics,
        readiness: Readiness::default(),
        faults: Arc::new(ForwardedFaults::new(&directory, &admin_token)),
        admin_token: admin_token.into(),
        auditor: Arc::new(ShopAuditor(shop.clone())),
        release: config.deployment.shop.release.as_str().into(),
    };
    let readiness = ops.readiness.clone();
    let state = AppState {
        shop,
        tokens: config.deployment.shop.token_key(&config.deployment.data)?,
        ops,
    };
    let app = shop_api::router(state);
    shop_api::server::serve(
        "gateway",
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
    tracing::info!("stopped");
    Ok(())
}

/// Fault control for components hosted elsewhere: each change goes to every replica
/// of the component's service, through its own `/admin/faults`.
struct ForwardedFaults {
    replicas: BTreeMap<Component, Vec<String>>,
    admin_token: String,
    client: reqwest::Client,
}

#[derive(Deserialize)]
struct FaultTable {
    faults: BTreeMap<Component, Fault>,
}

impl ForwardedFaults {
    fn new(directory: &Directory, admin_token: &str) -> Self {
        Self {
            replicas: directory.replicas.clone(),
            admin_token: admin_token.to_owned(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap_or_default(),
        }
    }

    /// Sends one admin request to every replica of `component`'s service at once. Every
    /// replica gets it, whichever fail; the answers of those that answered come back with
    /// the first failure, if any.
    async fn to_replicas(
        &self,
        component: Component,
        method: Method,
        path: &str,
        fault: Option<&Fault>,
    ) -> (Vec<FaultTable>, Option<ShopError>) {
        let replicas = self.replicas.get(&component).into_iter().flatten();
        let sends = replicas.map(|base| {
            let mut request = self
                .client
                .request(method.clone(), format!("{base}{path}"))
                .header("x-admin-token", &self.admin_token);
            if let Some(fault) = fault {
                request = request.json(fault);
            }
            async move {
                let unavailable = |why: String| ShopError::unavailable(component, why);
                let response = request
                    .send()
                    .await
                    .map_err(|e| unavailable(format!("admin call to {base}: {e}")))?;
                if !response.status().is_success() {
                    return Err(unavailable(format!(
                        "{base}{path} answered {}",
                        response.status()
                    )));
                }
                response
                    .json::<FaultTable>()
                    .await
                    .map_err(|e| unavailable(format!("admin answer from {base}: {e}")))
            }
        });
        let mut tables = Vec::new();
        let mut failure = None;
        for answer in futures::future::join_all(sends).await {
            match answer {
                Ok(table) => tables.push(table),
                Err(error) => {
                    tracing::warn!(%error, "forwarding a fault change failed");
                    failure.get_or_insert(error);
                }
            }
        }
        (tables, failure)
    }
}

#[async_trait]
impl FaultControl for ForwardedFaults {
    /// The faults the reachable replicas report: a replica that is down has none to show.
    async fn active(&self) -> Result<BTreeMap<Component, Fault>, ShopError> {
        let asks = Component::ALL
            .map(|component| self.to_replicas(component, Method::GET, "/admin/faults", None));
        let mut active = BTreeMap::new();
        for (component, (tables, _)) in Component::ALL
            .into_iter()
            .zip(futures::future::join_all(asks).await)
        {
            // A service reports the faults of the component it hosts.
            if let Some(fault) = tables.iter().find_map(|table| table.faults.get(&component)) {
                active.insert(component, fault.clone());
            }
        }
        Ok(active)
    }

    async fn set(&self, component: Component, fault: Fault) -> Result<(), ShopError> {
        let path = format!("/admin/faults/{component}");
        match self
            .to_replicas(component, Method::PUT, &path, Some(&fault))
            .await
        {
            (_, Some(failure)) => Err(failure),
            (_, None) => Ok(()),
        }
    }

    /// Clears everywhere it can, and says so if some replica could not be reached.
    async fn clear(&self, component: Option<Component>) -> Result<(), ShopError> {
        let components = match component {
            Some(component) => vec![component],
            None => Component::ALL.to_vec(),
        };
        let clears = components.iter().map(|component| async move {
            let path = format!("/admin/faults/{component}");
            self.to_replicas(*component, Method::DELETE, &path, None)
                .await
                .1
        });
        match futures::future::join_all(clears)
            .await
            .into_iter()
            .flatten()
            .next()
        {
            Some(failure) => Err(failure),
            None => Ok(()),
        }
    }
}
