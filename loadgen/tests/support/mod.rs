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
    // Its own runtime on its own thread, as a separate process would be: the
    // generator's users must not delay its answers.
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
