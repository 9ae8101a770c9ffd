//! Local implementations of every shop component, each owning its SQLite tables.
//!
//! # Layout
//!
//! - `db` (private): `Db`, one SQLite connection behind a mutex, the pragmas every
//!   component opens with, `read`/`write` helpers and the one mapping from SQLite errors
//!   to [`ShopError`](shop_domain::ShopError).
//! - [`catalog`]: [`LocalCatalog`], seeded once into `catalog_products`, then served
//!   entirely from memory (with a small inverted index for search).
//! - [`inventory`]: [`LocalInventory`], stock and per-order reservations; `stock_cache`
//!   (private) keeps what product pages show for a bounded time.
//! - [`cart`]: [`LocalCart`], one cart per user, priced through the [`Catalog`] trait.
//! - [`payments`]: [`LocalPayments`], a simulated card processor with configurable latency
//!   and decline rate.
//! - [`orders`]: [`LocalOrders`], the checkout saga with compensation, idempotency keys and
//!   a settler ([`LocalOrders::settle`]) that finishes what a crash cut short.
//! - [`recommendations`]: [`LocalRecommendations`], related products precomputed at build
//!   time and "for me" scored on every request (the CPU-hot component).
//! - [`users`]: [`LocalUsers`], registration and login with PBKDF2 password hashes.
//!
//! # Key decisions
//!
//! - **Each component owns its tables and its connection.** A component opens its own
//!   `Db` on the path it is given and never reads another component's tables; what it
//!   needs from another component it asks through that component's trait. That is what lets
//!   the monolith give every component the same file while the split build gives each
//!   service its own, with no change here.
//! - **SQLite runs inline on the async worker.** Queries take microseconds; measured on this
//!   project's machines, inline calls were about 30% cheaper than `spawn_blocking`. The
//!   mutex is never held across an `.await`. Password hashing, milliseconds of CPU, is the
//!   one piece of work sent to the blocking pool.
//! - **Durability is "survives `kill -9`".** WAL with `synchronous=NORMAL`: a committed
//!   transaction is in the OS page cache before the call returns. Power loss is out of scope.
//!
//! [`Catalog`]: shop_domain::Catalog

mod db;

pub mod cart;
pub mod catalog;
pub mod inventory;
pub mod orders;
pub mod payments;
pub mod recommendations;
mod stock_cache;
pub mod users;

pub use cart::LocalCart;
pub use catalog::LocalCatalog;
pub use inventory::LocalInventory;
pub use orders::{LocalOrders, OrdersDeps, Refunds, SettleReport};
pub use payments::{LocalPayments, PaymentsConfig};
pub use recommendations::{LocalRecommendations, RecommendationsConfig};
pub use users::{LocalUsers, UsersConfig};
