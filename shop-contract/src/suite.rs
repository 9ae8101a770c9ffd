//! The contract: what the public API promises, whatever the wiring behind it.
//!
//! Each function is one test body. [`contract_tests!`](crate::contract_tests) turns
//! them into `#[tokio::test]`s for a given deployment.

use reqwest::Method;
use serde_json::json;

use crate::Target;

/// Liveness, readiness, metrics, the OpenAPI document, and JSON errors for unknown routes.
pub async fn operational_endpoints(t: &Target) {
    let live = t.get("/health/live").await;
    let live = live.expect(200);
    assert_eq!(live["status"], "live");
    assert_eq!(live["release"], "1", "the default release label");
    assert_eq!(t.get("/health/ready").await.expect(200)["status"], "ready");

    t.get("/api/products/SKU-00001").await.expect(200);
    let metrics = t.get("/metrics").await;
    metrics.expect(200);
    assert!(
        metrics.text.contains("shop_http_requests_total"),
        "{}",
        metrics.text
    );
    assert!(
        metrics.text.contains("route=\"/api/products/{sku}\""),
        "per-route metrics: {}",
        metrics.text
    );
    assert!(
        metrics.text.contains("shop_component_calls_total"),
        "per-component metrics: {}",
        metrics.text
    );

    let doc = t.get("/openapi.json").await;
    let paths = doc.expect(200)["paths"].as_object().expect("paths").clone();
    for path in [
        "/api/users",
        "/api/sessions",
        "/api/products",
        "/api/products/{sku}",
        "/api/search",
        "/api/cart",
        "/api/cart/items",
        "/api/cart/items/{sku}",
        "/api/checkout",
        "/api/orders",
        "/api/orders/{order_id}",
        "/api/recommendations",
    ] {
        assert!(paths.contains_key(path), "OpenAPI lacks {path}");
    }

    t.get("/no/such/route").await.expect_error(404, "not_found");
    t.send(t.request(Method::PATCH, "/api/products"))
        .await
        .expect_error(405, "method_not_allowed");
}

/// Register, log in, and every way to get that wrong.
pub async fn accounts(t: &Target) {
    let alice = json!({"username": "alice", "password": "correct horse battery"});
    assert!(
        t.post_json("/api/users", alice.clone()).await.expect(201)["user_id"]
            .as_u64()
            .is_some()
    );
    t.post_json("/api/users", alice.clone())
        .await
        .expect_error(409, "username_taken");

    let session = t.post_json("/api/sessions", alice).await;
    let token = session.expect(200)["token"]
        .as_str()
        .expect("token")
        .to_owned();
    t.get_as(&token, "/api/cart").await.expect(200);

    let wrong = json!({"username": "alice", "password": "incorrect horse"});
    t.post_json("/api/sessions", wrong)
        .await
        .expect_error(401, "unauthorized");
    let nobody = json!({"username": "nobody", "password": "correct horse battery"});
    t.post_json("/api/sessions", nobody)
        .await
        .expect_error(401, "unauthorized");

    for bad in [
        json!({"username": "al", "password": "correct horse battery"}),
        json!({"username": "alice smith", "password": "correct horse battery"}),
        json!({"username": "x".repeat(33), "password": "correct horse battery"}),
        json!({"username": "bob", "password": "short"}),
        json!({"username": "bob", "password": "p".repeat(129)}),
    ] {
        t.post_json("/api/users", bad)
            .await
            .expect_error(400, "invalid_input");
    }
    t.post_json("/api/users", json!({"username": "bob"}))
        .await
        .expect_error(400, "invalid_body");
    t.post_json(
        "/api/users",
        json!({"username": 7, "password": "correct horse battery"}),
    )
    .await
    .expect_error(400, "invalid_body");
    t.post_json(
        "/api/users",
        json!({"username": "bob", "password": "correct horse battery", "admin": true}),
    )
    .await
    .expect_error(400, "invalid_body");
}

/// Calls that need a user refuse missing, malformed, forged and foreign tokens.
pub async fn authentication(t: &Target) {
    t.get("/api/cart").await.expect_error(401, "unauthorized");
    for bad in ["garbage", "1.2.3", "1.9999999999.AAAA", ""] {
        t.get_as(bad, "/api/cart")
            .await
            .expect_error(401, "unauthorized");
    }
    let token = t.user("carol").await;
    let (claims, _) = token.rsplit_once('.').unwrap();
    let (user, expiry) = claims.split_once('.').unwrap();
    let forged = token.replacen(
        &format!("{user}.{expiry}"),
        &format!("{}.{expiry}", user.parse::<u64>().unwrap() + 1),
        1,
    );
    t.get_as(&forged, "/api/cart")
        .await
        .expect_error(401, "unauthorized");
    let answer = t.get("/api/recommendations").await;
    answer.expect_error(401, "unauthorized");
    assert_eq!(answer.headers["www-authenticate"], "Bearer");
}

/// Listing, paging and filtering the catalog, and bad paging.
pub async fn catalog_listing(t: &Target) {
    let first = t.get("/api/products").await;
    let body = first.expect(200);
    assert_eq!(body["total"].as_u64(), Some(t.products as u64));
    assert_eq!(body["items"].as_array().unwrap().len(), 20);
    assert_eq!(body["items"][0]["sku"], "SKU-00000");

    let page3 = t.get("/api/products?page=3&per_page=5").await;
    assert_eq!(page3.expect(200)["items"][0]["sku"], "SKU-00010");
    let last_page = t.products.div_ceil(100) + 1;
    let beyond = t
        .get(&format!("/api/products?page={last_page}&per_page=100"))
        .await;
    assert!(beyond.expect(200)["items"].as_array().unwrap().is_empty());

    let books = t.get("/api/products?category=books&per_page=100").await;
    let items = books.expect(200)["items"].as_array().unwrap().clone();
    assert!(!items.is_empty());
    assert!(items.iter().all(|p| p["category"] == "books"));
    assert!(books.body["total"].as_u64().unwrap() < t.products as u64);

    t.get("/api/products?category=spaceships")
        .await
        .expect_error(404, "not_found");
    t.get("/api/products?category=BOOKS!")
        .await
        .expect_error(400, "invalid_input");
    t.get("/api/products?page=0")
        .await
        .expect_error(400, "invalid_input");
    t.get("/api/products?per_page=101")
        .await
        .expect_error(400, "invalid_input");
    t.get("/api/products?page=-1")
        .await
        .expect_error(400, "invalid_query");
    t.get("/api/products?page=abc")
        .await
        .expect_error(400, "invalid_query");
    t.get("/api/products?page=99999999999")
        .await
        .expect_error(400, "invalid_query");
}

/// A product page holds the product, its stock and four related products of its category.
pub async fn product_page(t: &Target) {
    let page = t.get("/api/products/SKU-00007").await;
    let body = page.expect(200);
    assert_eq!(body["sku"], "SKU-00007");
    assert!(body["price_cents"].as_u64().unwrap() > 0);
    assert!(body["stock"].as_u64().unwrap() >= 20);
    assert!(body.get("embedding").is_none(), "embeddings are internal");
    let related = body["related"].as_array().unwrap();
    assert_eq!(related.len(), 4);
    assert!(
        related
            .iter()
            .all(|r| r["category"] == body["category"] && r["sku"] != "SKU-00007")
    );

    let unknown = format!("SKU-{:05}", t.products + 1);
    t.get(&format!("/api/products/{unknown}"))
        .await
        .expect_error(404, "not_found");
    for bad in [
        "nope",
        "SKU-",
        "SKU-12x",
        &format!("SKU-{}", "9".repeat(40)),
    ] {
        t.get(&format!("/api/products/{bad}"))
            .await
            .expect_error(400, "invalid_input");
    }
}

/// Search finds products by the words of their names, within limits.
pub async fn search(t: &Target) {
    let name = t.get("/api/products/SKU-00003").await.expect(200)["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let word = name.split(' ').next_back().unwrap();
    let found = t.get(&format!("/api/search?q={word}&limit=50")).await;
    let items = found.expect(200)["items"].as_array().unwrap().clone();
    assert!(!items.is_empty() && items.len() <= 50);
    assert!(
        items
            .iter()
            .all(|p| p["name"].as_str().unwrap().contains(word)),
        "{items:?}"
    );

    let both = t
        .get(&format!("/api/search?q={}", name.replace(' ', "+")))
        .await;
    assert!(
        both.expect(200)["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == name.as_str())
    );
    assert!(
        t.get("/api/search?q=zzzqqq").await.expect(200)["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    t.get("/api/search")
        .await
        .expect_error(400, "invalid_query");
    t.get("/api/search?q=")
        .await
        .expect_error(400, "invalid_input");
    t.get(&format!("/api/search?q={}", "a".repeat(65)))
        .await
        .expect_error(400, "invalid_input");
    t.get("/api/search?q=lamp&limit=0")
        .await
        .expect_error(400, "invalid_input");
    t.get("/api/search?q=lamp&limit=51")
        .await
        .expect_error(400, "invalid_input");
}

/// Cart: add (merging lines), view priced, remove; bad quantities and bodies.
pub async fn cart(t: &Target) {
    let token = t.user("dave").await;
    let price = t.get("/api/products/SKU-00011").await.expect(200)["price_cents"]
        .as_u64()
        .unwrap();

    t.add_to_cart(&token, "SKU-00011", 2).await.expect(200);
    let merged = t.add_to_cart(&token, "SKU-00011", 1).await;
    let lines = merged.expect(200)["lines"].as_array().unwrap().clone();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["quantity"], 3);
    assert_eq!(lines[0]["line_total_cents"].as_u64(), Some(3 * price));

    t.add_to_cart(&token, "SKU-00012", 1).await.expect(200);
    let view = t.get_as(&token, "/api/cart").await;
    let body = view.expect(200);
    assert_eq!(body["lines"].as_array().unwrap().len(), 2);
    let sum: u64 = body["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["line_total_cents"].as_u64().unwrap())
        .sum();
    assert_eq!(body["total_cents"].as_u64(), Some(sum));

    let removed = t.delete_as(&token, "/api/cart/items/SKU-00012").await;
    assert_eq!(removed.expect(200)["lines"].as_array().unwrap().len(), 1);
    t.delete_as(&token, "/api/cart/items/SKU-00012")
        .await
        .expect_error(404, "not_found");

    // Another user's cart is separate.
    let erin = t.user("erin").await;
    assert!(
        t.get_as(&erin, "/api/cart").await.expect(200)["lines"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    t.add_to_cart(&token, &format!("SKU-{:05}", t.products + 5), 1)
        .await
        .expect_error(404, "not_found");
    t.add_to_cart(&token, "SKU-00011", 0)
        .await
        .expect_error(400, "invalid_input");
    t.add_to_cart(&token, "SKU-00011", 100)
        .await
        .expect_error(400, "invalid_input");
    t.add_to_cart(&token, "SKU-00011", 97)
        .await
        .expect_error(409, "cart_line_too_large");
    for bad in [
        json!({"sku": "SKU-00011", "quantity": -1}),
        json!({"sku": "SKU-00011", "quantity": 1.5}),
        json!({"sku": "SKU-00011", "quantity": "2"}),
        json!({"sku": "SKU-00011", "quantity": 4294967296u64}),
        json!({"sku": "SKU-00011"}),
        json!({"sku": "SKU-00011", "quantity": 1, "price_cents": 1}),
        json!([1, 2]),
    ] {
        t.post_as(&token, "/api/cart/items", bad)
            .await
            .expect_error(400, "invalid_body");
    }
    let malformed = t
        .request(Method::POST, "/api/cart/items")
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"sku\": ");
    t.send(malformed).await.expect_error(400, "invalid_body");
    let not_json = t
        .request(Method::POST, "/api/cart/items")
        .bearer_auth(&token)
        .header("content-type", "text/plain")
        .body("sku=1");
    t.send(not_json)
        .await
        .expect_error(415, "unsupported_media_type");
    let huge = format!(
        "{{\"sku\": \"SKU-00011\", \"quantity\": 1, \"pad\": \"{}\"}}",
        "x".repeat(64 * 1024)
    );
    let oversized = t
        .request(Method::POST, "/api/cart/items")
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(huge);
    let refused = t.send(oversized).await;
    refused.expect_error(413, "body_too_large");
    // The unread rest of the body ends the connection: the answer must say so, or a
    // client's next request on it fails.
    assert_eq!(refused.headers["connection"], "close");

    // After all that, the cart is as it was.
    let lines = t.get_as(&token, "/api/cart").await.expect(200)["lines"].clone();
    assert_eq!(lines.as_array().unwrap().len(), 1);
    assert_eq!(lines[0]["quantity"], 3);
}

/// Checkout: the happy path and what it changes everywhere.
pub async fn checkout(t: &Target) {
    let token = t.user("frank").await;
    let before = t.stock("SKU-00021").await;
    t.add_to_cart(&token, "SKU-00021", 2).await.expect(200);
    t.add_to_cart(&token, "SKU-00022", 1).await.expect(200);
    let cart_total = t.get_as(&token, "/api/cart").await.expect(200)["total_cents"]
        .as_u64()
        .unwrap();

    let placed = t.checkout(&token, None).await;
    let order = placed.expect(201).clone();
    assert_eq!(order["status"], "confirmed");
    assert_eq!(order["total_cents"].as_u64(), Some(cart_total));
    let id = order["order_id"].as_u64().unwrap();
    assert_eq!(
        placed.headers["location"],
        format!("/api/orders/{id}").as_str()
    );

    assert_eq!(t.stock("SKU-00021").await, before - 2);
    assert!(
        t.get_as(&token, "/api/cart").await.expect(200)["lines"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        t.get_as(&token, &format!("/api/orders/{id}"))
            .await
            .expect(200)["total_cents"],
        order["total_cents"]
    );
    let list = t.get_as(&token, "/api/orders").await;
    assert_eq!(list.expect(200)["orders"][0]["order_id"].as_u64(), Some(id));

    let stranger = t.user("grace").await;
    t.get_as(&stranger, &format!("/api/orders/{id}"))
        .await
        .expect_error(404, "not_found");
    t.get_as(&token, "/api/orders/999999")
        .await
        .expect_error(404, "not_found");
    // Ids outside 1..=i64::MAX (the rowid range) are the client's mistake, not a 500.
    for bad in [
        "abc",
        "0",
        "-1",
        "9223372036854775808",
        "99999999999999999999",
    ] {
        let answer = t.get_as(&token, &format!("/api/orders/{bad}")).await;
        answer.expect_error(400, "invalid_input");
        let message = answer.body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("order_id"), "{bad}: {}", answer.body);
    }
    t.get_as(&token, "/api/orders?limit=0")
        .await
        .expect_error(400, "invalid_input");

    t.checkout(&token, None)
        .await
        .expect_error(409, "cart_empty");
    t.add_to_cart(&token, "SKU-00021", 1).await.expect(200);
    t.checkout_with_card(&token, None, "12ab")
        .await
        .expect_error(400, "invalid_input");
    t.send(
        t.request(Method::POST, "/api/checkout")
            .bearer_auth(&token)
            .json(&json!({})),
    )
    .await
    .expect_error(400, "invalid_body");
    let bad_key = t
        .request(Method::POST, "/api/checkout")
        .bearer_auth(&token)
        .header("idempotency-key", "k".repeat(65))
        .json(&json!({"card_number": "4242424242424242"}));
    t.send(bad_key).await.expect_error(400, "invalid_input");
}

/// A declined card and short stock leave stock and money as they were.
pub async fn checkout_failures_compensate(t: &Target) {
    let token = t.user("heidi").await;
    let before = t.stock("SKU-00031").await;
    t.add_to_cart(&token, "SKU-00031", 3).await.expect(200);
    t.checkout_with_card(&token, None, "4000000000000002")
        .await
        .expect_error(402, "payment_declined");
    assert_eq!(
        t.stock("SKU-00031").await,
        before,
        "a declined checkout must release its reservation"
    );
    assert_eq!(
        t.get_as(&token, "/api/cart").await.expect(200)["lines"][0]["quantity"],
        3,
        "the cart stays"
    );

    // Buy more than exists, in lots of 99 across users, until stock runs short.
    let stock = t.stock("SKU-00032").await;
    let mut bought = 0;
    let mut refused = false;
    for i in 0..=(stock / 99 + 1) {
        let buyer = t.user(&format!("bulk{i}")).await;
        t.add_to_cart(&buyer, "SKU-00032", 99).await.expect(200);
        let answer = t.checkout(&buyer, None).await;
        if answer.status.as_u16() == 409 {
            answer.expect_error(409, "insufficient_stock");
            refused = true;
            break;
        }
        answer.expect(201);
        bought += 99;
    }
    assert!(refused, "stock must run out");
    assert_eq!(t.stock("SKU-00032").await, stock - bought);

    let audit = t.audit().await;
    assert_eq!(audit["violations"], json!([]), "{audit}");
    assert_eq!(audit["payments"]["declined"], 1, "{audit}");
}

/// The same Idempotency-Key returns the same order and charges once.
pub async fn idempotent_checkout(t: &Target) {
    let token = t.user("ivan").await;
    t.add_to_cart(&token, "SKU-00041", 1).await.expect(200);
    let first = t.checkout(&token, Some("order-abc")).await;
    let order = first.expect(201).clone();
    assert!(first.headers.get("idempotent-replayed").is_none());

    t.add_to_cart(&token, "SKU-00042", 1).await.expect(200);
    for _ in 0..3 {
        let again = t.checkout(&token, Some("order-abc")).await;
        assert_eq!(again.expect(200)["order_id"], order["order_id"]);
        assert_eq!(again.headers["idempotent-replayed"], "true");
    }
    // The line added after the first checkout is still in the cart, unbought.
    let cart = t.get_as(&token, "/api/cart").await.expect(200).clone();
    assert_eq!(cart["lines"][0]["sku"], "SKU-00042");

    // The key is the user's own: another user with the same key gets a new order.
    let judy = t.user("judy").await;
    t.add_to_cart(&judy, "SKU-00041", 1).await.expect(200);
    assert_ne!(
        t.checkout(&judy, Some("order-abc")).await.expect(201)["order_id"],
        order["order_id"]
    );

    // A declined checkout replays its decline.
    let kim = t.user("kim").await;
    t.add_to_cart(&kim, "SKU-00043", 1).await.expect(200);
    t.checkout_with_card(&kim, Some("k1"), "4000000000000002")
        .await
        .expect_error(402, "payment_declined");
    t.checkout_with_card(&kim, Some("k1"), "4000000000000002")
        .await
        .expect_error(402, "payment_declined");

    let audit = t.audit().await;
    assert_eq!(audit["payments"]["captured"], 2, "{audit}");
    assert_eq!(audit["orders"]["confirmed"], 2, "{audit}");
    assert_eq!(audit["violations"], json!([]), "{audit}");
}

/// Recommendations for a user are scored, limited, and leave out what they have.
pub async fn recommendations(t: &Target) {
    let token = t.user("leo").await;
    let cold = t.get_as(&token, "/api/recommendations").await;
    assert_eq!(cold.expect(200)["items"].as_array().unwrap().len(), 10);

    t.add_to_cart(&token, "SKU-00051", 1).await.expect(200);
    let category = t.get("/api/products/SKU-00051").await.expect(200)["category"].clone();
    let warm = t.get_as(&token, "/api/recommendations?limit=5").await;
    let items = warm.expect(200)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 5);
    assert!(
        items.iter().all(|i| i["sku"] != "SKU-00051"),
        "history is not recommended back"
    );
    assert!(
        items.iter().filter(|i| i["category"] == category).count() >= 3,
        "taste follows the cart: {items:?}"
    );
    let scores: Vec<f64> = items.iter().map(|i| i["score"].as_f64().unwrap()).collect();
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1]),
        "best first: {scores:?}"
    );

    t.get_as(&token, "/api/recommendations?limit=0")
        .await
        .expect_error(400, "invalid_input");
    t.get_as(&token, "/api/recommendations?limit=51")
        .await
        .expect_error(400, "invalid_input");
}

/// After a run of orders, the audit totals match what the clients saw.
pub async fn audit_totals(t: &Target) {
    let initial = t.audit().await;
    let initial_stock = initial["inventory"]["initial"].as_u64().unwrap();
    assert_eq!(
        initial["inventory"]["available"].as_u64(),
        Some(initial_stock)
    );
    assert_eq!(
        initial["inventory"]["skus"].as_u64(),
        Some(t.products as u64)
    );

    let mut paid = 0;
    let mut units = 0;
    for i in 0..5u32 {
        let token = t.user(&format!("shopper{i}")).await;
        t.add_to_cart(&token, &format!("SKU-{:05}", 60 + i), i + 1)
            .await
            .expect(200);
        t.add_to_cart(&token, "SKU-00070", 1).await.expect(200);
        paid += t.checkout(&token, Some("once")).await.expect(201)["total_cents"]
            .as_u64()
            .unwrap();
        t.checkout(&token, Some("once")).await.expect(200);
        units += u64::from(i + 1) + 1;
    }
    let declined = t.user("decliner").await;
    t.add_to_cart(&declined, "SKU-00071", 2).await.expect(200);
    t.checkout_with_card(&declined, None, "4000000000000002")
        .await
        .expect_error(402, "payment_declined");

    let audit = t.audit().await;
    assert_eq!(audit["violations"], json!([]), "{audit}");
    assert_eq!(audit["orders"]["confirmed"], 5, "{audit}");
    assert_eq!(
        audit["orders"]["confirmed_cents"].as_u64(),
        Some(paid),
        "{audit}"
    );
    assert_eq!(
        audit["payments"]["captured_cents"].as_u64(),
        Some(paid),
        "{audit}"
    );
    assert_eq!(audit["payments"]["captured"], 5, "{audit}");
    assert_eq!(
        audit["inventory"]["committed"].as_u64(),
        Some(units),
        "{audit}"
    );
    assert_eq!(audit["inventory"]["reserved"], 0, "{audit}");
    assert_eq!(
        audit["inventory"]["available"].as_u64(),
        Some(initial_stock - units),
        "{audit}"
    );
}

/// Faults through /admin/: guarded by the token, scoped to one component, cleared cleanly.
pub async fn admin_faults(t: &Target) {
    t.send(t.request(Method::GET, "/admin/faults"))
        .await
        .expect_error(401, "unauthorized");
    t.send(
        t.request(Method::GET, "/admin/audit")
            .header("x-admin-token", "wrong"),
    )
    .await
    .expect_error(401, "unauthorized");
    assert_eq!(
        t.send(t.admin(Method::GET, "/admin/faults"))
            .await
            .expect(200)["faults"],
        json!({})
    );

    let fail = json!({"kind": "fail", "rate": 1.0});
    t.set_fault("catalog", fail).await;
    let answer = t.get("/api/products/SKU-00001").await;
    answer.expect_error(503, "unavailable");
    assert_eq!(answer.body["error"]["component"], "catalog");
    // A fault in catalog does not touch what does not call catalog.
    t.post_json(
        "/api/users",
        json!({"username": "mallory", "password": "correct horse battery"}),
    )
    .await
    .expect(201);

    t.clear_faults(Some("catalog")).await;
    t.get("/api/products/SKU-00001").await.expect(200);

    let slow = json!({"kind": "slow", "latency_ms": 300});
    t.set_fault("inventory", slow).await;
    let start = std::time::Instant::now();
    t.get("/api/products/SKU-00001").await.expect(200);
    assert!(start.elapsed() >= std::time::Duration::from_millis(300));
    t.clear_faults(None).await;

    let burn = json!({"kind": "burn_cpu", "cpu_ms": 200});
    t.set_fault("catalog", burn).await;
    let start = std::time::Instant::now();
    t.get("/api/products/SKU-00001").await.expect(200);
    assert!(start.elapsed() >= std::time::Duration::from_millis(200));
    t.clear_faults(Some("catalog")).await;

    // A hung payments holds checkout until the fault is cleared, then it completes;
    // meanwhile what does not call payments answers.
    let token = t.user("hung_buyer").await;
    t.add_to_cart(&token, "SKU-00004", 1).await.expect(200);
    t.set_fault("payments", json!({"kind": "hang"})).await;
    let checkout = tokio::spawn({
        let t = t.clone();
        async move { t.checkout(&token, Some("hung-1")).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !checkout.is_finished(),
        "a hung payments must hold the checkout"
    );
    t.get("/api/products/SKU-00004").await.expect(200);
    t.clear_faults(Some("payments")).await;
    let answer = tokio::time::timeout(std::time::Duration::from_secs(10), checkout)
        .await
        .expect("the checkout resumes once the hang is cleared")
        .unwrap();
    answer.expect(201);

    for (component, body) in [
        ("billing", json!({"kind": "hang"})),
        ("catalog", json!({"kind": "fail", "rate": 2.0})),
        ("catalog", json!({"kind": "explode"})),
        ("catalog", json!({"kind": "slow"})),
    ] {
        let answer = t
            .send(
                t.admin(Method::PUT, &format!("/admin/faults/{component}"))
                    .json(&body),
            )
            .await;
        assert_eq!(
            answer.status.as_u16(),
            400,
            "{component} {body}: {}",
            answer.text
        );
    }
    assert_eq!(
        t.send(t.admin(Method::GET, "/admin/faults"))
            .await
            .expect(200)["faults"],
        json!({})
    );
}
