//! The product page through the whole router, in-process (no socket): what the
//! monolith adds on top of HTTP itself, against a router that returns the same bytes.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::Request;
use clap::Parser;
use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::BodyExt;
use monolith::{Config, wire};
use tower::ServiceExt;

async fn get(app: &Router, path: &str) -> Bytes {
    let response = app
        .clone()
        .oneshot(Request::get(path).body(Body::empty()).expect("request"))
        .await;
    response
        .expect("infallible")
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
}

fn product_page(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let data = tempfile::tempdir().expect("temp dir");
    let config =
        Config::try_parse_from(["monolith", "--data", data.path().to_str().expect("utf-8")])
            .expect("config");
    let state = runtime.block_on(wire(&config)).expect("wire").state;
    let app = shop_api::router(state);
    let path = "/api/products/SKU-00042";
    let body = runtime.block_on(get(&app, path));
    let ceiling = Router::new().fallback(move || {
        let body = body.clone();
        async move {
            (
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                body,
            )
        }
    });

    let mut group = c.benchmark_group("product page, in-process router");
    group.bench_function("monolith", |b| b.iter(|| runtime.block_on(get(&app, path))));
    group.bench_function("ceiling (same bytes)", |b| {
        b.iter(|| runtime.block_on(get(&ceiling, path)))
    });
    group.finish();
}

criterion_group!(benches, product_page);
criterion_main!(benches);
