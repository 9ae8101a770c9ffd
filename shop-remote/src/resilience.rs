//! How a caller protects itself from one dependency, as tower layers around its
//! [`CallService`]: load shedding over a concurrency limit, a circuit breaker, retries
//! of idempotent calls with exponential backoff under a budget, and a deadline per try.
//! Every piece is a library's (tower, tower-resilience); this module only configures and
//! orders them, and names their failures as the dependency being unavailable.

use std::time::Duration;

use shop_domain::{Component, ShopError};
use tower::ServiceBuilder;
use tower::ServiceExt;
use tower::retry::backoff::{Backoff, ExponentialBackoff, ExponentialBackoffMaker, MakeBackoff};
use tower::retry::budget::{Budget, TpsBudget};
use tower::util::{BoxCloneSyncService, rng::HasherRng};
use tower_resilience_circuitbreaker::{CircuitBreakerError, CircuitBreakerLayer};

use crate::pool::{Answer, Call, CallService};

/// A caller's protection against one dependency. `Default` is none at all.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Resilience {
    /// The longest one try may take; `None` waits forever.
    pub deadline: Option<Duration>,
    /// Retries of an idempotent call that failed on the way (never of a domain answer).
    pub retry: Option<RetryPolicy>,
    /// Stop calling a dependency whose calls keep failing, for a while.
    pub breaker: Option<BreakerPolicy>,
    /// At most this many calls in flight to the dependency; more are refused at once.
    pub max_in_flight: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Tries after the first, at most.
    pub attempts: u32,
    /// Backoff before the first retry; doubles (with jitter) up to `max_backoff`.
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    /// Retries allowed as a share of recent calls (on top of `min_per_sec`), so that
    /// retries cannot multiply the load on a dependency that is already struggling.
    pub budget_percent: f32,
    pub min_per_sec: u32,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreakerPolicy {
    /// Share of failed calls in the window that opens the breaker.
    pub failure_rate: f64,
    /// Calls in the sliding window.
    pub window: usize,
    /// Calls needed in the window before it may open.
    pub minimum_calls: usize,
    /// How long it stays open before letting probe calls through.
    pub open_for: Duration,
}

impl Resilience {
    /// No protection: a hung dependency hangs its callers. The baseline.
    pub fn bare() -> Self {
        Self::default()
    }

    /// What a careful team ships: 2 s per try, 2 retries of idempotent calls within a 20%
    /// budget, a breaker opening at half the last 20 calls failing, 256 calls in flight.
    pub fn hardened() -> Self {
        Self {
            deadline: Some(Duration::from_secs(2)),
            retry: Some(RetryPolicy {
                attempts: 2,
                min_backoff: Duration::from_millis(5),
                max_backoff: Duration::from_millis(100),
                budget_percent: 0.2,
                min_per_sec: 10,
            }),
            breaker: Some(BreakerPolicy {
                failure_rate: 0.5,
                window: 20,
                minimum_calls: 10,
                open_for: Duration::from_secs(1),
            }),
            max_in_flight: Some(256),
        }
    }

    /// `service`, wrapped in the layers this policy asks for (outermost first: shedding,
    /// concurrency limit, breaker, retries, deadline per try).
    pub fn protect(&self, component: Component, service: CallService) -> CallService {
        let unavailable =
            move |why: String| ShopError::unavailable(component, format!("{component}: {why}"));
        let mut service = service;
        if let Some(deadline) = self.deadline {
            let timed = ServiceBuilder::new()
                .timeout(deadline)
                .service(service)
                .map_err(move |e: tower::BoxError| match e.downcast::<ShopError>() {
                    Ok(error) => *error,
                    Err(_) => unavailable(format!("no answer within {deadline:?}")),
                });
            service = BoxCloneSyncService::new(timed);
        }
        if let Some(retry) = self.retry {
            let policy = RetryIdempotent::new(retry);
            service =
                BoxCloneSyncService::new(ServiceBuilder::new().retry(policy).service(service));
        }
        if let Some(breaker) = self.breaker {
            let layer = CircuitBreakerLayer::builder()
                .name(component.name())
                .failure_rate_threshold(breaker.failure_rate)
                .sliding_window_size(breaker.window)
                .minimum_number_of_calls(breaker.minimum_calls)
                .wait_duration_in_open(breaker.open_for)
                // Only a failure on the way counts; a domain answer is a success.
                .failure_classifier(|result: &Result<Answer, ShopError>| result.is_err())
                .build()
                .expect("the hardened breaker settings are valid");
            let guarded = ServiceBuilder::new().layer(layer).service(service).map_err(
                move |e: CircuitBreakerError<ShopError>| match e {
                    CircuitBreakerError::Inner(error) => error,
                    CircuitBreakerError::OpenCircuit => {
                        ShopError::unreached(component, format!("{component}: circuit open"))
                    }
                },
            );
            service = BoxCloneSyncService::new(guarded);
        }
        if let Some(limit) = self.max_in_flight {
            let shed = ServiceBuilder::new()
                .load_shed()
                .concurrency_limit(limit)
                .service(service)
                .map_err(move |e: tower::BoxError| match e.downcast::<ShopError>() {
                    Ok(error) => *error,
                    Err(_) => ShopError::unreached(
                        component,
                        format!("{component}: more than {limit} calls in flight; shed"),
                    ),
                });
            service = BoxCloneSyncService::new(shed);
        }
        service
    }
}

/// Retries a call only if it is idempotent and failed on the way, with backoff, while
/// the budget allows.
#[derive(Clone)]
struct RetryIdempotent {
    attempts_left: u32,
    budget: std::sync::Arc<TpsBudget>,
    backoff: ExponentialBackoff<HasherRng>,
}

impl RetryIdempotent {
    fn new(policy: RetryPolicy) -> Self {
        let mut maker = ExponentialBackoffMaker::new(
            policy.min_backoff,
            policy.max_backoff,
            0.5,
            HasherRng::default(),
        )
        .expect("the retry backoff settings are valid");
        Self {
            attempts_left: policy.attempts,
            budget: std::sync::Arc::new(TpsBudget::new(
                Duration::from_secs(10),
                policy.min_per_sec,
                policy.budget_percent,
            )),
            backoff: maker.make_backoff(),
        }
    }
}

impl tower::retry::Policy<Call, Answer, ShopError> for RetryIdempotent {
    type Future = tokio::time::Sleep;

    fn retry(
        &mut self,
        call: &mut Call,
        result: &mut Result<Answer, ShopError>,
    ) -> Option<Self::Future> {
        match result {
            Ok(_) => {
                self.budget.deposit();
                None
            }
            Err(_) if !call.idempotent || self.attempts_left == 0 => None,
            Err(_) => {
                if !self.budget.withdraw() {
                    return None;
                }
                self.attempts_left -= 1;
                Some(self.backoff.next_backoff())
            }
        }
    }

    fn clone_request(&mut self, call: &Call) -> Option<Call> {
        call.idempotent.then(|| call.clone())
    }
}
