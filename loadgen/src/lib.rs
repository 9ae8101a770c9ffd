//! The load generator: deploys either architecture of the shop, drives it open-loop,
//! measures it honestly and writes what it found.
//!
//! # Layout
//!
//! Measuring:
//! - [`schedule`]: the run's one shared arrival process ([`Schedule`], [`RateProfile`])
//!   and the wait for an intended send time, on [`timer`]'s thread (precise, no spin).
//! - [`record`]: per-endpoint HdrHistograms of corrected latency (from the intended time)
//!   and service time, whole-run and per second, and the generator's own lag.
//! - [`open_loop`]: the users' loop tying the two together, with a bare client.
//! - [`goose_driver`]: the same loop run by goose users, whose own per-request metrics
//!   are kept as the service-time view.
//! - [`journeys`]: the shop's users (register, log in, then a weighted [`journeys::Mix`]
//!   of browsing, cart, checkout and recommendations).
//! - [`cost`]: CPU time (each process's CPU-time clock) and resident memory (/proc) of every
//!   watched process, sampled at a fixed interval.
//! - [`scrape`]: the shop's own `/metrics`: requests by route, time in each component.
//! - [`measure`]: one measurement of a deployment, summarised and judged (kept,
//!   saturated, or limited by the generator).
//! - [`audit`]: the ledger of acknowledged checkouts and the consistency check held
//!   against it after a fault or a deploy.
//!
//! Deploying:
//! - [`binaries`]: finding and building the release service binaries.
//! - [`pinning`]: separate cores for the generator and the system under test.
//! - [`cgroups`]: per-process CPU and memory limits, where the machine allows.
//! - [`deploy`]: the monolith (alone, or replicas behind the balancer), the split build
//!   or the ceiling as supervised processes; a process replaced by a new release.
//! - [`faults`]: a component misbehaving, or the process hosting it killed or frozen,
//!   at the same logical spot in either architecture.
//!
//! Running:
//! - [`scenarios`]: the catalog, the profiles, and the ramp and hop-cost procedures.
//! - [`partial_failure`]: a fault in one component under load (or one replica of
//!   three lost), what it reached, how long it took to recover, and the audit after it.
//! - [`scale_hot`]: a mix heavy in recommendations ramped on one replica and on the
//!   hot part scaled, and a cost model sizing both from the measured demand at 1x, 10x and 100x the lower knee.
//! - [`rolling`]: a new release of catalog rolled through its processes under load:
//!   failed requests, the latency spike, the rollout's length, each cold start.
//! - [`metastable`]: a spike past capacity and back: does goodput return, and what do
//!   retries add?
//! - [`diversify`]: one service's wire format switched alone: its gain, the others'
//!   stillness.
//! - [`interleaved`]: the ceiling, the monolith and split measured in alternating turns:
//!   the in-run ratios the regression gate judges.
//! - [`runner`]: a whole run, from calibration to `run.json`, interruptible.
//! - [`results`]: `run.json` and the terminal's summary table.
//! - [`claims`]: the verdict on each of the article's claims the run has evidence for.
//! - [`gate`]: `loadgen check`, the regression gate's verdict on a run.
//! - [`report`]: the HTML report of a run (rebuilt from `run.json` alone), the list of
//!   runs, and the comparison of two runs.

pub mod audit;
pub mod binaries;
pub mod cgroups;
pub mod claims;
pub mod cost;
pub mod deploy;
pub mod diversify;
pub mod faults;
pub mod gate;
pub mod goose_driver;
pub mod interleaved;
pub mod journeys;
pub mod measure;
pub mod metastable;
pub mod open_loop;
pub mod partial_failure;
pub mod pinning;
pub mod record;
pub mod report;
pub mod results;
pub mod rolling;
pub mod runner;
pub mod scale_hot;
pub mod scenarios;
pub mod schedule;
pub mod scrape;
pub mod timer;

pub use open_loop::{Users, drive};
pub use record::{Outcome, Recorder, Sample};
pub use schedule::{Arrivals, RateProfile, Schedule, Segment};

/// Unit tests that measure time, or burn a core, take turns: on two cores each would
/// be the other's noise.
#[cfg(test)]
pub(crate) static TIMING_TESTS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
