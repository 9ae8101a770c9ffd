//! One proxy: a listener forwarding every connection to its upstream, through the
//! toxics of the moment. Toxics and the enabled switch live in a `watch` channel:
//! every connection sees a change at once, existing ones included.

use std::net::SocketAddr;
use std::time::Duration;

use rand::Rng;
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep, sleep_until};

use crate::toxic::{Stream, Toxic, ToxicKind};

/// What a proxy does right now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Setting {
    /// When false the proxy is down: connections are refused and open ones closed.
    pub enabled: bool,
    pub toxics: Vec<Toxic>,
}

/// A running proxy. Dropping it stops it and closes its connections.
#[derive(Debug)]
pub struct Proxy {
    pub name: String,
    /// Where it listens (the port the OS picked, when asked for 0).
    pub listen: SocketAddr,
    pub upstream: String,
    setting: watch::Sender<Setting>,
    accepting: JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

impl Proxy {
    /// Listens on `listen` and forwards to `upstream`, enabled and without toxics.
    pub async fn start(name: &str, listen: &str, upstream: &str) -> std::io::Result<Self> {
        let listener = TcpListener::bind(listen).await?;
        let listen = listener.local_addr()?;
        let (setting, watching) = watch::channel(Setting {
            enabled: true,
            toxics: Vec::new(),
        });
        let accepting = tokio::spawn(accept(listener, upstream.to_owned(), watching));
        Ok(Self {
            name: name.to_owned(),
            listen,
            upstream: upstream.to_owned(),
            setting,
            accepting,
        })
    }

    pub fn setting(&self) -> Setting {
        self.setting.borrow().clone()
    }

    /// Takes the proxy down (refusing and closing connections) or up again.
    pub fn set_enabled(&self, enabled: bool) {
        self.setting.send_modify(|s| s.enabled = enabled);
    }

    /// Adds `toxic`; refuses a second toxic of the same name.
    pub fn add(&self, toxic: Toxic) -> Result<(), String> {
        let mut refused = None;
        self.setting.send_if_modified(|s| {
            if s.toxics.iter().any(|t| t.name == toxic.name) {
                refused = Some(format!("toxic {} already exists", toxic.name));
                return false;
            }
            s.toxics.push(toxic.clone());
            true
        });
        refused.map_or(Ok(()), Err)
    }

    /// Removes the toxic called `name`; answers whether there was one.
    pub fn remove(&self, name: &str) -> bool {
        self.setting.send_if_modified(|s| {
            let before = s.toxics.len();
            s.toxics.retain(|t| t.name != name);
            s.toxics.len() != before
        })
    }

    /// Enabled again, without toxics.
    pub fn reset(&self) {
        self.setting.send_replace(Setting {
            enabled: true,
            toxics: Vec::new(),
        });
    }
}

/// Accepts while enabled; while down, the port is closed (connecting is refused) and
/// bound again once enabled.
async fn accept(listener: TcpListener, upstream: String, mut setting: watch::Receiver<Setting>) {
    let address = listener.local_addr().ok();
    let mut listener = Some(listener);
    loop {
        let enabled = setting.borrow_and_update().enabled;
        match (&listener, enabled) {
            (Some(open), true) => {
                tokio::select! {
                    accepted = open.accept() => {
                        if let Ok((client, _)) = accepted {
                            tokio::spawn(link(client, upstream.clone(), setting.clone()));
                        }
                    }
                    changed = setting.changed() => if changed.is_err() { return },
                }
            }
            (Some(_), false) => listener = None,
            (None, true) => match address.map(rebind) {
                Some(Ok(open)) => listener = Some(open),
                // The port may not be free yet: try again shortly.
                _ => sleep(Duration::from_millis(20)).await,
            },
            (None, false) => {
                if setting.changed().await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Listens on `address` again, though connections of the last listener linger there.
fn rebind(address: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = match address {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(1024)
}

/// One client's connection: its data both ways through the toxics.
async fn link(client: TcpStream, upstream: String, setting: watch::Receiver<Setting>) {
    let Ok(server) = TcpStream::connect(&upstream).await else {
        // Dropping the client closes it: the upstream refused.
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    // Each direction ends on its own (a half-close passes through), except that a
    // reset in one ends the other too: the sockets close when both let go.
    let (reset, _) = watch::channel(false);
    tokio::join!(
        pump(
            client_read,
            server_write,
            Stream::Upstream,
            setting.clone(),
            &reset
        ),
        pump(
            server_read,
            client_write,
            Stream::Downstream,
            setting,
            &reset
        ),
    );
}

/// The toxics of one direction of one connection, rolled against their toxicity
/// when first seen.
struct Active {
    stream: Stream,
    /// Each toxic, when this connection first saw it, and whether it applies here
    /// (rolled once against its toxicity).
    toxics: Vec<(Toxic, Instant, bool)>,
    enabled: bool,
}

impl Active {
    fn new(stream: Stream) -> Self {
        Self {
            stream,
            toxics: Vec::new(),
            enabled: true,
        }
    }

    /// Follows `setting`: new toxics rolled and timed from now, removed ones gone.
    fn update(&mut self, setting: &Setting) {
        self.enabled = setting.enabled;
        let now = Instant::now();
        let mut rng = rand::rng();
        let mut next = Vec::new();
        for toxic in setting.toxics.iter().filter(|t| t.stream == self.stream) {
            match self.toxics.iter().find(|(t, _, _)| t == toxic) {
                Some(kept) => next.push(kept.clone()),
                None => {
                    let applies = toxic.toxicity >= 1.0 || rng.random::<f64>() < toxic.toxicity;
                    next.push((toxic.clone(), now, applies));
                }
            }
        }
        self.toxics = next;
    }

    /// The toxics that apply to this connection, with when it first saw each.
    fn applying(&self) -> impl Iterator<Item = (&Toxic, Instant)> {
        self.toxics
            .iter()
            .filter(|(_, _, applies)| *applies)
            .map(|(t, seen, _)| (t, *seen))
    }

    /// When this connection must be reset, if a reset toxic applies.
    fn reset_at(&self) -> Option<Instant> {
        self.applying()
            .filter_map(|(t, seen)| match t.kind {
                ToxicKind::ResetPeer { timeout } => Some(seen + Duration::from_millis(timeout)),
                _ => None,
            })
            .min()
    }

    /// Whether data is held back (a timeout toxic), and when the connection then closes.
    fn blocked(&self) -> Option<Option<Instant>> {
        self.applying()
            .filter_map(|(t, seen)| match t.kind {
                ToxicKind::Timeout { timeout: 0 } => Some(None),
                ToxicKind::Timeout { timeout } => Some(Some(seen + Duration::from_millis(timeout))),
                _ => None,
            })
            .min_by_key(|close| close.unwrap_or_else(far_future))
    }

    /// How long a chunk of `bytes` waits before and after it is written.
    fn delays(&self, bytes: usize) -> (Duration, Duration) {
        let mut rng = rand::rng();
        self.applying()
            .map(|(t, _)| t.kind.delays(bytes, rng.random_range(-1.0..=1.0)))
            .fold((Duration::ZERO, Duration::ZERO), |(a, b), (c, d)| {
                (a + c, b + d)
            })
    }
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365)
}

/// Moves data one way until it ends, the proxy goes down, or a toxic ends it (a reset
/// is told to the other direction through `reset`).
async fn pump(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    stream: Stream,
    mut setting: watch::Receiver<Setting>,
    reset: &watch::Sender<bool>,
) {
    let mut active = Active::new(stream);
    let mut buffer = vec![0u8; 32 * 1024];
    let mut other_reset = reset.subscribe();
    loop {
        active.update(&setting.borrow_and_update());
        if *other_reset.borrow() {
            to.forget();
            return;
        }
        if !active.enabled {
            return;
        }
        let reset_at = active.reset_at().unwrap_or_else(far_future);
        let blocked = active.blocked();
        let close_at = blocked.flatten().unwrap_or_else(far_future);
        let read = tokio::select! {
            read = from.read(&mut buffer) => read,
            changed = setting.changed() => {
                if changed.is_err() {
                    return;
                }
                continue;
            }
            _ = other_reset.changed() => {
                // Dropped, a write half would send FIN first: the reset must come alone.
                to.forget();
                return;
            }
            _ = sleep_until(reset_at) => {
                zero_linger(&from, &to);
                reset.send_replace(true);
                to.forget();
                return;
            }
            _ = sleep_until(close_at) => return,
        };
        let bytes = match read {
            Ok(0) | Err(_) => {
                let _ = to.shutdown().await;
                return;
            }
            Ok(bytes) => bytes,
        };
        if blocked.is_some() {
            // A timeout toxic drops what passes.
            continue;
        }
        let (before, after) = active.delays(bytes);
        if !before.is_zero() {
            sleep(before).await;
        }
        if to.write_all(&buffer[..bytes]).await.is_err() {
            return;
        }
        if !after.is_zero() {
            sleep(after).await;
        }
    }
}

/// Makes both sockets close with RST rather than FIN once let go: with a zero linger,
/// a close resets at once (and never blocks, which is what tokio warns of lingers).
fn zero_linger(from: &OwnedReadHalf, to: &OwnedWriteHalf) {
    #[allow(deprecated)]
    {
        let _ = from.as_ref().set_linger(Some(Duration::ZERO));
        let _ = to.as_ref().set_linger(Some(Duration::ZERO));
    }
}
