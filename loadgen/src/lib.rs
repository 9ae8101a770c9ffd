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
//! Still to come in the loadgen issue: the shop's journeys, local deployment of both
//! architectures, scenarios, cost accounting, results on disk and the command line.

pub mod goose_driver;
pub mod open_loop;
pub mod record;
pub mod schedule;

pub use open_loop::{Users, drive};
pub use record::{Outcome, Recorder, Sample};
pub use schedule::{Arrivals, RateProfile, Schedule, Segment};
