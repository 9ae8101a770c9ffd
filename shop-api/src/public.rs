//! The public API's handlers. Each one validates its input into domain values, calls
//! the shop, and shapes the answer; none knows whether a component is local or remote.

use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use shop_domain::{
    CardNumber, Category, CheckoutRequest, OrderId, Page, Password, Quantity, SearchText,
    ShopError, Sku, Username,
};

use crate::dto::*;
use crate::error::ErrorBody;
use crate::extract::{AuthUser, IdempotencyHeader, JsonBody, Path, Query};
use crate::{ApiError, Shared};

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/users", post(register))
        .route("/api/sessions", post(login))
        .route("/api/products", get(list_products))
        .route("/api/products/{sku}", get(product_page))
        .route("/api/search", get(search))
        .route("/api/cart", get(view_cart))
        .route("/api/cart/items", post(add_to_cart))
        .route("/api/cart/items/{sku}", delete(remove_from_cart))
        .route("/api/checkout", post(checkout))
        .route("/api/orders", get(list_orders))
        .route("/api/orders/{order_id}", get(get_order))
        .route("/api/recommendations", get(recommendations))
}

/// A `limit` query parameter: 1 to 50, or `default` when absent.
fn limit(raw: Option<u32>, default: u32) -> Result<usize, ShopError> {
    match raw.unwrap_or(default) {
        n @ 1..=50 => Ok(n as usize),
        _ => Err(ShopError::invalid("limit", "must be between 1 and 50")),
    }
}

/// Register a new user.
#[utoipa::path(post, path = "/api/users", tag = "users", request_body = Credentials,
    responses((status = 201, body = Registered), (status = 400, body = ErrorBody),
              (status = 409, description = "username taken", body = ErrorBody)))]
async fn register(
    State(app): State<Shared>,
    JsonBody(body): JsonBody<Credentials>,
) -> Result<(StatusCode, Json<Registered>), ApiError> {
    let username = Username::parse(&body.username)?;
    let password = Password::parse(&body.password)?;
    let user = app.shop.users.register(&username, &password).await?;
    Ok((StatusCode::CREATED, Json(Registered { user_id: user.0 })))
}

/// Log in: returns a signed token for `Authorization: Bearer`.
#[utoipa::path(post, path = "/api/sessions", tag = "users", request_body = Credentials,
    responses((status = 200, body = SessionBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn login(
    State(app): State<Shared>,
    JsonBody(body): JsonBody<Credentials>,
) -> Result<Json<SessionBody>, ApiError> {
    let username = Username::parse(&body.username)?;
    let password = Password::parse(&body.password)?;
    let session = app.shop.users.login(&username, &password).await?;
    Ok(Json(session.into()))
}

/// List products in SKU order, optionally of one category.
#[utoipa::path(get, path = "/api/products", tag = "catalog", params(ListParams),
    responses((status = 200, body = ProductListBody), (status = 400, body = ErrorBody),
              (status = 404, description = "unknown category", body = ErrorBody)))]
async fn list_products(
    State(app): State<Shared>,
    Query(params): Query<ListParams>,
) -> Result<Json<ProductListBody>, ApiError> {
    let page = Page::new(params.page.unwrap_or(1), params.per_page.unwrap_or(20))?;
    let category = params
        .category
        .as_deref()
        .map(Category::parse)
        .transpose()?;
    let list = app.shop.catalog.list(page, category.as_ref()).await?;
    Ok(Json(ProductListBody {
        items: list.items.into_iter().map(ProductCard::from).collect(),
        page: list.page,
        per_page: list.per_page,
        total: list.total,
    }))
}

/// A product page: the product, its stock and related products.
#[utoipa::path(get, path = "/api/products/{sku}", tag = "catalog",
    params(("sku" = String, Path, description = "like SKU-00042")),
    responses((status = 200, body = ProductPageBody), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn product_page(
    State(app): State<Shared>,
    Path(sku): Path<String>,
) -> Result<Json<ProductPageBody>, ApiError> {
    let sku = Sku::parse(&sku)?;
    Ok(Json(app.shop.product_page(&sku).await?.into()))
}

/// Search product names and descriptions.
#[utoipa::path(get, path = "/api/search", tag = "catalog", params(SearchParams),
    responses((status = 200, body = SearchBody), (status = 400, body = ErrorBody)))]
async fn search(
    State(app): State<Shared>,
    Query(params): Query<SearchParams>,
) -> Result<Json<SearchBody>, ApiError> {
    let text = SearchText::parse(&params.q)?;
    let items = app
        .shop
        .catalog
        .search(&text, limit(params.limit, 20)?)
        .await?;
    Ok(Json(SearchBody {
        items: items.into_iter().map(ProductCard::from).collect(),
    }))
}

/// The caller's cart, priced now.
#[utoipa::path(get, path = "/api/cart", tag = "cart", security(("bearer" = [])),
    responses((status = 200, body = CartBody), (status = 401, body = ErrorBody)))]
async fn view_cart(
    State(app): State<Shared>,
    AuthUser(user): AuthUser,
) -> Result<Json<CartBody>, ApiError> {
    Ok(Json(app.shop.cart.view(user).await?.into()))
}

/// Add units of a product to the caller's cart.
#[utoipa::path(post, path = "/api/cart/items", tag = "cart", security(("bearer" = [])), request_body = AddToCart,
    responses((status = 200, body = CartBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn add_to_cart(
    State(app): State<Shared>,
    AuthUser(user): AuthUser,
    JsonBody(body): JsonBody<AddToCart>,
) -> Result<Json<CartBody>, ApiError> {
    let sku = Sku::parse(&body.sku)?;
    let quantity = Quantity::new(body.quantity)?;
    Ok(Json(app.shop.cart.add(user, &sku, quantity).await?.into()))
}

/// Remove a product's line from the caller's cart.
#[utoipa::path(delete, path = "/api/cart/items/{sku}", tag = "cart", security(("bearer" = [])),
    params(("sku" = String, Path)),
    responses((status = 200, body = CartBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn remove_from_cart(
    State(app): State<Shared>,
    AuthUser(user): AuthUser,
    Path(sku): Path<String>,
) -> Result<Json<CartBody>, ApiError> {
    let sku = Sku::parse(&sku)?;
    Ok(Json(app.shop.cart.remove(user, &sku).await?.into()))
}

/// Buy what is in the cart. With an `Idempotency-Key`, a retry returns the first
/// attempt's order (200, `Idempotent-Replayed: true`) and never charges twice.
#[utoipa::path(post, path = "/api/checkout", tag = "orders", security(("bearer" = [])), request_body = CheckoutBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "1 to 64 printable ASCII characters")),
    responses((status = 201, body = OrderBody), (status = 200, description = "replayed", body = OrderBody),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 402, body = ErrorBody),
              (status = 409, description = "insufficient stock, empty cart, or in progress", body = ErrorBody),
              (status = 503, body = ErrorBody)))]
async fn checkout(
    State(app): State<Shared>,
    AuthUser(user): AuthUser,
    IdempotencyHeader(idempotency_key): IdempotencyHeader,
    JsonBody(body): JsonBody<CheckoutBody>,
) -> Result<Response, ApiError> {
    let card = CardNumber::parse(&body.card_number)?;
    let request = CheckoutRequest {
        idempotency_key,
        card,
    };
    // The saga runs in its own task: a client that hangs up mid-checkout must not cut it
    // between a charge and its order's confirmation (or its compensation).
    let saga = tokio::spawn(async move { app.shop.orders.checkout(user, request).await });
    let outcome = saga
        .await
        .map_err(|e| ShopError::internal(format!("the checkout task failed: {e}")))??;
    let location = HeaderValue::from_str(&format!("/api/orders/{}", outcome.order.id))
        .map_err(|e| ShopError::internal(format!("order location header: {e}")))?;
    let body = Json(OrderBody::from(outcome.order));
    Ok(if outcome.replayed {
        let replayed = (
            HeaderName::from_static("idempotent-replayed"),
            HeaderValue::from_static("true"),
        );
        (
            StatusCode::OK,
            [(header::LOCATION, location), replayed],
            body,
        )
            .into_response()
    } else {
        (StatusCode::CREATED, [(header::LOCATION, location)], body).into_response()
    })
}

/// The caller's orders, newest first.
#[utoipa::path(get, path = "/api/orders", tag = "orders", security(("bearer" = [])), params(LimitParams),
    responses((status = 200, body = OrderListBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn list_orders(
    State(app): State<Shared>,
    AuthUser(user): AuthUser,
    Query(params): Query<LimitParams>,
) -> Result<Json<OrderListBody>, ApiError> {
    let orders = app.shop.orders.list(user, limit(params.limit, 20)?).await?;
    Ok(Json(OrderListBody {
        orders: orders.into_iter().map(OrderBody::from).collect(),
    }))
}

/// One of the caller's orders.
#[utoipa::path(get, path = "/api/orders/{order_id}", tag = "orders", security(("bearer" = [])),
    params(("order_id" = u64, Path)),
    responses((status = 200, body = OrderBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
async fn get_order(
    State(app): State<Shared>,
    AuthUser(user): AuthUser,
    Path(order_id): Path<String>,
) -> Result<Json<OrderBody>, ApiError> {
    let order_id = OrderId::parse(&order_id)?;
    Ok(Json(app.shop.orders.get(user, order_id).await?.into()))
}

/// Products picked for the caller from what they have in the cart and have bought.
#[utoipa::path(get, path = "/api/recommendations", tag = "recommendations", security(("bearer" = [])),
    params(LimitParams),
    responses((status = 200, body = RecommendationsBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn recommendations(
    State(app): State<Shared>,
    AuthUser(user): AuthUser,
    Query(params): Query<LimitParams>,
) -> Result<Json<RecommendationsBody>, ApiError> {
    let items = app
        .shop
        .recommendations_for(user, limit(params.limit, 10)?)
        .await?;
    Ok(Json(RecommendationsBody {
        items: items.into_iter().map(RecommendationBody::from).collect(),
    }))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "shop", description = "The shop's public API, identical in the monolith and the split build."),
    paths(register, login, list_products, product_page, search, view_cart, add_to_cart, remove_from_cart,
          checkout, list_orders, get_order, recommendations),
    modifiers(&BearerAuth)
)]
pub(crate) struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}
