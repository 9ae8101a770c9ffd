use anyhow::Context;
use clap::Parser;
use monolith::Config;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    shop_config::init_tracing();
    let config = Config::parse();
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    monolith::run(listener, &config, shop_api::server::shutdown_signal()).await
}
