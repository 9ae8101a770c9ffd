//! The shop's domain: what the shop does, with no idea of where it runs.
//!
//! # Layout
//!
//! - [`values`]: validated newtypes (`Sku`, `Quantity`, `Cents`, `UserId`, ...).
//! - [`error`]: [`ShopError`], the one error every component returns, and [`Component`].
//! - One module per component, each with its trait and the types it speaks:
//!   [`catalog`], [`inventory`], [`cart`], [`payments`], [`orders`],
//!   [`recommendations`] (which also holds the scoring), [`users`].
//! - [`auth`]: signed session tokens, verified locally by anyone holding the key.
//! - [`seed`]: the deterministic catalog and stock generator.
//! - [`shop`]: [`Shop`], a handle on all components, and the use cases that span several.
//!
//! # Invariant
//!
//! This crate knows nothing of HTTP, JSON, SQL or processes. Types derive `serde`
//! traits (format-agnostic) so that wirings can carry them; which format, and over
//! what, is decided elsewhere. Components are async traits so that the same caller
//! works whether the callee is in-process or across the network.

pub mod auth;
pub mod cart;
pub mod catalog;
pub mod error;
pub mod inventory;
pub mod orders;
pub mod payments;
pub mod recommendations;
pub mod seed;
pub mod shop;
pub mod users;
pub mod values;

pub use auth::{TokenKey, unix_now};
pub use cart::{Cart, CartView, PricedLine};
pub use catalog::{Catalog, ItemEmbedding, Product, ProductList, ProductSummary};
pub use error::{Component, ConflictCode, ShopError};
pub use inventory::{Inventory, InventoryAudit, StockLevel, StockLine};
pub use orders::{CheckoutOutcome, CheckoutRequest, Order, OrderStatus, Orders, OrdersAudit};
pub use payments::{Charge, ChargeStatus, Payments, PaymentsAudit};
pub use recommendations::{EmbeddingMatrix, Recommendations, Scored};
pub use seed::{SeedConfig, SeedItem};
pub use shop::{AuditReport, ProductPage, Recommended, Shop};
pub use users::{Session, Users};
pub use values::{
    CardNumber, Category, Cents, IdempotencyKey, OrderId, Page, Password, Quantity, SearchText,
    Sku, UserId, Username,
};
