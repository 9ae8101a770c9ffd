//! goose as the users, the schedule ours: against a server with a known answer time.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use goose::prelude::GooseUser;
use loadgen::{Arrivals, Outcome, RateProfile, Schedule, Users, goose_driver};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn goose_users_send_every_intended_request_and_goose_keeps_its_own_view() {
    let delay = Duration::from_millis(20);
    let host = support::fixed_delay_server(delay, Arc::default());
    let profile = RateProfile::constant(100.0, Duration::from_secs(3)).unwrap();
    let plan = goose_driver::Plan {
        profile: profile.clone(),
        arrivals: Arrivals::Poisson,
        seed: 5,
        together: None,
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

/// [`goose_driver::Get`], each user taking `ready_after` to get ready first.
struct SlowToStart {
    ready_after: Duration,
}

impl goose_driver::Journey for SlowToStart {
    type State = ();
    type Step = ();

    async fn start(&self, _index: usize, _user: &mut GooseUser) -> Result<(), String> {
        tokio::time::sleep(self.ready_after).await;
        Ok(())
    }

    fn next(&self, _state: &mut ()) -> (&'static str, ()) {
        ("root", ())
    }

    async fn step(&self, user: &mut GooseUser, _state: &mut (), _step: ()) -> Outcome {
        goose_driver::outcome_of(user.get("/").await).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_started_together_wait_for_the_slowest_to_be_ready_and_share_one_start() {
    let host = support::fixed_delay_server(Duration::from_millis(1), Arc::default());
    let profile = RateProfile::constant(50.0, Duration::from_secs(1)).unwrap();
    let together = goose_driver::StartTogether::new(2);
    let plan = goose_driver::Plan {
        profile: profile.clone(),
        arrivals: Arrivals::Poisson,
        seed: 5,
        together: Some(together),
    };
    let users = Users {
        count: 4,
        warm_up: Duration::ZERO,
        deadline: Duration::from_secs(2),
        objective: Duration::from_millis(50),
    };
    let target = goose_driver::Target {
        host,
        report_file: None,
    };
    let slow = Duration::from_millis(400);
    let launched = Instant::now();
    let (quick, slow_run) = tokio::join!(
        goose_driver::run(
            &target,
            plan.clone(),
            users,
            Arc::new(SlowToStart {
                ready_after: Duration::ZERO
            })
        ),
        goose_driver::run(
            &target,
            plan,
            users,
            Arc::new(SlowToStart { ready_after: slow })
        ),
    );
    let (quick, slow_run) = (quick.unwrap(), slow_run.unwrap());
    assert_eq!(quick.start, slow_run.start, "one start for both");
    assert!(
        quick.start >= launched + slow,
        "the quick run waited for the slow one's users: started {:?} after launch",
        quick.start - launched
    );
    // The same schedule from the same instant: the same sends, every one of them made.
    let intended = Schedule::intended_from(&profile, Arrivals::Poisson, 5, Duration::ZERO);
    for run in [&quick, &slow_run] {
        let sent = run.recorder.overall();
        assert_eq!(sent.requests(), intended);
        assert_eq!(sent.successes, intended, "{:?}", sent.errors);
    }
}
