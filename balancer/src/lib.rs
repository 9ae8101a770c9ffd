//! Whole replicas of one HTTP service behind one address: what puts several monolith
//! processes where one was, as a load balancer in front of a fleet would.
//!
//! # Layout
//!
//! - [`router`]: every request, whatever its path, forwarded to one replica picked by
//!   power-of-two-choices on in-flight requests (`tower::balance::p2c`), over pooled
//!   keep-alive connections (hyper-util).
//! - `bin/balancer.rs`: the process: `--listen`, one `--replica URL` per replica,
//!   printing `balancer listening on http://ADDRESS`, draining on SIGTERM or Ctrl-C.
//!
//! # Behaviour
//!
//! Which replicas are in the rotation is [`shop_remote::rotation`]'s, the very code the
//! split build's internal calls balance with: a refused connection ejects a replica at
//! once, three failed `/health/ready` probes (every 200 ms) eject it, a passed probe
//! brings it back. So the two architectures lose and regain a replica the same way, and
//! a comparison of the two measures the architectures, not two balancers.
//!
//! Like the split build's `bare` pool, it does not retry: a request that fails on the
//! way answers `502 Bad Gateway`, and with no replica in the rotation `503 Service
//! Unavailable`, each with a plain-text reason. The replicas' own paths are forwarded
//! unchanged, `/health/*`, `/admin/*` and `/metrics` included (each answered by one
//! replica: the fleet's metrics are the replicas' own).
//!
//! Why our own and not HAProxy or nginx: those are as good, but a second balancer's
//! choices (its retries, its health checks) would differ from the split build's.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode, Uri};
use axum::response::IntoResponse;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use shop_remote::rotation::{Probes, Seat};
use tower::Service;
use tower::balance::p2c::Balance;
use tower::buffer::Buffer;
use tower::discover::ServiceList;
use tower::load::{CompleteOnResponse, PendingRequests};
use tower::util::BoxCloneSyncService;

/// Requests waiting for the balancer to pick a replica.
pub const QUEUE: usize = 1024;

type HttpClient = Client<HttpConnector, Body>;

/// Why a request got no replica's answer.
#[derive(Debug)]
pub struct Unanswered {
    status: StatusCode,
    why: String,
}

impl std::fmt::Display for Unanswered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.status, self.why)
    }
}

impl std::error::Error for Unanswered {}

impl IntoResponse for Unanswered {
    fn into_response(self) -> axum::response::Response {
        (self.status, self.why).into_response()
    }
}

/// One replica, forwarding whole requests.
#[derive(Debug, Clone)]
struct Replica {
    seat: Seat,
    client: HttpClient,
}

impl Service<Request<Body>> for Replica {
    type Response = Response<Body>;
    type Error = Unanswered;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Unanswered>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Unanswered>> {
        self.seat.poll_in_rotation(cx).map(Ok)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let replica = self.clone();
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            parts.uri = format!("{}{path}", replica.seat.base)
                .parse::<Uri>()
                .map_err(|e| Unanswered {
                    status: StatusCode::BAD_REQUEST,
                    why: format!("cannot forward {path}: {e}"),
                })?;
            let response = replica
                .client
                .request(Request::from_parts(parts, body))
                .await
                .map_err(|e| {
                    if e.is_connect() && replica.seat.eject() {
                        tracing::warn!(base = %replica.seat.base, "replica ejected: cannot connect");
                    }
                    Unanswered {
                        status: StatusCode::BAD_GATEWAY,
                        why: format!("{} at {}: no answer: {e}", replica.seat.service, replica.seat.base),
                    }
                })?;
            Ok(response.map(Body::new))
        })
    }
}

/// Forwards every request to one of `replicas` (base URLs such as
/// `http://127.0.0.1:8081`), all serving `service`. Must be called inside a tokio
/// runtime: it starts the readiness probes, which live as long as the router.
pub fn router(service: &str, replicas: &[String]) -> Router {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: HttpClient = Client::builder(TokioExecutor::new())
        .timer(TokioTimer::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(Duration::from_secs(60))
        .build(connector);
    let seats = Seat::all(service, replicas);
    let probes = std::sync::Arc::new(Probes::start(seats.clone()));
    let first = seats.first().cloned();
    let replicas: Vec<_> = seats
        .into_iter()
        .map(|seat| {
            let client = client.clone();
            PendingRequests::new(Replica { seat, client }, CompleteOnResponse::default())
        })
        .collect();
    let balance = Balance::new(ServiceList::new(replicas));
    let buffered: BoxCloneSyncService<Request<Body>, Response<Body>, Unanswered> =
        BoxCloneSyncService::new(tower::ServiceExt::map_err(
            Buffer::new(balance, QUEUE),
            // The balancer and the buffer box the replica's error: unbox it.
            |e: tower::BoxError| match e.downcast::<Unanswered>() {
                Ok(unanswered) => *unanswered,
                Err(e) => Unanswered {
                    status: StatusCode::BAD_GATEWAY,
                    why: format!("balancing: {e}"),
                },
            },
        ));
    let forward = move |request: Request<Body>| {
        let buffered = buffered.clone();
        let first = first.clone();
        let _probes = probes.clone();
        async move {
            // Fail fast with nothing in the rotation, rather than queue.
            if first.as_ref().is_none_or(|seat| seat.in_rotation() == 0) {
                return Unanswered {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    why: "no replica is in the rotation".to_owned(),
                }
                .into_response();
            }
            match tower::ServiceExt::oneshot(buffered, request).await {
                Ok(response) => response.into_response(),
                Err(unanswered) => unanswered.into_response(),
            }
        }
    };
    Router::new().fallback(forward)
}
