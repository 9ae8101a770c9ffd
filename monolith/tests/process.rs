//! Process-level behaviour: durability across `kill -9`, graceful shutdown.

mod support;

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use reqwest::Method;
use serde_json::json;
use shop_contract::Target;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_orders_survive_kill_9() {
    let mut monolith = support::deploy().await;
    let t = monolith.target.clone();
    let mut acknowledged = Vec::new();
    for i in 0..8u32 {
        let token = t.user(&format!("buyer{i}")).await;
        t.add_to_cart(&token, &format!("SKU-{:05}", 100 + i), 1 + i % 3)
            .await
            .expect(200);
        let order = t.checkout(&token, Some("k")).await.expect(201).clone();
        acknowledged.push((format!("buyer{i}"), order));
    }
    // No graceful anything: the last acknowledgement was just sent.
    monolith.process.signal(Signal::SIGKILL);
    monolith.process.wait(Duration::from_secs(10)).await;

    let restarted = support::start(monolith.data.path()).await;
    let t = Target::new(
        restarted.base_url.clone(),
        support::ADMIN_TOKEN.to_owned(),
        support::PRODUCTS,
    );
    for (name, order) in &acknowledged {
        let session = t
            .post_json(
                "/api/sessions",
                json!({"username": name, "password": "correct horse battery"}),
            )
            .await;
        let token = session.expect(200)["token"].as_str().unwrap().to_owned();
        let id = order["order_id"].as_u64().unwrap();
        let found = t.get_as(&token, &format!("/api/orders/{id}")).await;
        assert_eq!(found.expect(200)["status"], "confirmed");
        assert_eq!(found.body["total_cents"], order["total_cents"]);
        // And the idempotency key still holds: no second charge after the restart.
        assert_eq!(
            t.checkout(&token, Some("k")).await.expect(200)["order_id"],
            order["order_id"]
        );
    }
    let audit = t.audit().await;
    assert_eq!(audit["orders"]["confirmed"], 8, "{audit}");
    assert_eq!(audit["payments"]["captured"], 8, "{audit}");
    assert_eq!(audit["violations"], json!([]), "{audit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_in_flight_requests_then_exits_cleanly() {
    let mut monolith = support::deploy().await;
    let t = monolith.target.clone();
    let slow = json!({"kind": "slow", "latency_ms": 800});
    t.set_fault("catalog", slow).await;

    let in_flight = tokio::spawn({
        let t = t.clone();
        async move { t.get("/api/products/SKU-00001").await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let start = Instant::now();
    monolith.process.signal(Signal::SIGTERM);

    let answer = in_flight.await.unwrap();
    answer.expect(200);
    let status = monolith.process.wait(Duration::from_secs(10)).await;
    assert!(status.success(), "exit status {status:?}");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "drained in {:?}",
        start.elapsed()
    );
    // Stopped accepting: a new connection is refused.
    assert!(
        reqwest::get(format!("{}/health/live", t.base_url))
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_fault_takes_the_whole_process_down() {
    let mut monolith = support::deploy().await;
    let t = monolith.target.clone();
    t.set_fault("payments", json!({"kind": "abort"})).await;
    // Browsing never touches payments: it still works.
    t.get("/api/products/SKU-00001").await.expect(200);
    let token = t.user("victim").await;
    t.add_to_cart(&token, "SKU-00002", 1).await.expect(200);
    let checkout = t
        .request(Method::POST, "/api/checkout")
        .bearer_auth(&token)
        .json(&json!({"card_number": "4242424242424242"}))
        .send()
        .await;
    assert!(checkout.is_err(), "the process died mid-request");
    let status = monolith.process.wait(Duration::from_secs(10)).await;
    assert!(!status.success());
    // In the monolith, a payments crash is everyone's crash.
    assert!(
        reqwest::get(format!("{}/api/products/SKU-00001", t.base_url))
            .await
            .is_err()
    );

    // After a restart the checkout that was cut short is compensated: nothing charged, stock back.
    let restarted = support::start(monolith.data.path()).await;
    let t = Target::new(
        restarted.base_url.clone(),
        support::ADMIN_TOKEN.to_owned(),
        support::PRODUCTS,
    );
    let audit = t.audit().await;
    assert_eq!(audit["orders"]["pending"], 0, "{audit}");
    assert_eq!(audit["inventory"]["reserved"], 0, "{audit}");
    assert_eq!(audit["payments"]["captured"], 0, "{audit}");
    assert_eq!(audit["violations"], json!([]), "{audit}");
}
