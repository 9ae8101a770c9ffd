//! Which replicas of a service are in the rotation: the part of balancing that does not
//! care what a call carries, shared by [`crate::pool`] (a service's internal calls) and
//! the `balancer` crate (whole monolith replicas behind one address).
//!
//! A replica leaves the rotation when a call to it cannot connect ([`Seat::eject`]), or
//! when its `/health/ready` fails [`PROBE_FAILURES_TO_EJECT`] probes in a row; it comes
//! back when the probe answers 200 again. Behind a `tower` balancer, leaving the rotation
//! is readiness, not removal: [`Seat::poll_in_rotation`] stays pending while the replica
//! is out, so the balancer skips it and is woken when it returns.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::http::{Request, StatusCode, Uri};
use bytes::Bytes;
use futures::task::AtomicWaker;
use http_body_util::Empty;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// How often each replica's readiness is probed.
pub const PROBE_EVERY: Duration = Duration::from_millis(200);
/// How long a probe may take: generous, so that a busy replica is not taken for dead.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// Failed probes in a row that eject a replica (a refused connection ejects at once).
pub const PROBE_FAILURES_TO_EJECT: u32 = 3;

/// Whether a replica is in the rotation, and who to wake when it comes back.
#[derive(Debug, Default)]
struct Rotation {
    ejected: AtomicBool,
    waker: AtomicWaker,
}

/// One replica's place in its service's rotation.
#[derive(Debug, Clone)]
pub struct Seat {
    /// What the replica serves (`catalog`, `monolith`), for logs and errors.
    pub service: Arc<str>,
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub base: Arc<str>,
    rotation: Arc<Rotation>,
    /// Replicas of the service in the rotation now.
    in_rotation: Arc<AtomicUsize>,
}

impl Seat {
    /// One seat per base URL, all in the rotation, sharing one count of those in it.
    pub fn all(service: &str, bases: &[String]) -> Vec<Seat> {
        let service: Arc<str> = service.into();
        let in_rotation = Arc::new(AtomicUsize::new(bases.len()));
        bases
            .iter()
            .map(|base| Seat {
                service: service.clone(),
                base: base.trim_end_matches('/').into(),
                rotation: Arc::default(),
                in_rotation: in_rotation.clone(),
            })
            .collect()
    }

    /// Whether it is out of the rotation.
    pub fn is_ejected(&self) -> bool {
        self.rotation.ejected.load(Ordering::Acquire)
    }

    /// How many replicas of its service are in the rotation.
    pub fn in_rotation(&self) -> usize {
        self.in_rotation.load(Ordering::Acquire)
    }

    /// Takes it out of the rotation; true if it was in.
    pub fn eject(&self) -> bool {
        let newly = !self.rotation.ejected.swap(true, Ordering::AcqRel);
        if newly {
            self.in_rotation.fetch_sub(1, Ordering::AcqRel);
        }
        newly
    }

    /// Puts it back in the rotation, waking the balancer; true if it was out.
    pub fn restore(&self) -> bool {
        let newly = self.rotation.ejected.swap(false, Ordering::AcqRel);
        if newly {
            self.in_rotation.fetch_add(1, Ordering::AcqRel);
            self.rotation.waker.wake();
        }
        newly
    }

    /// Ready while in the rotation; pending (and woken on return) while out.
    pub fn poll_in_rotation(&self, cx: &mut Context<'_>) -> Poll<()> {
        if !self.is_ejected() {
            return Poll::Ready(());
        }
        self.rotation.waker.register(cx.waker());
        // Restored between the load and the registration: do not miss the wake-up.
        if self.is_ejected() {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    }
}

/// The readiness probes of a set of seats; dropping it stops them.
#[derive(Debug)]
pub struct Probes(tokio::task::JoinHandle<()>);

impl Probes {
    /// Probes every seat's `/health/ready` each [`PROBE_EVERY`] (all at once), moving
    /// each in and out of the rotation. Must be called inside a tokio runtime.
    pub fn start(seats: Vec<Seat>) -> Self {
        Self(tokio::spawn(probe(seats)))
    }
}

impl Drop for Probes {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn probe(seats: Vec<Seat>) {
    let probe_client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let ready = |seat: &Seat| {
        let probe_client = probe_client.clone();
        let uri = format!("{}/health/ready", seat.base);
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
    let mut failures = vec![0u32; seats.len()];
    loop {
        ticks.tick().await;
        let answers = futures::future::join_all(seats.iter().map(ready)).await;
        for ((seat, failures), ready) in seats.iter().zip(&mut failures).zip(answers) {
            if ready {
                *failures = 0;
                if seat.restore() {
                    tracing::info!(service = %seat.service, base = %seat.base, "replica back in rotation");
                }
                continue;
            }
            *failures += 1;
            if *failures >= PROBE_FAILURES_TO_EJECT && seat.eject() {
                tracing::warn!(service = %seat.service, base = %seat.base, "replica ejected: not ready");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ejecting_and_restoring_keep_the_count_of_those_in_rotation() {
        let seats = Seat::all("catalog", &["http://a/".into(), "http://b".into()]);
        assert_eq!(&*seats[0].base, "http://a");
        assert_eq!(seats[0].in_rotation(), 2);
        assert!(seats[0].eject());
        assert!(!seats[0].eject(), "a second ejection changes nothing");
        assert_eq!(seats[1].in_rotation(), 1);
        assert!(seats[0].is_ejected() && !seats[1].is_ejected());
        assert!(seats[0].restore());
        assert!(!seats[0].restore());
        assert_eq!(seats[1].in_rotation(), 2);
    }

    #[test]
    fn an_ejected_seat_is_pending_until_restored_and_wakes_its_poller() {
        let seats = Seat::all("catalog", &["http://a".into()]);
        let woken = Arc::new(WakeFlag::default());
        let waker = std::task::Waker::from(woken.clone());
        let mut cx = Context::from_waker(&waker);
        assert!(seats[0].poll_in_rotation(&mut cx).is_ready());
        seats[0].eject();
        assert!(seats[0].poll_in_rotation(&mut cx).is_pending());
        seats[0].restore();
        assert!(woken.0.load(Ordering::Acquire), "the poller was woken");
        assert!(seats[0].poll_in_rotation(&mut cx).is_ready());
    }

    #[derive(Debug, Default)]
    struct WakeFlag(AtomicBool);

    impl std::task::Wake for WakeFlag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::Release);
        }
    }
}
