//! Operational endpoints every process serves: health, metrics, faults and audit.
//!
//! What differs between processes sits behind two traits in [`Ops`]: [`FaultControl`]
//! (the monolith and a service edit their own fault table; the split gateway forwards to
//! the services) and [`Auditor`] (the whole shop's books, or one service's own data).

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::Serialize;
use shop_domain::{AuditReport, Component, Shop, ShopError};
use shop_faults::{Fault, Faults};

use crate::extract::{AdminAccess, JsonBody, Path};
use crate::{ApiError, Metrics, Readiness};

/// What the operational endpoints need; every process has one.
#[derive(Clone)]
pub struct Ops {
    pub metrics: Arc<Metrics>,
    /// Says whether `/health/ready` is ready or draining.
    pub readiness: Readiness,
    /// The secret `/admin/` requires in `X-Admin-Token`.
    pub admin_token: Arc<str>,
    /// Edits the faults of the components this process answers for.
    pub faults: Arc<dyn FaultControl>,
    /// Reports the totals of the data this process answers for.
    pub auditor: Arc<dyn Auditor>,
    /// The release label `/health/live` reports.
    pub release: Arc<str>,
}

impl std::fmt::Debug for Ops {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ops")
            .field("readiness", &self.readiness)
            .finish_non_exhaustive()
    }
}

/// The fault table behind `/admin/faults`, wherever it lives.
#[async_trait]
pub trait FaultControl: Send + Sync {
    async fn active(&self) -> Result<BTreeMap<Component, Fault>, ShopError>;
    /// Refuses a fault that [`Fault::validate`] refuses.
    async fn set(&self, component: Component, fault: Fault) -> Result<(), ShopError>;
    /// Clears one component's fault, or every fault when `None`.
    async fn clear(&self, component: Option<Component>) -> Result<(), ShopError>;
}

/// This process's own fault table: the edges of its components consult it.
#[async_trait]
impl FaultControl for Faults {
    async fn active(&self) -> Result<BTreeMap<Component, Fault>, ShopError> {
        Ok(Faults::active(self))
    }

    async fn set(&self, component: Component, fault: Fault) -> Result<(), ShopError> {
        Faults::set(self, component, fault)
    }

    async fn clear(&self, component: Option<Component>) -> Result<(), ShopError> {
        match component {
            Some(component) => {
                Faults::clear(self, component);
            }
            None => self.clear_all(),
        }
        Ok(())
    }
}

/// The totals behind `/admin/audit`, as a JSON object.
#[async_trait]
pub trait Auditor: Send + Sync {
    async fn audit(&self) -> Result<serde_json::Value, ShopError>;
}

/// The whole shop's books and their broken invariants: what the monolith and the split
/// gateway report (the gateway's components answer over the network).
#[derive(Debug, Clone)]
pub struct ShopAuditor(pub Shop);

#[derive(Serialize)]
struct AuditBody {
    #[serde(flatten)]
    report: AuditReport,
    /// Broken invariants in words; empty when the books balance.
    violations: Vec<String>,
}

#[async_trait]
impl Auditor for ShopAuditor {
    async fn audit(&self) -> Result<serde_json::Value, ShopError> {
        let report = self.0.audit().await?;
        let body = AuditBody {
            violations: report.violations(),
            report,
        };
        serde_json::to_value(body)
            .map_err(|e| ShopError::internal(format_args!("encoding the audit: {e}")))
    }
}

type SharedOps = Arc<Ops>;

pub(crate) fn routes() -> Router<SharedOps> {
    Router::new()
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .route("/admin/faults", get(list_faults).delete(clear_all_faults))
        .route(
            "/admin/faults/{component}",
            put(set_fault).delete(clear_fault),
        )
        .route("/admin/audit", get(audit))
}

#[derive(Serialize)]
struct Status {
    status: &'static str,
}

#[derive(Serialize)]
struct Live<'a> {
    status: &'static str,
    release: &'a str,
}

async fn live(State(ops): State<SharedOps>) -> axum::response::Response {
    Json(Live {
        status: "live",
        release: &ops.release,
    })
    .into_response()
}

async fn ready(State(ops): State<SharedOps>) -> (StatusCode, Json<Status>) {
    if ops.readiness.is_ready() {
        (StatusCode::OK, Json(Status { status: "ready" }))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Status { status: "draining" }),
        )
    }
}

async fn metrics(State(ops): State<SharedOps>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        ops.metrics.encode(),
    )
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(crate::openapi())
}

#[derive(Serialize)]
struct FaultTable {
    faults: BTreeMap<Component, Fault>,
}

async fn list_faults(
    _: AdminAccess,
    State(ops): State<SharedOps>,
) -> Result<Json<FaultTable>, ApiError> {
    fault_table(&ops).await
}

async fn set_fault(
    _: AdminAccess,
    State(ops): State<SharedOps>,
    Path(component): Path<String>,
    JsonBody(fault): JsonBody<Fault>,
) -> Result<Json<FaultTable>, ApiError> {
    fault.validate()?;
    ops.faults.set(Component::parse(&component)?, fault).await?;
    fault_table(&ops).await
}

async fn clear_fault(
    _: AdminAccess,
    State(ops): State<SharedOps>,
    Path(component): Path<String>,
) -> Result<Json<FaultTable>, ApiError> {
    let component = Component::parse(&component)?;
    ops.faults.clear(Some(component)).await?;
    fault_table(&ops).await
}

async fn clear_all_faults(
    _: AdminAccess,
    State(ops): State<SharedOps>,
) -> Result<Json<FaultTable>, ApiError> {
    ops.faults.clear(None).await?;
    fault_table(&ops).await
}

async fn fault_table(ops: &Ops) -> Result<Json<FaultTable>, ApiError> {
    Ok(Json(FaultTable {
        faults: ops.faults.active().await?,
    }))
}

async fn audit(
    _: AdminAccess,
    State(ops): State<SharedOps>,
) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(ops.auditor.audit().await?))
}
