//! A deployed shop as the suite sees it: a base URL, an admin token, and a client.

use reqwest::{Client, Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};

/// Where the shop under test answers.
#[derive(Debug, Clone)]
pub struct Target {
    pub base_url: String,
    pub admin_token: String,
    /// How many products the deployment was seeded with.
    pub products: usize,
    pub client: Client,
}

/// What a test needs from a deployment; dropping it must stop every process.
pub trait Deployment {
    fn target(&self) -> &Target;
}

/// An answer with its body already read as JSON (or `Null` when it is not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Answer {
    pub async fn read(response: Response) -> Answer {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("read body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            body,
            text,
        }
    }

    /// Asserts the status and returns the body.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        &self.body
    }

    /// Asserts a JSON error answer with this status and code.
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        assert_eq!(
            self.body["error"]["code"], code,
            "unexpected error code; body: {}",
            self.text
        );
        assert!(
            self.body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{}",
            self.text
        );
    }
}

impl Target {
    pub fn new(base_url: String, admin_token: String, products: usize) -> Target {
        let client = Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .expect("build HTTP client");
        Target {
            base_url,
            admin_token,
            products,
            client,
        }
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{}", self.base_url, path))
    }

    pub async fn send(&self, request: RequestBuilder) -> Answer {
        Answer::read(request.send().await.expect("send request")).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(self.request(Method::GET, path)).await
    }

    pub async fn get_as(&self, token: &str, path: &str) -> Answer {
        self.send(self.request(Method::GET, path).bearer_auth(token))
            .await
    }

    pub async fn post_json(&self, path: &str, body: Value) -> Answer {
        self.send(self.request(Method::POST, path).json(&body))
            .await
    }

    pub async fn post_as(&self, token: &str, path: &str, body: Value) -> Answer {
        self.send(
            self.request(Method::POST, path)
                .bearer_auth(token)
                .json(&body),
        )
        .await
    }

    pub async fn delete_as(&self, token: &str, path: &str) -> Answer {
        self.send(self.request(Method::DELETE, path).bearer_auth(token))
            .await
    }

    pub fn admin(&self, method: Method, path: &str) -> RequestBuilder {
        self.request(method, path)
            .header("x-admin-token", &self.admin_token)
    }

    /// Puts `fault` (a `/admin/faults` body) on `component`; panics unless accepted.
    pub async fn set_fault(&self, component: &str, fault: Value) {
        let path = format!("/admin/faults/{component}");
        self.send(self.admin(Method::PUT, &path).json(&fault))
            .await
            .expect(200);
    }

    /// Clears the fault of `component`, or of every component when `None`.
    pub async fn clear_faults(&self, component: Option<&str>) {
        let path = match component {
            Some(component) => format!("/admin/faults/{component}"),
            None => "/admin/faults".to_owned(),
        };
        self.send(self.admin(Method::DELETE, &path))
            .await
            .expect(200);
    }

    /// Registers `username` and logs in; returns the bearer token.
    pub async fn user(&self, username: &str) -> String {
        let credentials = json!({"username": username, "password": "correct horse battery"});
        self.post_json("/api/users", credentials.clone())
            .await
            .expect(201);
        let session = self.post_json("/api/sessions", credentials).await;
        session.expect(200)["token"]
            .as_str()
            .expect("token")
            .to_owned()
    }

    /// Adds `quantity` of `sku` to the cart of `token`'s user.
    pub async fn add_to_cart(&self, token: &str, sku: &str, quantity: u32) -> Answer {
        self.post_as(
            token,
            "/api/cart/items",
            json!({"sku": sku, "quantity": quantity}),
        )
        .await
    }

    /// Checks out with an approved test card and an optional idempotency key.
    pub async fn checkout(&self, token: &str, key: Option<&str>) -> Answer {
        self.checkout_with_card(token, key, "4242424242424242")
            .await
    }

    pub async fn checkout_with_card(&self, token: &str, key: Option<&str>, card: &str) -> Answer {
        let mut request = self
            .request(Method::POST, "/api/checkout")
            .bearer_auth(token)
            .json(&json!({"card_number": card}));
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        self.send(request).await
    }

    pub async fn audit(&self) -> Value {
        self.send(self.admin(Method::GET, "/admin/audit"))
            .await
            .expect(200)
            .clone()
    }

    /// Units of `sku` available now, from its product page.
    pub async fn stock(&self, sku: &str) -> u64 {
        self.get(&format!("/api/products/{sku}")).await.expect(200)["stock"]
            .as_u64()
            .expect("stock")
    }
}
