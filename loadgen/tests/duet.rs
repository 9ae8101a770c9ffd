//! Two loads at once (`measure_duet`): each measurement is of its own server and its
//! own processes, and the generator's CPU is shared between them.

mod support;

use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};

use loadgen::RateProfile;
use loadgen::cost::Watched;
use loadgen::goose_driver::Get;
use loadgen::measure::{Load, Part, Sut, Verdict, measure_duet};

/// A process that uses no CPU, killed when dropped.
struct Idle(Child);

impl Idle {
    fn start() -> Self {
        Self(Command::new("sleep").arg("30").spawn().unwrap())
    }

    fn watched(&self, name: &str) -> Watched {
        Watched {
            name: name.to_owned(),
            pid: self.0.id() as i32,
        }
    }
}

impl Drop for Idle {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duet_measures_each_server_apart_and_shares_the_generator_between_them() {
    let bench = support::bench(3).await;
    let (quick, slow) = (Duration::from_millis(1), Duration::from_millis(20));
    let (idle_a, idle_b) = (Idle::start(), Idle::start());
    let suts = [
        Sut {
            name: "quick".to_owned(),
            url: support::fixed_delay_server(quick, Arc::default()),
            processes: vec![idle_a.watched("quick-process")],
        },
        Sut {
            name: "slow".to_owned(),
            url: support::fixed_delay_server(slow, Arc::default()),
            processes: vec![idle_b.watched("slow-process")],
        },
    ];
    let loads = ["quick", "slow"].map(|label| Load {
        label: label.to_owned(),
        profile: RateProfile::constant(100.0, Duration::from_secs(2)).unwrap(),
        users: 8,
        warm_up: Duration::from_millis(500),
        deadline: Duration::from_secs(2),
        lag_tolerance: loadgen::measure::LAG_TOLERANCE,
    });
    let journeys = [(); 2].map(|()| {
        Arc::new(Get {
            name: "root",
            path: "/",
        })
    });
    let parts = [0, 1].map(|i| Part {
        sut: &suts[i],
        journey: &journeys[i],
        load: &loads[i],
    });
    let started = async |start: Instant| Ok(start);
    let [a, b] = measure_duet(
        parts,
        &bench,
        Duration::from_millis(100),
        [started, started],
    )
    .await
    .unwrap();

    assert_eq!(a.beside, b.beside, "both schedules started at one instant");
    for (observed, delay) in [(&a, quick), (&b, slow)] {
        let m = &observed.measurement;
        assert_eq!(m.verdict, Verdict::Kept, "{}: {:?}", m.label, m.reasons);
        assert_eq!(m.overall.successes, m.overall.requests, "{}", m.label);
        // Each one's latency is its own server's.
        let p50 = Duration::from_secs_f64(m.overall.corrected.p50_ms / 1e3);
        assert!(
            p50 >= delay && p50 < delay + Duration::from_millis(10),
            "{}: p50 {p50:?}",
            m.label
        );
    }
    // Each one's cost is of its own processes, and the generator's.
    let names = |m: &loadgen::measure::Measurement| -> Vec<String> {
        m.cost.processes.iter().map(|p| p.process.clone()).collect()
    };
    assert_eq!(names(&a.measurement), ["quick-process", "loadgen"]);
    assert_eq!(names(&b.measurement), ["slow-process", "loadgen"]);
    // The generator sent both loads: its CPU per request counts the requests of both.
    let both = (a.measurement.overall.requests + b.measurement.overall.requests) as f64;
    for m in [&a.measurement, &b.measurement] {
        let generator = m.cost.processes.iter().find(|p| p.process == "loadgen");
        let per_request = generator.unwrap().cpu_ms * 1e3 / both;
        let counted = m.cost.generator_cpu_us_per_request.unwrap();
        assert!(
            (counted - per_request).abs() < 1e-6 * per_request.max(1.0),
            "{}: {counted} us per request, {per_request} from the generator's CPU over both loads",
            m.label
        );
    }
}
