//! The orders component: checkout, the long chain with compensation.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{CardNumber, Cents, IdempotencyKey, OrderId, PricedLine, ShopError, Sku, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// The chain is running (or was cut short by a crash and awaits recovery).
    Pending,
    /// Charged and recorded: this is the acknowledgement.
    Confirmed,
    /// Compensated: nothing reserved, nothing charged.
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: OrderId,
    pub user: UserId,
    pub status: OrderStatus,
    pub lines: Vec<PricedLine>,
    pub total: Cents,
    /// Unix seconds.
    pub created_at: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutRequest {
    /// With a key, a retry returns the first attempt's order and never charges twice.
    pub idempotency_key: Option<IdempotencyKey>,
    pub card: CardNumber,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutOutcome {
    pub order: Order,
    /// True when this answer replays an earlier checkout with the same key.
    pub replayed: bool,
}

/// Orders' totals; `confirmed_cents` must equal payments' `captured_cents`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrdersAudit {
    pub confirmed: u64,
    pub confirmed_cents: u64,
    /// Units of stock the confirmed orders bought, all lines summed.
    pub confirmed_units: u64,
    pub pending: u64,
    pub failed: u64,
    /// Confirmed orders whose stock commit or cart cleanup has not happened yet.
    pub unsettled: u64,
}

#[async_trait]
pub trait Orders: Send + Sync {
    async fn checkout(
        &self,
        user: UserId,
        request: CheckoutRequest,
    ) -> Result<CheckoutOutcome, ShopError>;
    /// One of the user's orders; another user's order is not found.
    async fn get(&self, user: UserId, order: OrderId) -> Result<Order, ShopError>;
    /// The user's orders, newest first, at most `limit`.
    async fn list(&self, user: UserId, limit: usize) -> Result<Vec<Order>, ShopError>;
    /// SKUs the user bought, most recent first (recommendations' history).
    async fn purchased(&self, user: UserId, limit: usize) -> Result<Vec<Sku>, ShopError>;
    async fn audit(&self) -> Result<OrdersAudit, ShopError>;
}
