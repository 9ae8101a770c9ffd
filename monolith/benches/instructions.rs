//! Instruction counts of the hot paths, under Callgrind (gungraun): figures that do not
//! move with the machine's noise, so CI can hold them to a tight tolerance.
//!
//! # Layout
//!
//! - [`Bench`]: the monolith's shop, wired as `monolith` wires it (fault edges and
//!   metrics included) on a temporary database, with each path called once before it is
//!   counted, so that statements are prepared and caches warm.
//! - The paths, one function each, and `hot_path`, which counts [`CALLS`] calls of one:
//!   the product page through the router, the components it and checkout call, checkout
//!   itself, and the token check. Each path is one `#[bench]` case of `hot_path`.
//! - `main!`: the harness. `cargo bench -p monolith --bench instructions` needs valgrind
//!   and `gungraun-runner` of the same version as the `gungraun` crate on `PATH`;
//!   `scripts/instructions.sh` installs what is missing and judges the counts. gungraun
//!   clears the environment of what it counts, so `SHOP_*` settings reach the shop only
//!   as that script passes them on.
//!
//! The criterion benches time the same paths (`shop-components/benches/hot_paths.rs`,
//! `product_page.rs`, `tokens.rs`); these count what the code does rather than how long
//! it takes, so a change that adds work shows here at once, and one that only moves
//! the machine does not.

use std::hint::black_box;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use clap::Parser;
use gungraun::{library_benchmark, library_benchmark_group, main};
use http_body_util::BodyExt;
use monolith::{Config, wire};
use shop_domain::{CardNumber, CheckoutRequest, Quantity, Shop, Sku, TokenKey, UserId};
use tokio::runtime::Runtime;
use tower::ServiceExt;

/// Calls counted per benchmark: enough that one call's stray work (a map growing, a
/// statement cache settling) is a small share of the count.
const CALLS: usize = 100;

/// The catalog's size. Smaller than the served default (10,000) so that seeding under
/// Callgrind takes seconds, not minutes; recommendations score every product, so their
/// count scales with it.
const PRODUCTS: &str = "2000";

/// The product every read asks for, and its related products.
const SKU: usize = 42;
const PAGE: &str = "/api/products/SKU-00042";

/// A wired monolith shop on a temporary database, and a runtime to drive it.
struct Bench {
    runtime: Runtime,
    shop: Shop,
    tokens: TokenKey,
    /// A token for a user, issued outside the count.
    token: String,
    app: Router,
    _data: tempfile::TempDir,
}

impl Bench {
    fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let data = tempfile::tempdir().expect("a temporary directory");
        let dir = data.path().to_str().expect("a UTF-8 temporary path");
        // No stock cache: it expires by the clock, so what a call does would depend on
        // how fast Callgrind runs it.
        let flags = [
            "monolith",
            "--data",
            dir,
            "--products",
            PRODUCTS,
            "--stock-cache-ms",
            "0",
        ];
        let config = Config::try_parse_from(flags).expect("the monolith's flags");
        let state = runtime.block_on(wire(&config)).expect("wired").state;
        Self {
            shop: state.shop.clone(),
            token: state.tokens.issue(UserId(123_456), u64::MAX / 2),
            tokens: state.tokens.clone(),
            app: shop_api::router(state),
            runtime,
            _data: data,
        }
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// Calls `path` once, uncounted, and hands the shop over to be counted.
    fn warmed(self, path: Path) -> Self {
        path(&self, 0);
        self
    }
}

fn related() -> Vec<Sku> {
    (SKU + 1..SKU + 5).map(Sku::from_index).collect()
}

fn product_page(bench: &Bench, _: usize) {
    let response = bench.block_on(async {
        let request = Request::get(PAGE).body(Body::empty()).expect("a request");
        let response = bench
            .app
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        assert_eq!(response.status(), StatusCode::OK);
        response
            .into_body()
            .collect()
            .await
            .expect("a body")
            .to_bytes()
    });
    black_box(response);
}

fn catalog(bench: &Bench, _: usize) {
    let (sku, related) = (Sku::from_index(SKU), related());
    let found = bench.block_on(async {
        let product = bench.shop.catalog.get(black_box(&sku)).await;
        let summaries = bench.shop.catalog.summaries(black_box(&related)).await;
        (product.expect("a product"), summaries.expect("summaries"))
    });
    black_box(found);
}

fn inventory(bench: &Bench, _: usize) {
    let sku = Sku::from_index(SKU);
    let stock = bench.block_on(bench.shop.inventory.stock(black_box(&sku)));
    black_box(stock.expect("a stock level"));
}

fn recommendations(bench: &Bench, _: usize) {
    let history: Vec<Sku> = [12, 345, 678, 1234, 1999].map(Sku::from_index).to_vec();
    let found = bench.block_on(bench.shop.recommendations.for_user(
        UserId(1),
        black_box(&history),
        10,
    ));
    black_box(found.expect("recommendations"));
}

/// One line of one unit of product `call`, so that no product runs out.
fn checkout(bench: &Bench, call: usize) {
    let (user, sku) = (UserId(1), Sku::from_index(100 + call));
    let one = Quantity::new(1).expect("1 is a valid quantity");
    let request = CheckoutRequest {
        idempotency_key: None,
        card: CardNumber::test_approved(),
    };
    let order = bench.block_on(async {
        bench.shop.cart.add(user, &sku, one).await.expect("added");
        bench.shop.orders.checkout(user, request).await
    });
    black_box(order.expect("an order"));
}

fn token_verify(bench: &Bench, _: usize) {
    let user = bench.tokens.verify(black_box(&bench.token), 1_000);
    black_box(user.expect("a valid token"));
}

/// A path to count: called with a fresh call number each time.
type Path = fn(&Bench, usize);

#[library_benchmark]
#[bench::product_page(args = (product_page), setup = warmed, teardown = drop)]
#[bench::catalog(args = (catalog), setup = warmed, teardown = drop)]
#[bench::inventory(args = (inventory), setup = warmed, teardown = drop)]
#[bench::recommendations(args = (recommendations), setup = warmed, teardown = drop)]
#[bench::checkout(args = (checkout), setup = warmed, teardown = drop)]
#[bench::token_verify(args = (token_verify), setup = warmed, teardown = drop)]
fn hot_path((bench, path): (Bench, Path)) -> Bench {
    for call in 1..=CALLS {
        path(&bench, call);
    }
    // Returned, so that closing the shop is not counted: the teardown drops it.
    bench
}

/// The setup, outside the count: a wired shop with `path` called once.
fn warmed(path: Path) -> (Bench, Path) {
    (Bench::new().warmed(path), path)
}

library_benchmark_group!(name = hot_paths, benchmarks = [hot_path]);

main!(library_benchmark_groups = hot_paths);
