//! A measurement judges itself: kept, saturated (the server's result) or limited by
//! the generator (no result at all). Against synthetic servers whose capacity is known.

mod support;

use std::sync::Arc;
use std::time::Duration;

use loadgen::RateProfile;
use loadgen::goose_driver::Get;
use loadgen::measure::{Load, Measurement, Sut, Verdict, measure};

/// Tests here measure time on a 2-core machine: one at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn measure_at(url: String, rate: f64, users: usize, seconds: u64) -> Measurement {
    let bench = support::bench(3).await;
    let load = Load {
        label: format!("{rate}"),
        profile: RateProfile::constant(rate, Duration::from_secs(seconds)).unwrap(),
        users,
        warm_up: Duration::from_millis(500),
        deadline: Duration::from_secs(2),
        lag_tolerance: loadgen::measure::LAG_TOLERANCE,
    };
    let sut = Sut {
        name: "synthetic".to_owned(),
        url,
        processes: Vec::new(),
    };
    let journey = Arc::new(Get {
        name: "root",
        path: "/",
    });
    measure(&sut, journey, &load, &bench, Duration::from_millis(100))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_a_modest_rate_every_send_goes_on_time() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let server = support::fixed_delay_server(Duration::from_millis(5), Arc::default());
    let m = measure_at(server, 100.0, 8, 4).await;
    let ratio = m.achieved_rate / m.intended_rate;
    assert!(
        (0.98..=1.02).contains(&ratio),
        "achieved {ratio} of intended: {m:#?}"
    );
    assert_eq!(m.verdict, Verdict::Kept, "{:?}", m.reasons);
    assert_eq!(m.overall.successes, m.overall.requests);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_slower_than_the_offered_rate_is_saturated_and_the_result_stands() {
    let _alone = ONE_AT_A_TIME.lock().await;
    // One answer at a time, 10 ms each: at most 100/s, offered 300/s.
    let server = support::serial_server(Duration::from_millis(10));
    let m = measure_at(server, 300.0, 16, 3).await;
    assert_eq!(m.verdict, Verdict::Saturated, "{:?}", m.reasons);
    assert!(
        m.achieved_rate < 0.5 * m.intended_rate,
        "{}",
        m.achieved_rate
    );
    assert!(
        m.overall.corrected.p99_ms > 100.0,
        "{:?}",
        m.overall.corrected
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_beyond_the_generator_is_flagged_as_the_generators_limit() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let server = support::fixed_delay_server(Duration::ZERO, Arc::default());
    let m = measure_at(server, 200_000.0, 64, 2).await;
    assert_eq!(m.verdict, Verdict::GeneratorLimited, "{:?}", m.reasons);
}
