//! The replicas of one service, as one tower service: each call goes to one replica,
//! picked by power-of-two-choices on in-flight requests (`tower::balance::p2c`).
//!
//! Which replicas are in the rotation is [`crate::rotation`]'s business: a replica
//! leaves it when a call cannot connect or its readiness probes fail, and behind the
//! balancer (one task, the buffer's worker) an ejected replica is skipped until it
//! returns. A call made when no replica is in the rotation fails at once as unreached;
//! one already queued in the balancer's buffer waits for a replica to return (or for its
//! deadline).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::http::{Method, Request, StatusCode, Uri, header};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use shop_domain::{Component, ShopError};
use tower::Service;
use tower::balance::p2c::Balance;
use tower::buffer::Buffer;
use tower::discover::ServiceList;
use tower::load::{CompleteOnResponse, PendingRequests};
use tower::util::BoxCloneSyncService;

use crate::codec::Codec;
use crate::rotation::{Probes, Seat};

/// The largest answer accepted: the catalog's embeddings are the biggest.
pub const ANSWER_LIMIT_BYTES: usize = 64 * 1024 * 1024;

/// One internal call on its way: which operation, and the encoded arguments.
#[derive(Debug, Clone)]
pub struct Call {
    pub operation: &'static str,
    /// Whether sending it twice is safe (reads, and writes keyed by order id).
    pub idempotent: bool,
    pub codec: Codec,
    pub body: Bytes,
}

/// A well-formed answer (`200` or `422`, in a codec), before decoding.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    /// The codec its `Content-Type` names.
    pub codec: Codec,
    pub body: Bytes,
}

/// Calls of one component, wherever its replicas are.
pub type CallService = BoxCloneSyncService<Call, Answer, ShopError>;

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// One replica: its address, the shared connection pool, and its place in the rotation.
#[derive(Debug, Clone)]
struct Endpoint {
    /// Behind the balancer (one task polls readiness): an ejected endpoint is not ready.
    /// Alone (called from many tasks): always ready, and a call while ejected fails.
    balanced: bool,
    component: Component,
    seat: Seat,
    client: HttpClient,
}

impl Endpoint {
    fn unavailable(&self, operation: &str, why: impl std::fmt::Display) -> ShopError {
        ShopError::unavailable(
            self.component,
            format!(
                "{}.{operation} at {}: {why}",
                self.component, self.seat.base
            ),
        )
    }
}

impl Service<Call> for Endpoint {
    type Response = Answer;
    type Error = ShopError;
    type Future = Pin<Box<dyn Future<Output = Result<Answer, ShopError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ShopError>> {
        if !self.balanced {
            return Poll::Ready(Ok(()));
        }
        self.seat.poll_in_rotation(cx).map(Ok)
    }

    fn call(&mut self, call: Call) -> Self::Future {
        let endpoint = self.clone();
        Box::pin(async move {
            let operation = call.operation;
            if endpoint.seat.is_ejected() {
                return Err(ShopError::unreached(
                    endpoint.component,
                    format!(
                        "{}.{operation}: {} is out of the rotation",
                        endpoint.component, endpoint.seat.base
                    ),
                ));
            }
            let uri: Uri = format!(
                "{}/internal/{}/{operation}",
                endpoint.seat.base, endpoint.component
            )
            .parse()
            .map_err(|e| ShopError::internal(format_args!("internal call address: {e}")))?;
            let request = Request::builder()
                .method(Method::POST)
                .uri(uri)
                .header(header::CONTENT_TYPE, call.codec.header_value())
                .body(Full::new(call.body))
                .map_err(|e| ShopError::internal(format_args!("building an internal call: {e}")))?;
            let response = match endpoint.client.request(request).await {
                Ok(response) => response,
                Err(e) => {
                    if e.is_connect() && endpoint.seat.eject() {
                        tracing::warn!(component = %endpoint.component, base = %endpoint.seat.base, "replica ejected: cannot connect");
                    }
                    let why = format!(
                        "{}.{operation} at {}: no answer: {e}",
                        endpoint.component, endpoint.seat.base
                    );
                    return Err(if e.is_connect() {
                        ShopError::unreached(endpoint.component, why)
                    } else {
                        ShopError::unavailable(endpoint.component, why)
                    });
                }
            };
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, ANSWER_LIMIT_BYTES)
                .collect()
                .await
                .map_err(|e| {
                    endpoint.unavailable(operation, format_args!("answer cut short: {e}"))
                })?
                .to_bytes();
            let codec = parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(Codec::from_content_type);
            // Only a 200 or a 422 in a codec is an answer; anything else (a proxy's error
            // page, a crash's 500) is a failure on the way, which retries and the breaker see.
            match (parts.status, codec) {
                (StatusCode::OK | StatusCode::UNPROCESSABLE_ENTITY, Some(codec)) => Ok(Answer {
                    status: parts.status,
                    codec,
                    body,
                }),
                (status, _) => Err(endpoint.unavailable(
                    operation,
                    format_args!(
                        "answered {status} with {:?}",
                        parts.headers.get(header::CONTENT_TYPE)
                    ),
                )),
            }
        })
    }
}

/// Builds the service calling `component` at `replicas` (base URLs), with HTTP/2 or
/// HTTP/1.1 keep-alive connections. Must be called inside a tokio runtime.
pub fn connect(component: Component, replicas: &[String], http2: bool) -> CallService {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: HttpClient = Client::builder(TokioExecutor::new())
        .timer(TokioTimer::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(Duration::from_secs(60))
        .http2_only(http2)
        .build(connector);
    let seats = Seat::all(component.name(), replicas);
    let probes = Arc::new(Probes::start(seats.clone()));
    let Some(first) = seats.first().cloned() else {
        return BoxCloneSyncService::new(tower::service_fn(move |call: Call| async move {
            Err(ShopError::unreached(
                component,
                format!("{component}.{}: no replica is known", call.operation),
            ))
        }));
    };
    let endpoints: Vec<Endpoint> = seats
        .into_iter()
        .map(|seat| Endpoint {
            balanced: replicas.len() > 1,
            component,
            seat,
            client: client.clone(),
        })
        .collect();

    let inner: CallService = if let [only] = endpoints.as_slice() {
        // One replica: nothing to balance, and no queue to cross.
        BoxCloneSyncService::new(only.clone())
    } else {
        let balance =
            Balance::new(ServiceList::new(endpoints.into_iter().map(|endpoint| {
                PendingRequests::new(endpoint, CompleteOnResponse::default())
            })));
        let buffered = Buffer::new(balance, 1024);
        BoxCloneSyncService::new(tower::ServiceExt::map_err(buffered, move |e| {
            ShopError::unavailable(component, format!("{component}: {e}"))
        }))
    };
    // Fail fast when nothing is in the rotation; keep the probes alive with the service.
    let fast_fail = tower::service_fn(move |call: Call| {
        let mut inner = inner.clone();
        let first = first.clone();
        let _probes = probes.clone();
        async move {
            if first.in_rotation() == 0 {
                return Err(ShopError::unreached(
                    component,
                    format!("{component}.{}: no replica is up", call.operation),
                ));
            }
            tower::ServiceExt::oneshot(&mut inner, call).await
        }
    });
    BoxCloneSyncService::new(fast_fail)
}
