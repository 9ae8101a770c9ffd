//! The inventory component: stock per SKU, reserved and committed per order.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{OrderId, Quantity, ShopError, Sku};

/// Units of one product for one order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockLine {
    pub sku: Sku,
    pub quantity: Quantity,
}

/// What a product page shows of stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockLevel {
    pub available: u64,
}

/// Inventory's totals. Conservation: `initial == available + reserved + committed`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryAudit {
    pub skus: u64,
    pub initial: u64,
    pub available: u64,
    pub reserved: u64,
    pub committed: u64,
    /// Orders holding a reservation that is neither committed nor released.
    pub open_reservations: u64,
}

impl InventoryAudit {
    pub fn is_conserved(&self) -> bool {
        self.initial == self.available + self.reserved + self.committed
    }
}

/// Reservations are keyed by order: `reserve`, `commit` and `release` may each be
/// called any number of times for one order and act once.
#[async_trait]
pub trait Inventory: Send + Sync {
    async fn stock(&self, sku: &Sku) -> Result<StockLevel, ShopError>;
    /// All lines or none; a conflict (`insufficient_stock`) names the first short SKU.
    async fn reserve(&self, order: OrderId, lines: &[StockLine]) -> Result<(), ShopError>;
    /// Turns the order's reservation into a sale. Not found if nothing was reserved.
    async fn commit(&self, order: OrderId) -> Result<(), ShopError>;
    /// Gives reserved units back. A no-op for unknown or committed orders.
    async fn release(&self, order: OrderId) -> Result<(), ShopError>;
    async fn audit(&self) -> Result<InventoryAudit, ShopError>;
}
