//! The shop's users, as goose users take them: each registers and logs in when it
//! starts, then at each send it claims does one thing a shopper does, drawn from a
//! weighted [`Mix`]: browse (list, search, product page), work its cart (add, view,
//! remove), check out, or ask for recommendations.
//!
//! A step that cannot be taken yet (removing from an empty cart, checking out nothing)
//! adds to the cart instead, as a shopper would; the record names what was sent.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use goose::goose::GooseResponse;
use goose::prelude::*;
use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use reqwest::RequestBuilder;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit::{Acknowledged, Ledger};
use crate::goose_driver::{Journey, outcome_of};
use crate::record::Outcome;

/// One thing a shopper does; each is one request to one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// `GET /api/products?page=N`: a page of the catalog.
    List,
    /// `GET /api/search?q=WORD`.
    Search,
    /// `GET /api/products/{sku}`: product, stock and related products.
    ProductPage,
    /// `POST /api/cart/items`.
    AddToCart,
    /// `GET /api/cart`: the cart, priced.
    ViewCart,
    /// `DELETE /api/cart/items/{sku}`.
    RemoveFromCart,
    /// `POST /api/checkout`: reserve, charge, confirm.
    Checkout,
    /// `GET /api/recommendations`: "for me", scored over every product.
    Recommendations,
}

impl Action {
    pub const ALL: [Action; 8] = [
        Action::List,
        Action::Search,
        Action::ProductPage,
        Action::AddToCart,
        Action::ViewCart,
        Action::RemoveFromCart,
        Action::Checkout,
        Action::Recommendations,
    ];

    /// Its name in mixes, records and reports.
    pub fn name(self) -> &'static str {
        match self {
            Action::List => "list",
            Action::Search => "search",
            Action::ProductPage => "product-page",
            Action::AddToCart => "add-to-cart",
            Action::ViewCart => "view-cart",
            Action::RemoveFromCart => "remove-from-cart",
            Action::Checkout => "checkout",
            Action::Recommendations => "recommendations",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Action {
    type Err = String;
    fn from_str(name: &str) -> Result<Self, String> {
        Action::ALL
            .into_iter()
            .find(|a| a.name() == name)
            .ok_or_else(|| {
                let names: Vec<_> = Action::ALL.iter().map(|a| a.name()).collect();
                format!("no action `{name}`; the actions: {}", names.join(", "))
            })
    }
}

/// How often each action is drawn, by weight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mix {
    weights: Vec<(Action, u32)>,
}

impl Mix {
    /// A shop's day: browsing dominates, carts are worked now and then, checkout is
    /// rare (about 2% of requests, in line with published e-commerce conversion).
    pub fn shop() -> Self {
        Self {
            weights: vec![
                (Action::ProductPage, 40),
                (Action::List, 15),
                (Action::Search, 15),
                (Action::Recommendations, 10),
                (Action::AddToCart, 8),
                (Action::ViewCart, 7),
                (Action::RemoveFromCart, 3),
                (Action::Checkout, 2),
            ],
        }
    }

    /// Only `action` (with adds to the cart where it needs one).
    pub fn only(action: Action) -> Self {
        Self {
            weights: vec![(action, 1)],
        }
    }

    pub fn weights(&self) -> &[(Action, u32)] {
        &self.weights
    }

    /// Whether a shopper following it must be logged in: anything beyond browsing.
    pub fn needs_login(&self) -> bool {
        self.weights.iter().any(|&(action, weight)| {
            weight > 0 && !matches!(action, Action::List | Action::Search | Action::ProductPage)
        })
    }
}

/// `product-page=40,search=15,...`: actions not named have weight 0.
impl FromStr for Mix {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let mut weights = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, weight) = part
                .split_once('=')
                .ok_or_else(|| format!("`{part}` is not ACTION=WEIGHT"))?;
            let action: Action = name.trim().parse()?;
            let weight: u32 = weight
                .trim()
                .parse()
                .map_err(|_| format!("the weight of {action} must be a whole number"))?;
            if weights.iter().any(|(a, _)| *a == action) {
                return Err(format!("{action} is weighted twice"));
            }
            weights.push((action, weight));
        }
        if weights.iter().all(|(_, w)| *w == 0) {
            return Err("a mix needs at least one action with a positive weight".to_owned());
        }
        Ok(Self { weights })
    }
}

impl fmt::Display for Mix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<_> = self
            .weights
            .iter()
            .map(|(a, w)| format!("{a}={w}"))
            .collect();
        f.write_str(&parts.join(","))
    }
}

/// Words of the generated catalog's product names, for searches that find something.
const SEARCH_WORDS: [&str; 8] = [
    "classic", "compact", "deluxe", "books", "garden", "tools", "kitchen", "sports",
];

/// Retries of a sign-up or login the shop answered "unavailable", and the first
/// backoff (doubling: 100, 200, 400, 800 ms).
const START_RETRIES: u32 = 4;
const START_BACKOFF: std::time::Duration = std::time::Duration::from_millis(50);

/// Whether a start request is worth another try: the shop was unavailable or did not
/// answer, rather than said no.
fn worth_retrying(outcome: Outcome) -> bool {
    matches!(
        outcome,
        Outcome::Status(429 | 502 | 503 | 504) | Outcome::Timeout | Outcome::Failed
    )
}

/// A test card the shop's payments accept.
const CARD: &str = "4242424242424242";

/// The shop's users: who they are and what they do.
#[derive(Debug, Clone)]
pub struct ShopJourney {
    pub mix: Mix,
    /// Products in the catalog: SKUs are drawn from `SKU-00000` up to it.
    pub products: usize,
    /// Usernames are `{prefix}{index}`; give each measurement its own prefix, so its
    /// users start with empty carts and their checkout keys are new.
    pub username_prefix: String,
    /// Seeds each user's choices (with its index).
    pub seed: u64,
    /// Where acknowledged checkouts are written down, for the audit after a fault.
    pub ledger: Option<Arc<Ledger>>,
}

/// One shopper's state between steps.
#[derive(Debug, Clone, Default)]
pub struct Shopper {
    /// `Bearer <token>`, once logged in.
    authorization: Option<String>,
    /// SKUs in its cart, as far as it knows.
    cart: Vec<String>,
    rng: Option<ChaCha8Rng>,
    /// Distinguishes its checkouts' idempotency keys.
    checkouts: u64,
    index: usize,
}

impl ShopJourney {
    fn password(&self) -> &'static str {
        "load-test-password"
    }

    fn sku(&self, rng: &mut ChaCha8Rng) -> String {
        format!("SKU-{:05}", rng.random_range(0..self.products.max(1)))
    }
}

impl Journey for ShopJourney {
    type State = Shopper;
    /// The action, and the seed of its own choices.
    type Step = (Action, u64);

    async fn start(&self, index: usize, user: &mut GooseUser) -> Result<Shopper, String> {
        let rng = Some(ChaCha8Rng::seed_from_u64(self.seed ^ (index as u64) << 20));
        if !self.mix.needs_login() {
            // Browsing only (and the ceiling, which serves nothing else, can be driven).
            return Ok(Shopper {
                rng,
                index,
                ..Shopper::default()
            });
        }
        let credentials = json!({
            "username": format!("{}{index}", self.username_prefix),
            "password": self.password(),
        });
        let failed = |e: Box<TransactionError>| format!("user {index}: {e}");
        // Sign-up and login are retried when the shop answers "unavailable" (a service
        // shedding the storm of hundreds of users starting at once), as a person would.
        let mut attempt = 0;
        let registered = loop {
            let builder = request(user, GooseMethod::Post, "/api/users", None).map_err(failed)?;
            let outcome = send(user, "register", builder.json(&credentials)).await;
            if !worth_retrying(outcome) || attempt == START_RETRIES {
                break outcome;
            }
            attempt += 1;
            tokio::time::sleep(START_BACKOFF * 2u32.pow(attempt)).await;
        };
        if !matches!(registered, Outcome::Status(201 | 409)) {
            return Err(format!("registering user {index}: {registered:?}"));
        }
        let mut attempt = 0;
        let (logged_in, body) = loop {
            let builder = request(user, GooseMethod::Post, "/api/sessions", None)
                .map_err(failed)?
                .json(&credentials);
            let (outcome, body) = send_keeping_body(user, "login", builder).await;
            if !worth_retrying(outcome) || attempt == START_RETRIES {
                break (outcome, body);
            }
            attempt += 1;
            tokio::time::sleep(START_BACKOFF * 2u32.pow(attempt)).await;
        };
        if !logged_in.is_success() {
            return Err(format!("logging in user {index}: {logged_in:?}"));
        }
        let session: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| format!("logging in user {index}: {e}"))?;
        let token = session["token"]
            .as_str()
            .ok_or_else(|| format!("logging in user {index}: no token in {session}"))?;
        Ok(Shopper {
            authorization: Some(format!("Bearer {token}")),
            cart: Vec::new(),
            rng,
            checkouts: 0,
            index,
        })
    }

    fn next(&self, shopper: &mut Shopper) -> (&'static str, (Action, u64)) {
        let mut rng = shopper
            .rng
            .take()
            .unwrap_or_else(|| ChaCha8Rng::seed_from_u64(self.seed));
        let action = self.choose(&mut rng, shopper);
        // The step's own choices (which product) come from a seed drawn here, so a step
        // cut short by its deadline takes nothing from the shopper's sequence.
        let seed = rng.random();
        shopper.rng = Some(rng);
        (action.name(), (action, seed))
    }

    async fn step(
        &self,
        user: &mut GooseUser,
        shopper: &mut Shopper,
        (action, seed): (Action, u64),
    ) -> Outcome {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        self.request(action, user, shopper, &mut rng)
            .await
            .unwrap_or(Outcome::Failed)
    }
}

impl ShopJourney {
    /// The next action: drawn from the mix, unless it needs a cart the shopper lacks.
    fn choose(&self, rng: &mut ChaCha8Rng, shopper: &Shopper) -> Action {
        let weights = self.mix.weights();
        let drawn = match WeightedIndex::new(weights.iter().map(|(_, w)| *w)) {
            Ok(index) => weights[index.sample(rng)].0,
            Err(_) => Action::ProductPage,
        };
        match drawn {
            Action::RemoveFromCart | Action::Checkout if shopper.cart.is_empty() => {
                Action::AddToCart
            }
            other => other,
        }
    }

    async fn request(
        &self,
        action: Action,
        user: &mut GooseUser,
        shopper: &mut Shopper,
        rng: &mut ChaCha8Rng,
    ) -> Result<Outcome, Box<TransactionError>> {
        let auth = shopper.authorization.as_deref();
        let name = action.name();
        let outcome = match action {
            Action::List => {
                let page = rng.random_range(1..=(self.products / 20).clamp(1, 50));
                let path = format!("/api/products?page={page}");
                send(user, name, request(user, GooseMethod::Get, &path, None)?).await
            }
            Action::Search => {
                let word = SEARCH_WORDS[rng.random_range(0..SEARCH_WORDS.len())];
                let path = format!("/api/search?q={word}");
                send(user, name, request(user, GooseMethod::Get, &path, None)?).await
            }
            Action::ProductPage => {
                let path = format!("/api/products/{}", self.sku(rng));
                send(user, name, request(user, GooseMethod::Get, &path, None)?).await
            }
            Action::Recommendations => {
                send(
                    user,
                    name,
                    request(user, GooseMethod::Get, "/api/recommendations?limit=8", auth)?,
                )
                .await
            }
            Action::ViewCart => {
                send(
                    user,
                    name,
                    request(user, GooseMethod::Get, "/api/cart", auth)?,
                )
                .await
            }
            Action::AddToCart => {
                let sku = self.sku(rng);
                let body = json!({ "sku": sku, "quantity": 1 });
                let outcome = send(
                    user,
                    name,
                    request(user, GooseMethod::Post, "/api/cart/items", auth)?.json(&body),
                )
                .await;
                if outcome.is_success() && !shopper.cart.contains(&sku) {
                    shopper.cart.push(sku);
                }
                outcome
            }
            Action::RemoveFromCart => {
                let at = rng.random_range(0..shopper.cart.len());
                let path = format!("/api/cart/items/{}", shopper.cart[at]);
                let builder = request(user, GooseMethod::Delete, &path, auth)?;
                let outcome = send(user, name, builder).await;
                if outcome.is_success() {
                    shopper.cart.swap_remove(at);
                }
                outcome
            }
            Action::Checkout => {
                shopper.checkouts += 1;
                // Unique to this user of this measurement: a key seen before would be
                // answered as a replay of that order, not a checkout.
                let key = format!(
                    "{}{}-c{}",
                    self.username_prefix, shopper.index, shopper.checkouts
                );
                let builder = request(user, GooseMethod::Post, "/api/checkout", auth)?
                    .header("idempotency-key", key)
                    .json(&json!({ "card_number": CARD }));
                let (outcome, body) = send_keeping_body(user, name, builder).await;
                // Bought or not, what was in the cart is no longer known for sure; a
                // stale line only makes a later removal a 404, never a wrong figure.
                if outcome.is_success() {
                    shopper.cart.clear();
                    if let (Some(ledger), Some(auth)) = (&self.ledger, auth)
                        && let Some(order) = acknowledged(&body, auth)
                    {
                        ledger.record(order);
                    }
                }
                outcome
            }
        };
        Ok(outcome)
    }
}

/// A `method` request to `path`, with the shopper's authorization if it has one.
fn request(
    user: &GooseUser,
    method: GooseMethod,
    path: &str,
    auth: Option<&str>,
) -> Result<RequestBuilder, Box<TransactionError>> {
    let builder = user.get_request_builder(&method, path)?;
    Ok(match auth {
        Some(auth) => builder.header("authorization", auth),
        None => builder,
    })
}

/// [`send`], keeping the answer's body.
async fn send_keeping_body(
    user: &mut GooseUser,
    name: &str,
    builder: RequestBuilder,
) -> (Outcome, Vec<u8>) {
    let request = GooseRequest::builder()
        .name(name)
        .set_request_builder(builder)
        .build();
    match user.request(request).await {
        Ok(GooseResponse {
            response: Ok(response),
            ..
        }) => {
            let status = response.status().as_u16();
            let body = response
                .bytes()
                .await
                .map(|b| b.to_vec())
                .unwrap_or_default();
            (Outcome::Status(status), body)
        }
        _ => (Outcome::Failed, Vec::new()),
    }
}

/// The order a checkout's answer acknowledges, if it is a confirmed one.
fn acknowledged(body: &[u8], authorization: &str) -> Option<Acknowledged> {
    let order: serde_json::Value = serde_json::from_slice(body).ok()?;
    if order["status"] != "confirmed" {
        return None;
    }
    let units = order["lines"]
        .as_array()?
        .iter()
        .map(|line| line["quantity"].as_u64())
        .sum::<Option<u64>>()?;
    Some(Acknowledged {
        order_id: order["order_id"].as_u64()?,
        total_cents: order["total_cents"].as_u64()?,
        units,
        authorization: authorization.to_owned(),
    })
}

/// Sends through goose, named `name` in goose's metrics, and says how it ended.
async fn send(user: &mut GooseUser, name: &str, builder: RequestBuilder) -> Outcome {
    let request = GooseRequest::builder()
        .name(name)
        .set_request_builder(builder)
        .build();
    outcome_of(user.request(request).await).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mix_reads_and_prints_the_same() {
        let mix: Mix = "product-page=40, checkout=2".parse().unwrap();
        assert_eq!(
            mix.weights(),
            &[(Action::ProductPage, 40), (Action::Checkout, 2)]
        );
        assert_eq!(mix.to_string(), "product-page=40,checkout=2");
        assert_eq!(Mix::shop().to_string().parse::<Mix>().unwrap(), Mix::shop());
    }

    #[test]
    fn only_a_confirmed_checkout_goes_in_the_ledger() {
        let body = br#"{"order_id":7,"status":"confirmed","total_cents":1250,
            "lines":[{"sku":"SKU-00001","quantity":2},{"sku":"SKU-00002","quantity":1}]}"#;
        let order = acknowledged(body, "Bearer t").unwrap();
        assert_eq!(
            (order.order_id, order.total_cents, order.units),
            (7, 1250, 3)
        );
        assert_eq!(order.authorization, "Bearer t");
        let failed = br#"{"order_id":8,"status":"failed","total_cents":1,"lines":[]}"#;
        assert_eq!(acknowledged(failed, "Bearer t"), None);
        assert_eq!(acknowledged(b"not json", "Bearer t"), None);
    }

    #[test]
    fn only_shoppers_who_do_more_than_browse_log_in() {
        assert!(!Mix::only(Action::ProductPage).needs_login());
        assert!(
            !"list=1,search=1,checkout=0"
                .parse::<Mix>()
                .unwrap()
                .needs_login()
        );
        assert!(Mix::shop().needs_login());
        assert!(Mix::only(Action::ViewCart).needs_login());
    }

    #[test]
    fn a_bad_mix_says_what_is_wrong() {
        let error = "product=40".parse::<Mix>().unwrap_err();
        assert!(error.contains("product-page"), "{error}");
        assert!("list".parse::<Mix>().unwrap_err().contains("ACTION=WEIGHT"));
        assert!(
            "list=-1"
                .parse::<Mix>()
                .unwrap_err()
                .contains("whole number")
        );
        assert!("list=0".parse::<Mix>().unwrap_err().contains("positive"));
        assert!(
            "list=1,list=2"
                .parse::<Mix>()
                .unwrap_err()
                .contains("twice")
        );
    }

    #[test]
    fn the_draw_follows_the_weights_and_never_checks_out_an_empty_cart() {
        let journey = ShopJourney {
            mix: Mix::shop(),
            products: 100,
            username_prefix: "t".to_owned(),
            seed: 1,
            ledger: None,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let empty = Shopper::default();
        let full = Shopper {
            cart: vec!["SKU-00001".to_owned()],
            ..Shopper::default()
        };
        let draws = 100_000;
        let mut pages = 0;
        for _ in 0..draws {
            let action = journey.choose(&mut rng, &empty);
            assert!(!matches!(action, Action::Checkout | Action::RemoveFromCart));
            pages += usize::from(journey.choose(&mut rng, &full) == Action::ProductPage);
        }
        let share = pages as f64 / draws as f64;
        assert!((share - 0.40).abs() < 0.01, "product pages were {share}");
    }
}
