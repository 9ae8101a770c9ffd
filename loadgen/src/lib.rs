//! The load generator: drives a deployed shop open-loop and measures it honestly.
//!
//! # Layout
//!
//! - [`schedule`]: the run's one shared arrival process ([`Schedule`], [`RateProfile`])
//!   and the precise wait for an intended send time.
//! - [`record`]: per-endpoint HdrHistograms of corrected latency (from the intended time)
//!   and service time, whole-run and per second, and the generator's own lag.
//! - [`open_loop`]: the users' loop tying the two together, with a bare client.
//! - [`goose_driver`]: the same loop run by goose users, whose own per-request metrics
//!   are kept as the service-time view.
//!
//! - [`cost`]: CPU time and resident memory of every watched process, sampled from /proc.
//!
//! Still to come in the loadgen issue: the shop's journeys, local deployment of both
//! architectures, scenarios, results on disk and the command line.

pub mod cost;
pub mod goose_driver;
pub mod open_loop;
pub mod record;
pub mod schedule;

pub use open_loop::{Users, drive};

/// Unit tests that measure time, or burn a core, take turns: on two cores each would
/// be the other's noise.
#[cfg(test)]
pub(crate) static TIMING_TESTS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
pub use record::{Outcome, Recorder, Sample};
pub use schedule::{Arrivals, RateProfile, Schedule, Segment};
