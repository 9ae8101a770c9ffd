//! The users' loop: claim the next intended send from the shared [`Schedule`], wait for
//! it precisely, send with a deadline, record against the intended time. The goose
//! journeys run this same loop around their requests.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::record::{Outcome, Recorder, Sample};
use crate::schedule::{Schedule, wait_until};

/// How a run's users behave, besides what they send.
#[derive(Debug, Clone, Copy)]
pub struct Users {
    /// Concurrent users: enough to cover rate x latency two to four times over
    /// (Little's law), and no more, since each costs the generator.
    pub count: usize,
    /// Requests intended in the first `warm_up` are sent but not recorded.
    pub warm_up: Duration,
    /// The longest a request may take; past it, it counts as a timeout. And how long
    /// past the schedule's end sends that fell behind still go. Together they bound the
    /// end of a run, against a frozen server or a generator that fell behind.
    pub deadline: Duration,
    /// The latency objective: a success answered later than this after its intended
    /// time is not goodput.
    pub objective: Duration,
}

/// Runs `users.count` users against `schedule` until it is over; each send is
/// `request(user)`: the endpoint it calls, and the request, answering how it ended.
/// Returns what all users recorded, merged.
pub async fn drive<F, Fut>(schedule: Arc<Schedule>, users: Users, request: F) -> Recorder
where
    F: Fn(usize) -> (&'static str, Fut) + Clone + Send + 'static,
    Fut: Future<Output = Outcome> + Send,
{
    let tasks: Vec<_> = (0..users.count)
        .map(|user| {
            let schedule = schedule.clone();
            let request = request.clone();
            tokio::spawn(async move {
                let mut recorder = Recorder::new(schedule.start(), users.warm_up, users.objective);
                loop {
                    let claimed = Instant::now();
                    let Some(intended) = schedule.claim_by(claimed, users.deadline) else {
                        break;
                    };
                    let (endpoint, request) = request(user);
                    let sample = take_turn(claimed, intended, users.deadline, request).await;
                    recorder.record(endpoint, sample);
                }
                recorder
            })
        })
        .collect();
    let mut all = Recorder::new(schedule.start(), users.warm_up, users.objective);
    for task in tasks {
        match task.await {
            Ok(recorder) => all.merge(&recorder),
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
    all
}

/// One turn of a user that claimed `intended` at `claimed`: wait for the moment, send
/// `request` with `deadline`, and say what to record. A request past its deadline is
/// a timeout (and is dropped, so a frozen server cannot hold the run's end).
pub async fn take_turn<Fut>(
    claimed: Instant,
    intended: Instant,
    deadline: Duration,
    request: Fut,
) -> Sample
where
    Fut: Future<Output = Outcome>,
{
    let sent = wait_until(intended).await;
    let outcome = tokio::time::timeout(deadline, request)
        .await
        .unwrap_or(Outcome::Timeout);
    Sample {
        intended,
        claimed,
        sent,
        done: Instant::now(),
        outcome,
    }
}
