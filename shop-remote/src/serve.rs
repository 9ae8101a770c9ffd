//! The internal routes a service hosts its component behind:
//! `POST /internal/{component}/{operation}`, arguments in the body as a tuple, in the
//! codec the `Content-Type` names.
//!
//! Answers: `200` with the operation's value, or `422` with the [`ShopError`] it returned
//! (a domain answer, or a dependency being unavailable, carried as is); both in the
//! request's codec. A request that is not a well-formed call gets `400`, `413` or `415`
//! with a plain-text reason, and the service keeps running.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};
use serde::Serialize;
use serde::de::DeserializeOwned;
use shop_domain::{
    CardNumber, Cart, Catalog, Category, Cents, CheckoutRequest, Inventory, OrderId, Orders, Page,
    Password, Payments, Quantity, Recommendations, SearchText, ShopError, Sku, StockLine, UserId,
    Username, Users,
};

use crate::codec::Codec;

/// The largest internal request body: the biggest real one (a checkout's lines) is tiny.
pub const REQUEST_LIMIT_BYTES: usize = 256 * 1024;

/// One operation: decode the arguments, call, encode the answer.
fn op<S, A, T, F, Fut>(component: Arc<S>, call: F) -> MethodRouter
where
    S: ?Sized + Send + Sync + 'static,
    A: DeserializeOwned + Send + 'static,
    T: Serialize + Send + 'static,
    F: Fn(Arc<S>, A) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<T, ShopError>> + Send + 'static,
{
    post(move |request: Request| {
        let component = component.clone();
        let call = call.clone();
        async move {
            let (codec, args) = match decode_call::<A>(request).await {
                Ok(decoded) => decoded,
                Err(refusal) => return refusal,
            };
            match call(component, args).await {
                Ok(value) => answer(codec, StatusCode::OK, &value),
                Err(error) => answer(codec, StatusCode::UNPROCESSABLE_ENTITY, &error),
            }
        }
    })
}

async fn decode_call<A: DeserializeOwned>(request: Request) -> Result<(Codec, A), Response> {
    let codec = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(Codec::from_content_type)
        .ok_or_else(|| {
            refuse(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "content-type must be application/json or application/x-postcard".to_owned(),
            )
        })?;
    let bytes = to_bytes(request.into_body(), REQUEST_LIMIT_BYTES)
        .await
        .map_err(|e| refuse(StatusCode::PAYLOAD_TOO_LARGE, format!("body: {e}")))?;
    let args = codec
        .decode(&bytes)
        .map_err(|e| refuse(StatusCode::BAD_REQUEST, format!("arguments: {e}")))?;
    Ok((codec, args))
}

fn answer<T: Serialize + ?Sized>(codec: Codec, status: StatusCode, value: &T) -> Response {
    match codec.encode(value) {
        Ok(bytes) => (
            status,
            [(header::CONTENT_TYPE, codec.header_value())],
            Body::from(bytes),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(%e, "encoding an internal answer failed");
            refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "encoding failed".to_owned(),
            )
        }
    }
}

fn refuse(status: StatusCode, reason: String) -> Response {
    tracing::warn!(%status, %reason, "malformed internal call");
    (status, reason).into_response()
}

/// `catalog` behind `/internal/catalog/*`.
pub fn catalog_routes(catalog: Arc<dyn Catalog>) -> Router {
    Router::new()
        .route(
            "/internal/catalog/list",
            op(
                catalog.clone(),
                |c, (page, category): (Page, Option<Category>)| async move {
                    c.list(page, category.as_ref()).await
                },
            ),
        )
        .route(
            "/internal/catalog/get",
            op(catalog.clone(), |c, (sku,): (Sku,)| async move {
                c.get(&sku).await
            }),
        )
        .route(
            "/internal/catalog/search",
            op(
                catalog.clone(),
                |c, (text, limit): (SearchText, usize)| async move { c.search(&text, limit).await },
            ),
        )
        .route(
            "/internal/catalog/summaries",
            op(catalog.clone(), |c, (skus,): (Vec<Sku>,)| async move {
                c.summaries(&skus).await
            }),
        )
        .route(
            "/internal/catalog/embeddings",
            op(catalog, |c, (): ()| async move { c.embeddings().await }),
        )
}

/// `inventory` behind `/internal/inventory/*`.
pub fn inventory_routes(inventory: Arc<dyn Inventory>) -> Router {
    Router::new()
        .route(
            "/internal/inventory/stock",
            op(inventory.clone(), |i, (sku,): (Sku,)| async move {
                i.stock(&sku).await
            }),
        )
        .route(
            "/internal/inventory/reserve",
            op(
                inventory.clone(),
                |i, (order, lines): (OrderId, Vec<StockLine>)| async move {
                    i.reserve(order, &lines).await
                },
            ),
        )
        .route(
            "/internal/inventory/commit",
            op(inventory.clone(), |i, (order,): (OrderId,)| async move {
                i.commit(order).await
            }),
        )
        .route(
            "/internal/inventory/release",
            op(inventory.clone(), |i, (order,): (OrderId,)| async move {
                i.release(order).await
            }),
        )
        .route(
            "/internal/inventory/audit",
            op(inventory, |i, (): ()| async move { i.audit().await }),
        )
}

/// `cart` behind `/internal/cart/*`.
pub fn cart_routes(cart: Arc<dyn Cart>) -> Router {
    Router::new()
        .route(
            "/internal/cart/add",
            op(
                cart.clone(),
                |c, (user, sku, quantity): (UserId, Sku, Quantity)| async move {
                    c.add(user, &sku, quantity).await
                },
            ),
        )
        .route(
            "/internal/cart/remove",
            op(cart.clone(), |c, (user, sku): (UserId, Sku)| async move {
                c.remove(user, &sku).await
            }),
        )
        .route(
            "/internal/cart/view",
            op(cart.clone(), |c, (user,): (UserId,)| async move {
                c.view(user).await
            }),
        )
        .route(
            "/internal/cart/lines",
            op(cart.clone(), |c, (user,): (UserId,)| async move {
                c.lines(user).await
            }),
        )
        .route(
            "/internal/cart/remove_lines",
            op(
                cart,
                |c, (user, order, lines): (UserId, OrderId, Vec<StockLine>)| async move {
                    c.remove_lines(user, order, &lines).await
                },
            ),
        )
}

/// `payments` behind `/internal/payments/*`.
pub fn payments_routes(payments: Arc<dyn Payments>) -> Router {
    Router::new()
        .route(
            "/internal/payments/charge",
            op(
                payments.clone(),
                |p, (order, amount, card): (OrderId, Cents, CardNumber)| async move {
                    p.charge(order, amount, &card).await
                },
            ),
        )
        .route(
            "/internal/payments/refund",
            op(payments.clone(), |p, (order,): (OrderId,)| async move {
                p.refund(order).await
            }),
        )
        .route(
            "/internal/payments/charge_of",
            op(payments.clone(), |p, (order,): (OrderId,)| async move {
                p.charge_of(order).await
            }),
        )
        .route(
            "/internal/payments/audit",
            op(payments, |p, (): ()| async move { p.audit().await }),
        )
}

/// `orders` behind `/internal/orders/*`.
pub fn orders_routes(orders: Arc<dyn Orders>) -> Router {
    Router::new()
        .route(
            "/internal/orders/checkout",
            op(
                orders.clone(),
                |o, (user, request): (UserId, CheckoutRequest)| async move {
                    // Its own task, as in the public handler: a caller that hangs up must not
                    // cut the saga between a charge and its confirmation.
                    tokio::spawn(async move { o.checkout(user, request).await })
                        .await
                        .map_err(|e| {
                            ShopError::internal(format!("the checkout task failed: {e}"))
                        })?
                },
            ),
        )
        .route(
            "/internal/orders/get",
            op(
                orders.clone(),
                |o, (user, order): (UserId, OrderId)| async move { o.get(user, order).await },
            ),
        )
        .route(
            "/internal/orders/list",
            op(
                orders.clone(),
                |o, (user, limit): (UserId, usize)| async move { o.list(user, limit).await },
            ),
        )
        .route(
            "/internal/orders/purchased",
            op(
                orders.clone(),
                |o, (user, limit): (UserId, usize)| async move { o.purchased(user, limit).await },
            ),
        )
        .route(
            "/internal/orders/audit",
            op(orders, |o, (): ()| async move { o.audit().await }),
        )
}

/// `recommendations` behind `/internal/recommendations/*`.
pub fn recommendations_routes(recommendations: Arc<dyn Recommendations>) -> Router {
    Router::new()
        .route(
            "/internal/recommendations/related",
            op(recommendations.clone(), |r, (sku,): (Sku,)| async move {
                r.related(&sku).await
            }),
        )
        .route(
            "/internal/recommendations/for_user",
            op(
                recommendations,
                |r, (user, history, limit): (UserId, Vec<Sku>, usize)| async move {
                    r.for_user(user, &history, limit).await
                },
            ),
        )
}

/// `users` behind `/internal/users/*`.
pub fn users_routes(users: Arc<dyn Users>) -> Router {
    Router::new()
        .route(
            "/internal/users/register",
            op(
                users.clone(),
                |u, (username, password): (Username, Password)| async move {
                    u.register(&username, &password).await
                },
            ),
        )
        .route(
            "/internal/users/login",
            op(
                users,
                |u, (username, password): (Username, Password)| async move {
                    u.login(&username, &password).await
                },
            ),
        )
}
