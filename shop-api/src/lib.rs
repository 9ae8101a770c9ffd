//! The shop's public HTTP API and the operational endpoints every process serves.
//!
//! # Layout
//!
//! - [`router`] builds the whole [`axum::Router`] from an [`AppState`]; tests drive it
//!   with `oneshot`, binaries serve it with [`server::serve`].
//! - `public`: the public API's handlers (register, login, products, search, cart,
//!   checkout, orders, recommendations) and its OpenAPI description ([`openapi`]).
//! - [`ops`]: `/health/live`, `/health/ready`, `/metrics`, `/openapi.json`, and
//!   `/admin/faults` and `/admin/audit` (loopback and admin token only), with [`Ops`],
//!   what they need; [`service_router`] serves them beside a service's own routes.
//! - [`dto`]: request and response bodies: the wire contract.
//! - [`error`]: [`ApiError`], the one place where errors become statuses.
//! - [`extract`]: extractors for bodies, queries, paths, the bearer token, admin access.
//! - [`metrics`]: Prometheus metrics per route and per component call.
//! - [`server`]: graceful, bounded shutdown and readiness.
//!
//! # Invariant
//!
//! Handlers see only [`shop_domain::Shop`]: the same router serves the monolith (local
//! components) and the split gateway (remote stubs of the same traits).

pub mod dto;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod ops;
mod public;
pub mod server;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use shop_domain::{Shop, TokenKey};
use tower_http::catch_panic::CatchPanicLayer;
use utoipa::OpenApi;

pub use error::ApiError;
pub use metrics::Metrics;
pub use ops::{Auditor, FaultControl, Ops, ShopAuditor};
pub use server::Readiness;

/// The largest request body accepted; every legitimate body is far smaller.
pub const BODY_LIMIT_BYTES: usize = 16 * 1024;

/// What every public handler can reach, and the operational endpoints' needs.
#[derive(Clone, Debug)]
pub struct AppState {
    pub shop: Shop,
    /// Verifies bearer tokens locally, without calling users.
    pub tokens: TokenKey,
    pub ops: Ops,
}

/// The state as handlers hold it: shared, so that each request clones one pointer.
pub(crate) type Shared = Arc<AppState>;

/// The whole HTTP surface of a process serving the public API: the monolith, the gateway.
pub fn router(state: AppState) -> Router {
    let ops = state.ops.clone();
    service_router(ops, public::routes().with_state(Arc::new(state)))
}

/// `routes` plus the operational endpoints, with the layers every process has: metrics
/// per route, the body limit, panics as 500s, and JSON errors for unknown routes.
pub fn service_router(ops: Ops, routes: Router) -> Router {
    let metrics = ops.metrics.clone();
    routes
        .merge(ops::routes().with_state(Arc::new(ops)))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "method not allowed on this route",
            )
        })
        // Outermost last: metrics see every answer, the 500 of a panic included.
        .layer(CatchPanicLayer::custom(|_| panic_response()))
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            metrics::track,
        ))
}

fn panic_response() -> Response {
    tracing::error!("a handler panicked");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "internal error",
    )
    .into_response()
}

/// The OpenAPI document of the public API, generated from the handlers.
pub fn openapi() -> utoipa::openapi::OpenApi {
    public::ApiDoc::openapi()
}
