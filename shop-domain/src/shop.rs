//! The shop as its callers see it: one handle on every component, and the few
//! use cases that compose several of them (written here once, so the monolith and
//! the split gateway run the same composition).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::{
    Cart, Catalog, Inventory, InventoryAudit, Orders, OrdersAudit, Payments, PaymentsAudit,
    Product, ProductSummary, Recommendations, ShopError, Sku, StockLevel, UserId, Users,
};

/// Every component, as a trait object. Whether a component is in this process or
/// behind the network is the wiring's business, not the caller's.
#[derive(Clone)]
pub struct Shop {
    pub catalog: Arc<dyn Catalog>,
    pub inventory: Arc<dyn Inventory>,
    pub cart: Arc<dyn Cart>,
    pub payments: Arc<dyn Payments>,
    pub orders: Arc<dyn Orders>,
    pub recommendations: Arc<dyn Recommendations>,
    pub users: Arc<dyn Users>,
}

impl std::fmt::Debug for Shop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shop").finish_non_exhaustive()
    }
}

/// What a product page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductPage {
    pub product: Product,
    pub stock: StockLevel,
    pub related: Vec<ProductSummary>,
}

/// A recommendation with the product it names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommended {
    pub product: ProductSummary,
    pub score: f32,
}

/// Every component's totals, for the consistency checks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditReport {
    pub inventory: InventoryAudit,
    pub payments: PaymentsAudit,
    pub orders: OrdersAudit,
}

impl AuditReport {
    /// Broken invariants, in words; empty when the books balance.
    pub fn violations(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.inventory.is_conserved() {
            out.push(format!(
                "stock not conserved: initial {} != available {} + reserved {} + committed {}",
                self.inventory.initial,
                self.inventory.available,
                self.inventory.reserved,
                self.inventory.committed
            ));
        }
        if self.orders.pending == 0 && self.payments.captured_cents != self.orders.confirmed_cents {
            out.push(format!(
                "money does not add up: captured {} cents, confirmed orders {} cents",
                self.payments.captured_cents, self.orders.confirmed_cents
            ));
        }
        if self.orders.pending == 0 && self.payments.captured != self.orders.confirmed {
            out.push(format!(
                "charges do not match orders: {} captured, {} confirmed",
                self.payments.captured, self.orders.confirmed
            ));
        }
        // With nothing pending, every reservation left belongs to a confirmed order: the
        // units taken from stock are exactly the units confirmed orders bought.
        let taken = self.inventory.reserved + self.inventory.committed;
        if self.orders.pending == 0 && taken != self.orders.confirmed_units {
            out.push(format!(
                "stock does not match orders: {taken} units reserved or committed, \
                 confirmed orders bought {}",
                self.orders.confirmed_units
            ));
        }
        if self.orders.pending == 0 && self.orders.unsettled == 0 && self.inventory.reserved != 0 {
            out.push(format!(
                "{} units stay reserved with every order settled",
                self.inventory.reserved
            ));
        }
        out
    }
}

/// How many related products a product page shows.
pub const RELATED_ON_PAGE: usize = 4;
/// How much history "for me" looks at.
pub const HISTORY_LIMIT: usize = 50;

impl Shop {
    /// The product, its stock and its related products.
    pub async fn product_page(&self, sku: &Sku) -> Result<ProductPage, ShopError> {
        let product = self.catalog.get(sku).await?;
        let stock = self.inventory.stock(sku).await?;
        let mut related = self.recommendations.related(sku).await?;
        related.truncate(RELATED_ON_PAGE);
        let related = self.catalog.summaries(&related).await?;
        Ok(ProductPage {
            product,
            stock,
            related,
        })
    }

    /// Recommendations scored against what the user has in the cart and has bought.
    pub async fn recommendations_for(
        &self,
        user: UserId,
        limit: usize,
    ) -> Result<Vec<Recommended>, ShopError> {
        let mut history: Vec<Sku> = self
            .cart
            .lines(user)
            .await?
            .into_iter()
            .map(|l| l.sku)
            .collect();
        history.extend(self.orders.purchased(user, HISTORY_LIMIT).await?);
        history.truncate(HISTORY_LIMIT);
        let scored = self.recommendations.for_user(user, &history, limit).await?;
        let skus: Vec<Sku> = scored.iter().map(|s| s.sku.clone()).collect();
        let summaries = self.catalog.summaries(&skus).await?;
        Ok(summaries
            .into_iter()
            .zip(scored)
            .map(|(product, s)| Recommended {
                product,
                score: s.score,
            })
            .collect())
    }

    pub async fn audit(&self) -> Result<AuditReport, ShopError> {
        Ok(AuditReport {
            inventory: self.inventory.audit().await?,
            payments: self.payments.audit().await?,
            orders: self.orders.audit().await?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Books that balance: 100 units, 3 sold in one confirmed order of 30 cents.
    fn balanced() -> AuditReport {
        AuditReport {
            inventory: InventoryAudit {
                skus: 1,
                initial: 100,
                available: 97,
                committed: 3,
                ..InventoryAudit::default()
            },
            payments: PaymentsAudit {
                charges: 1,
                captured: 1,
                captured_cents: 30,
                ..PaymentsAudit::default()
            },
            orders: OrdersAudit {
                confirmed: 1,
                confirmed_cents: 30,
                confirmed_units: 3,
                ..OrdersAudit::default()
            },
        }
    }

    #[test]
    fn balanced_books_have_no_violations() {
        assert_eq!(balanced().violations(), Vec::<String>::new());
    }

    #[test]
    fn each_broken_invariant_is_reported() {
        let mut leaked = balanced();
        leaked.inventory.available = 96;
        assert_eq!(leaked.violations().len(), 1, "{:?}", leaked.violations());

        let mut unpaid = balanced();
        unpaid.payments.captured_cents = 0;
        unpaid.payments.captured = 0;
        assert_eq!(unpaid.violations().len(), 2, "{:?}", unpaid.violations());

        // Stock taken for an order that was never confirmed (a lost compensation).
        let mut taken = balanced();
        taken.inventory.available = 95;
        taken.inventory.reserved = 2;
        assert_eq!(taken.violations().len(), 2, "{:?}", taken.violations());

        // Pending orders suspend the money and stock checks, not conservation.
        taken.orders.pending = 1;
        assert_eq!(taken.violations(), Vec::<String>::new());
    }
}
