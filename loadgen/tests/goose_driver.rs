//! goose as the users, the schedule ours: against a server with a known answer time.

mod support;

use std::sync::Arc;
use std::time::Duration;

use loadgen::{Arrivals, RateProfile, Schedule, Users, goose_driver};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn goose_users_send_every_intended_request_and_goose_keeps_its_own_view() {
    let delay = Duration::from_millis(20);
    let host = support::fixed_delay_server(delay, Arc::default());
    let profile = RateProfile::constant(100.0, Duration::from_secs(3)).unwrap();
    let plan = goose_driver::Plan {
        profile: profile.clone(),
        arrivals: Arrivals::Poisson,
        seed: 5,
    };
    let users = Users {
        count: 8,
        warm_up: Duration::from_millis(500),
        deadline: Duration::from_secs(2),
        objective: Duration::from_millis(50),
    };
    let target = goose_driver::Target {
        host,
        report_file: None,
    };
    let journey = goose_driver::Get {
        name: "root",
        path: "/",
    };
    let run = goose_driver::run(&target, plan, users, Arc::new(journey))
        .await
        .unwrap();

    let after_warm_up = Schedule::intended_from(&profile, Arrivals::Poisson, 5, users.warm_up);
    let ours = run.recorder.overall();
    assert_eq!(ours.requests(), after_warm_up);
    assert_eq!(ours.successes, ours.requests(), "{:?}", ours.errors);
    // At a modest rate nothing queues, so the corrected latency is the service time: the
    // schedule adds nothing. (goose's reqwest client costs about 2 ms per request in a
    // debug build here, which is why the engine's own 10% test uses a bare client.)
    let p50 = Duration::from_nanos(ours.corrected.value_at_quantile(0.5));
    let service_p50 = Duration::from_nanos(ours.service.value_at_quantile(0.5));
    assert!(p50 >= delay, "p50 {p50:?}");
    assert!(
        p50 - service_p50 < Duration::from_millis(1),
        "p50 {p50:?}, service {service_p50:?}"
    );
    // goose saw every request too (the warm-up's included), through its own metrics.
    let seen: usize = run.goose.requests.values().map(|r| r.success_count).sum();
    assert!(seen as u64 >= after_warm_up, "goose counted {seen}");
}
