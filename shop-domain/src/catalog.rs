//! The catalog component: products, immutable once seeded.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{Category, Cents, Page, SearchText, ShopError, Sku};

/// A product as the catalog stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Product {
    pub sku: Sku,
    pub name: String,
    pub category: Category,
    pub price: Cents,
    pub description: String,
}

/// The part of a product that lists and cards show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductSummary {
    pub sku: Sku,
    pub name: String,
    pub category: Category,
    pub price: Cents,
}

impl From<&Product> for ProductSummary {
    fn from(p: &Product) -> Self {
        ProductSummary {
            sku: p.sku.clone(),
            name: p.name.clone(),
            category: p.category.clone(),
            price: p.price,
        }
    }
}

/// One page of products, with the total so clients can page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductList {
    pub items: Vec<ProductSummary>,
    pub page: u32,
    pub per_page: u32,
    pub total: u64,
}

/// A product's embedding, as recommendations need it when they precompute. Kept out of
/// [`Product`]: only recommendations read it, and a product page should not carry it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemEmbedding {
    pub sku: Sku,
    pub category: Category,
    /// Unit-length vector describing the product.
    pub embedding: Vec<f32>,
}

#[async_trait]
pub trait Catalog: Send + Sync {
    /// Products in SKU order, optionally of one category (an unknown category is not found).
    async fn list(&self, page: Page, category: Option<&Category>)
    -> Result<ProductList, ShopError>;
    /// One product; not found when the SKU is unknown.
    async fn get(&self, sku: &Sku) -> Result<Product, ShopError>;
    /// Products whose name or description contains every word of `text`, best first.
    async fn search(
        &self,
        text: &SearchText,
        limit: usize,
    ) -> Result<Vec<ProductSummary>, ShopError>;
    /// Summaries of many products, in the order asked; not found if any SKU is unknown.
    async fn summaries(&self, skus: &[Sku]) -> Result<Vec<ProductSummary>, ShopError>;
    /// Every product's embedding, in SKU order.
    async fn embeddings(&self) -> Result<Vec<ItemEmbedding>, ShopError>;
}
