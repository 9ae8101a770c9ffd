//! Prometheus metrics: HTTP requests per route, and calls per component.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::fmt::Write as _;

use axum::http::Method;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use shop_domain::Component;
use shop_faults::{CallObserver, Outcome};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: Route,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteStatusLabels {
    method: &'static str,
    route: Route,
    status: u16,
}

/// A route template as a label, without copying it: every request of a route shares
/// the router's own string.
#[derive(Debug, Clone)]
enum Route {
    Matched(MatchedPath),
    Unmatched,
}

impl Route {
    fn as_str(&self) -> &str {
        match self {
            Route::Matched(path) => path.as_str(),
            Route::Unmatched => "unmatched",
        }
    }
}

impl PartialEq for Route {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Route {}

impl std::hash::Hash for Route {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl EncodeLabelValue for Route {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(self.as_str())
    }
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    component: &'static str,
    operation: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallOutcomeLabels {
    component: &'static str,
    operation: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProcessLabels {
    architecture: String,
    role: String,
    preset: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Latency buckets from 10 us to about 84 s, doubling.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_01, 2.0, 24))
}

/// Every metric a process exports. Cheap to share (`Arc`).
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    http_requests: Family<RouteStatusLabels, Counter>,
    http_duration: HistogramFamily<RouteLabels>,
    component_calls: Family<CallOutcomeLabels, Counter>,
    component_duration: HistogramFamily<CallLabels>,
}

impl Metrics {
    /// `architecture` (`monolith`, `split`), `role` (`monolith`, `gateway`, `catalog`, ...)
    /// and the resilience `preset` of its outbound calls (`none` without any) label the
    /// process in `shop_process_info`.
    pub fn new(architecture: &str, role: &str, preset: &str) -> Arc<Self> {
        let mut registry = Registry::with_prefix("shop");
        let http_requests = Family::<RouteStatusLabels, Counter>::default();
        let http_duration =
            HistogramFamily::<RouteLabels>::new_with_constructor(latency_histogram as fn() -> _);
        let component_calls = Family::<CallOutcomeLabels, Counter>::default();
        let component_duration =
            HistogramFamily::<CallLabels>::new_with_constructor(latency_histogram as fn() -> _);
        let info = Family::<ProcessLabels, Gauge>::default();
        info.get_or_create(&ProcessLabels {
            architecture: architecture.to_owned(),
            role: role.to_owned(),
            preset: preset.to_owned(),
        })
        .set(1);

        registry.register(
            "http_requests",
            "HTTP requests answered, by route and status",
            http_requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer, by route",
            http_duration.clone(),
        );
        registry.register(
            "component_calls",
            "Calls into a component (in-process or remote), by outcome",
            component_calls.clone(),
        );
        registry.register(
            "component_call_duration_seconds",
            "Time a component call took, faults included",
            component_duration.clone(),
        );
        registry.register("process_info", "What this process is", info);
        Arc::new(Self {
            registry,
            http_requests,
            http_duration,
            component_calls,
            component_duration,
        })
    }

    /// The Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

impl CallObserver for Metrics {
    fn observe(
        &self,
        component: Component,
        operation: &'static str,
        outcome: Outcome,
        elapsed: Duration,
    ) {
        let name = component.name();
        self.component_calls
            .get_or_create(&CallOutcomeLabels {
                component: name,
                operation,
                outcome: outcome.as_str(),
            })
            .inc();
        self.component_duration
            .get_or_create(&CallLabels {
                component: name,
                operation,
            })
            .observe(elapsed.as_secs_f64());
    }
}

/// Middleware: counts and times every request by its route template.
pub(crate) async fn track(
    State(metrics): State<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let start = Instant::now();
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(Route::Unmatched, |p| Route::Matched(p.clone()));
    let response = next.run(request).await;
    let status = response.status().as_u16();
    metrics
        .http_duration
        .get_or_create(&RouteLabels {
            method,
            route: route.clone(),
        })
        .observe(start.elapsed().as_secs_f64());
    metrics
        .http_requests
        .get_or_create(&RouteStatusLabels {
            method,
            route,
            status,
        })
        .inc();
    response
}
