//! The public API's request and response bodies.
//!
//! They mirror the domain types but are the API's own: the wire contract (field
//! names, money as integer cents, no embeddings) stays put when the domain changes.

use serde::{Deserialize, Serialize};
use shop_domain::{
    CartView, Order, OrderStatus, PricedLine, ProductPage, ProductSummary, Recommended, Session,
};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// 3 to 32 letters, digits, `_`, `-` or `.`.
    pub username: String,
    /// 8 to 128 printable characters.
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Registered {
    pub user_id: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionBody {
    pub user_id: u64,
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    /// Unix seconds.
    pub expires_at: u64,
}

impl From<Session> for SessionBody {
    fn from(s: Session) -> Self {
        Self {
            user_id: s.user.0,
            token: s.token,
            expires_at: s.expires_at,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// From 1 (default 1).
    pub page: Option<u32>,
    /// From 1 to 100 (default 20).
    pub per_page: Option<u32>,
    /// Only this category.
    pub category: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductCard {
    pub sku: String,
    pub name: String,
    pub category: String,
    pub price_cents: u64,
}

impl From<ProductSummary> for ProductCard {
    fn from(p: ProductSummary) -> Self {
        Self {
            sku: p.sku.into(),
            name: p.name,
            category: p.category.into(),
            price_cents: p.price.0,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductListBody {
    pub items: Vec<ProductCard>,
    pub page: u32,
    pub per_page: u32,
    pub total: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductPageBody {
    pub sku: String,
    pub name: String,
    pub category: String,
    pub price_cents: u64,
    pub description: String,
    /// Units available to buy now.
    pub stock: u64,
    /// Up to four products like this one.
    pub related: Vec<ProductCard>,
}

impl From<ProductPage> for ProductPageBody {
    fn from(page: ProductPage) -> Self {
        let p = page.product;
        Self {
            sku: p.sku.into(),
            name: p.name,
            category: p.category.into(),
            price_cents: p.price.0,
            description: p.description,
            stock: page.stock.available,
            related: page.related.into_iter().map(ProductCard::from).collect(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// 1 to 64 characters; every word must match.
    pub q: String,
    /// 1 to 50 (default 20).
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchBody {
    pub items: Vec<ProductCard>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddToCart {
    pub sku: String,
    /// 1 to 99.
    pub quantity: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LineBody {
    pub sku: String,
    pub name: String,
    pub quantity: u32,
    pub unit_price_cents: u64,
    pub line_total_cents: u64,
}

impl From<PricedLine> for LineBody {
    fn from(l: PricedLine) -> Self {
        Self {
            sku: l.sku.into(),
            name: l.name,
            quantity: l.quantity.get(),
            unit_price_cents: l.unit_price.0,
            line_total_cents: l.line_total.0,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CartBody {
    pub lines: Vec<LineBody>,
    pub total_cents: u64,
}

impl From<CartView> for CartBody {
    fn from(c: CartView) -> Self {
        Self {
            lines: c.lines.into_iter().map(LineBody::from).collect(),
            total_cents: c.total.0,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutBody {
    /// 12 to 19 digits. Test cards ending in `0002` are declined.
    pub card_number: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderBody {
    pub order_id: u64,
    /// `pending`, `confirmed` or `failed`.
    pub status: String,
    pub lines: Vec<LineBody>,
    pub total_cents: u64,
    /// Unix seconds.
    pub created_at: u64,
}

impl From<Order> for OrderBody {
    fn from(o: Order) -> Self {
        let status = match o.status {
            OrderStatus::Pending => "pending",
            OrderStatus::Confirmed => "confirmed",
            OrderStatus::Failed => "failed",
        };
        Self {
            order_id: o.id.0,
            status: status.to_owned(),
            lines: o.lines.into_iter().map(LineBody::from).collect(),
            total_cents: o.total.0,
            created_at: o.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderListBody {
    pub orders: Vec<OrderBody>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LimitParams {
    /// 1 to 50 (default 10 for recommendations, 20 for orders).
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecommendationBody {
    #[serde(flatten)]
    pub product: ProductCard,
    /// Similarity to the user's taste, higher is closer.
    pub score: f32,
}

impl From<Recommended> for RecommendationBody {
    fn from(r: Recommended) -> Self {
        Self {
            product: r.product.into(),
            score: r.score,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecommendationsBody {
    pub items: Vec<RecommendationBody>,
}
