//! `balancer --listen 127.0.0.1:0 --replica URL --replica URL ...`: the balancer's
//! process (see the crate docs).

use anyhow::Context;
use clap::Parser;

/// Whole replicas of one HTTP service behind one address.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Where to listen; port 0 picks a free port (printed at start).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// A replica's base URL (`http://127.0.0.1:8081`); once per replica.
    #[arg(long = "replica", required = true, value_parser = base_url)]
    replicas: Vec<String>,
    /// What the replicas serve, for logs and errors.
    #[arg(long, default_value = "monolith")]
    service: String,
    /// Longest wait for in-flight requests at shutdown, in seconds.
    #[arg(long, default_value_t = 10)]
    drain_secs: u64,
}

/// An `http://` URL with a host, without a path.
fn base_url(given: &str) -> Result<String, String> {
    let uri: axum::http::Uri = given.parse().map_err(|e| format!("{given}: {e}"))?;
    match (uri.scheme_str(), uri.authority(), uri.path()) {
        (Some("http"), Some(_), "/" | "") => Ok(given.trim_end_matches('/').to_owned()),
        _ => Err(format!("{given}: want http://HOST:PORT, with no path")),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    shop_config::init_tracing();
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let app = balancer::router(&args.service, &args.replicas);
    shop_api::server::serve(
        "balancer",
        listener,
        app,
        shop_api::Readiness::default(),
        shop_api::server::shutdown_signal(),
        shop_api::server::Drain {
            deregister: std::time::Duration::ZERO,
            limit: std::time::Duration::from_secs(args.drain_secs),
        },
    )
    .await?;
    Ok(())
}
