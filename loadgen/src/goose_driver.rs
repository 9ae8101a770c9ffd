//! goose runs the users; the schedule is ours. Each goose user repeats one transaction:
//! claim the next intended send from the shared [`Schedule`], wait for it precisely,
//! take one step of its journey (through goose's client, so goose's own per-request
//! metrics, the service-time view, are kept), and record it against the intended time
//! in its own [`Recorder`]. When goose stops the users, each hands its recorder over.
//!
//! goose's transaction and scenario metrics would include our waiting, so they are off;
//! users all start at once (the schedule, not goose's ramp, shapes the load).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use goose::config::{GooseConfiguration, GooseDefault, GooseDefaultType};
use goose::metrics::GooseMetrics;
use goose::prelude::*;

use crate::open_loop::{Users, take_turn};
use crate::record::{Outcome, Recorder};
use crate::schedule::Schedule;

/// One step of a journey, as a goose user takes it: which endpoint, and how it ended.
pub type Step = Arc<
    dyn for<'a> Fn(
            &'a mut GooseUser,
        ) -> Pin<Box<dyn Future<Output = (&'static str, Outcome)> + Send + 'a>>
        + Send
        + Sync,
>;

/// What a goose run gives back: our record, and goose's own metrics.
#[derive(Debug)]
pub struct GooseRun {
    pub recorder: Recorder,
    pub goose: GooseMetrics,
}

/// A user's own record, kept in its goose session (which must be `Clone`).
#[derive(Clone)]
struct Session {
    recorder: Recorder,
}

/// Runs `users.count` goose users against `host`, each taking `step` at the intended
/// send times of `schedule`, until the schedule is over (plus the deadline, so the last
/// sends finish).
pub async fn run(
    host: &str,
    schedule: Arc<Schedule>,
    users: Users,
    step: Step,
) -> Result<GooseRun, GooseError> {
    let collected = Arc::new(Mutex::new(Recorder::new(schedule.start(), users.warm_up)));

    let main: TransactionFunction = {
        let schedule = schedule.clone();
        Arc::new(move |user| {
            let schedule = schedule.clone();
            let step = step.clone();
            Box::pin(async move {
                if user.get_session_data::<Session>().is_none() {
                    user.set_session_data(Session {
                        recorder: Recorder::new(schedule.start(), users.warm_up),
                    });
                }
                let claimed = Instant::now();
                let Some(intended) = schedule.claim() else {
                    // The run is over for this user: idle until goose stops it.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    return Ok(());
                };
                let (endpoint, sample) =
                    take_turn(claimed, intended, users.deadline, step(user)).await;
                user.get_session_data_unchecked_mut::<Session>()
                    .recorder
                    .record(endpoint, sample);
                Ok(())
            })
        })
    };
    let hand_over: TransactionFunction = {
        let collected = collected.clone();
        Arc::new(move |user| {
            let collected = collected.clone();
            Box::pin(async move {
                if let Some(session) = user.get_session_data::<Session>() {
                    collected
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .merge(&session.recorder);
                }
                Ok(())
            })
        })
    };
    let scenario = scenario!("open-loop")
        .register_transaction(Transaction::new(main).set_name("step"))
        .register_transaction(
            Transaction::new(hand_over)
                .set_name("hand over")
                .set_on_stop(),
        );

    let run_for = schedule
        .end()
        .saturating_duration_since(Instant::now())
        .saturating_add(users.deadline)
        .as_secs()
        .max(1) as usize
        + 1;
    let goose = GooseAttack::initialize_with_config(GooseConfiguration::default())?
        .register_scenario(scenario)
        .set_default(GooseDefault::Host, host)?
        .set_default(GooseDefault::Users, users.count)?
        .set_default(GooseDefault::IncreaseRate, users.count.to_string().as_str())?
        .set_default(GooseDefault::RunTime, run_for)?
        .set_default(GooseDefault::NoTransactionMetrics, true)?
        .set_default(GooseDefault::NoScenarioMetrics, true)?
        .set_default(GooseDefault::NoPrintMetrics, true)?
        .set_default(GooseDefault::NoResetMetrics, true)?
        .execute()
        .await?;
    let recorder = std::mem::replace(
        &mut *collected.lock().unwrap_or_else(PoisonError::into_inner),
        Recorder::new(schedule.start(), users.warm_up),
    );
    Ok(GooseRun { recorder, goose })
}

/// A step that GETs `path` and calls the endpoint `name`.
pub fn get(name: &'static str, path: &'static str) -> Step {
    Arc::new(move |user| {
        Box::pin(async move {
            match user.get(path).await {
                Ok(goose) => match goose.response {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let _ = response.bytes().await;
                        (name, Outcome::Status(status))
                    }
                    Err(_) => (name, Outcome::Failed),
                },
                Err(_) => (name, Outcome::Failed),
            }
        })
    })
}
