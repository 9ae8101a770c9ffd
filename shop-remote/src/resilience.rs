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

    /// Refuses settings the layers cannot take (they would panic when built).
    pub fn validate(&self) -> Result<(), String> {
        if let Some(retry) = self.retry {
            if retry.min_backoff > retry.max_backoff || retry.max_backoff.is_zero() {
                return Err("retry backoff: need 0 < max and min <= max".to_owned());
            }
            if !(0.0..=10.0).contains(&retry.budget_percent) {
                return Err("retry budget: percent must be between 0 and 10 (1000%)".to_owned());
            }
        }
        if let Some(breaker) = self.breaker
            && (!(breaker.failure_rate > 0.0 && breaker.failure_rate <= 1.0)
                || breaker.window == 0
                || breaker.minimum_calls == 0
                || breaker.open_for.is_zero())
        {
            return Err(
                "breaker: need 0 < failure rate <= 1, a window, minimum calls and an open time"
                    .to_owned(),
            );
        }
        if self.max_in_flight == Some(0) {
            return Err("max in flight must be at least 1".to_owned());
        }
        Ok(())
    }

    /// `service`, wrapped in the layers this policy asks for (outermost first: shedding,
    /// concurrency limit, breaker, retries, deadline per try). Refuses what
    /// [`validate`](Self::validate) refuses.
    pub fn protect(
        &self,
        component: Component,
        service: CallService,
    ) -> Result<CallService, String> {
        self.validate()?;
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
                .map_err(|e| format!("breaker: {e}"))?;
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
                        format!("{component}: overloaded ({limit} calls in flight at most); shed"),
                    ),
                });
            service = BoxCloneSyncService::new(shed);
        }
        Ok(service)
    }
}

/// Retries a call only if it is idempotent and failed on the way, with backoff, while
/// the budget allows. Cloned for each call, so its fields are that call's.
#[derive(Clone)]
struct RetryIdempotent {
    attempts_left: u32,
    /// Whether a try of this call may have reached the callee. If so, the call's final
    /// failure is not "unreached" even when its last try was refused: the callee may
    /// have acted on an earlier one (a charge captured, then its service killed).
    may_have_arrived: bool,
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
        .expect("validate() checked the backoff settings");
        Self {
            attempts_left: policy.attempts,
            may_have_arrived: false,
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
        let error = match result {
            Ok(_) => {
                self.budget.deposit();
                return None;
            }
            Err(error) => error,
        };
        if !error.is_unreached() {
            self.may_have_arrived = true;
        }
        if call.idempotent && self.attempts_left > 0 && self.budget.withdraw() {
            self.attempts_left -= 1;
            return Some(self.backoff.next_backoff());
        }
        if self.may_have_arrived
            && let ShopError::Unavailable { unreached, .. } = error
        {
            *unreached = false;
        }
        None
    }

    fn clone_request(&mut self, call: &Call) -> Option<Call> {
        call.idempotent.then(|| call.clone())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::http::StatusCode;
    use bytes::Bytes;

    use super::*;
    use crate::codec::Codec;

    /// A dependency answering with `script[n]` on its n-th call (the last one after
    /// that), counting its calls.
    fn scripted(script: Vec<Result<(), ShopError>>) -> (CallService, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let service = tower::service_fn(move |_: Call| {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let outcome = script[n.min(script.len() - 1)].clone();
            async move {
                outcome.map(|()| Answer {
                    status: StatusCode::UNPROCESSABLE_ENTITY,
                    codec: Codec::Json,
                    body: Bytes::new(),
                })
            }
        });
        (BoxCloneSyncService::new(service), calls)
    }

    fn call(idempotent: bool) -> Call {
        Call {
            operation: "charge",
            idempotent,
            codec: Codec::Json,
            body: Bytes::new(),
        }
    }

    fn lost() -> ShopError {
        ShopError::unavailable(Component::Payments, "no answer")
    }

    fn refused() -> ShopError {
        ShopError::unreached(Component::Payments, "refused")
    }

    fn retrying() -> Resilience {
        Resilience {
            retry: Resilience::hardened().retry,
            ..Resilience::bare()
        }
    }

    #[tokio::test]
    async fn only_idempotent_calls_are_retried_and_answers_never() {
        let (service, calls) = scripted(vec![Err(lost())]);
        let service = retrying().protect(Component::Payments, service).unwrap();
        assert!(service.clone().oneshot(call(false)).await.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1, "not idempotent: one try");
        assert!(service.clone().oneshot(call(true)).await.is_err());
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1 + 3,
            "idempotent: three tries"
        );

        // A domain answer (422) is an answer: never retried.
        let (service, calls) = scripted(vec![Ok(())]);
        let service = retrying().protect(Component::Payments, service).unwrap();
        assert!(service.oneshot(call(true)).await.is_ok());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_call_that_may_have_arrived_once_is_never_reported_unreached() {
        // The first try may have charged; the service is then killed and refuses.
        let (service, _) = scripted(vec![Err(lost()), Err(refused())]);
        let service = retrying().protect(Component::Payments, service).unwrap();
        let err = service.oneshot(call(true)).await.unwrap_err();
        assert!(
            !err.is_unreached(),
            "an earlier try may have charged: {err}"
        );

        // Refused every time: certainly nothing happened.
        let (service, _) = scripted(vec![Err(refused())]);
        let service = retrying().protect(Component::Payments, service).unwrap();
        let err = service.oneshot(call(true)).await.unwrap_err();
        assert!(err.is_unreached(), "{err}");
    }

    #[tokio::test]
    async fn an_open_breaker_answers_unreached_without_calling() {
        let breaker = Resilience {
            breaker: Some(BreakerPolicy {
                failure_rate: 0.5,
                window: 4,
                minimum_calls: 4,
                open_for: Duration::from_secs(60),
            }),
            ..Resilience::bare()
        };
        let (service, calls) = scripted(vec![Err(lost())]);
        let service = breaker.protect(Component::Payments, service).unwrap();
        for _ in 0..4 {
            assert!(service.clone().oneshot(call(false)).await.is_err());
        }
        let err = service.oneshot(call(false)).await.unwrap_err();
        assert!(err.is_unreached(), "{err}");
        assert_eq!(
            calls.load(Ordering::SeqCst),
            4,
            "the open breaker did not call"
        );
    }

    #[test]
    fn settings_that_would_break_a_layer_are_refused() {
        assert_eq!(Resilience::hardened().validate(), Ok(()));
        let mut bad = Resilience::hardened();
        bad.max_in_flight = Some(0);
        assert!(bad.validate().is_err());
        let mut bad = Resilience::hardened();
        if let Some(breaker) = bad.breaker.as_mut() {
            breaker.failure_rate = 1.5;
        }
        assert!(bad.validate().is_err());
    }
}
