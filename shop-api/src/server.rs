//! Serving a router with a graceful, bounded shutdown.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;

/// Whether the process wants traffic: true once serving, false from the moment it
/// starts to drain, so balancers stop sending before connections close.
#[derive(Debug, Clone)]
pub struct Readiness(Arc<AtomicBool>);

impl Default for Readiness {
    fn default() -> Self {
        Self(Arc::new(AtomicBool::new(true)))
    }
}

impl Readiness {
    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    pub fn set_draining(&self) {
        self.0.store(false, Ordering::Release);
    }
}

/// How a server stops once asked to.
#[derive(Debug, Clone, Copy, Default)]
pub struct Drain {
    /// How long it goes on serving, not ready, so balancers take it out first.
    pub deregister: Duration,
    /// The longest it then waits for in-flight requests.
    pub limit: Duration,
}

/// Serves `app` on `listener` until `shutdown` resolves; then marks the process not
/// ready, goes on serving for `drain.deregister`, stops accepting, and waits at most
/// `drain.limit` for in-flight requests.
///
/// First prints `NAME listening on http://ADDR` on stdout, flushed: tests and launchers
/// read that line to learn the port.
pub async fn serve(
    name: &str,
    listener: TcpListener,
    app: Router,
    readiness: Readiness,
    shutdown: impl Future<Output = ()> + Send + 'static,
    drain: Drain,
) -> io::Result<()> {
    println!("{name} listening on http://{}", listener.local_addr()?);
    std::io::Write::flush(&mut std::io::stdout())?;
    let (draining_tx, draining_rx) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        readiness.set_draining();
        if !drain.deregister.is_zero() {
            tracing::info!(deregister = ?drain.deregister, "shutting down: not ready, still serving");
            tokio::time::sleep(drain.deregister).await;
        }
        tracing::info!("shutting down: draining in-flight requests");
        let _ = draining_tx.send(());
    });
    let drain_deadline = async move {
        if draining_rx.await.is_ok() {
            tokio::time::sleep(drain.limit).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        result = server => result,
        () = drain_deadline => {
            tracing::warn!(limit = ?drain.limit, "drain deadline passed; closing the remaining connections");
            Ok(())
        }
    }
}

/// Resolves on SIGTERM or Ctrl-C (SIGINT). The handlers are installed when this is
/// called, not when the future is first polled: from then on neither signal can end the
/// process before its owner has cleaned up. Must be called inside a tokio runtime.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{SignalKind, signal};
    let listen = |kind: SignalKind, name: &'static str| {
        let listener = signal(kind);
        if let Err(e) = &listener {
            tracing::error!(%e, "cannot listen for {name}");
        }
        listener.ok()
    };
    let interrupt = listen(SignalKind::interrupt(), "Ctrl-C");
    let terminate = listen(SignalKind::terminate(), "SIGTERM");
    async move {
        let received = |listener: Option<tokio::signal::unix::Signal>| async move {
            match listener {
                Some(mut listener) => {
                    listener.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = received(interrupt) => tracing::info!("Ctrl-C received"),
            () = received(terminate) => tracing::info!("SIGTERM received"),
        }
    }
}
