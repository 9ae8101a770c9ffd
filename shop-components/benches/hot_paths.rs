//! The paths that decide the shop's throughput, measured in-process (no HTTP).
//!
//! Run with `cargo bench -p shop-components -- --quick` for a fast pass. Token signing
//! is measured in `shop-domain/benches/tokens.rs`.

use std::cell::Cell;
use std::hint::black_box;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use shop_components::{
    LocalCart, LocalCatalog, LocalInventory, LocalOrders, LocalPayments, LocalRecommendations,
    OrdersDeps, PaymentsConfig, RecommendationsConfig,
};
use shop_domain::{
    CardNumber, Cart, Catalog, CheckoutRequest, Inventory, Orders, Quantity, Recommendations,
    SeedConfig, Sku, UserId,
};
use tokio::runtime::Runtime;

/// Everything the benchmarks call, on one temporary file as in the monolith, at the
/// default catalog size (10,000 products, 128 dimensions).
struct Shop {
    _dir: tempfile::TempDir,
    catalog: Arc<LocalCatalog>,
    inventory: Arc<LocalInventory>,
    cart: Arc<LocalCart>,
    orders: LocalOrders,
    recommendations: LocalRecommendations,
}

fn shop(rt: &Runtime) -> Shop {
    let seed = SeedConfig::default();
    let dir = tempfile::TempDir::new().expect("a temporary directory");
    let path = dir.path().join("bench.db");
    let catalog = Arc::new(LocalCatalog::open(&path, &seed).expect("catalog"));
    let inventory = Arc::new(LocalInventory::open(&path, &seed).expect("inventory"));
    let cart = Arc::new(LocalCart::open(&path, catalog.clone()).expect("cart"));
    let payments =
        Arc::new(LocalPayments::open(&path, PaymentsConfig::default()).expect("payments"));
    let orders = LocalOrders::open(
        &path,
        OrdersDeps {
            cart: cart.clone(),
            catalog: catalog.clone(),
            inventory: inventory.clone(),
            payments,
        },
    )
    .expect("orders");
    let recommendations = rt
        .block_on(LocalRecommendations::build(
            catalog.as_ref(),
            RecommendationsConfig::default(),
        ))
        .expect("recommendations");
    Shop {
        _dir: dir,
        catalog,
        inventory,
        cart,
        orders,
        recommendations,
    }
}

fn hot_paths(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let shop = shop(&rt);
    let user = UserId(1);

    let history: Vec<Sku> = [12, 345, 6789, 4242, 9000].map(Sku::from_index).to_vec();
    c.bench_function("recommendations/for_user_history_5_limit_10", |b| {
        b.iter(|| rt.block_on(shop.recommendations.for_user(user, black_box(&history), 10)))
    });
    c.bench_function("recommendations/for_user_no_history_limit_10", |b| {
        b.iter(|| rt.block_on(shop.recommendations.for_user(user, &[], 10)))
    });

    let sku = Sku::from_index(4321);
    let related: Vec<Sku> = (4322..4326).map(Sku::from_index).collect();
    c.bench_function("catalog/get_and_summaries_of_4", |b| {
        b.iter(|| {
            rt.block_on(async {
                let product = shop.catalog.get(black_box(&sku)).await;
                let summaries = shop.catalog.summaries(black_box(&related)).await;
                (product, summaries)
            })
        })
    });

    c.bench_function("inventory/stock", |b| {
        b.iter(|| rt.block_on(shop.inventory.stock(black_box(&sku))))
    });

    // Each checkout buys one unit of the next product, so stock lasts for over 200,000.
    let next = Cell::new(0usize);
    let one = Quantity::new(1).expect("1 is a valid quantity");
    let request = CheckoutRequest {
        idempotency_key: None,
        card: CardNumber::test_approved(),
    };
    c.bench_function("orders/checkout_one_line", |b| {
        b.iter_batched(
            || {
                let sku = Sku::from_index(next.get() % 10_000);
                next.set(next.get() + 1);
                rt.block_on(shop.cart.add(user, &sku, one))
                    .expect("add to cart");
            },
            |()| {
                rt.block_on(shop.orders.checkout(user, request.clone()))
                    .expect("checkout")
            },
            BatchSize::PerIteration,
        )
    });
}

criterion_group!(benches, hot_paths);
criterion_main!(benches);
