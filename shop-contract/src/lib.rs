//! The public API's contract suite, written once, run against every wiring.
//!
//! # Layout
//!
//! - [`suite`]: one async function per contract test, each taking a [`Target`].
//! - [`target`]: [`Target`] (a base URL, the admin token, a client and helpers) and
//!   [`Deployment`], what a wiring's test harness hands the suite.
//! - [`process`]: [`ServerProcess`], a real process on port 0 that dies with its handle.
//! - [`contract_tests!`]: expands to one `#[tokio::test]` per suite function for a
//!   given `async fn() -> impl Deployment`.

pub mod process;
pub mod suite;
pub mod target;

pub use process::ServerProcess;
pub use target::{Answer, Deployment, Target};

/// One `#[tokio::test]` per contract test, each against a fresh deployment from `$deploy`
/// (an `async fn() -> impl Deployment`).
#[macro_export]
macro_rules! contract_tests {
    ($deploy:path) => {
        $crate::contract_tests!(@each $deploy;
            operational_endpoints, accounts, authentication, catalog_listing, product_page, search, cart,
            checkout, checkout_failures_compensate, idempotent_checkout, recommendations, audit_totals,
            admin_faults);
    };
    (@each $deploy:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let deployment = $deploy().await;
                $crate::suite::$name($crate::Deployment::target(&deployment)).await;
            }
        )*
    };
}
