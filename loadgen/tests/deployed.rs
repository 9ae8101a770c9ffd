//! The generator against real deployed processes: a frozen server shows in the
//! corrected latency and not in the service time, each fault does what it says (a
//! killed process is restarted, a hung component and a frozen process stop answering
//! until cleared), and every acknowledged checkout is found again by the audit.

mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use link_proxy::{Stream, Toxic, ToxicKind};
use loadgen::RateProfile;
use loadgen::audit::{Ledger, Violation, audit};
use loadgen::deploy::{DeployOptions, Deployment, EventKind, System};
use loadgen::faults::{Injection, LinkFault};
use loadgen::goose_driver::Get;
use loadgen::journeys::{Action, Mix, ShopJourney};
use loadgen::measure::{Load, Sut, measure};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use shop_domain::Component;
use shop_faults::Fault;
use split::topology::ProcessLimits;

fn options(dir: &Path) -> DeployOptions {
    DeployOptions {
        bins: support::service_bins(),
        dir: dir.to_owned(),
        topology: Default::default(),
        shop_args: vec!["--products".into(), "200".into()],
        setup: Default::default(),
        start_deadline: Duration::from_secs(60),
        restart_delay: Duration::from_millis(200),
        cgroups: None,
        proxied: Default::default(),
    }
}

/// A monolith of 200 products deployed in `dir`.
async fn monolith(dir: &Path) -> Deployment {
    Deployment::start(System::Monolith, &options(dir), None)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_stopped_for_a_second_shows_in_the_corrected_tail_not_the_service_time() {
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("page.json");
    std::fs::write(&body, br#"{"sku":"SKU-00042"}"#).unwrap();
    let ceiling = Deployment::start(System::Ceiling, &options(dir.path()), Some(&body))
        .await
        .unwrap();
    let sut = Sut::of(&ceiling).await;
    let pid = Pid::from_raw(sut.processes[0].pid);

    let bench = support::bench(9).await;
    let load = Load {
        label: "stall".to_owned(),
        profile: RateProfile::constant(500.0, Duration::from_secs(5)).unwrap(),
        users: 8,
        warm_up: Duration::from_millis(500),
        deadline: Duration::from_secs(3),
        lag_tolerance: loadgen::measure::LAG_TOLERANCE,
    };
    // Users log in (here: nothing to do) and the schedule starts within a moment; the
    // freeze falls in the middle of the measured stretch.
    let freeze = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        kill(pid, Signal::SIGSTOP).unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
        kill(pid, Signal::SIGCONT).unwrap();
    });
    let m = measure(
        &sut,
        Arc::new(Get {
            name: "page",
            path: "/",
        }),
        &load,
        &bench,
        Duration::from_millis(100),
    )
    .await
    .unwrap();
    freeze.await.unwrap();
    ceiling.stop(Duration::from_secs(5)).await.unwrap();

    assert_eq!(
        m.overall.successes, m.overall.requests,
        "{:?}",
        m.overall.errors
    );
    assert!(
        m.overall.corrected.p99_ms >= 300.0,
        "corrected {:?}",
        m.overall.corrected
    );
    assert!(
        m.overall.service.p99_ms < 100.0,
        "service {:?}",
        m.overall.service
    );
    // goose saw each request too, and its own average hides the stall.
    assert!(m.goose.requests >= m.overall.requests);
    assert!(m.goose.mean_ms < 50.0, "{:?}", m.goose);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_that_dies_is_restarted_and_both_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let monolith = monolith(dir.path()).await;
    let before = monolith.watched().await[0].pid;
    let crash = Injection::Kill {
        component: Component::Payments,
        replica: 0,
    };
    monolith.inject(&crash).await.unwrap();
    let mut waited = Duration::ZERO;
    loop {
        let events = monolith.events();
        if events
            .iter()
            .any(|e| matches!(e.kind, loadgen::deploy::EventKind::Restarted { .. }))
        {
            break;
        }
        assert!(waited < Duration::from_secs(30), "no restart: {events:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += Duration::from_millis(100);
    }
    let after = monolith.watched().await[0].pid;
    assert_ne!(before, after);
    let kinds: Vec<String> = monolith
        .events()
        .iter()
        .map(|e| {
            format!("{:?}", e.kind)
                .split([' ', '{'])
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(kinds, ["Started", "Exited", "Restarted"]);
    // It answers again, where it was.
    loadgen::deploy::wait_ready(&monolith.url, Duration::from_secs(30))
        .await
        .unwrap();
    monolith.stop(Duration::from_secs(5)).await.unwrap();
    assert!(!Path::new(&format!("/proc/{after}")).exists() || is_zombie(after));
}

fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| s.split_whitespace().nth(2) == Some("Z"))
        .unwrap_or(true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_checkout_the_shop_acknowledged_is_there_afterwards_and_the_books_balance() {
    let dir = tempfile::tempdir().unwrap();
    let monolith = monolith(dir.path()).await;
    let ledger = Arc::new(Ledger::default());
    let shoppers = Arc::new(ShopJourney {
        // Each checkout fills its cart first.
        mix: Mix::only(Action::Checkout),
        products: 200,
        username_prefix: "audited".to_owned(),
        seed: 5,
        ledger: Some(ledger.clone()),
    });
    let load = Load {
        label: "checkouts".to_owned(),
        profile: RateProfile::constant(40.0, Duration::from_secs(3)).unwrap(),
        users: 8,
        warm_up: Duration::ZERO,
        deadline: Duration::from_secs(5),
        lag_tolerance: loadgen::measure::LAG_TOLERANCE,
    };
    let sut = Sut::of(&monolith).await;
    let m = measure(
        &sut,
        shoppers,
        &load,
        &support::bench(4).await,
        Duration::from_secs(1),
    )
    .await
    .unwrap();
    let checkouts = m.endpoints["checkout"].successes;
    let acknowledged = ledger.entries();
    assert!(checkouts >= 20, "{:?}", m.endpoints);
    assert_eq!(acknowledged.len() as u64, checkouts);

    let violations = audit(
        &monolith.url,
        &monolith.admin_token().unwrap(),
        &acknowledged,
    )
    .await
    .unwrap();
    assert_eq!(violations, vec![]);
    // And an order the shop never acknowledged is reported lost, as it should be.
    let mut forged = acknowledged[0].clone();
    forged.order_id = 9_999_999;
    let violations = audit(&monolith.url, &monolith.admin_token().unwrap(), &[forged])
        .await
        .unwrap();
    assert_eq!(
        violations,
        vec![Violation::LostOrder {
            order_id: 9_999_999
        }]
    );
    monolith.stop(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monolith_replicas_behind_the_balancer_share_the_load_outlive_a_kill_and_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = options(dir.path());
    options.topology.monolith.replicas = 3;
    let fleet = Deployment::start(System::Monolith, &options, None)
        .await
        .unwrap();
    let names: Vec<String> = fleet.watched().await.into_iter().map(|w| w.name).collect();
    assert_eq!(
        names,
        ["balancer", "monolith-0", "monolith-1", "monolith-2"]
    );

    let ledger = Arc::new(Ledger::default());
    let shoppers = Arc::new(ShopJourney {
        mix: Mix::only(Action::Checkout),
        products: 200,
        username_prefix: "fleet".to_owned(),
        seed: 6,
        ledger: Some(ledger.clone()),
    });
    let load = Load {
        label: "checkouts".to_owned(),
        profile: RateProfile::constant(40.0, Duration::from_secs(4)).unwrap(),
        users: 8,
        warm_up: Duration::ZERO,
        deadline: Duration::from_secs(6),
        lag_tolerance: loadgen::measure::LAG_TOLERANCE,
    };
    let sut = Sut::of(&fleet).await;
    let bench = support::bench(6).await;
    let kill = async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        fleet
            .inject(&Injection::Kill {
                component: Component::Catalog,
                replica: 1,
            })
            .await
            .unwrap();
    };
    let (m, ()) = tokio::join!(
        measure(&sut, shoppers, &load, &bench, Duration::from_secs(1)),
        kill
    );
    let m = m.unwrap();
    let checkout = &m.endpoints["checkout"];
    // One replica of three went: most checkouts still went through, and every one the
    // shop acknowledged is in the books, whichever replica took it.
    assert!(checkout.successes >= 60, "{:?}", m.endpoints);
    let acknowledged = ledger.entries();
    assert_eq!(acknowledged.len() as u64, checkout.successes);
    let token = fleet.admin_token().unwrap();
    assert_eq!(
        audit(&fleet.url, &token, &acknowledged).await.unwrap(),
        vec![]
    );

    let killed: Vec<_> = fleet
        .events()
        .into_iter()
        .filter(|e| !matches!(e.kind, EventKind::Started { .. }))
        .map(|e| e.process)
        .collect();
    assert_eq!(
        killed,
        ["monolith-1", "monolith-1"],
        "exited, then restarted"
    );
    // Every replica served public requests: the balancer spread them.
    for url in &fleet.process_urls().await[1..] {
        let page = reqwest::get(format!("{url}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("route=\"/api/checkout\""), "{url}: {page}");
    }
    fleet.stop(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_deploy_that_deregisters_first_replaces_every_replica_without_a_failed_request() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = options(dir.path());
    options.topology.monolith.replicas = 2;
    options
        .shop_args
        .extend(["--deregister-ms".into(), "700".into()]);
    let fleet = Deployment::start(System::Monolith, &options, None)
        .await
        .unwrap();
    assert_eq!(fleet.release_of("monolith-0").await.unwrap(), "1");

    let shoppers = Arc::new(ShopJourney {
        mix: Mix::only(Action::Checkout),
        products: 200,
        username_prefix: "rolled".to_owned(),
        seed: 7,
        ledger: None,
    });
    let load = Load {
        label: "rolling".to_owned(),
        profile: RateProfile::constant(40.0, Duration::from_secs(5)).unwrap(),
        users: 8,
        warm_up: Duration::ZERO,
        deadline: Duration::from_secs(6),
        lag_tolerance: loadgen::measure::LAG_TOLERANCE,
    };
    let sut = Sut::of(&fleet).await;
    let bench = support::bench(7).await;
    let roll = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut replaced = Vec::new();
        for process in ["monolith-0", "monolith-1"] {
            replaced.push(fleet.replace(process, "2").await.unwrap());
        }
        replaced
    };
    let (m, replaced) = tokio::join!(
        measure(&sut, shoppers, &load, &bench, Duration::from_secs(1)),
        roll
    );
    let m = m.unwrap();
    let checkout = &m.endpoints["checkout"];
    assert!(checkout.requests >= 60, "{:?}", m.endpoints);
    assert_eq!(checkout.successes, checkout.requests, "{:?}", m.endpoints);
    for (process, replacement) in ["monolith-0", "monolith-1"].iter().zip(&replaced) {
        assert_eq!(&replacement.process, process);
        // It went on serving, not ready, for its deregistration before it stopped.
        assert!(replacement.stop_ms >= 700.0, "{replacement:?}");
        assert!(replacement.cold_start_ms > 0.0, "{replacement:?}");
        assert_eq!(fleet.release_of(process).await.unwrap(), "2");
    }
    let kinds: Vec<String> = fleet
        .events()
        .iter()
        .filter(|e| !matches!(e.kind, EventKind::Started { .. }))
        .map(|e| format!("{} {:?}", e.process, e.kind))
        .collect();
    assert_eq!(kinds.len(), 2, "two replacements, nothing else: {kinds:?}");
    assert!(kinds.iter().all(|k| k.contains("Replaced")), "{kinds:?}");
    fleet.stop(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_component_and_a_frozen_process_stop_answering_until_cleared() {
    let dir = tempfile::tempdir().unwrap();
    let monolith = monolith(dir.path()).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(800))
        .build()
        .unwrap();
    let page = format!("{}/api/products/SKU-00001", monolith.url);
    let answers = || async { client.get(&page).send().await.map(|r| r.status().as_u16()) };
    assert_eq!(answers().await.unwrap(), 200);

    let hang = Injection::Component {
        component: Component::Catalog,
        fault: Fault::Hang,
    };
    let freeze = Injection::Freeze {
        component: Component::Catalog,
        replica: 0,
    };
    let pid = monolith.watched().await[0].pid;
    for injection in [hang, freeze] {
        monolith.inject(&injection).await.unwrap();
        if matches!(injection, Injection::Freeze { .. }) {
            // SIGSTOP is delivered, not done, when kill(2) returns: wait until the
            // kernel shows the process stopped before asking it anything.
            stopped_within(pid, Duration::from_secs(2)).await;
        }
        let stuck = match answers().await {
            Ok(status) => panic!("{injection}: still answering ({status})"),
            Err(e) => e,
        };
        assert!(stuck.is_timeout(), "{injection}: {stuck}");
        monolith.clear(&injection).await.unwrap();
        assert_eq!(answers().await.unwrap(), 200, "{injection} cleared");
    }
    monolith.stop(Duration::from_secs(5)).await.unwrap();
}

/// Waits until process `pid` shows as stopped (state `T`) in /proc; panics after `limit`.
async fn stopped_within(pid: i32, limit: Duration) {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        // The state follows the command's closing parenthesis: "pid (comm) T ...".
        let state = stat.rsplit_once(')').unwrap().1.trim_start().chars().next();
        if state == Some('T') {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "process {pid} not stopped after {limit:?}: {stat}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The median time of `n` sequential GETs of `url`, each answered 200.
async fn median_get(client: &reqwest::Client, url: &str, n: usize) -> Duration {
    let mut times = Vec::new();
    for _ in 0..n {
        let started = std::time::Instant::now();
        let response = client.get(url).send().await.unwrap();
        assert_eq!(response.status(), 200, "{url}");
        response.bytes().await.unwrap();
        times.push(started.elapsed());
    }
    times.sort();
    times[n / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxied_link_adds_its_latency_goes_down_and_comes_back_and_the_monolith_has_none() {
    let dir = tempfile::tempdir().unwrap();
    let mut split_options = options(&dir.path().join("split"));
    split_options.proxied = [Component::Catalog].into();
    let split = Deployment::start(System::Split, &split_options, None)
        .await
        .unwrap();
    assert!(split.link_proxy.is_some());
    // A catalog page: the gateway calls catalog once, through the proxy.
    let page = format!("{}/api/products?page=1", split.url);
    let client = reqwest::Client::new();
    let bare = median_get(&client, &page, 9).await;

    let latency = Injection::Link {
        component: Component::Catalog,
        fault: LinkFault::Toxic(Toxic {
            name: String::new(),
            stream: Stream::Downstream,
            toxicity: 1.0,
            kind: ToxicKind::Latency {
                latency: 100,
                jitter: 0,
            },
        }),
    };
    split.inject(&latency).await.unwrap();
    let slowed = median_get(&client, &page, 5).await;
    assert!(
        slowed >= bare + Duration::from_millis(90),
        "bare {bare:?}, with 100 ms on the link {slowed:?}"
    );
    split.clear(&latency).await.unwrap();
    let cleared = median_get(&client, &page, 9).await;
    assert!(
        cleared < bare + Duration::from_millis(50),
        "bare {bare:?}, cleared {cleared:?}"
    );

    let down = Injection::Link {
        component: Component::Catalog,
        fault: LinkFault::Down,
    };
    split.inject(&down).await.unwrap();
    let answer = client.get(&page).send().await.unwrap();
    assert_eq!(answer.status(), 503, "catalog unreachable is unavailable");
    split.clear(&down).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while client.get(&page).send().await.unwrap().status() != 200 {
        assert!(
            std::time::Instant::now() < deadline,
            "the link did not come back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    split.stop(Duration::from_secs(5)).await.unwrap();

    // The monolith calls catalog in-process: there is no link, and it says so.
    let monolith = monolith(&dir.path().join("monolith")).await;
    let refused = monolith.inject(&latency).await.unwrap_err();
    assert!(format!("{refused:#}").contains("in-process"), "{refused:#}");
    monolith.stop(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leak_under_a_squeezed_memory_limit_is_killed_by_the_kernel_and_restarted() {
    let run = format!("test-squeeze-{}", std::process::id());
    let groups = match loadgen::cgroups::detect()
        .and_then(|hierarchy| hierarchy.create_run(&run).map_err(|e| e.to_string()))
    {
        Ok(groups) => Arc::new(groups),
        Err(why) => {
            eprintln!("cgroups are not writable here, so this test checks nothing: {why}");
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let mut options = options(dir.path());
    options.cgroups = Some(groups.clone());
    let monolith = Deployment::start(System::Monolith, &options, None)
        .await
        .unwrap();

    let squeeze = Injection::Squeeze {
        component: Component::Catalog,
        replica: 0,
        limits: ProcessLimits {
            cpu_millis: Some(500),
            memory_mb: Some(128),
        },
    };
    monolith.inject(&squeeze).await.unwrap();
    // The kernel holds the limits now: half a core, 128 MiB.
    let written: String = groups
        .paths("monolith")
        .iter()
        .flat_map(|dir| {
            [
                "cpu.cfs_quota_us",
                "cpu.max",
                "memory.limit_in_bytes",
                "memory.max",
            ]
            .map(|file| std::fs::read_to_string(dir.join(file)).unwrap_or_default())
        })
        .collect();
    assert!(written.contains("50000"), "{written}");
    assert!(written.contains(&(128u64 << 20).to_string()), "{written}");

    // Each catalog call leaks 8 MiB: some 16 calls in, the kernel kills the process.
    monolith
        .inject(&Injection::Component {
            component: Component::Catalog,
            fault: Fault::Leak {
                kb_per_call: 8 * 1024,
                max_mb: 1024,
            },
        })
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let list = format!("{}/api/products?page=1", monolith.url);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let restarted = |events: &[loadgen::deploy::ProcessEvent]| {
        events
            .iter()
            .any(|e| matches!(e.kind, EventKind::Restarted { .. }))
    };
    while !restarted(&monolith.events()) {
        let _ = client.get(&list).send().await;
        assert!(
            std::time::Instant::now() < deadline,
            "{:?}",
            monolith.events()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let killed = monolith.events().into_iter().find_map(|e| match e.kind {
        EventKind::Exited { status } => Some(status),
        _ => None,
    });
    assert!(
        killed.as_deref().is_some_and(|s| s.contains("SIGKILL")),
        "{killed:?}"
    );
    // The process that came back has neither the leak nor the squeeze.
    let page = client.get(&list).send().await.unwrap();
    assert_eq!(page.status(), 200);
    monolith.clear(&squeeze).await.unwrap();
    monolith.stop(Duration::from_secs(5)).await.unwrap();
}
