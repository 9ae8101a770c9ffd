//! The open-loop driver against a synthetic server whose answer time is known.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use loadgen::{Arrivals, Outcome, RateProfile, Schedule, Users, drive};
use tokio::sync::RwLock;

/// The tests here measure time on a 2-core machine: one at a time, or each is the
/// other's noise.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const SEED: u64 = 11;
const WARM_UP: Duration = Duration::from_millis(500);

fn profile(seconds: u64) -> RateProfile {
    RateProfile::constant(200.0, Duration::from_secs(seconds)).unwrap()
}

/// Drives `base` with `users` users and [`profile`] from `start`; returns the merged record and how many
/// sends the schedule handed out.
async fn run(base: String, start: Instant, seconds: u64, users: usize) -> (loadgen::Recorder, u64) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let schedule = Arc::new(Schedule::new(
        start,
        profile(seconds),
        Arrivals::Poisson,
        SEED,
    ));
    let users = Users {
        count: users,
        warm_up: WARM_UP,
        deadline: Duration::from_secs(2),
        objective: Duration::from_millis(50),
    };
    let recorder = drive(schedule.clone(), users, move |_| {
        let client = client.clone();
        let uri = base.parse().unwrap();
        let request = async move {
            match client.get(uri).await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let _ = response.into_body().collect().await;
                    Outcome::Status(status)
                }
                Err(_) => Outcome::Failed,
            }
        };
        ("fixed", request)
    })
    .await;
    (recorder, schedule.claimed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reported_median_is_the_servers_answer_time_and_every_intended_send_went() {
    let _alone = ONE_AT_A_TIME.lock().await;
    // 20 ms rather than 5: a request through this stack costs about 1 ms besides the
    // server's delay on this machine (debug build, idle cores waking), which would be
    // 20% of 5 ms and is 5% of 20.
    let delay = Duration::from_millis(20);
    let start = Instant::now() + Duration::from_millis(100);
    let server = support::fixed_delay_server(delay, Arc::default());
    let (recorder, intended) = run(server, start, 3, 16).await;
    let all = recorder.overall();
    assert_eq!(all.successes, all.requests(), "{:?}", all.errors);
    let p50 = Duration::from_nanos(all.corrected.value_at_quantile(0.5));
    assert!(
        p50 >= delay && p50 <= delay.mul_f64(1.10),
        "p50 {p50:?} (service time {:?}) against a {delay:?} server",
        Duration::from_nanos(all.service.value_at_quantile(0.5))
    );
    // Every intended send after the warm-up was sent and answered, on time: the same
    // seed replays the schedule, so the intended sends can be counted exactly.
    let replay = Schedule::new(start, profile(3), Arrivals::Poisson, SEED);
    let after_warm_up = std::iter::from_fn(|| replay.claim())
        .filter(|&at| at >= start + WARM_UP)
        .count() as u64;
    assert_eq!(all.requests(), after_warm_up);
    assert!(intended > after_warm_up);
    // On time: a generator that overslept by timer ticks, or fell behind, would be
    // milliseconds late (a plain tokio sleep alone is up to 1 ms late on every send).
    let lag_p99 = Duration::from_nanos(recorder.own_lag.value_at_quantile(0.99));
    assert!(
        lag_p99 < Duration::from_millis(5),
        "the generator's own lag p99 {lag_p99:?}"
    );
    let lag_p50 = Duration::from_nanos(recorder.own_lag.value_at_quantile(0.5));
    assert!(
        lag_p50 < Duration::from_micros(500),
        "the generator's own lag p50 {lag_p50:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_second_freeze_shows_in_the_corrected_tail_and_hides_from_service_time() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let freeze: Arc<RwLock<()>> = Arc::default();
    let server = support::fixed_delay_server(Duration::from_millis(1), freeze.clone());
    let start = Instant::now() + Duration::from_millis(100);
    tokio::spawn(async move {
        tokio::time::sleep_until((start + Duration::from_secs(4)).into()).await;
        let _frozen = freeze.write().await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    });
    let (recorder, _) = run(server, start, 10, 8).await;
    let all = recorder.overall();
    let p99 = |h: &hdrhistogram::Histogram<u64>| Duration::from_nanos(h.value_at_quantile(0.99));
    // About 200 sends were meant for the frozen second: every one of them waited.
    assert!(
        p99(&all.corrected) >= Duration::from_millis(300),
        "corrected p99 {:?}",
        p99(&all.corrected)
    );
    // A closed-loop view sees only the 8 requests that were in flight: under 1%.
    assert!(
        p99(&all.service) < Duration::from_millis(100),
        "service p99 {:?}",
        p99(&all.service)
    );
    // The stall is in the second it happened.
    let fifth = &recorder.endpoints["fixed"].seconds[&4];
    assert!(Duration::from_nanos(fifth.corrected.max()) >= Duration::from_millis(900));
}
