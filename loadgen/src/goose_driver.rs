//! goose runs the users; the schedule is ours. Each goose user starts its [`Journey`]
//! (registering, logging in) and waits for the others; the last one ready starts the
//! shared [`Schedule`]. Then each user loops: claim the next intended send, wait for it
//! precisely, take one step of its journey (through goose's client, so goose's own
//! per-request metrics, the service-time view, are kept), and record it against the
//! intended time in the run's one [`Recorder`].
//!
//! goose's transaction and scenario metrics would include our waiting, so they are off;
//! users all start at once (the schedule, not goose's ramp, shapes the load).

use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use goose::config::{GooseConfiguration, GooseDefault, GooseDefaultType};
use goose::goose::GooseResponse;
use goose::metrics::GooseMetrics;
use goose::prelude::*;

use crate::open_loop::{Users, take_turn};
use crate::record::{Outcome, Recorder};
use crate::schedule::{Arrivals, RateProfile, Schedule};
use tokio::sync::{Notify, oneshot};

/// What a goose user does: once when it starts, then one step at each send it claims.
pub trait Journey: Send + Sync + 'static {
    /// What a user keeps between its steps (a session token, what is in its cart).
    type State: Default + Clone + Send + Sync + 'static;

    /// Readies user number `index` (counted from 0 within the run); an error is counted
    /// and the user goes on with the default state.
    fn start(
        &self,
        index: usize,
        user: &mut GooseUser,
    ) -> impl Future<Output = Result<Self::State, String>> + Send;

    /// What one step needs, chosen before it is sent.
    type Step: Send;

    /// Picks the next step, and names the endpoint it calls: named before it is sent,
    /// a step that runs out of time still counts against its own endpoint.
    fn next(&self, state: &mut Self::State) -> (&'static str, Self::Step);

    /// Takes the step; how it ended.
    fn step(
        &self,
        user: &mut GooseUser,
        state: &mut Self::State,
        step: Self::Step,
    ) -> impl Future<Output = Outcome> + Send;
}

/// What a goose run gives back: our record, goose's own metrics, and how the users'
/// start went.
#[derive(Debug)]
pub struct GooseRun {
    pub recorder: Recorder,
    pub goose: GooseMetrics,
    /// When the schedule started: once every user was ready.
    pub start: Instant,
    /// Users whose [`Journey::start`] failed, with the first error seen.
    pub failed_starts: u64,
    pub first_start_error: Option<String>,
    /// How long the users took to get ready (to register and log in, say).
    pub users_ready_after: Duration,
}

/// Where the run goes and what goose writes.
#[derive(Debug, Clone)]
pub struct Target {
    /// `http://127.0.0.1:PORT`.
    pub host: String,
    /// goose's own HTML report of its request metrics, if wanted.
    pub report_file: Option<PathBuf>,
}

/// The sends a run intends: its schedule, before it has a start.
#[derive(Debug, Clone)]
pub struct Plan {
    pub profile: RateProfile,
    pub arrivals: Arrivals,
    pub seed: u64,
    /// Other runs whose schedules start at the same instant as this one's, once every
    /// user of each is ready; `None` when it starts alone.
    pub together: Option<Arc<StartTogether>>,
}

/// Runs that start their schedules at one instant (see [`Plan::together`]): with the
/// same profile, arrivals and seed, each run's sends then go at the same instants as
/// the others'. Two loads against two deployments on one core sent that way share
/// each moment alike; sent at independent instants, one's requests land in the middle
/// of the other's and stretch them at random (`scripts/duet-probe.py`: with one side's
/// sends 0.3 ms behind the other's, the two monoliths' time per inventory call moved
/// 12% apart and scattered 2.7 times as much from pair to pair; BENCHMARKS.md, "Duets").
#[derive(Debug)]
pub struct StartTogether {
    runs: usize,
    arrived: Mutex<(usize, Option<Instant>)>,
    all_arrived: Notify,
}

impl StartTogether {
    /// For `runs` runs.
    pub fn new(runs: usize) -> Arc<Self> {
        Arc::new(Self {
            runs,
            arrived: Mutex::new((0, None)),
            all_arrived: Notify::new(),
        })
    }

    /// Called once per run, when its users are ready: the instant every run's schedule
    /// starts at, a moment after the last run got ready (or after [`READY_DEADLINE`],
    /// if one never does).
    async fn start(&self) -> Instant {
        let notified = self.all_arrived.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        {
            let mut arrived = self.arrived.lock().unwrap_or_else(PoisonError::into_inner);
            arrived.0 += 1;
            if arrived.0 >= self.runs {
                let start = *arrived.1.get_or_insert_with(soon);
                self.all_arrived.notify_waiters();
                return start;
            }
            if let Some(start) = arrived.1 {
                return start;
            }
        }
        let _ = tokio::time::timeout(READY_DEADLINE, notified).await;
        *self
            .arrived
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .1
            .get_or_insert_with(soon)
    }
}

/// A schedule's start once its users are ready: a moment from now.
fn soon() -> Instant {
    Instant::now() + Duration::from_millis(20)
}

/// The longest the users may take to get ready before the schedule starts anyway.
const READY_DEADLINE: Duration = Duration::from_secs(60);

/// A user's own record and journey state, kept in its goose session.
#[derive(Clone)]
struct Session<S> {
    state: S,
}

/// What the users share: the schedule once all are ready, and how their start went.
struct Shared {
    schedule: OnceLock<Arc<Schedule>>,
    ready: AtomicUsize,
    all_ready: Notify,
    users: usize,
    plan: Plan,
    launched: Instant,
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
    collected: Mutex<Option<Recorder>>,
    /// Told the schedule's start, once it has one.
    announce: Mutex<Option<oneshot::Sender<Instant>>>,
}

impl Shared {
    /// The schedule, started a moment after the last user got ready.
    fn start_schedule(&self) -> Arc<Schedule> {
        self.start_schedule_at(soon())
    }

    /// The schedule, started at `start` unless it already has.
    fn start_schedule_at(&self, start: Instant) -> Arc<Schedule> {
        self.schedule
            .get_or_init(|| {
                if let Some(announce) = self
                    .announce
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take()
                {
                    // Nobody listening is no reason to stop.
                    let _ = announce.send(start);
                }
                Arc::new(Schedule::new(
                    start,
                    self.plan.profile.clone(),
                    self.plan.arrivals,
                    self.plan.seed,
                ))
            })
            .clone()
    }

    /// Counts a user ready and waits for the others (the last one starts the schedule).
    async fn ready(&self) -> Arc<Schedule> {
        // Registered before counting, so the last user's wake-up cannot slip between.
        let notified = self.all_ready.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if self.ready.fetch_add(1, Ordering::SeqCst) + 1 >= self.users {
            let start = match &self.plan.together {
                Some(together) => together.start().await,
                None => soon(),
            };
            let schedule = self.start_schedule_at(start);
            self.all_ready.notify_waiters();
            return schedule;
        }
        if let Some(schedule) = self.schedule.get() {
            return schedule.clone();
        }
        let _ = tokio::time::timeout(READY_DEADLINE, notified).await;
        self.start_schedule()
    }
}

/// Runs `users.count` goose users against `target`: each starts its `journey`; once
/// all are ready the schedule of `plan` starts, and each user takes its steps at the
/// intended send times it claims until the schedule is over. goose ends when the last
/// user is done (every request has `users.deadline`, so that is bounded).
pub async fn run<J: Journey>(
    target: &Target,
    plan: Plan,
    users: Users,
    journey: Arc<J>,
) -> Result<GooseRun, GooseError> {
    run_announcing(target, plan, users, journey, None).await
}

/// [`run`], telling `announce` when the schedule starts (so that something can happen
/// at a set time into it: a fault, say).
pub async fn run_announcing<J: Journey>(
    target: &Target,
    plan: Plan,
    users: Users,
    journey: Arc<J>,
    announce: Option<oneshot::Sender<Instant>>,
) -> Result<GooseRun, GooseError> {
    let shared = Arc::new(Shared {
        schedule: OnceLock::new(),
        ready: AtomicUsize::new(0),
        all_ready: Notify::new(),
        users: users.count,
        plan,
        launched: Instant::now(),
        failed: AtomicU64::new(0),
        first_error: Mutex::new(None),
        collected: Mutex::new(None),
        announce: Mutex::new(announce),
    });

    let start: TransactionFunction = {
        let (shared, journey) = (shared.clone(), journey.clone());
        Arc::new(move |user| {
            let (shared, journey) = (shared.clone(), journey.clone());
            Box::pin(async move {
                let state = match journey.start(user.weighted_users_index, user).await {
                    Ok(state) => state,
                    Err(error) => {
                        shared.failed.fetch_add(1, Ordering::Relaxed);
                        shared
                            .first_error
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .get_or_insert(error);
                        J::State::default()
                    }
                };
                user.set_session_data(Session { state });
                shared.ready().await;
                Ok(())
            })
        })
    };
    let main: TransactionFunction = {
        let (shared, journey) = (shared.clone(), journey.clone());
        Arc::new(move |user| {
            let (shared, journey) = (shared.clone(), journey.clone());
            Box::pin(async move {
                let schedule = shared.start_schedule();
                let mut state = std::mem::take(
                    &mut user
                        .get_session_data_unchecked_mut::<Session<J::State>>()
                        .state,
                );
                loop {
                    let claimed = Instant::now();
                    let Some(intended) = schedule.claim_by(claimed, users.deadline) else {
                        break;
                    };
                    let (endpoint, step) = journey.next(&mut state);
                    let sample = take_turn(
                        claimed,
                        intended,
                        users.deadline,
                        journey.step(user, &mut state, step),
                    )
                    .await;
                    // One record shared by all users: a user's own would hold a
                    // histogram per endpoint per second, allocated and zeroed as each
                    // second begins, all users at once.
                    shared
                        .collected
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .get_or_insert_with(|| {
                            Recorder::new(schedule.start(), users.warm_up, users.objective)
                        })
                        .record(endpoint, sample);
                }
                Ok(())
            })
        })
    };
    let scenario = scenario!("open-loop")
        .register_transaction(Transaction::new(start).set_name("start").set_on_start())
        .register_transaction(Transaction::new(main).set_name("steps"));

    let mut attack = GooseAttack::initialize_with_config(GooseConfiguration::default())?
        .register_scenario(scenario)
        .set_default(GooseDefault::Host, target.host.as_str())?
        .set_default(GooseDefault::Users, users.count)?
        // All users at once: goose's rate is users launched per second.
        .set_default(
            GooseDefault::IncreaseRate,
            (users.count * 1_000).to_string().as_str(),
        )?
        .set_default(GooseDefault::Iterations, 1)?
        .set_default(GooseDefault::NoTransactionMetrics, true)?
        .set_default(GooseDefault::NoScenarioMetrics, true)?
        .set_default(GooseDefault::NoPrintMetrics, true)?
        .set_default(GooseDefault::NoTelnet, true)?
        .set_default(GooseDefault::Quiet, 1)?;
    if let Some(report) = &target.report_file {
        let report = report.to_string_lossy();
        attack = attack.set_default(GooseDefault::ReportFile, report.as_ref())?;
    }
    let goose = attack.execute().await?;
    let schedule = shared.start_schedule();
    let recorder = shared
        .collected
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
        .unwrap_or_else(|| Recorder::new(schedule.start(), users.warm_up, users.objective));
    Ok(GooseRun {
        recorder,
        goose,
        start: schedule.start(),
        failed_starts: shared.failed.load(Ordering::Relaxed),
        first_start_error: shared
            .first_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take(),
        users_ready_after: schedule.start().saturating_duration_since(shared.launched),
    })
}

/// The simplest journey: GET one path, calling the endpoint by a name.
#[derive(Debug, Clone, Copy)]
pub struct Get {
    pub name: &'static str,
    pub path: &'static str,
}

impl Journey for Get {
    type State = ();
    type Step = ();

    async fn start(&self, _index: usize, _user: &mut GooseUser) -> Result<(), String> {
        Ok(())
    }

    fn next(&self, _state: &mut ()) -> (&'static str, ()) {
        (self.name, ())
    }

    async fn step(&self, user: &mut GooseUser, _state: &mut (), _step: ()) -> Outcome {
        outcome_of(user.get(self.path).await).await
    }
}

/// How a goose request ended, its body read to the end.
pub async fn outcome_of(result: Result<GooseResponse, Box<TransactionError>>) -> Outcome {
    match result {
        Ok(goose) => match goose.response {
            Ok(response) => {
                let status = response.status().as_u16();
                let _ = response.bytes().await;
                Outcome::Status(status)
            }
            Err(_) => Outcome::Failed,
        },
        Err(_) => Outcome::Failed,
    }
}
