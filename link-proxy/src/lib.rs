//! A TCP proxy that misbehaves on request, in Toxiproxy's vocabulary: the network
//! faults of a link between two processes (latency with jitter, a bandwidth cap, a
//! black hole that drops data and times out, a reset by peer, the link down).
//!
//! # Layout
//!
//! - [`toxic`]: the faults ([`Toxic`], [`ToxicKind`]) as Toxiproxy names them in JSON.
//! - [`proxy`]: one proxy ([`Proxy`]): a listener forwarding each connection to its
//!   upstream through the toxics of the moment, which every connection follows live.
//! - [`api`]: the control API, a subset of Toxiproxy's HTTP API ([`api::router`]).
//! - `bin/link-proxy.rs`: the process: the control API on `--listen`, printing
//!   `listening on http://ADDRESS` once it answers, stopped by SIGTERM or Ctrl-C.
//!
//! Why our own: the maintained choice, Toxiproxy, is a Go program CI would have to
//! fetch, and its Rust port (`noxious`) has not been released in years and pins old
//! `tokio-util` and `rand`. What the scenarios need is a few hundred lines.

pub mod api;
pub mod proxy;
pub mod toxic;

pub use proxy::{Proxy, Setting};
pub use toxic::{Stream, Toxic, ToxicKind};
