//! What one internal hop costs, at low load, in one run: the product page of the split
//! shop (four sequential internal calls behind the gateway) against the monolith's, and
//! a bare loopback round trip through the very client stack the hops use (a pooled
//! hyper-util connection to an axum server answering fixed bytes).
//!
//! Servers run on core 0, this client on core 1; one request at a time on one
//! keep-alive connection; rounds interleave the three targets. Prints Markdown.
//!
//! `scripts/bench-hops.sh [ROUNDS] [REQUESTS]` builds the release binaries and runs it.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use nix::sched::{CpuSet, sched_setaffinity};
use nix::unistd::Pid;
use shop_domain::Component;
use shop_remote::Codec;
use shop_remote::pool::{self, Call};
use split::{LaunchOptions, SplitDeployment, Supervised, Topology};
use tower::ServiceExt;

/// Internal calls behind one product page: catalog.get, inventory.stock,
/// recommendations.related, catalog.summaries.
const HOPS_PER_PAGE: f64 = 4.0;
const PAGE: &str = "/api/products/SKU-00042";

fn pin_to(core: usize) {
    let mut set = CpuSet::new();
    set.set(core).expect("core index");
    sched_setaffinity(Pid::from_raw(0), &set).expect("pin this process");
}

/// `target/release`, where cargo put this bench's sibling binaries.
fn release_dir() -> PathBuf {
    let mut dir = std::env::current_exe().expect("bench path");
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir
}

fn micros(histogram: &Histogram<u64>, quantile: f64) -> f64 {
    histogram.value_at_quantile(quantile) as f64 / 1_000.0
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// One request at a time; returns the latency histogram in nanoseconds.
async fn measure<F, Fut>(requests: usize, mut once: F) -> Histogram<u64>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 10_000_000_000, 3).expect("bounds");
    for _ in 0..requests {
        let start = Instant::now();
        once().await;
        histogram
            .record(start.elapsed().as_nanos() as u64)
            .expect("in bounds");
    }
    histogram
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let rounds: usize = args.next().map_or(Ok(7), |a| a.parse())?;
    let requests: usize = args.next().map_or(Ok(2_000), |a| a.parse())?;
    let bin = release_dir();
    let work = tempfile::tempdir()?;
    let logs = work.path().join("logs");
    std::fs::create_dir_all(&logs)?;

    // Every server inherits core 0; then this process moves to core 1.
    pin_to(0);
    let body = work.path().join("ping.json");
    std::fs::write(&body, b"{}")?;
    let ping_args: Vec<OsString> = vec![
        "--listen".into(),
        "127.0.0.1:0".into(),
        "--body".into(),
        body.into(),
    ];
    let mut ping = Supervised::start(
        "ceiling",
        &bin.join("ceiling"),
        ping_args,
        &logs.join("ceiling.log"),
        Duration::from_secs(30),
    )
    .await?;
    let monolith_data = work.path().join("monolith");
    let monolith_args: Vec<OsString> = vec![
        "--listen".into(),
        "127.0.0.1:0".into(),
        "--data".into(),
        monolith_data.into(),
    ];
    let mut monolith = Supervised::start(
        "monolith",
        &bin.join("monolith"),
        monolith_args,
        &logs.join("monolith.log"),
        Duration::from_secs(120),
    )
    .await?;
    let split = SplitDeployment::launch(LaunchOptions {
        bins: bin.clone(),
        data: work.path().join("split"),
        topology: Topology::default(),
        gateway_listen: "127.0.0.1:0".parse()?,
        shop_args: Vec::new(),
        start_deadline: Duration::from_secs(120),
        setup: Default::default(),
        proxied: Default::default(),
    })
    .await?;
    pin_to(1);

    let bare = pool::connect(
        Component::Catalog,
        std::slice::from_ref(&ping.base_url),
        false,
    );
    let ping_call = Call {
        operation: "get",
        idempotent: true,
        codec: Codec::Json,
        body: Bytes::from_static(b"[\"SKU-00042\"]"),
    };
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let get = |base: String| {
        let client = client.clone();
        move || {
            let client = client.clone();
            let uri = format!("{base}{PAGE}");
            async move {
                let response = client.get(uri.parse().expect("uri")).await.expect("page");
                assert_eq!(response.status(), 200);
                response.into_body().collect().await.expect("body");
            }
        }
    };
    let ping_once = || {
        let bare = bare.clone();
        let call = ping_call.clone();
        async move {
            bare.oneshot(call).await.expect("ping");
        }
    };

    // Warm-up: connections, caches, the page cache of SQLite.
    measure(requests / 2, ping_once).await;
    measure(requests / 2, get(monolith.base_url.clone())).await;
    measure(requests / 2, get(split.gateway_url().to_owned())).await;

    let (mut bare_p50, mut bare_p99) = (Vec::new(), Vec::new());
    let (mut mono_p50, mut mono_p99) = (Vec::new(), Vec::new());
    let (mut split_p50, mut split_p99) = (Vec::new(), Vec::new());
    let (mut hop_p50, mut hop_p99) = (Vec::new(), Vec::new());
    println!(
        "| round | bare round trip p50 / p99 us | monolith page p50 / p99 us | split page p50 / p99 us | added per hop p50 / p99 us | hop / bare (p50) |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    for round in 1..=rounds {
        let b = measure(requests, ping_once).await;
        let m = measure(requests, get(monolith.base_url.clone())).await;
        let s = measure(requests, get(split.gateway_url().to_owned())).await;
        let hop = |q| (micros(&s, q) - micros(&m, q)) / HOPS_PER_PAGE;
        println!(
            "| {round} | {:.1} / {:.1} | {:.1} / {:.1} | {:.1} / {:.1} | {:.1} / {:.1} | {:.2} |",
            micros(&b, 0.5),
            micros(&b, 0.99),
            micros(&m, 0.5),
            micros(&m, 0.99),
            micros(&s, 0.5),
            micros(&s, 0.99),
            hop(0.5),
            hop(0.99),
            hop(0.5) / micros(&b, 0.5)
        );
        bare_p50.push(micros(&b, 0.5));
        bare_p99.push(micros(&b, 0.99));
        mono_p50.push(micros(&m, 0.5));
        mono_p99.push(micros(&m, 0.99));
        split_p50.push(micros(&s, 0.5));
        split_p99.push(micros(&s, 0.99));
        hop_p50.push(hop(0.5));
        hop_p99.push(hop(0.99));
    }
    let ratios: Vec<f64> = hop_p50.iter().zip(&bare_p50).map(|(h, b)| h / b).collect();
    println!();
    println!(
        "Medians over {rounds} interleaved rounds of {requests} sequential requests: bare round trip p50 **{:.1} us** (p99 {:.1}); monolith page p50 {:.1} us (p99 {:.1}); split page p50 {:.1} us (p99 {:.1}); added per internal hop p50 **{:.1} us** (p99 {:.1}); hop / bare round trip (p50, median of per-round ratios) **{:.2}**.",
        median(bare_p50),
        median(bare_p99),
        median(mono_p50),
        median(mono_p99),
        median(split_p50),
        median(split_p99),
        median(hop_p50),
        median(hop_p99),
        median(ratios)
    );
    split.stop(Duration::from_secs(5)).await?;
    monolith.stop(Duration::from_secs(5)).await?;
    ping.stop(Duration::from_secs(5)).await?;
    Ok(())
}
