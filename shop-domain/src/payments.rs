//! The payments component: stands for an external card processor.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{CardNumber, Cents, OrderId, ShopError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChargeStatus {
    Captured,
    Declined,
    Refunded,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Charge {
    pub order: OrderId,
    pub amount: Cents,
    pub status: ChargeStatus,
}

/// Payments' totals. `captured` excludes refunded charges.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentsAudit {
    pub charges: u64,
    pub captured: u64,
    pub captured_cents: u64,
    pub refunded: u64,
    pub refunded_cents: u64,
    pub declined: u64,
}

/// Charges are keyed by order: a second `charge` for the same order returns the
/// first one's outcome and never charges again.
#[async_trait]
pub trait Payments: Send + Sync {
    /// Declined is an error ([`ShopError::PaymentDeclined`]), recorded so a retry sees it too.
    async fn charge(
        &self,
        order: OrderId,
        amount: Cents,
        card: &CardNumber,
    ) -> Result<Charge, ShopError>;
    /// Refunds a captured charge; a no-op when there is nothing to refund.
    async fn refund(&self, order: OrderId) -> Result<(), ShopError>;
    /// The charge for one order, if any.
    async fn charge_of(&self, order: OrderId) -> Result<Option<Charge>, ShopError>;
    async fn audit(&self) -> Result<PaymentsAudit, ShopError>;
}
