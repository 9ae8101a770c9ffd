//! Inventory: stock per SKU, and reservations per order.
//!
//! A reservation moves units from `available` into a reservation row; committing turns it
//! into a sale, releasing gives the units back. Every state change of an order's
//! reservation happens in one transaction, so `initial == available + reserved +
//! committed` holds after any sequence of calls, crashes included.
//!
//! Idempotency by order id: `reserve` of an order that already holds a reservation (or
//! made a sale) answers `Ok` without touching stock, whatever the lines say; the first
//! call's lines win. An order whose reservation was *released* cannot reserve again: it
//! is refused as invalid, because a new attempt is a new order. A `release` that finds
//! nothing to release leaves a marker that refuses a later `reserve` for that order, so a
//! reservation that loses the race with its own compensation (a timed-out call that lands
//! after the orders component gave up on it) cannot strand stock.

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use shop_domain::seed;
use shop_domain::{
    ConflictCode, Inventory, InventoryAudit, OrderId, SeedConfig, ShopError, Sku, StockLevel,
    StockLine,
};

use crate::db::{Db, first_seeding};
use crate::stock_cache::StockCache;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS inventory_stock (
    sku TEXT PRIMARY KEY,
    initial INTEGER NOT NULL,
    available INTEGER NOT NULL CHECK (available >= 0)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS inventory_reservations (
    order_id INTEGER NOT NULL,
    sku TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('reserved', 'committed', 'released')),
    PRIMARY KEY (order_id, sku)
) WITHOUT ROWID;
-- Orders released before any reservation arrived; their reserve is refused.
CREATE TABLE IF NOT EXISTS inventory_voided (
    order_id INTEGER PRIMARY KEY
);
";

/// Stock and reservations in the component's own SQLite tables.
#[derive(Debug)]
pub struct LocalInventory {
    /// Owns `inventory_stock`, `inventory_reservations`, `inventory_voided` and `inventory_meta`.
    db: Db,
    /// What `stock` answered lately; off unless [`LocalInventory::with_stock_cache`] says so.
    stock_cache: StockCache,
}

impl LocalInventory {
    /// Opens the inventory in the database at `path`. The first open stocks every product
    /// of `seed` with its generated `initial_stock`; later opens check the seed matches.
    pub fn open(path: &Path, seed: &SeedConfig) -> Result<Self, ShopError> {
        let db = Db::open(path, SCHEMA)?;
        db.write(|tx| {
            if first_seeding(tx, "inventory_meta", seed)? {
                let mut insert = tx.prepare(
                    "INSERT INTO inventory_stock (sku, initial, available) VALUES (?1, ?2, ?2)",
                )?;
                for item in seed::generate(seed)? {
                    insert.execute(params![item.product.sku.as_str(), item.initial_stock])?;
                }
            }
            Ok(())
        })?;
        Ok(Self {
            db,
            stock_cache: StockCache::new(Duration::ZERO),
        })
    }

    /// Lets `stock` answer from memory for up to `ttl` (see the private `stock_cache` module):
    /// this process's writes show at once, other processes' writes within `ttl`.
    pub fn with_stock_cache(self, ttl: Duration) -> Self {
        Self {
            stock_cache: StockCache::new(ttl),
            ..self
        }
    }
}

/// The state every row of one order's reservation is in (they move together).
fn reservation_state(
    tx: &rusqlite::Transaction<'_>,
    order: OrderId,
) -> Result<Option<String>, rusqlite::Error> {
    tx.prepare_cached("SELECT state FROM inventory_reservations WHERE order_id = ?1 LIMIT 1")?
        .query_row([order.0], |row| row.get(0))
        .optional()
}

/// The lines with repeated SKUs summed, in order of first appearance.
fn merge(lines: &[StockLine]) -> Vec<(&Sku, u64)> {
    let mut merged: Vec<(&Sku, u64)> = Vec::with_capacity(lines.len());
    for line in lines {
        let units = u64::from(line.quantity.get());
        match merged.iter_mut().find(|(sku, _)| *sku == &line.sku) {
            Some((_, total)) => *total += units,
            None => merged.push((&line.sku, units)),
        }
    }
    merged
}

#[async_trait]
impl Inventory for LocalInventory {
    async fn stock(&self, sku: &Sku) -> Result<StockLevel, ShopError> {
        let ticket = match self.stock_cache.get(sku) {
            Ok(available) => return Ok(StockLevel { available }),
            Err(ticket) => ticket,
        };
        let available: Option<u64> = self.db.read(|conn| {
            Ok(conn
                .prepare_cached("SELECT available FROM inventory_stock WHERE sku = ?1")?
                .query_row([sku.as_str()], |row| row.get(0))
                .optional()?)
        })?;
        let available =
            available.ok_or_else(|| ShopError::not_found(format_args!("product {sku}")))?;
        self.stock_cache.put(ticket, sku, available);
        Ok(StockLevel { available })
    }

    async fn reserve(&self, order: OrderId, lines: &[StockLine]) -> Result<(), ShopError> {
        if lines.is_empty() {
            return Err(ShopError::invalid("lines", "must not be empty"));
        }
        self.db.write(|tx| {
            match reservation_state(tx, order)?.as_deref() {
                Some("released") => {
                    return Err(ShopError::conflict(
                        ConflictCode::OrderClosed,
                        format!("the reservation of order {order} was released"),
                    )
                    .into());
                }
                Some(_) => return Ok(()),
                None => {}
            }
            let voided = tx
                .prepare_cached("SELECT 1 FROM inventory_voided WHERE order_id = ?1")?
                .exists([order.0])?;
            if voided {
                return Err(ShopError::conflict(
                    ConflictCode::OrderClosed,
                    format!("order {order} was released before this reservation arrived"),
                )
                .into());
            }
            let mut take = tx.prepare_cached(
                "UPDATE inventory_stock SET available = available - ?2
                 WHERE sku = ?1 AND available >= ?2",
            )?;
            let mut exists = tx.prepare_cached("SELECT 1 FROM inventory_stock WHERE sku = ?1")?;
            let mut record = tx.prepare_cached(
                "INSERT INTO inventory_reservations (order_id, sku, quantity, state)
                 VALUES (?1, ?2, ?3, 'reserved')",
            )?;
            for (sku, units) in merge(lines) {
                if take.execute(params![sku.as_str(), units])? == 0 {
                    // Returning an error rolls back the lines already taken.
                    return Err(if exists.exists([sku.as_str()])? {
                        ShopError::conflict(
                            ConflictCode::InsufficientStock,
                            format!("insufficient stock for {sku}"),
                        )
                    } else {
                        ShopError::not_found(format_args!("product {sku}"))
                    }
                    .into());
                }
                record.execute(params![order.0, sku.as_str(), units])?;
            }
            Ok(())
        })?;
        self.stock_cache
            .invalidate(lines.iter().map(|line| &line.sku));
        Ok(())
    }

    async fn commit(&self, order: OrderId) -> Result<(), ShopError> {
        self.db.write(|tx| {
            match reservation_state(tx, order)?.as_deref() {
                None => {
                    return Err(ShopError::not_found(format_args!(
                        "reservation for order {order}"
                    ))
                    .into());
                }
                Some("released") => {
                    return Err(ShopError::internal(format_args!(
                        "order {order}: cannot commit a released reservation"
                    ))
                    .into());
                }
                Some(_) => {}
            }
            tx.prepare_cached(
                "UPDATE inventory_reservations SET state = 'committed'
                 WHERE order_id = ?1 AND state = 'reserved'",
            )?
            .execute([order.0])?;
            Ok(())
        })
    }

    async fn release(&self, order: OrderId) -> Result<(), ShopError> {
        self.db.write(|tx| {
            match reservation_state(tx, order)?.as_deref() {
                None => {
                    tx.prepare_cached(
                        "INSERT OR IGNORE INTO inventory_voided (order_id) VALUES (?1)",
                    )?
                    .execute([order.0])?;
                }
                Some("reserved") => {
                    tx.prepare_cached(
                        "UPDATE inventory_stock SET available = available + (
                             SELECT quantity FROM inventory_reservations
                             WHERE order_id = ?1 AND sku = inventory_stock.sku
                         )
                         WHERE sku IN (SELECT sku FROM inventory_reservations WHERE order_id = ?1)",
                    )?
                    .execute([order.0])?;
                    tx.prepare_cached(
                        "UPDATE inventory_reservations SET state = 'released' WHERE order_id = ?1",
                    )?
                    .execute([order.0])?;
                }
                Some(_) => {}
            }
            Ok(())
        })?;
        // Rare (a failed checkout): forgetting everything is simpler than finding the SKUs.
        self.stock_cache.invalidate_all();
        Ok(())
    }

    async fn audit(&self) -> Result<InventoryAudit, ShopError> {
        // One statement, so all the sums come from one snapshot.
        self.db.read(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT
                        (SELECT COUNT(*) FROM inventory_stock),
                        (SELECT COALESCE(SUM(initial), 0) FROM inventory_stock),
                        (SELECT COALESCE(SUM(available), 0) FROM inventory_stock),
                        (SELECT COALESCE(SUM(quantity), 0) FROM inventory_reservations
                         WHERE state = 'reserved'),
                        (SELECT COALESCE(SUM(quantity), 0) FROM inventory_reservations
                         WHERE state = 'committed'),
                        (SELECT COUNT(DISTINCT order_id) FROM inventory_reservations
                         WHERE state = 'reserved')",
                )?
                .query_row([], |row| {
                    Ok(InventoryAudit {
                        skus: row.get(0)?,
                        initial: row.get(1)?,
                        available: row.get(2)?,
                        reserved: row.get(3)?,
                        committed: row.get(4)?,
                        open_reservations: row.get(5)?,
                    })
                })?)
        })
    }
}
