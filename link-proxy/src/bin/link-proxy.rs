//! `link-proxy --listen 127.0.0.1:0`: the fault proxy's process (see the crate docs).

use std::sync::Arc;

use anyhow::Context;
use clap::Parser;

/// A TCP proxy that misbehaves on request (Toxiproxy's API and vocabulary).
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Where the control API listens.
    #[arg(long, default_value = "127.0.0.1:8474")]
    listen: String,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    println!("listening on http://{}", listener.local_addr()?);
    let app = link_proxy::api::router(Arc::default());
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            use tokio::signal::unix::{SignalKind, signal};
            let mut term = signal(SignalKind::terminate()).expect("a SIGTERM handler");
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        })
        .await?;
    Ok(())
}
