//! Payments: a simulated external card processor, idempotent by order id.
//!
//! The latency is a `tokio::time::sleep` before the charge is decided: it stands for the
//! round trip to a real processor, costs no CPU, and holds no lock.
//!
//! A `refund` that finds no charge records a *void* for the order (a row no audit or
//! `charge_of` shows): a charge that arrives later for that order is refused. That closes
//! the race where a timed-out charge lands after the orders component compensated, which
//! would otherwise capture money for a failed order.

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use rand::Rng;
use rusqlite::{OptionalExtension, params};
use shop_domain::{
    CardNumber, Cents, Charge, ChargeStatus, ConflictCode, OrderId, Payments, PaymentsAudit,
    ShopError, unix_now,
};

use crate::db::Db;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS payments_charges (
    order_id INTEGER PRIMARY KEY,
    amount INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('captured', 'declined', 'refunded', 'voided')),
    created_at INTEGER NOT NULL
);
";

/// How the simulated processor behaves.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PaymentsConfig {
    /// How long every charge takes to answer, as a real processor's round trip would.
    pub latency: Duration,
    /// A random extra delay, uniform in `0..=latency_jitter`, added to each charge's latency.
    pub latency_jitter: Duration,
    /// The share of charges on otherwise approved cards that are declined at random,
    /// from 0.0 to 1.0, so that compensation runs under load without special cards.
    pub decline_rate: f64,
}

impl PaymentsConfig {
    pub fn validate(&self) -> Result<(), ShopError> {
        if !(0.0..=1.0).contains(&self.decline_rate) {
            return Err(ShopError::invalid(
                "decline_rate",
                "must be between 0.0 and 1.0",
            ));
        }
        Ok(())
    }
}

/// Charges in the component's own SQLite table.
#[derive(Debug)]
pub struct LocalPayments {
    /// Owns `payments_charges`.
    db: Db,
    /// Latency and decline rate of the simulated processor.
    config: PaymentsConfig,
}

impl LocalPayments {
    /// Opens the payments in the database at `path`; refuses an invalid `config`.
    pub fn open(path: &Path, config: PaymentsConfig) -> Result<Self, ShopError> {
        config.validate()?;
        Ok(Self {
            db: Db::open(path, SCHEMA)?,
            config,
        })
    }
}

fn status_name(status: ChargeStatus) -> &'static str {
    match status {
        ChargeStatus::Captured => "captured",
        ChargeStatus::Declined => "declined",
        ChargeStatus::Refunded => "refunded",
    }
}

/// A stored status; `None` for a void, which stands for "no charge".
fn parse_status(raw: &str) -> Result<Option<ChargeStatus>, ShopError> {
    match raw {
        "captured" => Ok(Some(ChargeStatus::Captured)),
        "declined" => Ok(Some(ChargeStatus::Declined)),
        "refunded" => Ok(Some(ChargeStatus::Refunded)),
        "voided" => Ok(None),
        other => Err(ShopError::internal(format_args!(
            "payments_charges: unknown status {other:?}"
        ))),
    }
}

fn declined_is_an_error(charge: Charge) -> Result<Charge, ShopError> {
    match charge.status {
        ChargeStatus::Declined => Err(ShopError::PaymentDeclined),
        _ => Ok(charge),
    }
}

#[async_trait]
impl Payments for LocalPayments {
    async fn charge(
        &self,
        order: OrderId,
        amount: Cents,
        card: &CardNumber,
    ) -> Result<Charge, ShopError> {
        let (delay, random_decline) = {
            // The thread-local generator is not `Send`: use it up before the await.
            let mut rng = rand::rng();
            let jitter = if self.config.latency_jitter.is_zero() {
                Duration::ZERO
            } else {
                rng.random_range(Duration::ZERO..=self.config.latency_jitter)
            };
            (
                self.config.latency + jitter,
                rng.random_bool(self.config.decline_rate),
            )
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let charge = self.db.write(|tx| {
            let existing: Option<(u64, String)> = tx
                .prepare_cached("SELECT amount, status FROM payments_charges WHERE order_id = ?1")?
                .query_row([order.0], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()?;
            if let Some((stored, status)) = existing {
                let Some(status) = parse_status(&status)? else {
                    return Err(ShopError::conflict(
                        ConflictCode::OrderClosed,
                        format!("order {order} was refunded before this charge arrived"),
                    )
                    .into());
                };
                if stored != amount.0 {
                    return Err(ShopError::internal(format_args!(
                        "order {order} was charged {stored} cents, now asked for {}",
                        amount.0
                    ))
                    .into());
                }
                return Ok(Charge {
                    order,
                    amount,
                    status,
                });
            }
            let status = if card.is_test_decline() || random_decline {
                ChargeStatus::Declined
            } else {
                ChargeStatus::Captured
            };
            tx.prepare_cached(
                "INSERT INTO payments_charges (order_id, amount, status, created_at)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![order.0, amount.0, status_name(status), unix_now()])?;
            Ok(Charge {
                order,
                amount,
                status,
            })
        })?;
        // The decline is committed above, so a retry sees the same answer.
        declined_is_an_error(charge)
    }

    async fn refund(&self, order: OrderId) -> Result<(), ShopError> {
        self.db.write(|tx| {
            let refunded = tx
                .prepare_cached(
                    "UPDATE payments_charges SET status = 'refunded'
                     WHERE order_id = ?1 AND status = 'captured'",
                )?
                .execute([order.0])?;
            if refunded == 0 {
                // Nothing captured: void the order unless it has a charge of some kind.
                tx.prepare_cached(
                    "INSERT OR IGNORE INTO payments_charges (order_id, amount, status, created_at)
                     VALUES (?1, 0, 'voided', ?2)",
                )?
                .execute(params![order.0, unix_now()])?;
            }
            Ok(())
        })
    }

    async fn charge_of(&self, order: OrderId) -> Result<Option<Charge>, ShopError> {
        let row: Option<(u64, String)> = self.db.read(|conn| {
            Ok(conn
                .prepare_cached("SELECT amount, status FROM payments_charges WHERE order_id = ?1")?
                .query_row([order.0], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()?)
        })?;
        let Some((amount, status)) = row else {
            return Ok(None);
        };
        Ok(parse_status(&status)?.map(|status| Charge {
            order,
            amount: Cents(amount),
            status,
        }))
    }

    async fn audit(&self) -> Result<PaymentsAudit, ShopError> {
        self.db.read(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT
                        COALESCE(SUM(status != 'voided'), 0),
                        COALESCE(SUM(status = 'captured'), 0),
                        COALESCE(SUM(CASE WHEN status = 'captured' THEN amount END), 0),
                        COALESCE(SUM(status = 'refunded'), 0),
                        COALESCE(SUM(CASE WHEN status = 'refunded' THEN amount END), 0),
                        COALESCE(SUM(status = 'declined'), 0)
                     FROM payments_charges",
                )?
                .query_row([], |row| {
                    Ok(PaymentsAudit {
                        charges: row.get(0)?,
                        captured: row.get(1)?,
                        captured_cents: row.get(2)?,
                        refunded: row.get(3)?,
                        refunded_cents: row.get(4)?,
                        declined: row.get(5)?,
                    })
                })?)
        })
    }
}
