//! Handler-level tests through `Router::oneshot`: no socket, the real wiring.

use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{Request, StatusCode};
use clap::Parser;
use http_body_util::BodyExt;
use monolith::{Config, wire};
use serde_json::Value;
use shop_domain::{
    Catalog, Category, ItemEmbedding, Page, Product, ProductList, ProductSummary, SearchText,
    ShopError, Sku,
};
use tower::ServiceExt;

async fn state(data: &std::path::Path) -> shop_api::AppState {
    let config = Config::try_parse_from([
        "monolith",
        "--data",
        data.to_str().unwrap(),
        "--products",
        "300",
        "--admin-token",
        "admin-secret",
    ])
    .unwrap();
    wire(&config).await.unwrap().state
}

async fn call(app: axum::Router, request: Request<Body>) -> (StatusCode, Value) {
    let response = app.oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn admin_request() -> Request<Body> {
    Request::get("/admin/faults")
        .header("x-admin-token", "admin-secret")
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn admin_answers_on_loopback_only() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path()).await;

    let remote: SocketAddr = "192.0.2.10:5000".parse().unwrap();
    let app = shop_api::router(state.clone()).layer(MockConnectInfo(remote));
    let (status, body) = call(app, admin_request()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "forbidden");

    // Without connection info at all (an unusual server setup), admin stays shut too.
    let (status, _) = call(shop_api::router(state.clone()), admin_request()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let local: SocketAddr = "127.0.0.1:5000".parse().unwrap();
    let app = shop_api::router(state).layer(MockConnectInfo(local));
    let (status, body) = call(app, admin_request()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// A catalog with a bug: every call panics.
struct PanickingCatalog;

#[async_trait]
impl Catalog for PanickingCatalog {
    async fn list(&self, _: Page, _: Option<&Category>) -> Result<ProductList, ShopError> {
        panic!("bug in list")
    }
    async fn get(&self, _: &Sku) -> Result<Product, ShopError> {
        panic!("bug in get")
    }
    async fn search(&self, _: &SearchText, _: usize) -> Result<Vec<ProductSummary>, ShopError> {
        panic!("bug in search")
    }
    async fn summaries(&self, _: &[Sku]) -> Result<Vec<ProductSummary>, ShopError> {
        panic!("bug in summaries")
    }
    async fn embeddings(&self) -> Result<Vec<ItemEmbedding>, ShopError> {
        panic!("bug in embeddings")
    }
}

#[tokio::test]
async fn a_panicking_handler_is_a_500_without_internals_and_the_router_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let mut state = state(dir.path()).await;
    state.shop.catalog = Arc::new(PanickingCatalog);
    let app = shop_api::router(state);

    let (status, body) = call(
        app.clone(),
        Request::get("/api/products/SKU-00001")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["error"]["code"], "internal");
    assert!(!body.to_string().contains("bug in"), "no internals: {body}");

    let (status, _) = call(
        app.clone(),
        Request::get("/health/live").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // The panic's 500 is counted like any other answer.
    let response = app
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let metrics = String::from_utf8(bytes.to_vec()).unwrap();
    assert!(
        metrics
            .lines()
            .any(|line| line.starts_with("shop_http_requests_total{")
                && line.contains("route=\"/api/products/{sku}\"")
                && line.contains("status=\"500\"")),
        "{metrics}"
    );
}

/// The test-only slowdown knob puts its tax on the component from the start, where
/// the admin API shows it; a malformed one is refused at parse time.
#[tokio::test]
async fn the_slowdown_knob_taxes_its_component_from_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::try_parse_from([
        "monolith",
        "--data",
        dir.path().to_str().unwrap(),
        "--products",
        "300",
        "--admin-token",
        "admin-secret",
        "--test-slowdown",
        "catalog=0.1",
    ])
    .unwrap();
    let state = wire(&config).await.unwrap().state;
    let local: SocketAddr = "127.0.0.1:5000".parse().unwrap();
    let app = shop_api::router(state).layer(MockConnectInfo(local));
    let (status, body) = call(app, admin_request()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["faults"].to_string(),
        r#"{"catalog":{"kind":"tax","share":0.1}}"#,
        "{body}"
    );
    for bad in [
        "catalog",
        "catalog=0",
        "catalog=11",
        "warehouse=0.1",
        "catalog=fast",
    ] {
        let parsed = Config::try_parse_from(["monolith", "--test-slowdown", bad]);
        assert!(parsed.is_err(), "{bad} was taken");
    }
}
