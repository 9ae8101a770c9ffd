//! A synthetic server whose answer time is known, for the generator's own tests.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::RwLock;

/// A server that answers every request after `delay`, precisely (a thread's sleep, not
/// tokio's millisecond-grained timer), unless `freeze` is held, which stops it answering
/// at all; returns its base URL.
#[allow(dead_code)]
pub fn fixed_delay_server(delay: Duration, freeze: Arc<RwLock<()>>) -> String {
    let app = Router::new().route(
        "/",
        get(move || {
            let freeze = freeze.clone();
            async move {
                let _running = freeze.read().await;
                tokio::task::spawn_blocking(move || std::thread::sleep(delay))
                    .await
                    .unwrap();
                "ok"
            }
        }),
    );
    serve_on_own_thread(app)
}

/// A server that answers one request at a time, each after `delay`: it can answer at
/// most `1 / delay` requests per second, however many come. Returns its base URL.
#[allow(dead_code)] // Not every test binary uses every server.
pub fn serial_server(delay: Duration) -> String {
    let one_at_a_time = Arc::new(tokio::sync::Mutex::new(()));
    let app = Router::new().route(
        "/",
        get(move || {
            let one_at_a_time = one_at_a_time.clone();
            async move {
                let _turn = one_at_a_time.lock().await;
                tokio::task::spawn_blocking(move || std::thread::sleep(delay))
                    .await
                    .unwrap();
                "ok"
            }
        }),
    );
    serve_on_own_thread(app)
}

/// Its own runtime on its own thread, as a separate process would be: the generator's
/// users must not delay its answers.
fn serve_on_own_thread(app: Router) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    format!("http://{address}")
}

/// The folder of the workspace's debug binaries (`monolith`, `ceiling`, `split-*`,
/// `link-proxy`, `balancer`), brought up to date once per test binary: `cargo test -p loadgen`
/// alone would otherwise deploy whatever an older build left there.
#[allow(dead_code)]
pub fn service_bins() -> std::path::PathBuf {
    static BUILT: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    let bins = std::path::Path::new(env!("CARGO_BIN_EXE_loadgen"))
        .parent()
        .unwrap()
        .to_owned();
    BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let status = std::process::Command::new(cargo)
            .args([
                "build",
                "-p",
                "monolith",
                "-p",
                "split",
                "-p",
                "link-proxy",
                "-p",
                "balancer",
                "--bins",
            ])
            .status()
            .expect("run cargo");
        assert!(status.success(), "building the service binaries");
    });
    bins
}

/// What a test's measurements share: the generator's timer calibrated here, one core
/// on each side as far as the verdict is concerned, no goose reports.
#[allow(dead_code)]
pub async fn bench(seed: u64) -> loadgen::measure::Bench {
    loadgen::measure::Bench {
        seed,
        generator_cores: 1,
        sut_cores: 1,
        timer_bias: loadgen::measure::calibrate_timer(16, 1_000.0, Duration::from_millis(500))
            .await
            .unwrap(),
        goose_reports: None,
    }
}
