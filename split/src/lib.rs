//! The shop as services: one process per component (each hosting the very code the
//! monolith runs in-process), a gateway serving the same public API, and a launcher.
//!
//! # Layout
//!
//! - [`topology`]: [`Topology`] (how many replicas, which codec, which resilience
//!   preset; TOML) and [`Directory`] (where each replica answers, once started).
//! - [`service`]: one component as a service: local implementation, own database file,
//!   internal routes, stubs of its dependencies. `main` of every `split-COMPONENT` binary.
//! - [`gateway`]: the public API over stubs of every service; forwards fault control
//!   and aggregates the audit. `main` of `split-gateway`.
//! - [`remotes`]: observed stubs of the services a process calls.
//! - [`launch`]: [`SplitDeployment`], which starts everything in dependency order and
//!   stops it on every path; `split-up` is its command line.
//!
//! # Invariant
//!
//! No business logic here: this crate only builds, connects and runs what
//! `shop-components` defines, exactly as `monolith` does in one process.

pub mod gateway;
pub mod launch;
pub mod remotes;
pub mod service;
pub mod topology;

pub use launch::{LaunchOptions, ProcessSetup, SplitDeployment, Supervised};
pub use topology::{DeploymentFlags, Directory, Preset, ServiceSpec, Topology};
