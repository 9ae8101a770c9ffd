//! What it costs to turn a product page into the JSON the API sends.

use criterion::{Criterion, criterion_group, criterion_main};
use shop_api::dto::ProductPageBody;
use shop_domain::seed::{SeedConfig, generate};
use shop_domain::{ProductPage, ProductSummary, StockLevel};

fn product_page_json(c: &mut Criterion) {
    let items = generate(&SeedConfig {
        products: 5,
        ..SeedConfig::default()
    })
    .expect("seed");
    let page = ProductPage {
        product: items[0].product.clone(),
        stock: StockLevel { available: 123 },
        related: items[1..]
            .iter()
            .map(|i| ProductSummary::from(&i.product))
            .collect(),
    };
    c.bench_function("product page: DTO + serde_json", |b| {
        b.iter(|| {
            serde_json::to_vec(&ProductPageBody::from(std::hint::black_box(page.clone())))
                .expect("encode")
        })
    });
}

criterion_group!(benches, product_page_json);
criterion_main!(benches);
