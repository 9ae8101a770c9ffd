//! The cart component: one cart per user.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{Cents, OrderId, Quantity, ShopError, Sku, StockLine, UserId};

/// A cart line priced with the catalog's current price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricedLine {
    pub sku: Sku,
    pub name: String,
    pub quantity: Quantity,
    pub unit_price: Cents,
    pub line_total: Cents,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartView {
    pub lines: Vec<PricedLine>,
    pub total: Cents,
}

#[async_trait]
pub trait Cart: Send + Sync {
    /// Adds units (to an existing line if there is one); not found for an unknown SKU.
    async fn add(&self, user: UserId, sku: &Sku, quantity: Quantity)
    -> Result<CartView, ShopError>;
    /// Removes a whole line; not found when the cart has no such line.
    async fn remove(&self, user: UserId, sku: &Sku) -> Result<CartView, ShopError>;
    /// The cart, priced by the catalog now.
    async fn view(&self, user: UserId) -> Result<CartView, ShopError>;
    /// The raw lines, unpriced.
    async fn lines(&self, user: UserId) -> Result<Vec<StockLine>, ShopError>;
    /// Removes exactly the lines `order` checked out; lines added since stay. Idempotent per
    /// order: a second call for the same order (a retry, the settler) changes nothing.
    async fn remove_lines(
        &self,
        user: UserId,
        order: OrderId,
        lines: &[StockLine],
    ) -> Result<(), ShopError>;
}
