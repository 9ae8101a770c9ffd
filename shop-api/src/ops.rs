//! Operational endpoints every process serves: health, metrics, faults and audit.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::Serialize;
use shop_domain::{AuditReport, Component};
use shop_faults::Fault;

use crate::extract::{AdminAccess, JsonBody, Path};
use crate::{ApiError, Shared};

pub(crate) fn routes() -> Router<Shared> {
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

async fn live() -> Json<Status> {
    Json(Status { status: "live" })
}

async fn ready(State(app): State<Shared>) -> (StatusCode, Json<Status>) {
    if app.readiness.is_ready() {
        (StatusCode::OK, Json(Status { status: "ready" }))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Status { status: "draining" }),
        )
    }
}

async fn metrics(State(app): State<Shared>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        app.metrics.encode(),
    )
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(crate::openapi())
}

#[derive(Serialize)]
struct FaultTable {
    faults: BTreeMap<Component, Fault>,
}

async fn list_faults(_: AdminAccess, State(app): State<Shared>) -> Json<FaultTable> {
    Json(FaultTable {
        faults: app.faults.active(),
    })
}

async fn set_fault(
    _: AdminAccess,
    State(app): State<Shared>,
    Path(component): Path<String>,
    JsonBody(fault): JsonBody<Fault>,
) -> Result<Json<FaultTable>, ApiError> {
    app.faults.set(Component::parse(&component)?, fault)?;
    Ok(Json(FaultTable {
        faults: app.faults.active(),
    }))
}

async fn clear_fault(
    _: AdminAccess,
    State(app): State<Shared>,
    Path(component): Path<String>,
) -> Result<Json<FaultTable>, ApiError> {
    app.faults.clear(Component::parse(&component)?);
    Ok(Json(FaultTable {
        faults: app.faults.active(),
    }))
}

async fn clear_all_faults(_: AdminAccess, State(app): State<Shared>) -> Json<FaultTable> {
    app.faults.clear_all();
    Json(FaultTable {
        faults: app.faults.active(),
    })
}

#[derive(Serialize)]
struct AuditBody {
    #[serde(flatten)]
    report: AuditReport,
    /// Broken invariants in words; empty when the books balance.
    violations: Vec<String>,
}

async fn audit(_: AdminAccess, State(app): State<Shared>) -> Result<Json<AuditBody>, ApiError> {
    let report = app.shop.audit().await?;
    Ok(Json(AuditBody {
        violations: report.violations(),
        report,
    }))
}
