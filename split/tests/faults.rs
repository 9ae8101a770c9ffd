//! Failures of the split shop's parts, as real processes dying and slowing down: what
//! keeps answering, what answers 503 and names whom, and that the books still balance.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use shop_contract::{Answer, Target};
use shop_domain::Component;
use split::{Preset, ServiceSpec, Topology};

/// How long a restarted process may take to start in a debug build.
const START: Duration = Duration::from_secs(60);

/// The pages that never touch payments answer 200.
async fn browsing_works(t: &Target, token: &str) {
    t.get("/api/products/SKU-00003").await.expect(200);
    t.get("/api/products?page=2&per_page=10").await.expect(200);
    t.get("/api/search?q=lamp").await.expect(200);
    t.get_as(token, "/api/cart").await.expect(200);
    t.add_to_cart(token, "SKU-00009", 1).await.expect(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_payments_service_fails_only_checkout_and_the_books_balance_after_its_return() {
    let mut split = support::deploy().await;
    let t = split.target.clone();
    let token = t.user("paula").await;
    t.add_to_cart(&token, "SKU-00007", 2).await.expect(200);
    t.checkout(&token, Some("before")).await.expect(201);

    split
        .deployment
        .replica(Component::Payments, 0)
        .unwrap()
        .kill()
        .await
        .unwrap();
    browsing_works(&t, &token).await;
    let stock = |page: &serde_json::Value| page["stock"].as_u64().unwrap();
    let before = stock(t.get("/api/products/SKU-00009").await.expect(200));
    let answer = t.checkout(&token, Some("during")).await;
    answer.expect_error(503, "unavailable");
    assert_eq!(
        answer.body["error"]["component"], "payments",
        "{}",
        answer.text
    );
    // The reservation was released; the audit itself needs payments, so it waits.
    let after = stock(t.get("/api/products/SKU-00009").await.expect(200));
    assert_eq!(after, before);
    t.send(t.admin(reqwest::Method::GET, "/admin/audit"))
        .await
        .expect_error(503, "unavailable");

    split
        .deployment
        .replica(Component::Payments, 0)
        .unwrap()
        .restart(START)
        .await
        .unwrap();
    // Back in every caller's rotation within a few probes. Each caller (orders for the
    // checkout, the gateway for the audit) probes on its own clock, so one may see the
    // return a probe before the other: both get the same deadline.
    let deadline = Instant::now() + Duration::from_secs(10);
    until_payments_is_back(deadline, || t.checkout(&token, Some("after")))
        .await
        .expect(201);
    let audit = until_payments_is_back(deadline, || {
        t.send(t.admin(reqwest::Method::GET, "/admin/audit"))
    })
    .await
    .expect(200)
    .clone();
    assert_eq!(audit["orders"]["confirmed"], 2, "{audit}");
    assert_eq!(audit["payments"]["captured"], 2, "{audit}");
    assert_eq!(audit["violations"], json!([]), "{audit}");
}

/// The first answer of `call` that is not a 503, or the last one at `deadline`.
async fn until_payments_is_back<F, Fut>(deadline: Instant, call: F) -> Answer
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Answer>,
{
    loop {
        let answer = call().await;
        if answer.status != 503 || Instant::now() > deadline {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Product pages while one of two catalog replicas dies: at most a handful fail, and
/// none once the dead one is out of the rotation.
async fn one_of_two_catalog_replicas_dies(preset: Preset) -> usize {
    let mut topology = Topology {
        preset,
        ..Topology::default()
    };
    topology.services.insert(
        Component::Catalog,
        ServiceSpec {
            replicas: 2,
            ..ServiceSpec::default()
        },
    );
    let mut split = support::deploy_with(topology, &[]).await;
    let t = split.target.clone();
    for n in 0..50 {
        t.get(&format!("/api/products/SKU-{:05}", n + 1))
            .await
            .expect(200);
    }
    let pages = tokio::spawn({
        let t = t.clone();
        async move {
            let mut failed = Vec::new();
            for n in 0..300 {
                let answer = t
                    .get(&format!("/api/products/SKU-{:05}", n % 500 + 1))
                    .await;
                if answer.status != 200 {
                    failed.push((n, answer.status.as_u16()));
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            failed
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    split
        .deployment
        .replica(Component::Catalog, 1)
        .unwrap()
        .kill()
        .await
        .unwrap();
    let failed = pages.await.unwrap();
    assert!(
        failed.len() <= 5,
        "{preset:?}: {} failed: {failed:?}",
        failed.len()
    );
    // Long after the ejection, every page answers.
    for n in 0..50 {
        t.get(&format!("/api/products/SKU-{:05}", n + 100))
            .await
            .expect(200);
    }
    failed.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_catalog_replica_costs_a_handful_of_pages_without_retries() {
    one_of_two_catalog_replicas_dies(Preset::Bare).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_catalog_replica_costs_no_page_with_retries() {
    let failed = one_of_two_catalog_replicas_dies(Preset::Hardened).await;
    assert_eq!(
        failed, 0,
        "idempotent reads are retried on the other replica"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_between_orders_and_payments_never_charge_twice() {
    let topology = Topology {
        preset: Preset::Hardened,
        ..Topology::default()
    };
    let split = support::deploy_with(
        topology,
        &["--settle-interval-secs", "1", "--stale-checkout-secs", "1"],
    )
    .await;
    let t = split.target.clone();
    let token = t.user("tim").await;
    t.add_to_cart(&token, "SKU-00021", 1).await.expect(200);

    // Payments answers after the hardened deadline (2 s): orders times out on the charge,
    // retries it (it is keyed by order id), gives up, and says payments failed it.
    t.set_fault("payments", json!({"kind": "slow", "latency_ms": 2_500}))
        .await;
    let first = t.checkout(&token, Some("once")).await;
    first.expect_error(503, "unavailable");
    assert_eq!(
        first.body["error"]["component"], "payments",
        "{}",
        first.text
    );
    t.clear_faults(Some("payments")).await;

    // The client retries with the same key until it gets an order: first told the
    // checkout is in progress, then, once the settler has rolled the stuck one back,
    // a new order.
    let deadline = Instant::now() + Duration::from_secs(30);
    let order = loop {
        let answer = t.checkout(&token, Some("once")).await;
        match answer.status.as_u16() {
            201 | 200 => break answer.body.clone(),
            409 | 503 if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            _ => panic!("unexpected answer: {}", answer.text),
        }
    };
    let replay = t.checkout(&token, Some("once")).await;
    assert_eq!(replay.expect(200)["order_id"], order["order_id"]);

    // Settle anything still in flight, then count: one capture, one confirmed order.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let audit = t.audit().await;
    assert_eq!(audit["payments"]["captured"], 1, "{audit}");
    assert_eq!(audit["orders"]["confirmed"], 1, "{audit}");
    assert_eq!(audit["orders"]["pending"], 0, "{audit}");
    assert_eq!(audit["violations"], json!([]), "{audit}");
}
