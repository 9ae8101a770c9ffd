//! Stubs against the internal routes, over real sockets: every codec and protocol gives
//! the same answers as the local component, domain errors cross unchanged, and whatever
//! goes wrong on the way is "unavailable", naming the callee.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::post;
use shop_components::{LocalCatalog, LocalInventory};
use shop_domain::{
    Catalog, Component, ConflictCode, Inventory, OrderId, Page, Quantity, SeedConfig, ShopError,
    Sku, StockLine,
};
use shop_remote::serve::{catalog_routes, inventory_routes};
use shop_remote::{Codec, Link, RemoteCatalog, RemoteInventory, Transport};
use tokio::net::TcpListener;

fn seed() -> SeedConfig {
    SeedConfig {
        seed: 3,
        products: 100,
        embedding_dims: 8,
    }
}

/// Serves `app` on a fresh loopback port until the test ends, ready to the probes;
/// returns its base URL.
async fn serve(app: Router) -> String {
    let app = app.route("/health/ready", axum::routing::get(|| async { "ready" }));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}")
}

fn links() -> Vec<Link> {
    let mut links = Vec::new();
    for codec in Codec::ALL {
        for http2 in [false, true] {
            links.push(Link {
                codec,
                http2,
                resilience: shop_remote::Resilience {
                    deadline: Some(Duration::from_secs(5)),
                    ..shop_remote::Resilience::hardened()
                },
            });
        }
    }
    links
}

/// A catalog stub calling the one replica at `base`.
fn catalog_at(base: &str, link: Link) -> RemoteCatalog {
    RemoteCatalog(Transport::new(Component::Catalog, &[base.to_owned()], link).unwrap())
}

fn is_unavailable(error: &ShopError, component: Component) -> bool {
    matches!(error, ShopError::Unavailable { component: c, .. } if *c == component)
}

#[tokio::test]
async fn remote_answers_equal_local_answers_in_every_codec_and_protocol() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    let catalog: Arc<dyn Catalog> = Arc::new(LocalCatalog::open(&db, &seed()).unwrap());
    let inventory: Arc<dyn Inventory> = Arc::new(LocalInventory::open(&db, &seed()).unwrap());
    let base =
        serve(catalog_routes(catalog.clone()).merge(inventory_routes(inventory.clone()))).await;

    let sku = Sku::from_index(5);
    let page = Page::new(2, 10).unwrap();
    for (n, link) in links().into_iter().enumerate() {
        let remote = catalog_at(&base, link);
        assert_eq!(
            remote.get(&sku).await.unwrap(),
            catalog.get(&sku).await.unwrap(),
            "{link:?}"
        );
        assert_eq!(
            remote.list(page, None).await.unwrap(),
            catalog.list(page, None).await.unwrap()
        );
        assert_eq!(
            remote.embeddings().await.unwrap(),
            catalog.embeddings().await.unwrap()
        );
        // A domain answer crosses unchanged.
        let unknown = Sku::from_index(100_000);
        assert_eq!(
            remote.get(&unknown).await.unwrap_err(),
            catalog.get(&unknown).await.unwrap_err()
        );

        let stock = RemoteInventory(
            Transport::new(Component::Inventory, std::slice::from_ref(&base), link).unwrap(),
        );
        let before = stock.stock(&sku).await.unwrap().available;
        let order = OrderId(n as u64 + 1);
        let line = StockLine {
            sku: sku.clone(),
            quantity: Quantity::new(1).unwrap(),
        };
        stock
            .reserve(order, std::slice::from_ref(&line))
            .await
            .unwrap();
        // Reserving again for the same order is a no-op, remote as local.
        stock.reserve(order, &[line]).await.unwrap();
        assert_eq!(stock.stock(&sku).await.unwrap().available, before - 1);
        // Draining the SKU ends in the domain's answer, carried across unchanged.
        let many = StockLine {
            sku: Sku::from_index(10 + n),
            quantity: Quantity::new(99).unwrap(),
        };
        let mut attempt = 0;
        let err = loop {
            attempt += 1;
            assert!(attempt < 1_000, "stock never ran out");
            if let Err(err) = stock
                .reserve(
                    OrderId(1_000 * (n as u64 + 1) + attempt),
                    std::slice::from_ref(&many),
                )
                .await
            {
                break err;
            }
        };
        assert!(
            matches!(
                err,
                ShopError::Conflict {
                    code: ConflictCode::InsufficientStock,
                    ..
                }
            ),
            "{err}"
        );
    }
}

#[tokio::test]
async fn a_dead_port_is_unavailable_naming_the_callee() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let remote = catalog_at(&base, Link::default());
    let err = remote.get(&Sku::from_index(1)).await.unwrap_err();
    assert!(is_unavailable(&err, Component::Catalog), "{err}");
    // Refused: the call certainly did nothing, which lets a saga skip its refund.
    assert!(err.is_unreached(), "{err}");
}

#[tokio::test]
async fn a_silent_callee_is_unavailable_after_the_deadline() {
    let base = serve(Router::new().route(
        "/internal/catalog/get",
        post(|| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            "too late"
        }),
    ))
    .await;
    let link = Link {
        resilience: shop_remote::Resilience {
            deadline: Some(Duration::from_millis(200)),
            ..shop_remote::Resilience::bare()
        },
        ..Link::default()
    };
    let remote = catalog_at(&base, link);
    let started = std::time::Instant::now();
    let err = remote.get(&Sku::from_index(1)).await.unwrap_err();
    assert!(is_unavailable(&err, Component::Catalog), "{err}");
    // Sent and not answered: it may have acted.
    assert!(!err.is_unreached(), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn garbage_answers_are_unavailable_not_panics() {
    let base = serve(
        Router::new()
            // Right status, wrong content type.
            .route(
                "/internal/catalog/get",
                post(|| async { "<html>oops</html>" }),
            )
            // Right content type, body that is not a product.
            .route(
                "/internal/catalog/summaries",
                post(|| async { ([("content-type", "application/json")], "{\"trunc") }),
            )
            // A proxy's error page.
            .route(
                "/internal/catalog/search",
                post(|| async { (axum::http::StatusCode::BAD_GATEWAY, "bad gateway") }),
            ),
    )
    .await;
    let remote = catalog_at(&base, Link::default());
    let sku = Sku::from_index(1);
    for err in [
        remote.get(&sku).await.unwrap_err(),
        remote
            .summaries(std::slice::from_ref(&sku))
            .await
            .unwrap_err(),
        remote
            .search(&shop_domain::SearchText::parse("lamp").unwrap(), 3)
            .await
            .unwrap_err(),
        // No such route: 404 in plain text.
        remote.embeddings().await.unwrap_err(),
    ] {
        assert!(is_unavailable(&err, Component::Catalog), "{err}");
    }
}

#[tokio::test]
async fn a_malformed_internal_call_is_refused_and_the_service_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let catalog: Arc<dyn Catalog> =
        Arc::new(LocalCatalog::open(&dir.path().join("shop.db"), &seed()).unwrap());
    let base = serve(catalog_routes(catalog)).await;
    let client = reqwest_like::post;
    for (content_type, body, status) in [
        ("application/json", "{\"not\": \"a tuple\"}", 400),
        ("application/json", "[\"SKU-1x\"]", 400),
        ("application/x-postcard", "\u{ff}\u{ff}", 400),
        ("text/plain", "[\"SKU-00001\"]", 415),
    ] {
        assert_eq!(
            client(&base, "/internal/catalog/get", content_type, body).await,
            status
        );
    }
    assert_eq!(
        client(
            &base,
            "/internal/catalog/get",
            "application/json",
            "[\"SKU-00001\"]"
        )
        .await,
        200
    );
}

/// A bare POST over a fresh hyper-util client, to send what no stub would.
mod reqwest_like {
    use bytes::Bytes;
    use http_body_util::Full;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;

    pub async fn post(base: &str, path: &str, content_type: &str, body: &str) -> u16 {
        let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
        let request = axum::http::Request::post(format!("{base}{path}"))
            .header("content-type", content_type)
            .body(Full::new(Bytes::from(body.to_owned())))
            .unwrap();
        client.request(request).await.unwrap().status().as_u16()
    }
}

#[tokio::test]
async fn calls_to_a_replica_that_died_all_end_without_a_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let catalog: Arc<dyn Catalog> =
        Arc::new(LocalCatalog::open(&dir.path().join("shop.db"), &seed()).unwrap());
    let app =
        catalog_routes(catalog).route("/health/ready", axum::routing::get(|| async { "ready" }));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    // Bare: no deadline, so a call that waited for the replica would wait forever.
    let remote = catalog_at(&base, Link::default());
    remote.get(&Sku::from_index(1)).await.unwrap();
    server.abort();
    let _ = server.await;

    let calls = (0..20).map(|n| {
        let remote = remote.clone();
        async move { remote.get(&Sku::from_index(n + 1)).await }
    });
    let answers = tokio::time::timeout(Duration::from_secs(10), futures::future::join_all(calls))
        .await
        .expect("every call ends");
    for answer in answers {
        let err = answer.unwrap_err();
        assert!(is_unavailable(&err, Component::Catalog), "{err}");
    }
}
