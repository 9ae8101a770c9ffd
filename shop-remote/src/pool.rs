//! The replicas of one service, as one tower service: each call goes to one replica,
//! picked by power-of-two-choices on in-flight requests (`tower::balance::p2c`).
//!
//! A replica leaves the rotation when a call to it cannot connect, or when its
//! `/health/ready` fails [`PROBE_FAILURES_TO_EJECT`] probes in a row; it comes back when
//! the probe answers 200 again. Behind the balancer, leaving the rotation is readiness,
//! not removal: an ejected endpoint reports itself not ready, so the balancer (one task,
//! the buffer's worker) skips it and is woken when it returns. A call made when no
//! replica is in the rotation fails at once as unreached; one already queued in the
//! balancer's buffer waits for a replica to return (or for its deadline).

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::http::{Method, Request, StatusCode, Uri, header};
use bytes::Bytes;
use futures::task::AtomicWaker;
use http_body_util::{BodyExt, Empty, Full, Limited};
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

/// The largest answer accepted: the catalog's embeddings are the biggest.
pub const ANSWER_LIMIT_BYTES: usize = 64 * 1024 * 1024;

/// How often each replica's readiness is probed.
pub const PROBE_EVERY: Duration = Duration::from_millis(200);
/// How long a probe may take: generous, so that a busy replica is not taken for dead.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// Failed probes in a row that eject a replica (a refused connection ejects at once).
pub const PROBE_FAILURES_TO_EJECT: u32 = 3;

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

/// Whether a replica is in the rotation, and who to wake when it comes back.
#[derive(Debug, Default)]
struct Rotation {
    ejected: AtomicBool,
    waker: AtomicWaker,
}

impl Rotation {
    fn eject(&self, in_rotation: &AtomicUsize) -> bool {
        let newly = !self.ejected.swap(true, Ordering::AcqRel);
        if newly {
            in_rotation.fetch_sub(1, Ordering::AcqRel);
        }
        newly
    }

    fn restore(&self, in_rotation: &AtomicUsize) -> bool {
        let newly = self.ejected.swap(false, Ordering::AcqRel);
        if newly {
            in_rotation.fetch_add(1, Ordering::AcqRel);
            self.waker.wake();
        }
        newly
    }
}

/// One replica: its address, the shared connection pool, and its place in the rotation.
#[derive(Debug, Clone)]
struct Endpoint {
    /// Behind the balancer (one task polls readiness): an ejected endpoint is not ready.
    /// Alone (called from many tasks): always ready, and a call while ejected fails.
    balanced: bool,
    component: Component,
    base: Arc<str>,
    client: HttpClient,
    rotation: Arc<Rotation>,
    /// Replicas of this service in the rotation now.
    in_rotation: Arc<AtomicUsize>,
}

impl Endpoint {
    fn unavailable(&self, operation: &str, why: impl std::fmt::Display) -> ShopError {
        ShopError::unavailable(
            self.component,
            format!("{}.{operation} at {}: {why}", self.component, self.base),
        )
    }
}

impl Service<Call> for Endpoint {
    type Response = Answer;
    type Error = ShopError;
    type Future = Pin<Box<dyn Future<Output = Result<Answer, ShopError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ShopError>> {
        if !self.balanced || !self.rotation.ejected.load(Ordering::Acquire) {
            return Poll::Ready(Ok(()));
        }
        self.rotation.waker.register(cx.waker());
        // Restored between the load and the registration: do not miss the wake-up.
        if self.rotation.ejected.load(Ordering::Acquire) {
            Poll::Pending
        } else {
            Poll::Ready(Ok(()))
        }
    }

    fn call(&mut self, call: Call) -> Self::Future {
        let endpoint = self.clone();
        Box::pin(async move {
            let operation = call.operation;
            if endpoint.rotation.ejected.load(Ordering::Acquire) {
                return Err(ShopError::unreached(
                    endpoint.component,
                    format!(
                        "{}.{operation}: {} is out of the rotation",
                        endpoint.component, endpoint.base
                    ),
                ));
            }
            let uri: Uri = format!(
                "{}/internal/{}/{operation}",
                endpoint.base, endpoint.component
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
                    if e.is_connect() && endpoint.rotation.eject(&endpoint.in_rotation) {
                        tracing::warn!(component = %endpoint.component, base = %endpoint.base, "replica ejected: cannot connect");
                    }
                    let why = format!(
                        "{}.{operation} at {}: no answer: {e}",
                        endpoint.component, endpoint.base
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

/// Stops the readiness probes when the last handle on the pool goes.
#[derive(Debug)]
struct ProbeTask(tokio::task::JoinHandle<()>);

impl Drop for ProbeTask {
    fn drop(&mut self) {
        self.0.abort();
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
    let in_rotation = Arc::new(AtomicUsize::new(replicas.len()));
    let endpoints: Vec<Endpoint> = replicas
        .iter()
        .map(|base| Endpoint {
            balanced: replicas.len() > 1,
            component,
            base: base.trim_end_matches('/').into(),
            client: client.clone(),
            rotation: Arc::default(),
            in_rotation: in_rotation.clone(),
        })
        .collect();
    let probes = Arc::new(ProbeTask(tokio::spawn(probe(endpoints.clone()))));

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
        let in_rotation = in_rotation.clone();
        let _probes = probes.clone();
        async move {
            if in_rotation.load(Ordering::Acquire) == 0 {
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

/// Probes every replica's `/health/ready` forever (all at once, each tick), moving each
/// in and out of the rotation.
async fn probe(endpoints: Vec<Endpoint>) {
    let probe_client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let ready = |endpoint: &Endpoint| {
        let probe_client = probe_client.clone();
        let uri = format!("{}/health/ready", endpoint.base);
        async move {
            let Ok(uri) = uri.parse::<Uri>() else {
                return false;
            };
            let Ok(request) = Request::get(uri).body(Empty::new()) else {
                return false;
            };
            let answer = tokio::time::timeout(PROBE_TIMEOUT, probe_client.request(request)).await;
            matches!(answer, Ok(Ok(response)) if response.status() == StatusCode::OK)
        }
    };
    let mut ticks = tokio::time::interval(PROBE_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failures = vec![0u32; endpoints.len()];
    loop {
        ticks.tick().await;
        let answers = futures::future::join_all(endpoints.iter().map(ready)).await;
        for ((endpoint, failures), ready) in endpoints.iter().zip(&mut failures).zip(answers) {
            if ready {
                *failures = 0;
                if endpoint.rotation.restore(&endpoint.in_rotation) {
                    tracing::info!(component = %endpoint.component, base = %endpoint.base, "replica back in rotation");
                }
                continue;
            }
            *failures += 1;
            if *failures >= PROBE_FAILURES_TO_EJECT
                && endpoint.rotation.eject(&endpoint.in_rotation)
            {
                tracing::warn!(component = %endpoint.component, base = %endpoint.base, "replica ejected: not ready");
            }
        }
    }
}
