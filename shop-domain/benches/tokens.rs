//! Token verification runs on every authenticated request.

use criterion::{Criterion, criterion_group, criterion_main};
use shop_domain::{TokenKey, UserId};

fn tokens(c: &mut Criterion) {
    let key = TokenKey::new(b"a-benchmark-key-of-32-bytes-long").expect("key");
    let token = key.issue(UserId(123_456), u64::MAX / 2);
    c.bench_function("token: verify", |b| {
        b.iter(|| {
            key.verify(std::hint::black_box(&token), 1_000)
                .expect("valid")
        })
    });
    c.bench_function("token: issue", |b| {
        b.iter(|| key.issue(std::hint::black_box(UserId(7)), 1_000))
    });
}

criterion_group!(benches, tokens);
criterion_main!(benches);
