//! Orders: the checkout saga, with compensation, idempotency keys and a settler.
//!
//! # The saga
//!
//! 1. With an idempotency key, an order already made with that key answers the request:
//!    confirmed orders are replayed, permanent failures (declined, insufficient stock)
//!    answer the same error again, a pending one is `checkout_in_progress`.
//! 2. The cart's lines are priced through the catalog and the order is recorded as
//!    *pending*, committed before any other component is called.
//! 3. Inventory reserves the lines. 4. Payments charges the total.
//! 5. The order becomes *confirmed*: this is the acknowledgement.
//! 6. Inventory commits the reservation. 7. The cart drops the lines bought.
//!
//! When 3, 4 or 5 fails, the order is compensated: the reservation is released, the charge
//! refunded if money may have moved, and the order marked *failed*. If the failure is not
//! one the key can replay (anything but a decline or insufficient stock, e.g. a component
//! being unavailable), the key is unbound, so a retry with it starts a new order. Steps 6
//! and 7 cannot fail the checkout (the customer has paid): a failure there leaves a flag
//! for [`LocalOrders::settle`] to finish.
//!
//! # Who may finish an order
//!
//! A crash can leave an order pending. The settler compensates pending orders older than
//! its `stale_after`, even though their checkout may still be running somewhere (a slow
//! processor). To keep the two from both acting, compensation first *claims* the order
//! (`compensating = 1`), and confirmation only succeeds on an unclaimed pending order. The
//! late steps of a checkout that lost its order are refused by inventory and payments,
//! which remember releases and refunds of orders they never saw (`order_closed`, which
//! the checkout answers as orders unavailable).
//!
//! An empty cart creates no order, key or not: the answer is `cart_empty` either way.

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, Params, params};
use shop_domain::{
    CardNumber, Cart, Catalog, Cents, ChargeStatus, CheckoutOutcome, CheckoutRequest, Component,
    ConflictCode, Inventory, Order, OrderId, OrderStatus, Orders, OrdersAudit, Payments,
    PricedLine, Quantity, ShopError, Sku, StockLine, UserId, unix_now,
};

use crate::cart::price;
use crate::db::{Db, DbError};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS orders_orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL,
    idem_key TEXT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'failed')),
    failure TEXT NULL,
    total INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    stock_committed INTEGER NOT NULL DEFAULT 0,
    cart_cleared INTEGER NOT NULL DEFAULT 0,
    -- Set when compensation claims a pending order; it can no longer be confirmed.
    compensating INTEGER NOT NULL DEFAULT 0,
    UNIQUE (user_id, idem_key)
);
CREATE INDEX IF NOT EXISTS orders_by_user ON orders_orders (user_id, id);
CREATE INDEX IF NOT EXISTS orders_pending ON orders_orders (created_at)
    WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS orders_unsettled ON orders_orders (id)
    WHERE status = 'confirmed' AND (stock_committed = 0 OR cart_cleared = 0);
CREATE TABLE IF NOT EXISTS orders_lines (
    order_id INTEGER NOT NULL,
    sku TEXT NOT NULL,
    name TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    unit_price INTEGER NOT NULL,
    PRIMARY KEY (order_id, sku)
) WITHOUT ROWID;
";

/// The header and lines of orders, joined; callers append their `WHERE` and `ORDER BY`.
const SELECT_ORDERS: &str = "
SELECT o.id, o.user_id, o.status, o.total, o.created_at, o.failure,
       l.sku, l.name, l.quantity, l.unit_price
FROM orders_orders o JOIN orders_lines l ON l.order_id = o.id";

/// The components checkout calls.
#[derive(Clone)]
pub struct OrdersDeps {
    /// Where the lines come from, and where bought lines are removed.
    pub cart: Arc<dyn Cart>,
    /// Prices the lines at checkout.
    pub catalog: Arc<dyn Catalog>,
    /// Reserves, commits and releases the stock.
    pub inventory: Arc<dyn Inventory>,
    /// Charges and refunds.
    pub payments: Arc<dyn Payments>,
}

impl std::fmt::Debug for OrdersDeps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrdersDeps").finish_non_exhaustive()
    }
}

/// What one [`LocalOrders::settle`] pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SettleReport {
    /// Confirmed orders whose stock commit and cart cleanup are now done.
    pub settled: u64,
    /// Stale pending orders that were compensated and marked failed.
    pub compensated: u64,
    /// Orders the pass could not finish (a component failed); the next pass retries them.
    pub failed: u64,
}

/// Orders in the component's own SQLite tables, and the saga that makes them.
pub struct LocalOrders {
    /// Owns `orders_orders` and `orders_lines`.
    db: Db,
    /// The components the saga calls.
    deps: OrdersDeps,
    /// Orders whose checkout is running in this process, which the settler leaves alone
    /// once confirmed: their steps 6 and 7 are under way (doing them twice would be
    /// harmless, as both are idempotent, but wasted work).
    in_flight: Mutex<HashSet<OrderId>>,
    refunds: Refunds,
}

/// Whether compensation refunds a charge that may have been captured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Refunds {
    #[default]
    Made,
    /// Never: the books break on purpose (money kept for failed orders). For showing
    /// that the audit and the regression gate catch it; never for a real shop.
    Skipped,
}

impl std::fmt::Debug for LocalOrders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalOrders")
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}

/// Keeps an order in [`LocalOrders::in_flight`] until dropped.
struct InFlight<'a> {
    set: &'a Mutex<HashSet<OrderId>>,
    order: OrderId,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        // Only inserts and removes happen under this lock: it cannot be left inconsistent.
        let mut set = self.set.lock().unwrap_or_else(PoisonError::into_inner);
        set.remove(&self.order);
    }
}

/// An order as stored, with why it failed.
struct Stored {
    order: Order,
    failure: Option<String>,
}

/// Why steps 3 to 5 stopped, and whether money may have moved (and needs a refund).
struct Stopped {
    error: ShopError,
    money: Money,
}

/// Whether a stopped checkout may have charged the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Money {
    /// Payments was not called, or answered with a decline: nothing to refund.
    NotCharged,
    /// A charge may have been captured: compensation refunds it (refunds are idempotent).
    MaybeCharged,
}

/// What a failed order does with its idempotency key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyAfterFailure {
    /// Keep it: a retry with the key answers the same failure (a decline, no stock).
    Keep,
    /// Unbind it: the failure was not the request's fault, so a retry starts a new order.
    Unbind,
}

/// Which of the steps after the acknowledgement an order still needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Unfinished {
    /// Step 6: commit the reservation in inventory.
    commit_stock: bool,
    /// Step 7: remove the bought lines from the cart.
    clear_cart: bool,
}

impl Unfinished {
    const BOTH: Self = Self {
        commit_stock: true,
        clear_cart: true,
    };
}

/// The failure code of a declined payment.
const DECLINED: &str = "payment_declined";

/// The failures a replay with the same key can answer again from their stored code keep
/// the key; the others unbind it.
fn key_after(error: &ShopError) -> KeyAfterFailure {
    match error {
        ShopError::PaymentDeclined
        | ShopError::Conflict {
            code: ConflictCode::InsufficientStock,
            ..
        } => KeyAfterFailure::Keep,
        _ => KeyAfterFailure::Unbind,
    }
}

/// The answer to a checkout that lost its order to the settler: safe, but try again.
fn rolled_back() -> ShopError {
    ShopError::unavailable(
        Component::Orders,
        "the checkout took too long and was rolled back; try again",
    )
}

/// A late step refused because the order was already rolled back is the rollback's answer.
fn closed_means_rolled_back(error: ShopError) -> ShopError {
    match error {
        ShopError::Conflict {
            code: ConflictCode::OrderClosed,
            ..
        } => rolled_back(),
        other => other,
    }
}

/// The code stored in `orders_orders.failure`.
fn failure_code(error: &ShopError) -> String {
    match error {
        ShopError::PaymentDeclined => DECLINED.to_owned(),
        ShopError::Conflict { code, .. } => code.as_str().to_owned(),
        ShopError::Unavailable { component, .. } => format!("{component}_unavailable"),
        ShopError::Invalid { .. } => "invalid".to_owned(),
        ShopError::NotFound { .. } => "not_found".to_owned(),
        ShopError::Unauthorized { .. } => "unauthorized".to_owned(),
        ShopError::Internal { .. } => "internal".to_owned(),
    }
}

fn parse_status(raw: &str) -> Result<OrderStatus, ShopError> {
    match raw {
        "pending" => Ok(OrderStatus::Pending),
        "confirmed" => Ok(OrderStatus::Confirmed),
        "failed" => Ok(OrderStatus::Failed),
        other => Err(ShopError::internal(format_args!(
            "orders_orders: unknown status {other:?}"
        ))),
    }
}

/// Orders from [`SELECT_ORDERS`] plus `tail`, grouping consecutive rows of one order.
fn query_orders(
    conn: &Connection,
    tail: &str,
    params: impl Params,
) -> Result<Vec<Stored>, DbError> {
    let mut select = conn.prepare_cached(&format!("{SELECT_ORDERS} {tail}"))?;
    let mut rows = select.query(params)?;
    let mut orders: Vec<Stored> = Vec::new();
    while let Some(row) = rows.next()? {
        let id = OrderId(row.get(0)?);
        let quantity = Quantity::new(row.get(8)?)?;
        let unit_price = Cents(row.get(9)?);
        let line = PricedLine {
            sku: Sku::parse(&row.get::<_, String>(6)?)?,
            name: row.get(7)?,
            quantity,
            unit_price,
            line_total: unit_price.times(quantity.get())?,
        };
        match orders.last_mut() {
            Some(last) if last.order.id == id => last.order.lines.push(line),
            _ => orders.push(Stored {
                order: Order {
                    id,
                    user: UserId(row.get(1)?),
                    status: parse_status(&row.get::<_, String>(2)?)?,
                    lines: vec![line],
                    total: Cents(row.get(3)?),
                    created_at: row.get(4)?,
                },
                failure: row.get(5)?,
            }),
        }
    }
    Ok(orders)
}

fn order_by_key(conn: &Connection, user: UserId, key: &str) -> Result<Option<Stored>, DbError> {
    Ok(query_orders(
        conn,
        "WHERE o.user_id = ?1 AND o.idem_key = ?2 ORDER BY l.sku",
        params![user.0, key],
    )?
    .pop())
}

/// The steps after the acknowledgement, each recorded in its own 0/1 column.
#[derive(Debug, Clone, Copy)]
enum Step {
    StockCommitted,
    CartCleared,
}

/// Records that `step` of `order` is done.
fn mark_done(db: &Db, order: OrderId, step: Step) -> Result<(), ShopError> {
    let sql = match step {
        Step::StockCommitted => "UPDATE orders_orders SET stock_committed = 1 WHERE id = ?1",
        Step::CartCleared => "UPDATE orders_orders SET cart_cleared = 1 WHERE id = ?1",
    };
    db.write(|tx| {
        tx.prepare_cached(sql)?.execute([order.0])?;
        Ok(())
    })
}

impl LocalOrders {
    /// Opens the orders in the database at `path`; `deps` are the components the saga calls.
    pub fn open(path: &Path, deps: OrdersDeps) -> Result<Self, ShopError> {
        Ok(Self {
            db: Db::open(path, SCHEMA)?,
            deps,
            in_flight: Mutex::new(HashSet::new()),
            refunds: Refunds::Made,
        })
    }

    /// The same orders, refunding as `refunds` says ([`Refunds::Skipped`] only in tests
    /// of the audit).
    pub fn with_refunds(mut self, refunds: Refunds) -> Self {
        self.refunds = refunds;
        self
    }

    /// Finishes what checkouts left undone: confirmed orders whose stock commit or cart
    /// cleanup failed (or was cut short by a crash) get those steps again, and pending
    /// orders older than `stale_after` (a crash interrupted their saga) are compensated and
    /// marked failed, their idempotency key unbound. Failures are logged and counted; the
    /// next pass retries. Meant to run at start-up and every few seconds after.
    ///
    /// `stale_after` must exceed the longest a checkout can take (its calls' timeouts
    /// together): a checkout still running past it is rolled back and answers
    /// `orders unavailable`, which is safe but wasteful.
    pub async fn settle(&self, stale_after: Duration) -> Result<SettleReport, ShopError> {
        let mut report = SettleReport::default();
        let unsettled: Vec<(OrderId, UserId, bool, bool)> = self.db.read(|conn| {
            let mut select = conn.prepare_cached(
                "SELECT id, user_id, stock_committed, cart_cleared FROM orders_orders
                 WHERE status = 'confirmed' AND (stock_committed = 0 OR cart_cleared = 0)
                 ORDER BY id",
            )?;
            let rows = select.query_map([], |row| {
                Ok((
                    OrderId(row.get(0)?),
                    UserId(row.get(1)?),
                    row.get(2)?,
                    row.get(3)?,
                ))
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })?;
        for (order, user, committed, cleared) in unsettled {
            if self.is_in_flight(order) {
                continue;
            }
            let unfinished = Unfinished {
                commit_stock: !committed,
                clear_cart: !cleared,
            };
            let finished = match self.lines_of(order) {
                Ok(lines) => self.finish(order, user, &lines, unfinished).await,
                Err(error) => Err(error),
            };
            match finished {
                Ok(()) => report.settled += 1,
                Err(error) => {
                    tracing::warn!(%order, %error, "settling a confirmed order failed");
                    report.failed += 1;
                }
            }
        }

        let cutoff = unix_now().saturating_sub(stale_after.as_secs());
        let stale: Vec<OrderId> = self.db.read(|conn| {
            let mut select = conn.prepare_cached(
                "SELECT id FROM orders_orders
                 WHERE status = 'pending' AND created_at <= ?1 ORDER BY id",
            )?;
            let rows = select.query_map([cutoff], |row| Ok(OrderId(row.get(0)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })?;
        for order in stale {
            let compensated = self
                .compensate(
                    order,
                    Money::MaybeCharged,
                    "interrupted",
                    KeyAfterFailure::Unbind,
                )
                .await;
            match compensated {
                Ok(true) => report.compensated += 1,
                Ok(false) => {} // a checkout finished or compensated it meanwhile
                Err(error) => {
                    tracing::warn!(%order, %error, "compensating a stale pending order failed");
                    report.failed += 1;
                }
            }
        }
        Ok(report)
    }

    /// Runs [`settle`](Self::settle) every `every` until dropped (abort its task to stop
    /// it), compensating checkouts pending longer than `stale_after`.
    pub async fn keep_settled(self: Arc<Self>, every: Duration, stale_after: Duration) {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Err(e) = self.settle(stale_after).await {
                tracing::warn!(%e, "settling checkouts failed; will retry");
            }
        }
    }

    fn is_in_flight(&self, order: OrderId) -> bool {
        let set = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        set.contains(&order)
    }

    fn track(&self, order: OrderId) -> InFlight<'_> {
        let mut set = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        set.insert(order);
        InFlight {
            set: &self.in_flight,
            order,
        }
    }

    fn lines_of(&self, order: OrderId) -> Result<Vec<StockLine>, ShopError> {
        self.db.read(|conn| {
            let mut select = conn.prepare_cached(
                "SELECT sku, quantity FROM orders_lines WHERE order_id = ?1 ORDER BY sku",
            )?;
            let mut rows = select.query([order.0])?;
            let mut lines = Vec::new();
            while let Some(row) = rows.next()? {
                lines.push(StockLine {
                    sku: Sku::parse(&row.get::<_, String>(0)?)?,
                    quantity: Quantity::new(row.get(1)?)?,
                });
            }
            Ok(lines)
        })
    }

    /// The answer to a checkout whose key already names `stored`.
    fn replay(stored: Stored) -> Result<CheckoutOutcome, ShopError> {
        match stored.order.status {
            OrderStatus::Confirmed => Ok(CheckoutOutcome {
                order: stored.order,
                replayed: true,
            }),
            OrderStatus::Pending => Err(ShopError::conflict(
                ConflictCode::CheckoutInProgress,
                format!(
                    "order {} with this idempotency key is still being processed",
                    stored.order.id
                ),
            )),
            OrderStatus::Failed => match stored.failure.as_deref() {
                Some(DECLINED) => Err(ShopError::PaymentDeclined),
                Some(code) if code == ConflictCode::InsufficientStock.as_str() => {
                    Err(ShopError::conflict(
                        ConflictCode::InsufficientStock,
                        format!("insufficient stock for order {}", stored.order.id),
                    ))
                }
                // Other failures unbind the key, so they cannot be found by it.
                other => Err(ShopError::internal(format_args!(
                    "order {} failed with {other:?} and kept its idempotency key",
                    stored.order.id
                ))),
            },
        }
    }

    /// Steps 3 to 5: reserve, charge, confirm.
    async fn reserve_charge_confirm(
        &self,
        order: &Order,
        lines: &[StockLine],
        card: &CardNumber,
    ) -> Result<(), Stopped> {
        self.deps
            .inventory
            .reserve(order.id, lines)
            .await
            .map_err(|error| Stopped {
                error: closed_means_rolled_back(error),
                money: Money::NotCharged,
            })?;
        let charge = self
            .deps
            .payments
            .charge(order.id, order.total, card)
            .await
            .map_err(|error| Stopped {
                // A decline is a definite answer, and so is a charge that never reached
                // payments; anything else may hide a capture.
                money: if matches!(error, ShopError::PaymentDeclined) || error.is_unreached() {
                    Money::NotCharged
                } else {
                    Money::MaybeCharged
                },
                error: closed_means_rolled_back(error),
            })?;
        let stop = |error| Stopped {
            error,
            money: Money::MaybeCharged,
        };
        if charge.status != ChargeStatus::Captured || charge.amount != order.total {
            return Err(stop(ShopError::internal(format_args!(
                "order {}: expected a capture of {} cents, payments answered {charge:?}",
                order.id, order.total.0
            ))));
        }
        let confirmed = self
            .db
            .write(|tx| {
                Ok(tx
                    .prepare_cached(
                        "UPDATE orders_orders SET status = 'confirmed'
                         WHERE id = ?1 AND status = 'pending' AND compensating = 0",
                    )?
                    .execute([order.id.0])?
                    == 1)
            })
            .map_err(stop)?;
        if !confirmed {
            return Err(stop(rolled_back()));
        }
        Ok(())
    }

    /// Undoes what steps 3 and 4 may have done to a pending order and marks it failed with
    /// `failure`. Answers whether it did: an order no longer pending is left alone. On
    /// error the order stays pending (and claimed) for the settler.
    ///
    /// Two compensations of one order may overlap (a checkout's and the settler's, or the
    /// settler retrying one that failed half-way): the claim does not exclude, because
    /// release and refund are idempotent and only one final update finds the order pending.
    async fn compensate(
        &self,
        order: OrderId,
        money: Money,
        failure: &str,
        key: KeyAfterFailure,
    ) -> Result<bool, ShopError> {
        let claimed = self.db.write(|tx| {
            Ok(tx
                .prepare_cached(
                    "UPDATE orders_orders SET compensating = 1
                     WHERE id = ?1 AND status = 'pending'",
                )?
                .execute([order.0])?
                == 1)
        })?;
        if !claimed {
            return Ok(false);
        }
        self.deps.inventory.release(order).await?;
        if money == Money::MaybeCharged && self.refunds == Refunds::Made {
            self.deps.payments.refund(order).await?;
        }
        let keep_key = key == KeyAfterFailure::Keep;
        self.db.write(|tx| {
            Ok(tx
                .prepare_cached(
                    "UPDATE orders_orders
                     SET status = 'failed', failure = ?2,
                         idem_key = CASE WHEN ?3 THEN idem_key ELSE NULL END
                     WHERE id = ?1 AND status = 'pending'",
                )?
                .execute(params![order.0, failure, keep_key])?
                == 1)
        })
    }

    /// Steps 6 and 7, those `unfinished`; both are tried, the first error is returned.
    /// Both are idempotent in their components, so finishing an order twice is harmless.
    async fn finish(
        &self,
        order: OrderId,
        user: UserId,
        lines: &[StockLine],
        unfinished: Unfinished,
    ) -> Result<(), ShopError> {
        let committed = if unfinished.commit_stock {
            match self.deps.inventory.commit(order).await {
                Ok(()) => mark_done(&self.db, order, Step::StockCommitted),
                Err(error) => Err(error),
            }
        } else {
            Ok(())
        };
        let cleared = if unfinished.clear_cart {
            match self.deps.cart.remove_lines(user, order, lines).await {
                Ok(()) => mark_done(&self.db, order, Step::CartCleared),
                Err(error) => Err(error),
            }
        } else {
            Ok(())
        };
        committed.and(cleared)
    }
}

#[async_trait]
impl Orders for LocalOrders {
    async fn checkout(
        &self,
        user: UserId,
        request: CheckoutRequest,
    ) -> Result<CheckoutOutcome, ShopError> {
        let key = request.idempotency_key.as_ref().map(|key| key.as_str());
        if let Some(key) = key
            && let Some(stored) = self.db.read(|conn| order_by_key(conn, user, key))?
        {
            return Self::replay(stored);
        }

        let lines = self.deps.cart.lines(user).await?;
        if lines.is_empty() {
            return Err(ShopError::conflict(
                ConflictCode::CartEmpty,
                "the cart is empty",
            ));
        }
        let priced = price(self.deps.catalog.as_ref(), lines.clone()).await?;
        let created_at = unix_now();
        let inserted = self.db.write(|tx| {
            // Looked up again inside the write lock: a concurrent duplicate may have won.
            if let Some(key) = key
                && let Some(stored) = order_by_key(tx, user, key)?
            {
                return Ok(Err(stored));
            }
            let id: u64 = tx
                .prepare_cached(
                    "INSERT INTO orders_orders (user_id, idem_key, status, total, created_at)
                     VALUES (?1, ?2, 'pending', ?3, ?4) RETURNING id",
                )?
                .query_row(params![user.0, key, priced.total.0, created_at], |row| {
                    row.get(0)
                })?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO orders_lines (order_id, sku, name, quantity, unit_price)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for line in &priced.lines {
                insert.execute(params![
                    id,
                    line.sku.as_str(),
                    line.name,
                    line.quantity.get(),
                    line.unit_price.0
                ])?;
            }
            Ok(Ok(OrderId(id)))
        })?;
        let id = match inserted {
            Ok(id) => id,
            Err(stored) => return Self::replay(stored),
        };
        let _in_flight = self.track(id);
        let mut order = Order {
            id,
            user,
            status: OrderStatus::Pending,
            lines: priced.lines,
            total: priced.total,
            created_at,
        };

        if let Err(Stopped { error, money }) = self
            .reserve_charge_confirm(&order, &lines, &request.card)
            .await
        {
            let code = failure_code(&error);
            if let Err(compensation) = self.compensate(id, money, &code, key_after(&error)).await {
                tracing::warn!(
                    order = %id, %error, %compensation,
                    "compensation failed; the order stays pending for the settler"
                );
            }
            return Err(error);
        }
        order.status = OrderStatus::Confirmed;

        if let Err(error) = self.finish(id, user, &lines, Unfinished::BOTH).await {
            tracing::warn!(order = %id, %error, "finishing a confirmed order failed; the settler will retry");
        }
        Ok(CheckoutOutcome {
            order,
            replayed: false,
        })
    }

    async fn get(&self, user: UserId, order: OrderId) -> Result<Order, ShopError> {
        self.db
            .read(|conn| {
                query_orders(
                    conn,
                    "WHERE o.id = ?1 AND o.user_id = ?2 ORDER BY l.sku",
                    params![order.0, user.0],
                )
            })?
            .pop()
            .map(|stored| stored.order)
            .ok_or_else(|| ShopError::not_found(format_args!("order {order}")))
    }

    async fn list(&self, user: UserId, limit: usize) -> Result<Vec<Order>, ShopError> {
        let orders = self.db.read(|conn| {
            query_orders(
                conn,
                "WHERE o.id IN (
                     SELECT id FROM orders_orders WHERE user_id = ?1 ORDER BY id DESC LIMIT ?2
                 )
                 ORDER BY o.id DESC, l.sku",
                params![user.0, limit],
            )
        })?;
        Ok(orders.into_iter().map(|stored| stored.order).collect())
    }

    async fn purchased(&self, user: UserId, limit: usize) -> Result<Vec<Sku>, ShopError> {
        self.db.read(|conn| {
            let mut select = conn.prepare_cached(
                "SELECT l.sku FROM orders_orders o JOIN orders_lines l ON l.order_id = o.id
                 WHERE o.user_id = ?1 AND o.status = 'confirmed'
                 GROUP BY l.sku ORDER BY MAX(o.id) DESC, l.sku LIMIT ?2",
            )?;
            let mut rows = select.query(params![user.0, limit])?;
            let mut skus = Vec::new();
            while let Some(row) = rows.next()? {
                skus.push(Sku::parse(&row.get::<_, String>(0)?)?);
            }
            Ok(skus)
        })
    }

    async fn audit(&self) -> Result<OrdersAudit, ShopError> {
        self.db.read(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT
                        COALESCE(SUM(status = 'confirmed'), 0),
                        COALESCE(SUM(CASE WHEN status = 'confirmed' THEN total END), 0),
                        COALESCE(SUM(status = 'pending'), 0),
                        COALESCE(SUM(status = 'failed'), 0),
                        COALESCE(SUM(status = 'confirmed'
                                     AND (stock_committed = 0 OR cart_cleared = 0)), 0),
                        (SELECT COALESCE(SUM(l.quantity), 0)
                         FROM orders_lines l JOIN orders_orders o ON o.id = l.order_id
                         WHERE o.status = 'confirmed')
                     FROM orders_orders",
                )?
                .query_row([], |row| {
                    Ok(OrdersAudit {
                        confirmed: row.get(0)?,
                        confirmed_cents: row.get(1)?,
                        pending: row.get(2)?,
                        failed: row.get(3)?,
                        unsettled: row.get(4)?,
                        confirmed_units: row.get(5)?,
                    })
                })?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_declines_and_stock_shortages_keep_their_key() {
        use KeyAfterFailure::{Keep, Unbind};
        let declined = ShopError::PaymentDeclined;
        let no_stock = ShopError::conflict(ConflictCode::InsufficientStock, "x");
        let down = ShopError::unavailable(Component::Payments, "down");
        assert_eq!(key_after(&declined), Keep);
        assert_eq!(key_after(&no_stock), Keep);
        assert_eq!(key_after(&down), Unbind);
        assert_eq!(key_after(&ShopError::internal("bug")), Unbind);
    }

    #[test]
    fn a_late_step_refused_as_closed_answers_as_a_rollback() {
        let closed = ShopError::conflict(ConflictCode::OrderClosed, "released");
        assert!(matches!(
            closed_means_rolled_back(closed),
            ShopError::Unavailable {
                component: Component::Orders,
                ..
            }
        ));
        assert!(matches!(
            closed_means_rolled_back(ShopError::PaymentDeclined),
            ShopError::PaymentDeclined
        ));
    }

    #[test]
    fn failure_codes_name_the_component() {
        assert_eq!(
            failure_code(&ShopError::unavailable(Component::Payments, "down")),
            "payments_unavailable"
        );
    }
}
