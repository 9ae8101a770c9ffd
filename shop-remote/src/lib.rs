//! Components over HTTP, for the split build: a service hosts its component behind
//! internal routes, and its callers hold a stub that implements the same trait.
//!
//! # Layout
//!
//! - [`codec`]: [`Codec`], the wire format of internal calls (JSON, or postcard).
//! - [`serve`]: the internal routes, one function per component
//!   (`POST /internal/{component}/{operation}`).
//! - [`client`]: [`Transport`], the caller's side: encode, send, decode, and the one
//!   mapping from failures on the way to [`shop_domain::ShopError::Unavailable`].
//! - [`pool`]: a service's replicas as one tower service: pooled keep-alive connections
//!   (hyper-util), power-of-two-choices balancing (tower), ejection and return of
//!   replicas by connection errors and readiness probes.
//! - [`rotation`]: which replicas are in the rotation ([`rotation::Seat`]), and the
//!   readiness probes that move them in and out; shared with the `balancer` crate.
//! - [`resilience`]: [`Resilience`], the layers a caller puts around a dependency
//!   (deadline, retries of idempotent calls under a budget, circuit breaker, load
//!   shedding), with the `bare` and `hardened` presets.
//! - [`stubs`]: `RemoteCatalog`, `RemoteInventory`, ...: each component trait implemented
//!   by calls through a [`Transport`].
//!
//! # Design
//!
//! An operation's arguments travel as one tuple, in the trait method's order, and its
//! answer as the method's `Result`: `200` with the value, `422` with the `ShopError`. A
//! domain answer therefore crosses the network unchanged (a decline is still a decline),
//! and so does a dependency's unavailability (orders reporting payments down still names
//! payments). Anything else a caller sees (no connection, no answer, a garbled one) is
//! the callee being unavailable.

pub mod client;
pub mod codec;
pub mod pool;
pub mod resilience;
pub mod rotation;
pub mod serve;
pub mod stubs;

pub use client::{Link, Transport};
pub use codec::Codec;
pub use resilience::Resilience;
pub use stubs::{
    RemoteCart, RemoteCatalog, RemoteInventory, RemoteOrders, RemotePayments,
    RemoteRecommendations, RemoteUsers,
};
