//! The balancer in front of real servers on loopback sockets.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A replica answering its name on `/who`, echoing `/echo`, ready on `/health/ready`.
async fn replica(name: &'static str) -> (String, JoinHandle<()>) {
    let app = Router::new()
        .route("/who", get(move || async move { name }))
        .route("/echo", post(|body: String| async move { body }))
        .route("/health/ready", get(|| async { "ready" }));
    serve(app).await
}

async fn serve(app: Router) -> (String, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, task)
}

/// Who answered `count` requests to `/who`, by name (failures under their status).
async fn who_answers(balancer: &str, count: usize) -> BTreeMap<String, usize> {
    let client = reqwest::Client::new();
    let mut answers = BTreeMap::new();
    for _ in 0..count {
        let response = client.get(format!("{balancer}/who")).send().await.unwrap();
        let key = if response.status().is_success() {
            response.text().await.unwrap()
        } else {
            response.status().as_u16().to_string()
        };
        *answers.entry(key).or_default() += 1;
    }
    answers
}

#[tokio::test]
async fn spreads_requests_over_every_replica_and_forwards_bodies() {
    let (a, _a) = replica("a").await;
    let (b, _b) = replica("b").await;
    let (balancer, _balancer) = serve(balancer::router("test", &[a, b])).await;

    let answers = who_answers(&balancer, 60).await;
    assert_eq!(
        answers.keys().collect::<Vec<_>>(),
        ["a", "b"],
        "{answers:?}"
    );
    let echoed = reqwest::Client::new()
        .post(format!("{balancer}/echo"))
        .body("a checkout")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.status(), 200);
    assert_eq!(echoed.text().await.unwrap(), "a checkout");
}

#[tokio::test]
async fn a_replica_that_goes_away_leaves_the_rotation_and_none_left_is_a_clear_503() {
    let (a, a_task) = replica("a").await;
    let (b, b_task) = replica("b").await;
    let (balancer, _balancer) = serve(balancer::router("test", &[a, b])).await;
    assert_eq!(who_answers(&balancer, 20).await.len(), 2);

    a_task.abort();
    let _ = a_task.await;
    // Requests on connections kept alive to `a` may fail once each, then `a` is out
    // (the refused connection, or three failed probes in 600 ms).
    tokio::time::sleep(Duration::from_millis(900)).await;
    let answers = who_answers(&balancer, 30).await;
    assert_eq!(answers.get("b"), Some(&30), "{answers:?}");

    b_task.abort();
    let _ = b_task.await;
    tokio::time::sleep(Duration::from_millis(900)).await;
    let response = reqwest::get(format!("{balancer}/who")).await.unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(
        response.text().await.unwrap(),
        "no replica is in the rotation"
    );
}

#[tokio::test]
async fn a_replica_that_comes_back_rejoins_the_rotation() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let (b, _b) = replica("b").await;
    let (balancer, _balancer) =
        serve(balancer::router("test", &[format!("http://{address}"), b])).await;
    // Nothing listens at `a` yet: it is ejected on the first refused connection.
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(who_answers(&balancer, 10).await.get("b"), Some(&10));

    let app = Router::new()
        .route("/who", get(|| async { "a" }))
        .route("/health/ready", get(|| async { "ready" }));
    let listener = TcpListener::bind(address).await.unwrap();
    let _a = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let answers = who_answers(&balancer, 40).await;
    assert!(answers.contains_key("a"), "{answers:?}");
}
