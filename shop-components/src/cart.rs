//! The cart: one per user, stored as raw lines and priced by the catalog when viewed.
//!
//! Prices are not stored with the lines: a cart shows what the products cost now, so it
//! asks the catalog (through its trait, which may be across the network) on every view.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use shop_domain::{
    Cart, CartView, Catalog, ConflictCode, OrderId, PricedLine, Quantity, ShopError, Sku,
    StockLine, UserId,
};

use crate::db::{Db, DbError};

/// The most distinct products one cart may hold.
pub const MAX_LINES: usize = 50;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS cart_lines (
    user_id INTEGER NOT NULL,
    sku TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    PRIMARY KEY (user_id, sku)
) WITHOUT ROWID;
-- Orders whose lines were removed, so that removing them again changes nothing.
CREATE TABLE IF NOT EXISTS cart_checked_out (
    order_id INTEGER PRIMARY KEY
);
";

/// Carts in the component's own SQLite table.
pub struct LocalCart {
    /// Owns `cart_lines` and `cart_checked_out`.
    db: Db,
    /// Says which SKUs exist and what they cost now.
    catalog: Arc<dyn Catalog>,
}

impl std::fmt::Debug for LocalCart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalCart")
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}

impl LocalCart {
    /// Opens the carts in the database at `path`; `catalog` checks and prices SKUs.
    pub fn open(path: &Path, catalog: Arc<dyn Catalog>) -> Result<Self, ShopError> {
        Ok(Self {
            db: Db::open(path, SCHEMA)?,
            catalog,
        })
    }
}

fn user_lines(conn: &rusqlite::Connection, user: UserId) -> Result<Vec<StockLine>, DbError> {
    let mut select = conn
        .prepare_cached("SELECT sku, quantity FROM cart_lines WHERE user_id = ?1 ORDER BY sku")?;
    let mut rows = select.query([user.0])?;
    let mut lines = Vec::new();
    while let Some(row) = rows.next()? {
        lines.push(StockLine {
            sku: Sku::parse(&row.get::<_, String>(0)?)?,
            quantity: Quantity::new(row.get(1)?)?,
        });
    }
    Ok(lines)
}

#[async_trait]
impl Cart for LocalCart {
    async fn add(
        &self,
        user: UserId,
        sku: &Sku,
        quantity: Quantity,
    ) -> Result<CartView, ShopError> {
        // Not found for an unknown SKU, before anything is written.
        self.catalog.summaries(std::slice::from_ref(sku)).await?;
        self.db.write(|tx| {
            let held: Option<u32> = tx
                .prepare_cached("SELECT quantity FROM cart_lines WHERE user_id = ?1 AND sku = ?2")?
                .query_row(params![user.0, sku.as_str()], |row| row.get(0))
                .optional()?;
            let units = held.unwrap_or(0) + quantity.get();
            if units > Quantity::MAX {
                return Err(ShopError::conflict(
                    ConflictCode::CartLineTooLarge,
                    format!(
                        "{sku} would have {units} units in the cart; a line holds at most {}",
                        Quantity::MAX
                    ),
                )
                .into());
            }
            if held.is_none() {
                let lines: usize = tx
                    .prepare_cached("SELECT COUNT(*) FROM cart_lines WHERE user_id = ?1")?
                    .query_row([user.0], |row| row.get(0))?;
                if lines >= MAX_LINES {
                    return Err(ShopError::conflict(
                        ConflictCode::CartFull,
                        format!("the cart already holds {MAX_LINES} different products"),
                    )
                    .into());
                }
            }
            tx.prepare_cached(
                "INSERT INTO cart_lines (user_id, sku, quantity) VALUES (?1, ?2, ?3)
                 ON CONFLICT (user_id, sku) DO UPDATE SET quantity = excluded.quantity",
            )?
            .execute(params![user.0, sku.as_str(), units])?;
            Ok(())
        })?;
        self.view(user).await
    }

    async fn remove(&self, user: UserId, sku: &Sku) -> Result<CartView, ShopError> {
        let removed = self.db.write(|tx| {
            Ok(tx
                .prepare_cached("DELETE FROM cart_lines WHERE user_id = ?1 AND sku = ?2")?
                .execute(params![user.0, sku.as_str()])?)
        })?;
        if removed == 0 {
            return Err(ShopError::not_found(format_args!("cart line {sku}")));
        }
        self.view(user).await
    }

    async fn view(&self, user: UserId) -> Result<CartView, ShopError> {
        price(self.catalog.as_ref(), self.lines(user).await?).await
    }

    async fn lines(&self, user: UserId) -> Result<Vec<StockLine>, ShopError> {
        self.db.read(|conn| user_lines(conn, user))
    }

    async fn remove_lines(
        &self,
        user: UserId,
        order: OrderId,
        lines: &[StockLine],
    ) -> Result<(), ShopError> {
        self.db.write(|tx| {
            let first_time = tx
                .prepare_cached("INSERT OR IGNORE INTO cart_checked_out (order_id) VALUES (?1)")?
                .execute([order.0])?
                == 1;
            if !first_time {
                return Ok(());
            }
            let mut subtract = tx.prepare_cached(
                "UPDATE cart_lines SET quantity = quantity - ?3 WHERE user_id = ?1 AND sku = ?2",
            )?;
            for line in lines {
                subtract.execute(params![user.0, line.sku.as_str(), line.quantity.get()])?;
            }
            tx.prepare_cached("DELETE FROM cart_lines WHERE user_id = ?1 AND quantity <= 0")?
                .execute([user.0])?;
            Ok(())
        })
    }
}

/// Prices `lines` with the catalog's current prices (checked arithmetic), keeping their
/// order. Checkout prices its order the same way, so an order costs what the cart showed.
pub(crate) async fn price(
    catalog: &dyn Catalog,
    lines: Vec<StockLine>,
) -> Result<CartView, ShopError> {
    if lines.is_empty() {
        return Ok(CartView::default());
    }
    let skus: Vec<Sku> = lines.iter().map(|line| line.sku.clone()).collect();
    let products = catalog.summaries(&skus).await?;
    if products.len() != skus.len() {
        return Err(ShopError::internal(format_args!(
            "the catalog priced {} of {} SKUs",
            products.len(),
            skus.len()
        )));
    }
    let mut view = CartView::default();
    for (line, product) in lines.into_iter().zip(products) {
        let line_total = product.price.times(line.quantity.get())?;
        view.total = view.total.plus(line_total)?;
        view.lines.push(PricedLine {
            sku: line.sku,
            name: product.name,
            quantity: line.quantity,
            unit_price: product.price,
            line_total,
        });
    }
    Ok(view)
}
