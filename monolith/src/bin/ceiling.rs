//! The physical reference for throughput: the same HTTP stack (axum on tokio, same
//! runtime settings as the monolith) answering every GET with fixed bytes read from a
//! file, typically a captured product page. Whatever the monolith does beyond this
//! costs throughput; nothing can do less.
//!
//! `ceiling --listen 127.0.0.1:0 --body page.json`

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::http::header;
use clap::Parser;

/// Serves the bytes of one file on every GET.
#[derive(Debug, Parser)]
#[command(name = "ceiling", about)]
struct Args {
    /// Address to listen on; port 0 picks a free port (printed at start).
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
    /// The file whose bytes every answer carries (served as application/json).
    #[arg(long)]
    body: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let body = Bytes::from(
        std::fs::read(&args.body).with_context(|| format!("reading {}", args.body.display()))?,
    );
    let app = Router::new().fallback(move || {
        let body = body.clone();
        async move { ([(header::CONTENT_TYPE, "application/json")], body) }
    });
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    println!("ceiling listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(shop_api::server::shutdown_signal())
        .await?;
    Ok(())
}
